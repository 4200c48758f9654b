//! Phi-4 multimodal (`Phi4MMForCausalLM` as microsoft/Phi-4-multimodal-instruct ships it, remote
//! code): a Phi-4-mini text tower whose projections carry two static LoRA adapters beside the
//! base weight (`base_layer`, `lora_A.vision`/`lora_B.vision`, `lora_A.speech`/`lora_B.speech`;
//! mistral.rs merges the vision one into the base), a SigLIP-so400m/14 tower at 448 px whose
//! patches are average-pooled 2 × 2, framed by learned separators and projected by a two-layer
//! MLP, and a Conformer speech encoder with its own projections. mistral.rs 0.8.1 hard-codes
//! the vision tower's dimensions (phi4/image_embedding.rs:90) and the image and audio token ids
//! (200010, 200011), so this model is tiny in its text and speech towers only: the vision
//! tower is written whole (428 M parameters, 1.7 GB) and the vocabulary has the released
//! 200,064 rows. The user's text carries `<|image_1|>`; the processor replaces it by the
//! image's tokens.

use super::tokenizer::Specials;
use super::vision::{SIGLIP_SO400M_448, siglip_pooling_head, siglip_tower};
use super::weights::{Fill, Weights};
use super::{TextDims, TinyModel};
use serde_json::{Value, json};

/// The released special tokens from `<|endoftext|>` (199,999) to `<|tag|>` (200,028).
/// `<|endoftextN|>` sits at 200,000 + N: mistral.rs looks for the image at 200,010 and the
/// audio at 200,011.
const SPECIALS: &[&str] = &[
    "<|endoftext|>",
    "<|endoftext0|>",
    "<|endoftext1|>",
    "<|endoftext2|>",
    "<|endoftext3|>",
    "<|endoftext4|>",
    "<|endoftext5|>",
    "<|endoftext6|>",
    "<|endoftext7|>",
    "<|endoftext8|>",
    "<|endoftext9|>",
    "<|endoftext10|>",
    "<|endoftext11|>",
    "<|endoftext12|>",
    "<|endoftext13|>",
    "<|endoftext14|>",
    "<|endoftext15|>",
    "<|endoftext16|>",
    "<|endoftext17|>",
    "<|endofprompt|>",
    "<|assistant|>",
    "<|end|>",
    "<|user|>",
    "<|system|>",
    "<|tool|>",
    "<|/tool|>",
    "<|tool_call|>",
    "<|/tool_call|>",
    "<|tool_response|>",
    "<|tag|>",
];
const FIRST_ID: u32 = 199_999;
const VOCAB_SIZE: usize = 200_064;

/// The released template: turns without newlines, string content (the image tag is in it).
const CHAT_TEMPLATE: &str = "{% for message in messages %}\
{% if message['role'] == 'system' and 'tools' in message and message['tools'] is not none %}\
{{ '<|' + message['role'] + '|>' + message['content'] + '<|tool|>' + message['tools'] + '<|/tool|>' + '<|end|>' }}\
{% else %}{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}\
{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}";

/// A static LoRA adapter as the config names it: the layers it wraps, its rank and scale.
struct Adapter {
    name: &'static str,
    layers: &'static str,
    rank: usize,
    alpha: usize,
}

/// The released adapters at a tenth-ish of their rank (256 and 320), alpha / rank kept at 2.
const ADAPTERS: [Adapter; 2] = [
    Adapter {
        name: "vision",
        layers: r"layers.*((self_attn\.(qkv_proj|o_proj))|(mlp\.(gate_up_proj|down_proj)))",
        rank: 8,
        alpha: 16,
    },
    Adapter {
        name: "speech",
        layers: r"((layers.*self_attn\.(qkv|o)_proj)|(layers.*mlp\.(gate_up|down)_proj))",
        rank: 10,
        alpha: 20,
    },
];

/// The tiny Conformer: 32 wide, 2 heads, 2 blocks, over the released 80 mel bins and 8×
/// time reduction.
struct Speech {
    width: usize,
    heads: usize,
    feed_forward: usize,
    blocks: usize,
    mel_bins: usize,
    bias_max_distance: usize,
}

const SPEECH: Speech = Speech {
    width: 32,
    heads: 2,
    feed_forward: 48,
    blocks: 2,
    mel_bins: 80,
    bias_max_distance: 500,
};

