//! An OpenAI-compatible server as an engine: vLLM (radio-llava on a GPU node's batching),
//! `mistralrs serve`, llama.cpp's llama-server, Ollama, or another
//! `radiochat serve`. Images go as PNG data URLs of the model input radiochat made; answers
//! stream as server-sent events. Requests that fail before any text was shown are retried
//! (429, 5xx, refused or reset connections); once text was shown they never are, and a cut
//! stream keeps its text and reports the cut.
//!
//! The API key is read from the environment variable the user names, kept in this struct
//! only (its Debug output hides it), and sent only as the Authorization header.

use super::events::{EngineEvent, FinishReason, Generation, GenerationSink, Usage};
use super::{ChatRequest, Engine, ModelInfo, Role};
use crate::openai::{self, ChatCompletionRequest, Content, ImageUrl, Part, WireMessage};
use crate::util::url::{is_loopback, plain_http_warning, redact_credentials};
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;

/// Tries of a request that fails before any text arrives (the first included).
const TRIES: u32 = 4;
/// The first wait between tries; doubled each time (a Retry-After header wins, up to 30 s).
const BACKOFF: Duration = Duration::from_millis(500);

/// Where the server is and how to reach it.
#[derive(Clone, PartialEq, Eq)]
pub struct RemoteSource {
    /// The API base, e.g. `http://gpu07:8000/v1`.
    pub url: String,
    /// The served model's name; `None` takes the first the server lists.
    pub model: Option<String>,
    /// The environment variable holding the API key (its name, never its value).
    pub api_key_env: Option<String>,
    /// Longest wait for the answer to start, and between two pieces of it.
    pub timeout: Duration,
}

impl std::fmt::Debug for RemoteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RemoteSource({self})")
    }
}

impl std::fmt::Display for RemoteSource {
    /// `remote:URL` or `remote:URL MODEL`: how run.json and sessions name it (no key, no
    /// credentials from the URL).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "remote:{}", redact_credentials(&self.url))?;
        if let Some(model) = &self.model {
            write!(f, " {model}")?;
        }
        Ok(())
    }
}

impl RemoteSource {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// `URL` or `URL MODEL` (what follows `remote:`).
    pub fn parse(text: &str) -> RemoteSource {
        let (url, model) = match text.trim().split_once(' ') {
            Some((url, model)) => (url, Some(model.trim().to_string())),
            None => (text.trim(), None),
        };
        RemoteSource {
            url: url.trim_end_matches('/').to_string(),
            model,
            api_key_env: None,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

pub struct RemoteEngine {
    inner: Arc<Inner>,
    runtime: Handle,
}

struct Inner {
    client: reqwest::Client,
    /// What requests go to (credentials included).
    url: String,
    /// What messages and records say (credentials removed).
    shown_url: String,
    warnings: Vec<String>,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    connected_in: f64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = if self.api_key.is_some() {
            "(set)"
        } else {
            "(none)"
        };
        write!(
            f,
            "Remote {} model {} key {key}",
            self.shown_url, self.model
        )
    }
}

impl RemoteEngine {
    /// Read the key, ask the server which models it serves, and pick ours.
    pub async fn connect(source: &RemoteSource) -> anyhow::Result<RemoteEngine> {
        let started = Instant::now();
        let url = source.url.trim_end_matches('/').to_string();
        let shown_url = redact_credentials(&url);
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!(
                "--remote {shown_url}: expected an http:// or https:// URL, e.g. http://gpu07:8000/v1"
            );
        }
        let api_key = match &source.api_key_env {
            None => None,
            Some(var) => Some(std::env::var(var).map_err(|_| {
                anyhow::anyhow!("--api-key-env {var}: the environment variable {var} is not set")
            })?),
        };
        let mut builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10));
        if is_loopback(&url) {
            // A proxy configured for the outside world must not see loopback traffic.
            builder = builder.no_proxy();
        }
        let client = builder.build()?;
        let models = list_models(&client, &url, api_key.as_deref(), source).await?;
        let model = match &source.model {
            Some(name) if models.contains(name) => name.clone(),
            Some(name) => anyhow::bail!(
                "{shown_url} serves {}; no model named {name} (--remote-model)",
                models.join(", ")
            ),
            None => models
                .first()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{shown_url}/models lists no model"))?,
        };
        let warnings = plain_http_warning(&url, api_key.is_some())
            .into_iter()
            .collect();
        Ok(RemoteEngine {
            inner: Arc::new(Inner {
                client,
                url,
                shown_url,
                warnings,
                model,
                api_key,
                timeout: source.timeout,
                connected_in: started.elapsed().as_secs_f64(),
            }),
            runtime: Handle::current(),
        })
    }
}

