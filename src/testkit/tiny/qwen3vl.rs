//! Qwen3-VL: a ViT with 3-D patch embedding, learned position grid, a 2×2 patch merger plus
//! deepstack mergers that feed early text layers, and a Qwen3 text tower (q/k norms, M-RoPE).
//! The chat template prints `<|vision_start|><|image_pad|><|vision_end|>` per image.

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

const CHAT_TEMPLATE: &str = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}\
{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\
<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

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

pub fn build(scale: Scale) -> TinyModel {
    let (text, mrope, vit) = match scale {
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
        Scale::Real | Scale::Large => (
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
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let merge = 2;
    let merged = vit.hidden * merge * merge;
    let config = json!({
        "architectures": ["Qwen3VLForConditionalGeneration"],
        "model_type": "qwen3_vl",
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

    let pixels = vit.image_side * vit.image_side;
    TinyModel {
        config,
        specials: SPECIALS.to_vec(),
        bos: "<|endoftext|>",
        eos: "<|im_end|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor: json!({
            "image_processor_type": "Qwen2VLImageProcessorFast",
            "processor_class": "Qwen3VLProcessor",
            "do_resize": true,
            "size": {"shortest_edge": pixels, "longest_edge": pixels},
            "min_pixels": pixels,
            "max_pixels": pixels,
            "patch_size": vit.patch,
            "merge_size": merge,
            "temporal_patch_size": 2,
            "do_rescale": true,
            "rescale_factor": 1.0 / 255.0,
            "do_normalize": true,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
            "do_convert_rgb": true,
        }),
        processor: None,
        weights: w,
    }
}
