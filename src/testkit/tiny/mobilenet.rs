//! MobileNetV5-300M, Gemma 3n's vision tower, in timm's layout (`mobilenetv5_300m_enc`, which
//! transformers wraps as `vision_tower.timm_model`). mistral.rs 0.8.1 hard-codes its blocks
//! (gemma3n/vision.rs:842), so it is written whole (294 M parameters): a 3×3 stem, four stages
//! of edge-residual, universal-inverted-residual and mobile multi-query-attention blocks, and a
//! multi-scale fusion adapter over the last two stages. Every norm is a scale-only RMSNorm2d;
//! only the stem's convolution has a bias.

use super::weights::{Fill, Weights};

/// One block of the network, as timm's architecture string gives it.
#[derive(Debug, Clone, Copy)]
enum Block {
    /// Full 3×3 expansion convolution, pointwise projection.
    Edge { out: usize, expand: usize },
    /// Optional depthwise convolution before and after a pointwise expansion (kernel 0: none).
    Inverted {
        out: usize,
        start: usize,
        mid: usize,
        expand: usize,
    },
    /// Multi-query attention: `heads` query heads of `dim`, one key/value head of `dim`;
    /// keys and values downsampled by a strided depthwise convolution when `kv_stride` > 1.
    Attention {
        heads: usize,
        dim: usize,
        kv_stride: usize,
    },
}

use Block::{Attention, Edge, Inverted};

const STEM: usize = 64;
/// The adapter fuses the outputs of the last two stages (640 + 1280 channels) into 2048.
const FUSION_OUT: usize = 2048;
pub const WIDTH: usize = FUSION_OUT;

fn stages() -> Vec<Vec<Block>> {
    let uir = |out, start, mid, expand| Inverted {
        out,
        start,
        mid,
        expand,
    };
    // Multi-query attention blocks, each followed by a 2×-expanding inverted residual.
    let attention_then_mlp = |n: usize, attention: Block, out: usize| {
        (0..n).flat_map(move |_| [attention, uir(out, 0, 0, 2)])
    };
    let mut stage2 = vec![uir(640, 5, 5, 6)];
    stage2.extend([uir(640, 5, 0, 4); 7]);
    stage2.push(uir(640, 0, 0, 1));
    let downsampled = Attention {
        heads: 12,
        dim: 64,
        kv_stride: 2,
    };
    stage2.extend(attention_then_mlp(14, downsampled, 640));
    let mut stage3 = vec![uir(1280, 5, 5, 6)];
    let full = Attention {
        heads: 16,
        dim: 96,
        kv_stride: 1,
    };
    stage3.extend(attention_then_mlp(19, full, 1280));
    vec![
        vec![
            Edge {
                out: 128,
                expand: 4
            };
            3
        ],
        vec![
            uir(256, 3, 5, 6),
            uir(256, 5, 0, 4),
            uir(256, 3, 0, 4),
            uir(256, 5, 0, 4),
            uir(256, 3, 0, 4),
        ],
        stage2,
        stage3,
    ]
}

/// The whole tower under `prefix`.
pub fn mobilenet_v5_300m(w: &mut Weights, prefix: &str) {
    let conv = |w: &mut Weights, name: String, shape: [usize; 4]| w.matrix(name, &shape);
    let norm = |w: &mut Weights, name: String, dim: usize| w.tensor(name, &[dim], Fill::Ones);
    conv(
        w,
        format!("{prefix}.conv_stem.conv.weight"),
        [STEM, 3, 3, 3],
    );
    w.tensor(
        format!("{prefix}.conv_stem.conv.bias"),
        &[STEM],
        Fill::Zeros,
    );
    norm(w, format!("{prefix}.conv_stem.bn.weight"), STEM);
    let mut channels = STEM;
    let mut stage_outputs = Vec::new();
    for (s, blocks) in stages().into_iter().enumerate() {
        for (b, block) in blocks.into_iter().enumerate() {
            let p = format!("{prefix}.blocks.{s}.{b}");
            match block {
                Edge { out, expand } => {
                    let mid = channels * expand;
                    conv(w, format!("{p}.conv_exp.weight"), [mid, channels, 3, 3]);
                    norm(w, format!("{p}.bn1.weight"), mid);
                    conv(w, format!("{p}.conv_pwl.weight"), [out, mid, 1, 1]);
                    norm(w, format!("{p}.bn2.weight"), out);
                    channels = out;
                }
                Inverted {
                    out,
                    start,
                    mid,
                    expand,
                } => {
                    if start > 0 {
                        conv(
                            w,
                            format!("{p}.dw_start.conv.weight"),
                            [channels, 1, start, start],
                        );
                        norm(w, format!("{p}.dw_start.bn.weight"), channels);
                    }
                    let wide = channels * expand;
                    conv(w, format!("{p}.pw_exp.conv.weight"), [wide, channels, 1, 1]);
                    norm(w, format!("{p}.pw_exp.bn.weight"), wide);
                    if mid > 0 {
                        conv(w, format!("{p}.dw_mid.conv.weight"), [wide, 1, mid, mid]);
                        norm(w, format!("{p}.dw_mid.bn.weight"), wide);
                    }
                    conv(w, format!("{p}.pw_proj.conv.weight"), [out, wide, 1, 1]);
                    norm(w, format!("{p}.pw_proj.bn.weight"), out);
                    w.tensor(format!("{p}.layer_scale.gamma"), &[out], Fill::Ones);
                    channels = out;
                }
                Attention {
                    heads,
                    dim,
                    kv_stride,
                } => {
                    let c = channels;
                    norm(w, format!("{p}.norm.weight"), c);
                    let a = format!("{p}.attn");
                    conv(w, format!("{a}.query.proj.weight"), [heads * dim, c, 1, 1]);
                    for kv in ["key", "value"] {
                        if kv_stride > 1 {
                            conv(w, format!("{a}.{kv}.down_conv.weight"), [c, 1, 3, 3]);
                            norm(w, format!("{a}.{kv}.norm.weight"), c);
                        }
                        conv(w, format!("{a}.{kv}.proj.weight"), [dim, c, 1, 1]);
                    }
                    conv(w, format!("{a}.output.proj.weight"), [c, heads * dim, 1, 1]);
                    w.tensor(format!("{p}.layer_scale.gamma"), &[c], Fill::Ones);
                }
            }
        }
        stage_outputs.push(channels);
    }
    // The adapter's FFN over the concatenated last two stages, expanded 2×.
    let fused: usize = stage_outputs[2..].iter().sum();
    let wide = 2 * fused;
    let ffn = format!("{prefix}.msfa.ffn");
    conv(w, format!("{ffn}.pw_exp.conv.weight"), [wide, fused, 1, 1]);
    norm(w, format!("{ffn}.pw_exp.bn.weight"), wide);
    conv(
        w,
        format!("{ffn}.pw_proj.conv.weight"),
        [FUSION_OUT, wide, 1, 1],
    );
    norm(w, format!("{ffn}.pw_proj.bn.weight"), FUSION_OUT);
    norm(w, format!("{prefix}.msfa.norm.weight"), FUSION_OUT);
}
