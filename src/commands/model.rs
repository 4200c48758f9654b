//! `radiochat model tiny|check|archs`.

use super::{CommandError, CommandResult};
use crate::engine::{Architecture, ValidatedModel, validate_model_dir};
use crate::testkit::tiny::{self, Scale, TinyError, Written};
use std::path::Path;

pub fn tiny(
    arch: &str,
    scale: Scale,
    seed: u64,
    out: &Path,
    force: bool,
) -> CommandResult<Written> {
    tiny::write(arch, scale, seed, out, force).map_err(|e| match e {
        TinyError::Io(e) => CommandError::Failed(e),
        bad_input => CommandError::BadInput(bad_input.into()),
    })
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
