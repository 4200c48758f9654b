//! radio-llava's model-input transform (radio_llava/utils.py `transform_img`, as its
//! `load_img_as_pil_rgb` calls it), reproduced step by step with NumPy 2's float32 dtype
//! rules so the bytes match astropy + numpy on float32 FITS data:
//!
//! 1. non-finite pixels → 0; no finite non-zero pixel at all → error;
//! 2. optionally ZScaleInterval(contrast)(data): (x − vmin) / (vmax − vmin), clipped to [0, 1];
//! 3. min–max to [0, 255] in float32, then `astype(uint8)` (truncation, not rounding);
//! 4. the grey plane copied to R, G and B.
//!
//! With a resize (off by default, as in radio-llava's benchmarks) the stretched plane is
//! resampled between steps 2 and 3 (see `resize.rs`).

use super::Plane;
use super::resize::{Resize, resize};
use super::spread::spread_to_rgb;
use super::zscale::{Limit, ZscaleParams, limits_from_samples, sample};
use image::RgbImage;
use rayon::prelude::*;

/// Settings of the model-input transform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformOptions {
    /// Apply zscale before the min–max normalisation (radio-llava's default: on).
    pub zscale: bool,
    /// ZScaleInterval contrast (radio-llava: 0.25).
    pub contrast: f64,
    /// Resample the stretched plane before the min–max step (radio-llava: off).
    pub resize: Option<Resize>,
}

impl Default for TransformOptions {
    fn default() -> Self {
        Self {
            zscale: true,
            contrast: 0.25,
            resize: None,
        }
    }
}

/// Why a plane cannot become a model input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    #[error("no finite pixels: every pixel is NaN, infinite or zero")]
    NoFinitePixels,
}

/// The grey levels (0–255) radio-llava feeds the model, row-major as the plane (`resize` is
/// not applied here; [`radio_llava_rgb`] applies it).
pub fn radio_llava_levels(
    plane: &Plane,
    options: &TransformOptions,
) -> Result<Vec<u8>, TransformError> {
    struct Grey<'a>(&'a [f32]);
    impl LevelWriter<Vec<u8>> for Grey<'_> {
        fn run(self, level: impl Fn(f32) -> u8 + Sync + Copy) -> Vec<u8> {
            let mut levels = vec![0u8; self.0.len()];
            levels
                .par_chunks_mut(CHUNK)
                .zip(self.0.par_chunks(CHUNK))
                .for_each(|(out, input)| {
                    out.iter_mut().zip(input).for_each(|(o, &v)| *o = level(v))
                });
            levels
        }
    }
    Ok(Mapping::new(plane, options)?.with_level(Grey(&plane.pixels)))
}

/// The RGB picture the model receives.
pub fn radio_llava_rgb(
    plane: &Plane,
    options: &TransformOptions,
) -> Result<RgbImage, TransformError> {
    struct Rgb<'a>(&'a [f32]);
    impl LevelWriter<Vec<u8>> for Rgb<'_> {
        fn run(self, level: impl Fn(f32) -> u8 + Sync + Copy) -> Vec<u8> {
            let mut rgb = super::buffer::zeroed::<u8>(self.0.len() * 3);
            rgb.par_chunks_mut(CHUNK * 3)
                .zip(self.0.par_chunks(CHUNK))
                .for_each(|(out, input)| {
                    // Levels first into a small buffer (a loop the compiler vectorises), then
                    // spread to R, G, B.
                    let mut levels = [0u8; 4096];
                    for (out, input) in out.chunks_mut(3 * 4096).zip(input.chunks(4096)) {
                        let levels = &mut levels[..input.len()];
                        levels
                            .iter_mut()
                            .zip(input)
                            .for_each(|(l, &v)| *l = level(v));
                        spread_to_rgb(levels, out);
                    }
                });
            rgb
        }
    }
    if let Some(target) = options.resize {
        let levels = resized_levels(plane, options, target)?;
        return Ok(grey_to_rgb(target.size, target.size, &levels));
    }
    let rgb = Mapping::new(plane, options)?.with_level(Rgb(&plane.pixels));
    Ok(
        RgbImage::from_raw(plane.width as u32, plane.height as u32, rgb)
            .unwrap_or_else(|| RgbImage::new(plane.width as u32, plane.height as u32)),
    )
}

