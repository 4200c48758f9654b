//! LLaVA 1.5 and LLaVA-NeXT: CLIP vision tower, two-layer GELU projector, Llama text tower
//! under `language_model`. mistralrs prefixes `<image>` to the text of each image message and
//! expands it itself, so the chat template only prints text. NeXT adds any-resolution tiling
//! (`image_grid_pinpoints`) and a learned `image_newline`.

use super::tokenizer::Specials;
use super::vision::{CLIP_VIT_L_336, VisionDims, clip_tower, llava_projector};
use super::weights::{Decoder, Weights, decoder_stack};
use super::{Scale, TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &["<s>", "</s>", "<unk>", "<image>"];

/// Vicuna-style template of llava-1.5 / llava-v1.6-vicuna.
const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
{% if message['role'] == 'system' %}{{ message['content'] }}\n\
{% elif message['role'] == 'user' %}USER: {{ message['content'] }}\n\
{% else %}ASSISTANT: {{ message['content'] }}{{ eos_token }}\n{% endif %}{% endfor %}\
{% if add_generation_prompt %}ASSISTANT:{% endif %}";

pub fn build(scale: Scale, next: bool) -> TinyModel {
    let (text, vision) = match scale {
        Scale::Tiny => (TextDims::tiny(SPECIALS.len()), VisionDims::tiny()),
        // llava-1.5-7b / llava-v1.6-vicuna-7b.
        // Large: refused by `build` for every family but llava_onevision.
        Scale::Real | Scale::Large | Scale::Nano => (
            TextDims {
                hidden: 4096,
                intermediate: 11008,
                layers: 32,
                heads: 32,
                kv_heads: 32,
                head_dim: 128,
                vocab_size: 32064,
                max_positions: 4096,
            },
            CLIP_VIT_L_336,
        ),
    };
    let image_token_index = 256 + SPECIALS.iter().position(|s| *s == "<image>").unwrap_or(0);
    let side = vision.image_size;
    let mut config = json!({
        "architectures": [if next { "LlavaNextForConditionalGeneration" } else { "LlavaForConditionalGeneration" }],
        "model_type": if next { "llava_next" } else { "llava" },
        "image_token_index": image_token_index,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default",
        "tie_word_embeddings": false,
        "torch_dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "llama",
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
        })),
        "vision_config": {
            "model_type": "clip_vision_model",
            "hidden_size": vision.hidden,
            "intermediate_size": vision.intermediate,
            "num_hidden_layers": vision.layers,
            "num_attention_heads": vision.heads,
            "image_size": vision.image_size,
            "patch_size": vision.patch,
            "projection_dim": text.hidden,
            "hidden_act": "quick_gelu",
        },
    });
    if next {
        config["image_grid_pinpoints"] =
            json!([[side, 2 * side], [2 * side, side], [2 * side, 2 * side]]);
    }

    let mut w = Weights::default();
    clip_tower(&mut w, "vision_tower.vision_model", &vision);
    llava_projector(&mut w, "multi_modal_projector", vision.hidden, text.hidden);
    if next {
        w.matrix("image_newline", &[text.hidden]);
    }
    decoder_stack(&mut w, "language_model.model", &text, Decoder::Llama, false);
    w.output_head(
        "language_model.lm_head.weight",
        text.vocab_size,
        text.hidden,
    );

    let mut preprocessor = json!({
        "image_processor_type": if next { "LlavaNextImageProcessor" } else { "CLIPImageProcessor" },
        "processor_class": if next { "LlavaNextProcessor" } else { "LlavaProcessor" },
        "do_convert_rgb": true,
        "do_resize": true,
        "size": {"shortest_edge": side},
        "resample": 3,
        "do_center_crop": true,
        "crop_size": {"height": side, "width": side},
        "do_rescale": true,
        "rescale_factor": 1.0 / 255.0,
        "do_normalize": true,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711],
    });
    if next {
        preprocessor["image_grid_pinpoints"] = config["image_grid_pinpoints"].clone();
    }
    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<s>",
        eos: "</s>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor,
        // What transformers' LlavaProcessor needs to expand `<image>` (mistral.rs ignores it).
        processor: Some(json!({
            "processor_class": if next { "LlavaNextProcessor" } else { "LlavaProcessor" },
            "patch_size": vision.patch,
            "vision_feature_select_strategy": "default",
            "num_additional_image_tokens": 1,
        })),
        weights: w,
    }
}
