//! The small pieces both towers are built of: biased or plain linears, LayerNorm, RMSNorm and
//! activations, loaded from a [`Checkpoint`] with their shapes checked.

use super::config::Activation;
use super::weights::{Checkpoint, WeightError};
use candle_core::{Module, Result, Tensor};

pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    pub fn load(
        ck: &Checkpoint,
        prefix: &str,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
    ) -> std::result::Result<Linear, WeightError> {
        Ok(Linear {
            weight: ck.get(&format!("{prefix}.weight"), &[out_dim, in_dim])?,
            bias: match bias {
                true => Some(ck.get(&format!("{prefix}.bias"), &[out_dim])?),
                false => None,
            },
        })
    }
}

impl Module for Linear {
    /// `x` is `[..., in]`; the product runs as one 2-D matmul over all leading rows.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let last = dims[dims.len() - 1];
        let flat = x.reshape((rows, last))?;
        let mut out = flat.matmul(&self.weight.t()?)?;
        if let Some(bias) = &self.bias {
            out = out.broadcast_add(bias)?;
        }
        let mut shape = dims;
        let n = shape.len();
        shape[n - 1] = self.weight.dim(0)?;
        out.reshape(shape)
    }
}

pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    pub fn load(
        ck: &Checkpoint,
        prefix: &str,
        dim: usize,
        eps: f64,
    ) -> std::result::Result<LayerNorm, WeightError> {
        Ok(LayerNorm {
            weight: ck.get(&format!("{prefix}.weight"), &[dim])?,
            bias: ck.get(&format!("{prefix}.bias"), &[dim])?,
            eps,
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32)
    }
}

pub struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn load(
        ck: &Checkpoint,
        name: &str,
        dim: usize,
        eps: f64,
    ) -> std::result::Result<RmsNorm, WeightError> {
        Ok(RmsNorm {
            weight: ck.get(name, &[dim])?,
            eps,
        })
    }
}

impl Module for RmsNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::rms_norm(x, &self.weight, self.eps as f32)
    }
}

pub fn activate(act: Activation, x: &Tensor) -> Result<Tensor> {
    match act {
        Activation::Gelu => x.gelu_erf(),
        Activation::GeluTanh => x.gelu(),
        Activation::Silu => x.silu(),
        Activation::QuickGelu => x.broadcast_mul(&candle_nn::ops::sigmoid(&(x * 1.702)?)?),
    }
}

/// `softmax(q kᵀ · scale + mask) v` over `[batch, heads, queries, dim]` tensors, in f32
/// whatever the model's dtype, as transformers' eager attention upcasts its softmax.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let scale = 1.0 / (q.dim(3)? as f64).sqrt();
    let dtype = q.dtype();
    let mut scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? * scale)?;
    if let Some(mask) = mask {
        scores = scores.broadcast_add(mask)?;
    }
    let probs = candle_nn::ops::softmax_last_dim(&scores.to_dtype(candle_core::DType::F32)?)?
        .to_dtype(dtype)?;
    probs.matmul(&v.contiguous()?)
}
