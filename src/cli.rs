//! The command line: every subcommand and flag, parsed by clap.

pub use crate::cli_finetune::*;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "radiochat",
    version,
    about = "Talk to a vision-language model about radio astronomy images"
)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/radiochat/config.toml, or $RADIOCHAT_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where session journals live (default: $XDG_DATA_HOME/radiochat/sessions).
    #[arg(long, global = true, value_name = "DIR")]
    pub sessions_dir: Option<PathBuf>,
    /// Reopen a session: the most recent one, or the one with this id or name.
    #[arg(long, value_name = "ID|NAME", num_args = 0..=1, default_missing_value = "")]
    pub resume: Option<String>,
    /// Chat with the offline demo model (random weights: proves the path, answers noise).
    #[arg(long)]
    pub demo: bool,
    /// Images in the chat: auto (from $TERM & co; half blocks inside tmux), kitty, sixel, iterm
    /// or halfblocks.
    #[arg(long, default_value = "auto")]
    pub graphics: String,
    #[command(flatten)]
    pub model: ModelFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Ask one question about one or more images; the answer streams to stdout.
    Ask(AskCli),
    /// Serve the model over the OpenAI API (/v1/chat/completions, /v1/models) to many clients.
    Serve(ServeCli),
    /// Model directories: write a tiny test model, check a directory, list architectures.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Show the merged configuration and where each value came from.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Measure load time, time to first token, prefill and decode speed (a benchmark).
    BenchEngine(BenchCli),
    /// Time FITS read + radio-llava transform on one file (a benchmark).
    BenchImaging(BenchImagingCli),
    /// Time `radiochat serve` against the engine called directly: N streaming clients.
    BenchServe(BenchServeCli),
    /// The engine against Hugging Face transformers on the same model, and the decode roofline.
    BenchPeer(BenchPeerCli),
    /// Time `radiochat ask` end to end on a FITS cutout, split into stages (read, transform,
    /// load, first token, decode), each run a new process.
    BenchAsk(BenchAskCli),
    /// Time the chat in a real terminal (tmux): first frame, key-to-frame latency, idle CPU.
    BenchTui(BenchTuiCli),
    /// Time the benchmark runner: harness overhead and throughput at several concurrencies.
    BenchHarness {
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
    /// Time the tiny fine-tune: start-up to the first metrics line, samples/s (a benchmark).
    BenchFinetune {
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
    /// Show an image in the terminal as the model sees it; --png writes the model input.
    View(ViewCli),
    /// Print a FITS header summary (shape, BITPIX, units, axes, beam, frequency, centre).
    Info(InfoCli),
    /// Write a synthetic labelled sky: FITS cutouts and a radio-llava dataset JSON.
    Synth(SynthCli),
    /// Stored chat sessions: list, show, search, export, rename, delete.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// The radio benchmarks B1–B7: tasks, prompts, runs, scoring.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Fine-tuning: build the training set.
    #[command(subcommand)]
    Finetune(FinetuneCommand),
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Run a benchmark task over a dataset (new, or --resume DIR).
    Run(Box<BenchRunCli>),
    /// Combine the finished shards of a sharded run (RUNDIR/shard-I-of-K) into RUNDIR.
    Merge {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Side-by-side main metrics of finished runs, with changes against the first.
    Compare {
        #[arg(required = true, num_args = 1..)]
        runs: Vec<PathBuf>,
        /// A Markdown table.
        #[arg(long)]
        md: bool,
    },
    /// What an item of a run sends: system prompt, turns, images.
    Prompt {
        #[command(flatten)]
        flags: radiochat::commands::bench_prompt::PromptFlags,
        /// {"task", "prompt", "system", "text", "messages"}.
        #[arg(long)]
        json: bool,
    },
    /// The benchmark tasks (built in, plus --tasks-dir).
    Tasks {
        #[arg(long, value_name = "DIR")]
        tasks_dir: Option<PathBuf>,
    },
    /// Recompute metrics from a predictions.jsonl file alone.
    Score {
        predictions: PathBuf,
        /// Task id (B1…B7) or key.
        #[arg(long)]
        task: String,
        /// strict (radio-llava's rule, default) or lenient.
        #[arg(long, default_value = "strict")]
        parse: String,
        #[arg(long, value_name = "DIR")]
        tasks_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Every session, most recent first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print a session's conversation.
    Show { session: String },
    /// Sessions whose title or messages contain TEXT.
    Search {
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Write a transcript: Markdown (with PNG thumbnails beside it) or JSON.
    Export {
        session: String,
        /// md or json.
        #[arg(long, default_value = "md")]
        format: String,
        /// Output file (default: ID.md or ID.json here).
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
    },
    /// Give a session a new name.
    Rename {
        session: String,
        #[arg(required = true, num_args = 1..)]
        name: Vec<String>,
    },
    /// Delete a session (not while a radiochat has it open).
    Delete { session: String },
}

#[derive(Args)]
pub struct SynthCli {
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cutout side in pixels (2″ pixels, 8″ beam).
    #[arg(long, default_value_t = 132)]
    pub size: usize,
    /// radioimg (tags), rgz (1C-1P … 3C-3P), mirabest (FR-I / FR-II) or gmnist (Galaxy
    /// MNIST's four optical classes, colour PNGs).
    #[arg(long, default_value = "radioimg")]
    pub kind: String,
    /// radioimg: probabilities of the ingredients, e.g. `radio-galaxy=0.5,extended=0`
    /// (radio-galaxy, extended, diffuse, diffuse-large, artefact, peculiar, border).
    #[arg(long, value_name = "NAME=P,…", default_value = "")]
    pub balance: String,
}

#[derive(Args, Clone)]
pub struct FitsFlags {
    /// HDU to read: index (0 = primary) or EXTNAME; default: the first HDU with an image.
    #[arg(long)]
    pub hdu: Option<String>,
    /// Plane of a cube: indices along axes 3, 4, … (e.g. `0,0` = first FREQ, first STOKES).
    #[arg(long, value_name = "I,J")]
    pub plane: Option<String>,
    /// Largest plane read at full resolution, in megapixels; larger ones are read with a stride.
    #[arg(long, default_value_t = 64)]
    pub max_mpix: usize,
}

/// How an image becomes model input (radio-llava's transform); defaults from `[image]`.
#[derive(Args, Clone)]
pub struct ImageFlags {
    /// Skip the zscale step (min–max only).
    #[arg(long)]
    pub no_zscale: bool,
    /// zscale contrast (radio-llava uses 0.25).
    #[arg(long)]
    pub contrast: Option<f64>,
    /// Resize the stretched image to N×N (bicubic) before the min–max step.
    #[arg(long, value_name = "N")]
    pub resize: Option<usize>,
    /// With --resize: zero-pad to a square first, keeping the aspect ratio.
    #[arg(long)]
    pub square: bool,
}

#[derive(Args)]
pub struct ViewCli {
    pub file: PathBuf,
    #[command(flatten)]
    pub fits: FitsFlags,
    /// radio-llava (the model input), zscale, minmax, percentile, asinh, sqrt, log, sigma-clip.
    #[arg(long, default_value = "radio-llava")]
    pub stretch: String,
    #[command(flatten)]
    pub image: ImageFlags,
    /// Write exactly the RGB image the model receives to this PNG.
    #[arg(long, value_name = "OUT.png")]
    pub png: Option<PathBuf>,
    /// Print the header only.
    #[arg(long)]
    pub no_preview: bool,
    /// auto (from $TERM & co; half blocks inside tmux), kitty, sixel, iterm, halfblocks or none.
    #[arg(long, default_value = "auto")]
    pub graphics: String,
    /// Preview width in terminal columns (default: up to 64, within the terminal).
    #[arg(long, value_name = "COLS")]
    pub width: Option<u32>,
}

#[derive(Args)]
pub struct BenchRunCli {
    #[command(flatten)]
    pub run: radiochat::commands::bench_run::RunFlags,
    /// Use the offline demo model.
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub model: ModelFlags,
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Print the final score as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BenchTuiCli {
    /// Starts timed for the first frame.
    #[arg(long, default_value_t = 5)]
    pub starts: usize,
    /// Keys timed while answers stream (and up to 50 while idle).
    #[arg(long, default_value_t = 150)]
    pub keys: usize,
    /// Seconds of idle CPU measured.
    #[arg(long, default_value_t = 5.0)]
    pub idle_seconds: f64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BenchImagingCli {
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
pub struct InfoCli {
    pub file: PathBuf,
    #[command(flatten)]
    pub fits: FitsFlags,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Clone, Default)]
pub struct ModelFlags {
    /// Model directory, or hf:OWNER/NAME for a Hugging Face hub id.
    #[arg(long, short = 'm')]
    pub model: Option<String>,
    /// cpu or cuda.
    #[arg(long)]
    pub device: Option<String>,
    /// auto, f32, f16 or bf16.
    #[arg(long)]
    pub dtype: Option<String>,
    /// In-situ quantization: q4_0, q4_1, q5_0, q5_1, q8_0, q8_1, q2k … q8k, hqq4, hqq8, fp8.
    #[arg(long)]
    pub isq: Option<String>,
    /// Conversations whose prefill the engine keeps for a request that starts the same way
    /// (a follow-up question, shared few-shot examples); 0 turns the prefix cache off.
    #[arg(long, value_name = "N")]
    pub prefix_cache: Option<usize>,
    /// An OpenAI-compatible server instead of the embedded engine, e.g. http://gpu07:8000/v1.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// The server's model (default: the first it lists).
    #[arg(long, value_name = "NAME")]
    pub remote_model: Option<String>,
    /// The environment variable holding the server's API key.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Seconds to wait for an answer to start, and between two pieces of it [default: 120].
    #[arg(long, value_name = "SECS")]
    pub remote_timeout: Option<f64>,
}

#[derive(Args)]
pub struct ServeCli {
    #[command(flatten)]
    pub model: ModelFlags,
    #[command(flatten)]
    pub serve: radiochat::commands::serve::ServeFlags,
    /// Serve the offline demo model.
    #[arg(long)]
    pub demo: bool,
    /// Default max_tokens of a request that sets none.
    #[arg(long)]
    pub max_tokens: Option<usize>,
}

#[derive(Args)]
pub struct AskCli {
    #[command(flatten)]
    pub model: ModelFlags,
    /// Image to ask about (FITS, PNG, JPEG, …); repeat for several.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub image: Vec<PathBuf>,
    #[command(flatten)]
    pub fits: FitsFlags,
    #[command(flatten)]
    pub transform: ImageFlags,
    /// System prompt.
    #[arg(long)]
    pub system: Option<String>,
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// 0 (the default) decodes greedily.
    #[arg(long)]
    pub temperature: Option<f64>,
    #[arg(long)]
    pub top_p: Option<f64>,
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Keep generating past the end-of-sequence token, up to --max-tokens.
    #[arg(long)]
    pub ignore_eos: bool,
    /// Use the offline demo model (written on first use) and a built-in cutout.
    #[arg(long)]
    pub demo: bool,
    /// Print one JSON object {answer, model, usage, finish_reason} instead of streaming.
    #[arg(long)]
    pub json: bool,
    /// The question (several words are joined with spaces).
    #[arg(required = true, num_args = 1..)]
    pub question: Vec<String>,
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Write a random-weight model directory in the exact Hugging Face layout.
    Tiny {
        #[arg(long, default_value = "idefics3")]
        arch: String,
        /// tiny (seconds to load), real (the family's smallest real checkpoint's dimensions) or
        /// 7b (llava_onevision at llava-onevision-qwen2-7b-ov's, bf16 in 5 GB shards).
        #[arg(long, default_value = "tiny")]
        dims: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Replace OUT_DIR if it exists.
        #[arg(long)]
        force: bool,
        out_dir: PathBuf,
    },
    /// Check a model directory the way the engine will need it.
    Check { dir: PathBuf },
    /// List the architectures the embedded engine serves.
    Archs,
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Print every setting, its value and where it came from.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Print the config file path.
    Path,
}

#[derive(Args)]
pub struct BenchPeerCli {
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
pub struct BenchAskCli {
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
pub struct BenchServeCli {
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
pub struct BenchCli {
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
