//! `radiochat-perf peer`: the embedded engine against Hugging Face transformers on the same
//! model directory, image, prompt and token count (greedy, EOS ignored), each setting in a
//! fresh process (so peak RSS is its own), plus the machine's copy bandwidth and the decode
//! roofline it implies. A benchmark: it prints tables and asserts nothing.

use crate::engine::{BenchReport, Stat};
use crate::roofline::{self, WeightCount};
use radiochat::commands::{CommandError, CommandResult};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The transformers side, carried in the binary: a path fixed at build time can name a checkout
/// that is gone (the shared target dir lets cargo reuse a binary built in another clone).
const PEER_SCRIPT: &str = include_str!("../../../perf/peer_transformers.py");

pub struct PeerArgs {
    pub model: PathBuf,
    pub runs: usize,
    pub max_tokens: usize,
    /// radiochat settings: f32, bf16, or an ISQ type (on f32 weights).
    pub ours: Vec<String>,
    /// transformers dtypes: f32, bf16.
    pub peers: Vec<String>,
    pub python: PathBuf,
    /// Both sides ask about one image every run (radiochat's TTFT then leaves out the encoder).
    pub same_image: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    /// STREAM-like copy on all cores (bytes read + written).
    pub copy_gbs: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerRow {
    pub engine: String,
    pub setting: String,
    pub ttft_ms: Option<Stat>,
    pub prompt_tok_per_s: Option<Stat>,
    pub decode_tok_per_s: Option<Stat>,
    pub prompt_tokens: usize,
    pub peak_rss_mb: f64,
    /// Peak resident memory once the model is loaded.
    pub answering_rss_mb: f64,
    /// Bandwidth / bytes of weights per decoded token.
    pub roofline_tok_per_s: f64,
    /// Why the setting has no numbers.
    pub error: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerReport {
    pub machine: Machine,
    pub model: String,
    pub weights: WeightCount,
    pub runs: usize,
    pub max_tokens: usize,
    pub rows: Vec<PeerRow>,
}

pub fn run(args: &PeerArgs) -> CommandResult<PeerReport> {
    if args.runs < 1 || args.max_tokens < 2 {
        return Err(CommandError::bad("--runs ≥ 1 and --max-tokens ≥ 2"));
    }
    let weights = roofline::count_weights(&args.model).map_err(CommandError::bad)?;
    let machine = Machine {
        cpu: cpu_model(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: memory_gib(),
        copy_gbs: roofline::copy_bandwidth_gbs(512, 5),
    };
    let scratch = tempfile_dir()?;
    let work = scratch.path().to_path_buf();
    let png = work.join("cutout.png");
    radiochat::imaging::demo_cutout()
        .save(&png)
        .map_err(|e| CommandError::Failed(anyhow::anyhow!("{}: {e}", png.display())))?;
    let script = work.join("peer_transformers.py");
    std::fs::write(&script, PEER_SCRIPT)
        .map_err(|e| CommandError::Failed(anyhow::anyhow!("{}: {e}", script.display())))?;
    let roof = |dtype: &str, isq: Option<&str>| {
        machine.copy_gbs * 1e9
            / (weights.decode_params as f64 * roofline::bytes_per_weight(dtype, isq))
    };
    // Which engine runs the model: mistral.rs, or radiochat's own for LLaVA-OneVision.
    let ours_label = match radiochat::engine::validate_model_dir(&args.model) {
        Ok(v) if v.architecture.engine == radiochat::engine::Backend::Candle => {
            "radiochat (own candle engine)"
        }
        _ => "radiochat (mistral.rs 0.8.1)",
    };
    let mut rows = Vec::new();
    // `--ours none` (or `--peers none`) measures one side only.
    let wanted = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter(|s| !s.is_empty() && s.as_str() != "none")
            .cloned()
            .collect()
    };
    for setting in &wanted(&args.ours) {
        let (dtype, isq) = match setting.as_str() {
            "f32" | "bf16" | "f16" => (setting.as_str(), None),
            isq => ("f32", Some(isq)),
        };
        let mut command = Command::new(std::env::current_exe().map_err(io_failed)?);
        command.args(["engine", "--model"]).arg(&args.model).args([
            "--dtype",
            dtype,
            "--runs",
            &args.runs.to_string(),
            "--load-runs",
            "1",
            "--max-tokens",
            &args.max_tokens.to_string(),
            "--json",
        ]);
        if let Some(isq) = isq {
            command.args(["--isq", isq]);
        }
        if args.same_image {
            command.arg("--same-image");
        }
        let mut row = row(ours_label, setting, roof(dtype, isq));
        match run_json::<BenchReport>(&mut command) {
            Ok(report) => {
                row.ttft_ms = Some(report.ttft_ms);
                row.prompt_tok_per_s = Some(report.prompt_tok_per_s);
                row.decode_tok_per_s = Some(report.decode_tok_per_s);
                row.prompt_tokens = report.prompt_tokens;
                row.peak_rss_mb = report.peak_rss_mb;
                row.answering_rss_mb = report.answering_rss_mb;
            }
            Err(message) => row.error = Some(message),
        }
        rows.push(row);
    }
    for dtype in &wanted(&args.peers) {
        let mut command = Command::new(&args.python);
        command.arg(&script).arg("--model").arg(&args.model);
        command.arg("--image").arg(&png).args([
            "--dtype",
            dtype,
            "--runs",
            &args.runs.to_string(),
            "--max-tokens",
            &args.max_tokens.to_string(),
        ]);
        if args.same_image {
            command.arg("--same-image");
        }
        let mut row = row("transformers (PyTorch eager)", dtype, roof(dtype, None));
        match run_json::<PeerRun>(&mut command) {
            Ok(peer) => {
                row.engine = peer.implementation;
                row.ttft_ms = Some(Stat::of(&peer.ttft_ms));
                row.prompt_tok_per_s = Some(Stat::of(&peer.prompt_tok_per_s));
                row.decode_tok_per_s = Some(Stat::of(&peer.decode_tok_per_s));
                row.prompt_tokens = peer.prompt_tokens;
                row.peak_rss_mb = peer.peak_rss_mb;
                row.answering_rss_mb = peer.answering_rss_mb;
            }
            Err(message) => row.error = Some(message),
        }
        rows.push(row);
    }
    Ok(PeerReport {
        machine,
        model: args.model.display().to_string(),
        weights,
        runs: args.runs,
        max_tokens: args.max_tokens,
        rows,
    })
}

#[derive(serde::Deserialize)]
struct PeerRun {
    implementation: String,
    ttft_ms: Vec<f64>,
    prompt_tok_per_s: Vec<f64>,
    decode_tok_per_s: Vec<f64>,
    prompt_tokens: usize,
    peak_rss_mb: f64,
    answering_rss_mb: f64,
}

fn row(engine: &str, setting: &str, roofline_tok_per_s: f64) -> PeerRow {
    PeerRow {
        engine: engine.into(),
        setting: setting.into(),
        ttft_ms: None,
        prompt_tok_per_s: None,
        decode_tok_per_s: None,
        prompt_tokens: 0,
        peak_rss_mb: 0.0,
        answering_rss_mb: 0.0,
        roofline_tok_per_s,
        error: None,
    }
}

/// Run a child that prints one JSON object; its last stderr line on failure.
fn run_json<T: serde::de::DeserializeOwned>(command: &mut Command) -> Result<T, String> {
    let out = command.output().map_err(|e| format!("cannot start: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.trim().lines().last().unwrap_or("(no message)");
        // An engine error carries its backtrace on the same line: keep the message.
        let message = last.split("    0: ").next().unwrap_or(last).trim();
        let short: String = message.chars().take(160).collect();
        return Err(format!("failed: {short}"));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("unreadable report: {e}"))
}

fn io_failed(e: std::io::Error) -> CommandError {
    CommandError::Failed(anyhow::anyhow!(e))
}

fn tempfile_dir() -> CommandResult<tempfile::TempDir> {
    radiochat::util::private_file::scratch_dir("radiochat-perf-peer-").map_err(io_failed)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn memory_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kib| kib / (1 << 20) as f64)
}

/// The report as Markdown: the machine, then one row per engine and setting.
pub fn table(report: &PeerReport) -> String {
    let m = &report.machine;
    let w = &report.weights;
    let mut out = format!(
        "{} · {} cores · {:.1} GiB · copy bandwidth {:.1} GB/s\nmodel {} · {:.1} M parameters read per decoded token ({:.1} M vision, {:.1} M embedding rows) · {} runs · {} tokens (EOS ignored), greedy\n\n",
        m.cpu,
        m.cores,
        m.memory_gib,
        m.copy_gbs,
        report.model,
        w.decode_params as f64 / 1e6,
        w.vision_params as f64 / 1e6,
        w.embedding_params as f64 / 1e6,
        report.runs,
        report.max_tokens
    );
    out.push_str("| engine | setting | prompt tokens | TTFT ms | prompt tok/s | decode tok/s | peak RSS MiB | RSS answering MiB | decode roofline tok/s | of roofline | decode vs transformers |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    let peer_decode = |dtype: &str| {
        report
            .rows
            .iter()
            .filter(|r| r.engine.starts_with("transformers") && r.setting == dtype)
            .find_map(|r| r.decode_tok_per_s.as_ref().map(|s| s.median))
    };
    for row in &report.rows {
        let stat = |s: &Option<Stat>, d: usize| {
            s.as_ref().map_or("—".to_string(), |s| {
                format!("{:.d$} ({:.d$}–{:.d$})", s.median, s.min, s.max, d = d)
            })
        };
        let decode = row.decode_tok_per_s.as_ref().map(|s| s.median);
        let against = if row.engine.starts_with("transformers") {
            "—".to_string()
        } else {
            // Same dtype where transformers has it; ISQ settings against transformers f32.
            let peer = peer_decode(if row.setting == "bf16" { "bf16" } else { "f32" });
            match (decode, peer) {
                (Some(ours), Some(theirs)) if theirs > 0.0 => format!("{:.2}×", ours / theirs),
                _ => "—".into(),
            }
        };
        let setting = match &row.error {
            Some(error) => format!("{} ({error})", row.setting),
            None => row.setting.clone(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.1} | {} | {} |\n",
            row.engine,
            setting,
            row.prompt_tokens,
            stat(&row.ttft_ms, 0),
            stat(&row.prompt_tok_per_s, 0),
            stat(&row.decode_tok_per_s, 1),
            row.peak_rss_mb,
            row.answering_rss_mb,
            row.roofline_tok_per_s,
            decode.map_or("—".into(), |d| format!(
                "{:.0} %",
                d / row.roofline_tok_per_s * 100.0
            )),
            against
        ));
    }
    out
}

/// The default model: a random idefics3 at SmolVLM-256M's dimensions, written once.
pub fn default_model() -> CommandResult<PathBuf> {
    let dir = radiochat::config::data_dir().join("models/bench-idefics3-real");
    if !dir.join("model.safetensors").exists() {
        radiochat::testkit::tiny::write(
            "idefics3",
            radiochat::testkit::tiny::Scale::Real,
            0,
            &dir,
            true,
        )
        .map_err(|e| CommandError::Failed(anyhow::anyhow!("{}: {e}", dir.display())))?;
    }
    Ok(dir)
}

/// The Python with torch and transformers (scripts/setup.sh makes it), and the peer script.
pub fn default_python() -> PathBuf {
    std::env::var_os("RADIOCHAT_PY_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/radiochat-py")))
        .unwrap_or_default()
        .join("bin/python")
}
