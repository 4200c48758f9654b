//! The `radiochat finetune …` subcommands and their flags (clap).

use crate::cli::ImageFlags;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum FinetuneCommand {
    /// LLaVA conversation JSON (train.json, val.json, images/) from labelled radio-llava datasets.
    Data(FinetuneDataCli),
    /// Launch a LoRA (or full) fine-tune, locally (detached) or on SLURM.
    Run(Box<FinetuneRunCli>),
    /// State, progress, loss and ETA of a run (all runs without RUN).
    Status {
        run: Option<PathBuf>,
        /// Log lines shown for a failed job.
        #[arg(long, default_value_t = 10)]
        lines: usize,
        #[arg(long)]
        json: bool,
    },
    /// The end of a run's log.
    Logs {
        run: PathBuf,
        #[arg(long, short = 'n', default_value_t = 40)]
        lines: usize,
    },
    /// Stop a running job (its process group, or scancel).
    Cancel { run: PathBuf },
    /// Benchmark the run's base and fine-tuned model (merged if needed) side by side.
    Eval {
        run: PathBuf,
        /// Benchmark tasks, comma-separated (B1…B6).
        #[arg(long, value_delimiter = ',', required = true)]
        bench: Vec<String>,
        /// radio-llava dataset JSON (held out from training).
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        #[arg(long)]
        max_tokens: Option<usize>,
        /// Markdown tables.
        #[arg(long)]
        md: bool,
        #[arg(long)]
        json: bool,
    },
    /// Merge a LoRA adapter into its base model's weights (a directory the engine loads).
    Merge {
        /// A fine-tune run directory (its adapter/), or a PEFT adapter directory.
        run: PathBuf,
        /// The base model directory (default: the one the adapter names).
        #[arg(long)]
        base: Option<PathBuf>,
        /// Where the merged model goes (default: RUN/merged, or ADAPTER-merged).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct FinetuneRunCli {
    /// Base model directory (Hugging Face layout).
    #[arg(long)]
    pub base: PathBuf,
    /// Training data directory (from `finetune data`).
    #[arg(long)]
    pub data: PathBuf,
    /// Run directory (default: DATA_DIR/finetune/TIME).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// v1…v6 (trainer/presets.toml); flags override it.
    #[arg(long)]
    pub preset: Option<String>,
    /// Train the language model and projector whole instead of a LoRA.
    #[arg(long)]
    pub full: bool,
    #[arg(long)]
    pub lora_rank: Option<usize>,
    #[arg(long)]
    pub lora_alpha: Option<f64>,
    #[arg(long)]
    pub lora_dropout: Option<f64>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop after N optimizer steps (overrides epochs).
    #[arg(long)]
    pub max_steps: Option<usize>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub grad_accum: Option<usize>,
    #[arg(long)]
    pub warmup_ratio: Option<f64>,
    /// linear, cosine, cosine_with_min_lr, constant, constant_with_warmup.
    #[arg(long)]
    pub scheduler: Option<String>,
    #[arg(long)]
    pub min_lr_rate: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Modules trained whole beside the LoRA, comma-separated (e.g. lm_head).
    #[arg(long, value_delimiter = ',')]
    pub modules_to_save: Vec<String>,
    /// Metrics line every N steps.
    #[arg(long)]
    pub log_every: Option<usize>,
    /// local (a detached process) or slurm (sbatch).
    #[arg(long, default_value = "local")]
    pub launcher: String,
    #[arg(long)]
    pub partition: Option<String>,
    #[arg(long)]
    pub gpus: Option<usize>,
    #[arg(long)]
    pub cpus: Option<usize>,
    #[arg(long)]
    pub mem: Option<String>,
    /// Wall-time limit, HH:MM(:SS).
    #[arg(long)]
    pub time: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long)]
    pub qos: Option<String>,
    /// Python with the trainer's packages (default: $RADIOCHAT_PY_VENV/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct FinetuneDataCli {
    /// Labelled radio-llava dataset JSON (repeat for several).
    #[arg(long, required = true, value_name = "DATASET.json")]
    pub from: Vec<PathBuf>,
    /// Output directory (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Questions to ask: benchmark ids (B1,B3,…), question ids (border, …) or all.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub tasks: Vec<String>,
    /// Add the rule-based description turn.
    #[arg(long)]
    pub describe: bool,
    /// Fraction of images for validation.
    #[arg(long, default_value_t = 0.1)]
    pub val: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Benchmark dataset whose images are left out (repeat for several).
    #[arg(long, value_name = "DATASET.json")]
    pub exclude: Vec<PathBuf>,
    #[command(flatten)]
    pub image: ImageFlags,
    #[arg(long)]
    pub json: bool,
}
