//! The elementwise work around the matrix products, fused, in place and on every core.
//!
//! Written by hand because candle 0.10's CPU backend runs each elementwise op on one thread
//! into a new buffer: at llava-onevision-qwen2-0.5b's dimensions the attention's scale, causal
//! mask and softmax took 0.32 s per language-model layer and SigLIP's GELU 0.12 s per layer,
//! more than their GEMMs (benches/RESULTS.md, "Time to first token on the own engine"). Here
//! a linear's bias and activation are one pass over its fresh output, and the attention's
//! scale, mask and softmax one pass over its scores, skipping the masked half. The formulas
//! are candle's (and transformers'), element for element.
//!
//! Each function falls back to candle's own ops off the CPU (CUDA) or off f32.

use super::config::Activation;
use super::vector_math::{self, gelu_tanh, x_sigmoid};
use candle_core::{CpuStorage, DType, InplaceOp1, Layout, Result, Tensor};
use rayon::prelude::*;

/// Elements per parallel task: large enough that rayon's overhead vanishes.
const CHUNK: usize = 1 << 14;

/// `x + bias` (broadcast over rows), then `act`, written over `x`. `x` must be a fresh
/// tensor this caller owns (a matmul's output): its storage is changed in place.
pub fn bias_act(x: Tensor, bias: Option<&Tensor>, act: Option<Activation>) -> Result<Tensor> {
    let fused = act.is_none_or(|a| a != Activation::Gelu);
    if !(x.device().is_cpu() && x.dtype() == DType::F32 && x.is_contiguous() && fused) {
        let x = match bias {
            Some(bias) => x.broadcast_add(bias)?,
            None => x,
        };
        return match act {
            Some(act) => composite_activation(act, &x),
            None => Ok(x),
        };
    }
    let bias = bias.map(|b| b.to_vec1::<f32>()).transpose()?;
    if let Some(bias) = &bias
        && x.dim(candle_core::D::Minus1)? != bias.len()
    {
        return Err(candle_core::Error::Msg(format!(
            "bias of {} for rows of {}",
            bias.len(),
            x.dim(candle_core::D::Minus1)?
        )));
    }
    x.inplace_op1(&BiasAct { bias, act })?;
    Ok(x)
}

fn composite_activation(act: Activation, x: &Tensor) -> Result<Tensor> {
    match act {
        Activation::Gelu => x.gelu_erf(),
        Activation::GeluTanh => x.gelu(),
        Activation::Silu => x.silu(),
        Activation::QuickGelu => x.broadcast_mul(&candle_nn::ops::sigmoid(&(x * 1.702)?)?),
    }
}

struct BiasAct {
    bias: Option<Vec<f32>>,
    act: Option<Activation>,
}

impl InplaceOp1 for BiasAct {
    fn name(&self) -> &'static str {
        "bias-act"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let data = contiguous_f32(storage, layout)?;
        let width = self.bias.as_ref().map_or(CHUNK, Vec::len).max(1);
        // Whole rows per task so the bias lines up with each task's first element.
        let rows_per_task = CHUNK.div_ceil(width).max(1);
        data.par_chunks_mut(rows_per_task * width)
            .for_each(|chunk| {
                if let Some(bias) = &self.bias {
                    for row in chunk.chunks_mut(width) {
                        row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                    }
                }
                // One loop per activation, so each vectorises.
                match self.act {
                    Some(Activation::GeluTanh) => chunk.iter_mut().for_each(|v| *v = gelu_tanh(*v)),
                    Some(Activation::Silu) => {
                        chunk.iter_mut().for_each(|v| *v = x_sigmoid(*v, 1.0))
                    }
                    Some(Activation::QuickGelu) => {
                        chunk.iter_mut().for_each(|v| *v = x_sigmoid(*v, 1.702))
                    }
                    // erf GELU never comes here (`bias_act` takes candle's).
                    Some(Activation::Gelu) | None => {}
                }
            });
        Ok(())
    }
}

