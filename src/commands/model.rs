//! `radiochat model tiny|check|archs`.

use super::{CommandError, CommandResult};
use crate::engine::{Architecture, ValidatedModel, validate_model_dir};
use crate::finetune::data::Record;
use crate::testkit::tiny::{self, Merge, Scale, TinyError, Written};
use crate::util::error::FileError;
use std::path::Path;

/// A vocabulary to learn for the model: `merges` BPE merges from the texts of `from`, LLaVA
/// conversation JSON (`finetune data`'s train.json).
pub struct LearntVocabulary<'a> {
    pub from: &'a Path,
    pub merges: usize,
}

pub fn tiny(
    arch: &str,
    scale: Scale,
    seed: u64,
    out: &Path,
    force: bool,
    vocabulary: Option<LearntVocabulary>,
) -> CommandResult<Written> {
    let merges = match vocabulary {
        Some(_) if scale != Scale::Nano => {
            return Err(CommandError::BadInput(TinyError::MergesOnlyNano.into()));
        }
        Some(v) => learn_merges(v.from, v.merges)?,
        None => Vec::new(),
    };
    tiny::write_with_merges(arch, scale, seed, out, force, &merges).map_err(|e| match e {
        TinyError::Io(e) => CommandError::Failed(e),
        bad_input => CommandError::BadInput(bad_input.into()),
    })
}

/// Every turn's text, `<image>` left out (a special token, never split).
fn learn_merges(from: &Path, count: usize) -> CommandResult<Vec<Merge>> {
    let text = std::fs::read_to_string(from).map_err(FileError::io(from))?;
    let records: Vec<Record> = serde_json::from_str(&text).map_err(FileError::unreadable(from))?;
    let texts = records
        .into_iter()
        .flat_map(|r| r.conversations)
        .map(|turn| turn.value.replace("<image>", ""));
    let merges = tiny::learn_merges(texts, count).map_err(CommandError::Failed)?;
    if merges.is_empty() {
        return Err(FileError::invalid(format!(
            "{}: no pair of tokens occurs twice in its conversations; nothing to learn",
            from.display()
        ))
        .into());
    }
    Ok(merges)
}

pub fn check(dir: &Path) -> CommandResult<ValidatedModel> {
    Ok(validate_model_dir(dir)?)
}

/// `model archs`: one line per architecture the embedded engine serves, then one per family
/// mistral.rs 0.8.1 has a loader for that radiochat refuses, with what to use instead
/// (`model check DIR` on such a model gives the failure itself).
pub fn architecture_lines() -> Vec<String> {
    let line = |a: &Architecture, engine: &str| {
        format!(
            "{:<16} {:<40} {:<38} {engine}",
            a.loader, a.hf_class, a.family
        )
    };
    let mut lines: Vec<String> = Architecture::supported()
        .map(|a| line(&a, a.engine.name()))
        .collect();
    lines.push(String::new());
    lines.push("refused (mistral.rs 0.8.1 has a loader; radiochat's tests show it fail or have not proven it):".into());
    lines.extend(Architecture::refused().map(|a| line(&a, &format!("use {}", a.instead))));
    lines
}
