//! Gemma 3n (`Gemma3nForConditionalGeneration`, as google/gemma-3n-E2B-it ships it): a Gemma 3n
//! text tower (AltUp's four parallel streams with their router and coefficients, LAuReL's
//! low-rank residual, per-layer input embeddings, KV sharing across the last layers, activation
//! sparsity in the first ones), the MobileNetV5-300M vision tower with a multimodal embedder
//! into the text width, and the USM-style Conformer audio tower with its own embedder.
//! mistral.rs 0.8.1 hard-codes the vision tower (gemma3n/vision.rs:842) and the image and audio
//! token ids (262145, 262273, inside vision and audio vocabularies from 262144 and 262272), so
//! the vision tower is written whole and the vocabulary has the released 262,400 rows; the text
//! and audio towers are tiny.

use super::mobilenet::{self, mobilenet_v5_300m};
use super::tokenizer::Specials;
use super::weights::{Decoder, Fill, Weights, decoder_stack};
use super::{TextDims, TinyModel};
use serde_json::{Value, json};

const TEXT_SPECIALS: &[&str] = &[
    "<pad>",
    "<eos>",
    "<bos>",
    "<unk>",
    "<start_of_turn>",
    "<end_of_turn>",
];
/// The released vocabulary: Gemma 3's 262,144 text tokens, then 128 vision and 128 audio ids.
const VOCAB_SIZE: usize = 262_400;
const TEXT_VOCAB: usize = 262_144;
const VISION_OFFSET: u32 = 262_144;
const AUDIO_OFFSET: u32 = 262_272;
const MODALITY_VOCAB: usize = 128;

const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}\
<start_of_turn>{{ role }}\n\
{% if message['content'] is string %}{{ message['content'] | trim }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'audio' %}<audio_soft_token>\
{% elif part['type'] == 'image' %}<image_soft_token>\
{% elif part['type'] == 'text' %}{{ part['text'] | trim }}{% endif %}{% endfor %}{% endif %}\
<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";

/// The tiny text tower's Gemma 3n parts (E2B: 4 streams, rank 64, 256 per layer).
const ALTUP_STREAMS: usize = 4;
const LAUREL_RANK: usize = 4;
const PER_LAYER_WIDTH: usize = 8;
/// Sliding and full attention as E2B interleaves them; the last two reuse the keys and values
/// of the last unshared layer of their kind.
const LAYER_TYPES: [&str; 5] = [
    "sliding_attention",
    "sliding_attention",
    "full_attention",
    "sliding_attention",
    "full_attention",
];
const KV_SHARED_LAYERS: usize = 2;

/// The tiny audio tower (E2B: 1536 wide, 8 heads, 12 blocks, sub-sampling channels 128 and 32).
struct Audio {
    width: usize,
    heads: usize,
    blocks: usize,
    channels: [usize; 2],
    mel_bins: usize,
    conv_kernel: usize,
}

const AUDIO: Audio = Audio {
    width: 32,
    heads: 2,
    blocks: 2,
    channels: [8, 4],
    mel_bins: 128,
    conv_kernel: 5,
};