async fn list_models(
    client: &reqwest::Client,
    url: &str,
    api_key: Option<&str>,
    source: &RemoteSource,
) -> anyhow::Result<Vec<String>> {
    let target = format!("{url}/models");
    let endpoint = redact_credentials(&target);
    let mut request = client.get(&target);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let response = tokio::time::timeout(source.timeout, request.send())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "{endpoint}: no answer within {} s",
                source.timeout.as_secs_f64()
            )
        })?
        .map_err(|e| anyhow::anyhow!("{}", describe_transport(&endpoint, &e)))?;
    if !response.status().is_success() {
        anyhow::bail!("{}", describe_status(&endpoint, response, source).await);
    }
    let body = response.text().await.unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&body).map_err(|_| {
        anyhow::anyhow!(
            "{endpoint}: answered {}, not the OpenAI API (is the URL right? it usually ends in /v1)",
            describe_body(&body)
        )
    })?;
    let ids = value["data"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|m| m["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok(ids)
}

/// A refused, reset or unreachable connection, in one line.
fn describe_transport(endpoint: &str, error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if error.is_connect() {
        format!("cannot reach {endpoint}: {cause} (is the server running?)")
    } else {
        format!("{endpoint}: {cause}")
    }
}

/// What a non-JSON body is, for an error message.
fn describe_body(body: &str) -> String {
    let start = body.trim_start();
    if start.starts_with('<') {
        "an HTML page".to_string()
    } else if start.is_empty() {
        "an empty body".to_string()
    } else {
        let short: String = start.chars().take(120).collect();
        format!("'{}'", short.replace('\n', " "))
    }
}

/// A non-success answer in one line: the API's own message where there is one.
async fn describe_status(
    endpoint: &str,
    response: reqwest::Response,
    source: &RemoteSource,
) -> String {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| openai::error_message(&v))
        .unwrap_or_else(|| describe_body(&body));
    let hint = match (status.as_u16(), &source.api_key_env) {
        (401 | 403, None) => {
            " — the server wants an API key: --api-key-env VAR names the environment variable holding it"
        }
        (401 | 403, Some(_)) => " — the server refused the API key",
        (404, _) if detail.contains("model") => "",
        (404, _) => " — is the URL right? it usually ends in /v1",
        _ => "",
    };
    format!("{endpoint}: {status}: {detail}{hint}")
}

impl Engine for RemoteEngine {
    fn describe(&self) -> ModelInfo {
        ModelInfo {
            name: self.inner.model.clone(),
            source: self.inner.shown_url.clone(),
            warnings: self.inner.warnings.clone(),
            architecture: "remote (OpenAI API)".into(),
            device: "remote".into(),
            dtype: "server's".into(),
            isq: None,
            prefix_cache: 0,
            max_context: None,
            load_seconds: self.inner.connected_in,
        }
    }

    fn stream(&self, request: ChatRequest) -> Generation {
        let (generation, sink) = Generation::channel();
        let inner = self.inner.clone();
        self.runtime.spawn(async move {
            let started = Instant::now();
            let body = match wire_request(&inner.model, &request) {
                Ok(body) => body,
                Err(message) => return sink.send(EngineEvent::Failed(message)),
            };
            let mut cancelled = sink.cancelled.clone();
            let response = tokio::select! {
                response = inner.send(&body) => response,
                _ = cancelled.wait_for(|c| *c) => {
                    return sink.send(EngineEvent::Finished {
                        reason: FinishReason::Cancelled,
                        usage: Usage::default(),
                    });
                }
            };
            match response {
                Ok(response) => read_stream(&inner, response, started, &sink).await,
                Err(message) => sink.send(EngineEvent::Failed(message)),
            }
        });
        generation
    }
}

