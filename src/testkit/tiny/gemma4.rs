//! Gemma 4: a vision tower of RMS-normed pre/post-norm layers over flattened patches with a
//! 2-D position table, pooled into soft tokens and projected into a Gemma 4 text tower
//! (sliding and full attention layers, per-layer input embeddings, a scalar per layer, tied
//! embeddings). Unlike Gemma 3, every RMSNorm scales by its weight, so norm weights are ones.
//! Turns are `<|turn>role … <turn|>`; the template prints one `<|image|>` per image, which the
//! processor widens to `<|image>` + soft tokens + `<image|>`.

use super::tokenizer::Specials;
use super::weights::{Decoder, Fill, Heads, WeightDtype, Weights, decoder_stack};
use super::{Scale, TextDims, TinyModel};
use serde_json::json;

const SPECIALS: &[&str] = &[
    "<bos>",
    "<eos>",
    "<pad>",
    "<|turn>",
    "<turn|>",
    "<|image>",
    "<image|>",
    "<|image|>",
    "<|audio>",
    "<audio|>",
    "<|audio|>",
    "<|video|>",
];

const CHAT_TEMPLATE: &str = "{{ bos_token }}{% for message in messages %}\
{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}\
<|turn>{{ role }}\n\
{% if message['content'] is string %}{{ message['content'] }}\
{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<|image|>\
{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}\
<turn|>\n{% endfor %}{% if add_generation_prompt %}<|turn>model\n{% endif %}";

/// The vision tower's own dimensions (its attention has key/value heads and RMS norms).
struct VisionTower {
    hidden: usize,
    intermediate: usize,
    layers: usize,
    heads: usize,
    head_dim: usize,
    patch: usize,
    pooling: usize,
    /// Rows of each axis of the learned 2-D position table.
    positions: usize,
    /// Soft tokens per image.
    soft_tokens: usize,
}

/// The text tower beyond [`TextDims`]: Gemma 4's full-attention layers have their own head
/// width, the last `kv_shared` layers reuse the keys and values of the last earlier layer of
/// their kind (and, with `double_wide_mlp`, carry an MLP twice as wide), and every layer adds
/// a per-layer input embedding `per_layer_input` wide.
struct Gemma4Text {
    dims: TextDims,
    global_head_dim: usize,
    per_layer_input: usize,
    layer_types: Vec<&'static str>,
    kv_shared: usize,
    double_wide_mlp: bool,
    sliding_window: usize,
}

impl Gemma4Text {
    fn is_full(&self, layer: usize) -> bool {
        self.layer_types[layer] == "full_attention"
    }

    fn is_shared(&self, layer: usize) -> bool {
        layer >= self.dims.layers - self.kv_shared
    }
}

/// gemma-4-E2B(-it) as released, or a tiny model with every feature of it: sliding and full
/// layers, a wider global head, KV sharing, double-wide shared MLPs, logit soft-capping.
fn dims(scale: Scale) -> (Gemma4Text, VisionTower) {
    match scale {
        Scale::Tiny => {
            let dims = TextDims {
                layers: 5,
                ..TextDims::tiny(SPECIALS.len())
            };
            // As in E2B, one unshared sliding layer keeps a sliding-window cache of its own;
            // the last unshared layer of each kind lends its keys and values to the shared ones.
            let (sliding, full) = ("sliding_attention", "full_attention");
            let text = Gemma4Text {
                global_head_dim: 2 * dims.head_dim,
                per_layer_input: 16,
                layer_types: vec![sliding, sliding, full, sliding, full],
                kv_shared: 2,
                double_wide_mlp: true,
                sliding_window: 64,
                dims,
            };
            let vision = VisionTower {
                hidden: 32,
                intermediate: 64,
                layers: 2,
                heads: 2,
                head_dim: 16,
                patch: 8,
                pooling: 2,
                positions: 64,
                // The smallest budget Gemma 4's processor offers (70, 140, 280, 560, 1120).
                soft_tokens: 70,
            };
            (text, vision)
        }
        // Large: refused by `build` for every family but llava_onevision.
        Scale::Real | Scale::Large | Scale::Nano => {
            let text = Gemma4Text {
                dims: TextDims {
                    hidden: 1536,
                    intermediate: 6144,
                    layers: 35,
                    heads: 8,
                    kv_heads: 1,
                    head_dim: 256,
                    vocab_size: 262_144,
                    max_positions: 131_072,
                },
                global_head_dim: 512,
                per_layer_input: 256,
                layer_types: [["sliding_attention"; 4].as_slice(), &["full_attention"]]
                    .concat()
                    .repeat(7),
                kv_shared: 20,
                double_wide_mlp: true,
                sliding_window: 512,
            };
            let vision = VisionTower {
                hidden: 768,
                intermediate: 3072,
                layers: 16,
                heads: 12,
                head_dim: 64,
                patch: 16,
                pooling: 3,
                positions: 10 * 1024,
                soft_tokens: 280,
            };
            (text, vision)
        }
    }
}

