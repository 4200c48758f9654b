//! Idefics3 / SmolVLM: SigLIP-style vision tower, pixel-shuffle connector, Llama text tower.
//! The chat template prints `<image>` for each image item; mistralrs expands it into
//! `<fake_token_around_image><global-img><image>×image_seq_len<fake_token_around_image>`.

use super::tokenizer::Specials;
use super::vision::{VisionDims, siglip_config, siglip_tower};
use super::weights::{Decoder, Weights, decoder_stack};
use super::{Scale, TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<|im_start|>",
    "<end_of_utterance>",
    "<|endoftext|>",
    "<fake_token_around_image>",
    "<image>",
    "<global-img>",
];

const CHAT_TEMPLATE: &str = "<|im_start|>{% for message in messages %}\
{{ message['role'] | capitalize }}\
{% if message['content'] is string %}: {{ message['content'] }}\
{% else %}{% if message['content'][0]['type'] == 'image' %}:{% else %}: {% endif %}\
{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}\
{% elif part['type'] == 'image' %}<image>{% endif %}{% endfor %}{% endif %}\
<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

pub fn build(scale: Scale) -> TinyModel {
    let (text, vision, scale_factor) = match scale {
        Scale::Tiny => (TextDims::tiny(SPECIALS.len()), VisionDims::tiny(), 2),
        // SmolVLM-256M-Instruct.
        // Large: refused by `build` for every family but llava_onevision.
        Scale::Real | Scale::Large | Scale::Nano => (
            TextDims {
                hidden: 576,
                intermediate: 1536,
                layers: 30,
                heads: 9,
                kv_heads: 3,
                head_dim: 64,
                vocab_size: 49280,
                max_positions: 8192,
            },
            VisionDims {
                hidden: 768,
                intermediate: 3072,
                layers: 12,
                heads: 12,
                image_size: 512,
                patch: 16,
            },
            4,
        ),
    };
    let image_seq_len = vision.patches() / (scale_factor * scale_factor);
    let image_token_id = 256 + SPECIALS.iter().position(|s| *s == "<image>").unwrap_or(0);

    let config = json!({
        "architectures": ["Idefics3ForConditionalGeneration"],
        "model_type": "idefics3",
        "image_token_id": image_token_id,
        "scale_factor": scale_factor,
        "tie_word_embeddings": false,
        "torch_dtype": "float32",
        "vocab_size": text.vocab_size,
        "text_config": text.hf_config(json!({
            "model_type": "llama",
            "architectures": ["VLlamaForCausalLM"],
            "hidden_act": "silu",
            "rms_norm_eps": 1e-5,
            "rope_theta": 100000.0,
            "tie_word_embeddings": false,
        })),
        "vision_config": siglip_config(&vision, "idefics3_vision"),
    });

    let mut w = Weights::default();
    siglip_tower(&mut w, "model.vision_model", &vision);
    w.linear(
        "model.connector.modality_projection.proj",
        text.hidden,
        vision.hidden * scale_factor * scale_factor,
        false,
    );
    decoder_stack(&mut w, "model.text_model", &text, Decoder::Llama, false);
    w.output_head("lm_head.weight", text.vocab_size, text.hidden);

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<|im_start|>",
        eos: "<end_of_utterance>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor: super::preprocessor(
            "Idefics3ImageProcessor",
            "Idefics3Processor",
            super::HALF,
            super::HALF,
            json!({
                "size": {"longest_edge": vision.image_size},
                "resample": 1,
                "do_image_splitting": false,
                "max_image_size": {"longest_edge": vision.image_size},
                "do_pad": true,
            }),
        ),
        processor: Some(
            json!({"processor_class": "Idefics3Processor", "image_seq_len": image_seq_len}),
        ),
        weights: w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_idefics3_has_the_hf_tensor_names_and_shapes_agree() {
        let model = build(Scale::Tiny);
        let names: Vec<&str> = model.weights.names().collect();
        for expected in [
            "model.vision_model.embeddings.patch_embedding.weight",
            "model.vision_model.encoder.layers.1.self_attn.out_proj.bias",
            "model.vision_model.post_layernorm.weight",
            "model.connector.modality_projection.proj.weight",
            "model.text_model.layers.1.mlp.down_proj.weight",
            "model.text_model.norm.weight",
            "lm_head.weight",
        ] {
            assert!(names.contains(&expected), "missing {expected}");
        }
        assert_eq!(model.config["image_token_id"], 260);
        assert_eq!(model.processor.as_ref().unwrap()["image_seq_len"], 4);
        assert_eq!(model.config["text_config"]["vocab_size"], 272);
    }

    #[test]
    fn real_scale_matches_smolvlm_256m_size() {
        let params = build(Scale::Real).weights.parameter_count();
        assert!((240_000_000..270_000_000).contains(&params), "{params}");
    }
}