/// Steps 1–2, the resize, then step 3 on the resampled plane (whose extremes are measured
/// afresh: bicubic resampling overshoots).
fn resized_levels(
    plane: &Plane,
    options: &TransformOptions,
    target: Resize,
) -> Result<Vec<u8>, TransformError> {
    let interval = Mapping::new(plane, options)?.interval;
    let stretched: Vec<f32> = plane
        .pixels
        .iter()
        .map(|&v| interval.map_or(zeroed(v), |i| i.apply(zeroed(v))))
        .collect();
    let resized = resize(&stretched, plane.width, plane.height, target);
    let (_, min, max) = extremes(&resized);
    let span = max - min;
    Ok(resized
        .iter()
        .map(|&x| {
            if span == 0.0 {
                0
            } else {
                ((x - min) / span * 255.0f32 + 0.0f32) as u8
            }
        })
        .collect())
}

pub fn grey_to_rgb(width: usize, height: usize, levels: &[u8]) -> RgbImage {
    let rgb: Vec<u8> = levels.iter().flat_map(|&v| [v, v, v]).collect();
    RgbImage::from_raw(width as u32, height as u32, rgb)
        .unwrap_or_else(|| RgbImage::new(width as u32, height as u32))
}

/// Pixels per parallel work item.
const CHUNK: usize = 1 << 16;

/// The whole transform as a per-pixel function, found in two read-only passes (zscale samples,
/// then min/max of the stretched values) so the plane is never copied.
struct Mapping {
    interval: Option<Interval>,
    min: f32,
    span: f32,
}

/// BaseInterval.__call__ with clip=True under NumPy 2: subtracting `float(vmin)` stays in
/// float32; dividing by `vmax − vmin` runs in float64 when that difference is a float64
/// scalar (a fitted limit) and is cast back into the float32 array.
#[derive(Clone, Copy)]
enum Interval {
    F32 { offset: f32, span: f32 },
    F64 { offset: f32, span: f64 },
}

impl Interval {
    fn new(vmin: Limit, vmax: Limit) -> Interval {
        let offset = vmin.value() as f32;
        match (vmin, vmax) {
            (Limit::Sample(a), Limit::Sample(b)) => Interval::F32 {
                offset,
                span: b - a,
            },
            _ => Interval::F64 {
                offset,
                span: vmax.value() - vmin.value(),
            },
        }
    }

    #[inline]
    fn apply(self, v: f32) -> f32 {
        let x = match self {
            Interval::F32 { offset, span } if span != 0.0 => (v - offset) / span,
            Interval::F32 { offset, .. } => v - offset,
            Interval::F64 { offset, span } if span != 0.0 => ((v - offset) as f64 / span) as f32,
            Interval::F64 { offset, .. } => v - offset,
        };
        x.clamp(0.0, 1.0)
    }
}

impl Mapping {
    fn new(plane: &Plane, options: &TransformOptions) -> Result<Mapping, TransformError> {
        let pixels = &plane.pixels;
        let interval = if options.zscale {
            let params = ZscaleParams {
                contrast: options.contrast,
                ..ZscaleParams::default()
            };
            // After NaN → 0 every pixel is finite, so zscale samples the whole plane. The
            // slice iterator jumps straight to each sample (a mapped iterator would visit all).
            let samples = sample(pixels.iter().copied(), pixels.len(), params.n_samples)
                .into_iter()
                .map(zeroed)
                .collect();
            limits_from_samples(samples, &params).map(|(lo, hi)| Interval::new(lo, hi))
        } else {
            None
        };
        // The interval step is monotonic (float rounding included), so the stretched plane's
        // extremes are the stretched raw extremes: one cheap comparison pass suffices.
        let (any_signal, raw_min, raw_max) = pixels.par_chunks(CHUNK).map(extremes).reduce(
            || (false, f32::INFINITY, f32::NEG_INFINITY),
            |a, b| (a.0 || b.0, a.1.min(b.1), a.2.max(b.2)),
        );
        if !any_signal {
            return Err(TransformError::NoFinitePixels);
        }
        let stretched = |v: f32| interval.map_or(v, |i| i.apply(v));
        let (a, b) = (stretched(raw_min), stretched(raw_max));
        let (min, max) = (a.min(b), a.max(b));
        Ok(Mapping {
            interval,
            min,
            span: max - min,
        })
    }