/// The tiny model, or gemma-4-E2B's dimensions in bf16 as it ships (text and vision; the
/// audio tower is not written, as `audio_config: null` says).
pub fn build(scale: Scale) -> TinyModel {
    let (gemma, vision) = dims(scale);
    let text = gemma.dims;
    let id = |token: &str| 256 + SPECIALS.iter().position(|s| *s == token).unwrap_or(0);
    let per_layer_total = text.layers * gemma.per_layer_input;
    let real = scale != Scale::Tiny;
    let config = json!({
        "architectures": ["Gemma4ForConditionalGeneration"],
        "model_type": "gemma4",
        "boi_token_id": id("<|image>"),
        "eoi_token_id": id("<image|>"),
        "image_token_id": id("<|image|>"),
        "video_token_id": id("<|video|>"),
        "boa_token_id": id("<|audio>"),
        "eoa_token_index": id("<audio|>"),
        "audio_token_id": id("<|audio|>"),
        "audio_config": null,
        "tie_word_embeddings": true,
        "dtype": if real { "bfloat16" } else { "float32" },
        "text_config": text.hf_config(json!({
            "model_type": "gemma4_text",
            "global_head_dim": gemma.global_head_dim,
            "hidden_size_per_layer_input": gemma.per_layer_input,
            "vocab_size_per_layer_input": text.vocab_size,
            "layer_types": gemma.layer_types,
            "sliding_window": gemma.sliding_window,
            "num_kv_shared_layers": gemma.kv_shared,
            "attention_bias": false,
            "attention_k_eq_v": false,
            "enable_moe_block": false,
            "use_double_wide_mlp": gemma.double_wide_mlp,
            "final_logit_softcapping": 30.0,
            "hidden_activation": "gelu_pytorch_tanh",
            "rms_norm_eps": 1e-6,
            "rope_parameters": {
                "full_attention": {"partial_rotary_factor": 0.25, "rope_theta": 1_000_000.0, "rope_type": "proportional"},
                "sliding_attention": {"rope_theta": 10_000.0, "rope_type": "default"},
            },
            "bos_token_id": id("<bos>"),
            "eos_token_id": id("<turn|>"),
            "pad_token_id": id("<pad>"),
            "tie_word_embeddings": true,
        })),
        "vision_config": {
            "model_type": "gemma4_vision",
            "hidden_size": vision.hidden,
            "intermediate_size": vision.intermediate,
            "num_hidden_layers": vision.layers,
            "num_attention_heads": vision.heads,
            "num_key_value_heads": vision.heads,
            "head_dim": vision.head_dim,
            "patch_size": vision.patch,
            "pooling_kernel_size": vision.pooling,
            "position_embedding_size": vision.positions,
            "default_output_length": vision.soft_tokens,
            "hidden_activation": "gelu_pytorch_tanh",
            "rms_norm_eps": 1e-6,
            "attention_bias": false,
            "standardize": false,
            "use_clipped_linears": false,
            "rope_parameters": {"rope_theta": 100.0, "rope_type": "axial"},
        },
    });

    let mut w = Weights::default();
    if real {
        w.dtype = WeightDtype::Bf16;
    }
    vision_tower(&mut w, "model.vision_tower", &vision);
    w.matrix(
        "model.embed_vision.embedding_projection.weight",
        &[text.hidden, vision.hidden],
    );
    let lm = "model.language_model";
    decoder_stack(&mut w, lm, &text, Decoder::Gemma4, true);
    w.matrix(
        format!("{lm}.embed_tokens_per_layer.weight"),
        &[text.vocab_size, per_layer_total],
    );
    w.matrix(
        format!("{lm}.per_layer_model_projection.weight"),
        &[per_layer_total, text.hidden],
    );
    w.rms_norm(
        &format!("{lm}.per_layer_projection_norm"),
        gemma.per_layer_input,
    );
    for i in 0..text.layers {
        let l = format!("{lm}.layers.{i}");
        reshape_layer(&mut w, &l, &gemma, i);
        w.matrix(
            format!("{l}.per_layer_input_gate.weight"),
            &[gemma.per_layer_input, text.hidden],
        );
        w.matrix(
            format!("{l}.per_layer_projection.weight"),
            &[text.hidden, gemma.per_layer_input],
        );
        w.rms_norm(&format!("{l}.post_per_layer_input_norm"), text.hidden);
        w.tensor(format!("{l}.layer_scalar"), &[1], Fill::Ones);
    }

    // transformers' Gemma4Processor reads each role by name, the audio ones included.
    let mut named_tokens = json!({
        "boi_token": "<|image>",
        "eoi_token": "<image|>",
        "image_token": "<|image|>",
        "boa_token": "<|audio>",
        "eoa_token": "<audio|>",
        "audio_token": "<|audio|>",
    });
    named_tokens["extra_special_tokens"] = named_tokens.clone();

    TinyModel {
        config,
        specials: Specials::after_bytes(SPECIALS),
        bos: "<bos>",
        eos: "<turn|>",
        chat_template: CHAT_TEMPLATE.to_string(),
        tokenizer_extra: named_tokens,
        // Pixels go in as 0..1: the tower itself maps them to -1..1.
        preprocessor: super::preprocessor(
            "Gemma4ImageProcessor",
            "Gemma4Processor",
            [0.0; 3],
            [1.0; 3],
            json!({
                "do_normalize": false,
                "resample": 3,
                "max_soft_tokens": vision.soft_tokens,
                "patch_size": vision.patch,
                "pooling_kernel_size": vision.pooling,
            }),
        ),
        processor: Some(json!({
            "processor_class": "Gemma4Processor",
            "image_seq_length": vision.soft_tokens,
        })),
        weights: w,
    }
}

