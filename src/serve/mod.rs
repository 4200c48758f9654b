//! `radiochat serve`: the embedded engine behind an OpenAI-compatible HTTP API, so many SSH
//! sessions (and any OpenAI client) share one loaded model. Requests from all connections go
//! to the one engine, which queues them (mistral.rs 0.8.1 batches requests wrongly: see
//! engine/mistral_stream.rs), so a client never waits on another's image decode or network.
//!
//! Loopback by default; another address only with an API key. Images come as data URLs or
//! as file paths under a root the operator allows (`--allow-files DIR`), never from the web.

mod chat;
pub mod http;

use crate::engine::Engine;
use http::{Connection, ReadError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How the server runs.
#[derive(Clone)]
pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    /// The key clients must send as `Authorization: Bearer …` (from the environment).
    pub api_key: Option<String>,
    /// The model's name in /v1/models and in responses.
    pub model_name: String,
    /// Files under this directory may be named as images; `None`: data URLs only.
    pub allow_files: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub max_image_pixels: u64,
    /// Defaults for what a request leaves out (max_tokens, temperature …).
    pub sampling: crate::engine::Sampling,
    /// How file images become model input.
    pub transform: crate::imaging::TransformOptions,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve on {0} without an API key: anyone who reaches the port could use the model; set one with --api-key-env VAR, or bind to 127.0.0.1"
    )]
    OpenWithoutKey(String),
    #[error("{0}: address in use (another server on that port? choose --port)")]
    InUse(String),
    #[error("{0}: {1}")]
    Bind(String, std::io::Error),
    #[error("--allow-files {0}: {1}")]
    AllowFiles(String, std::io::Error),
}

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
        let loopback = options.host == "localhost"
            || options
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback && options.api_key.is_none() {
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
        let options = Arc::new(ServeOptions {
            model_name,
            ..self.options
        });
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (stop_tx, stop_rx) = watch::channel(false);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = shutdown.wait_for(|s| *s) => break,
            };
            let Ok((stream, peer)) = accepted else {
                continue;
            };
            let context = chat::Context {
                options: options.clone(),
                engine: engine.clone(),
                log: log.clone(),
                peer,
            };
            let in_flight = in_flight.clone();
            let stop = stop_rx.clone();
            tokio::spawn(async move {
                serve_connection(Connection::new(stream), context, in_flight, stop).await;
            });
        }
        // Idle keep-alive connections close now; requests being answered finish.
        let _ = stop_tx.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        while in_flight.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Requests on one connection, one after the other, until it closes or the server stops.
async fn serve_connection(
    mut connection: Connection,
    context: chat::Context,
    in_flight: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) {
    const IDLE: Duration = Duration::from_secs(60);
    loop {
        let read = tokio::select! {
            read = tokio::time::timeout(IDLE, connection.read_request(context.options.max_body_bytes)) => read,
            _ = stop.wait_for(|s| *s) => return,
        };
        let request = match read {
            Err(_) | Ok(Err(ReadError::Closed)) | Ok(Err(ReadError::Io(_))) => return,
            Ok(Err(error)) => {
                let (status, message) = match error {
                    ReadError::TooLarge(n) => (
                        413,
                        format!(
                            "request body of {n} bytes is over the limit of {} (--max-body-mb)",
                            context.options.max_body_bytes
                        ),
                    ),
                    ReadError::LengthRequired => {
                        (411, "send the body with a Content-Length".to_string())
                    }
                    ReadError::Bad(message) => (400, message),
                    ReadError::Closed | ReadError::Io(_) => unreachable!("handled above"),
                };
                (context.log)(format!("{} bad request: {status} {message}", context.peer));
                let body = crate::openai::error_body(&message, "invalid_request_error", None);
                let _ = connection.writer.send_json(status, &body, false).await;
                return;
            }
            Ok(Ok(request)) => request,
        };
        in_flight.fetch_add(1, Ordering::SeqCst);
        let keep = chat::handle(&mut connection, &request, &context).await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        if !(keep && request.keep_alive) || *stop.borrow() {
            return;
        }
    }
}
