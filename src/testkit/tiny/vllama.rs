//! Llama 3.2 vision (Mllama): a tiled ViT (class token, gated position and tile embeddings, a
//! local and a gated global encoder whose chosen intermediate layers are concatenated to the
//! output), projected to the text width and read by gated cross-attention layers interleaved
//! in a Llama 3 text tower. The image is one `<|image|>` token with the id `vocab_size`: the
//! embedding has 8 rows more than the output head, as in the released checkpoints, which keep
//! the legacy names (`language_model.model.*`, `vision_model.*`).

use super::tokenizer::Specials;
use super::weights::{Decoder, Fill, Heads, Weights, decoder_stack};
use super::{TextDims, TinyModel};
use serde_json::json;

/// Llama 3's specials, padded with reserved tokens so that `<|image|>` comes right after the
/// text vocabulary (256 bytes + 16 specials = 272).
const SPECIALS: &[&str] = &[
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|step_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
    "<|reserved_special_token_2|>",
    "<|reserved_special_token_3|>",
    "<|reserved_special_token_4|>",
    "<|reserved_special_token_5|>",
    "<|reserved_special_token_6|>",
    "<|image|>",
];

const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<|image|>\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\
<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";

/// Rows the text embedding has beyond the output head (the image token and 7 spare).
const EXTRA_EMBEDDINGS: usize = 8;

struct TiledVit {
    hidden: usize,
    intermediate: usize,
    layers: usize,
    global_layers: usize,
    /// 16 as in the released checkpoints: mistral.rs 0.8.1 reads `num_attention_heads`, which
    /// they do not write, and falls back to 16, while transformers reads `attention_heads`.
    heads: usize,
    image_size: usize,
    patch: usize,
    max_tiles: usize,
    intermediate_layers: Vec<usize>,
}

/// The tiny model (no released checkpoint's dimensions yet: `model tiny` refuses `--dims real`).
pub fn build() -> TinyModel {
    let text = TextDims {
        layers: 3,
        vocab_size: 272,
        ..TextDims::tiny(SPECIALS.len())
    };
    let cross_attention_layers = [1usize];
    let vit = TiledVit {
        hidden: 64,
        intermediate: 128,
        layers: 2,
        global_layers: 1,
        heads: 16,
        image_size: 32,
        patch: 8,
        max_tiles: 2,
        intermediate_layers: vec![0],
    };
    let aspect_ratios = [[1, 1], [1, 2], [2, 1]];
    let output_dim = vit.hidden * (vit.intermediate_layers.len() + 1);
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let config = json!({
        "architectures": ["MllamaForConditionalGeneration"],
        "model_type": "mllama",
        "image_token_index": id("<|image|>"),
        "torch_dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "mllama_text_model",
            "cross_attention_layers": cross_attention_layers,
            "hidden_act": "silu",
            "rms_norm_eps": 1e-5,
            "rope_theta": 500_000.0,
            "rope_scaling": {
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
            },
            "bos_token_id": id("<|begin_of_text|>"),
            "eos_token_id": id("<|eot_id|>"),
            "pad_token_id": id("<|finetune_right_pad_id|>"),
            "tie_word_embeddings": false,
        })),
        "vision_config": {
            "model_type": "mllama_vision_model",
            "hidden_size": vit.hidden,
            "intermediate_size": vit.intermediate,
            "num_hidden_layers": vit.layers,
            "num_global_layers": vit.global_layers,
            "attention_heads": vit.heads,
            "num_channels": 3,
            "image_size": vit.image_size,
            "patch_size": vit.patch,
            "max_num_tiles": vit.max_tiles,
            "intermediate_layers_indices": vit.intermediate_layers,
            "supported_aspect_ratios": aspect_ratios,
            "vision_output_dim": output_dim,
            "hidden_act": "gelu",
            "norm_eps": 1e-5,
        },
    });

    let mut w = Weights::default();
    tiled_vit(&mut w, "vision_model", &vit, aspect_ratios.len());
    w.linear("multi_modal_projector", text.hidden, output_dim, true);
    let lm = "language_model.model";
    decoder_stack(&mut w, lm, &text, Decoder::Llama, false);
    cross_attention(&mut w, lm, &text, &cross_attention_layers);
    // The image token and the spare rows sit past the output head's vocabulary.
    for (name, shape, _) in &mut w.tensors {
        if name == &format!("{lm}.embed_tokens.weight") {
            shape[0] = text.vocab_size + EXTRA_EMBEDDINGS;
        }
    }
    w.output_head(
        "language_model.lm_head.weight",
        text.vocab_size,
        text.hidden,
    );

    let tile = vit.image_size;
    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<|begin_of_text|>",
        eos: "<|eot_id|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor: super::preprocessor(
            "MllamaImageProcessor",
            "MllamaProcessor",
            super::HALF,
            super::HALF,
            json!({
                "size": {"height": tile, "width": tile},
                "max_image_tiles": vit.max_tiles,
                "resample": 2,
                "do_pad": true,
            }),
        ),
        processor: Some(json!({"processor_class": "MllamaProcessor"})),
        weights: w,
    }
}

