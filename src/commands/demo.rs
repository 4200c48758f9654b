//! `--demo`: radiochat's own small fine-tuned radio model and a synthetic cutout, both built
//! into the binary and written to the data directory on first use, so the demo works offline
//! from any install. `scripts/make-demo-model.sh` rebuilds `demo/model/`.

use super::{CommandError, CommandResult};
use crate::config::Settings;
use crate::engine::{LoadSpec, ModelSource};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The files of `demo/model/`, as the engine loads them.
const MODEL_FILES: &[(&str, &[u8])] = &[
    (
        "config.json",
        include_bytes!("../../demo/model/config.json"),
    ),
    (
        "generation_config.json",
        include_bytes!("../../demo/model/generation_config.json"),
    ),
    (
        "model.safetensors",
        include_bytes!("../../demo/model/model.safetensors"),
    ),
    (
        "processor_config.json",
        include_bytes!("../../demo/model/processor_config.json"),
    ),
    (
        "tokenizer.json",
        include_bytes!("../../demo/model/tokenizer.json"),
    ),
    (
        "tokenizer_config.json",
        include_bytes!("../../demo/model/tokenizer_config.json"),
    ),
];

/// Names the model in the status bar and in session headers.
const MODEL_DIR_NAME: &str = "radio-llava-nano";
/// Written last; holds the weights' hash, so a copy from another radiochat version is replaced.
const MARKER: &str = "radiochat-demo-version";

/// The demo model lives in the data directory.
pub fn model_dir() -> PathBuf {
    crate::config::data_dir()
        .join("models")
        .join(MODEL_DIR_NAME)
}

/// Whether `--demo` picks the demo model: unless `--model` names another.
pub fn uses_demo_model(demo: bool, settings: &Settings) -> bool {
    demo && settings.model.origin != crate::config::Origin::Flag
}

/// The demo model was trained with radio-llava's system prompt before every conversation (as
/// `finetune run` trains by default) and answers well only after it (without it, its
/// descriptions fall apart): it is the demo's system prompt unless one is configured.
pub fn fill_system_prompt(settings: &mut Settings) {
    if settings.system_prompt.value.is_none() {
        settings.system_prompt.value = Some(crate::bench::runner::RADIO_LLAVA_SYSTEM.to_string());
    }
}

/// The demo model (written on first use) with the device, dtype and ISQ of `settings`.
pub fn spec(settings: &Settings) -> CommandResult<LoadSpec> {
    let dir = model_dir();
    ensure_model(&dir).map_err(|e| {
        CommandError::Failed(anyhow::anyhow!(
            "{}: cannot write the demo model: {e}",
            dir.display()
        ))
    })?;
    let mut spec = LoadSpec::new(ModelSource::Local(dir));
    spec.device = settings.device.value;
    spec.dtype = settings.dtype.value;
    spec.isq = settings.isq.value;
    Ok(spec)
}

fn weights_hash() -> String {
    let weights = MODEL_FILES
        .iter()
        .find(|(name, _)| *name == "model.safetensors")
        .map_or(&[][..], |(_, bytes)| *bytes);
    format!("{:x}", Sha256::digest(weights))
}

/// Writes the files into a staging folder and renames it into place, so a killed process
/// never leaves a half-written model that looks complete.
fn ensure_model(dir: &Path) -> std::io::Result<()> {
    let version = weights_hash();
    if std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|v| v.trim() == version) {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = parent.join(format!(".{MODEL_DIR_NAME}.{}.partial", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    std::fs::create_dir_all(&staging)?;
    for (name, bytes) in MODEL_FILES {
        std::fs::write(staging.join(name), bytes)?;
    }
    std::fs::write(staging.join(MARKER), &version)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    match std::fs::rename(&staging, dir) {
        // Another radiochat wrote it at the same moment: theirs is as good as ours.
        Err(_) if std::fs::read_to_string(dir.join(MARKER)).is_ok_and(|v| v.trim() == version) => {
            std::fs::remove_dir_all(&staging)
        }
        other => other,
    }
}

/// A synthetic FR-II radio galaxy cutout (FITS, 132 px of 2″, 8″ beam) in the data
/// directory, written on first use: what `--demo` attaches when no image is given.
pub fn cutout_path() -> CommandResult<PathBuf> {
    use crate::imaging::synth::{Balance, SkyKind, cutout};
    let path = crate::config::data_dir()
        .join("demo")
        .join("fr2-radio-galaxy.fits");
    if path.exists() {
        return Ok(path);
    }
    let failed = |e: &dyn std::fmt::Display| {
        CommandError::Failed(anyhow::anyhow!("{}: cannot write: {e}", path.display()))
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|e| failed(&e))?;
    let sky = (0..)
        .map(|index| {
            cutout(
                SkyKind::MiraBest,
                132,
                DEMO_SKY_SEED,
                index,
                &Balance::default(),
            )
        })
        .find(|sky| sky.label == "FR-II")
        .unwrap_or_else(|| {
            cutout(
                SkyKind::MiraBest,
                132,
                DEMO_SKY_SEED,
                0,
                &Balance::default(),
            )
        });
    let staging = folder.join(format!(".demo-{}.fits.partial", std::process::id()));
    super::synth::write_cutout(&staging, &sky, 0).map_err(|e| failed(&e))?;
    std::fs::rename(&staging, &path).map_err(|e| failed(&e))?;
    Ok(path)
}

const DEMO_SKY_SEED: u64 = 2026;

/// What the demo chat offers to ask first: one of the description questions the demo model
/// was trained on (`prompts/finetune/describe.toml`), so its first answer is about the cutout.
pub const FIRST_QUESTION: &str = "Can you describe this radio image?";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_model_is_small_and_complete() {
        let total: usize = MODEL_FILES.iter().map(|(_, bytes)| bytes.len()).sum();
        // The budget for the demo's weights and files.
        assert!(total <= 25_000_000, "{total} bytes");
        let config: serde_json::Value = serde_json::from_slice(MODEL_FILES[0].1).unwrap();
        assert_eq!(config["model_type"], "llava_onevision");
    }

    #[test]
    fn a_stale_or_half_written_copy_is_replaced() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("models").join(MODEL_DIR_NAME);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("model.safetensors"), b"truncated").unwrap();
        ensure_model(&dir).unwrap();
        let written = std::fs::read(dir.join("model.safetensors")).unwrap();
        assert_eq!(format!("{:x}", Sha256::digest(&written)), weights_hash());
        // Up to date: left alone.
        let marker = std::fs::metadata(dir.join(MARKER))
            .unwrap()
            .modified()
            .unwrap();
        ensure_model(&dir).unwrap();
        let again = std::fs::metadata(dir.join(MARKER))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(marker, again);
    }
}
