//! A run's directory: `run.json` (what was run), `predictions.jsonl` (one line per finished
//! item), and at the end `metrics.json`, `report.md` and `confusion.png`.

use super::metrics::Metrics;
use super::parse::ParseMode;
use super::score::Score;
use crate::util::error::FileError;
use crate::util::private_file::{write_atomically, write_json_atomically};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const RUN_FILE: &str = "run.json";
pub const PREDICTIONS_FILE: &str = "predictions.jsonl";
/// Held by the one process writing the run (see `util::lock`).
pub const LOCK_FILE: &str = "run.lock";

/// `run.json`: enough to resume the run and to know what the numbers mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub task: String,
    pub task_key: String,
    pub dataset: PathBuf,
    pub dataset_sha256: String,
    pub limit: Option<usize>,
    pub items: usize,
    pub prompt: String,
    pub add_options: bool,
    #[serde(default)]
    pub add_task_description: bool,
    /// Seed of the per-item option shuffle.
    #[serde(default)]
    pub shuffle_options: Option<u64>,
    /// Seed of the shuffle the few-shot examples are drawn from.
    #[serde(default)]
    pub shuffle_context: Option<u64>,
    pub shots: usize,
    pub context: Option<PathBuf>,
    pub retries: usize,
    #[serde(default)]
    pub retry: super::task::RetryStyle,
    pub concurrency: usize,
    pub parse: ParseMode,
    pub strict: bool,
    pub tasks_dir: Option<PathBuf>,
    pub model: String,
    pub engine: String,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<usize>,
    pub max_tokens: usize,
    /// mistral.rs 0.8.1 takes no sampling seed: runs are reproducible with greedy decoding
    /// (temperature 0, the default).
    pub seed: Option<u64>,
    pub system_prompt: Option<String>,
    pub radiochat_version: String,
    pub started: String,
    /// Set for one shard of a sharded run (`bench run --shard I/K`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::Shard>,
}

impl RunInfo {
    /// How the run puts its questions.
    pub fn prompt_choice(&self) -> super::prompt::PromptChoice {
        super::prompt::PromptChoice {
            version: self.prompt.clone(),
            add_task_description: self.add_task_description,
            add_options: self.add_options,
            shuffle_options: self.shuffle_options,
        }
    }
}

/// Check that `dir` may hold a new run: absent, or an empty directory.
pub fn check_new(dir: &Path) -> Result<(), FileError> {
    if dir.join(RUN_FILE).exists() {
        return Err(FileError::invalid(format!(
            "{}: already holds a run; continue it with --resume {}",
            dir.display(),
            dir.display()
        )));
    }
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(FileError::invalid(format!(
            "{}: exists and is not a run directory (no run.json); choose another --out",
            dir.display()
        ))),
        Ok(false) => Ok(()),
        Err(_) if dir.exists() => Err(FileError::invalid(format!(
            "{}: not a directory",
            dir.display()
        ))),
        Err(_) => crate::util::private_file::create_private_dir(dir).map_err(FileError::io(dir)),
    }
}

/// Take the run directory's lock, or say which process is writing it.
pub fn lock(dir: &Path) -> Result<crate::util::lock::HeldLock, FileError> {
    use crate::util::lock::{LockError, try_acquire};
    try_acquire(&dir.join(LOCK_FILE)).map_err(|e| match e {
        LockError::Held(_, holder) => FileError::invalid(format!(
            "{}: a run is writing this directory ({holder}); wait for it to end or stop it",
            dir.display()
        )),
        LockError::Io(path, error) => FileError::Io { path, error },
    })
}

pub fn write_info(dir: &Path, info: &RunInfo) -> Result<(), FileError> {
    write_json_atomically(&dir.join(RUN_FILE), info)
}

