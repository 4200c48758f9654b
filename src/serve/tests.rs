//! The server against an engine that never stops talking: a client that stops reading an
//! answer is dropped once a write has made no progress for the write timeout, and its
//! generation is cancelled, so the one engine is free again.

use super::limits::Limits;
use super::{ServeOptions, Server};
use crate::engine::{ChatRequest, Engine, EngineEvent, FinishReason, Generation, ModelInfo};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Sends 64 KiB tokens until cancelled, and says when it was.
struct EndlessEngine {
    cancelled: Arc<AtomicBool>,
}

impl Engine for EndlessEngine {
    fn describe(&self) -> ModelInfo {
        ModelInfo {
            name: "endless".into(),
            source: "test".into(),
            architecture: "test".into(),
            device: "cpu".into(),
            dtype: "f32".into(),
            isq: None,
            prefix_cache: 0,
            max_context: None,
            load_seconds: 0.0,
            warnings: Vec::new(),
        }
    }

    fn stream(&self, _request: ChatRequest) -> Generation {
        let (generation, sink) = Generation::channel();
        let cancelled = self.cancelled.clone();
        std::thread::spawn(move || {
            let token = "x".repeat(64 * 1024);
            while !sink.is_cancelled() {
                sink.send(EngineEvent::Token(token.clone()));
                std::thread::sleep(Duration::from_millis(10));
            }
            cancelled.store(true, Ordering::SeqCst);
            sink.send(EngineEvent::Finished {
                reason: FinishReason::Cancelled,
                usage: Default::default(),
            });
        });
        generation
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_its_generation_cancelled() {
    let options = ServeOptions {
        host: "127.0.0.1".into(),
        port: 0,
        api_key: Some("sk-test".into()),
        model_name: String::new(),
        allow_files: None,
        allowed_hosts: Vec::new(),
        limits: Limits {
            write_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
        sampling: Default::default(),
        transform: Default::default(),
    };
    let server = Server::bind(options).await.unwrap();
    let address = server.local_addr();
    let cancelled = Arc::new(AtomicBool::new(false));
    let engine = Arc::new(EndlessEngine {
        cancelled: cancelled.clone(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let serving = tokio::spawn(server.run(
        engine,
        "endless".into(),
        stop_rx,
        Duration::from_secs(1),
        Arc::new(|_| {}),
    ));
    // Asks for a streamed answer, then never reads a byte of it.
    let stalled = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let body = r#"{"messages":[{"role":"user","content":"Go on."}],"max_tokens":100,"stream":true}"#;
        let head = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer sk-test\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        stream
    })
    .await
    .unwrap();
    let started = Instant::now();
    while !cancelled.load(Ordering::SeqCst) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the generation for a client that stopped reading was never cancelled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(stalled);
    let _ = stop_tx.send(true);
    let _ = serving.await;
}
