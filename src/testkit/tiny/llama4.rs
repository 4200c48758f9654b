//! Llama 4 (Scout, Maverick): a ViT over 2-D-roped patches unfolded into a linear layer, with a
//! class token, pixel-shuffled by 2 × 2 into a two-layer adapter, projected into a Llama 4
//! text tower whose layers alternate a dense MLP and a routed mixture of experts (one shared
//! expert; experts stacked as released: `gate_up_proj` [experts, hidden, 2 × intermediate],
//! `down_proj` [experts, intermediate, hidden]); every fourth layer has no rotary embedding and
//! attends to the whole context, the others attend within chunks. The template prints
//! `<|image|>` per image; the processor widens it to `<|image_start|>`, a tile grid of
//! `<|patch|>` runs separated by `<|tile_x_separator|>`/`<|tile_y_separator|>`, `<|image|>`,
//! the global view's patches and `<|image_end|>`.

use super::tokenizer::Specials;
use super::weights::Weights;
use super::{TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|finetune_right_pad|>",
    "<|header_start|>",
    "<|header_end|>",
    "<|eom|>",
    "<|eot|>",
    "<|image_start|>",
    "<|image_end|>",
    "<|image|>",
    "<|patch|>",
    "<|tile_x_separator|>",
    "<|tile_y_separator|>",
];

const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
<|header_start|>{{ message['role'] }}<|header_end|>\n\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<|image|>\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\
<|eot|>{% endfor %}{% if add_generation_prompt %}<|header_start|>assistant<|header_end|>\n\n{% endif %}";

/// Routed experts of the tiny text tower, one chosen per token (as in Scout and Maverick).
const EXPERTS: usize = 4;
/// Every second layer is a mixture of experts (Maverick's interleave; Scout's is 1).
const MOE_STEP: usize = 2;
/// Dense layers' MLP width (`intermediate_size_mlp`); experts are `intermediate_size` wide.
const DENSE_INTERMEDIATE: usize = 128;

struct VisionTower {
    hidden: usize,
    layers: usize,
    heads: usize,
    image_size: usize,
    patch: usize,
    /// The adapter's width after the pixel shuffle and the vision tower's output width.
    projector: usize,
}

/// The tiny model (no released checkpoint's dimensions yet: `model tiny` refuses `--dims real`).
pub fn build() -> TinyModel {
    let text = TextDims {
        layers: 4,
        intermediate: 16,
        // Above the llama3 rope scaling's original 8192, as released (10485760 in Scout).
        max_positions: 131_072,
        ..TextDims::tiny(SPECIALS.len())
    };
    let vision = VisionTower {
        hidden: 32,
        layers: 2,
        heads: 2,
        image_size: 32,
        patch: 8,
        projector: 64,
    };
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let shuffled = 4 * vision.hidden;
    let config = json!({
        "architectures": ["Llama4ForConditionalGeneration"],
        "model_type": "llama4",
        // The patch token: image features replace the `<|patch|>` runs, one per feature.
        "image_token_index": id("<|patch|>"),
        "boi_token_index": id("<|image_start|>"),
        "eoi_token_index": id("<|image_end|>"),
        "tie_word_embeddings": false,
        "torch_dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "llama4_text",
            "hidden_act": "silu",
            "intermediate_size_mlp": DENSE_INTERMEDIATE,
            "num_local_experts": EXPERTS,
            "num_experts_per_tok": 1,
            "interleave_moe_layer_step": MOE_STEP,
            "rms_norm_eps": 1e-5,
            "rope_theta": 500_000.0,
            "rope_scaling": {
                "rope_type": "llama3",
                "factor": 16.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
            },
            "attention_chunk_size": 32,
            "use_qk_norm": true,
            // A number, as mistral.rs 0.8.1 reads it (transformers 5 writes `true`).
            "attn_temperature_tuning": 4,
            "floor_scale": 8192,
            "attn_scale": 0.1,
            "attention_bias": false,
            "bos_token_id": id("<|begin_of_text|>"),
            "eos_token_id": id("<|eot|>"),
            "pad_token_id": id("<|finetune_right_pad|>"),
            "tie_word_embeddings": false,
        })),
        "vision_config": {
            "model_type": "llama4_vision_model",
            "hidden_size": vision.hidden,
            "intermediate_size": shuffled,
            "num_hidden_layers": vision.layers,
            "num_attention_heads": vision.heads,
            "num_channels": 3,
            "image_size": vision.image_size,
            "patch_size": vision.patch,
            "hidden_act": "gelu",
            "norm_eps": 1e-5,
            "pixel_shuffle_ratio": 0.5,
            "projector_input_dim": vision.projector,
            "projector_output_dim": vision.projector,
            "vision_output_dim": vision.projector,
            "vision_feature_layer": -1,
            "vision_feature_select_strategy": "default",
            "multi_modal_projector_bias": false,
            "rope_theta": 10_000.0,
        },
    });

    let mut w = Weights::default();
    vision_tower(&mut w, "vision_model", &vision);
    w.linear(
        "multi_modal_projector.linear_1",
        text.hidden,
        vision.projector,
        false,
    );
    text_tower(&mut w, "language_model", &text);

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<|begin_of_text|>",
        eos: "<|eot|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor: super::preprocessor(
            "Llama4ImageProcessorFast",
            "Llama4Processor",
            super::HALF,
            super::HALF,
            json!({
                "size": {"height": vision.image_size, "width": vision.image_size},
                "max_patches": 16,
                "resize_to_max_canvas": false,
                "resample": 2,
            }),
        ),
        // mistral.rs sizes the prompt's patch runs from these (defaults 14 and 0.5).
        processor: Some(json!({
            "processor_class": "Llama4Processor",
            "patch_size": vision.patch,
            "pixel_shuffle_ratio": 0.5,
            "fake_image_token": "<|image|>",
            "image_token": "<|patch|>",
        })),
        weights: w,
    }
}