/// A causal mask over `[.., rows, keys]` scores whose rows are runs of `queries` new tokens
/// (one run per query head): row `r` is new token `i = r % queries`, which sees keys
/// `0..=past + i` (the `past` cached ones and the new ones up to itself).
#[derive(Debug, Clone, Copy)]
pub struct Causal {
    pub past: usize,
    pub queries: usize,
}

impl Causal {
    fn visible(self, row: usize, keys: usize) -> usize {
        (self.past + row % self.queries.max(1) + 1).min(keys)
    }
}

/// Softmax over the last axis of `scores · scale`, in place; with `causal`, the keys a row
/// may not see get probability 0, as an additive −∞ mask gives.
pub fn scaled_softmax(scores: Tensor, scale: f64, causal: Option<Causal>) -> Result<Tensor> {
    if !(scores.device().is_cpu() && scores.dtype() == DType::F32 && scores.is_contiguous()) {
        let scaled = (scores * scale)?;
        let masked = match causal {
            Some(causal) => scaled.broadcast_add(&causal_mask(&scaled, causal)?)?,
            None => scaled,
        };
        let dtype = masked.dtype();
        return candle_nn::ops::softmax_last_dim(&masked.to_dtype(DType::F32)?)?.to_dtype(dtype);
    }
    let keys = scores.dim(candle_core::D::Minus1)?;
    scores.inplace_op1(&CausalSoftmax {
        scale: scale as f32,
        keys,
        causal,
    })?;
    Ok(scores)
}

/// The additive mask `[rows, keys]` (0 or −∞) of `causal` over `scores` `[.., rows, keys]`.
fn causal_mask(scores: &Tensor, causal: Causal) -> Result<Tensor> {
    let dims = scores.dims();
    let (rows, keys) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let mask: Vec<f32> = (0..rows)
        .flat_map(|r| {
            let visible = causal.visible(r, keys);
            (0..keys).map(move |j| if j < visible { 0.0 } else { f32::NEG_INFINITY })
        })
        .collect();
    Tensor::from_vec(mask, (rows, keys), &candle_core::Device::Cpu)?
        .to_dtype(scores.dtype())?
        .to_device(scores.device())
}

struct CausalSoftmax {
    scale: f32,
    keys: usize,
    causal: Option<Causal>,
}

impl InplaceOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "causal-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let data = contiguous_f32(storage, layout)?;
        let keys = self.keys.max(1);
        data.par_chunks_mut(keys).enumerate().for_each(|(r, row)| {
            let seen = self.causal.map_or(keys, |c| c.visible(r, keys));
            let (visible, hidden) = row.split_at_mut(seen);
            // The scale is positive, so the largest scaled score is the largest times it.
            let max = vector_math::max(visible) * self.scale;
            visible
                .iter_mut()
                .for_each(|v| *v = vector_math::exp(*v * self.scale - max));
            let inverse = 1.0 / vector_math::sum(visible);
            visible.iter_mut().for_each(|v| *v *= inverse);
            hidden.fill(0.0);
        });
        Ok(())
    }
}

