//! `radiochat bench tasks|score`: the benchmark tasks and metrics recomputed from a
//! predictions file alone.

use super::{CommandError, CommandResult};
use crate::bench::{self, ParseMode, Score, TaskSpec};
use std::path::Path;

pub fn tasks(tasks_dir: Option<&Path>) -> CommandResult<Vec<TaskSpec>> {
    bench::load_tasks(tasks_dir).map_err(CommandError::bad)
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
    let task = bench::find_task(&tasks, task).map_err(CommandError::bad)?;
    let (records, warnings) = bench::predictions::read(predictions).map_err(CommandError::bad)?;
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
    let mut lines = vec![
        format!(
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
        ),
        format!(
            "{:<22} {:>10} {:>16}",
            "metric", "valid only", "invalid = wrong"
        ),
    ];
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
    lines
}
