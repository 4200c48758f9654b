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

/// One line per architecture the embedded engine serves, for `model archs`.
pub fn supported_lines() -> Vec<String> {
    Architecture::supported()
        .map(|a| {
            format!(
                "{:<16} {:<40} {:<38} {}",
                a.loader,
                a.hf_class,
                a.family,
                a.engine.name()
            )
        })
        .collect()
}