fn vision_tower(w: &mut Weights, prefix: &str, v: &VisionTower) {
    w.linear(
        &format!("{prefix}.patch_embedding.linear"),
        v.hidden,
        3 * v.patch * v.patch,
        false,
    );
    w.matrix(format!("{prefix}.class_embedding"), &[v.hidden]);
    let positions = (v.image_size / v.patch).pow(2) + 1;
    w.matrix(
        format!("{prefix}.positional_embedding_vlm"),
        &[positions, v.hidden],
    );
    w.layer_norm(&format!("{prefix}.layernorm_pre"), v.hidden);
    w.layer_norm(&format!("{prefix}.layernorm_post"), v.hidden);
    for i in 0..v.layers {
        let l = format!("{prefix}.model.layers.{i}");
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            w.linear(&format!("{l}.self_attn.{proj}"), v.hidden, v.hidden, true);
        }
        w.linear(&format!("{l}.mlp.fc1"), 4 * v.hidden, v.hidden, true);
        w.linear(&format!("{l}.mlp.fc2"), v.hidden, 4 * v.hidden, true);
        w.layer_norm(&format!("{l}.input_layernorm"), v.hidden);
        w.layer_norm(&format!("{l}.post_attention_layernorm"), v.hidden);
    }
    let adapter = format!("{prefix}.vision_adapter.mlp");
    w.linear(&format!("{adapter}.fc1"), v.projector, 4 * v.hidden, false);
    w.linear(&format!("{adapter}.fc2"), v.projector, v.projector, false);
}

fn text_tower(w: &mut Weights, prefix: &str, t: &TextDims) {
    let model = format!("{prefix}.model");
    w.matrix(
        format!("{model}.embed_tokens.weight"),
        &[t.vocab_size, t.hidden],
    );
    for i in 0..t.layers {
        let l = format!("{model}.layers.{i}");
        w.attention(&format!("{l}.self_attn"), t.hidden, t.heads(), 1, false);
        w.rms_norm(&format!("{l}.input_layernorm"), t.hidden);
        w.rms_norm(&format!("{l}.post_attention_layernorm"), t.hidden);
        let ff = format!("{l}.feed_forward");
        let mlp = |w: &mut Weights, prefix: &str, width: usize| {
            w.linear(&format!("{prefix}.gate_proj"), width, t.hidden, false);
            w.linear(&format!("{prefix}.up_proj"), width, t.hidden, false);
            w.linear(&format!("{prefix}.down_proj"), t.hidden, width, false);
        };
        if (i + 1) % MOE_STEP == 0 {
            w.linear(&format!("{ff}.router"), EXPERTS, t.hidden, false);
            w.matrix(
                format!("{ff}.experts.gate_up_proj"),
                &[EXPERTS, t.hidden, 2 * t.intermediate],
            );
            w.matrix(
                format!("{ff}.experts.down_proj"),
                &[EXPERTS, t.intermediate, t.hidden],
            );
            mlp(w, &format!("{ff}.shared_expert"), t.intermediate);
        } else {
            mlp(w, &ff, DENSE_INTERMEDIATE);
        }
    }
    w.rms_norm(&format!("{model}.norm"), t.hidden);
    w.output_head(format!("{prefix}.lm_head.weight"), t.vocab_size, t.hidden);
}
