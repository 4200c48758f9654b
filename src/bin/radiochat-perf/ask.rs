//! `radiochat-perf ask`: the whole path of `radiochat ask` on a FITS cutout, each run its own
//! process (so every run reads the file, loads the model and meets a new image, as a user's
//! command does), split into the stages `ask --json` reports. A benchmark: it asserts nothing.

use crate::engine::Stat;
use radiochat::commands::{CommandError, CommandResult};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

pub struct BenchAskArgs {
    /// Model directory; None: the demo model.
    pub model: Option<PathBuf>,
    pub image: PathBuf,
    pub runs: usize,
    pub max_tokens: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchAskReport {
    pub model: String,
    pub image: String,
    pub runs: usize,
    pub completion_tokens: usize,
    /// (stage, milliseconds) in the order of the path; "process" is exec → exit, seen from here.
    pub stages: Vec<(String, Stat)>,
}

/// The stages of `ask --json`, in path order, with what each covers.
const STAGES: [(&str, &str); 6] = [
    ("read_ms", "FITS read"),
    ("transform_ms", "radio-llava transform"),
    ("load_ms", "model load"),
    ("first_token_ms", "request → first token"),
    ("decode_ms", "first → last token"),
    ("total_ms", "whole command (main → last token)"),
];

pub fn run(args: &BenchAskArgs) -> CommandResult<BenchAskReport> {
    if args.runs == 0 || args.max_tokens == 0 {
        return Err(CommandError::bad(
            "--runs and --max-tokens must be at least 1",
        ));
    }
    let exe = crate::radiochat_exe()?;
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); STAGES.len() + 1];
    let (mut model, mut completion_tokens) = (String::new(), 0);
    // The first run warms the page cache (weights, binary) and is not counted.
    for run in 0..=args.runs {
        let mut command = Command::new(&exe);
        command.args(["ask", "--json", "--ignore-eos", "--max-tokens"]);
        command
            .arg(args.max_tokens.to_string())
            .arg("--image")
            .arg(&args.image);
        match &args.model {
            Some(dir) => command.arg("--model").arg(dir),
            None => command.arg("--demo"),
        };
        command.arg("Describe the radio source in this image.");
        let started = Instant::now();
        let out = command
            .output()
            .map_err(|e| CommandError::Failed(anyhow::anyhow!("cannot start ask: {e}")))?;
        let process_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.trim().lines().last().unwrap_or("(no message)");
            return Err(CommandError::Failed(anyhow::anyhow!(
                "ask failed: {}",
                last.strip_prefix("radiochat: ").unwrap_or(last)
            )));
        }
        let outcome: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| CommandError::Failed(anyhow::anyhow!("ask printed no report: {e}")))?;
        if run == 0 {
            continue;
        }
        for (i, (key, _)) in STAGES.iter().enumerate() {
            let value = outcome["stages"][key].as_f64().ok_or_else(|| {
                CommandError::Failed(anyhow::anyhow!("ask's report has no stages.{key}"))
            })?;
            samples[i].push(value);
        }
        samples[STAGES.len()].push(process_ms);
        model = outcome["model"]["source"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        completion_tokens = outcome["usage"]["completion_tokens"].as_u64().unwrap_or(0) as usize;
    }
    let names = STAGES
        .iter()
        .map(|(_, name)| *name)
        .chain(["process (exec → exit)"]);
    Ok(BenchAskReport {
        model,
        image: args.image.display().to_string(),
        runs: args.runs,
        completion_tokens,
        stages: names
            .zip(&samples)
            .map(|(name, values)| (name.to_string(), Stat::of(values)))
            .collect(),
    })
}

pub fn table(report: &BenchAskReport) -> String {
    let mut out = format!(
        "radiochat ask on {} · model {} · {} tokens (EOS ignored) · {} runs, each a new process\n\n| stage | ms, median (min–max) |\n|---|---|\n",
        report.image, report.model, report.completion_tokens, report.runs
    );
    for (name, s) in &report.stages {
        out += &format!("| {name} | {:.1} ({:.1}–{:.1}) |\n", s.median, s.min, s.max);
    }
    out
}
