//! Name resolution, done by the host so that the addresses can be checked
//! before anything connects to them.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use futures::future::BoxFuture;

/// Resolves host names to addresses.
pub trait Resolve: Send + Sync {
    /// The addresses of `host`.
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<IpAddr>>>;
}

/// The system's resolver (`getaddrinfo`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let target = format!("{host}:{port}");
        Box::pin(async move {
            Ok(tokio::net::lookup_host(target)
                .await?
                .map(|addr| addr.ip())
                .collect())
        })
    }
}

/// A fixed table of names, standing in for DNS in tests. Unlike the
/// operator's `resolve` overrides, its answers are checked like any DNS answer.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver(HashMap<String, Vec<IpAddr>>);

impl StaticResolver {
    /// A resolver answering `host` with `addresses`.
    pub fn with(mut self, host: &str, addresses: &[IpAddr]) -> Self {
        self.0.insert(host.to_ascii_lowercase(), addresses.to_vec());
        self
    }
}

impl Resolve for StaticResolver {
    fn resolve(&self, host: &str, _port: u16) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> {
        let answer = self
            .0
            .get(&host.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, format!("no such host: {host}"))
            });
        Box::pin(async move { answer })
    }
}
