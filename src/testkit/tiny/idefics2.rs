//! Idefics 2: SigLIP-style vision tower, a connector (SwiGLU modality projection, then a
//! perceiver resampler whose learned latents attend to the image features and become a fixed
//! number of soft tokens), and a Mistral text tower. The chat template prints `<image>` per
//! image; mistral.rs widens it to `<fake_token_around_image>` + `<image>` × `image_seq_len` +
//! `<fake_token_around_image>`.

use super::tokenizer::Specials;
use super::vision::{VisionDims, siglip_config, siglip_tower};
use super::weights::{Decoder, Heads, Weights, decoder_stack};
use super::{TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<unk>",
    "<s>",
    "</s>",
    "<fake_token_around_image>",
    "<image>",
    "<end_of_utterance>",
];

const CHAT_TEMPLATE: &str = "{% for message in messages %}\
{{ message['role'] | capitalize }}\
{% if message['content'] is string %}: {{ message['content'] }}\
{% else %}{% if message['content'][0]['type'] == 'image' %}:{% else %}: {% endif %}\
{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}\
{% elif part['type'] == 'image' %}<image>{% endif %}{% endfor %}{% endif %}\
<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}";

/// The perceiver resampler: `latents` soft tokens per image, `depth` layers.
struct Perceiver {
    latents: usize,
    depth: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

/// The tiny model (no released checkpoint's dimensions yet: `model tiny` refuses `--dims real`).
pub fn build() -> TinyModel {
    let text = TextDims::tiny(SPECIALS.len());
    let vision = VisionDims::tiny();
    let perceiver = Perceiver {
        latents: 4,
        depth: 1,
        heads: 2,
        kv_heads: 1,
        head_dim: 16,
    };
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let config = json!({
        "architectures": ["Idefics2ForConditionalGeneration"],
        "model_type": "idefics2",
        "image_token_id": id("<image>"),
        "tie_word_embeddings": false,
        "torch_dtype": "float32",
        "text_config": text.hf_config(json!({
            "model_type": "mistral",
            "hidden_act": "silu",
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "sliding_window": 4096,
            "bos_token_id": id("<s>"),
            "eos_token_id": id("</s>"),
            "tie_word_embeddings": false,
        })),
        "vision_config": siglip_config(&vision, "idefics2_vision"),
        "perceiver_config": {
            "model_type": "idefics2_perceiver",
            "hidden_act": "silu",
            "hidden_size": text.hidden,
            "resampler_n_latents": perceiver.latents,
            "resampler_depth": perceiver.depth,
            "resampler_n_heads": perceiver.heads,
            "resampler_head_dim": perceiver.head_dim,
            "num_key_value_heads": perceiver.kv_heads,
            "rms_norm_eps": 1e-6,
            "attention_dropout": 0.0,
        },
    });

    let mut w = Weights::default();
    siglip_tower(&mut w, "model.vision_model", &vision);
    connector(&mut w, "model.connector", &vision, &text, &perceiver);
    decoder_stack(&mut w, "model.text_model", &text, Decoder::Llama, false);
    w.output_head("lm_head.weight", text.vocab_size, text.hidden);

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<s>",
        eos: "<end_of_utterance>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        preprocessor: super::preprocessor(
            "Idefics2ImageProcessor",
            "Idefics2Processor",
            super::HALF,
            super::HALF,
            json!({
                "size": {"shortest_edge": vision.image_size, "longest_edge": vision.image_size},
                "resample": 2,
                "do_image_splitting": false,
                "do_pad": true,
            }),
        ),
        processor: Some(json!({
            "processor_class": "Idefics2Processor",
            "image_seq_len": perceiver.latents,
        })),
        weights: w,
    }
}

/// The modality projection (vision width → text width, SwiGLU 2× wide) and the perceiver.
fn connector(w: &mut Weights, prefix: &str, v: &VisionDims, t: &TextDims, p: &Perceiver) {
    let projection = format!("{prefix}.modality_projection");
    w.linear(
        &format!("{projection}.gate_proj"),
        t.intermediate,
        v.hidden,
        false,
    );
    w.linear(
        &format!("{projection}.up_proj"),
        t.intermediate,
        v.hidden,
        false,
    );
    w.linear(
        &format!("{projection}.down_proj"),
        t.hidden,
        t.intermediate,
        false,
    );
    let resampler = format!("{prefix}.perceiver_resampler");
    w.matrix(format!("{resampler}.latents"), &[p.latents, t.hidden]);
    for i in 0..p.depth {
        let l = format!("{resampler}.layers.{i}");
        w.rms_norm(&format!("{l}.input_latents_norm"), t.hidden);
        w.rms_norm(&format!("{l}.input_context_norm"), t.hidden);
        w.rms_norm(&format!("{l}.post_attention_layernorm"), t.hidden);
        let heads = Heads {
            heads: p.heads,
            kv_heads: p.kv_heads,
            head_dim: p.head_dim,
        };
        w.attention(&format!("{l}.self_attn"), t.hidden, heads, 1, false);
        let mlp = format!("{l}.mlp");
        w.linear(&format!("{mlp}.gate_proj"), 4 * t.hidden, t.hidden, false);
        w.linear(&format!("{mlp}.up_proj"), 4 * t.hidden, t.hidden, false);
        w.linear(&format!("{mlp}.down_proj"), t.hidden, 4 * t.hidden, false);
    }
    w.rms_norm(&format!("{resampler}.norm"), t.hidden);
}
