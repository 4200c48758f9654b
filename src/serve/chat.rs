//! The API's routes: `/v1/models`, `/v1/chat/completions` (streamed or not), `/health`.

use super::ServeOptions;
use super::http::{Connection, Request, Writer};
use crate::engine::{
    ChatMessage, ChatRequest, Engine, EngineEvent, FinishReason, Generation, Role, Usage,
};
use crate::openai::{self, ChatCompletionRequest, Content, Part, WireUsage};
use image::DynamicImage;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// What every request handler can reach.
pub struct Context {
    pub options: Arc<ServeOptions>,
    pub engine: Arc<dyn Engine>,
    pub log: Arc<dyn Fn(String) + Send + Sync>,
    pub peer: SocketAddr,
}

/// A refusal: status and message.
type Refusal = (u16, String);

/// Answer one request; whether the connection may carry another.
pub async fn handle(connection: &mut Connection, request: &Request, context: &Context) -> bool {
    let started = Instant::now();
    let route = request.path.split('?').next().unwrap_or("");
    let outcome = if route == "/health" {
        Ok(Reply::Json(json!({"status": "ok"})))
    } else if let Err(refusal) = authorize(request, &context.options) {
        Err(refusal)
    } else {
        match (request.method.as_str(), route) {
            ("GET", "/v1/models") => Ok(Reply::Json(models(&context.options))),
            ("POST", "/v1/chat/completions") => completions(connection, request, context).await,
            (_, "/v1/models" | "/v1/chat/completions") => {
                Err((405, format!("{} is not allowed on {route}", request.method)))
            }
            _ => Err((
                404,
                format!("no route {route} (this server has /v1/models and /v1/chat/completions)"),
            )),
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let line = |status: u16, what: &str| {
        (context.log)(format!(
            "{} {} {route} {status} {what} {elapsed:.2} s",
            context.peer, request.method
        ))
    };
    match outcome {
        Ok(Reply::Json(body)) => {
            line(200, "json");
            connection
                .writer
                .send_json(200, &body, request.keep_alive)
                .await
                .is_ok()
        }
        Ok(Reply::Streamed { tokens, keep }) => {
            line(200, &format!("streamed {tokens} tokens"));
            keep
        }
        Err((status, message)) => {
            line(status, &message);
            let kind = match status {
                401 => "authentication_error",
                404 if message.contains("model") => "not_found_error",
                500 | 503 => "server_error",
                _ => "invalid_request_error",
            };
            let code = (status == 404 && message.starts_with("model")).then_some("model_not_found");
            let body = openai::error_body(&message, kind, code);
            let keep = request.keep_alive && status != 500;
            connection
                .writer
                .send_json(status, &body, keep)
                .await
                .is_ok()
                && keep
        }
    }
}

enum Reply {
    Json(serde_json::Value),
    /// Already written as events.
    Streamed {
        tokens: usize,
        keep: bool,
    },
}

fn authorize(request: &Request, options: &ServeOptions) -> Result<(), Refusal> {
    let Some(key) = &options.api_key else {
        return Ok(());
    };
    let given = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared in constant time, so the key cannot be guessed byte by byte from timings.
    let same = given.len() == key.len()
        && given
            .bytes()
            .zip(key.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err((
            401,
            "missing or wrong API key (Authorization: Bearer …)".into(),
        ))
    }
}

fn models(options: &ServeOptions) -> serde_json::Value {
    json!({
        "object": "list",
        "data": [{
            "id": options.model_name,
            "object": "model",
            "created": unix_now(),
            "owned_by": "radiochat",
        }]
    })
}

async fn completions(
    connection: &mut Connection,
    request: &Request,
    context: &Context,
) -> Result<Reply, Refusal> {
    let parsed: ChatCompletionRequest = serde_json::from_slice(&request.body).map_err(|e| {
        (
            400,
            format!("the body is not a chat completion request: {e}"),
        )
    })?;
    let options = &context.options;
    if let Some(model) = parsed.model.as_deref().filter(|m| *m != options.model_name) {
        return Err((
            404,
            format!(
                "model '{model}' does not exist here; this server serves '{}'",
                options.model_name
            ),
        ));
    }
    if parsed.n.unwrap_or(1) != 1 {
        return Err((400, "n must be 1: one answer per request".into()));
    }
    let mut sampling = options.sampling.clone();
    if let Some(max) = parsed.max_completion_tokens.or(parsed.max_tokens) {
        sampling.max_tokens = max;
    }
    sampling.temperature = parsed.temperature.or(sampling.temperature);
    sampling.top_p = parsed.top_p.or(sampling.top_p);
    sampling.top_k = parsed.top_k.or(sampling.top_k);
    sampling.ignore_eos = parsed.ignore_eos.unwrap_or(false);
    sampling.check().map_err(|e| (400, e))?;
    // Decoding images is CPU work: off the connection's task.
    let wire = parsed.clone();
    let options_for_images = options.clone();
    let messages = tokio::task::spawn_blocking(move || to_messages(&wire, &options_for_images))
        .await
        .map_err(|_| (500, "reading the images failed".to_string()))??;
    let generation = context.engine.stream(ChatRequest { messages, sampling });
    let include_usage = parsed
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    if parsed.stream {
        Ok(stream(connection, generation, &options.model_name, include_usage).await)
    } else {
        collect(connection, generation, &options.model_name).await
    }
}

/// The request's turns as the engine's, images decoded (or read from allowed files).
fn to_messages(
    request: &ChatCompletionRequest,
    options: &ServeOptions,
) -> Result<Vec<ChatMessage>, Refusal> {
    let mut messages = Vec::with_capacity(request.messages.len());
    for (i, message) in request.messages.iter().enumerate() {
        let role = match message.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err((
                    400,
                    format!("messages[{i}]: role '{other}' is not supported"),
                ));
            }
        };
        let mut texts = Vec::new();
        let mut images = Vec::new();
        match &message.content {
            None => {}
            Some(Content::Text(text)) => texts.push(text.clone()),
            Some(Content::Parts(parts)) => {
                for part in parts {
                    match part {
                        Part::Text { text } => texts.push(text.clone()),
                        Part::ImageUrl { image_url } => images.push(
                            read_image(&image_url.url, options)
                                .map_err(|(s, m)| (s, format!("messages[{i}]: {m}")))?,
                        ),
                    }
                }
            }
        }
        if role != Role::User && !images.is_empty() {
            return Err((400, format!("messages[{i}]: only user turns carry images")));
        }
        messages.push(ChatMessage {
            role,
            text: texts.join("\n"),
            images,
        });
    }
    if !messages.iter().any(|m| m.role == Role::User) {
        return Err((400, "messages: no user turn to answer".into()));
    }
    Ok(messages)
}

