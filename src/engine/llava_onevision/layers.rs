//! The small pieces both towers are built of: biased or plain linears, LayerNorm, RMSNorm and
//! activations, loaded from a [`Checkpoint`] with their shapes checked.

use super::config::Activation;
use super::weights::{Checkpoint, WeightError};
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Module, Result, Tensor};

pub struct Linear {
    weight: Weight,
    bias: Option<Tensor>,
}

enum Weight {
    Dense(Tensor),
    /// `--isq`: candle's quantized matrix product (ggml block formats).
    Quantized(QMatMul),
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
            weight: Weight::Dense(ck.get(&format!("{prefix}.weight"), &[out_dim, in_dim])?),
            bias: match bias {
                true => Some(ck.get(&format!("{prefix}.bias"), &[out_dim])?),
                false => None,
            },
        })
    }
}

impl Linear {
    /// Quantize the weight to `format`, tensor by tensor as the model loads (the bias stays);
    /// a width that is not a whole number of `format`'s blocks takes `fallback` instead, and
    /// stays dense when it fits neither.
    pub fn quantize(&mut self, format: GgmlDType, fallback: GgmlDType) -> Result<()> {
        let Weight::Dense(weight) = &self.weight else {
            return Ok(());
        };
        let width = weight.dim(1)?;
        let Some(chosen) = [format, fallback]
            .into_iter()
            .find(|f| width.is_multiple_of(f.block_size()))
        else {
            return Ok(());
        };
        let quantized = QTensor::quantize(weight, chosen)?;
        self.weight = Weight::Quantized(QMatMul::from_qtensor(quantized)?);
        Ok(())
    }
}

/// Up to this many rows (a decode step of a batch) the quantized kernel runs; above, the
/// weight is widened for one GEMM.
const QUANTIZED_ROWS: usize = 16;

fn dequantized(weight: &QMatMul) -> Result<Tensor> {
    match weight {
        QMatMul::QTensor(q) => q.dequantize(&q.device()),
        QMatMul::Tensor(t) | QMatMul::TensorF16(t) => t.to_dtype(candle_core::DType::F32),
    }
}

impl Module for Linear {
    /// `x` is `[..., in]`; the product runs as one 2-D matmul over all leading rows.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let last = dims[dims.len() - 1];
        let flat = x.reshape((rows, last))?;
        let mut out = match &self.weight {
            Weight::Dense(weight) => flat.matmul(&weight.t()?)?,
            // candle's quantized kernel works a row at a time; for a prefill's hundreds of rows
            // the weight widened once and one GEMM is far faster (measured: 6 → 33 tok/s).
            Weight::Quantized(weight) if rows > QUANTIZED_ROWS => {
                flat.matmul(&dequantized(weight)?.t()?)?
            }
            Weight::Quantized(weight) => weight.forward(&flat)?,
        };
        if let Some(bias) = &self.bias {
            out = out.broadcast_add(bias)?;
        }
        let mut shape = dims;
        let n = shape.len();
        shape[n - 1] = out.dim(1)?;
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
