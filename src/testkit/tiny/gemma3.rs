//! Gemma 3: SigLIP vision tower, average-pooled soft tokens through an RMS-normed projection,
//! Gemma 3 text tower (q/k norms, four norms per layer, tied embeddings). Gemma's RMSNorm
//! scales by 1 + weight, so norm weights are zeros.

use super::tokenizer::Specials;
use super::vision::{VisionDims, siglip_config, siglip_tower};
use super::weights::{Decoder, Fill, Weights, decoder_stack};
use super::{Scale, TextDims, TinyModel};
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
    let (text, vision, mm_tokens) = match scale {
        Scale::Tiny => (TextDims::tiny(SPECIALS.len()), VisionDims::tiny(), 4),
        // gemma-3-4b-it.
        // Large: refused by `build` for every family but llava_onevision.
        Scale::Real | Scale::Large | Scale::Nano => (
            TextDims {
                hidden: 2560,
                intermediate: 10240,
                layers: 34,
                heads: 8,
                kv_heads: 4,
                head_dim: 256,
                vocab_size: 262208,
                max_positions: 131072,
            },
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
    // Gemma 3 takes SigLIP's patch features, not its pooled head, and ships without the head.
    let mut vision_config = siglip_config(&vision, "siglip_vision_model");
    vision_config["vision_use_head"] = json!(false);
    let config = json!({
        "architectures": ["Gemma3ForConditionalGeneration"],
        "model_type": "gemma3",
        "image_token_index": id("<image_soft_token>"),
        "boi_token_index": id("<start_of_image>"),
        "eoi_token_index": id("<end_of_image>"),
        "mm_tokens_per_image": mm_tokens,
        "torch_dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "gemma3_text",
            "sliding_window": 512,
            "sliding_window_pattern": 6,
            "query_pre_attn_scalar": text.head_dim,
            "rope_theta": 1_000_000.0,
            "rope_local_base_freq": 10_000.0,
            "rms_norm_eps": 1e-6,
            "hidden_activation": "gelu_pytorch_tanh",
            "attention_bias": false,
            "tie_word_embeddings": true,
        })),
        "vision_config": vision_config,
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
    decoder_stack(&mut w, "language_model.model", &text, Decoder::Gemma3, true);

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<bos>",
        eos: "<end_of_turn>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({
            "boi_token": "<start_of_image>",
            "eoi_token": "<end_of_image>",
            "image_token": "<image_soft_token>",
            "extra_special_tokens": {
                "boi_token": "<start_of_image>",
                "eoi_token": "<end_of_image>",
                "image_token": "<image_soft_token>",
            },
        }),
        preprocessor: super::preprocessor(
            "Gemma3ImageProcessor",
            "Gemma3Processor",
            super::HALF,
            super::HALF,
            json!({
                "size": {"height": vision.image_size, "width": vision.image_size},
                "resample": 2,
                "do_pan_and_scan": false,
                "image_seq_length": mm_tokens,
            }),
        ),
        processor: Some(
            json!({"processor_class": "Gemma3Processor", "image_seq_length": mm_tokens}),
        ),
        weights: w,
    }
}
