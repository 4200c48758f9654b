//! A fine-tune run's spec (`spec.toml` in its directory): what to train, on what, how, and
//! where it runs; and the trainer command line it becomes.

use crate::util::error::BadValue;
use crate::util::error::FileError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SPEC_FILE: &str = "spec.toml";

/// What a run trains: the language model and projector (LoRA or whole: `train_lora.py`), or,
/// before that, a LLaVA-OneVision vision tower alone as a classifier on the data's closed
/// questions (`pretrain_tower.py`), for a base whose tower is not pretrained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    #[default]
    Language,
    Tower,
}

impl Stage {
    /// The trainer script the stage runs, in the run's `trainer/`.
    pub fn trainer_file(self) -> &'static str {
        match self {
            Stage::Language => "train_lora.py",
            Stage::Tower => "pretrain_tower.py",
        }
    }
}

impl std::str::FromStr for Stage {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "language" => Ok(Stage::Language),
            "tower" => Ok(Stage::Tower),
            other => Err(BadValue::unknown("--stage", other, "language or tower")),
        }
    }
}

/// Trainer settings; `None` leaves the preset's (or the trainer's default) value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    #[serde(default)]
    pub stage: Stage,
    pub preset: Option<String>,
    pub full: bool,
    pub lora_rank: Option<usize>,
    pub lora_alpha: Option<f64>,
    pub lora_dropout: Option<f64>,
    pub lr: Option<f64>,
    /// The vision tower's learning rate when `--full` trains it (default: `lr`).
    #[serde(default)]
    pub vision_lr: Option<f64>,
    pub epochs: Option<usize>,
    pub max_steps: Option<usize>,
    pub batch_size: Option<usize>,
    pub grad_accum: Option<usize>,
    pub warmup_ratio: Option<f64>,
    pub scheduler: Option<String>,
    pub min_lr_rate: Option<f64>,
    pub seed: Option<u64>,
    /// Modules trained whole beside the LoRA (e.g. `lm_head`).
    #[serde(default)]
    pub modules_to_save: Vec<String>,
    pub log_every: Option<usize>,
    /// CPU threads torch uses (default: every core; 1 when deterministic).
    #[serde(default)]
    pub threads: Option<usize>,
    /// The same numbers on every x86 CPU for a fixed thread count (train_lora.py's
    /// `--deterministic`: CPU-independent MKL and ATen kernels, deterministic algorithms).
    #[serde(default)]
    pub deterministic: bool,
    /// MiB of encoded examples the trainer keeps in memory (train_lora.py's default: 2048).
    #[serde(default)]
    pub cache_mb: Option<usize>,
}

/// The flags `pretrain_tower.py` takes (beside --base, --data and --out).
pub const TOWER_STAGE_FLAGS: &str = "--epochs, --lr, --batch-size, --seed, --log-every, --threads";

