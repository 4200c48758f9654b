//! exp, tanh, GELU and SiLU over f32 slices in a form the compiler vectorises (no calls, no
//! branches per element), plus lane-wise max and sum.
//!
//! Written by hand because the scalar libm calls (`expf`, `tanhf`) were a tenth of a new
//! image's first token at llava-onevision-qwen2-0.5b's dimensions (800 M exponentials in the
//! softmaxes alone), and no maintained crate offers vectorised f32 exp on stable Rust. `exp`
//! is Cephes' `expf` (range reduction by ln 2 in two parts, a degree-6 polynomial, the power
//! of two put into the exponent bits): within 2 ulp of libm over the range that matters here
//! (tested below).

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `n · LN2_HI` is exact for the `n` in range.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Inputs are clamped here: `exp(88)` is finite, `exp(-87.3)` the smallest normal float.
const MAX_INPUT: f32 = 88.0;
const MIN_INPUT: f32 = -87.33654;
const ROUNDER: f32 = 12_582_912.0;

/// e^x for finite x (saturating at the ends of f32's range).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Selects, not `f32::clamp` (its NaN handling and checks stop vectorisation).
    let x = if x < MIN_INPUT { MIN_INPUT } else { x };
    let x = if x > MAX_INPUT { MAX_INPUT } else { x };
    // Round x / ln 2 to the nearest integer n by adding 1.5 · 2²³: n lands in the low mantissa
    // bits, read as an integer without a float → int conversion (Rust's saturates, which does
    // not vectorise; SSE2 has no vector floor either).
    let shifted = x * LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let p = p * r * r + r + 1.0;
    p * f32::from_bits((n_int.wrapping_add(127) as u32) << 23)
}

/// tanh through exp: 1 − 2 / (e^{2x} + 1).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

const SQRT_TWO_OVER_PI: f32 = 0.797_884_6;

/// `gelu_pytorch_tanh`: 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + tanh(SQRT_TWO_OVER_PI * x * (1.0 + 0.044715 * x * x)))
}

/// x · sigmoid(k x) (SiLU with k = 1, QuickGELU with k = 1.702).
#[inline(always)]
pub fn x_sigmoid(x: f32, k: f32) -> f32 {
    x / (1.0 + exp(-k * x))
}

const LANES: usize = 16;

/// The largest element (−∞ for none), lane-wise so that it vectorises.
pub fn max(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = if v > *lane { v } else { *lane };
        }
    }
    tail.iter()
        .chain(&lanes)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// The sum, lane-wise so that it vectorises (the order of additions differs from a plain
/// loop's by rounding only).
pub fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulp_of_libm() {
        let mut worst = 0;
        let mut x = -87.0f32;
        while x < 88.0 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 0.00731;
        }
        assert!(worst <= 2, "{worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-1000.0) < 1e-37 && exp(-1000.0) >= 0.0);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn tanh_gelu_and_silu_match_libm_forms() {
        let mut x = -20.0f32;
        while x < 20.0 {
            assert!((tanh(x) - x.tanh()).abs() < 2e-7, "tanh {x}");
            let gelu = 0.5 * x * (1.0 + (SQRT_TWO_OVER_PI * x * (1.0 + 0.044715 * x * x)).tanh());
            assert!(
                (gelu_tanh(x) - gelu).abs() <= 2e-7 * x.abs().max(1.0),
                "gelu {x}"
            );
            let silu = x / (1.0 + (-x).exp());
            assert!(
                (x_sigmoid(x, 1.0) - silu).abs() <= 2e-7 * x.abs().max(1.0),
                "silu {x}"
            );
            x += 0.0137;
        }
    }

    #[test]
    fn max_and_sum_cover_every_element() {
        let values: Vec<f32> = (0..37).map(|i| ((i * 7) % 11) as f32 - 3.0).collect();
        assert_eq!(max(&values), 7.0);
        assert_eq!(sum(&values), values.iter().sum::<f32>());
        assert_eq!(max(&[]), f32::NEG_INFINITY);
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(max(&[-5.0; 40]), -5.0);
    }
}
