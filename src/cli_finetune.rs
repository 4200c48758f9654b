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
        /// Benchmark tasks, comma-separated (B1…B7).
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
    #[command(flatten)]
    pub flags: radiochat::commands::finetune::LaunchFlags,
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
    /// One conversation per question (each with the image) instead of one per image.
    #[arg(long)]
    pub single_turn: bool,
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
