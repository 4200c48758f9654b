//! LLaVA-OneVision (radio-llava): SigLIP tower, two-layer GELU projector, a learned
//! `image_newline`, Qwen2 text tower, anyres tiling; tensor names as transformers 5.23's
//! `save_pretrained` writes them (`vision_tower.embeddings…`, `multi_modal_projector`,
//! `image_newline`, `language_model.model…`, `language_model.lm_head`).
//! The chat template is llava-hf's: images first, then the text, in ChatML.

use super::tokenizer::Specials;
use super::vision::{VisionDims, llava_projector, siglip_config, siglip_tower};
use super::weights::WeightDtype;
use super::weights::{Decoder, Weights, decoder_stack};
use super::{Scale, TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<image>",
    "<video>",
];

/// llava-hf/llava-onevision-qwen2-*-ov-hf's template (without its `{% generation %}` markers,
/// which only transformers' training masks read).
pub const CHAT_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}\
{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}\
{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\\n' + content['text'] }}{% endfor %}\
{{'<|im_end|>'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// SigLIP-so400m at 384 px, the vision tower of every released LLaVA-OneVision.
fn so400m_384() -> VisionDims {
    VisionDims {
        hidden: 1152,
        intermediate: 4304,
        layers: 26,
        heads: 16,
        image_size: 384,
        patch: 14,
    }
}

/// The model at `scale`, with `merges` learnt tokens in the vocabulary after the specials.
pub fn build(scale: Scale, merges: usize) -> TinyModel {
    let learnt = SPECIALS.len() + merges;
    let (text, vision, rope_theta, tied) = match scale {
        Scale::Tiny => (
            TextDims::tiny(learnt),
            VisionDims {
                hidden: 32,
                intermediate: 64,
                layers: 2,
                heads: 2,
                image_size: 56,
                patch: 14,
            },
            10000.0,
            false,
        ),
        // radio-llava-nano: 1.6 M parameters, 128-px tiles of 16-px patches (a 132-px cutout
        // seen nearly at full resolution: 64-px tiles halve the beam to two pixels, and trained
        // alike it then told radio galaxies from the sky's priors no better than chance), a
        // byte-level vocabulary.
        Scale::Nano => (
            TextDims {
                hidden: 128,
                intermediate: 512,
                layers: 4,
                heads: 4,
                kv_heads: 2,
                head_dim: 32,
                ..TextDims::tiny(learnt)
            },
            VisionDims {
                hidden: 96,
                intermediate: 384,
                layers: 4,
                heads: 3,
                image_size: 128,
                patch: 16,
            },
            10000.0,
            false,
        ),
        // llava-onevision-qwen2-0.5b-ov: Qwen2-0.5B (tied head) and SigLIP-so400m at 384 px.
        Scale::Real => (
            TextDims {
                hidden: 896,
                intermediate: 4864,
                layers: 24,
                heads: 14,
                kv_heads: 2,
                head_dim: 64,
                vocab_size: 151936,
                max_positions: 32768,
            },
            so400m_384(),
            1_000_000.0,
            true,
        ),
        // llava-onevision-qwen2-7b-ov: Qwen2-7B (untied head), the same SigLIP.
        Scale::Large => (
            TextDims {
                hidden: 3584,
                intermediate: 18944,
                layers: 28,
                heads: 28,
                kv_heads: 4,
                head_dim: 128,
                vocab_size: 152064,
                max_positions: 32768,
            },
            so400m_384(),
            1_000_000.0,
            false,
        ),
    };
    let image_token_index = 256 + SPECIALS.iter().position(|s| *s == "<image>").unwrap_or(0);
    let tile = vision.image_size;
    // The nano model sees every image as one tile beside its base view, whatever its size:
    // cutouts are square, and a fixed 136 image positions keep training and answers cheap.
    let grid = if scale == Scale::Nano { 1 } else { 3 };
    let pinpoints: Vec<[usize; 2]> = (1..=grid)
        .flat_map(|r| (1..=grid).map(move |c| [r * tile, c * tile]))
        .collect();
    let mut vision_config = siglip_config(&vision, "siglip_vision_model");
    vision_config["vision_use_head"] = json!(false);
    let config = json!({
        "architectures": ["LlavaOnevisionForConditionalGeneration"],
        "model_type": "llava_onevision",
        "image_token_index": image_token_index,
        "video_token_index": image_token_index + 1,
        "projector_hidden_act": "gelu",
        "vision_feature_layer": -1,
        "vision_feature_select_strategy": "full",
        "vision_aspect_ratio": "anyres_max_9",
        "multimodal_projector_bias": true,
        "image_grid_pinpoints": pinpoints,
        "tie_word_embeddings": tied,
        "dtype": if scale == Scale::Large { "bfloat16" } else { "float32" },
        "text_config": text.hf_config(json!({
            "model_type": "qwen2",
            "hidden_act": "silu",
            "rms_norm_eps": 1e-6,
            "rope_parameters": {"rope_theta": rope_theta, "rope_type": "default"},
            "use_sliding_window": false,
            "tie_word_embeddings": tied,
        })),
        "vision_config": vision_config,
    });

    let mut w = Weights::default();
    if scale == Scale::Large {
        w.dtype = WeightDtype::Bf16;
    }
    siglip_tower(&mut w, "vision_tower", &vision);
    llava_projector(&mut w, "multi_modal_projector", vision.hidden, text.hidden);
    w.matrix("image_newline", &[text.hidden]);
    decoder_stack(&mut w, "language_model.model", &text, Decoder::Qwen2, tied);
    if !tied {
        w.output_head(
            "language_model.lm_head.weight",
            text.vocab_size,
            text.hidden,
        );
    }

    let image_processor = json!({
        "image_processor_type": "LlavaOnevisionImageProcessor",
        "do_convert_rgb": true,
        "do_resize": true,
        "size": {"height": tile, "width": tile},
        "resample": 3,
        "do_rescale": true,
        "rescale_factor": 1.0 / 255.0,
        "do_normalize": true,
        "do_pad": true,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "image_grid_pinpoints": pinpoints,
    });
    let side = vision.image_size / vision.patch;
    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<|endoftext|>",
        eos: "<|im_end|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        // transformers 5 keeps the image (and video) processor settings in processor_config.json.
        preprocessor: serde_json::Value::Null,
        processor: Some(json!({
            "processor_class": "LlavaOnevisionProcessor",
            "image_processor": image_processor,
            "video_processor": {
                "video_processor_type": "LlavaOnevisionVideoProcessor",
                "size": {"height": tile, "width": tile},
                "resample": 3,
                "rescale_factor": 1.0 / 255.0,
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
                "do_convert_rgb": true, "do_normalize": true, "do_rescale": true, "do_resize": true,
                "do_sample_frames": false, "return_metadata": false,
            },
            "image_token": "<image>",
            "video_token": "<video>",
            "num_image_tokens": side * side,
            "vision_feature_select_strategy": "full",
            "vision_aspect_ratio": "anyres_max_9",
        })),
        weights: w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_scale_matches_llava_onevision_7b_in_bf16() {
        let model = build(Scale::Large, 0);
        let params = model.weights.parameter_count();
        // llava-onevision-qwen2-7b-ov: 8.03 B parameters (Qwen2-7B, SigLIP-so400m, projector).
        assert!((8_000_000_000..8_060_000_000).contains(&params), "{params}");
        assert_eq!(model.weights.dtype, WeightDtype::Bf16);
        assert_eq!(model.config["dtype"], "bfloat16");
        assert_eq!(model.config["text_config"]["tie_word_embeddings"], false);
        assert!(
            model
                .weights
                .names()
                .any(|n| n == "language_model.lm_head.weight")
        );
    }

    #[test]
    fn nano_is_the_demo_base_one_tile_per_image_within_the_budget() {
        let model = build(Scale::Nano, 0);
        let params = model.weights.parameter_count();
        assert!((1_500_000..1_700_000).contains(&params), "{params}");
        assert_eq!(model.config["image_grid_pinpoints"], json!([[128, 128]]));
        assert_eq!(model.config["vision_config"]["patch_size"], 16);
        let processor = model.processor.as_ref().unwrap();
        assert_eq!(processor["num_image_tokens"], 64);
        assert!(matches!(
            crate::testkit::tiny::build("gemma3", Scale::Nano).err(),
            Some(crate::testkit::tiny::TinyError::OnlyLlavaOnevision(
                "nano",
                _
            ))
        ));
    }

    #[test]
    fn large_dims_are_refused_for_other_families() {
        let err = crate::testkit::tiny::build("idefics3", Scale::Large).err();
        assert!(matches!(
            err,
            Some(crate::testkit::tiny::TinyError::OnlyLlavaOnevision("7b", _))
        ));
    }
}
