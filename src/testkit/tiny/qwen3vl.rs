//! Qwen3-VL: a ViT with 3-D patch embedding, learned position grid, a 2×2 patch merger plus
//! deepstack mergers that feed early text layers, and a Qwen3 text tower (q/k norms, M-RoPE).
//! The chat template prints `<|vision_start|><|image_pad|><|vision_end|>` per image.
//! Qwen3-VL-MoE is the same model with a routed mixture of experts in place of each MLP, its
//! experts stacked as the released checkpoints store them: `gate_up_proj` [experts, hidden,
//! 2 × intermediate] and `down_proj` [experts, intermediate, hidden] (transformers 5 keeps the
//! last two dimensions the other way round in memory and transposes on load).

use super::tokenizer::Specials;
use super::weights::{Decoder, Fill, Weights, decoder_stack};
use super::{Scale, TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
];

struct Vit {
    hidden: usize,
    intermediate: usize,
    depth: usize,
    heads: usize,
    patch: usize,
    grid: usize,
    deepstack: Vec<usize>,
    image_side: usize,
}

/// The routed experts of Qwen3-VL-MoE's tiny text tower: 4 experts, 2 per token, each 16
/// wide (unlike 2 × 16, the hidden width 64 tells the stacked axes apart).
const EXPERTS: usize = 4;
const EXPERT_INTERMEDIATE: usize = 16;

pub fn build(scale: Scale, moe: bool) -> TinyModel {
    build_with(scale, moe, true)
}

/// The tiny Qwen3-VL with no deepstack mergers (Qwen3.5's vision tower).
pub(super) fn build_without_deepstack() -> TinyModel {
    build_with(Scale::Tiny, false, false)
}

