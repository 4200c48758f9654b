//! `radiochat model tiny`: random-weight model directories in the exact Hugging Face layout
//! of each supported architecture. Tests load them through the real engine; users run them to
//! check an install; benchmarks use the `real` scale to measure at production dimensions.

mod gemma3;
mod gemma3n;
mod gemma4;
mod idefics2;
mod idefics3;
mod llama4;
mod llava;
mod llava_onevision;
mod minicpmo;
mod mistral3;
mod mobilenet;
mod phi3v;
mod phi4mm;
mod qwen3_5;
mod qwen3vl;
mod shards;
mod tokenizer;
mod vision;
mod vllama;
mod weights;

pub use tokenizer::{Merge, Specials, learn_merges};
pub use weights::WeightDtype;
pub use weights::{Fill, Heads, Weights};

use crate::util::error::BadValue;
use anyhow::Context;
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};

/// Size of the generated model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// A few hundred thousand parameters: loads and answers in seconds on a laptop CPU.
    #[default]
    Tiny,
    /// The dimensions of the family's smallest real checkpoint (random weights).
    Real,
    /// The family's 7B-class checkpoint, in bf16 as it ships (llava_onevision only:
    /// llava-onevision-qwen2-7b-ov, 16 GB in 5 GB shards).
    Large,
    /// radio-llava-nano, the demo model's base (llava_onevision only): small enough to train
    /// from random weights on 2 CPU cores within the hour, large enough to learn to see.
    Nano,
}

impl std::str::FromStr for Scale {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "tiny" => Ok(Scale::Tiny),
            "real" => Ok(Scale::Real),
            "7b" => Ok(Scale::Large),
            "nano" => Ok(Scale::Nano),
            other => Err(BadValue::unknown("--dims", other, "tiny, real, 7b or nano")),
        }
    }
}

/// Decoder dimensions shared by the text towers.
#[derive(Debug, Clone, Copy)]
pub struct TextDims {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    pub max_positions: usize,
}

impl TextDims {
    /// The `text_config` fields every family spells the same way; callers add their own.
    pub fn hf_fields(&self) -> serde_json::Map<String, Value> {
        let fields = json!({
            "hidden_size": self.hidden,
            "intermediate_size": self.intermediate,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "vocab_size": self.vocab_size,
            "max_position_embeddings": self.max_positions,
        });
        fields.as_object().cloned().unwrap_or_default()
    }

    pub fn heads(&self) -> Heads {
        Heads {
            heads: self.heads,
            kv_heads: self.kv_heads,
            head_dim: self.head_dim,
        }
    }

    /// `hf_fields` plus the family's own `extra` fields.
    pub fn hf_config(&self, extra: Value) -> Value {
        let mut fields = self.hf_fields();
        if let Value::Object(more) = extra {
            fields.extend(more);
        }
        Value::Object(fields)
    }

    /// The tiny text tower every architecture uses: 64 wide, 2 layers, 4 heads, 2 KV heads,
    /// a vocabulary of the 256 bytes plus `specials`, padded to 16.
    pub fn tiny(specials: usize) -> Self {
        TextDims {
            hidden: 64,
            intermediate: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            vocab_size: tokenizer::padded_vocab(specials),
            max_positions: 4096,
        }
    }
}

/// Everything one architecture contributes; the writer turns it into files.
pub struct TinyModel {
    pub config: Value,
    pub specials: Specials,
    pub bos: &'static str,
    pub eos: &'static str,
    pub chat_template: String,
    /// More tokenizer_config.json fields (special-token names a family's processor reads).
    pub tokenizer_extra: Value,
    /// preprocessor_config.json (`Null`: none, the settings live in processor_config.json).
    pub preprocessor: Value,
    pub processor: Option<Value>,
    pub weights: Weights,
}

impl TinyModel {
    pub fn special_id(&self, token: &str) -> u32 {
        self.specials.id(token)
    }
}

/// llava-hf's LLaVA-OneVision chat template (the one the tiny model is written with).
pub fn llava_onevision_template() -> &'static str {
    llava_onevision::CHAT_TEMPLATE
}

/// Loader names `model tiny --arch` accepts.
pub const TINY_ARCHS: &[&str] = &[
    "idefics3",
    "gemma3",
    "llava",
    "llava_next",
    "llava_onevision",
    "qwen3vl",
    "mistral3",
    "gemma4",
    "qwen3vlmoe",
    "idefics2",
    "vllama",
    "minicpmo",
    "phi3v",
    "phi4mm",
    "gemma3n",
];

/// Families mistral.rs 0.8.1 fails on (src/engine/arch.rs), written in their released layout
/// so that tests/engine_refusals.rs can show the failure is still there.
pub const REFUSED_TINY_ARCHS: &[&str] = &["qwen3_5", "qwen3_5moe", "llama4"];

