//! Connecting to a checked address: resolve, filter, connect to exactly the
//! address that was checked, then TLS against the real host name.
//!
//! This is the connector of the pooled HTTP client, so a pooled connection
//! is always one that passed these checks.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::address::check_address;
use crate::error::{EgressError, Refusal, TimeoutPhase};
use crate::origin::Scheme;
use crate::resolve::Resolve;
use crate::settings::EgressSettings;

/// The address a response came from; found in the response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectedAddress(pub SocketAddr);

/// The host, port and scheme of a request URI, with the host normalised.
pub(crate) struct Destination {
    pub scheme: Scheme,
    /// Lower case; an IPv6 literal keeps its brackets.
    pub host: String,
    pub port: u16,
}

impl Destination {
    pub fn of(uri: &Uri) -> Result<Self, Refusal> {
        let scheme_text = uri.scheme_str().unwrap_or("");
        let scheme = Scheme::parse(scheme_text)
            .ok_or_else(|| Refusal::SchemeNotAllowed(scheme_text.to_owned()))?;
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Refusal::InvalidHost(String::new()))?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if looks_numeric_but_is_not_an_address(&host) {
            return Err(Refusal::InvalidHost(host));
        }
        Ok(Self {
            port: uri.port_u16().unwrap_or(scheme.default_port()),
            scheme,
            host,
        })
    }

    pub fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }

    fn ip_literal(&self) -> Option<IpAddr> {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        bare.parse().ok()
    }
}

/// `0177.0.0.1`, `2130706433` or `0x7f.1` are not IP addresses by the URL
/// standard, but some resolvers read them as loopback. No real domain ends
/// in a numeric label, so such hosts are refused outright.
fn looks_numeric_but_is_not_an_address(host: &str) -> bool {
    if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit())
            || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit())))
}

/// The client's connector.
#[derive(Clone)]
pub(crate) struct PinnedConnector {
    pub settings: Arc<EgressSettings>,
    pub resolver: Arc<dyn Resolve>,
    pub tls: TlsConnector,
}

impl tower::Service<Uri> for PinnedConnector {
    type Response = TokioIo<PinnedStream>;
    type Error = EgressError;
    type Future = BoxFuture<'static, Result<Self::Response, EgressError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), EgressError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.clone();
        Box::pin(async move { connector.connect(uri).await.map(TokioIo::new) })
    }
}

impl PinnedConnector {
    async fn connect(self, uri: Uri) -> Result<PinnedStream, EgressError> {
        let destination = Destination::of(&uri).map_err(EgressError::Refused)?;
        let addresses = self.checked_addresses(&destination).await?;
        let timeout = self.settings.connect_timeout();
        tokio::time::timeout(timeout, async {
            let (tcp, peer) = connect_any(&addresses).await?;
            let _ = tcp.set_nodelay(true);
            let stream = match destination.scheme {
                Scheme::Http => Inner::Plain(tcp),
                Scheme::Https => {
                    let bare = destination
                        .host
                        .trim_start_matches('[')
                        .trim_end_matches(']');
                    let name = ServerName::try_from(bare.to_owned())
                        .map_err(|_| EgressError::Refused(Refusal::InvalidHost(bare.to_owned())))?;
                    let tls = self
                        .tls
                        .connect(name, tcp)
                        .await
                        .map_err(|e| EgressError::Tls(e.to_string()))?;
                    Inner::Tls(Box::new(tls))
                }
            };
            Ok(PinnedStream {
                inner: stream,
                peer,
            })
        })
        .await
        .map_err(|_| EgressError::Timeout(TimeoutPhase::Connect))?
    }

    /// The addresses to try, each one allowed: the operator's mapping as is,
    /// an IP literal or every resolved address after the range check.
    async fn checked_addresses(
        &self,
        destination: &Destination,
    ) -> Result<Vec<SocketAddr>, EgressError> {
        if let Some(mapped) = self.settings.mapped(&destination.host, destination.port) {
            return Ok(vec![mapped]);
        }
        let ips = match destination.ip_literal() {
            Some(ip) => vec![ip],
            None => {
                let resolved = self
                    .resolver
                    .resolve(&destination.host, destination.port)
                    .await
                    .map_err(|e| EgressError::DnsFailure(format!("{}: {e}", destination.host)))?;
                if resolved.is_empty() {
                    return Err(EgressError::DnsFailure(format!(
                        "{}: no addresses",
                        destination.host
                    )));
                }
                resolved
            }
        };
        // Every answer must be allowed: a name that resolves to one public
        // and one private address is refused, not half-trusted.
        for ip in &ips {
            check_address(*ip, &self.settings.allow_cidrs).map_err(|range| {
                EgressError::Refused(Refusal::ForbiddenAddress {
                    host: destination.host.clone(),
                    address: ip.to_string(),
                    range,
                })
            })?;
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, destination.port))
            .collect())
    }
}

async fn connect_any(addresses: &[SocketAddr]) -> Result<(TcpStream, SocketAddr), EgressError> {
    let mut last: Option<io::Error> = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok((stream, *address)),
            Err(error) => last = Some(error),
        }
    }
    Err(EgressError::Connect(last.map_or_else(
        || "no address to connect to".to_owned(),
        |e| e.to_string(),
    )))
}

enum Inner {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A connection to a checked address.
pub(crate) struct PinnedStream {
    inner: Inner,
    peer: SocketAddr,
}

impl Connection for PinnedStream {
    fn connected(&self) -> Connected {
        Connected::new().extra(ConnectedAddress(self.peer))
    }
}

impl AsyncRead for PinnedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PinnedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_looking_hosts_that_are_not_addresses_are_refused() {
        for host in ["0177.0.0.1", "2130706433", "0x7f.1", "127.1", "1.2.3.4.5"] {
            assert!(looks_numeric_but_is_not_an_address(host), "{host}");
        }
        for host in [
            "127.0.0.1",
            "[::1]",
            "example.com",
            "1password.com",
            "a1.b2.example",
        ] {
            assert!(!looks_numeric_but_is_not_an_address(host), "{host}");
        }
    }
}