pub fn build() -> TinyModel {
    let text = TextDims {
        vocab_size: VOCAB_SIZE,
        ..TextDims::tiny(SPECIALS.len())
    };
    let specials = Specials::starting_at(FIRST_ID, SPECIALS);
    let id = |token: &str| specials.id(token);
    // Phi-4-mini rotates three quarters of each head: one factor per rotated pair.
    let rotary_factor = 0.75;
    let factors = vec![1.0; (text.head_dim as f64 * rotary_factor) as usize / 2];
    let lora =
        |a: &Adapter| json!({"dp": 0.0, "layer": a.layers, "lora_alpha": a.alpha, "r": a.rank});
    let mut config = text.hf_config(json!({
        "architectures": ["Phi4MMForCausalLM"],
        "model_type": "phi4mm",
        "auto_map": {
            "AutoConfig": "configuration_phi4mm.Phi4MMConfig",
            "AutoModelForCausalLM": "modeling_phi4mm.Phi4MMForCausalLM",
            "AutoTokenizer": "Xenova/gpt-4o",
        },
        "attention_bias": false,
        "attention_dropout": 0.0,
        "embd_pdrop": 0.0,
        "resid_pdrop": 0.0,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10_000.0,
        "rope_scaling": {"type": "longrope", "short_factor": factors, "long_factor": factors},
        "partial_rotary_factor": rotary_factor,
        "max_position_embeddings": 131_072,
        "original_max_position_embeddings": 4096,
        "sliding_window": 262_144,
        "full_attn_mod": 1,
        "interpolate_factor": 1,
        "lm_head_bias": false,
        "mlp_bias": false,
        "bos_token_id": id("<|endoftext|>"),
        "eos_token_id": id("<|endoftext|>"),
        "pad_token_id": id("<|endoftext|>"),
        "tie_word_embeddings": true,
        "use_cache": true,
        "torch_dtype": "float32",
        "img_processor": null,
        "embd_layer": {
            "embedding_cls": "image_audio",
            "image_embd_layer": {
                "crop_size": SIGLIP_SO400M_448.image_size,
                "embedding_cls": "tune_image",
                "enable_gradient_checkpointing": true,
                "hd_transform_order": "sub_glb",
                "image_token_compression_cls": "avg_pool_2d",
                "projection_cls": "mlp",
                "use_conv_downsample": false,
                "use_hd_transform": true,
                "with_learnable_separator": true,
            },
            "audio_embd_layer": {
                "compression_rate": 8,
                "downsample_rate": 1,
                "embedding_cls": "audio",
                "enable_gradient_checkpointing": true,
                "projection_cls": "mlp",
                "use_conv_downsample": false,
                "use_qformer": false,
            },
        },
        "audio_processor": {"name": "cascades", "config": speech_config(&SPEECH)},
        "vision_lora": lora(&ADAPTERS[0]),
        "speech_lora": lora(&ADAPTERS[1]),
    }));
    // Released configs derive the head width from hidden / heads.
    if let Some(fields) = config.as_object_mut() {
        fields.remove("head_dim");
    }

    let mut w = Weights::default();
    w.output_head("model.embed_tokens.weight", text.vocab_size, text.hidden);
    super::phi3v::phi3_layers(&mut w, &text, |w, name, out_dim, in_dim| {
        w.matrix(format!("{name}.base_layer.weight"), &[out_dim, in_dim]);
        for a in &ADAPTERS {
            w.matrix(
                format!("{name}.lora_A.{}.weight", a.name),
                &[a.rank, in_dim],
            );
            w.matrix(
                format!("{name}.lora_B.{}.weight", a.name),
                &[out_dim, a.rank],
            );
        }
    });
    w.tensor("model.norm.weight", &[text.hidden], Fill::Ones);
    image_embedding(&mut w, text.hidden);
    audio_embedding(&mut w, text.hidden, &SPEECH);

    TinyModel {
        config,
        specials,
        bos: "<|endoftext|>",
        eos: "<|end|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({}),
        // The released file: mistral.rs normalises by 0.5 itself and reads `dynamic_hd`.
        preprocessor: json!({
            "auto_map": {
                "AutoProcessor": "processing_phi4mm.Phi4MMProcessor",
                "AutoImageProcessor": "processing_phi4mm.Phi4MMImageProcessor",
                "AutoFeatureExtractor": "processing_phi4mm.Phi4MMAudioFeatureExtractor",
            },
            "image_processor_type": "Phi4MMImageProcessor",
            "processor_class": "Phi4MMProcessor",
            "feature_extractor_type": "Phi4MMAudioFeatureExtractor",
            "audio_compression_rate": 8,
            "audio_downsample_rate": 1,
            "audio_feat_stride": 1,
            "dynamic_hd": 36,
        }),
        processor: None,
        weights: w,
    }
}

