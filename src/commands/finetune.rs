//! `radiochat finetune …`: the training set now; launch, watch and merge come with the rest
//! of the fine-tune work.

use super::{CommandError, CommandResult};
use crate::finetune::data::{self, DataSpec, DataSummary};
use crate::finetune::merge::{self, Merged};
use std::path::{Path, PathBuf};

/// `finetune data`: build the LLaVA conversation set.
pub fn data(spec: &DataSpec) -> CommandResult<DataSummary> {
    data::build(spec).map_err(CommandError::bad)
}

/// What `finetune data` prints.
pub fn data_lines(spec: &DataSpec, summary: &DataSummary) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: {} training and {} validation conversations ({} images)",
        spec.out.display(),
        summary.train,
        summary.val,
        summary.train + summary.val
    )];
    let turns: Vec<String> = summary
        .turns
        .iter()
        .map(|(q, n)| format!("{q} {n}"))
        .collect();
    lines.push(format!("turns per question: {}", turns.join(", ")));
    if summary.excluded > 0 {
        lines.push(format!(
            "left out {} image(s) found in --exclude datasets",
            summary.excluded
        ));
    }
    if summary.skipped > 0 {
        lines.push(format!(
            "skipped {} item(s), e.g. {}",
            summary.skipped,
            summary.skipped_examples.join("; ")
        ));
    }
    lines
}

/// `finetune merge`: RUN is a run directory (with adapter/) or an adapter directory itself.
pub fn merge(run: &Path, base: Option<&Path>, out: Option<&Path>) -> CommandResult<Merged> {
    let (adapter, default_out) = if run.join("adapter/adapter_config.json").is_file() {
        (run.join("adapter"), run.join("merged"))
    } else if run.join("adapter_config.json").is_file() {
        let mut name = run.file_name().unwrap_or_default().to_os_string();
        name.push("-merged");
        (run.to_path_buf(), run.with_file_name(name))
    } else {
        return Err(CommandError::bad(format!(
            "{}: no LoRA adapter here (neither adapter/adapter_config.json nor adapter_config.json)",
            run.display()
        )));
    };
    let base: PathBuf = match base {
        Some(base) => base.to_path_buf(),
        None => merge::adapter_base(&adapter).ok_or_else(|| {
            CommandError::bad(format!(
                "{}: the adapter names no local base model; pass --base DIR",
                adapter.display()
            ))
        })?,
    };
    let out = out.map(Path::to_path_buf).unwrap_or(default_out);
    merge::merge(&base, &adapter, &out).map_err(CommandError::bad)
}