/// The request as the API wants it: text as a string when there is no image (every server
/// reads that), text and image parts otherwise.
fn wire_request(model: &str, request: &ChatRequest) -> Result<ChatCompletionRequest, String> {
    let mut messages = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        let role = match message.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        let content = if message.images.is_empty() {
            Content::Text(message.text.clone())
        } else {
            let mut parts = Vec::with_capacity(message.images.len() + 1);
            for image in &message.images {
                parts.push(Part::ImageUrl {
                    image_url: ImageUrl {
                        url: openai::png_data_url(image)
                            .map_err(|e| format!("encoding the image as PNG: {e}"))?,
                        detail: None,
                    },
                });
            }
            parts.push(Part::Text {
                text: message.text.clone(),
            });
            Content::Parts(parts)
        };
        messages.push(WireMessage {
            role: role.into(),
            content: Some(content),
        });
    }
    let s = &request.sampling;
    Ok(ChatCompletionRequest {
        model: Some(model.to_string()),
        messages,
        stream: true,
        stream_options: Some(openai::StreamOptions {
            include_usage: true,
        }),
        max_tokens: Some(s.max_tokens),
        // Greedy unless asked otherwise, as the embedded engine decodes.
        temperature: Some(s.temperature.unwrap_or(0.0)),
        top_p: s.top_p,
        top_k: s.top_k,
        ignore_eos: s.ignore_eos.then_some(true),
        ..ChatCompletionRequest::default()
    })
}

impl Inner {
    /// POST the request until the server accepts it: retried on 429, 5xx and connection
    /// failures with backoff, nothing having been shown yet.
    async fn send(&self, body: &ChatCompletionRequest) -> Result<reqwest::Response, String> {
        let target = format!("{}/chat/completions", self.url);
        let endpoint = format!("{}/chat/completions", self.shown_url);
        let source = RemoteSource {
            url: self.url.clone(),
            model: Some(self.model.clone()),
            api_key_env: self.api_key.as_ref().map(|_| "(set)".to_string()),
            timeout: self.timeout,
        };
        let mut wait = BACKOFF;
        let mut last_error = String::new();
        for attempt in 1..=TRIES {
            let mut request = self.client.post(&target).json(body);
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key);
            }
            let retry_after = match tokio::time::timeout(self.timeout, request.send()).await {
                Err(_) => {
                    return Err(format!(
                        "{endpoint}: no answer within {} s",
                        self.timeout.as_secs_f64()
                    ));
                }
                Ok(Ok(response)) if response.status().is_success() => return Ok(response),
                Ok(Ok(response)) => {
                    let status = response.status();
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(30)));
                    last_error = describe_status(&endpoint, response, &source).await;
                    if !retryable {
                        return Err(last_error);
                    }
                    retry_after
                }
                Ok(Err(error)) => {
                    last_error = describe_transport(&endpoint, &error);
                    if !(error.is_connect() || error.is_request()) {
                        return Err(last_error);
                    }
                    None
                }
            };
            if attempt < TRIES {
                tokio::time::sleep(retry_after.unwrap_or(wait)).await;
                wait *= 2;
            }
        }
        Err(format!("{last_error} (after {TRIES} tries)"))
    }
}