pub fn build() -> TinyModel {
    let text = TextDims {
        layers: LAYER_TYPES.len(),
        vocab_size: VOCAB_SIZE,
        max_positions: 32_768,
        ..TextDims::tiny(TEXT_SPECIALS.len())
    };
    let specials = Specials::after_bytes(TEXT_SPECIALS)
        .and(255_999, &["<start_of_image>", "<start_of_audio>"])
        .and(VISION_OFFSET, &["<end_of_image>", "<image_soft_token>"])
        .and(AUDIO_OFFSET, &["<end_of_audio>", "<audio_soft_token>"]);
    let id = |token: &str| specials.id(token);
    // The first layers keep the top 5 % of their MLP activations, as in E2B's first ten.
    let sparsity: Vec<f64> = (0..text.layers)
        .map(|i| if i < 2 { 0.95 } else { 0.0 })
        .collect();
    let mut text_config = text.hf_config(json!({
        "model_type": "gemma3n_text",
        "intermediate_size": vec![text.intermediate; text.layers],
        "layer_types": LAYER_TYPES,
        "num_kv_shared_layers": KV_SHARED_LAYERS,
        "activation_sparsity_pattern": sparsity,
        "altup_num_inputs": ALTUP_STREAMS,
        "altup_active_idx": 0,
        "altup_coef_clip": 120.0,
        "altup_correct_scale": true,
        "altup_lr_multiplier": 1.0,
        "laurel_rank": LAUREL_RANK,
        "hidden_size_per_layer_input": PER_LAYER_WIDTH,
        "vocab_size_per_layer_input": TEXT_VOCAB,
        "final_logit_softcapping": 30.0,
        "query_pre_attn_scalar": text.head_dim,
        "sliding_window": 512,
        "rope_theta": 1_000_000.0,
        "rope_local_base_freq": 10_000.0,
        "rope_scaling": null,
        "rms_norm_eps": 1e-6,
        "hidden_activation": "gelu_pytorch_tanh",
        "attention_bias": false,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": true,
        "torch_dtype": "float32",
    }));
    text_config["bos_token_id"] = json!(id("<bos>"));
    text_config["eos_token_id"] = json!(id("<eos>"));
    text_config["pad_token_id"] = json!(id("<pad>"));
    let config = json!({
        "architectures": ["Gemma3nForConditionalGeneration"],
        "model_type": "gemma3n",
        "image_token_id": id("<image_soft_token>"),
        "boi_token_id": id("<start_of_image>"),
        "eoi_token_id": id("<end_of_image>"),
        "audio_token_id": id("<audio_soft_token>"),
        "boa_token_id": id("<start_of_audio>"),
        "eoa_token_id": id("<end_of_audio>"),
        "eos_token_id": [id("<eos>"), id("<end_of_turn>")],
        "vision_soft_tokens_per_image": 256,
        "audio_soft_tokens_per_image": 188,
        "initializer_range": 0.02,
        "torch_dtype": "float32",
        "text_config": text_config,
        "vision_config": {
            "model_type": "gemma3n_vision",
            "architecture": "mobilenetv5_300m_enc",
            "do_pooling": false,
            "hidden_size": mobilenet::WIDTH,
            "initializer_range": 0.02,
            "model_args": null,
            "num_classes": 2,
            "label_names": ["LABEL_0", "LABEL_1"],
            "rms_norm_eps": 1e-6,
            "vocab_offset": VISION_OFFSET,
            "vocab_size": MODALITY_VOCAB,
        },
        "audio_config": audio_config(&AUDIO),
    });

    let mut w = Weights::default();
    let lm = "model.language_model";
    decoder_stack(&mut w, lm, &text, Decoder::Gemma4, true);
    // AltUp scales every stream to the magnitude of the token's embedding: no row may be zero.
    let embed = format!("{lm}.embed_tokens.weight");
    w.remove_under(&embed);
    w.tensor(
        embed,
        &[text.vocab_size, text.hidden],
        Fill::PrintableEmbedding,
    );
    gemma3n_text_parts(&mut w, lm, &text);
    mobilenet_v5_300m(&mut w, "model.vision_tower.timm_model");
    audio_tower(&mut w, "model.audio_tower", &AUDIO);
    embedder(&mut w, "model.embed_vision", mobilenet::WIDTH, text.hidden);
    embedder(&mut w, "model.embed_audio", AUDIO.width, text.hidden);

    TinyModel {
        config,
        specials,
        bos: "<bos>",
        eos: "<end_of_turn>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: json!({
            "extra_special_tokens": {
                "audio_token": "<audio_soft_token>",
                "boa_token": "<start_of_audio>",
                "boi_token": "<start_of_image>",
                "eoa_token": "<end_of_audio>",
                "eoi_token": "<end_of_image>",
                "image_token": "<image_soft_token>",
            },
        }),
        preprocessor: preprocessor_config(),
        processor: Some(json!({
            "processor_class": "Gemma3nProcessor",
            "image_seq_length": 256,
            "audio_seq_length": 188,
        })),
        weights: w,
    }
}

