//! The small pieces both towers are built of: biased or plain linears, LayerNorm, RMSNorm and
//! activations, loaded from a [`Checkpoint`] with their shapes checked.

use super::config::Activation;
use super::cpu_kernels::{Then, bias_act};
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
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_act(x, None)
    }
}

impl Linear {
    /// `act(x wᵀ + b)`. `x` is `[..., in]`; the product runs as one 2-D matmul over all
    /// leading rows, the bias and activation as one pass over its output.
    pub fn forward_act(&self, x: &Tensor, act: Option<Activation>) -> Result<Tensor> {
        self.forward_then(x, act, None)
    }

    /// `act(x wᵀ + b)` then `then` (a residual added, or the gated MLP's other half
    /// multiplied), all after the product in one pass over its output. `then`'s tensor has
    /// the output's shape.
    pub fn forward_then(
        &self,
        x: &Tensor,
        act: Option<Activation>,
        then: Option<Then>,
    ) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let rows: usize = dims[..dims.len() - 1].iter().product();
        let last = dims[dims.len() - 1];
        let flat = x.reshape((rows, last))?;
        let out = match &self.weight {
            Weight::Dense(weight) => flat.matmul(&weight.t()?)?,
            // candle's quantized kernel works a row at a time; for a prefill's hundreds of rows
            // the weight widened once and one GEMM is far faster (measured: 6 → 33 tok/s).
            Weight::Quantized(weight) if rows > QUANTIZED_ROWS => {
                flat.matmul(&dequantized(weight)?.t()?)?
            }
            Weight::Quantized(weight) => weight.forward(&flat)?,
        };
        let mut shape = dims;
        let n = shape.len();
        shape[n - 1] = out.dim(1)?;
        let out = out.reshape(shape)?;
        match self.bias.is_some() || act.is_some() || then.is_some() {
            true => bias_act(out, self.bias.as_ref(), act, then),
            false => Ok(out),
        }
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
