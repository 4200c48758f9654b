//! radio-llava's model-input transform (radio_llava/utils.py `transform_img`, as its
//! `load_img_as_pil_rgb` calls it), reproduced step by step with NumPy 2's float32 dtype
//! rules so the bytes match astropy + numpy on float32 FITS data:
//!
//! 1. non-finite pixels → 0; no finite non-zero pixel at all → error;
//! 2. optionally ZScaleInterval(contrast)(data): (x − vmin) / (vmax − vmin), clipped to [0, 1];
//! 3. min–max to [0, 255] in float32, then `astype(uint8)` (truncation, not rounding);
//! 4. the grey plane copied to R, G and B.

use super::Plane;
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
}

impl Default for TransformOptions {
    fn default() -> Self {
        Self {
            zscale: true,
            contrast: 0.25,
        }
    }
}

/// Why a plane cannot become a model input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    #[error("no finite pixels: every pixel is NaN, infinite or zero")]
    NoFinitePixels,
}

/// The grey levels (0–255) radio-llava feeds the model, row-major as the plane.
pub fn radio_llava_levels(
    plane: &Plane,
    options: &TransformOptions,
) -> Result<Vec<u8>, TransformError> {
    let mapping = Mapping::new(plane, options)?;
    let mut levels = vec![0u8; plane.pixels.len()];
    levels
        .par_chunks_mut(CHUNK)
        .zip(plane.pixels.par_chunks(CHUNK))
        .for_each(|(out, input)| {
            out.iter_mut()
                .zip(input)
                .for_each(|(o, &v)| *o = mapping.level(v))
        });
    Ok(levels)
}

/// The RGB picture the model receives.
pub fn radio_llava_rgb(
    plane: &Plane,
    options: &TransformOptions,
) -> Result<RgbImage, TransformError> {
    let mapping = Mapping::new(plane, options)?;
    let mut rgb = vec![0u8; plane.pixels.len() * 3];
    rgb.par_chunks_mut(CHUNK * 3)
        .zip(plane.pixels.par_chunks(CHUNK))
        .for_each(|(out, input)| {
            for (o, &v) in out.chunks_exact_mut(3).zip(input) {
                let level = mapping.level(v);
                o.copy_from_slice(&[level, level, level]);
            }
        });
    Ok(
        RgbImage::from_raw(plane.width as u32, plane.height as u32, rgb)
            .unwrap_or_else(|| RgbImage::new(plane.width as u32, plane.height as u32)),
    )
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
        let zeroed = |v: f32| if v.is_finite() { v } else { 0.0 };
        let interval = if options.zscale {
            let params = ZscaleParams {
                contrast: options.contrast,
                ..ZscaleParams::default()
            };
            // After NaN → 0 every pixel is finite, so zscale samples the whole plane.
            let samples = sample(
                pixels.iter().map(|&v| zeroed(v)),
                pixels.len(),
                params.n_samples,
            );
            limits_from_samples(samples, &params).map(|(lo, hi)| Interval::new(lo, hi))
        } else {
            None
        };
        // The interval step is monotonic (float rounding included), so the stretched plane's
        // extremes are the stretched raw extremes: one cheap comparison pass suffices.
        let (any_signal, raw_min, raw_max) = pixels
            .par_chunks(CHUNK)
            .map(|chunk| {
                chunk.iter().fold(
                    (false, f32::INFINITY, f32::NEG_INFINITY),
                    |(any, lo, hi), &v| {
                        let z = zeroed(v);
                        (any || z != 0.0, lo.min(z), hi.max(z))
                    },
                )
            })
            .reduce(
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

    /// `(x − min) / (max − min) * 255 + 0` in float32, then truncation to uint8.
    #[inline]
    fn level(&self, v: f32) -> u8 {
        if self.span == 0.0 {
            // numpy yields NaN here, which casts to 0 on every platform radio-llava runs on.
            return 0;
        }
        let v = if v.is_finite() { v } else { 0.0 };
        let x = self.interval.map_or(v, |i| i.apply(v));
        ((x - self.min) / self.span * 255.0f32 + 0.0f32) as u8
    }
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
                contrast: 0.25,
            },
        )
        .unwrap();
        // NaN → 0 → the minimum; 1/3·255 = 85 exactly, 2/3·255 = 170.
        assert_eq!(levels, vec![0, 85, 170, 255]);
    }
}
