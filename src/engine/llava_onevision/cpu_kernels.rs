//! The elementwise work around the matrix products, fused, in place and on every core.
//!
//! Written by hand because candle 0.10's CPU backend runs each elementwise op on one thread
//! into a new buffer: at llava-onevision-qwen2-0.5b's dimensions the attention's scale, causal
//! mask and softmax took 0.32 s per language-model layer and SigLIP's GELU 0.12 s per layer,
//! more than their GEMMs (perf/RESULTS.md, "Time to first token on the own engine"). Here
//! a linear's bias, activation and what follows it — a residual add, or the gated MLP's
//! product — are one pass over its fresh output (the attention's softmax lives in
//! `attention`). The formulas are candle's (and transformers'), element for element.
//!
//! Each function falls back to candle's own ops off the CPU (CUDA) or off f32.

use super::config::Activation;
use super::vector_math::{gelu_tanh, x_sigmoid};
use candle_core::{CpuStorage, DType, InplaceOp1, InplaceOp2, Layout, Result, Tensor};
use rayon::prelude::*;

/// Elements per parallel task: large enough that rayon's overhead vanishes.
const CHUNK: usize = 1 << 14;

/// What the pass does last, with a tensor of the output's shape: add it (a residual) or
/// multiply by it (the other half of a gated MLP).
#[derive(Debug, Clone, Copy)]
pub enum Then<'a> {
    Add(&'a Tensor),
    Mul(&'a Tensor),
}

/// `act(x + bias)` (bias broadcast over rows), then `then`, written over `x`. `x` must be a
/// fresh tensor this caller owns (a matmul's output): its storage is changed in place.
pub fn bias_act(
    x: Tensor,
    bias: Option<&Tensor>,
    act: Option<Activation>,
    then: Option<Then>,
) -> Result<Tensor> {
    let on_cpu_f32 = |t: &Tensor| t.device().is_cpu() && t.dtype() == DType::F32;
    let other = then.map(|t| match t {
        Then::Add(t) | Then::Mul(t) => t,
    });
    let fused = on_cpu_f32(&x)
        && x.is_contiguous()
        && act.is_none_or(|a| a != Activation::Gelu)
        && other.is_none_or(|o| on_cpu_f32(o) && o.is_contiguous() && o.dims() == x.dims());
    if !fused {
        return composite(x, bias, act, then);
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
    let op = Epilogue {
        bias,
        act,
        multiply: matches!(then, Some(Then::Mul(_))),
    };
    match other {
        Some(other) => x.inplace_op2(other, &op)?,
        None => x.inplace_op1(&op)?,
    }
    Ok(x)
}

/// candle's ops (what CUDA and non-f32 run).
fn composite(
    x: Tensor,
    bias: Option<&Tensor>,
    act: Option<Activation>,
    then: Option<Then>,
) -> Result<Tensor> {
    let x = match bias {
        Some(bias) => x.broadcast_add(bias)?,
        None => x,
    };
    let x = match act {
        Some(act) => composite_activation(act, &x)?,
        None => x,
    };
    match then {
        Some(Then::Add(other)) => x + other,
        Some(Then::Mul(other)) => x * other,
        None => Ok(x),
    }
}

fn composite_activation(act: Activation, x: &Tensor) -> Result<Tensor> {
    match act {
        Activation::Gelu => x.gelu_erf(),
        Activation::GeluTanh => x.gelu(),
        Activation::Silu => x.silu(),
        Activation::QuickGelu => x.broadcast_mul(&candle_nn::ops::sigmoid(&(x * 1.702)?)?),
    }
}

struct Epilogue {
    bias: Option<Vec<f32>>,
    act: Option<Activation>,
    /// With a second tensor: multiply by it (else add it).
    multiply: bool,
}

impl Epilogue {
    fn run(&self, data: &mut [f32], other: Option<&[f32]>) {
        let width = self.bias.as_ref().map_or(CHUNK, Vec::len).max(1);
        // Whole rows per task so the bias lines up with each task's first element.
        let task = CHUNK.div_ceil(width).max(1) * width;
        data.par_chunks_mut(task)
            .enumerate()
            .for_each(|(i, chunk)| {
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
                if let Some(other) = other {
                    let other = &other[i * task..i * task + chunk.len()];
                    match self.multiply {
                        true => chunk.iter_mut().zip(other).for_each(|(v, o)| *v *= o),
                        false => chunk.iter_mut().zip(other).for_each(|(v, o)| *v += o),
                    }
                }
            });
    }
}

impl InplaceOp1 for Epilogue {
    fn name(&self) -> &'static str {
        "bias-act"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        self.run(contiguous_f32(storage, layout)?, None);
        Ok(())
    }
}

impl InplaceOp2 for Epilogue {
    fn name(&self) -> &'static str {
        "bias-act-combine"
    }

    fn cpu_fwd(
        &self,
        storage: &mut CpuStorage,
        layout: &Layout,
        other: &CpuStorage,
        other_layout: &Layout,
    ) -> Result<()> {
        let CpuStorage::F32(other) = other else {
            return Err(candle_core::Error::Msg("expected f32 storage".into()));
        };
        let other = match other_layout.contiguous_offsets() {
            Some((start, end)) => &other[start..end],
            None => {
                return Err(candle_core::Error::Msg(
                    "expected a contiguous tensor".into(),
                ));
            }
        };
        let data = contiguous_f32(storage, layout)?;
        if data.len() != other.len() {
            return Err(candle_core::Error::Msg(format!(
                "combining {} elements with {}",
                data.len(),
                other.len()
            )));
        }
        self.run(data, Some(other));
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
    use super::super::test_tensors::{max_abs_diff, random};
    use super::*;

    #[test]
    fn bias_and_activation_equal_candles_ops() {
        let x = random(&[37, 70], 1);
        let bias = random(&[70], 2);
        for act in [
            Activation::GeluTanh,
            Activation::Silu,
            Activation::QuickGelu,
        ] {
            let fused = bias_act(x.copy().unwrap(), Some(&bias), Some(act), None).unwrap();
            let reference = composite_activation(act, &x.broadcast_add(&bias).unwrap()).unwrap();
            assert!(max_abs_diff(&fused, &reference) < 1e-5, "{act:?}");
        }
        let plain = bias_act(x.copy().unwrap(), Some(&bias), None, None).unwrap();
        assert_eq!(max_abs_diff(&plain, &x.broadcast_add(&bias).unwrap()), 0.0);
        // erf GELU is candle's own.
        let erf = bias_act(x.copy().unwrap(), Some(&bias), Some(Activation::Gelu), None).unwrap();
        let reference = x.broadcast_add(&bias).unwrap().gelu_erf().unwrap();
        assert_eq!(max_abs_diff(&erf, &reference), 0.0);
    }

    #[test]
    fn a_residual_or_gate_joins_the_pass_over_any_shape() {
        // Rows of a [2, 3, 8] tensor: the bias lines up with each row's start.
        let x = random(&[2, 3, 8], 21);
        let bias = random(&[8], 22);
        let other = random(&[2, 3, 8], 23);
        let biased = x.broadcast_add(&bias).unwrap();
        let added = bias_act(
            x.copy().unwrap(),
            Some(&bias),
            None,
            Some(Then::Add(&other)),
        );
        let expected = (&biased + &other).unwrap();
        assert_eq!(max_abs_diff(&added.unwrap(), &expected), 0.0);
        let gated = bias_act(
            x.copy().unwrap(),
            None,
            Some(Activation::Silu),
            Some(Then::Mul(&other)),
        );
        let expected = (x.silu().unwrap() * &other).unwrap();
        assert!(max_abs_diff(&gated.unwrap(), &expected) < 1e-5);
        // A partner of another shape is candle's broadcasting error, not a wrong answer.
        let wrong = random(&[3, 8], 24);
        assert!(bias_act(x.copy().unwrap(), None, None, Some(Then::Add(&wrong))).is_err());
    }

    #[test]
    fn a_bias_of_the_wrong_width_is_an_error() {
        let x = random(&[4, 6], 4);
        assert!(bias_act(x, Some(&random(&[5], 5)), None, None).is_err());
    }

    /// What CUDA runs (candle's ops), reached on the CPU through f64.
    #[test]
    fn the_fallback_path_agrees_with_the_fused_one() {
        let x = random(&[5, 8], 12);
        let bias = random(&[8], 13);
        let other = random(&[5, 8], 14);
        let wide = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
        for then in [None, Some(Then::Add(&other)), Some(Then::Mul(&other))] {
            let fused = bias_act(x.copy().unwrap(), Some(&bias), Some(Activation::Silu), then);
            let wide_other = wide(&other);
            let wide_then = then.map(|t| match t {
                Then::Add(_) => Then::Add(&wide_other),
                Then::Mul(_) => Then::Mul(&wide_other),
            });
            let fallback = bias_act(
                wide(&x),
                Some(&wide(&bias)),
                Some(Activation::Silu),
                wide_then,
            );
            let fallback = fallback.unwrap().to_dtype(DType::F32).unwrap();
            assert!(max_abs_diff(&fused.unwrap(), &fallback) < 1e-4, "{then:?}");
        }
    }
}
