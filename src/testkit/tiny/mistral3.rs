//! Mistral 3 (Mistral-Small-3.1 vision): Pixtral vision encoder (RMS norms, 2-D RoPE, gated
//! MLP), a projector with RMS norm and a 2×2 patch merger, and a Mistral text tower. The chat
//! template prints `[IMG]` per image; mistralrs expands it into rows of `[IMG]` separated by
//! `[IMG_BREAK]` and closed by `[IMG_END]`.

use super::tokenizer::Specials;
use super::vision::VisionDims;
use super::weights::{Decoder, Weights, decoder_stack};
use super::{Scale, TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<s>",
    "</s>",
    "<unk>",
    "[INST]",
    "[/INST]",
    "[SYSTEM_PROMPT]",
    "[/SYSTEM_PROMPT]",
    "[IMG]",
    "[IMG_BREAK]",
    "[IMG_END]",
];

const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
{% if message['role'] == 'system' %}[SYSTEM_PROMPT]{{ message['content'] }}[/SYSTEM_PROMPT]\
{% elif message['role'] == 'user' %}[INST]\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}[IMG]\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}[/INST]\
{% else %}{{ message['content'] }}{{ eos_token }}{% endif %}{% endfor %}";

pub fn build(scale: Scale) -> TinyModel {
    let (text, px) = match scale {
        Scale::Tiny => (TextDims::tiny(SPECIALS.len()), VisionDims::tiny()),
        // Mistral-Small-3.1-24B (text 40 layers) vision settings.
        // Large: refused by `build` for every family but llava_onevision.
        Scale::Real | Scale::Large | Scale::Nano => (
            TextDims {
                hidden: 5120,
                intermediate: 32768,
                layers: 40,
                heads: 32,
                kv_heads: 8,
                head_dim: 128,
                vocab_size: 131072,
                max_positions: 131072,
            },
            VisionDims {
                hidden: 1024,
                intermediate: 4096,
                layers: 24,
                heads: 16,
                image_size: 1540,
                patch: 14,
            },
        ),
    };
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let merge = 2;
    let config = json!({
        "architectures": ["Mistral3ForConditionalGeneration"],
        "model_type": "mistral3",
        "image_token_index": id("[IMG]"),
        "multimodal_projector_bias": false,
        "projector_hidden_act": "gelu",
        "spatial_merge_size": merge,
        "vision_feature_layer": -1,
        "tie_word_embeddings": false,
        "torch_dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "mistral",
            "hidden_act": "silu",
            "rms_norm_eps": 1e-5,
            "rope_theta": 1_000_000_000.0,
            "sliding_window": null,
            "tie_word_embeddings": false,
        })),
        "vision_config": {
            "model_type": "pixtral",
            "hidden_size": px.hidden,
            "num_channels": 3,
            "image_size": px.image_size,
            "patch_size": px.patch,
            "rope_theta": 10000.0,
            "intermediate_size": px.intermediate,
            "num_hidden_layers": px.layers,
            "head_dim": px.hidden / px.heads,
            "num_attention_heads": px.heads,
            "hidden_act": "silu",
        },
    });

    let mut w = Weights::default();
    let v = "vision_tower";
    w.matrix(
        format!("{v}.patch_conv.weight"),
        &[px.hidden, 3, px.patch, px.patch],
    );
    w.rms_norm(&format!("{v}.ln_pre"), px.hidden);
    for i in 0..px.layers {
        let l = format!("{v}.transformer.layers.{i}");
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            w.linear(
                &format!("{l}.attention.{proj}"),
                px.hidden,
                px.hidden,
                false,
            );
        }
        w.linear(
            &format!("{l}.feed_forward.gate_proj"),
            px.intermediate,
            px.hidden,
            false,
        );
        w.linear(
            &format!("{l}.feed_forward.up_proj"),
            px.intermediate,
            px.hidden,
            false,
        );
        w.linear(
            &format!("{l}.feed_forward.down_proj"),
            px.hidden,
            px.intermediate,
            false,
        );
        w.rms_norm(&format!("{l}.attention_norm"), px.hidden);
        w.rms_norm(&format!("{l}.ffn_norm"), px.hidden);
    }
    let p = "multi_modal_projector";
    w.rms_norm(&format!("{p}.norm"), px.hidden);
    w.linear(
        &format!("{p}.patch_merger.merging_layer"),
        px.hidden,
        px.hidden * merge * merge,
        false,
    );
    w.linear(&format!("{p}.linear_1"), text.hidden, px.hidden, false);
    w.linear(&format!("{p}.linear_2"), text.hidden, text.hidden, false);
    decoder_stack(&mut w, "language_model.model", &text, Decoder::Llama, false);
    w.output_head(
        "language_model.lm_head.weight",
        text.vocab_size,
        text.hidden,
    );

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<s>",
        eos: "</s>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor: super::preprocessor(
            "PixtralImageProcessor",
            "PixtralProcessor",
            super::CLIP_MEAN,
            super::CLIP_STD,
            json!({
                "size": {"longest_edge": px.image_size},
                "patch_size": px.patch,
                "resample": 3,
                "default_to_square": true,
            }),
        ),
        processor: Some(json!({
            "processor_class": "PixtralProcessor",
            "image_token": "[IMG]",
            "image_break_token": "[IMG_BREAK]",
            "image_end_token": "[IMG_END]",
            "patch_size": px.patch,
            "spatial_merge_size": merge,
        })),
        weights: w,
    }
}
