//! `radiochat serve`: the embedded engine behind an OpenAI-compatible HTTP API, so many SSH
//! sessions (and any OpenAI client) share one loaded model. Requests from all connections go
//! to the one engine, which queues them (mistral.rs 0.8.1 batches requests wrongly: see
//! engine/mistral_stream.rs), so a client never waits on another's image decode or network.
//!
//! HTTP is hyper 1 (one connection each, HTTP/1.1) with axum's router. The accept loop is
//! radiochat's own because every port on a shared node is reachable by every user of it: it
//! bounds open connections (503 beyond, never a crash), backs off when accept fails (fd
//! limit), puts a write timeout on every socket (a client that stops reading cannot hold
//! the engine) and a header timeout on every request (slow-loris). The Host header and the
//! API key are checked from the headers before any body byte is read (`guard.rs`); bodies,
//! images, pixels and tokens are capped (`limits.rs`).

mod chat;
mod guard;
pub mod limits;
mod reply;
mod routes;
mod stream;
#[cfg(test)]
mod tests;

use crate::engine::Engine;
use hyper_util::rt::{TokioIo, TokioTimer};
use limits::Limits;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// How the server runs.
#[derive(Clone)]
pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    /// The key clients must send as `Authorization: Bearer …`; `None` only with `--no-auth`.
    pub api_key: Option<String>,
    /// The model's name in /v1/models and in responses.
    pub model_name: String,
    /// Files under this directory may be named as images; `None`: data URLs only.
    pub allow_files: Option<PathBuf>,
    /// Host header values accepted besides the bound address and loopback names.
    pub allowed_hosts: Vec<String>,
    pub limits: Limits,
    /// Defaults for what a request leaves out (max_tokens, temperature …).
    pub sampling: crate::engine::Sampling,
    /// How file images become model input.
    pub transform: crate::imaging::TransformOptions,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve on {0} without an API key: anyone who reaches the port could use the model; drop --no-auth (a key is made for you), or bind to 127.0.0.1"
    )]
    OpenWithoutKey(String),
    #[error("{0}: address in use (another server on that port? choose --port)")]
    InUse(String),
    #[error("{0}: {1}")]
    Bind(String, std::io::Error),
    #[error("--allow-files {0}: {1}")]
    AllowFiles(String, std::io::Error),
}

/// What every request handler can reach.
pub struct AppState {
    pub options: ServeOptions,
    pub engine: Arc<dyn Engine>,
    log: Arc<dyn Fn(String) + Send + Sync>,
}

impl AppState {
    /// One log line, control characters escaped: paths and model names come from clients,
    /// and a raw escape sequence in a log could rewrite the operator's terminal.
    pub fn log(&self, line: String) {
        (self.log)(escape_controls(&line))
    }
}

/// The peer of a connection, for logs.
#[derive(Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// A bound server, ready to run once its engine is loaded.
pub struct Server {
    listener: TcpListener,
    options: ServeOptions,
}

impl Server {
    /// Check the options and bind (port 0 picks a free port): before the model loads, so a
    /// mistake is reported in a second.
    pub async fn bind(mut options: ServeOptions) -> Result<Server, ServeError> {
        let address = format!("{}:{}", options.host, options.port);
        if !crate::util::url::is_loopback_host(&options.host) && options.api_key.is_none() {
            return Err(ServeError::OpenWithoutKey(address));
        }
        if let Some(root) = &options.allow_files {
            let root = root
                .canonicalize()
                .map_err(|e| ServeError::AllowFiles(root.display().to_string(), e))?;
            options.allow_files = Some(root);
        }
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => ServeError::InUse(address.clone()),
                _ => ServeError::Bind(address.clone(), e),
            })?;
        Ok(Server { listener, options })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serve `engine` as `model_name` until `shutdown` turns true; then stop accepting and
    /// give requests in flight up to `grace` to finish. `log` gets one line per request.
    pub async fn run(
        self,
        engine: Arc<dyn Engine>,
        model_name: String,
        mut shutdown: watch::Receiver<bool>,
        grace: Duration,
        log: Arc<dyn Fn(String) + Send + Sync>,
    ) {
        let bound = self.local_addr();
        let limits = self.options.limits.clone();
        let state = Arc::new(AppState {
            options: ServeOptions {
                model_name,
                ..self.options
            },
            engine,
            log,
        });
        let router = routes::router(state.clone(), bound);
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut backoff = ACCEPT_BACKOFF_START;
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = shutdown.wait_for(|s| *s) => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => {
                    backoff = ACCEPT_BACKOFF_START;
                    accepted
                }
                Err(error) => {
                    // Out of file descriptors (EMFILE) or memory: accept would fail again at
                    // once; wait, doubling up to a second, instead of spinning.
                    state.log(format!("accept failed: {error}; retrying in {backoff:?}"));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            let Ok(permit) = connections.clone().try_acquire_owned() else {
                refuse_busy(stream, limits.max_connections);
                state.log(format!(
                    "{peer} refused: {} connections open (--max-connections)",
                    limits.max_connections
                ));
                continue;
            };
            let _ = stream.set_nodelay(true);
            let mut timed = tokio_io_timeout::TimeoutStream::new(stream);
            timed.set_write_timeout(Some(limits.write_timeout));
            let io = TokioIo::new(Box::pin(timed));
            let service = routes::service(router.clone(), Peer(peer));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(limits::MAX_HEAD_BYTES)
                .serve_connection(io, service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
                drop(permit);
            });
        }
        drop(self.listener);
        // Idle keep-alive connections close now; requests being answered finish.
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(grace) => {}
        }
    }
}

const ACCEPT_BACKOFF_START: Duration = Duration::from_millis(5);

/// Over the connection limit: one 503 written without waiting (a socket buffer takes it),
/// and the connection closed. Nothing is read and no task is spawned.
fn refuse_busy(stream: tokio::net::TcpStream, limit: usize) {
    let body = crate::openai::error_body(
        &format!("the server has {limit} connections open; try again shortly"),
        "server_error",
        None,
    )
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(response.as_bytes());
}

/// Control characters (and DEL) as `\u{…}`; everything else as it is.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_in_log_lines() {
        assert_eq!(
            escape_controls("GET /\x1b[2Jx\r\nInjected: 1"),
            "GET /\\u{1b}[2Jx\\u{d}\\u{a}Injected: 1"
        );
        assert_eq!(escape_controls("plain é"), "plain é");
    }
}
