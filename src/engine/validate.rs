//! Checks a model directory before mistralrs sees it. mistralrs 0.8.1 treats a missing path
//! as a hub id (network), panics on its engine thread without a preprocessor config, and
//! loads any stray `adapter_model.safetensors` as weights; each of those becomes a named
//! error here instead.

use super::arch::{Architecture, Backend, Support};
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

pub fn validate_model_dir(dir: &Path) -> Result<ValidatedModel, ModelDirError> {
    use ModelDirError::*;
    if !dir.exists() {
        return Err(NoSuchDirectory(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(NotADirectory(dir.to_path_buf()));
    }
    let config = read_json(dir, "config.json", "the model's config.json")?;
    let config_path = dir.join("config.json");
    let class = config
        .get("architectures")
        .and_then(|a| a.get(0))
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid(config_path.clone(), "no \"architectures\" entry".into()))?;
    let architecture = Architecture::by_hf_class(class)
        .ok_or_else(|| Unsupported(config_path.clone(), Architecture::refusal(class, None)))?;
    match architecture.support {
        Support::Supported => {}
        Support::Broken(why) => {
            return Err(Unsupported(
                config_path,
                Architecture::refusal(class, Some(why)),
            ));
        }
        Support::Absent => {
            return Err(Unsupported(config_path, Architecture::refusal(class, None)));
        }
    }

    let tokenizer_json = read_json(dir, "tokenizer.json", "the tokenizer")?;
    if architecture.engine == Backend::MistralRs {
        check_decoder(&dir.join("tokenizer.json"), &tokenizer_json)?;
    }
    let tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| {
        Invalid(
            dir.join("tokenizer.json"),
            format!("not a usable tokenizer: {e}"),
        )
    })?;

    let tokenizer_config = match dir.join("tokenizer_config.json").exists() {
        true => Some(read_json(dir, "tokenizer_config.json", "")?),
        false => None,
    };
    let has_template = tokenizer_config
        .as_ref()
        .is_some_and(|c| !c["chat_template"].is_null())
        || dir.join("chat_template.json").is_file()
        || dir.join("chat_template.jinja").is_file();
    if !has_template {
        return Err(MissingFile(
            dir.join("tokenizer_config.json"),
            "no chat template: add \"chat_template\" to tokenizer_config.json or a chat_template.jinja",
        ));
    }

    match architecture.engine {
        Backend::MistralRs => {
            read_json(
                dir,
                "preprocessor_config.json",
                "the image preprocessor settings",
            )?;
        }
        Backend::Candle => {
            super::llava_onevision::check_dir(dir)?;
        }
    }

    let adapter = dir.join("adapter_model.safetensors");
    if adapter.exists() {
        return Err(Invalid(
            adapter,
            "a LoRA adapter inside a model directory would be loaded as base weights by \
             mistralrs 0.8.1; merge it (radiochat finetune merge) or move it out"
                .into(),
        ));
    }
    check_weights(dir)?;

    let mut eos_token_ids = Vec::new();
    if dir.join("generation_config.json").exists() {
        let generation = read_json(dir, "generation_config.json", "")?;
        collect_ids(&generation["eos_token_id"], &mut eos_token_ids);
    }
    if let Some(cfg) = &tokenizer_config {
        let eos = &cfg["eos_token"];
        let text = eos
            .as_str()
            .or_else(|| eos.get("content").and_then(Value::as_str));
        if let Some(id) = text.and_then(|t| tokenizer.token_to_id(t)) {
            eos_token_ids.push(id);
        }
    }
    eos_token_ids.sort_unstable();
    eos_token_ids.dedup();

    let max_context = config
        .get("text_config")
        .and_then(|t| t.get("max_position_embeddings"))
        .or_else(|| config.get("max_position_embeddings"))
        .and_then(Value::as_u64)
        .map(|n| n as usize);

    Ok(ValidatedModel {
        dir: dir.to_path_buf(),
        architecture,
        eos_token_ids,
        max_context,
    })
}

fn read_json(dir: &Path, name: &str, what: &'static str) -> Result<Value, ModelDirError> {
    let path = dir.join(name);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelDirError::MissingFile(
                path,
                if what.is_empty() { "required" } else { what },
            ));
        }
        Err(e) => return Err(ModelDirError::Invalid(path, format!("cannot read: {e}"))),
    };
    serde_json::from_str(&text)
        .map_err(|e| ModelDirError::Invalid(path, format!("not valid JSON: {e}")))
}

fn collect_ids(value: &Value, out: &mut Vec<u32>) {
    match value {
        Value::Number(n) => out.extend(n.as_u64().map(|n| n as u32)),
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

/// mistralrs streams text by decoding token bytes; it needs a byte-level or byte-fallback
/// decoder to do so.
fn check_decoder(path: &Path, tokenizer: &Value) -> Result<(), ModelDirError> {
    fn usable(decoder: &Value) -> bool {
        match decoder["type"].as_str() {
            Some("ByteLevel") | Some("ByteFallback") => true,
            Some("Sequence") => decoder["decoders"]
                .as_array()
                .is_some_and(|items| items.iter().any(usable)),
            _ => false,
        }
    }
    let decoder = &tokenizer["decoder"];
    if usable(decoder) {
        return Ok(());
    }
    let kind = decoder["type"].as_str().unwrap_or("none");
    Err(ModelDirError::Invalid(
        path.to_path_buf(),
        format!(
            "decoder '{kind}' is not supported by mistralrs 0.8.1 (needs ByteLevel or ByteFallback)"
        ),
    ))
}

/// Every `*.safetensors` file must have a readable header whose tensors fit in the file:
/// a truncated download fails here with its name instead of deep inside the loader.
fn check_weights(dir: &Path) -> Result<(), ModelDirError> {
    let entries = fs::read_dir(dir)
        .map_err(|e| ModelDirError::Invalid(dir.to_path_buf(), format!("cannot list: {e}")))?;
    let mut weight_files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    weight_files.sort();
    if weight_files.is_empty() {
        return Err(ModelDirError::MissingFile(
            dir.join("model.safetensors"),
            "no *.safetensors weights",
        ));
    }
    for file in &weight_files {
        check_safetensors(file)?;
    }
    Ok(())
}

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