/// What a Gemma 3n layer has beyond Gemma 4's (AltUp, LAuReL, the per-layer input), and the
/// model-level AltUp and per-layer projections.
fn gemma3n_text_parts(w: &mut Weights, lm: &str, text: &TextDims) {
    let (hidden, streams) = (text.hidden, ALTUP_STREAMS);
    let norm = |w: &mut Weights, name: String, dim: usize| w.tensor(name, &[dim], Fill::Ones);
    for i in 0..text.layers {
        let l = format!("{lm}.layers.{i}");
        norm(w, format!("{l}.altup.correct_output_scale"), hidden);
        w.matrix(
            format!("{l}.altup.correction_coefs.weight"),
            &[streams, streams],
        );
        w.matrix(
            format!("{l}.altup.prediction_coefs.weight"),
            &[streams * streams, streams],
        );
        w.matrix(
            format!("{l}.altup.modality_router.weight"),
            &[streams, hidden],
        );
        norm(w, format!("{l}.altup.router_norm.weight"), hidden);
        w.matrix(
            format!("{l}.laurel.linear_left.weight"),
            &[LAUREL_RANK, hidden],
        );
        w.matrix(
            format!("{l}.laurel.linear_right.weight"),
            &[hidden, LAUREL_RANK],
        );
        norm(w, format!("{l}.laurel.post_laurel_norm.weight"), hidden);
        w.matrix(
            format!("{l}.per_layer_input_gate.weight"),
            &[PER_LAYER_WIDTH, hidden],
        );
        w.matrix(
            format!("{l}.per_layer_projection.weight"),
            &[hidden, PER_LAYER_WIDTH],
        );
        norm(w, format!("{l}.post_per_layer_input_norm.weight"), hidden);
    }
    let per_layer = text.layers * PER_LAYER_WIDTH;
    w.matrix(
        format!("{lm}.embed_tokens_per_layer.weight"),
        &[TEXT_VOCAB, per_layer],
    );
    w.matrix(
        format!("{lm}.per_layer_model_projection.weight"),
        &[per_layer, hidden],
    );
    norm(
        w,
        format!("{lm}.per_layer_projection_norm.weight"),
        PER_LAYER_WIDTH,
    );
    for kind in ["altup_projections", "altup_unembed_projections"] {
        for k in 0..streams - 1 {
            w.matrix(format!("{lm}.{kind}.{k}.weight"), &[hidden, hidden]);
        }
    }
}

/// A modality's embedder into the text width: its own 128-token vocabulary (`hard` tokens),
/// RMS norms for hard tokens and for the tower's soft features, the projection.
fn embedder(w: &mut Weights, prefix: &str, width: usize, text_hidden: usize) {
    w.matrix(
        format!("{prefix}.embedding.weight"),
        &[MODALITY_VOCAB, width],
    );
    for norm in ["hard_embedding_norm", "soft_embedding_norm"] {
        w.tensor(format!("{prefix}.{norm}.weight"), &[width], Fill::Ones);
    }
    w.matrix(
        format!("{prefix}.embedding_projection.weight"),
        &[text_hidden, width],
    );
}

fn audio_config(a: &Audio) -> Value {
    json!({
        "model_type": "gemma3n_audio",
        "input_feat_size": a.mel_bins,
        "hidden_size": a.width,
        "conf_num_attention_heads": a.heads,
        "conf_num_hidden_layers": a.blocks,
        "conf_attention_chunk_size": 12,
        "conf_attention_context_left": 13,
        "conf_attention_context_right": 0,
        "conf_attention_invalid_logits_value": -1e9,
        "conf_attention_logit_cap": 50.0,
        "conf_conv_kernel_size": a.conv_kernel,
        "conf_reduction_factor": 4,
        "conf_residual_weight": 0.5,
        "gradient_clipping": 10_000_000_000.0,
        "rms_norm_eps": 1e-6,
        "sscp_conv_channel_size": a.channels,
        "sscp_conv_group_norm_eps": 0.001,
        "sscp_conv_kernel_size": [[3, 3], [3, 3]],
        "sscp_conv_stride_size": [[2, 2], [2, 2]],
        "vocab_offset": AUDIO_OFFSET,
        "vocab_size": MODALITY_VOCAB,
    })
}

