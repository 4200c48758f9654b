//! The optional resize step of radio-llava's transform: bicubic, without anti-aliasing (each
//! output pixel samples the 4×4 input pixels around its centre however far it shrinks), and
//! in square mode the plane is first zero-padded to a centred square so the aspect is kept.
//!
//! The kernel is cubic convolution with a = −0.5 (Keys), evaluated in f64 at pixel centres
//! (`x_in = (x_out + 0.5)·scale − 0.5`), edges clamped. scikit-image's `order=3` resize uses
//! a cubic spline instead, so resized values are close to radio-llava's but not bit-equal;
//! the unresized transform (the default) is exact.

/// Target of the resize step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resize {
    /// Output width and height in pixels.
    pub size: usize,
    /// Zero-pad to a centred square first (keeps the aspect ratio).
    pub square: bool,
}

/// `pixels` (width × height, row-major) resized to `resize.size`².
pub fn resize(pixels: &[f32], width: usize, height: usize, resize: Resize) -> Vec<f32> {
    let (source, w, h) = if resize.square && width != height {
        let side = width.max(height);
        let (dx, dy) = ((side - width) / 2, (side - height) / 2);
        let mut padded = vec![0f32; side * side];
        for (y, row) in pixels.chunks_exact(width).enumerate() {
            let start = (y + dy) * side + dx;
            padded[start..start + width].copy_from_slice(row);
        }
        (padded, side, side)
    } else {
        (pixels.to_vec(), width, height)
    };
    let n = resize.size.max(1);
    // Rows first (width → n), then columns (height → n).
    let horizontal = Taps::new(w, n);
    let mut rows = vec![0f32; n * h];
    for (y, out) in rows.chunks_exact_mut(n).enumerate() {
        let input = &source[y * w..(y + 1) * w];
        for (x, o) in out.iter_mut().enumerate() {
            *o = horizontal.apply(x, |i| input[i]);
        }
    }
    let vertical = Taps::new(h, n);
    let mut out = vec![0f32; n * n];
    for y in 0..n {
        for x in 0..n {
            out[y * n + x] = vertical.apply(y, |i| rows[i * n + x]);
        }
    }
    out
}

/// For each output index along one axis: four input indices (edge-clamped) and weights.
struct Taps {
    taps: Vec<([usize; 4], [f64; 4])>,
}

impl Taps {
    fn new(input: usize, output: usize) -> Taps {
        let scale = input as f64 / output as f64;
        let last = input as i64 - 1;
        let taps = (0..output)
            .map(|o| {
                let centre = (o as f64 + 0.5) * scale - 0.5;
                let base = centre.floor();
                let t = centre - base;
                let mut index = [0usize; 4];
                let mut weight = [0f64; 4];
                for k in 0..4 {
                    index[k] = (base as i64 + k as i64 - 1).clamp(0, last) as usize;
                    weight[k] = keys(t - (k as f64 - 1.0));
                }
                (index, weight)
            })
            .collect();
        Taps { taps }
    }

    fn apply(&self, o: usize, value: impl Fn(usize) -> f32) -> f32 {
        let (index, weight) = &self.taps[o];
        (0..4)
            .map(|k| value(index[k]) as f64 * weight[k])
            .sum::<f64>() as f32
    }
}

/// Keys' cubic convolution kernel, a = −0.5 (also the antialiased bicubic's filter in
/// `engine::llava_onevision::resize`).
pub fn keys(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_the_identity_and_constants_stay_constant() {
        // Identical rows: the vertical pass changes nothing (weights sum to 1) and the
        // horizontal pass at scale 1 samples each pixel exactly.
        let pixels: Vec<f32> = (0..12).map(|v| (v % 4) as f32).collect();
        let same = resize(
            &pixels,
            4,
            3,
            Resize {
                size: 4,
                square: false,
            },
        );
        for (got, want) in same.iter().zip([0.0, 1.0, 2.0, 3.0].iter().cycle()) {
            assert!((got - want).abs() < 1e-6, "{same:?}");
        }
        let flat = resize(
            &[2.5; 64],
            8,
            8,
            Resize {
                size: 3,
                square: false,
            },
        );
        assert!(flat.iter().all(|v| (v - 2.5).abs() < 1e-6), "{flat:?}");
    }

    #[test]
    fn square_mode_pads_with_centred_zeros() {
        // 4 wide, 2 high of ones → 4×4 with one zero row above and below.
        let out = resize(
            &[1.0; 8],
            4,
            2,
            Resize {
                size: 4,
                square: true,
            },
        );
        assert_eq!(&out[..4], &[0.0; 4]);
        assert_eq!(&out[12..], &[0.0; 4]);
        assert!(out[4..12].iter().all(|&v| v > 0.9), "{out:?}");
    }

    #[test]
    fn upsampling_a_ramp_stays_a_ramp_in_the_interior() {
        let ramp: Vec<f32> = (0..16).map(|i| (i % 4) as f32).collect();
        let out = resize(
            &ramp,
            4,
            4,
            Resize {
                size: 8,
                square: false,
            },
        );
        // Cubic convolution reproduces linear functions where no tap is edge-clamped.
        let row: Vec<f32> = out[8..16].to_vec();
        for x in 3..5 {
            let expected = (x as f32 + 0.5) * 0.5 - 0.5;
            assert!((row[x] - expected).abs() < 1e-5, "{row:?}");
        }
    }
}
