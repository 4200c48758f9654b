//! Qwen3.5: Qwen3-VL's vision tower without deepstack mergers, and a hybrid text tower where
//! three of every four layers are Gated DeltaNet linear attention (causal conv over q/k/v,
//! decay `A_log`/`dt_bias`, a gated RMSNorm) and the fourth is gated full attention (q_proj
//! twice as wide: queries and their output gate) with M-RoPE on a quarter of each head
//! (`partial_rotary_factor` 0.25, as in every released Qwen3.5). Its decoder norms scale by
//! 1 + weight (zeros here). mistral.rs 0.8.1 cannot run this on CPU (src/engine/arch.rs).

use super::qwen3vl;
use super::weights::{Fill, Weights};
use super::{Scale, TextDims, TinyModel};
use serde_json::json;

/// Gated DeltaNet widths of the tiny tower.
const LINEAR_KEY_HEADS: usize = 2;
const LINEAR_VALUE_HEADS: usize = 4;
const LINEAR_HEAD_DIM: usize = 16;
const CONV_KERNEL: usize = 4;

pub fn build(_scale: Scale) -> TinyModel {
    // Qwen3-VL's tiny model gives the tokenizer, template, processor and vision tower.
    let mut model = qwen3vl::build_without_deepstack();
    let text = TextDims {
        layers: 4,
        ..TextDims::tiny(model.specials.len())
    };
    let layer_types = [
        "linear_attention",
        "linear_attention",
        "linear_attention",
        "full_attention",
    ];
    model.config["architectures"] = json!(["Qwen3_5ForConditionalGeneration"]);
    model.config["model_type"] = json!("qwen3_5");
    model.config["vision_config"]["model_type"] = json!("qwen3_5_vision");
    model.config["text_config"] = text.hf_config(json!({
        "model_type": "qwen3_5_text",
        "layer_types": layer_types,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "attention_bias": false,
        "linear_conv_kernel_dim": CONV_KERNEL,
        "linear_key_head_dim": LINEAR_HEAD_DIM,
        "linear_value_head_dim": LINEAR_HEAD_DIM,
        "linear_num_key_heads": LINEAR_KEY_HEADS,
        "linear_num_value_heads": LINEAR_VALUE_HEADS,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10_000_000.0,
            "mrope_section": [1, 1, 0],
            "mrope_interleaved": true,
            "partial_rotary_factor": 0.25,
        },
        "tie_word_embeddings": true,
    }));
    let lm = "model.language_model";
    model
        .weights
        .tensors
        .retain(|(name, _, _)| !name.starts_with(&format!("{lm}.")));
    hybrid_text_tower(&mut model.weights, lm, &text, &layer_types);
    model
}

fn hybrid_text_tower(w: &mut Weights, prefix: &str, t: &TextDims, layer_types: &[&str]) {
    // Zero-centred RMSNorm: the scale is 1 + weight.
    let norm = |w: &mut Weights, name: String, dim: usize| w.tensor(name, &[dim], Fill::Zeros);
    w.output_head(
        format!("{prefix}.embed_tokens.weight"),
        t.vocab_size,
        t.hidden,
    );
    let key_dim = LINEAR_KEY_HEADS * LINEAR_HEAD_DIM;
    let value_dim = LINEAR_VALUE_HEADS * LINEAR_HEAD_DIM;
    let conv_dim = 2 * key_dim + value_dim;
    for (i, kind) in layer_types.iter().enumerate() {
        let l = format!("{prefix}.layers.{i}");
        if *kind == "linear_attention" {
            let a = format!("{l}.linear_attn");
            w.tensor(format!("{a}.A_log"), &[LINEAR_VALUE_HEADS], Fill::Zeros);
            w.tensor(format!("{a}.dt_bias"), &[LINEAR_VALUE_HEADS], Fill::Ones);
            w.matrix(format!("{a}.conv1d.weight"), &[conv_dim, 1, CONV_KERNEL]);
            w.linear(&format!("{a}.in_proj_qkv"), conv_dim, t.hidden, false);
            w.linear(&format!("{a}.in_proj_z"), value_dim, t.hidden, false);
            w.linear(
                &format!("{a}.in_proj_a"),
                LINEAR_VALUE_HEADS,
                t.hidden,
                false,
            );
            w.linear(
                &format!("{a}.in_proj_b"),
                LINEAR_VALUE_HEADS,
                t.hidden,
                false,
            );
            w.rms_norm(&format!("{a}.norm"), LINEAR_HEAD_DIM);
            w.linear(&format!("{a}.out_proj"), t.hidden, value_dim, false);
        } else {
            let a = format!("{l}.self_attn");
            w.linear(
                &format!("{a}.q_proj"),
                2 * t.heads * t.head_dim,
                t.hidden,
                false,
            );
            w.linear(
                &format!("{a}.k_proj"),
                t.kv_heads * t.head_dim,
                t.hidden,
                false,
            );
            w.linear(
                &format!("{a}.v_proj"),
                t.kv_heads * t.head_dim,
                t.hidden,
                false,
            );
            w.linear(
                &format!("{a}.o_proj"),
                t.hidden,
                t.heads * t.head_dim,
                false,
            );
            norm(w, format!("{a}.q_norm.weight"), t.head_dim);
            norm(w, format!("{a}.k_norm.weight"), t.head_dim);
        }
        w.linear(
            &format!("{l}.mlp.gate_proj"),
            t.intermediate,
            t.hidden,
            false,
        );
        w.linear(&format!("{l}.mlp.up_proj"), t.intermediate, t.hidden, false);
        w.linear(
            &format!("{l}.mlp.down_proj"),
            t.hidden,
            t.intermediate,
            false,
        );
        norm(w, format!("{l}.input_layernorm.weight"), t.hidden);
        norm(w, format!("{l}.post_attention_layernorm.weight"), t.hidden);
    }
    norm(w, format!("{prefix}.norm.weight"), t.hidden);
}
