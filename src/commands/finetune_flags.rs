//! The flags of `radiochat finetune run` and `/finetune`, checked into a launch's arguments.

use super::{CommandError, CommandResult};
use crate::finetune::spec::{Launcher, SlurmOptions, Stage, TOWER_STAGE_FLAGS, TrainOptions};
use std::path::PathBuf;

/// What a fine-tune launch is asked for: the flags of `radiochat finetune run` and `/finetune`.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct LaunchFlags {
    /// Base model directory (Hugging Face layout).
    #[arg(long)]
    pub base: PathBuf,
    /// Training data directory (from `finetune data`).
    #[arg(long)]
    pub data: PathBuf,
    /// Run directory (default: DATA_DIR/finetune/TIME).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// language (the language model and projector: LoRA, or whole with --full) or tower (a
    /// LLaVA-OneVision vision tower alone, as a classifier on the data's closed questions: the
    /// pretraining a tower built from random weights lacks; takes --epochs, --lr, --batch-size,
    /// --seed, --log-every, --threads).
    #[arg(long, default_value = "language")]
    pub stage: String,
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
    /// The vision tower's own learning rate, with --full --modules-to-save vision_tower
    /// (LLaVA-OneVision's mm_vision_tower_lr; default: --lr).
    #[arg(long)]
    pub vision_lr: Option<f64>,
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
    /// Modules trained whole beside the LoRA, comma-separated (e.g. lm_head); with --full, the
    /// frozen towers named (vision_tower) are trained too.
    #[arg(long, value_delimiter = ',')]
    pub modules_to_save: Vec<String>,
    /// Metrics line every N steps.
    #[arg(long)]
    pub log_every: Option<usize>,
    /// CPU threads for training (default: every core; 1 with --deterministic).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// The same trained weights on every x86 CPU, Intel or AMD, for a fixed --threads
    /// (CPU-independent kernels: slower).
    #[arg(long)]
    pub deterministic: bool,
    /// MiB of encoded examples (pixels and tokens) kept in memory between epochs; past it an
    /// example is encoded again each time it is drawn (default: 2048).
    #[arg(long)]
    pub cache_mb: Option<usize>,
    /// local (a detached process) or slurm (sbatch).
    #[arg(long, default_value = "local")]
    pub launcher: String,
    #[command(flatten)]
    pub slurm: SlurmOptions,
    /// Python with the trainer's packages (default: $RADIOCHAT_PY_VENV/bin/python, else python3).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

impl LaunchFlags {
    pub fn into_args(self) -> CommandResult<FinetuneRunArgs> {
        let train = TrainOptions {
            stage: self.stage.parse().map_err(CommandError::bad)?,
            preset: self.preset,
            full: self.full,
            lora_rank: self.lora_rank,
            lora_alpha: self.lora_alpha,
            lora_dropout: self.lora_dropout,
            lr: self.lr,
            vision_lr: self.vision_lr,
            epochs: self.epochs,
            max_steps: self.max_steps,
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            warmup_ratio: self.warmup_ratio,
            scheduler: self.scheduler,
            min_lr_rate: self.min_lr_rate,
            seed: self.seed,
            modules_to_save: self.modules_to_save,
            log_every: self.log_every,
            threads: self.threads.map(usize::from),
            deterministic: self.deterministic,
            cache_mb: self.cache_mb,
        };
        check_train_options(&train)?;
        Ok(FinetuneRunArgs {
            base: self.base,
            data: self.data,
            out: self.out,
            train,
            launcher: self.launcher.parse().map_err(CommandError::bad)?,
            slurm: self.slurm,
            python: self.python,
        })
    }
}

fn check_train_options(train: &TrainOptions) -> CommandResult<()> {
    let unused = match train.stage {
        Stage::Tower => train.not_for_the_tower(),
        Stage::Language => Vec::new(),
    };
    if !unused.is_empty() {
        return Err(CommandError::bad(format!(
            "--stage tower trains the vision tower alone: {} not for it (it takes {TOWER_STAGE_FLAGS})",
            match unused.as_slice() {
                [one] => format!("{one} is"),
                many => format!("{} are", many.join(", ")),
            }
        )));
    }
    if let Some(rate) = train.vision_lr {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(CommandError::bad(format!(
                "--vision-lr {rate}: a learning rate is a positive number"
            )));
        }
        if train.modules_to_save.is_empty() {
            return Err(CommandError::bad(
                "--vision-lr sets the rate of a vision tower trained whole: name the tower \
                 in --modules-to-save (with --full, e.g. vision_tower)",
            ));
        }
    }
    Ok(())
}

/// A launch checked: what `finetune run` starts.
pub struct FinetuneRunArgs {
    pub base: PathBuf,
    pub data: PathBuf,
    pub out: Option<PathBuf>,
    pub train: TrainOptions,
    pub launcher: Launcher,
    pub slurm: SlurmOptions,
    pub python: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        flags: LaunchFlags,
    }

    fn refusal(extra: &[&str]) -> Option<String> {
        let args = ["finetune", "--base", "b", "--data", "d"];
        let cli = Cli::try_parse_from(args.iter().chain(extra)).unwrap();
        cli.flags.into_args().err().map(|e| e.to_string())
    }

    #[test]
    fn the_tower_stage_takes_its_own_flags_and_names_the_others() {
        let tower = [
            "--stage",
            "tower",
            "--epochs",
            "8",
            "--lr",
            "1e-3",
            "--batch-size",
            "16",
        ];
        assert_eq!(refusal(&tower), None);
        assert_eq!(
            refusal(&["--stage", "tower", "--full"]).as_deref(),
            Some(
                "--stage tower trains the vision tower alone: --full is not for it (it takes \
                 --epochs, --lr, --batch-size, --seed, --log-every, --threads)"
            )
        );
        let many = refusal(&["--stage", "tower", "--lora-rank", "8", "--max-steps", "9"]);
        assert!(
            many.as_deref()
                .unwrap_or_default()
                .contains("--lora-rank, --max-steps are not"),
            "{many:?}"
        );
        assert_eq!(
            refusal(&["--stage", "vision"]).as_deref(),
            Some("unknown --stage 'vision'; expected language or tower")
        );
        assert_eq!(refusal(&["--full", "--max-steps", "9"]), None);
    }
}
