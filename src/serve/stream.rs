//! Answers as the OpenAI API sends them: server-sent events, one chunk per piece of text
//! (pieces that queued while the last was being written go out together), or one JSON
//! body. A client that goes away — hyper drops the body, or the request — cancels the
//! generation, so the engine never works for no one.

use super::reply::{Refusal, unix_now};
use crate::engine::{CancelHandle, EngineEvent, FinishReason, Generation};
use crate::openai::{self, WireUsage};
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Cancels the generation when dropped: the answer ended, or no one is there to take it.
struct CancelOnDrop(CancelHandle);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

struct Events {
    generation: Generation,
    _cancel: CancelOnDrop,
    pending: Option<EngineEvent>,
    /// The chunk's JSON up to the text, and after it: per token only the text changes.
    head: String,
    id: String,
    model: String,
    include_usage: bool,
    state: Phase,
}

#[derive(PartialEq)]
enum Phase {
    Start,
    Tokens,
    Done,
}

/// What follows the text in a token chunk (the head is in `Events::head`).
const TOKEN_TAIL: &str = r#"},"finish_reason":null}]}"#;

fn event(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

impl Events {
    fn chunk(&self, delta: serde_json::Value, finish: Option<&str>) -> String {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": unix_now(),
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
        .to_string()
    }

    /// The next bytes of the stream; `None` at its end.
    async fn next_bytes(&mut self) -> Option<Bytes> {
        match self.state {
            Phase::Done => return None,
            Phase::Start => {
                self.state = Phase::Tokens;
                return Some(event(
                    &self.chunk(json!({"role": "assistant", "content": ""}), None),
                ));
            }
            Phase::Tokens => {}
        }
        let next = match self.pending.take() {
            Some(event) => Some(event),
            None => self.generation.next().await,
        };
        match next {
            Some(EngineEvent::Token(mut text)) => {
                while let Some(more) = self.generation.try_next() {
                    match more {
                        EngineEvent::Token(piece) => text.push_str(&piece),
                        other => {
                            self.pending = Some(other);
                            break;
                        }
                    }
                }
                Some(event(&format!("{}{}{TOKEN_TAIL}", self.head, quote(&text))))
            }
            Some(EngineEvent::Finished { reason, usage }) => {
                self.state = Phase::Done;
                let mut out = event(&self.chunk(json!({}), Some(finish_reason(reason)))).to_vec();
                if self.include_usage {
                    let usage = WireUsage::new(usage.prompt_tokens, usage.completion_tokens);
                    let body = json!({
                        "id": self.id, "object": "chat.completion.chunk", "created": unix_now(),
                        "model": self.model, "choices": [], "usage": usage,
                    });
                    out.extend_from_slice(&event(&body.to_string()));
                }
                out.extend_from_slice(&event("[DONE]"));
                Some(Bytes::from(out))
            }
            Some(EngineEvent::Failed(message)) => {
                self.state = Phase::Done;
                let body = openai::error_body(&message, "server_error", None);
                Some(event(&body.to_string()))
            }
            None => {
                self.state = Phase::Done;
                None
            }
        }
    }
}

/// A streamed answer (`stream: true`).
pub fn events(generation: Generation, model: &str, include_usage: bool) -> Response {
    let id = completion_id();
    let head = format!(
        r#"{{"id":{},"object":"chat.completion.chunk","created":{},"model":{},"choices":[{{"index":0,"delta":{{"content":"#,
        quote(&id),
        unix_now(),
        quote(model)
    );
    let cancel = CancelOnDrop(generation.cancel_handle());
    let state = Events {
        generation,
        _cancel: cancel,
        pending: None,
        head,
        id,
        model: model.to_string(),
        include_usage,
        state: Phase::Start,
    };
    let body = futures::stream::unfold(state, |mut state| async move {
        let bytes = state.next_bytes().await?;
        Some((Ok::<_, std::convert::Infallible>(bytes), state))
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// The whole answer as one response (`stream: false`).
pub async fn whole(mut generation: Generation, model: &str) -> Result<Response, Refusal> {
    let _cancel = CancelOnDrop(generation.cancel_handle());
    let mut answer = String::new();
    loop {
        match generation.next().await {
            Some(EngineEvent::Token(text)) => answer.push_str(&text),
            Some(EngineEvent::Finished { reason, usage }) => {
                return Ok(axum::Json(json!({
                    "id": completion_id(), "object": "chat.completion", "created": unix_now(),
                    "model": model,
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": finish_reason(reason),
                    }],
                    "usage": WireUsage::new(usage.prompt_tokens, usage.completion_tokens),
                }))
                .into_response());
            }
            Some(EngineEvent::Failed(message)) => {
                return Err((StatusCode::INTERNAL_SERVER_ERROR, message));
            }
            None => {
                return Err((
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the engine closed the answer stream".into(),
                ));
            }
        }
    }
}

fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        FinishReason::Stop | FinishReason::Cancelled => "stop",
    }
}

fn completion_id() -> String {
    format!("chatcmpl-{:016x}", rand::random::<u64>())
}