fn read_image(url: &str, options: &ServeOptions) -> Result<DynamicImage, Refusal> {
    if let Some(bytes) = openai::data_url_bytes(url) {
        let bytes = bytes.map_err(|e| (400, e))?;
        let reader = image::ImageReader::new(std::io::Cursor::new(&bytes))
            .with_guessed_format()
            .map_err(|e| (400, format!("image: {e}")))?;
        let (w, h) = reader
            .into_dimensions()
            .map_err(|e| (400, format!("not an image this server decodes: {e}")))?;
        check_size(w as u64 * h as u64, options)?;
        return image::load_from_memory(&bytes).map_err(|e| (400, format!("image: {e}")));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Err((
            400,
            "images from the web are not fetched: send a data: URL, or a file path under the server's --allow-files directory".into(),
        ));
    }
    let path = std::path::Path::new(url.strip_prefix("file://").unwrap_or(url));
    let Some(root) = &options.allow_files else {
        return Err((
            403,
            format!(
                "{}: this server reads no files (start it with --allow-files DIR)",
                path.display()
            ),
        ));
    };
    let real = path
        .canonicalize()
        .map_err(|e| (400, format!("{}: {e}", path.display())))?;
    if !real.starts_with(root) {
        return Err((
            403,
            format!(
                "{}: outside the allowed directory {}",
                path.display(),
                root.display()
            ),
        ));
    }
    let fits = crate::imaging::FitsOptions::default();
    let image = crate::imaging::RadioImage::open(&real, &fits).map_err(|e| (400, e.to_string()))?;
    let (w, h) = image.dimensions();
    check_size(w as u64 * h as u64, options)?;
    let input = image
        .model_input(&options.transform)
        .map_err(|e| (400, e.to_string()))?;
    Ok(DynamicImage::ImageRgb8(input))
}

fn check_size(pixels: u64, options: &ServeOptions) -> Result<(), Refusal> {
    if pixels > options.max_image_pixels {
        return Err((
            413,
            format!(
                "an image of {:.1} Mpix is over this server's limit of {:.1} Mpix",
                pixels as f64 / 1e6,
                options.max_image_pixels as f64 / 1e6
            ),
        ));
    }
    Ok(())
}

