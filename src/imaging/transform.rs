//! radio-llava's model-input transform (radio_llava/utils.py `transform_img`, as its
//! `load_img_as_pil_rgb` calls it), reproduced step by step with NumPy 2's float32 dtype
//! rules so the bytes match astropy + numpy on float32 FITS data:
//!
//! 1. non-finite pixels → 0; no finite non-zero pixel at all → error;
//! 2. optionally ZScaleInterval(contrast)(data): (x − vmin) / (vmax − vmin), clipped to [0, 1];
//! 3. min–max to [0, 255] in float32, then `astype(uint8)` (truncation, not rounding);
//! 4. the grey plane copied to R, G and B.

use super::Plane;
use super::zscale::{Limit, ZscaleParams, zscale_limits};
use image::RgbImage;

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
    if !plane.pixels.iter().any(|v| v.is_finite() && *v != 0.0) {
        return Err(TransformError::NoFinitePixels);
    }
    let mut data: Vec<f32> = plane
        .pixels
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.0 })
        .collect();
    if options.zscale {
        let params = ZscaleParams {
            contrast: options.contrast,
            ..ZscaleParams::default()
        };
        if let Some((vmin, vmax)) = zscale_limits(&data, &params) {
            apply_interval(&mut data, vmin, vmax);
        }
    }
    Ok(min_max_to_u8(&data))
}

/// The RGB picture the model receives.
pub fn radio_llava_rgb(
    plane: &Plane,
    options: &TransformOptions,
) -> Result<RgbImage, TransformError> {
    let levels = radio_llava_levels(plane, options)?;
    Ok(grey_to_rgb(plane.width, plane.height, &levels))
}

pub fn grey_to_rgb(width: usize, height: usize, levels: &[u8]) -> RgbImage {
    let mut rgb = Vec::with_capacity(levels.len() * 3);
    for &v in levels {
        rgb.extend_from_slice(&[v, v, v]);
    }
    RgbImage::from_raw(width as u32, height as u32, rgb)
        .unwrap_or_else(|| RgbImage::new(width as u32, height as u32))
}

/// BaseInterval.__call__ with clip=True under NumPy 2: subtracting `float(vmin)` stays in
/// float32; dividing by `vmax − vmin` runs in float64 when that difference is a float64
/// scalar and is cast back into the float32 array.
fn apply_interval(data: &mut [f32], vmin: Limit, vmax: Limit) {
    let offset = vmin.value() as f32;
    let span_is_f32 = matches!((vmin, vmax), (Limit::Sample(_), Limit::Sample(_)));
    let span_f32 = match (vmin, vmax) {
        (Limit::Sample(a), Limit::Sample(b)) => b - a,
        _ => 0.0,
    };
    let span_f64 = vmax.value() - vmin.value();
    let nonzero = if span_is_f32 {
        span_f32 != 0.0
    } else {
        span_f64 != 0.0
    };
    for v in data.iter_mut() {
        let mut x = *v - offset;
        if nonzero {
            x = if span_is_f32 {
                x / span_f32
            } else {
                (x as f64 / span_f64) as f32
            };
        }
        *v = x.clamp(0.0, 1.0);
    }
}

/// `(x − min) / (max − min) * 255 + 0`, all float32, then truncation to uint8.
fn min_max_to_u8(data: &[f32]) -> Vec<u8> {
    let min = data.iter().copied().fold(f32::INFINITY, f32::min);
    let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let span = max - min;
    data.iter()
        .map(|&x| {
            if span == 0.0 {
                // numpy yields NaN here, which casts to 0 on every platform radio-llava runs on.
                return 0;
            }
            let scaled = (x - min) / span * 255.0f32 + 0.0f32;
            scaled as u8
        })
        .collect()
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