/// A full-attention layer's projections and norms at the global head width; a KV-shared
/// layer's MLP doubled. Shared layers keep their own (unused) key and value projections:
/// released checkpoints ship them and transformers drops them on load.
fn reshape_layer(w: &mut Weights, layer: &str, gemma: &Gemma4Text, index: usize) {
    let text = &gemma.dims;
    if gemma.is_full(index) {
        let attention = format!("{layer}.self_attn.");
        w.remove_under(&attention);
        let heads = Heads {
            head_dim: gemma.global_head_dim,
            ..text.heads()
        };
        w.attention(&format!("{layer}.self_attn"), text.hidden, heads, 1, false);
        w.rms_norm(&format!("{layer}.self_attn.q_norm"), gemma.global_head_dim);
        w.rms_norm(&format!("{layer}.self_attn.k_norm"), gemma.global_head_dim);
    }
    if gemma.double_wide_mlp && gemma.is_shared(index) {
        let mlp = format!("{layer}.mlp");
        w.remove_under(&format!("{mlp}."));
        let wide = 2 * text.intermediate;
        w.linear(&format!("{mlp}.gate_proj"), wide, text.hidden, false);
        w.linear(&format!("{mlp}.up_proj"), wide, text.hidden, false);
        w.linear(&format!("{mlp}.down_proj"), text.hidden, wide, false);
    }
}