/// The SigLIP tower (with its unused pooling head, as shipped), the separators and the
/// projector under `model.embed_tokens_extend.image_embed`.
fn image_embedding(w: &mut Weights, text_hidden: usize) {
    let embed = "model.embed_tokens_extend.image_embed";
    let vision = SIGLIP_SO400M_448;
    let tower = format!("{embed}.img_processor");
    siglip_tower(w, &tower, &vision);
    siglip_pooling_head(w, &tower, &vision);
    // Average pooling keeps the tower's width (no 2 × 2 concatenation as in Phi-3.5).
    w.matrix(format!("{embed}.glb_GN"), &[1, 1, vision.hidden]);
    w.matrix(format!("{embed}.sub_GN"), &[1, 1, 1, vision.hidden]);
    w.linear(
        &format!("{embed}.img_projection.0"),
        text_hidden,
        vision.hidden,
        true,
    );
    w.linear(
        &format!("{embed}.img_projection.2"),
        text_hidden,
        text_hidden,
        true,
    );
}

/// `audio_processor.config` as released (1024 wide, 16 heads, 24 blocks there).
fn speech_config(s: &Speech) -> Value {
    json!({
        "activation": "swish",
        "activation_checkpointing": {"interval": 1, "module": "transformer", "offload": false},
        "attention_dim": s.width,
        "attention_heads": s.heads,
        "batch_norm": false,
        "bias_in_glu": true,
        "causal": true,
        "chunk_size": -1,
        "cnn_layer_norm": true,
        "conv_activation": "swish",
        "conv_glu_type": "swish",
        "depthwise_multiplier": 1,
        "depthwise_seperable_out_channel": s.width,
        "dropout_rate": 0.0,
        "encoder_embedding_config": {"input_size": s.mel_bins},
        "ext_pw_kernel_size": 1,
        "ext_pw_out_channel": s.width,
        "input_layer": "nemo_conv",
        "input_size": s.mel_bins,
        "kernel_size": 3,
        "left_chunk": 18,
        "linear_units": s.feed_forward,
        "nemo_conv_settings": {"conv_channels": s.width},
        "num_blocks": s.blocks,
        "relative_attention_bias_args": {"t5_bias_max_distance": s.bias_max_distance, "type": "t5"},
        "time_reduction": 8,
    })
}

