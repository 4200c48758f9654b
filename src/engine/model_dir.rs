//! What a checked model directory is, and what can be wrong with one: the types both the
//! validation of a whole directory and each backend's own checks speak.

use super::arch::Architecture;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// What is wrong with a model directory. Each message is one line naming the path.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelDirError {
    #[error("{0}: no such directory (for a Hugging Face model id write hf:OWNER/NAME)")]
    NoSuchDirectory(PathBuf),
    #[error("{0}: is a file, not a model directory")]
    NotADirectory(PathBuf),
    #[error("{0}: missing ({1})")]
    MissingFile(PathBuf, &'static str),
    #[error("{0}: {1}")]
    Invalid(PathBuf, String),
    #[error("{0}: {1}")]
    Unsupported(PathBuf, String),
}

/// A directory that passed every check, with what the engine needs to know about it.
#[derive(Debug, Clone)]
pub struct ValidatedModel {
    pub dir: PathBuf,
    pub architecture: Architecture,
    /// Token ids that end an answer (generation_config.json and tokenizer_config.json).
    pub eos_token_ids: Vec<u32>,
    pub max_context: Option<usize>,
}

/// A safetensors file whose header reads and whose tensors fit in the file.
pub(crate) fn check_safetensors(file: &Path) -> Result<(), ModelDirError> {
    use std::io::Read;
    let bad = |why: String| ModelDirError::Invalid(file.to_path_buf(), why);
    let mut handle = fs::File::open(file).map_err(|e| bad(format!("cannot open: {e}")))?;
    let file_len = handle
        .metadata()
        .map_err(|e| bad(format!("cannot stat: {e}")))?
        .len();
    let mut len_bytes = [0u8; 8];
    handle
        .read_exact(&mut len_bytes)
        .map_err(|_| bad("truncated safetensors file (no header)".into()))?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > 100_000_000 || 8 + header_len > file_len {
        return Err(bad(
            "corrupt safetensors header (length out of range)".into()
        ));
    }
    let mut header = vec![0u8; header_len as usize];
    handle
        .read_exact(&mut header)
        .map_err(|_| bad("truncated safetensors header".into()))?;
    let header: Value = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("corrupt safetensors header: {e}")))?;
    let tensors = header
        .as_object()
        .ok_or_else(|| bad("corrupt safetensors header".into()))?;
    let data_end = tensors
        .iter()
        .filter(|(name, _)| name.as_str() != "__metadata__")
        .filter_map(|(_, info)| info["data_offsets"].get(1).and_then(Value::as_u64))
        .max()
        .unwrap_or(0);
    let needed = 8 + header_len + data_end;
    if needed > file_len {
        return Err(bad(format!(
            "truncated safetensors file: {file_len} bytes, tensors need {needed}"
        )));
    }
    Ok(())
}
