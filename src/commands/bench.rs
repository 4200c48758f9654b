//! `radiochat bench tasks|score`: the benchmark tasks and metrics recomputed from a
//! predictions file alone.

use super::{CommandError, CommandResult};
use crate::bench::{self, ParseMode, Score, TaskSpec};
use std::path::Path;

pub fn tasks(tasks_dir: Option<&Path>) -> CommandResult<Vec<TaskSpec>> {
    Ok(bench::load_tasks(tasks_dir)?)
}

/// `bench import mmbench TSV --out DIR`.
pub fn import_mmbench(tsv: &Path, out: &Path) -> CommandResult<bench::import::Imported> {
    Ok(bench::import::mmbench(tsv, out)?)
}

/// `bench import scienceqa PROBLEMS.json [--images DIR] [--split S] --out DIR`.
pub fn import_scienceqa(
    problems: &Path,
    images: Option<&Path>,
    split: Option<&str>,
    out: &Path,
) -> CommandResult<bench::import::Imported> {
    let beside = problems.parent().unwrap_or(Path::new(".")).join("images");
    let images = images.map_or(beside, Path::to_path_buf);
    Ok(bench::import::scienceqa(problems, &images, split, out)?)
}

/// Metrics of `predictions` for `task`; warnings (a torn last line) go to `warn`.
pub fn score(
    predictions: &Path,
    task: &str,
    mode: ParseMode,
    tasks_dir: Option<&Path>,
    warn: &mut dyn FnMut(&str),
) -> CommandResult<Score> {
    let tasks = tasks(tasks_dir)?;
    let task = bench::find_task(&tasks, task)?;
    let (records, warnings) = bench::predictions::read(predictions)?;
    warnings.iter().for_each(|w| warn(w));
    if records.is_empty() {
        return Err(CommandError::bad(format!(
            "{}: no predictions to score",
            predictions.display()
        )));
    }
    Ok(bench::score(&task, &records, mode))
}

/// The score as a terminal table.
pub fn score_lines(score: &Score) -> Vec<String> {
    let m = &score.metrics;
    let mut lines = vec![format!(
        "{}: {} items, {} errors, {} invalid ({:.1} %, {} parser; strict {}, lenient {})",
        score.task,
        score.items,
        score.errors,
        score.invalid,
        score.invalid_rate * 100.0,
        match score.parse {
            ParseMode::Strict => "strict",
            ParseMode::Lenient => "lenient",
        },
        score.invalid_strict,
        score.invalid_lenient
    )];
    if score.localisation.is_some() {
        lines.push(crate::bench::box_task::PRESENCE_NOTE.to_string());
    }
    lines.push(format!(
        "{:<22} {:>10} {:>16}",
        "metric", "valid only", "invalid = wrong"
    ));
    for (name, a, b) in score.headline() {
        lines.push(format!("{name:<22} {a:>10.4} {b:>16.4}"));
    }
    if let (Some(loss), Some(hs)) = (m.hamming_loss, m.hamming_score) {
        lines.push(format!("{:<22} {loss:>10.4}", "hamming loss"));
        lines.push(format!("{:<22} {hs:>10.4}", "hamming score"));
    }
    lines.push(String::new());
    lines.push(format!(
        "{:<16} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "f1", "support"
    ));
    for c in &m.per_class {
        lines.push(format!(
            "{:<16} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            c.label, c.precision, c.recall, c.f1, c.support
        ));
    }
    if let Some(boxes) = &score.localisation {
        lines.push(String::new());
        lines.push(format!(
            "boxes matched at IoU ≥ {} (invalid answers left out, but in the last row)",
            crate::bench::localisation::IOU_THRESHOLD,
        ));
        lines.extend(crate::util::text::table(&boxes.table(4), false));
    }
    if let Some(ids) = &score.radio_llava {
        let auc = ids
            .roc_auc_micro
            .map(|auc| format!(", ROC AUC (micro) {auc:.4}"))
            .unwrap_or_default();
        lines.push(format!(
            "radio-llava's report over all {} classes: F1 macro {:.4}, weighted {:.4}{auc}",
            ids.labels.len(),
            ids.f1_macro,
            ids.f1_weighted
        ));
    }
    lines
}

/// One run of a comparison: its directory, what it ran, its score.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComparedRun {
    pub dir: std::path::PathBuf,
    pub info: crate::bench::run_dir::RunInfo,
    pub score: Score,
}

/// Read finished runs for `bench compare`.
pub fn compare(dirs: &[std::path::PathBuf]) -> CommandResult<Vec<ComparedRun>> {
    if dirs.is_empty() {
        return Err(CommandError::bad(
            "bench compare needs at least one run directory",
        ));
    }
    dirs.iter()
        .map(|dir| {
            let info = crate::bench::run_dir::read_info(dir)?;
            let path = dir.join("metrics.json");
            let text = std::fs::read_to_string(&path).map_err(|_| {
                CommandError::bad(format!(
                    "{}: no metrics.json (unfinished run: bench run --resume {})",
                    dir.display(),
                    dir.display()
                ))
            })?;
            let score = serde_json::from_str(&text)
                .map_err(|e| CommandError::bad(format!("{}: {e}", path.display())))?;
            Ok(ComparedRun {
                dir: dir.clone(),
                info,
                score,
            })
        })
        .collect()
}

/// Side by side: one column per run, each metric with its change against the first run.
pub fn compare_lines(runs: &[ComparedRun], markdown: bool) -> Vec<String> {
    let by_model = |r: &ComparedRun| {
        let model = r.info.model.rsplit('/').next().unwrap_or(&r.info.model);
        format!("{} {model} {}", r.info.task, r.info.prompt)
    };
    // Two models of one name (`base/model`, `run/model`) are told apart by their runs' names.
    let distinct: std::collections::HashSet<String> = runs.iter().map(by_model).collect();
    let name = |r: &ComparedRun| match r.dir.file_name() {
        Some(dir) if distinct.len() < runs.len() => {
            format!("{} {}", dir.to_string_lossy(), r.info.prompt)
        }
        _ => by_model(r),
    };
    let mut rows: Vec<Vec<String>> = vec![
        std::iter::once("metric".to_string())
            .chain(runs.iter().map(name))
            .collect(),
    ];
    let mut add = |label: &str, value: &dyn Fn(&Score) -> f64| {
        let base = value(&runs[0].score);
        let mut row = vec![label.to_string()];
        for (i, run) in runs.iter().enumerate() {
            let v = value(&run.score);
            row.push(if i == 0 {
                format!("{v:.4}")
            } else {
                format!("{v:.4} ({:+.4})", v - base)
            });
        }
        rows.push(row);
    };
    for i in 0..6 {
        let label = runs[0].score.headline()[i].0;
        add(label, &move |s: &Score| s.headline()[i].1);
    }
    add("invalid rate", &|s: &Score| s.invalid_rate);
    if runs[0].score.localisation.is_some() {
        let overall = |s: &Score| {
            s.localisation
                .as_ref()
                .map(|l| l.valid_only.overall.clone())
        };
        add("box F1", &|s: &Score| overall(s).map_or(0.0, |d| d.f1));
        add("box mean IoU", &|s: &Score| {
            overall(s).map_or(0.0, |d| d.mean_iou)
        });
    }
    if runs[0].score.metrics.hamming_score.is_some() {
        add("hamming score", &|s: &Score| {
            s.metrics.hamming_score.unwrap_or(0.0)
        });
        add("hamming loss", &|s: &Score| {
            s.metrics.hamming_loss.unwrap_or(0.0)
        });
    }
    crate::util::text::table(&rows, markdown)
}