/// The Conformer under `model.embed_tokens_extend.audio_embed`: global mel normalisation, a
/// 3-stage depthwise-striding subsampler (8× in time), T5 relative position biases, blocks of
/// half feed-forward / attention / convolution / half feed-forward, and the speech and vision
/// projections to the text width.
fn audio_embedding(w: &mut Weights, text_hidden: usize, s: &Speech) {
    let audio = "model.embed_tokens_extend.audio_embed";
    let enc = format!("{audio}.encoder");
    let c = s.width;
    w.tensor(
        format!("{enc}.encoder_embedding.global_mean"),
        &[s.mel_bins],
        Fill::Zeros,
    );
    w.tensor(
        format!("{enc}.encoder_embedding.global_invstd"),
        &[s.mel_bins],
        Fill::Ones,
    );
    // conv.0 then (depthwise, pointwise) twice; the activations take indices 1, 4 and 7.
    let conv = |w: &mut Weights, idx: usize, shape: &[usize]| {
        w.matrix(format!("{enc}.embed.conv.{idx}.weight"), shape);
        w.tensor(format!("{enc}.embed.conv.{idx}.bias"), &[c], Fill::Zeros);
    };
    conv(w, 0, &[c, 1, 3, 3]);
    for first in [2, 5] {
        conv(w, first, &[c, 1, 3, 3]);
        conv(w, first + 1, &[c, c, 1, 1]);
    }
    // Three stride-2 stages leave 80 mel bins at 10.
    let bins_left = s.mel_bins / 8;
    w.linear(&format!("{enc}.embed.out"), c, c * bins_left, true);
    w.matrix(
        format!("{enc}.relative_attention_bias_layer.bias_values.weight"),
        &[2 * s.bias_max_distance, s.heads],
    );
    for i in 0..s.blocks {
        let b = format!("{enc}.encoders.{i}");
        for ff in ["feed_forward_in", "feed_forward_out"] {
            w.layer_norm(&format!("{b}.{ff}.layer_norm"), c);
            w.linear(
                &format!("{b}.{ff}.net.0.linear"),
                2 * s.feed_forward,
                c,
                true,
            );
            w.linear(&format!("{b}.{ff}.net.2"), c, s.feed_forward, true);
        }
        for proj in ["linear_q", "linear_k", "linear_v", "linear_out"] {
            w.linear(&format!("{b}.self_attn.{proj}"), c, c, true);
        }
        let conv = format!("{b}.conv");
        w.layer_norm(&format!("{conv}.layer_norm"), c);
        w.tensor(format!("{conv}.glu.b1"), &[1, c, 1], Fill::Zeros);
        w.tensor(format!("{conv}.glu.b2"), &[1, c, 1], Fill::Zeros);
        w.matrix(format!("{conv}.glu.ext_pw_conv_1d.weight"), &[2 * c, c, 1]);
        w.tensor(
            format!("{conv}.glu.ext_pw_conv_1d.bias"),
            &[2 * c],
            Fill::Zeros,
        );
        w.matrix(format!("{conv}.dw_sep_conv_1d.dw_conv.weight"), &[c, 1, 3]);
        w.tensor(
            format!("{conv}.dw_sep_conv_1d.dw_conv.bias"),
            &[c],
            Fill::Zeros,
        );
        w.matrix(format!("{conv}.dw_sep_conv_1d.pw_conv.weight"), &[c, c, 1]);
        w.tensor(
            format!("{conv}.dw_sep_conv_1d.pw_conv.bias"),
            &[c],
            Fill::Zeros,
        );
        w.matrix(format!("{conv}.ext_pw_conv_1d.weight"), &[c, c, 1]);
        w.tensor(format!("{conv}.ext_pw_conv_1d.bias"), &[c], Fill::Zeros);
        w.layer_norm(&format!("{b}.layer_norm_att"), c);
        w.layer_norm(&format!("{b}.layer_norm"), c);
    }
    for mode in ["speech", "vision"] {
        let proj = format!("{audio}.audio_projection.{mode}");
        w.linear(&format!("{proj}.0"), text_hidden, c, true);
        w.linear(&format!("{proj}.2"), text_hidden, text_hidden, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(model: &TinyModel, name: &str) -> Option<Vec<usize>> {
        model.weights.shape(name)
    }

    #[test]
    fn image_and_audio_tokens_sit_where_mistral_rs_looks() {
        let model = build();
        // phi4/image_embedding.rs and phi4/audio_embedding.rs hard-code these ids.
        assert_eq!(model.special_id("<|endoftext10|>"), 200_010);
        assert_eq!(model.special_id("<|endoftext11|>"), 200_011);
        assert_eq!(model.special_id("<|assistant|>"), 200_019);
        assert_eq!(model.special_id("<|end|>"), 200_020);
        assert_eq!(model.special_id("<|user|>"), 200_021);
        assert_eq!(model.special_id("<|tag|>"), 200_028);
        assert_eq!(
            shape(&model, "model.embed_tokens.weight"),
            Some(vec![VOCAB_SIZE, 64])
        );
        assert_eq!(model.config["vocab_size"], VOCAB_SIZE);
    }

    #[test]
    fn the_vision_tower_is_the_one_mistral_rs_hard_codes() {
        let model = build();
        let tower = "model.embed_tokens_extend.image_embed.img_processor";
        assert_eq!(
            shape(
                &model,
                &format!("{tower}.embeddings.position_embedding.weight")
            ),
            Some(vec![1024, 1152])
        );
        assert!(shape(&model, &format!("{tower}.encoder.layers.26.mlp.fc1.weight")).is_some());
        assert!(shape(&model, &format!("{tower}.encoder.layers.27.mlp.fc1.weight")).is_none());
        // Every text projection is a base weight with both adapters beside it.
        let qkv = "model.layers.1.self_attn.qkv_proj";
        assert_eq!(
            shape(&model, &format!("{qkv}.base_layer.weight")),
            Some(vec![128, 64])
        );
        assert_eq!(
            shape(&model, &format!("{qkv}.lora_B.speech.weight")),
            Some(vec![128, 10])
        );
        assert!(shape(&model, &format!("{qkv}.weight")).is_none());
    }
}