/// Why `model tiny` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum TinyError {
    #[error(
        "unknown --arch '{0}'; expected one of {list} (or {refused}, refused by the engine)",
        list = TINY_ARCHS.join(", "),
        refused = REFUSED_TINY_ARCHS.join(", ")
    )]
    UnknownArch(String),
    #[error("--dims {0} is written for llava_onevision only, not '{1}'")]
    OnlyLlavaOnevision(&'static str, String),
    #[error("--dims real is not written for '{0}' yet; use --dims tiny")]
    NoRealDims(String),
    #[error("a learnt vocabulary (--vocab-from) is written for --dims nano only")]
    MergesOnlyNano,
    #[error("{0}: already exists and is not empty (use --force to replace it)")]
    Exists(PathBuf),
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

pub fn build(arch: &str, scale: Scale) -> Result<TinyModel, TinyError> {
    build_with_merges(arch, scale, 0)
}

/// `build` with `merges` learnt tokens in the vocabulary (radio-llava-nano only).
fn build_with_merges(arch: &str, scale: Scale, merges: usize) -> Result<TinyModel, TinyError> {
    if merges > 0 && scale != Scale::Nano {
        return Err(TinyError::MergesOnlyNano);
    }
    let only_llava_onevision = match scale {
        Scale::Large => Some("7b"),
        Scale::Nano => Some("nano"),
        Scale::Tiny | Scale::Real => None,
    };
    if let Some(dims) = only_llava_onevision
        && arch != "llava_onevision"
    {
        return Err(TinyError::OnlyLlavaOnevision(dims, arch.to_string()));
    }
    // Writers that know no released checkpoint's dimensions yet.
    let tiny_only = |write: fn() -> TinyModel| match scale {
        Scale::Tiny => Ok(write()),
        _ => Err(TinyError::NoRealDims(arch.to_string())),
    };
    match arch {
        "idefics3" => Ok(idefics3::build(scale)),
        "gemma3" => Ok(gemma3::build(scale)),
        "llava" => Ok(llava::build(scale, false)),
        "llava_next" => Ok(llava::build(scale, true)),
        "llava_onevision" => Ok(llava_onevision::build(scale, merges)),
        "qwen3vl" => Ok(qwen3vl::build(scale, false)),
        "qwen3vlmoe" => tiny_only(|| qwen3vl::build(Scale::Tiny, true)),
        "mistral3" => Ok(mistral3::build(scale)),
        "gemma4" => Ok(gemma4::build(scale)),
        "idefics2" => tiny_only(idefics2::build),
        "vllama" => tiny_only(vllama::build),
        "minicpmo" => tiny_only(minicpmo::build),
        "llama4" => tiny_only(llama4::build),
        "phi3v" => tiny_only(phi3v::build),
        "phi4mm" => tiny_only(phi4mm::build),
        "gemma3n" => tiny_only(gemma3n::build),
        "qwen3_5" => tiny_only(|| qwen3_5::build(false)),
        "qwen3_5moe" => tiny_only(|| qwen3_5::build(true)),
        other => Err(TinyError::UnknownArch(other.to_string())),
    }
}

/// What was written, for the command's report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub dir: PathBuf,
    pub architecture: String,
    pub parameters: usize,
    pub bytes: u64,
}

/// Write the model into `out`. The directory appears whole or not at all: files go to a
/// sibling temporary directory that is renamed into place at the end.
pub fn write(
    arch: &str,
    scale: Scale,
    seed: u64,
    out: &Path,
    force: bool,
) -> Result<Written, TinyError> {
    write_with_merges(arch, scale, seed, out, force, &[])
}

/// `write`, the tokenizer with `merges` (`tokenizer::learn_merges`) and the embedding and
/// output matrices sized for them: radio-llava-nano (`Scale::Nano`) only, the model trained
/// from scratch that the demo ships.
pub fn write_with_merges(
    arch: &str,
    scale: Scale,
    seed: u64,
    out: &Path,
    force: bool,
    merges: &[Merge],
) -> Result<Written, TinyError> {
    let model = build_with_merges(arch, scale, merges.len())?;
    let occupied = out.exists()
        && !(out.is_dir()
            && fs::read_dir(out)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false));
    if occupied && !force {
        return Err(TinyError::Exists(out.to_path_buf()));
    }
    Ok(write_into_place(&model, arch, seed, out, merges)?)
}