/// The Conformer: two strided 3×3 convolutions over the mel spectrogram and a projection,
/// then blocks of half feed-forward, chunked local attention with relative positions and a
/// per-dimension query scale, a lightweight depthwise convolution, half feed-forward.
fn audio_tower(w: &mut Weights, prefix: &str, a: &Audio) {
    let norm = |w: &mut Weights, name: String, dim: usize| w.tensor(name, &[dim], Fill::Ones);
    let sub = format!("{prefix}.subsample_conv_projection");
    let mut channels_in = 1;
    for (i, channels) in a.channels.into_iter().enumerate() {
        w.matrix(
            format!("{sub}.conv_{i}.conv.weight"),
            &[channels, channels_in, 3, 3],
        );
        norm(w, format!("{sub}.conv_{i}.norm.weight"), channels);
        channels_in = channels;
    }
    // Two stride-2 convolutions leave a quarter of the mel bins.
    let bins_left = a.mel_bins / 4;
    w.matrix(
        format!("{sub}.input_proj_linear.weight"),
        &[a.width, channels_in * bins_left],
    );
    let c = a.width;
    for i in 0..a.blocks {
        let b = format!("{prefix}.conformer.{i}");
        for ffw in ["ffw_layer_start", "ffw_layer_end"] {
            norm(w, format!("{b}.{ffw}.pre_layer_norm.weight"), c);
            w.matrix(format!("{b}.{ffw}.ffw_layer_1.weight"), &[4 * c, c]);
            w.matrix(format!("{b}.{ffw}.ffw_layer_2.weight"), &[c, 4 * c]);
            norm(w, format!("{b}.{ffw}.post_layer_norm.weight"), c);
        }
        let att = format!("{b}.attention");
        norm(w, format!("{att}.pre_attn_norm.weight"), c);
        w.tensor(
            format!("{att}.attn.per_dim_scale"),
            &[c / a.heads],
            Fill::Zeros,
        );
        w.matrix(
            format!("{att}.attn.relative_position_embedding.pos_proj.weight"),
            &[c, c],
        );
        for proj in ["q_proj", "k_proj", "v_proj"] {
            w.matrix(format!("{att}.attn.{proj}.weight"), &[c, c]);
        }
        w.matrix(format!("{att}.post.weight"), &[c, c]);
        norm(w, format!("{att}.post_norm.weight"), c);
        let conv = format!("{b}.lconv1d");
        norm(w, format!("{conv}.pre_layer_norm.weight"), c);
        w.matrix(format!("{conv}.linear_start.weight"), &[2 * c, c]);
        w.matrix(
            format!("{conv}.depthwise_conv1d.weight"),
            &[c, 1, a.conv_kernel],
        );
        norm(w, format!("{conv}.conv_norm.weight"), c);
        w.matrix(format!("{conv}.linear_end.weight"), &[c, c]);
        norm(w, format!("{b}.norm.weight"), c);
    }
}

/// The released preprocessor_config.json: SigLIP's fast image processor at 768 × 768 without
/// normalisation (the tower takes pixels in [0, 1]) and the audio feature extractor, in one file.
fn preprocessor_config() -> Value {
    json!({
        "processor_class": "Gemma3nProcessor",
        "image_processor_type": "SiglipImageProcessorFast",
        "feature_extractor_type": "Gemma3nAudioFeatureExtractor",
        "do_convert_rgb": null,
        "do_resize": true,
        "size": {"height": 768, "width": 768},
        "resample": 2,
        "do_rescale": true,
        "rescale_factor": 1.0 / 255.0,
        "do_normalize": false,
        "image_mean": super::HALF,
        "image_std": super::HALF,
        "image_seq_length": 256,
        "feature_size": 128,
        "sampling_rate": 16_000,
        "padding_value": 0.0,
        "padding_side": "right",
        "return_attention_mask": true,
        "frame_length": 512,
        "hop_length": 160,
        "fft_length": 1024,
        "fft_overdrive": true,
        "dither": 0.0,
        "input_scale_factor": 1.0,
        "mel_floor": 1e-5,
        "min_frequency": 125.0,
        "max_frequency": 7600.0,
        "preemphasis": 0.97,
        "preemphasis_htk_flavor": true,
        "per_bin_mean": null,
        "per_bin_stddev": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_and_audio_tokens_sit_where_mistral_rs_looks() {
        let model = build();
        // gemma3n/inputs_processor.rs hard-codes these ids.
        assert_eq!(model.special_id("<image_soft_token>"), 262_145);
        assert_eq!(model.special_id("<audio_soft_token>"), 262_273);
        assert_eq!(model.config["image_token_id"], 262_145);
        assert_eq!(model.config["vision_config"]["vocab_offset"], 262_144);
        assert_eq!(model.config["audio_config"]["vocab_offset"], 262_272);
        assert_eq!(
            model
                .weights
                .shape("model.language_model.embed_tokens.weight"),
            Some(vec![VOCAB_SIZE, 64])
        );
    }

    #[test]
    fn the_vision_tower_is_mobilenet_v5_300m_whole() {
        let mut w = Weights::default();
        mobilenet_v5_300m(&mut w, "tower");
        // timm's mobilenetv5_300m_enc: 548 tensors, 294,126,912 parameters.
        assert_eq!(w.names().count(), 548);
        assert_eq!(w.parameter_count(), 294_126_912);
        assert_eq!(
            w.shape("tower.blocks.3.37.attn.query.proj.weight"),
            Some(vec![1536, 1280, 1, 1])
        );
        assert_eq!(
            w.shape("tower.msfa.ffn.pw_exp.conv.weight"),
            Some(vec![3840, 1920, 1, 1])
        );
    }
}