fn contiguous_f32<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> Result<&'a mut [f32]> {
    let CpuStorage::F32(data) = storage else {
        return Err(candle_core::Error::Msg("expected f32 storage".into()));
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        return Err(candle_core::Error::Msg(
            "expected a contiguous tensor".into(),
        ));
    };
    Ok(&mut data[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn random(shape: &[usize], seed: u64) -> Tensor {
        let n: usize = shape.iter().product();
        // A fixed, platform-independent sequence (no RNG crate state to agree on).
        let values: Vec<f32> = (0..n)
            .map(|i| {
                let x = (i as u64 + 1)
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(seed);
                ((x >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 8.0
            })
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn bias_and_activation_equal_candles_ops() {
        let x = random(&[37, 70], 1);
        let bias = random(&[70], 2);
        for act in [
            Activation::GeluTanh,
            Activation::Silu,
            Activation::QuickGelu,
        ] {
            let fused = bias_act(x.copy().unwrap(), Some(&bias), Some(act)).unwrap();
            let reference = composite_activation(act, &x.broadcast_add(&bias).unwrap()).unwrap();
            assert!(max_abs_diff(&fused, &reference) < 1e-5, "{act:?}");
        }
        let plain = bias_act(x.copy().unwrap(), Some(&bias), None).unwrap();
        assert_eq!(max_abs_diff(&plain, &x.broadcast_add(&bias).unwrap()), 0.0);
        // erf GELU is candle's own.
        let erf = bias_act(x.copy().unwrap(), Some(&bias), Some(Activation::Gelu)).unwrap();
        let reference = x.broadcast_add(&bias).unwrap().gelu_erf().unwrap();
        assert_eq!(max_abs_diff(&erf, &reference), 0.0);
    }

    #[test]
    fn a_bias_of_the_wrong_width_is_an_error() {
        let x = random(&[4, 6], 4);
        assert!(bias_act(x, Some(&random(&[5], 5)), None).is_err());
    }

    /// The composite path (what CUDA runs) is the reference for the fused one.
    fn composite(scores: &Tensor, scale: f64, causal: Option<Causal>) -> Tensor {
        let scaled = (scores * scale).unwrap();
        let masked = match causal {
            Some(c) => scaled
                .broadcast_add(&causal_mask(&scaled, c).unwrap())
                .unwrap(),
            None => scaled,
        };
        candle_nn::ops::softmax_last_dim(&masked).unwrap()
    }

    #[test]
    fn causal_softmax_equals_mask_then_softmax() {
        // 2 × 3 heads, 5 new queries after 4 cached keys; then no cache; then 2 query heads
        // of 3 new tokens per row block (grouped-query attention); then unmasked.
        let causal = |past, queries| Some(Causal { past, queries });
        for (shape, mask) in [
            ([2, 3, 5, 9], causal(4, 5)),
            ([1, 2, 6, 6], causal(0, 6)),
            ([2, 1, 6, 5], causal(2, 3)),
            ([2, 2, 3, 7], None),
        ] {
            let scores = random(&shape, 7);
            let fused = scaled_softmax(scores.copy().unwrap(), 0.125, mask).unwrap();
            let reference = composite(&scores, 0.125, mask);
            assert!(
                max_abs_diff(&fused, &reference) < 1e-6,
                "{shape:?} {mask:?}"
            );
        }
    }

    /// What CUDA runs (candle's ops), reached on the CPU through f64.
    #[test]
    fn the_fallback_path_agrees_with_the_fused_one() {
        let scores = random(&[2, 1, 6, 5], 11);
        let causal = Some(Causal {
            past: 2,
            queries: 3,
        });
        let fused = scaled_softmax(scores.copy().unwrap(), 0.5, causal).unwrap();
        let fallback = scaled_softmax(scores.to_dtype(DType::F64).unwrap(), 0.5, causal).unwrap();
        let fallback = fallback.to_dtype(DType::F32).unwrap();
        assert!(max_abs_diff(&fused, &fallback) < 1e-6);

        let x = random(&[5, 8], 12);
        let bias = random(&[8], 13);
        let fused = bias_act(x.copy().unwrap(), Some(&bias), Some(Activation::Silu)).unwrap();
        let wide = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
        let fallback = bias_act(wide(&x), Some(&wide(&bias)), Some(Activation::Silu)).unwrap();
        let fallback = fallback.to_dtype(DType::F32).unwrap();
        assert!(max_abs_diff(&fused, &fallback) < 1e-5);
    }

    #[test]
    fn masked_keys_get_exactly_zero() {
        let causal = Causal {
            past: 2,
            queries: 3,
        };
        let probs = scaled_softmax(random(&[1, 1, 3, 5], 9), 1.0, Some(causal)).unwrap();
        let rows = probs.squeeze(0).unwrap().squeeze(0).unwrap();
        let rows = rows.to_vec2::<f32>().unwrap();
        assert_eq!(rows[0][3..], [0.0, 0.0]);
        assert_eq!(rows[1][4], 0.0);
        assert!(rows[2].iter().all(|&p| p > 0.0));
        for row in rows {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}