fn write_into_place(
    model: &TinyModel,
    arch: &str,
    seed: u64,
    out: &Path,
    merges: &[Merge],
) -> anyhow::Result<Written> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let file_name = out.file_name().context("output directory has no name")?;
    let staging = parent.join(format!(
        ".{}.partial-{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    if let Err(e) = write_files(model, seed, &staging, merges) {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if out.exists() {
        if out.is_dir() {
            fs::remove_dir_all(out)
        } else {
            fs::remove_file(out)
        }
        .with_context(|| format!("replacing {}", out.display()))?;
    }
    fs::rename(&staging, out).with_context(|| format!("moving model into {}", out.display()))?;
    let bytes = fs::read_dir(out)?
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok(Written {
        dir: out.to_path_buf(),
        architecture: model.config["architectures"][0]
            .as_str()
            .unwrap_or(arch)
            .to_string(),
        parameters: model.weights.parameter_count(),
        bytes,
    })
}

fn write_files(model: &TinyModel, seed: u64, dir: &Path, merges: &[Merge]) -> anyhow::Result<()> {
    let put = |name: &str, value: &Value| -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        fs::write(dir.join(name), text + "\n").with_context(|| format!("writing {name}"))
    };
    put("config.json", &model.config)?;
    put(
        "tokenizer.json",
        &tokenizer::tokenizer_json(&model.specials, merges),
    )?;
    put(
        "tokenizer_config.json",
        &with_extra(
            json!({
                "bos_token": model.bos,
                "eos_token": model.eos,
                "pad_token": model.eos,
                "unk_token": null,
                "add_bos_token": false,
                "add_eos_token": false,
                "model_max_length": model.config["text_config"]["max_position_embeddings"],
                "chat_template": model.chat_template,
                "tokenizer_class": "PreTrainedTokenizerFast",
            }),
            &model.tokenizer_extra,
        ),
    )?;
    if !model.preprocessor.is_null() {
        put("preprocessor_config.json", &model.preprocessor)?;
    }
    if let Some(processor) = &model.processor {
        put("processor_config.json", processor)?;
    }
    put(
        "generation_config.json",
        &json!({
            "bos_token_id": model.special_id(model.bos),
            "eos_token_id": model.special_id(model.eos),
            "pad_token_id": model.special_id(model.eos),
        }),
    )?;
    model.weights.write_safetensors(dir, seed)
}

/// ChatML turns (`<|im_start|>role` … `<|im_end|>`) over string or list content: a list's
/// text parts as they are, its image parts as `image` (none: the image tag then lives in the
/// text, where the processor or mistral.rs puts it).
pub(crate) fn chatml_template(image: Option<&str>) -> String {
    let image_part = image
        .map(|tag| {
            format!("{{% if part['type'] == 'image' %}}{tag}{{% elif part['type'] == 'text' %}}")
        })
        .unwrap_or_else(|| "{% if part['type'] == 'text' %}".to_string());
    format!(
        "{{% for message in messages %}}<|im_start|>{{{{ message['role'] }}}}\n\
{{% if message['content'] is string %}}{{{{ message['content'] }}}}\
{{% else %}}{{% for part in message['content'] %}}\
{image_part}{{{{ part['text'] }}}}{{% endif %}}{{% endfor %}}{{% endif %}}\
<|im_end|>\n{{% endfor %}}{{% if add_generation_prompt %}}<|im_start|>assistant\n{{% endif %}}"
    )
}

/// SigLIP's pixel normalisation (mean and std 0.5 per channel).
pub(crate) const HALF: [f64; 3] = [0.5, 0.5, 0.5];
/// CLIP's pixel normalisation.
pub(crate) const CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
pub(crate) const CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];

/// A `preprocessor_config.json`: the processor classes, RGB conversion, resizing, 1/255
/// rescaling and normalisation by `mean` and `std` every family writes, plus the family's own
/// `fields` (which win over these).
pub(crate) fn preprocessor(
    image_processor: &str,
    processor: &str,
    mean: [f64; 3],
    std: [f64; 3],
    fields: Value,
) -> Value {
    with_extra(
        json!({
            "image_processor_type": image_processor,
            "processor_class": processor,
            "do_convert_rgb": true,
            "do_resize": true,
            "do_rescale": true,
            "rescale_factor": 1.0 / 255.0,
            "do_normalize": true,
            "image_mean": mean,
            "image_std": std,
        }),
        &fields,
    )
}

/// `base` with the fields of `extra` (an object) added.
fn with_extra(mut base: Value, extra: &Value) -> Value {
    if let (Value::Object(base), Value::Object(extra)) = (&mut base, extra) {
        base.extend(extra.clone());
    }
    base
}

#[cfg(test)]
mod tests {
    #[test]
    fn chatml_is_qwen3_vl_s_template_with_its_image_tag() {
        let written = super::chatml_template(Some("<|vision_start|><|image_pad|><|vision_end|>"));
        let qwen3_vl = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}\
{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\
<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
        assert_eq!(written, qwen3_vl);
        let text_only = super::chatml_template(None);
        assert!(!text_only.contains("'image'") && text_only.contains("part['text']"));
    }
}
