//! One mistralrs request, driven to its end and translated into engine events.
//!
//! mistralrs 0.8.1 streams text only when the bytes so far end in a complete UTF-8 character.
//! When an answer ends inside a multi-byte character (a `max_tokens` cut, or EOS after a
//! stray byte), it frees the sequence without sending the final chunk, so the stream just
//! closes. The same closed stream is what an engine-thread panic looks like. A logits
//! processor that counts sampling steps, plus a probe of the engine thread, tell the two
//! apart: a live engine means the answer ended; a dead one means it crashed.

use super::events::{GenerationSink, Usage};
use super::{ChatRequest, EngineEvent, FinishReason, Role};
use mistralrs::{RequestBuilder, Response, SamplingParams, TextMessageRole};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Sender;

const ENGINE_CRASHED: &str =
    "the engine thread crashed while answering (see the log above); the next request restarts it";

/// Watches whether the engine thread is alive: the request channel closes when it dies.
pub struct EngineProbe(Mutex<Sender<mistralrs::Request>>);

impl EngineProbe {
    pub fn new(model: &mistralrs::Model) -> anyhow::Result<Self> {
        let sender = model
            .inner()
            .get_sender(None)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self(Mutex::new(sender)))
    }

    /// Wait briefly for a dying engine thread to finish unwinding, then report.
    async fn engine_died(&self, model: &mistralrs::Model) -> bool {
        for _ in 0..20 {
            if self.0.lock().map(|s| s.is_closed()).unwrap_or(true) {
                self.await_restart(model).await;
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// mistralrs restarts a dead engine in `get_sender`, but only once its thread has
    /// finished: while the thread still unwinds (its request channel already closed), it hands
    /// out the old, closed sender, and a request sent at once fails as a crash again. So wait
    /// (bounded) for the restarted engine's live sender, which the probe then keeps.
    async fn await_restart(&self, model: &mistralrs::Model) {
        for _ in 0..RESTART_POLLS {
            if let Ok(fresh) = model.inner().get_sender(None)
                && !fresh.is_closed()
            {
                if let Ok(mut slot) = self.0.lock() {
                    *slot = fresh;
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// How many 10-ms polls a crashed engine thread gets to finish unwinding (a backtrace of a
/// debug build takes a while to print) before the crash is reported anyway.
const RESTART_POLLS: usize = 1000;

/// Counts what the engine sampled, seen from inside its sampling loop.
#[derive(Default)]
struct StepCounter {
    prompt_len: AtomicUsize,
    steps: AtomicUsize,
    /// When the first and the latest token were sampled.
    step_times: Mutex<Option<(Instant, Instant)>>,
}

impl StepCounter {
    fn record(&self, context_len: usize) {
        let now = Instant::now();
        let generated_before = self.steps.fetch_add(1, Ordering::SeqCst);
        // After a prefix-cache hit the first step sees only the uncached end of the prompt;
        // later steps see the whole conversation. The prompt is what remains of the longest
        // context once the tokens generated before it are taken off (an answer of one token
        // after a hit counts only the uncached part).
        self.prompt_len.fetch_max(
            context_len.saturating_sub(generated_before),
            Ordering::SeqCst,
        );
        if let Ok(mut times) = self.step_times.lock() {
            let first = times.map(|(first, _)| first).unwrap_or(now);
            *times = Some((first, now));
        }
    }

    /// Prompt tokens per second: image preprocessing, vision encoder and prefill, from
    /// sending the request to sampling the first token.
    fn prompt_rate(&self, sent: Instant) -> f64 {
        match self.step_times.lock().ok().and_then(|t| *t) {
            Some((first, _)) if first > sent => {
                self.prompt_len() as f64 / (first - sent).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// Generated tokens per second after the first one.
    fn decode_rate(&self) -> f64 {
        let steps = self.steps();
        match self.step_times.lock().ok().and_then(|t| *t) {
            Some((first, last)) if last > first && steps > 1 => {
                (steps - 1) as f64 / (last - first).as_secs_f64()
            }
            _ => 0.0,
        }
    }
    fn steps(&self) -> usize {
        self.steps.load(Ordering::SeqCst)
    }
    fn prompt_len(&self) -> usize {
        self.prompt_len.load(Ordering::SeqCst)
    }
}

fn build_request(
    request: &ChatRequest,
    eos_token_ids: &[u32],
    counter: Arc<StepCounter>,
) -> RequestBuilder {
    let s = &request.sampling;
    // RequestBuilder::new() starts greedy (top_k = 1); start neutral so the user's
    // temperature, top_p and top_k actually take effect.
    let mut params = SamplingParams::neutral();
    params.max_len = Some(s.max_tokens);
    if s.is_greedy() {
        params.top_k = Some(1);
    } else {
        params.temperature = s.temperature;
        params.top_p = s.top_p;
        params.top_k = s.top_k;
    }
    let mut builder = RequestBuilder::new().set_sampling(params);
    for message in &request.messages {
        let role = match message.role {
            Role::System => TextMessageRole::System,
            Role::User => TextMessageRole::User,
            Role::Assistant => TextMessageRole::Assistant,
        };
        builder = if message.images.is_empty() {
            builder.add_message(role, &message.text)
        } else {
            builder.add_image_message(role, &message.text, message.images.clone())
        };
    }
    // mistralrs ignores set_sampler_logits_bias; a logits processor is honoured.
    let suppressed: Vec<u32> = if s.ignore_eos {
        eos_token_ids.to_vec()
    } else {
        Vec::new()
    };
    builder.add_logits_processor(Arc::new(
        move |logits: &mistralrs::Tensor, context: &[u32]| {
            counter.record(context.len());
            if suppressed.is_empty() {
                Ok(logits.clone())
            } else {
                suppress_tokens(logits, &suppressed)
            }
        },
    ))
}

fn suppress_tokens(
    logits: &mistralrs::Tensor,
    ids: &[u32],
) -> mistralrs::Result<mistralrs::Tensor> {
    let dtype = logits.dtype();
    let mut values = logits.to_dtype(mistralrs::DType::F32)?.to_vec1::<f32>()?;
    for &id in ids {
        if let Some(v) = values.get_mut(id as usize) {
            *v = f32::NEG_INFINITY;
        }
    }
    mistralrs::Tensor::from_vec(values, logits.shape(), logits.device())?.to_dtype(dtype)
}

/// When the request was sent and when its first text arrived.
struct Clock {
    sent: Instant,
    first_text: Option<Instant>,
}

impl Clock {
    fn ttft_ms(&self) -> f64 {
        self.first_text
            .map(|t| (t - self.sent).as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    }
}

/// Forward one request's stream as engine events. `Err(message)` for every way the engine can
/// fail, including a crashed engine thread.
pub async fn drive(
    model: &mistralrs::Model,
    probe: &EngineProbe,
    request: &ChatRequest,
    eos_token_ids: &[u32],
    request_gate: &tokio::sync::Semaphore,
    sink: &mut GenerationSink,
) -> Result<(), String> {
    // mistralrs 0.8.1 answers requests that share a batch wrongly. Image requests (idefics3,
    // B3 on 160 images): one at a time agrees with transformers on 159 answers; 2 in flight,
    // on 100; 8, on 113; gating only the prefill still 96. Text requests too (the demo model,
    // 8 different questions at once through `radiochat serve`: 4 of 8 answers as when asked
    // alone, the others garbled, e.g. "NO" → "NNfraES"). So requests run one at a time and
    // queue here; a cancelled one leaves the queue at once.
    let _permit = tokio::select! {
        _ = sink.cancelled.changed() => {
            sink.send(EngineEvent::Finished { reason: FinishReason::Cancelled, usage: Usage::default() });
            return Ok(());
        }
        permit = request_gate.acquire() => permit.map_err(|e| format!("engine closed: {e}"))?,
    };
    let counter = Arc::new(StepCounter::default());
    let builder = build_request(request, eos_token_ids, Arc::clone(&counter));
    let mut clock = Clock {
        sent: Instant::now(),
        first_text: None,
    };
    // mistralrs waits for the first response before it hands out the stream, so an engine
    // thread that dies on the first step shows here as a closed channel.
    let mut stream = match model.stream_chat_request(builder).await {
        Ok(stream) => stream,
        Err(_) if probe.engine_died(model).await => return Err(ENGINE_CRASHED.into()),
        Err(e) => return Err(format!("the engine refused the request: {e}")),
    };
    // Counted and timed on this side for every finish, so the numbers mean the same whether
    // or not mistralrs sent its final chunk (its own usage rounds times to milliseconds and
    // over-counts LLaVA's completion tokens by the image tokens).
    let usage = |clock: &Clock| Usage {
        prompt_tokens: counter.prompt_len(),
        completion_tokens: counter.steps(),
        prompt_tok_per_s: counter.prompt_rate(clock.sent),
        decode_tok_per_s: counter.decode_rate(),
        ttft_ms: clock.ttft_ms(),
    };
    loop {
        let response = tokio::select! {
            _ = sink.cancelled.changed() => {
                // Dropping the stream cancels the sequence inside mistralrs.
                drop(stream);
                sink.send(EngineEvent::Finished { reason: FinishReason::Cancelled, usage: usage(&clock) });
                return Ok(());
            }
            response = stream.next() => response,
        };
        let Some(response) = response else {
            if probe.engine_died(model).await {
                return Err(ENGINE_CRASHED.into());
            }
            let reason = match counter.steps() >= request.sampling.max_tokens {
                true => FinishReason::Length,
                false => FinishReason::Stop,
            };
            sink.send(EngineEvent::Finished {
                reason,
                usage: usage(&clock),
            });
            return Ok(());
        };
        match response {
            Response::Chunk(chunk) => {
                let Some(choice) = chunk.choices.into_iter().next() else {
                    continue;
                };
                if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                    clock.first_text.get_or_insert_with(Instant::now);
                    sink.send(EngineEvent::Token(text));
                }
                if let Some(reason) = choice.finish_reason {
                    let reason = match reason.as_str() {
                        "length" => FinishReason::Length,
                        "canceled" | "cancelled" => FinishReason::Cancelled,
                        _ => FinishReason::Stop,
                    };
                    sink.send(EngineEvent::Finished {
                        reason,
                        usage: usage(&clock),
                    });
                    return Ok(());
                }
            }
            Response::ModelError(message, _) => return Err(format!("model error: {message}")),
            Response::InternalError(e) => return Err(format!("engine internal error: {e}")),
            Response::ValidationError(e) => return Err(format!("request rejected: {e}")),
            Response::Done(_) => return Err("engine sent a non-streaming answer".into()),
            _ => return Err("engine sent an unexpected response type".into()),
        }
    }
}
