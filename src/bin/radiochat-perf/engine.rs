//! `radiochat-perf engine`: load time, time to first token, prefill and decode speed of the
//! embedded engine on one model, over several runs (median, min, max). A benchmark, not a
//! test: it prints a table and asserts nothing.

use crate::memory::{RssPeak, peak_rss_mb};
use radiochat::commands::{CommandError, CommandResult};
use radiochat::engine::{ChatMessage, ChatRequest, EngineEvent, LoadSpec, Sampling};
use std::time::Instant;
use tokio::runtime::Runtime;

pub struct BenchArgs {
    pub spec: LoadSpec,
    pub runs: usize,
    pub load_runs: usize,
    pub max_tokens: usize,
    pub image: Option<image::DynamicImage>,
    /// Ask about the same image every run: from the second run on, the engine's vision-encoder
    /// cache answers and TTFT leaves out the encoder.
    pub same_image: bool,
    /// Time the conversation's second question (the first answer in the history), not the
    /// first: what a chat about one cutout waits for after the first answer.
    pub follow_up: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn of(values: &[f64]) -> Stat {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Stat {
            median,
            min: *sorted.first().unwrap_or(&f64::NAN),
            max: *sorted.last().unwrap_or(&f64::NAN),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BenchReport {
    pub model: String,
    pub dtype: String,
    pub isq: Option<String>,
    pub runs: usize,
    pub load_s: Stat,
    pub ttft_ms: Stat,
    pub prompt_tok_per_s: Stat,
    pub decode_tok_per_s: Stat,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    /// The numbers are the second question's of a conversation.
    #[serde(default)]
    pub follow_up: bool,
    /// The process's peak resident memory (VmHWM), MiB: model, engine and runs together.
    #[serde(default)]
    pub peak_rss_mb: f64,
    /// Peak resident memory once the model is loaded, MiB: what answering needs.
    #[serde(default)]
    pub answering_rss_mb: f64,
}

pub fn run(args: BenchArgs, runtime: &Runtime) -> CommandResult<BenchReport> {
    if args.runs == 0 || args.load_runs == 0 {
        return Err(CommandError::bad(
            "--runs and --load-runs must be at least 1",
        ));
    }
    let mut load_times = Vec::new();
    let mut engine = None;
    for _ in 0..args.load_runs {
        drop(engine.take());
        let started = Instant::now();
        let loaded = runtime.block_on(radiochat::engine::load(&args.spec))?;
        load_times.push(started.elapsed().as_secs_f64());
        engine = Some(loaded);
    }
    let engine = engine.ok_or_else(|| CommandError::bad("no load run"))?;
    let memory = RssPeak::start();
    let image = args.image.unwrap_or_else(radiochat::imaging::demo_cutout);
    let sampling = Sampling {
        max_tokens: args.max_tokens,
        ignore_eos: true,
        ..Sampling::default()
    };
    let (mut ttft, mut prefill, mut decode) = (Vec::new(), Vec::new(), Vec::new());
    let (mut prompt_tokens, mut completion_tokens) = (0, 0);
    // One warm-up run so the first measured run does not pay one-time allocations.
    for run in 0..=args.runs {
        let asked = if args.same_image {
            image.clone()
        } else {
            marked_image(&image, run)
        };
        let mut messages = vec![ChatMessage::user(FIRST_QUESTION, vec![asked])];
        let (mut text, mut usage) = answer(engine.as_ref(), &messages, &sampling)?;
        if args.follow_up {
            // The chat's second question: the conversation so far, then a new question.
            messages.push(ChatMessage::assistant(std::mem::take(&mut text)));
            messages.push(ChatMessage::user(FOLLOW_UP_QUESTION, Vec::new()));
            (_, usage) = answer(engine.as_ref(), &messages, &sampling)?;
        }
        if run > 0 {
            ttft.push(usage.ttft_ms);
            prefill.push(usage.prompt_tok_per_s);
            decode.push(usage.decode_tok_per_s);
            prompt_tokens = usage.prompt_tokens;
            completion_tokens = usage.completion_tokens;
        }
    }
    let info = engine.describe();
    Ok(BenchReport {
        model: info.source,
        dtype: info.dtype,
        isq: info.isq,
        runs: args.runs,
        load_s: Stat::of(&load_times),
        ttft_ms: Stat::of(&ttft),
        prompt_tok_per_s: Stat::of(&prefill),
        decode_tok_per_s: Stat::of(&decode),
        prompt_tokens,
        completion_tokens,
        follow_up: args.follow_up,
        peak_rss_mb: peak_rss_mb(),
        answering_rss_mb: memory.peak_mb(),
    })
}

const FIRST_QUESTION: &str = "Describe the radio source in this image.";
const FOLLOW_UP_QUESTION: &str = "Is it an FR-I or an FR-II radio galaxy?";

/// One whole answer: its text and the engine's usage report.
fn answer(
    engine: &dyn radiochat::engine::Engine,
    messages: &[ChatMessage],
    sampling: &Sampling,
) -> CommandResult<(String, radiochat::engine::Usage)> {
    let mut generation = engine.stream(ChatRequest {
        messages: messages.to_vec(),
        sampling: sampling.clone(),
    });
    let mut text = String::new();
    loop {
        match generation.blocking_next() {
            Some(EngineEvent::Token(piece)) => text.push_str(&piece),
            Some(EngineEvent::Finished { usage, .. }) => return Ok((text, usage)),
            Some(EngineEvent::Failed(message)) => {
                return Err(CommandError::Failed(anyhow::anyhow!("{message}")));
            }
            None => {
                return Err(CommandError::Failed(anyhow::anyhow!(
                    "answer stream closed"
                )));
            }
        }
    }
}

/// The image of run `run`: its corner pixel encodes the run, so every run is a new image to
/// mistral.rs's vision-encoder cache (keyed by the image's bytes) and pays the encoder, as a
/// new cutout does. perf/peer_transformers.py marks its images the same way.
pub fn marked_image(image: &image::DynamicImage, run: usize) -> image::DynamicImage {
    let mut rgb = image.to_rgb8();
    let mark = [(run % 256) as u8, (run / 256 % 256) as u8, 255];
    rgb.put_pixel(0, 0, image::Rgb(mark));
    image::DynamicImage::ImageRgb8(rgb)
}

/// The report as a Markdown table.
pub fn table(report: &BenchReport) -> String {
    let row = |name: &str, s: &Stat, digits: usize| {
        format!(
            "| {name} | {:.d$} | {:.d$} | {:.d$} |\n",
            s.median,
            s.min,
            s.max,
            d = digits
        )
    };
    let mut out = format!(
        "model {} (dtype {}, isq {}), {} runs, {}{} prompt tokens, {} generated tokens\n\n| metric | median | min | max |\n|---|---|---|---|\n",
        report.model,
        report.dtype,
        report.isq.as_deref().unwrap_or("none"),
        report.runs,
        if report.follow_up {
            "the follow-up question's: "
        } else {
            ""
        },
        report.prompt_tokens,
        report.completion_tokens
    );
    out += &row("load (s)", &report.load_s, 2);
    out += &row("time to first token (ms)", &report.ttft_ms, 1);
    out += &row("prompt (tok/s)", &report.prompt_tok_per_s, 1);
    out += &row("decode (tok/s)", &report.decode_tok_per_s, 1);
    out
}

#[cfg(test)]
mod tests {
    use super::{Stat, marked_image};

    #[test]
    fn median_min_max() {
        let s = Stat::of(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
        assert_eq!(Stat::of(&[5.0, 1.0, 9.0]).median, 5.0);
    }

    #[test]
    fn every_run_asks_about_a_different_image_of_the_same_size() {
        let base = radiochat::imaging::demo_cutout();
        let images: Vec<_> = (0..300).map(|run| marked_image(&base, run)).collect();
        for (run, image) in images.iter().enumerate() {
            assert_eq!(
                (image.width(), image.height()),
                (base.width(), base.height())
            );
            // Only the corner pixel differs from the cutout.
            let (a, b) = (image.to_rgb8(), base.to_rgb8());
            let differing = a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count();
            assert!(differing <= 1, "run {run}: {differing} pixels differ");
        }
        let distinct: std::collections::HashSet<Vec<u8>> =
            images.iter().map(|i| i.to_rgb8().into_raw()).collect();
        assert_eq!(distinct.len(), images.len());
    }
}