/// Stream the answer as chunks; a client that hangs up cancels the generation.
async fn stream(
    connection: &mut Connection,
    mut generation: Generation,
    model: &str,
    include_usage: bool,
) -> Reply {
    let cancel = generation.cancel_handle();
    let id = completion_id();
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        json!({
            "id": id, "object": "chat.completion.chunk", "created": unix_now(), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
        .to_string()
    };
    // Per token only the text changes: the rest of the chunk is written once.
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let head = format!(
        r#"{{"id":{},"object":"chat.completion.chunk","created":{},"model":{},"choices":[{{"index":0,"delta":{{"content":"#,
        quote(&id),
        unix_now(),
        quote(model)
    );
    let tail = r#"},"finish_reason":null}]}"#;
    let token_chunk = |text: &str| format!("{head}{}{tail}", quote(text));
    let Connection { reader, writer } = connection;
    let mut tokens = 0;
    let broken = Reply::Streamed {
        tokens: 0,
        keep: false,
    };
    if writer.start_events().await.is_err()
        || writer
            .send_event(&chunk(json!({"role": "assistant", "content": ""}), None))
            .await
            .is_err()
    {
        cancel.cancel();
        return broken;
    }
    let mut pending = None;
    loop {
        let event = match pending.take() {
            Some(event) => Some(event),
            None => tokio::select! {
                event = generation.next() => event,
                _ = reader.closed() => {
                    cancel.cancel();
                    return Reply::Streamed { tokens, keep: false };
                }
            },
        };
        let written = match event {
            Some(EngineEvent::Token(mut text)) => {
                tokens += 1;
                // Tokens that queued while the last chunk was written go out as one chunk:
                // one write instead of many when the engine is ahead of the socket.
                while let Some(next) = generation.try_next() {
                    match next {
                        EngineEvent::Token(more) => {
                            text.push_str(&more);
                            tokens += 1;
                        }
                        other => {
                            pending = Some(other);
                            break;
                        }
                    }
                }
                writer.send_event(&token_chunk(&text)).await
            }
            Some(EngineEvent::Finished { reason, usage }) => {
                let keep = finish_events(writer, &chunk, reason, &usage, include_usage, &id, model)
                    .await
                    .is_ok();
                return Reply::Streamed { tokens, keep };
            }
            Some(EngineEvent::Failed(message)) => {
                let body = openai::error_body(&message, "server_error", None);
                let _ = writer.send_event(&body.to_string()).await;
                let _ = writer.end_events().await;
                return Reply::Streamed {
                    tokens,
                    keep: false,
                };
            }
            None => {
                let _ = writer.end_events().await;
                return Reply::Streamed {
                    tokens,
                    keep: false,
                };
            }
        };
        if written.is_err() {
            cancel.cancel();
            return Reply::Streamed {
                tokens,
                keep: false,
            };
        }
    }
}

async fn finish_events(
    writer: &mut Writer,
    chunk: &impl Fn(serde_json::Value, Option<&str>) -> String,
    reason: FinishReason,
    usage: &Usage,
    include_usage: bool,
    id: &str,
    model: &str,
) -> std::io::Result<()> {
    writer
        .send_event(&chunk(json!({}), Some(finish_reason(reason))))
        .await?;
    if include_usage {
        let usage = WireUsage::new(usage.prompt_tokens, usage.completion_tokens);
        let body = json!({
            "id": id, "object": "chat.completion.chunk", "created": unix_now(), "model": model,
            "choices": [], "usage": usage,
        });
        writer.send_event(&body.to_string()).await?;
    }
    writer.send_event("[DONE]").await?;
    writer.end_events().await
}

/// The whole answer as one response.
async fn collect(
    connection: &mut Connection,
    mut generation: Generation,
    model: &str,
) -> Result<Reply, Refusal> {
    let cancel = generation.cancel_handle();
    let mut answer = String::new();
    loop {
        let event = tokio::select! {
            event = generation.next() => event,
            _ = connection.reader.closed() => {
                cancel.cancel();
                return Err((400, "the client went away".into()));
            }
        };
        match event {
            Some(EngineEvent::Token(text)) => answer.push_str(&text),
            Some(EngineEvent::Finished { reason, usage }) => {
                return Ok(Reply::Json(json!({
                    "id": completion_id(), "object": "chat.completion", "created": unix_now(),
                    "model": model,
                    "choices": [{
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": finish_reason(reason),
                    }],
                    "usage": WireUsage::new(usage.prompt_tokens, usage.completion_tokens),
                })));
            }
            Some(EngineEvent::Failed(message)) => return Err((500, message)),
            None => return Err((500, "the engine closed the answer stream".into())),
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

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