pub fn read_info(dir: &Path) -> Result<RunInfo, FileError> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        FileError::invalid(format!(
            "{}: not a run directory (no readable run.json)",
            dir.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(FileError::unreadable(&path))
}

/// `metrics.json`, `report.md`, `confusion.png`.
pub fn write_results(dir: &Path, info: &RunInfo, score: &Score) -> Result<(), FileError> {
    write_json_atomically(&dir.join("metrics.json"), score)?;
    let report_path = dir.join("report.md");
    write_atomically(&report_path, report(info, score).as_bytes())
        .map_err(FileError::io(&report_path))?;
    let png_path = dir.join("confusion.png");
    let picture = confusion_picture(&score.metrics).map_err(|e| FileError::io(&png_path)(e))?;
    crate::util::png::write(&png_path, &picture)
}

fn report(info: &RunInfo, score: &Score) -> String {
    let m = &score.metrics;
    let mut md = format!(
        "# {} ({}) on {}\n\n",
        info.task,
        info.task_key,
        info.dataset.display()
    );
    let _ = writeln!(
        md,
        "- model: {} ({}), prompt {}{}{}, {} shot(s), retries {} ({}), parser {:?}",
        info.model,
        info.engine,
        info.prompt,
        if info.add_options {
            ", options listed"
        } else {
            ""
        },
        if info.add_task_description {
            ", task description"
        } else {
            ""
        },
        info.shots,
        info.retries,
        info.retry.name(),
        score.parse
    );
    let _ = writeln!(
        md,
        "- {} items: {} errors, {} invalid ({:.1} %; strict {}, lenient {})",
        score.items,
        score.errors,
        score.invalid,
        score.invalid_rate * 100.0,
        score.invalid_strict,
        score.invalid_lenient
    );
    let _ = writeln!(
        md,
        "- dataset sha256 {}, radiochat {}\n",
        info.dataset_sha256, info.radiochat_version
    );
    if score.localisation.is_some() {
        let _ = writeln!(md, "Box task: {}.\n", super::box_task::PRESENCE_NOTE);
    }
    md.push_str("| metric | invalid excluded | invalid = wrong |\n|---|---|---|\n");
    for (name, a, b) in score.headline() {
        let _ = writeln!(md, "| {name} | {a:.4} | {b:.4} |");
    }
    if let (Some(l), Some(h)) = (m.hamming_loss, m.hamming_score) {
        let _ = writeln!(
            md,
            "| hamming loss | {l:.4} | |\n| hamming score | {h:.4} | |"
        );
    }
    md.push_str("\n| class | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
    for c in &m.per_class {
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.4} | {} |",
            c.label, c.precision, c.recall, c.f1, c.support
        );
    }
    if m.hamming_loss.is_none() && !m.labels.is_empty() {
        md.push_str("\nConfusion matrix (rows: truth, columns: prediction):\n\n| |");
        for l in &m.labels {
            let _ = write!(md, " {l} |");
        }
        md.push_str("\n|---|");
        md.push_str(&"---|".repeat(m.labels.len()));
        md.push('\n');
        for (l, row) in m.labels.iter().zip(&m.confusion_matrix[0]) {
            let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            let _ = writeln!(md, "| {l} | {} |", cells.join(" | "));
        }
    }
    if let Some(ids) = &score.radio_llava {
        radio_llava_section(&mut md, ids);
    }
    if let Some(boxes) = &score.localisation {
        localisation_section(&mut md, boxes);
    }
    md.push_str("\n![confusion matrix](confusion.png)\n");
    md
}

/// radio-llava's report: every class in class-id order, zero support included.
fn radio_llava_section(md: &mut String, ids: &super::metrics_class_id::ClassIdMetrics) {
    md.push_str(
        "\nAs radio-llava reports it (every class, in class-id order; invalid excluded):\n\n",
    );
    md.push_str(
        "| class | precision | recall | F1 | support | accuracy |\n|---|---|---|---|---|---|\n",
    );
    for (c, accuracy) in ids.per_class.iter().zip(&ids.accuracy_per_class) {
        let _ = writeln!(
            md,
            "| {} | {:.4} | {:.4} | {:.4} | {} | {accuracy:.4} |",
            c.label, c.precision, c.recall, c.f1, c.support
        );
    }
    let _ = writeln!(
        md,
        "| macro avg | {:.4} | {:.4} | {:.4} | | |\n| weighted avg | {:.4} | {:.4} | {:.4} | | |",
        ids.precision_macro,
        ids.recall_macro,
        ids.f1_macro,
        ids.precision_weighted,
        ids.recall_weighted,
        ids.f1_weighted
    );
    if let Some(auc) = ids.roc_auc_micro {
        let _ = writeln!(md, "\nROC AUC (micro, hard predictions): {auc:.4}");
    }
}

/// A box task's boxes: matched per class at IoU ≥ 0.5.
fn localisation_section(md: &mut String, boxes: &super::box_task::LocalisationScore) {
    let _ = writeln!(
        md,
        "\nBoxes matched to the truth at IoU ≥ {} (invalid answers left out, but in the last row, where they found nothing):\n",
        super::localisation::IOU_THRESHOLD,
    );
    for line in crate::util::text::table(&boxes.table(4), true) {
        let _ = writeln!(md, "{line}");
    }
}

/// The confusion matrix as a heat map with class names and counts (multi-label: one 2×2
/// matrix per class, NO/YES for that class).
fn confusion_picture(m: &Metrics) -> std::io::Result<image::RgbImage> {
    use crate::util::plot::{HeatMap, heat_maps};
    let yes_no = ["NO".to_string(), "YES".to_string()];
    let maps: Vec<HeatMap> = if m.confusion_matrix.len() == 1 {
        vec![HeatMap {
            title: "confusion matrix",
            labels: &m.labels,
            counts: &m.confusion_matrix[0],
        }]
    } else {
        m.labels
            .iter()
            .zip(&m.confusion_matrix)
            .map(|(label, counts)| HeatMap {
                title: label,
                labels: &yes_no,
                counts,
            })
            .collect()
    };
    heat_maps(&maps, 64).map_err(std::io::Error::other)
}
