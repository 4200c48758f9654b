//! `radiochat bench-engine`: load time, time to first token, prefill and decode speed of the
//! embedded engine on one model, over several runs (median, min, max). A benchmark, not a
//! test: it prints a table and asserts nothing.

use super::{CommandError, CommandResult};
use crate::engine::{ChatMessage, ChatRequest, EngineEvent, LoadSpec, Sampling};
use std::time::Instant;
use tokio::runtime::Runtime;

pub struct BenchArgs {
    pub spec: LoadSpec,
    pub runs: usize,
    pub load_runs: usize,
    pub max_tokens: usize,
    pub image: Option<image::DynamicImage>,
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
    /// The process's peak resident memory (VmHWM), MiB: model, engine and runs together.
    #[serde(default)]
    pub peak_rss_mb: f64,
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
        let loaded = runtime.block_on(crate::engine::load(&args.spec))?;
        load_times.push(started.elapsed().as_secs_f64());
        engine = Some(loaded);
    }
    let engine = engine.ok_or_else(|| CommandError::bad("no load run"))?;
    let image = args.image.unwrap_or_else(crate::imaging::demo_cutout);
    let sampling = Sampling {
        max_tokens: args.max_tokens,
        ignore_eos: true,
        ..Sampling::default()
    };
    let (mut ttft, mut prefill, mut decode) = (Vec::new(), Vec::new(), Vec::new());
    let (mut prompt_tokens, mut completion_tokens) = (0, 0);
    // One warm-up run so the first measured run does not pay one-time allocations.
    for run in 0..=args.runs {
        let request = ChatRequest {
            messages: vec![ChatMessage::user(
                "Describe the radio source in this image.",
                vec![image.clone()],
            )],
            sampling: sampling.clone(),
        };
        let mut generation = engine.stream(request);
        loop {
            match generation.blocking_next() {
                Some(EngineEvent::Token(_)) => {}
                Some(EngineEvent::Finished { usage, .. }) => {
                    if run > 0 {
                        ttft.push(usage.ttft_ms);
                        prefill.push(usage.prompt_tok_per_s);
                        decode.push(usage.decode_tok_per_s);
                        prompt_tokens = usage.prompt_tokens;
                        completion_tokens = usage.completion_tokens;
                    }
                    break;
                }
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
        peak_rss_mb: peak_rss_mb(),
    })
}

/// VmHWM of this process, in MiB (0 where /proc does not say).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
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
        "model {} (dtype {}, isq {}), {} runs, {} prompt tokens, {} generated tokens\n\n| metric | median | min | max |\n|---|---|---|---|\n",
        report.model,
        report.dtype,
        report.isq.as_deref().unwrap_or("none"),
        report.runs,
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
    use super::Stat;

    #[test]
    fn median_min_max() {
        let s = Stat::of(&[3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 10.0));
        assert_eq!(Stat::of(&[5.0, 1.0, 9.0]).median, 5.0);
    }
}
