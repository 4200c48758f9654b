//! `radiochat-perf`'s command line: one subcommand per harness.

use clap::{Args, Parser, Subcommand};
use radiochat::commands::flags::ModelFlags;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "radiochat-perf",
    version,
    about = "radiochat's performance harnesses: speed and memory tables against named peers (benchmarks, not tests)"
)]
pub struct Cli {
    /// radiochat's config file (default: $XDG_CONFIG_HOME/radiochat/config.toml, or
    /// $RADIOCHAT_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Load time, time to first token, prefill and decode speed of the embedded engine.
    Engine(EngineCli),
    /// FITS read + radio-llava transform on one file.
    Imaging(ImagingCli),
    /// `radiochat serve` against the engine called directly: N streaming clients.
    Serve(ServeCli),
    /// The engine against Hugging Face transformers on the same model, and the decode roofline.
    Peer(PeerCli),
    /// `radiochat ask` end to end on a FITS cutout, split into stages (read, transform, load,
    /// first token, decode), each run a new process.
    Ask(AskCli),
    /// The chat in a real terminal (tmux): first frame, key-to-frame latency, idle CPU.
    Tui(TuiCli),
    /// The benchmark runner: harness overhead and throughput at several concurrencies.
    Harness {
        /// Items of the synthetic dataset.
        #[arg(long, default_value_t = 200)]
        items: usize,
        /// Requests in flight, one run each.
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
        concurrency: Vec<usize>,
        /// Model directory to time instead of the demo model.
        #[arg(long, short = 'm')]
        model: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The tiny fine-tune: start-up to the first metrics line, samples/s.
    Finetune {
        /// Synthetic images to build the training set from.
        #[arg(long, default_value_t = 300)]
        images: usize,
        #[arg(long, default_value_t = 300)]
        steps: usize,
        #[arg(long)]
        python: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct EngineCli {
    #[command(flatten)]
    pub model: ModelFlags,
    /// Measured generations (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Times the model is loaded to measure load time.
    #[arg(long, default_value_t = 3)]
    pub load_runs: usize,
    /// Tokens generated per run (EOS ignored).
    #[arg(long, default_value_t = 32)]
    pub max_tokens: usize,
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Time the conversation's second question (the first answer in the history).
    #[arg(long)]
    pub follow_up: bool,
    /// Ask about the same image every run (the engine's vision-encoder cache then answers from
    /// the second run on); by default each run's image differs in one corner pixel.
    #[arg(long)]
    pub same_image: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ImagingCli {
    /// FITS file to time; without it a SIZE×SIZE float32 test image is written to --write.
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long, default_value_t = 4096)]
    pub size: usize,
    /// Where the generated test image goes.
    #[arg(long, default_value = "bench-4096.fits")]
    pub write: PathBuf,
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ServeCli {
    #[command(flatten)]
    pub model: ModelFlags,
    /// Concurrent streaming clients, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub clients: Vec<usize>,
    /// Requests per client, one after the other.
    #[arg(long, default_value_t = 2)]
    pub requests: usize,
    /// Tokens per answer (EOS ignored).
    #[arg(long, default_value_t = 32)]
    pub max_tokens: usize,
    /// Rounds of (direct, serve) per client count; medians reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Image sent with every request (default: the demo FR-II cutout).
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Text-only requests.
    #[arg(long)]
    pub no_image: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct PeerCli {
    /// Model directory (default: a random idefics3 at SmolVLM-256M's dimensions, written once).
    #[arg(long, short = 'm')]
    pub model: Option<PathBuf>,
    /// Measured runs per setting (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Tokens generated per run (EOS ignored).
    #[arg(long, default_value_t = 32)]
    pub max_tokens: usize,
    /// radiochat settings: f32, bf16, or an ISQ type on f32 weights.
    #[arg(long, value_delimiter = ',', default_value = "f32,bf16,q8_0,q4k")]
    pub ours: Vec<String>,
    /// transformers dtypes.
    #[arg(long, value_delimiter = ',', default_value = "f32,bf16")]
    pub peers: Vec<String>,
    /// Python with torch and transformers (default: $RADIOCHAT_PY_VENV/bin/python).
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Ask about the same image every run (the engine's vision-encoder cache then answers from
    /// the second run on); by default each run's image differs in one corner pixel.
    #[arg(long)]
    pub same_image: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct AskCli {
    /// Model directory (default: the demo model).
    #[arg(long, short = 'm')]
    pub model: Option<PathBuf>,
    /// FITS (or PNG/JPEG) file to ask about; without it a SIZE×SIZE float32 FITS is written.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub image: Option<PathBuf>,
    #[arg(long, default_value_t = 512)]
    pub size: usize,
    /// Measured runs (after one that warms the page cache).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Tokens generated per run (EOS ignored).
    #[arg(long, default_value_t = 32)]
    pub max_tokens: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct TuiCli {
    /// Starts timed for the first frame.
    #[arg(long, default_value_t = 5)]
    pub starts: usize,
    /// Keys timed while answers stream (and up to 50 while idle).
    #[arg(long, default_value_t = 150)]
    pub keys: usize,
    /// Seconds of idle CPU measured.
    #[arg(long, default_value_t = 5.0)]
    pub idle_seconds: f64,
    /// Sessions of these many turns resumed, each timed (0: an empty one, the baseline;
    /// an empty list skips them).
    #[arg(long, value_delimiter = ',', default_value = "0,1000,10000")]
    pub long_turns: Vec<usize>,
    /// Items of the bench view's run, all but the last 400 resumed (0 skips it).
    #[arg(long, default_value_t = 50_000)]
    pub bench_items: usize,
    /// Fine-tune runs kept in the data dir when the jobs window opens (0 skips it).
    #[arg(long, default_value_t = 200)]
    pub jobs_runs: usize,
    /// Stored sessions the sessions browser is opened over and filtered (0 skips it).
    #[arg(long, default_value_t = 5000)]
    pub browser_sessions: usize,
    #[arg(long)]
    pub json: bool,
}