/// Cross-attention layers replace the self-attention of the listed layers: q/k norms, and
/// two tanh gates (ones here, so that the image moves the answer; transformers starts them
/// at zero, which would hide it).
fn cross_attention(w: &mut Weights, prefix: &str, t: &TextDims, layers: &[usize]) {
    for i in layers {
        let l = format!("{prefix}.layers.{i}");
        w.remove_under(&format!("{l}.self_attn."));
        let a = format!("{l}.cross_attn");
        w.attention(&a, t.hidden, t.heads(), 1, false);
        w.rms_norm(&format!("{a}.q_norm"), t.head_dim);
        w.rms_norm(&format!("{a}.k_norm"), t.head_dim);
        w.tensor(format!("{l}.cross_attn_attn_gate"), &[1], Fill::Ones);
        w.tensor(format!("{l}.cross_attn_mlp_gate"), &[1], Fill::Ones);
    }
}

fn tiled_vit(w: &mut Weights, prefix: &str, v: &TiledVit, aspect_ratios: usize) {
    let patches = (v.image_size / v.patch).pow(2) + 1;
    w.matrix(format!("{prefix}.class_embedding"), &[v.hidden]);
    w.matrix(
        format!("{prefix}.patch_embedding.weight"),
        &[v.hidden, 3, v.patch, v.patch],
    );
    let gated = format!("{prefix}.gated_positional_embedding");
    w.matrix(format!("{gated}.embedding"), &[patches, v.hidden]);
    w.tensor(format!("{gated}.gate"), &[1], Fill::Zeros);
    w.matrix(
        format!("{gated}.tile_embedding.weight"),
        &[aspect_ratios + 1, v.max_tiles * patches * v.hidden],
    );
    for tile in [
        "pre_tile_positional_embedding",
        "post_tile_positional_embedding",
    ] {
        w.matrix(
            format!("{prefix}.{tile}.embedding.weight"),
            &[aspect_ratios + 1, v.max_tiles * v.hidden],
        );
        w.tensor(format!("{prefix}.{tile}.gate"), &[1], Fill::Zeros);
    }
    let heads = Heads {
        heads: v.heads,
        kv_heads: v.heads,
        head_dim: v.hidden / v.heads,
    };
    w.layer_norm(&format!("{prefix}.layernorm_pre"), v.hidden);
    w.layer_norm(&format!("{prefix}.layernorm_post"), v.hidden);
    for (encoder, layers, gated) in [
        ("transformer", v.layers, false),
        ("global_transformer", v.global_layers, true),
    ] {
        for i in 0..layers {
            let l = format!("{prefix}.{encoder}.layers.{i}");
            w.attention(&format!("{l}.self_attn"), v.hidden, heads, 1, false);
            w.layer_norm(&format!("{l}.input_layernorm"), v.hidden);
            w.layer_norm(&format!("{l}.post_attention_layernorm"), v.hidden);
            w.linear(&format!("{l}.mlp.fc1"), v.intermediate, v.hidden, true);
            w.linear(&format!("{l}.mlp.fc2"), v.hidden, v.intermediate, true);
            if gated {
                w.tensor(format!("{l}.gate_attn"), &[1], Fill::Zeros);
                w.tensor(format!("{l}.gate_ffn"), &[1], Fill::Zeros);
            }
        }
    }
}
