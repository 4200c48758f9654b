//! Gemma 4: a vision tower of RMS-normed pre/post-norm layers over flattened patches with a
//! 2-D position table, pooled into soft tokens and projected into a Gemma 4 text tower
//! (sliding and full attention layers, per-layer input embeddings, a scalar per layer, tied
//! embeddings). Unlike Gemma 3, every RMSNorm scales by its weight, so norm weights are ones.
//! Turns are `<|turn>role … <turn|>`; the template prints one `<|image|>` per image, which the
//! processor widens to `<|image>` + soft tokens + `<image|>`.

use super::weights::{Decoder, Fill, Weights, decoder_stack};
use super::{TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<bos>",
    "<eos>",
    "<pad>",
    "<|turn>",
    "<turn|>",
    "<|image>",
    "<image|>",
    "<|image|>",
    "<|audio>",
    "<audio|>",
    "<|audio|>",
    "<|video|>",
];

const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}\
<|turn>{{ role }}\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<|image|>\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\
<turn|>\n{% endfor %}{% if add_generation_prompt %}<|turn>model\n{% endif %}";

/// The vision tower's own dimensions (its attention has key/value heads and RMS norms).
struct VisionTower {
    hidden: usize,
    intermediate: usize,
    layers: usize,
    heads: usize,
    head_dim: usize,
    patch: usize,
    pooling: usize,
    /// Rows of each axis of the learned 2-D position table.
    positions: usize,
    /// Soft tokens per image.
    soft_tokens: usize,
}

/// Width of the per-layer input embedding each decoder layer adds.
const PER_LAYER_INPUT: usize = 16;

/// The tiny model (no released checkpoint's dimensions yet: `model tiny` refuses `--dims real`).
pub fn build() -> TinyModel {
    let text = TextDims::tiny(SPECIALS.len());
    let vision = VisionTower {
        hidden: 32,
        intermediate: 64,
        layers: 2,
        heads: 2,
        head_dim: 16,
        patch: 8,
        pooling: 2,
        positions: 64,
        // The smallest budget Gemma 4's processor offers (70, 140, 280, 560, 1120).
        soft_tokens: 70,
    };
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let per_layer_total = text.layers * PER_LAYER_INPUT;
    let config = json!({
        "architectures": ["Gemma4ForConditionalGeneration"],
        "model_type": "gemma4",
        "boi_token_id": id("<|image>"),
        "eoi_token_id": id("<image|>"),
        "image_token_id": id("<|image|>"),
        "video_token_id": id("<|video|>"),
        "boa_token_id": id("<|audio>"),
        "eoa_token_index": id("<audio|>"),
        "audio_token_id": id("<|audio|>"),
        "audio_config": null,
        "tie_word_embeddings": true,
        "dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "gemma4_text",
            "global_head_dim": text.head_dim,
            "hidden_size_per_layer_input": PER_LAYER_INPUT,
            "vocab_size_per_layer_input": text.vocab_size,
            "layer_types": ["sliding_attention", "full_attention"],
            "sliding_window": 64,
            "num_kv_shared_layers": 0,
            "attention_bias": false,
            "attention_k_eq_v": false,
            "enable_moe_block": false,
            "use_double_wide_mlp": false,
            "final_logit_softcapping": null,
            "hidden_activation": "gelu_pytorch_tanh",
            "rms_norm_eps": 1e-6,
            "rope_parameters": {
                "full_attention": {"partial_rotary_factor": 0.25, "rope_theta": 1_000_000.0, "rope_type": "proportional"},
                "sliding_attention": {"rope_theta": 10_000.0, "rope_type": "default"},
            },
            "bos_token_id": id("<bos>"),
            "eos_token_id": id("<turn|>"),
            "pad_token_id": id("<pad>"),
            "tie_word_embeddings": true,
        })),
        "vision_config": {
            "model_type": "gemma4_vision",
            "hidden_size": vision.hidden,
            "intermediate_size": vision.intermediate,
            "num_hidden_layers": vision.layers,
            "num_attention_heads": vision.heads,
            "num_key_value_heads": vision.heads,
            "head_dim": vision.head_dim,
            "patch_size": vision.patch,
            "pooling_kernel_size": vision.pooling,
            "position_embedding_size": vision.positions,
            "default_output_length": vision.soft_tokens,
            "hidden_activation": "gelu_pytorch_tanh",
            "rms_norm_eps": 1e-6,
            "attention_bias": false,
            "standardize": false,
            "use_clipped_linears": false,
            "rope_parameters": {"rope_theta": 100.0, "rope_type": "axial"},
        },
    });

    let mut w = Weights::default();
    vision_tower(&mut w, "model.vision_tower", &vision);
    w.matrix(
        "model.embed_vision.embedding_projection.weight",
        &[text.hidden, vision.hidden],
    );
    let lm = "model.language_model";
    decoder_stack(&mut w, lm, &text, Decoder::Gemma4, true);
    w.matrix(
        format!("{lm}.embed_tokens_per_layer.weight"),
        &[text.vocab_size, per_layer_total],
    );
    w.matrix(
        format!("{lm}.per_layer_model_projection.weight"),
        &[per_layer_total, text.hidden],
    );
    w.rms_norm(&format!("{lm}.per_layer_projection_norm"), PER_LAYER_INPUT);
    for i in 0..text.layers {
        let l = format!("{lm}.layers.{i}");
        w.matrix(
            format!("{l}.per_layer_input_gate.weight"),
            &[PER_LAYER_INPUT, text.hidden],
        );
        w.matrix(
            format!("{l}.per_layer_projection.weight"),
            &[text.hidden, PER_LAYER_INPUT],
        );
        w.rms_norm(&format!("{l}.post_per_layer_input_norm"), text.hidden);
        w.tensor(format!("{l}.layer_scalar"), &[1], Fill::Ones);
    }

    // transformers' Gemma4Processor reads each role by name, the audio ones included.
    let mut named_tokens = json!({
        "boi_token": "<|image>",
        "eoi_token": "<image|>",
        "image_token": "<|image|>",
        "boa_token": "<|audio>",
        "eoa_token": "<audio|>",
        "audio_token": "<|audio|>",
    });
    named_tokens["extra_special_tokens"] = named_tokens.clone();

    TinyModel {
        config,
        specials: SPECIALS.to_vec(),
        bos: "<bos>",
        eos: "<turn|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: named_tokens,
        // Pixels go in as 0..1: the tower itself maps them to -1..1.
        preprocessor: super::preprocessor(
            "Gemma4ImageProcessor",
            "Gemma4Processor",
            [0.0; 3],
            [1.0; 3],
            json!({
                "do_normalize": false,
                "resample": 3,
                "max_soft_tokens": vision.soft_tokens,
                "patch_size": vision.patch,
                "pooling_kernel_size": vision.pooling,
            }),
        ),
        processor: Some(json!({
            "processor_class": "Gemma4Processor",
            "image_seq_length": vision.soft_tokens,
        })),
        weights: w,
    }
}