impl TrainOptions {
    /// The flags given that the tower stage has no use for (it takes `TOWER_STAGE_FLAGS`).
    pub fn not_for_the_tower(&self) -> Vec<&'static str> {
        [
            ("--preset", self.preset.is_some()),
            ("--full", self.full),
            ("--lora-rank", self.lora_rank.is_some()),
            ("--lora-alpha", self.lora_alpha.is_some()),
            ("--lora-dropout", self.lora_dropout.is_some()),
            ("--vision-lr", self.vision_lr.is_some()),
            ("--max-steps", self.max_steps.is_some()),
            ("--grad-accum", self.grad_accum.is_some()),
            ("--warmup-ratio", self.warmup_ratio.is_some()),
            ("--scheduler", self.scheduler.is_some()),
            ("--min-lr-rate", self.min_lr_rate.is_some()),
            ("--modules-to-save", !self.modules_to_save.is_empty()),
            ("--deterministic", self.deterministic),
            ("--cache-mb", self.cache_mb.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

pub use crate::slurm::{SlurmOptions, shell_quote};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Launcher {
    Local,
    Slurm,
}

impl std::str::FromStr for Launcher {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "local" => Ok(Launcher::Local),
            "slurm" => Ok(Launcher::Slurm),
            other => Err(BadValue::unknown("--launcher", other, "local or slurm")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub base: PathBuf,
    /// sha256 of the base's config and weights (written beside the adapter).
    pub base_sha256: String,
    pub data: PathBuf,
    pub launcher: Launcher,
    pub python: PathBuf,
    pub trainer: PathBuf,
    pub train: TrainOptions,
    #[serde(default)]
    pub slurm: SlurmOptions,
    pub created: String,
    pub radiochat_version: String,
}

impl RunSpec {
    /// The trainer's arguments (after the interpreter), for a run in `dir`.
    pub fn trainer_args(&self, dir: &Path) -> Vec<String> {
        let mut args = vec![
            self.trainer.display().to_string(),
            "--base".into(),
            self.base.display().to_string(),
            "--data".into(),
            self.data.display().to_string(),
            "--out".into(),
            dir.display().to_string(),
            "--base-sha256".into(),
            self.base_sha256.clone(),
        ];
        let t = &self.train;
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                args.push(format!("--{name}"));
                args.push(value);
            }
        };
        flag("preset", t.preset.clone());
        flag("lora-rank", t.lora_rank.map(|v| v.to_string()));
        flag("lora-alpha", t.lora_alpha.map(|v| v.to_string()));
        flag("lora-dropout", t.lora_dropout.map(|v| v.to_string()));
        flag("lr", t.lr.map(|v| v.to_string()));
        flag("vision-lr", t.vision_lr.map(|v| v.to_string()));
        flag("epochs", t.epochs.map(|v| v.to_string()));
        flag("max-steps", t.max_steps.map(|v| v.to_string()));
        flag("batch-size", t.batch_size.map(|v| v.to_string()));
        flag("grad-accum", t.grad_accum.map(|v| v.to_string()));
        flag("warmup-ratio", t.warmup_ratio.map(|v| v.to_string()));
        flag("scheduler", t.scheduler.clone());
        flag("min-lr-rate", t.min_lr_rate.map(|v| v.to_string()));
        flag("seed", t.seed.map(|v| v.to_string()));
        flag("log-every", t.log_every.map(|v| v.to_string()));
        flag("threads", t.threads.map(|v| v.to_string()));
        flag("cache-mb", t.cache_mb.map(|v| v.to_string()));
        flag(
            "modules-to-save",
            (!t.modules_to_save.is_empty()).then(|| t.modules_to_save.join(",")),
        );
        if t.full {
            args.push("--full".into());
        }
        if t.deterministic {
            args.push("--deterministic".into());
        }
        args
    }

    pub fn read(dir: &Path) -> Result<RunSpec, FileError> {
        let path = dir.join(SPEC_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            FileError::invalid(format!(
                "{}: {e} (not a fine-tune run directory?)",
                path.display()
            ))
        })?;
        toml::from_str(&text).map_err(FileError::unreadable(&path))
    }

    pub fn write(&self, dir: &Path) -> Result<(), FileError> {
        let path = dir.join(SPEC_FILE);
        let text = toml::to_string_pretty(self)
            .map_err(|e| FileError::io(&path)(std::io::Error::other(e)))?;
        crate::util::private_file::write_atomically(&path, text.as_bytes())
            .map_err(FileError::io(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_given_options_reach_the_trainer() {
        let spec = RunSpec {
            base: "/m".into(),
            base_sha256: "ab".into(),
            data: "/d".into(),
            launcher: Launcher::Local,
            python: "python3".into(),
            trainer: "/t/train_lora.py".into(),
            train: TrainOptions {
                preset: Some("v2".into()),
                lr: Some(0.001),
                vision_lr: Some(0.0003),
                full: true,
                modules_to_save: vec!["lm_head".into()],
                threads: Some(2),
                deterministic: true,
                cache_mb: Some(0),
                ..TrainOptions::default()
            },
            slurm: SlurmOptions::default(),
            created: "now".into(),
            radiochat_version: "0".into(),
        };
        let args = spec.trainer_args(Path::new("/run"));
        assert_eq!(
            args.join(" "),
            "/t/train_lora.py --base /m --data /d --out /run --base-sha256 ab --preset v2 --lr 0.001 --vision-lr 0.0003 --threads 2 --cache-mb 0 --modules-to-save lm_head --full --deterministic"
        );
        let dir = tempfile::tempdir().unwrap();
        spec.write(dir.path()).unwrap();
        assert_eq!(RunSpec::read(dir.path()).unwrap(), spec);
    }
}
