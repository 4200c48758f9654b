//! What a generation reports back, and the handle that stops it.

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

/// A request the engine will not take, the user's input at fault (an image past the context,
/// a sampling value no sampler can use): one line saying why. Front-ends refuse it as bad
/// input (exit code 2, HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Why an answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model produced its end-of-sequence token.
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The user (or a caller) cancelled; the text so far is kept.
    Cancelled,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

/// Token counts and speeds of one answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub prompt_tok_per_s: f64,
    pub decode_tok_per_s: f64,
    /// Wall time from sending the request to the first streamed text.
    pub ttft_ms: f64,
}

/// One thing that happened while answering.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// A piece of the answer, in order.
    Token(String),
    /// The answer is complete (or was cancelled, keeping the text streamed so far).
    Finished { reason: FinishReason, usage: Usage },
    /// The engine failed; the message says why. Text streamed before it stays valid.
    Failed(String),
}

impl EngineEvent {
    pub fn is_terminal(&self) -> bool {
        !matches!(self, EngineEvent::Token(_))
    }
}

/// Stops a running generation from any thread. Cloning shares the same switch.
#[derive(Debug, Clone)]
pub struct CancelHandle(watch::Sender<bool>);

impl CancelHandle {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

/// The receiving end of a generation.
pub struct Generation {
    events: mpsc::UnboundedReceiver<EngineEvent>,
    cancel: CancelHandle,
}

/// The engine-side half: where events go and where cancellation is read.
pub struct GenerationSink {
    pub events: mpsc::UnboundedSender<EngineEvent>,
    pub cancelled: watch::Receiver<bool>,
}

impl Generation {
    pub fn channel() -> (Generation, GenerationSink) {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (cancel_tx, cancel_rx) = watch::channel(false);
        (
            Generation {
                events: events_rx,
                cancel: CancelHandle(cancel_tx),
            },
            GenerationSink {
                events: events_tx,
                cancelled: cancel_rx,
            },
        )
    }

    /// A generation that failed before it started.
    pub fn failed(message: impl std::fmt::Display) -> Generation {
        let (generation, sink) = Generation::channel();
        let _ = sink.events.send(EngineEvent::Failed(message.to_string()));
        generation
    }

    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Next event for async callers; `None` only after the terminal event was read.
    pub async fn next(&mut self) -> Option<EngineEvent> {
        self.events.recv().await
    }

    /// Next event for threads outside the async runtime (CLI, UI worker threads).
    pub fn blocking_next(&mut self) -> Option<EngineEvent> {
        self.events.blocking_recv()
    }

    /// The whole answer and its usage, or the engine's failure: for callers that want the
    /// text, not the stream.
    pub async fn answer(mut self) -> Result<(String, Usage), String> {
        let mut text = String::new();
        while let Some(event) = self.next().await {
            match event {
                EngineEvent::Token(piece) => text.push_str(&piece),
                EngineEvent::Finished { usage, .. } => return Ok((text, usage)),
                EngineEvent::Failed(message) => return Err(message),
            }
        }
        Err("the engine closed the answer stream unexpectedly".into())
    }

    /// Non-blocking poll for a UI loop.
    pub fn try_next(&mut self) -> Option<EngineEvent> {
        self.events.try_recv().ok()
    }
}

impl GenerationSink {
    pub fn send(&self, event: EngineEvent) {
        // The receiver may be gone (caller stopped listening); that is not an error here.
        let _ = self.events.send(event);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }
}
