//! Gemma 3: SigLIP vision tower, average-pooled soft tokens through an RMS-normed projection,
//! Gemma 3 text tower (q/k norms, four norms per layer, tied embeddings). Gemma's RMSNorm
//! scales by 1 + weight, so norm weights are zeros.

use super::vision::{VisionDims, siglip_config, siglip_tower};
use super::weights::{Fill, Weights};
use super::{Scale, TextDims, TinyModel, tokenizer::padded_vocab};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<bos>",
    "<eos>",
    "<pad>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<start_of_image>",
    "<end_of_image>",
    "<image_soft_token>",
];

const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}\
<start_of_turn>{{ role }}\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<start_of_image>\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\
<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";

pub fn build(scale: Scale) -> TinyModel {
    let (text, head_dim, vision, mm_tokens) = match scale {
        Scale::Tiny => (
            TextDims {
                hidden: 64,
                intermediate: 128,
                layers: 2,
                heads: 4,
                kv_heads: 2,
                vocab_size: padded_vocab(SPECIALS.len()),
                max_positions: 2048,
            },
            16,
            VisionDims {
                hidden: 32,
                intermediate: 64,
                layers: 2,
                heads: 2,
                image_size: 32,
                patch: 8,
            },
            4,
        ),
        // gemma-3-4b-it.
        Scale::Real => (
            TextDims {
                hidden: 2560,
                intermediate: 10240,
                layers: 34,
                heads: 8,
                kv_heads: 4,
                vocab_size: 262208,
                max_positions: 131072,
            },
            256,
            VisionDims {
                hidden: 1152,
                intermediate: 4304,
                layers: 27,
                heads: 16,
                image_size: 896,
                patch: 14,
            },
            256,
        ),
    };
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let config = json!({
        "architectures": ["Gemma3ForConditionalGeneration"],
        "model_type": "gemma3",
        "image_token_index": id("<image_soft_token>"),
        "boi_token_index": id("<start_of_image>"),
        "eoi_token_index": id("<end_of_image>"),
        "mm_tokens_per_image": mm_tokens,
        "torch_dtype": "float32",
        "text_config": {
            "model_type": "gemma3_text",
            "hidden_size": text.hidden,
            "intermediate_size": text.intermediate,
            "num_hidden_layers": text.layers,
            "num_attention_heads": text.heads,
            "num_key_value_heads": text.kv_heads,
            "head_dim": head_dim,
            "vocab_size": text.vocab_size,
            "sliding_window": 512,
            "sliding_window_pattern": 6,
            "query_pre_attn_scalar": head_dim,
            "rope_theta": 1_000_000.0,
            "rope_local_base_freq": 10_000.0,
            "rms_norm_eps": 1e-6,
            "max_position_embeddings": text.max_positions,
            "hidden_activation": "gelu_pytorch_tanh",
            "attention_bias": false,
            "tie_word_embeddings": true,
        },
        "vision_config": siglip_config(&vision, "siglip_vision_model"),
    });

    let mut w = Weights::default();
    siglip_tower(&mut w, "vision_tower.vision_model", &vision);
    w.matrix(
        "multi_modal_projector.mm_input_projection_weight",
        &[vision.hidden, text.hidden],
    );
    w.tensor(
        "multi_modal_projector.mm_soft_emb_norm.weight",
        &[vision.hidden],
        Fill::Zeros,
    );
    let m = "language_model.model";
    // Tied: the embedding is also the output head.
    w.output_head(
        format!("{m}.embed_tokens.weight"),
        text.vocab_size,
        text.hidden,
    );
    for i in 0..text.layers {
        let l = format!("{m}.layers.{i}");
        w.linear(
            &format!("{l}.self_attn.q_proj"),
            text.heads * head_dim,
            text.hidden,
            false,
        );
        w.linear(
            &format!("{l}.self_attn.k_proj"),
            text.kv_heads * head_dim,
            text.hidden,
            false,
        );
        w.linear(
            &format!("{l}.self_attn.v_proj"),
            text.kv_heads * head_dim,
            text.hidden,
            false,
        );
        w.linear(
            &format!("{l}.self_attn.o_proj"),
            text.hidden,
            text.heads * head_dim,
            false,
        );
        w.tensor(
            format!("{l}.self_attn.q_norm.weight"),
            &[head_dim],
            Fill::Zeros,
        );
        w.tensor(
            format!("{l}.self_attn.k_norm.weight"),
            &[head_dim],
            Fill::Zeros,
        );
        w.linear(
            &format!("{l}.mlp.gate_proj"),
            text.intermediate,
            text.hidden,
            false,
        );
        w.linear(
            &format!("{l}.mlp.up_proj"),
            text.intermediate,
            text.hidden,
            false,
        );
        w.linear(
            &format!("{l}.mlp.down_proj"),
            text.hidden,
            text.intermediate,
            false,
        );
        for norm in [
            "input_layernorm",
            "post_attention_layernorm",
            "pre_feedforward_layernorm",
            "post_feedforward_layernorm",
        ] {
            w.tensor(format!("{l}.{norm}.weight"), &[text.hidden], Fill::Zeros);
        }
    }
    w.tensor(format!("{m}.norm.weight"), &[text.hidden], Fill::Zeros);

    TinyModel {
        config,
        specials: SPECIALS.to_vec(),
        bos: "<bos>",
        eos: "<end_of_turn>",
        chat_template: CHAT_TEMPLATE.to_string(),
        preprocessor: json!({
            "image_processor_type": "Gemma3ImageProcessor",
            "processor_class": "Gemma3Processor",
            "do_convert_rgb": true,
            "do_resize": true,
            "size": {"height": vision.image_size, "width": vision.image_size},
            "resample": 2,
            "do_rescale": true,
            "rescale_factor": 1.0 / 255.0,
            "do_normalize": true,
            "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5],
            "do_pan_and_scan": false,
            "image_seq_length": mm_tokens,
        }),
        processor: Some(
            json!({"processor_class": "Gemma3Processor", "image_seq_length": mm_tokens}),
        ),
        weights: w,
    }
}
