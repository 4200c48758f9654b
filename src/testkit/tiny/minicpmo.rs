//! MiniCPM-o 2.6 (`MiniCPMO`, remote code: transformers has no class for it): a NaViT-style
//! SigLIP tower (`vpm`), a perceiver-like resampler (`resampler`: learned queries attend once
//! to the image features, 2-D sin-cos positions computed, not stored) and a Qwen2 text tower
//! (`llm`). The audio and speech towers are optional in the release (`init_audio`,
//! `init_tts`) and left out here. The user's text carries `(<image>./</image>)` per image;
//! the processor widens it to `<image>` + `<unk>` × query_num + `</image>` and, for a large
//! image, one such group per slice between `<slice>` … `</slice>`.

use super::tokenizer::Specials;
use super::vision::{VisionDims, siglip_config, siglip_tower};
use super::weights::{Decoder, Weights, decoder_stack};
use super::{TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<unk>",
    "<image>",
    "</image>",
    "<ref>",
    "</ref>",
    "<box>",
    "</box>",
    "<quad>",
    "</quad>",
    "<point>",
    "</point>",
    "<slice>",
    "</slice>",
    "<image_id>",
    "</image_id>",
];

/// The side an image is scaled to before slicing, as released: mistral.rs 0.8.1 sizes the
/// prompt's slice grid with 448 whatever the file says (inputs_processor.rs:760), so any
/// other value gives the prompt fewer slices than the pixels.
pub(crate) const SCALE_RESOLUTION: usize = 448;

/// Soft tokens per image (and per slice): the resampler's queries.
const QUERIES: usize = 8;

/// The tiny model (no released checkpoint's dimensions yet: `model tiny` refuses `--dims real`).
pub fn build() -> TinyModel {
    // The resampler has hidden / 128 heads, as released: the text width is one head's.
    let text = TextDims {
        hidden: 128,
        intermediate: 256,
        heads: 4,
        head_dim: 32,
        ..TextDims::tiny(SPECIALS.len())
    };
    let vision = VisionDims::tiny();
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    // The text tower's fields sit at the top level, as in the release.
    let mut config = text.hf_config(json!({
        "architectures": ["MiniCPMO"],
        "model_type": "minicpmo",
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "sliding_window": 131_072,
        "use_sliding_window": false,
        "max_window_layers": text.layers,
        "tie_word_embeddings": false,
        "bos_token_id": id("<|endoftext|>"),
        "eos_token_id": id("<|im_end|>"),
        "torch_dtype": "float32",
        "query_num": QUERIES,
        "image_size": vision.image_size,
        "patch_size": vision.patch,
        "batch_vision_input": true,
        "drop_vision_last_layer": false,
        "vision_batch_size": 16,
        "slice_mode": true,
        "slice_config": {"max_slice_nums": 9, "patch_size": vision.patch, "model_type": "minicpmv"},
        "use_image_id": true,
        "init_vision": true,
        "init_audio": false,
        "init_tts": false,
        "version": 2.6,
        "vision_config": siglip_config(&vision, "siglip_vision_model"),
    }));
    // Released configs derive the head width from hidden / heads.
    if let Some(fields) = config.as_object_mut() {
        fields.remove("head_dim");
    }

    let mut w = Weights::default();
    siglip_tower(&mut w, "vpm", &vision);
    resampler(&mut w, "resampler", vision.hidden, text.hidden);
    decoder_stack(&mut w, "llm.model", &text, Decoder::Qwen2, false);
    w.output_head("llm.lm_head.weight", text.vocab_size, text.hidden);

    let mut preprocessor = super::preprocessor(
        "MiniCPMVImageProcessor",
        "MiniCPMOProcessor",
        super::HALF,
        super::HALF,
        json!({
            "norm_mean": super::HALF,
            "norm_std": super::HALF,
            "max_slice_nums": 9,
            "scale_resolution": SCALE_RESOLUTION,
            "patch_size": vision.patch,
            "image_feature_size": QUERIES,
            "slice_mode": true,
            "use_image_id": true,
            "im_start": "<image>",
            "im_end": "</image>",
            "slice_start": "<slice>",
            "slice_end": "</slice>",
            "unk": "<unk>",
            "im_id_start": "<image_id>",
            "im_id_end": "</image_id>",
            "version": 2.6,
        }),
    );
    // The release names the normalisation `norm_mean`/`norm_std` only (mistral.rs reads
    // either spelling and refuses both at once).
    if let Some(fields) = preprocessor.as_object_mut() {
        fields.remove("image_mean");
        fields.remove("image_std");
    }

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<|endoftext|>",
        eos: "<|im_end|>",
        // The image tag lives in the user's text (the processor puts it there, as does mistral.rs).
        chat_template: super::chatml_template(None),
        tokenizer_extra: json!({"unk_token": "<unk>"}),
        preprocessor,
        processor: None,
        weights: w,
    }
}

/// Learned queries, the key/value projection from the vision width, one multi-head attention
/// in PyTorch's packed layout (`in_proj_weight` [3 × D, D]), three LayerNorms and an output
/// projection stored as a bare [D, D] parameter.
fn resampler(w: &mut Weights, prefix: &str, kv_dim: usize, dim: usize) {
    w.matrix(format!("{prefix}.query"), &[QUERIES, dim]);
    w.linear(&format!("{prefix}.kv_proj"), dim, kv_dim, false);
    w.matrix(format!("{prefix}.attn.in_proj_weight"), &[3 * dim, dim]);
    w.tensor(
        format!("{prefix}.attn.in_proj_bias"),
        &[3 * dim],
        super::Fill::Zeros,
    );
    w.linear(&format!("{prefix}.attn.out_proj"), dim, dim, true);
    for norm in ["ln_q", "ln_kv", "ln_post"] {
        w.layer_norm(&format!("{prefix}.{norm}"), dim);
    }
    w.matrix(format!("{prefix}.proj"), &[dim, dim]);
}
