//! Serving a fake: an axum router on `127.0.0.1:0`, over TLS or plain HTTP.
//!
//! [`FakeServer`] records every request (see [`crate::recorder`]) before the
//! fake's own router sees it, and knows which real hostnames it stands in for,
//! so a test can hand the host the egress override map from
//! [`FakeServer::egress_overrides`]. Dropping the server stops it and closes
//! its connections.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::recorder::{RequestRecorder, record};
use crate::tls::{TestCa, TestCaError};

/// Why a fake could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The certificate for the fake's hostnames could not be issued.
    #[error("issuing the fake's certificate: {0}")]
    Certificate(#[from] TestCaError),
    /// No local port could be bound.
    #[error("binding 127.0.0.1:0: {0}")]
    Bind(#[source] std::io::Error),
}

#[derive(Clone)]
enum Transport {
    Plain,
    Tls(TlsAcceptor),
}

impl Transport {
    /// The port a client assumes for this scheme, which the egress override
    /// keys carry (`slack.com:443`).
    fn default_port(&self) -> u16 {
        match self {
            Transport::Plain => 80,
            Transport::Tls(_) => 443,
        }
    }
}

/// A running fake; it stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    hostnames: Vec<String>,
    default_port: u16,
    recorder: RequestRecorder,
    accept_loop: JoinHandle<()>,
}

impl FakeServer {
    /// Serves `app` over TLS with a certificate from `ca` for `hostnames`.
    pub async fn start_tls(
        ca: &TestCa,
        hostnames: &[&str],
        app: Router,
    ) -> Result<Self, StartError> {
        let config = ca.server_config(hostnames)?;
        Self::start(Transport::Tls(TlsAcceptor::from(config)), hostnames, app).await
    }

    /// Serves `app` over plain HTTP, standing in for `hostnames` on port 80.
    pub async fn start_plain(hostnames: &[&str], app: Router) -> Result<Self, StartError> {
        Self::start(Transport::Plain, hostnames, app).await
    }

    async fn start(
        transport: Transport,
        hostnames: &[&str],
        app: Router,
    ) -> Result<Self, StartError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        let recorder = RequestRecorder::default();
        let app = app.layer(axum::middleware::from_fn_with_state(
            recorder.clone(),
            record,
        ));
        let default_port = transport.default_port();
        let accept_loop = tokio::spawn(accept_connections(listener, transport, app));
        Ok(Self {
            addr,
            hostnames: hostnames.iter().map(|name| name.to_string()).collect(),
            default_port,
            recorder,
            accept_loop,
        })
    }

    /// The local address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The real hostnames this fake stands in for.
    pub fn hostnames(&self) -> &[String] {
        &self.hostnames
    }

    /// Every request the fake has received.
    pub fn recorder(&self) -> &RequestRecorder {
        &self.recorder
    }

    /// The host's egress override entries that send this fake's hostnames
    /// here: `{"slack.com:443": 127.0.0.1:<port>, ...}`.
    pub fn egress_overrides(&self) -> BTreeMap<String, SocketAddr> {
        self.hostnames
            .iter()
            .map(|name| (format!("{name}:{}", self.default_port), self.addr))
            .collect()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // The loop owns the connection tasks; aborting it drops them too.
        self.accept_loop.abort();
    }
}

async fn accept_connections(listener: TcpListener, transport: Transport, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    connections.spawn(serve_connection(tcp, transport.clone(), app.clone()));
                }
                // Transient (a client reset before accept, out of descriptors):
                // let other tasks run and keep listening.
                Err(_) => tokio::task::yield_now().await,
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

async fn serve_connection(tcp: TcpStream, transport: Transport, app: Router) {
    // Small request/response exchanges; Nagle would only add latency.
    let _ = tcp.set_nodelay(true);
    let service = TowerToHyperService::new(app);
    let builder = auto::Builder::new(TokioExecutor::new());
    // Errors here are clients hanging up or refusing the certificate, which
    // tests provoke on purpose; the client side reports them.
    let _ = match transport {
        Transport::Plain => {
            builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await
        }
        Transport::Tls(acceptor) => match acceptor.accept(tcp).await {
            Ok(tls) => {
                builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await
            }
            Err(_) => return,
        },
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_over_plain_tcp(addr: SocketAddr, host: &str) -> String {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET /hello HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn plain_server_answers_and_records() {
        let app = Router::new().route("/hello", get(|| async { "hi" }));
        let server = FakeServer::start_plain(&["receiver.test"], app)
            .await
            .unwrap();

        let response = get_over_plain_tcp(server.addr(), "receiver.test").await;

        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("hi"), "{response}");
        let [seen] = server.recorder().requests().try_into().unwrap();
        assert_eq!(
            (seen.host.as_str(), seen.path.as_str()),
            ("receiver.test", "/hello")
        );
    }

    #[tokio::test]
    async fn requests_without_a_route_are_recorded_too() {
        let server = FakeServer::start_plain(&["receiver.test"], Router::new())
            .await
            .unwrap();

        let response = get_over_plain_tcp(server.addr(), "receiver.test").await;

        assert!(response.starts_with("HTTP/1.1 404"), "{response}");
        assert_eq!(server.recorder().len(), 1);
    }

    #[tokio::test]
    async fn egress_overrides_map_each_hostname_with_the_scheme_port() {
        let ca = TestCa::new().unwrap();
        let tls = FakeServer::start_tls(&ca, &["slack.com", "hooks.slack.com"], Router::new())
            .await
            .unwrap();
        let plain = FakeServer::start_plain(&["receiver.test"], Router::new())
            .await
            .unwrap();

        let expected: BTreeMap<String, SocketAddr> = [
            ("hooks.slack.com:443".to_owned(), tls.addr()),
            ("slack.com:443".to_owned(), tls.addr()),
        ]
        .into();
        assert_eq!(tls.egress_overrides(), expected);
        assert_eq!(
            plain.egress_overrides(),
            BTreeMap::from([("receiver.test:80".to_owned(), plain.addr())])
        );
    }

    #[tokio::test]
    async fn dropping_the_server_stops_listening() {
        let server = FakeServer::start_plain(&["receiver.test"], Router::new())
            .await
            .unwrap();
        let addr = server.addr();
        drop(server);
        // The abort lands when the runtime next polls the accept task.
        tokio::task::yield_now().await;
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
