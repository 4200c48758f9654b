//! Qwen3.5: Qwen3-VL's vision tower without deepstack mergers, and a hybrid text tower where
//! three of every four layers are Gated DeltaNet linear attention (causal conv over q/k/v,
//! decay `A_log`/`dt_bias`, a gated RMSNorm) and the fourth is gated full attention (q_proj
//! twice as wide: queries and their output gate) with M-RoPE on a quarter of each head
//! (`partial_rotary_factor` 0.25, as in every released Qwen3.5). Its decoder norms scale by
//! 1 + weight (zeros here). Qwen3.5-MoE puts a routed mixture of experts plus a gated shared
//! expert in every MLP, one tensor per expert as transformers' `save_pretrained` writes them.
//! mistral.rs 0.8.1 cannot run either (src/engine/arch.rs).

use super::qwen3vl;
use super::weights::{Fill, Weights};
use super::{TextDims, TinyModel};
use serde_json::json;

/// Gated DeltaNet widths of the tiny tower.
const LINEAR_KEY_HEADS: usize = 2;
const LINEAR_VALUE_HEADS: usize = 4;
const LINEAR_HEAD_DIM: usize = 16;
const CONV_KERNEL: usize = 4;

/// Qwen3.5-MoE's tiny mixture: 4 experts, 2 per token, each and the shared one 16 wide.
const EXPERTS: usize = 4;
const EXPERT_INTERMEDIATE: usize = 16;

/// The tiny model (no released checkpoint's dimensions yet: `model tiny` refuses `--dims real`).
pub fn build(moe: bool) -> TinyModel {
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
    let (class, model_type) = match moe {
        false => ("Qwen3_5ForConditionalGeneration", "qwen3_5"),
        true => ("Qwen3_5MoeForConditionalGeneration", "qwen3_5_moe"),
    };
    model.config["architectures"] = json!([class]);
    model.config["model_type"] = json!(model_type);
    model.config["vision_config"]["model_type"] = json!(format!("{model_type}_vision"));
    model.config["text_config"] = text.hf_config(json!({
        "model_type": format!("{model_type}_text"),
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
    // Qwen3-VL's text tower gives way to the hybrid one.
    model.weights.remove_under(&format!("{lm}."));
    if moe {
        let text_config = &mut model.config["text_config"];
        text_config["num_experts"] = json!(EXPERTS);
        text_config["num_experts_per_tok"] = json!(2);
        text_config["moe_intermediate_size"] = json!(EXPERT_INTERMEDIATE);
        text_config["shared_expert_intermediate_size"] = json!(EXPERT_INTERMEDIATE);
    }
    hybrid_text_tower(&mut model.weights, lm, &text, &layer_types, moe);
    model
}

/// A SwiGLU MLP under `prefix`.
fn mlp(w: &mut Weights, prefix: &str, hidden: usize, intermediate: usize) {
    w.linear(&format!("{prefix}.gate_proj"), intermediate, hidden, false);
    w.linear(&format!("{prefix}.up_proj"), intermediate, hidden, false);
    w.linear(&format!("{prefix}.down_proj"), hidden, intermediate, false);
}

fn hybrid_text_tower(w: &mut Weights, prefix: &str, t: &TextDims, layer_types: &[&str], moe: bool) {
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
            w.attention(&a, t.hidden, t.heads(), 2, false);
            norm(w, format!("{a}.q_norm.weight"), t.head_dim);
            norm(w, format!("{a}.k_norm.weight"), t.head_dim);
        }
        if moe {
            w.linear(&format!("{l}.mlp.gate"), EXPERTS, t.hidden, false);
            for e in 0..EXPERTS {
                mlp(
                    w,
                    &format!("{l}.mlp.experts.{e}"),
                    t.hidden,
                    EXPERT_INTERMEDIATE,
                );
            }
            mlp(
                w,
                &format!("{l}.mlp.shared_expert"),
                t.hidden,
                EXPERT_INTERMEDIATE,
            );
            w.linear(&format!("{l}.mlp.shared_expert_gate"), 1, t.hidden, false);
        } else {
            mlp(w, &format!("{l}.mlp"), t.hidden, t.intermediate);
        }
        norm(w, format!("{l}.input_layernorm.weight"), t.hidden);
        norm(w, format!("{l}.post_attention_layernorm.weight"), t.hidden);
    }
    norm(w, format!("{prefix}.norm.weight"), t.hidden);
}