/// Patches flattened and projected (no convolution), a learned table per axis, then
/// pre/post-normed layers whose projections sit under `.linear` as transformers names them.
fn vision_tower(w: &mut Weights, prefix: &str, v: &VisionTower) {
    w.matrix(
        format!("{prefix}.patch_embedder.input_proj.weight"),
        &[v.hidden, 3 * v.patch * v.patch],
    );
    w.matrix(
        format!("{prefix}.patch_embedder.position_embedding_table"),
        &[2, v.positions, v.hidden],
    );
    let attention = v.heads * v.head_dim;
    for i in 0..v.layers {
        let l = format!("{prefix}.encoder.layers.{i}");
        for (proj, out_dim, in_dim) in [
            ("self_attn.q_proj", attention, v.hidden),
            ("self_attn.k_proj", attention, v.hidden),
            ("self_attn.v_proj", attention, v.hidden),
            ("self_attn.o_proj", v.hidden, attention),
            ("mlp.gate_proj", v.intermediate, v.hidden),
            ("mlp.up_proj", v.intermediate, v.hidden),
            ("mlp.down_proj", v.hidden, v.intermediate),
        ] {
            w.matrix(format!("{l}.{proj}.linear.weight"), &[out_dim, in_dim]);
        }
        w.rms_norm(&format!("{l}.self_attn.q_norm"), v.head_dim);
        w.rms_norm(&format!("{l}.self_attn.k_norm"), v.head_dim);
        for norm in [
            "input_layernorm",
            "post_attention_layernorm",
            "pre_feedforward_layernorm",
            "post_feedforward_layernorm",
        ] {
            w.rms_norm(&format!("{l}.{norm}"), v.hidden);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(model: &TinyModel, name: &str) -> Vec<usize> {
        model
            .weights
            .shape(name)
            .unwrap_or_else(|| panic!("{name} not written"))
    }

    #[test]
    fn real_scale_is_gemma_4_e2b_in_bf16() {
        let model = build(Scale::Real);
        let params = model.weights.parameter_count();
        // gemma-4-E2B without its audio tower: 4.82 B, 2.35 B of them per-layer embeddings.
        assert!((4_800_000_000..4_830_000_000).contains(&params), "{params}");
        assert_eq!(model.weights.dtype, WeightDtype::Bf16);
        let text = &model.config["text_config"];
        assert_eq!(text["num_kv_shared_layers"], 20);
        assert_eq!(text["layer_types"].as_array().map(Vec::len), Some(35));
        assert_eq!(text["layer_types"][4], "full_attention");
        let layer = |i: usize, t: &str| format!("model.language_model.layers.{i}.{t}.weight");
        // Sliding layers have 256-wide heads, full ones 512; one KV head each.
        assert_eq!(
            shape(&model, &layer(0, "self_attn.q_proj")),
            [8 * 256, 1536]
        );
        assert_eq!(
            shape(&model, &layer(4, "self_attn.q_proj")),
            [8 * 512, 1536]
        );
        assert_eq!(shape(&model, &layer(4, "self_attn.k_norm")), [512]);
        assert_eq!(shape(&model, &layer(4, "self_attn.v_proj")), [512, 1536]);
        // Layers 15… reuse keys and values and have MLPs twice as wide.
        assert_eq!(shape(&model, &layer(14, "mlp.gate_proj")), [6144, 1536]);
        assert_eq!(shape(&model, &layer(15, "mlp.gate_proj")), [12288, 1536]);
        assert_eq!(
            shape(&model, "model.language_model.embed_tokens_per_layer.weight"),
            [262_144, 35 * 256]
        );
    }

    #[test]
    fn tiny_scale_has_every_feature_of_e2b() {
        let (text, _) = dims(Scale::Tiny);
        let shared: Vec<usize> = (0..text.dims.layers)
            .filter(|&i| text.is_shared(i))
            .collect();
        let unshared_sliding = (0..text.dims.layers)
            .filter(|&i| !text.is_shared(i) && !text.is_full(i))
            .count();
        // A sliding layer that lends nothing keeps its own window cache (the prefix-cache defect).
        assert!(unshared_sliding >= 2);
        assert!(shared.iter().any(|&i| text.is_full(i)));
        assert!(shared.iter().any(|&i| !text.is_full(i)));
        assert!(text.global_head_dim > text.dims.head_dim && text.double_wide_mlp);
    }
}
