//! `radiochat model tiny|check|archs`.

use super::{CommandError, CommandResult};
use crate::engine::tiny::{self, Scale, Written};
use crate::engine::{Architecture, ValidatedModel, validate_model_dir};
use std::path::Path;

pub fn tiny(
    arch: &str,
    scale: Scale,
    seed: u64,
    out: &Path,
    force: bool,
) -> CommandResult<Written> {
    if !tiny::TINY_ARCHS.contains(&arch) {
        return Err(CommandError::bad(format!(
            "unknown --arch '{arch}'; expected one of {}",
            tiny::TINY_ARCHS.join(", ")
        )));
    }
    if out.exists() && !force {
        let empty = out.is_dir()
            && std::fs::read_dir(out)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
        if !empty {
            return Err(CommandError::bad(format!(
                "{}: already exists and is not empty (use --force to replace it)",
                out.display()
            )));
        }
    }
    tiny::write(arch, scale, seed, out, force).map_err(CommandError::Failed)
}

pub fn check(dir: &Path) -> CommandResult<ValidatedModel> {
    Ok(validate_model_dir(dir)?)
}

/// One line per architecture the embedded engine serves, for `model archs`.
pub fn supported_lines() -> Vec<String> {
    Architecture::supported()
        .map(|a| format!("{:<12} {:<40} {}", a.loader, a.hf_class, a.family))
        .collect()
}