    /// Call `write` with the per-pixel function, specialised for this mapping's case so each
    /// variant compiles to a branch-free loop.
    fn with_level<R>(&self, write: impl LevelWriter<R>) -> R {
        let (min, span) = (self.min, self.span);
        if span == 0.0 {
            // numpy yields NaN here, which casts to 0 on every platform radio-llava runs on.
            return write.run(|_| 0);
        }
        // `(x − min) / (max − min) * 255 + 0` in float32, then truncation to uint8. Every
        // stretched x lies in [min, max] and IEEE rounding is monotonic, so the value is
        // already in [0, 255]; the max/min only make that a local fact.
        // max/min, not clamp: clamp keeps NaN, which the unchecked cast below must not see.
        #[allow(clippy::manual_clamp)]
        let scale = move |x: f32| {
            let level = ((x - min) / span * 255.0f32 + 0.0f32).max(0.0).min(255.0);
            // SAFETY: `level` is finite and within [0, 255] (max/min above drop NaN), so the
            // unchecked truncation equals `as u8`; unlike it, it compiles to one vector
            // instruction per four pixels.
            unsafe { level.to_int_unchecked::<i32>() as u8 }
        };
        match self.interval {
            None => write.run(move |v| scale(zeroed(v))),
            Some(Interval::F32 { offset, span }) if span != 0.0 => {
                write.run(move |v| scale(((zeroed(v) - offset) / span).clamp(0.0, 1.0)))
            }
            Some(Interval::F64 { offset, span }) if span != 0.0 => write
                .run(move |v| scale((((zeroed(v) - offset) as f64 / span) as f32).clamp(0.0, 1.0))),
            Some(Interval::F32 { offset, .. } | Interval::F64 { offset, .. }) => {
                write.run(move |v| scale((zeroed(v) - offset).clamp(0.0, 1.0)))
            }
        }
    }
}

/// Something that fills an output from a per-pixel level function.
trait LevelWriter<R> {
    fn run(self, level: impl Fn(f32) -> u8 + Sync + Copy) -> R;
}

#[inline(always)]
fn zeroed(v: f32) -> f32 {
    // `abs() < inf` is `is_finite()` (false for NaN) in a form that vectorises.
    if v.abs() < f32::INFINITY { v } else { 0.0 }
}

/// (any non-zero, min, max) of a chunk after non-finite → 0, kept in eight independent lanes
/// with plain comparisons so the loop vectorises (f32::min's NaN rules would stop that, and
/// there is no NaN left after zeroing).
fn extremes(chunk: &[f32]) -> (bool, f32, f32) {
    const LANES: usize = 8;
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut nonzero = [0u32; LANES];
    let lanes = chunk.chunks_exact(LANES);
    let rest = lanes.remainder();
    for block in lanes {
        for i in 0..LANES {
            let z = zeroed(block[i]);
            nonzero[i] |= (z != 0.0) as u32;
            lo[i] = if z < lo[i] { z } else { lo[i] };
            hi[i] = if z > hi[i] { z } else { hi[i] };
        }
    }
    let mut result = (
        nonzero.iter().any(|&n| n != 0),
        lo.iter().fold(f32::INFINITY, |a, &b| a.min(b)),
        hi.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)),
    );
    for &v in rest {
        let z = zeroed(v);
        result = (result.0 || z != 0.0, result.1.min(z), result.2.max(z));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(pixels: Vec<f32>, width: usize) -> Plane {
        Plane {
            width,
            height: pixels.len() / width,
            pixels,
        }
    }

    #[test]
    fn all_nan_or_zero_is_refused() {
        let p = plane(vec![f32::NAN, 0.0, f32::INFINITY, 0.0], 2);
        assert_eq!(
            radio_llava_levels(&p, &TransformOptions::default()),
            Err(TransformError::NoFinitePixels)
        );
    }

    #[test]
    fn min_max_truncates_and_nan_becomes_the_minimum() {
        let p = plane(vec![f32::NAN, 1.0, 2.0, 3.0], 2);
        let levels = radio_llava_levels(
            &p,
            &TransformOptions {
                zscale: false,
                ..TransformOptions::default()
            },
        )
        .unwrap();
        // NaN → 0 → the minimum; 1/3·255 = 85 exactly, 2/3·255 = 170.
        assert_eq!(levels, vec![0, 85, 170, 255]);
    }
}
