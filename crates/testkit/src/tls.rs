//! A loopback HTTPS server whose certificate comes from a test CA.
//!
//! The executor's http action only fetches over HTTPS, so its tests and the
//! end-to-end suite need a real TLS server on 127.0.0.1 that the executor
//! trusts through its extra-root-CA setting. The fixtures beside this crate:
//! `ca.pem`, the test CA to trust, and `server.pem`/`server.key`, a
//! certificate for `localhost` and 127.0.0.1 signed by it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

// Compiled in, so a test binary never depends on where the source tree
// was when it was built.
const CA_PEM: &[u8] = include_bytes!("../fixtures/ca.pem");
const SERVER_PEM: &[u8] = include_bytes!("../fixtures/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("../fixtures/server.key");

/// The test CA that signed the server certificate, for clients to trust, as
/// a file (the executor takes a path): written once per test process.
pub fn ca_pem() -> PathBuf {
    let path = std::env::temp_dir().join(format!("octollm-test-ca-{}.pem", std::process::id()));
    if std::fs::read(&path).ok().as_deref() != Some(CA_PEM) {
        std::fs::write(&path, CA_PEM).expect("writing the test CA");
    }
    path
}

/// What the server was asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The server's own port, for absolute redirects back to it.
    pub port: u16,
}

/// A canned answer; the connection is closed after it.
#[derive(Debug, Clone)]
pub struct Reply {
    status: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// `status` is the status line after the version, e.g. `302 Found`.
    pub fn new(status: &str, body: impl Into<String>) -> Reply {
        Reply {
            status: status.to_string(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn ok(body: impl Into<String>) -> Reply {
        Reply::new("200 OK", body)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    fn to_http(&self) -> String {
        let headers: String = self
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        format!(
            "HTTP/1.1 {}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.status,
            self.body.len(),
            self.body
        )
    }
}

/// The server; it stops accepting when dropped.
pub struct HttpsServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpsServer {
    /// Listens on 127.0.0.1 and answers each request with `handler`.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> HttpsServer {
        let certs = CertificateDer::pem_slice_iter(SERVER_PEM)
            .map(|c| c.expect("server certificate"))
            .collect();
        let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).expect("server.key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate and key");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let (acceptor, handler) = (acceptor.clone(), handler.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = vec![0u8; 4096];
                    let n = tls.read(&mut buf).await.unwrap_or(0);
                    let head = String::from_utf8_lossy(&buf[..n]);
                    let mut words = head.split_whitespace();
                    let request = Request {
                        method: words.next().unwrap_or("").to_string(),
                        path: words.next().unwrap_or("/").to_string(),
                        port,
                    };
                    let reply = handler(&request);
                    let _ = tls.write_all(reply.to_http().as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        HttpsServer {
            port,
            connections,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https://localhost:<port><path>`, the name the certificate is for.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// TCP connections accepted so far, TLS or not: a client that must not
    /// reach the server at all leaves this unchanged.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