/// Patches flattened and projected (no convolution), a learned table per axis, then
/// pre/post-normed layers whose projections sit under `.linear` as transformers names them.
fn vision_tower(w: &mut Weights, prefix: &str, v: &VisionTower) {
    w.matrix(
        format!("{prefix}.patch_embedder.input_proj.weight"),
        &[v.hidden, 3 * v.patch * v.patch],
    );
    w.matrix(
        format!("{prefix}.patch_embedder.position_embedding_table"),
        &[2, v.positions, v.hidden],
    );
    let attention = v.heads * v.head_dim;
    for i in 0..v.layers {
        let l = format!("{prefix}.encoder.layers.{i}");
        for (proj, out_dim, in_dim) in [
            ("self_attn.q_proj", attention, v.hidden),
            ("self_attn.k_proj", attention, v.hidden),
            ("self_attn.v_proj", attention, v.hidden),
            ("self_attn.o_proj", v.hidden, attention),
            ("mlp.gate_proj", v.intermediate, v.hidden),
            ("mlp.up_proj", v.intermediate, v.hidden),
            ("mlp.down_proj", v.hidden, v.intermediate),
        ] {
            w.matrix(format!("{l}.{proj}.linear.weight"), &[out_dim, in_dim]);
        }
        w.rms_norm(&format!("{l}.self_attn.q_norm"), v.head_dim);
        w.rms_norm(&format!("{l}.self_attn.k_norm"), v.head_dim);
        for norm in [
            "input_layernorm",
            "post_attention_layernorm",
            "pre_feedforward_layernorm",
            "post_feedforward_layernorm",
        ] {
            w.rms_norm(&format!("{l}.{norm}"), v.hidden);
        }
    }
}