fn build_with(scale: Scale, moe: bool, deepstack: bool) -> TinyModel {
    let (text, mrope, mut vit) = match scale {
        Scale::Tiny => (
            TextDims::tiny(SPECIALS.len()),
            vec![2, 3, 3],
            Vit {
                hidden: 32,
                intermediate: 64,
                depth: 2,
                heads: 2,
                patch: 16,
                grid: 4,
                deepstack: vec![1],
                image_side: 64,
            },
        ),
        // Qwen3-VL-2B-Instruct.
        // Large: refused by `build` for every family but llava_onevision.
        Scale::Real | Scale::Large | Scale::Nano => (
            TextDims {
                hidden: 2048,
                intermediate: 6144,
                layers: 28,
                heads: 16,
                kv_heads: 8,
                head_dim: 128,
                vocab_size: 151936,
                max_positions: 262144,
            },
            vec![24, 20, 20],
            Vit {
                hidden: 1024,
                intermediate: 4096,
                depth: 24,
                heads: 16,
                patch: 16,
                grid: 48,
                deepstack: vec![5, 11, 17],
                image_side: 512,
            },
        ),
    };
    if !deepstack {
        vit.deepstack.clear();
    }
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let merge = 2;
    let merged = vit.hidden * merge * merge;
    let (class, model_type) = match moe {
        false => ("Qwen3VLForConditionalGeneration", "qwen3_vl"),
        true => ("Qwen3VLMoeForConditionalGeneration", "qwen3_vl_moe"),
    };
    let mut config = json!({
        "architectures": [class],
        "model_type": model_type,
        "image_token_id": id("<|image_pad|>"),
        "video_token_id": id("<|video_pad|>"),
        "vision_start_token_id": id("<|vision_start|>"),
        "vision_end_token_id": id("<|vision_end|>"),
        "tie_word_embeddings": true,
        "torch_dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "qwen3_vl_text",
            "hidden_act": "silu",
            "rms_norm_eps": 1e-6,
            "rope_theta": 5_000_000.0,
            "rope_scaling": {"rope_type": "default", "mrope_section": mrope, "mrope_interleaved": true},
            "attention_bias": false,
            "tie_word_embeddings": true,
        })),
        "vision_config": {
            "model_type": "qwen3_vl",
            "depth": vit.depth,
            "hidden_size": vit.hidden,
            "out_hidden_size": text.hidden,
            "hidden_act": "gelu_pytorch_tanh",
            "intermediate_size": vit.intermediate,
            "num_heads": vit.heads,
            "in_channels": 3,
            "patch_size": vit.patch,
            "spatial_merge_size": merge,
            "temporal_patch_size": 2,
            "num_position_embeddings": vit.grid * vit.grid,
            "deepstack_visual_indexes": vit.deepstack,
        },
    });

    if moe {
        let text_config = &mut config["text_config"];
        text_config["model_type"] = json!("qwen3_vl_moe_text");
        text_config["num_experts"] = json!(EXPERTS);
        text_config["num_experts_per_tok"] = json!(2);
        text_config["moe_intermediate_size"] = json!(EXPERT_INTERMEDIATE);
        text_config["decoder_sparse_step"] = json!(1);
        text_config["mlp_only_layers"] = json!([]);
        text_config["norm_topk_prob"] = json!(true);
        config["vision_config"]["model_type"] = json!("qwen3_vl_moe");
    }

    let mut w = Weights::default();
    let v = "model.visual";
    w.matrix(
        format!("{v}.patch_embed.proj.weight"),
        &[vit.hidden, 3, 2, vit.patch, vit.patch],
    );
    w.tensor(
        format!("{v}.patch_embed.proj.bias"),
        &[vit.hidden],
        Fill::Zeros,
    );
    w.matrix(
        format!("{v}.pos_embed.weight"),
        &[vit.grid * vit.grid, vit.hidden],
    );
    for i in 0..vit.depth {
        let b = format!("{v}.blocks.{i}");
        w.layer_norm(&format!("{b}.norm1"), vit.hidden);
        w.layer_norm(&format!("{b}.norm2"), vit.hidden);
        w.linear(&format!("{b}.attn.qkv"), 3 * vit.hidden, vit.hidden, true);
        w.linear(&format!("{b}.attn.proj"), vit.hidden, vit.hidden, true);
        w.linear(
            &format!("{b}.mlp.linear_fc1"),
            vit.intermediate,
            vit.hidden,
            true,
        );
        w.linear(
            &format!("{b}.mlp.linear_fc2"),
            vit.hidden,
            vit.intermediate,
            true,
        );
    }
    let merger = |w: &mut Weights, prefix: String, norm_dim: usize| {
        w.layer_norm(&format!("{prefix}.norm"), norm_dim);
        w.linear(&format!("{prefix}.linear_fc1"), merged, merged, true);
        w.linear(&format!("{prefix}.linear_fc2"), text.hidden, merged, true);
    };
    merger(&mut w, format!("{v}.merger"), vit.hidden);
    for i in 0..vit.deepstack.len() {
        merger(&mut w, format!("{v}.deepstack_merger_list.{i}"), merged);
    }
    decoder_stack(&mut w, "model.language_model", &text, Decoder::Qwen3, true);
    if moe {
        routed_experts(&mut w, "model.language_model", &text);
    }

    let pixels = vit.image_side * vit.image_side;
    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<|endoftext|>",
        eos: "<|im_end|>",
        chat_template: super::chatml_template(Some("<|vision_start|><|image_pad|><|vision_end|>")),
        tokenizer_extra: json!({}),
        preprocessor: super::preprocessor(
            "Qwen2VLImageProcessorFast",
            "Qwen3VLProcessor",
            super::HALF,
            super::HALF,
            json!({
                "size": {"shortest_edge": pixels, "longest_edge": pixels},
                "min_pixels": pixels,
                "max_pixels": pixels,
                "patch_size": vit.patch,
                "merge_size": merge,
                "temporal_patch_size": 2,
            }),
        ),
        processor: None,
        weights: w,
    }
}

/// Every decoder layer's MLP replaced by a router and stacked experts.
fn routed_experts(w: &mut Weights, prefix: &str, text: &TextDims) {
    for i in 0..text.layers {
        let mlp = format!("{prefix}.layers.{i}.mlp");
        w.remove_under(&format!("{mlp}."));
        w.matrix(format!("{mlp}.gate.weight"), &[EXPERTS, text.hidden]);
        w.matrix(
            format!("{mlp}.experts.gate_up_proj"),
            &[EXPERTS, text.hidden, 2 * EXPERT_INTERMEDIATE],
        );
        w.matrix(
            format!("{mlp}.experts.down_proj"),
            &[EXPERTS, EXPERT_INTERMEDIATE, text.hidden],
        );
    }
}