/// Forward the server's events: text, then one `Finished` or `Failed`.
async fn read_stream(
    inner: &Inner,
    response: reqwest::Response,
    started: Instant,
    sink: &GenerationSink,
) {
    let endpoint = format!("{}/chat/completions", inner.shown_url);
    let mut bytes = response.bytes_stream();
    let mut decoder = openai::SseDecoder::default();
    let mut cancelled = sink.cancelled.clone();
    let mut answer = Answer::default();
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(inner.timeout, bytes.next()) => next,
            _ = cancelled.wait_for(|c| *c) => {
                // Dropping the response closes the connection: the server stops generating.
                return sink.send(answer.finished(FinishReason::Cancelled, started));
            }
        };
        let chunk = match next {
            Err(_) => {
                return sink.send(EngineEvent::Failed(format!(
                    "{endpoint}: nothing for {} s mid-answer; the {} tokens so far are kept",
                    inner.timeout.as_secs_f64(),
                    answer.pieces
                )));
            }
            Ok(None) => {
                let event = match answer.finish {
                    Some(reason) => answer.finished(reason, started),
                    None => EngineEvent::Failed(format!(
                        "{endpoint}: the server closed the stream mid-answer; the {} tokens so far are kept",
                        answer.pieces
                    )),
                };
                return sink.send(event);
            }
            Ok(Some(Err(error))) => {
                return sink.send(EngineEvent::Failed(format!(
                    "{endpoint}: the stream broke mid-answer ({}); the {} tokens so far are kept",
                    describe_transport(&endpoint, &error),
                    answer.pieces
                )));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        for data in decoder.push(&chunk) {
            if data.trim() == "[DONE]" {
                let reason = answer.finish.unwrap_or(FinishReason::Stop);
                return sink.send(answer.finished(reason, started));
            }
            match answer.read(&data) {
                Ok(Some(text)) => sink.send(EngineEvent::Token(text)),
                Ok(None) => {}
                Err(message) => {
                    return sink.send(EngineEvent::Failed(format!("{endpoint}: {message}")));
                }
            }
        }
    }
}

/// What the events said so far.
#[derive(Default)]
struct Answer {
    pieces: usize,
    first_token: Option<Instant>,
    finish: Option<FinishReason>,
    prompt_tokens: Option<usize>,
    completion_tokens: Option<usize>,
}

impl Answer {
    /// One event's JSON: its text, if any.
    fn read(&mut self, data: &str) -> Result<Option<String>, String> {
        let value: serde_json::Value = serde_json::from_str(data)
            .map_err(|_| format!("the stream carried {} instead of JSON", describe_body(data)))?;
        if let Some(message) = openai::error_message(&value) {
            return Err(format!("the server failed mid-answer: {message}"));
        }
        if let Some(usage) = value.get("usage").filter(|u| !u.is_null()) {
            self.prompt_tokens = usage["prompt_tokens"].as_u64().map(|n| n as usize);
            self.completion_tokens = usage["completion_tokens"].as_u64().map(|n| n as usize);
        }
        let choice = &value["choices"][0];
        match choice["finish_reason"].as_str() {
            Some("length") => self.finish = Some(FinishReason::Length),
            Some(_) => self.finish = Some(FinishReason::Stop),
            None => {}
        }
        let text = choice["delta"]["content"].as_str().unwrap_or("");
        if text.is_empty() {
            return Ok(None);
        }
        self.pieces += 1;
        self.first_token.get_or_insert_with(Instant::now);
        Ok(Some(text.to_string()))
    }

    fn finished(&self, reason: FinishReason, started: Instant) -> EngineEvent {
        let completion = self.completion_tokens.unwrap_or(self.pieces);
        let prompt = self.prompt_tokens.unwrap_or(0);
        let ttft = self
            .first_token
            .map_or(0.0, |t| (t - started).as_secs_f64());
        let decode_s = self.first_token.map_or(0.0, |t| t.elapsed().as_secs_f64());
        EngineEvent::Finished {
            reason,
            usage: Usage {
                prompt_tokens: prompt,
                completion_tokens: completion,
                prompt_tok_per_s: if ttft > 0.0 {
                    prompt as f64 / ttft
                } else {
                    0.0
                },
                decode_tok_per_s: if decode_s > 0.0 && completion > 1 {
                    (completion - 1) as f64 / decode_s
                } else {
                    0.0
                },
                ttft_ms: ttft * 1000.0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_print_without_the_key_and_parse_back() {
        let source = RemoteSource {
            api_key_env: Some("SECRET_VAR".into()),
            ..RemoteSource::parse("http://gpu07:8000/v1/ radio-llava")
        };
        assert_eq!(
            source.to_string(),
            "remote:http://gpu07:8000/v1 radio-llava"
        );
        let back = RemoteSource::parse(source.to_string().trim_start_matches("remote:"));
        assert_eq!(back.url, "http://gpu07:8000/v1");
        assert_eq!(back.model.as_deref(), Some("radio-llava"));
    }
}
