//! Checks a model directory before mistralrs sees it. mistralrs 0.8.1 treats a missing path
//! as a hub id (network), panics on its engine thread without a preprocessor config, and
//! loads any stray `adapter_model.safetensors` as weights; each of those becomes a named
//! error here instead.

use super::arch::{Architecture, Backend, Support};
use super::model_dir::check_safetensors;
use super::model_dir::{ModelDirError, ValidatedModel};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

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
        .filter(|a| a.support == Support::Supported)
        .ok_or_else(|| Unsupported(config_path.clone(), Architecture::refusal(class)))?;

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
            let preprocessor = read_json(
                dir,
                "preprocessor_config.json",
                "the image preprocessor settings",
            )?;
            if architecture.loader == "idefics2" {
                check_image_seq_len(dir)?;
            }
            if architecture.loader == "minicpmo" {
                check_minicpmo_preprocessor(dir, &preprocessor)?;
            }
            if architecture.loader == "phi4mm" {
                check_phi4mm_preprocessor(dir, &preprocessor)?;
            }
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

/// mistral.rs 0.8.1's Idefics 2 processor panics on its engine thread without the number of
/// soft tokens per image (idefics2_input_processor.rs:88).
fn check_image_seq_len(dir: &Path) -> Result<(), ModelDirError> {
    let processor = read_json(
        dir,
        "processor_config.json",
        "the processor settings (image_seq_len)",
    )?;
    let count = ["image_seq_len", "image_seq_length"]
        .iter()
        .find_map(|key| processor[key].as_u64());
    match count {
        Some(n) if n > 0 => Ok(()),
        _ => Err(ModelDirError::Invalid(
            dir.join("processor_config.json"),
            "no \"image_seq_len\" (soft tokens per image, the perceiver's latents)".into(),
        )),
    }
}

/// mistral.rs 0.8.1's MiniCPM-o processor slices the pixels by the file's `scale_resolution`
/// but sizes the prompt's slice grid by 448 (inputs_processor.rs:761), so any other value
/// fails on the first large image; and it reads `norm_mean` as `image_mean`, so a file with
/// both fails to load.
fn check_minicpmo_preprocessor(dir: &Path, settings: &Value) -> Result<(), ModelDirError> {
    let name = "preprocessor_config.json";
    let invalid = |why: String| Err(ModelDirError::Invalid(dir.join(name), why));
    if let Some(side) = settings["scale_resolution"].as_u64()
        && side != 448
    {
        return invalid(format!(
            "scale_resolution {side}: mistral.rs 0.8.1 serves MiniCPM-o at 448 only"
        ));
    }
    for (ours, theirs) in [("image_mean", "norm_mean"), ("image_std", "norm_std")] {
        if !settings[ours].is_null() && !settings[theirs].is_null() {
            return invalid(format!(
                "both \"{ours}\" and \"{theirs}\" (mistral.rs 0.8.1 reads them as one field; keep \"{theirs}\")"
            ));
        }
    }
    Ok(())
}

/// mistral.rs 0.8.1's Phi-4 multimodal processor unwraps `dynamic_hd`, the most crops an image
/// is cut into (phi4/inputs_processor.rs:1106): without it the first image panics the engine.
fn check_phi4mm_preprocessor(dir: &Path, settings: &Value) -> Result<(), ModelDirError> {
    match settings["dynamic_hd"].as_u64() {
        Some(crops) if crops >= 1 => Ok(()),
        _ => Err(ModelDirError::Invalid(
            dir.join("preprocessor_config.json"),
            "no \"dynamic_hd\" (the most crops per image, 36 as released): mistral.rs 0.8.1 \
             needs it for Phi-4 multimodal"
                .into(),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phi4mm_needs_its_crop_limit() {
        let dir = Path::new("/models/phi4");
        assert!(check_phi4mm_preprocessor(dir, &json!({"dynamic_hd": 36})).is_ok());
        for settings in [
            json!({}),
            json!({"dynamic_hd": 0}),
            json!({"dynamic_hd": "36"}),
        ] {
            let line = check_phi4mm_preprocessor(dir, &settings)
                .unwrap_err()
                .to_string();
            assert!(
                line.contains("/models/phi4/preprocessor_config.json")
                    && line.contains("dynamic_hd"),
                "{line}"
            );
        }
    }
}
