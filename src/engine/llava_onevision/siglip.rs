//! The SigLIP vision tower: a strided patch convolution plus learned positions, then pre-norm
//! encoder layers. Only the hidden states the projector reads are computed: the layers after
//! the deepest selected one (and `post_layernorm`, which `hidden_states` never includes) are
//! not loaded at all.

use super::attention::attention;
use super::config::{FeatureSelection, VisionConfig};
use super::cpu_kernels::Then;
use super::layers::{LayerNorm, Linear};
use super::weights::{Checkpoint, WeightError};
use candle_core::{Module, Result, Tensor};

struct EncoderLayer {
    norm1: LayerNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

pub struct Siglip {
    patch_weight: Tensor,
    patch_bias: Tensor,
    positions: Tensor,
    layers: Vec<EncoderLayer>,
    config: VisionConfig,
    /// Hidden-state indices to concatenate (0 = embeddings).
    selected: Vec<usize>,
}

impl Siglip {
    pub fn load(
        ck: &Checkpoint,
        prefix: &str,
        config: &VisionConfig,
        features: &FeatureSelection,
    ) -> std::result::Result<Siglip, WeightError> {
        let states = config.layers as i64 + 1;
        let selected: Vec<usize> = features
            .layers
            .iter()
            .map(|&l| {
                if l < 0 {
                    (l + states) as usize
                } else {
                    l as usize
                }
            })
            .collect();
        let needed = selected.iter().copied().max().unwrap_or(0);
        let (d, p) = (config.hidden, config.patch_size);
        let side = config.image_size / p;
        let mut layers = Vec::with_capacity(needed);
        for i in 0..needed {
            let l = format!("{prefix}encoder.layers.{i}");
            let eps = config.layer_norm_eps;
            layers.push(EncoderLayer {
                norm1: LayerNorm::load(ck, &format!("{l}.layer_norm1"), d, eps)?,
                q: Linear::load(ck, &format!("{l}.self_attn.q_proj"), d, d, true)?,
                k: Linear::load(ck, &format!("{l}.self_attn.k_proj"), d, d, true)?,
                v: Linear::load(ck, &format!("{l}.self_attn.v_proj"), d, d, true)?,
                out: Linear::load(ck, &format!("{l}.self_attn.out_proj"), d, d, true)?,
                norm2: LayerNorm::load(ck, &format!("{l}.layer_norm2"), d, eps)?,
                fc1: Linear::load(ck, &format!("{l}.mlp.fc1"), d, config.intermediate, true)?,
                fc2: Linear::load(ck, &format!("{l}.mlp.fc2"), config.intermediate, d, true)?,
            });
        }
        Ok(Siglip {
            patch_weight: ck.get(
                &format!("{prefix}embeddings.patch_embedding.weight"),
                &[d, config.channels, p, p],
            )?,
            patch_bias: ck.get(&format!("{prefix}embeddings.patch_embedding.bias"), &[d])?,
            positions: ck.get(
                &format!("{prefix}embeddings.position_embedding.weight"),
                &[side * side, d],
            )?,
            layers,
            config: config.clone(),
            selected,
        })
    }

    /// `pixels` `[tiles, 3, size, size]` → the selected hidden states, concatenated on the
    /// last axis: `[tiles, patches, hidden × selected]`.
    pub fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let embedded = self
            .patch_embedding(pixels)?
            .broadcast_add(&self.positions)?;
        let mut states = vec![embedded];
        for layer in &self.layers {
            let last = states.last().expect("the embeddings are always there");
            states.push(self.layer(layer, last)?);
        }
        let picked: Vec<&Tensor> = self.selected.iter().map(|&i| &states[i]).collect();
        Tensor::cat(&picked, 2)
    }

    /// The strided convolution as the matrix product it is (the stride equals the kernel, so
    /// every patch is one row): `[tiles, patches, hidden]`, one GEMM instead of candle's
    /// direct CPU convolution. Pixels past the last whole patch are dropped, as the
    /// convolution drops them.
    fn patch_embedding(&self, pixels: &Tensor) -> Result<Tensor> {
        let (tiles, channels, height, width) = pixels.dims4()?;
        let p = self.config.patch_size;
        let (rows, cols) = (height / p, width / p);
        let patches = pixels
            .narrow(2, 0, rows * p)?
            .narrow(3, 0, cols * p)?
            .reshape((tiles, channels, rows, p, cols, p))?
            .permute((0, 2, 4, 1, 3, 5))?
            .reshape((tiles * rows * cols, channels * p * p))?;
        let kernel = self
            .patch_weight
            .reshape((self.config.hidden, channels * p * p))?;
        patches
            .matmul(&kernel.t()?)?
            .broadcast_add(&self.patch_bias)?
            .reshape((tiles, rows * cols, self.config.hidden))
    }

    fn layer(&self, layer: &EncoderLayer, x: &Tensor) -> Result<Tensor> {
        let (tiles, tokens, d) = x.dims3()?;
        let heads = self.config.heads;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((tiles, tokens, heads, d / heads))?
                .transpose(1, 2)
        };
        let normed = layer.norm1.forward(x)?;
        let q = split(layer.q.forward(&normed)?)?;
        let k = split(layer.k.forward(&normed)?)?;
        let v = split(layer.v.forward(&normed)?)?;
        let attended = attention(&q, &k, &v, None)?;
        let x = layer
            .out
            .forward_then(&attended, None, Some(Then::Add(x)))?;
        let normed = layer.norm2.forward(&x)?;
        let hidden = layer.fc1.forward_act(&normed, Some(self.config.act))?;
        layer.fc2.forward_then(&hidden, None, Some(Then::Add(&x)))
    }
}
