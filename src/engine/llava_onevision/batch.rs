//! Continuous batching: every request in flight advances in the same forward pass. New
//! requests are prefilled together (their prompts packed), then join the running ones, which
//! decode one token each per step; a sequence leaves the batch as soon as it stops, reaches
//! its limit or is cancelled, without disturbing the others.

use super::generate::{GenerateError, Loaded, StreamedText, sample};
use super::qwen2::{SeqCache, Span};
use crate::engine::events::GenerationSink;
use crate::engine::{ChatRequest, EngineEvent, FinishReason, Sampling, Usage};
use candle_core::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

pub type Job = (ChatRequest, GenerationSink);

/// One request in the batch.
struct Sequence {
    sink: GenerationSink,
    sampling: Sampling,
    cache: SeqCache,
    text: StreamedText,
    usage: Usage,
    started: Instant,
    first_token: Option<Instant>,
    /// The token the next step feeds.
    next: u32,
    rng: StdRng,
}

pub struct Batcher<'a> {
    loaded: &'a Loaded,
    active: Vec<Sequence>,
}

impl<'a> Batcher<'a> {
    pub fn new(loaded: &'a Loaded) -> Batcher<'a> {
        Batcher {
            loaded,
            active: Vec::new(),
        }
    }

    /// Serve `queue` until it closes: wait for work when idle, otherwise take whatever has
    /// arrived and run one step.
    pub fn run(&mut self, queue: &Receiver<Job>) {
        loop {
            let mut arrived = Vec::new();
            if self.active.is_empty() {
                match queue.recv() {
                    Ok(job) => arrived.push(job),
                    Err(_) => return,
                }
            }
            loop {
                match queue.try_recv() {
                    Ok(job) => arrived.push(job),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected)
                        if self.active.is_empty() && arrived.is_empty() =>
                    {
                        return;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            }
            let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.admit(arrived);
                self.step();
            }));
            if stepped.is_err() {
                // A bug, not the input: every answer in flight ends with it, the engine goes on.
                for s in self.active.drain(..) {
                    s.sink.send(EngineEvent::Failed(
                        "the engine crashed while answering (a bug: please report it)".into(),
                    ));
                }
            }
        }
    }

    /// Prefill the new requests together and let them join.
    fn admit(&mut self, jobs: Vec<Job>) {
        let mut ready = Vec::new();
        let mut embeds = Vec::new();
        for (request, sink) in jobs {
            let started = Instant::now();
            if sink.is_cancelled() {
                sink.send(EngineEvent::Finished {
                    reason: FinishReason::Cancelled,
                    usage: Usage::default(),
                });
                continue;
            }
            let embedded = self.loaded.prompt(&request).and_then(|prompt| {
                self.loaded
                    .model
                    .embed_prompt(&prompt.ids, &prompt.images)
                    .map(|e| (e, prompt.ids.len()))
                    .map_err(GenerateError::model("building the prompt"))
            });
            match embedded {
                Ok((embed, tokens)) => {
                    embeds.push(embed);
                    ready.push((request.sampling, sink, tokens, started));
                }
                Err(error) => sink.send(EngineEvent::Failed(error.to_string())),
            }
        }
        if ready.is_empty() {
            return;
        }
        let mut caches: Vec<SeqCache> = ready.iter().map(|_| SeqCache::default()).collect();
        let logits = Tensor::cat(&embeds, 0).and_then(|packed| {
            let mut spans: Vec<Span> = ready
                .iter()
                .zip(caches.iter_mut())
                .map(|((_, _, tokens, _), cache)| Span {
                    tokens: *tokens,
                    cache,
                })
                .collect();
            self.loaded.model.forward(&packed, &mut spans)
        });
        let logits = match logits {
            Ok(logits) => logits,
            Err(e) => {
                for (_, sink, _, _) in ready {
                    sink.send(EngineEvent::Failed(format!(
                        "the language model failed: {e}"
                    )));
                }
                return;
            }
        };
        for (i, ((sampling, sink, tokens, started), cache)) in
            ready.into_iter().zip(caches).enumerate()
        {
            let prefill_s = started.elapsed().as_secs_f64();
            let sequence = Sequence {
                sink,
                sampling,
                cache,
                text: StreamedText::default(),
                usage: Usage {
                    prompt_tokens: tokens,
                    prompt_tok_per_s: tokens as f64 / prefill_s.max(1e-9),
                    ..Usage::default()
                },
                started,
                first_token: None,
                next: 0,
                rng: StdRng::from_rng(&mut rand::rng()),
            };
            self.accept(sequence, &logits, i);
        }
    }

    /// One decode step for every running sequence.
    fn step(&mut self) {
        let (cancelled, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.active)
            .into_iter()
            .partition(|s| s.sink.is_cancelled());
        for sequence in cancelled {
            self.finish(sequence, FinishReason::Cancelled);
        }
        if running.is_empty() {
            return;
        }
        let mut running = running;
        let tokens: Vec<u32> = running.iter().map(|s| s.next).collect();
        let logits = self.loaded.model.text.embed(&tokens).and_then(|embeds| {
            let mut spans: Vec<Span> = running
                .iter_mut()
                .map(|s| Span {
                    tokens: 1,
                    cache: &mut s.cache,
                })
                .collect();
            self.loaded.model.forward(&embeds, &mut spans)
        });
        match logits {
            Ok(logits) => {
                for (i, sequence) in running.into_iter().enumerate() {
                    self.accept(sequence, &logits, i);
                }
            }
            Err(e) => {
                for sequence in running {
                    sequence.sink.send(EngineEvent::Failed(format!(
                        "the language model failed: {e}"
                    )));
                }
            }
        }
    }

    /// Sample the sequence's next token from row `row` of `logits`, stream it, and keep the
    /// sequence in the batch unless it is done.
    fn accept(&mut self, mut s: Sequence, logits: &Tensor, row: usize) {
        let values: Vec<f32> = match logits.get(row).and_then(|r| r.to_vec1()) {
            Ok(values) => values,
            Err(e) => {
                s.sink.send(EngineEvent::Failed(format!(
                    "the language model failed: {e}"
                )));
                return;
            }
        };
        let token = sample(&values, &s.sampling, &mut s.rng);
        if !s.sampling.ignore_eos && self.loaded.eos.contains(&token) {
            self.finish(s, FinishReason::Stop);
            return;
        }
        s.usage.completion_tokens += 1;
        if let Some(piece) = s.text.push(&self.loaded.tokenizer, token) {
            if s.first_token.is_none() {
                s.first_token = Some(Instant::now());
                s.usage.ttft_ms = s.started.elapsed().as_secs_f64() * 1000.0;
            }
            s.sink.send(EngineEvent::Token(piece));
        }
        let context = self.loaded.model.config.text.max_positions;
        if s.usage.completion_tokens >= s.sampling.max_tokens || s.cache.len() + 1 >= context {
            self.finish(s, FinishReason::Length);
            return;
        }
        s.next = token;
        self.active.push(s);
    }

    fn finish(&self, mut s: Sequence, reason: FinishReason) {
        if let Some(rest) = s.text.flush(&self.loaded.tokenizer) {
            s.sink.send(EngineEvent::Token(rest));
        }
        if let Some(first) = s.first_token
            && s.usage.completion_tokens > 1
        {
            s.usage.decode_tok_per_s =
                (s.usage.completion_tokens - 1) as f64 / first.elapsed().as_secs_f64().max(1e-9);
        }
        s.sink.send(EngineEvent::Finished {
            reason,
            usage: s.usage,
        });
    }
}
