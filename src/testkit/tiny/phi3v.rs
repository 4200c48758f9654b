//! Phi-3.5 vision (`Phi3VForCausalLM`, remote code: transformers has no class for it): a CLIP
//! ViT-L/14 at 336 px whose second-to-last layer's patches are merged 2 × 2 per crop, framed by
//! learned separators (`glb_GN`, `sub_GN`) and projected by a two-layer MLP into a Phi-3 text
//! tower (fused `qkv_proj` and `gate_up_proj`, long-rope). mistral.rs 0.8.1 fixes that vision
//! tower's dimensions (phi3/mod.rs:546), so this model is tiny only in its text tower: the
//! tower is written whole (303 M parameters, 1.2 GB), and one crop (`num_crops` 1) keeps a new
//! image to two passes through it. The user's text carries `<|image_1|>`; the processor
//! replaces it by the image's tokens.

use super::tokenizer::Specials;
use super::vision::{CLIP_VIT_L_336, clip_tower};
use super::weights::{Fill, Weights};
use super::{TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<unk>",
    "<s>",
    "</s>",
    "<|endoftext|>",
    "<|assistant|>",
    "<|end|>",
    "<|user|>",
    "<|system|>",
];

/// The image tag lives in the user's text (mistral.rs and the processor put it there); a
/// content list contributes its text parts only.
const CHAT_TEMPLATE: &str = "{% for message in messages %}<|{{ message['role'] }}|>\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}\
{% endif %}{% endfor %}{% endif %}<|end|>\n{% endfor %}\
{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

/// Phi-3's decoder layers under `model.layers` (fused `qkv_proj` and `gate_up_proj`, RMS
/// norms); `linear(w, prefix, out, in)` writes each projection, so that Phi-4 multimodal can
/// write its LoRA-wrapped ones.
pub(super) fn phi3_layers(
    w: &mut Weights,
    text: &TextDims,
    linear: impl Fn(&mut Weights, &str, usize, usize),
) {
    for i in 0..text.layers {
        let l = format!("model.layers.{i}");
        let qkv = (text.heads + 2 * text.kv_heads) * text.head_dim;
        linear(w, &format!("{l}.self_attn.qkv_proj"), qkv, text.hidden);
        let heads_width = text.heads * text.head_dim;
        linear(
            w,
            &format!("{l}.self_attn.o_proj"),
            text.hidden,
            heads_width,
        );
        let gate_up = 2 * text.intermediate;
        linear(w, &format!("{l}.mlp.gate_up_proj"), gate_up, text.hidden);
        linear(
            w,
            &format!("{l}.mlp.down_proj"),
            text.hidden,
            text.intermediate,
        );
        w.rms_norm(&format!("{l}.input_layernorm"), text.hidden);
        w.rms_norm(&format!("{l}.post_attention_layernorm"), text.hidden);
    }
}

/// The tiny text tower with the released vision tower.
pub fn build() -> TinyModel {
    let text = TextDims {
        // Phi-3.5 vision has as many key/value heads as query heads.
        kv_heads: 4,
        ..TextDims::tiny(SPECIALS.len())
    };
    let vision = CLIP_VIT_L_336;
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    // One factor per rotary frequency pair.
    let factors = vec![1.0; text.head_dim / 2];
    let mut config = text.hf_config(json!({
        "architectures": ["Phi3VForCausalLM"],
        "model_type": "phi3_v",
        "hidden_act": "silu",
        "rms_norm_eps": 1e-5,
        "rope_theta": 10_000.0,
        "rope_scaling": {"type": "longrope", "short_factor": factors, "long_factor": factors},
        "max_position_embeddings": 131_072,
        "original_max_position_embeddings": 4096,
        "sliding_window": 262_144,
        "bos_token_id": id("<s>"),
        "eos_token_id": id("<|endoftext|>"),
        "pad_token_id": id("<|endoftext|>"),
        "tie_word_embeddings": false,
        "torch_dtype": "float32",
        "embd_layer": {
            "embedding_cls": "image",
            "hd_transform_order": "sub_glb",
            "projection_cls": "mlp",
            "use_hd_transform": true,
            "with_learnable_separator": true,
        },
        "img_processor": {
            "image_dim_out": vision.hidden,
            "model_name": "openai/clip-vit-large-patch14-336",
            "name": "clip_vision_model",
            "num_img_tokens": 144,
        },
    }));
    // Released configs derive the head width from hidden / heads.
    if let Some(fields) = config.as_object_mut() {
        fields.remove("head_dim");
    }

    let mut w = Weights::default();
    w.matrix("model.embed_tokens.weight", &[text.vocab_size, text.hidden]);
    let embed = "model.vision_embed_tokens";
    clip_tower(
        &mut w,
        &format!("{embed}.img_processor.vision_model"),
        &vision,
    );
    // 2 × 2 merged patches: four times the tower's width.
    let merged = 4 * vision.hidden;
    w.matrix(format!("{embed}.glb_GN"), &[1, 1, merged]);
    w.matrix(format!("{embed}.sub_GN"), &[1, 1, 1, merged]);
    w.linear(
        &format!("{embed}.img_projection.0"),
        text.hidden,
        merged,
        true,
    );
    w.linear(
        &format!("{embed}.img_projection.2"),
        text.hidden,
        text.hidden,
        true,
    );
    phi3_layers(&mut w, &text, |w, name, out_dim, in_dim| {
        w.linear(name, out_dim, in_dim, false)
    });
    w.tensor("model.norm.weight", &[text.hidden], Fill::Ones);
    w.output_head("lm_head.weight", text.vocab_size, text.hidden);

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<s>",
        eos: "<|end|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor: super::preprocessor(
            "Phi3VImageProcessor",
            "Phi3VProcessor",
            super::CLIP_MEAN,
            super::CLIP_STD,
            json!({"num_crops": 1, "num_img_tokens": 144}),
        ),
        processor: None,
        weights: w,
    }
}
