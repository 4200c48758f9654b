//! Display stretches for previews and `view --png`. `radio-llava` is the model input itself;
//! the others map an interval of the finite pixels to 0–255 through a curve, NaN → black.

use super::Plane;
use super::transform::{TransformError, TransformOptions, radio_llava_levels};
use super::zscale::{ZscaleParams, zscale_limits};
use crate::util::error::BadValue;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stretch {
    /// Exactly the model input (zscale with the given contrast, min–max, truncation).
    RadioLlava,
    /// The zscale interval, linear.
    Zscale,
    /// The full finite range, linear.
    MinMax,
    /// Between two percentiles (numpy's linear interpolation), linear.
    Percentile { low: f64, high: f64 },
    /// Full range through asinh(x/0.1)/asinh(10) (astropy AsinhStretch, a = 0.1).
    Asinh,
    /// Full range through sqrt.
    Sqrt,
    /// Full range through log(1000x + 1)/log(1001) (astropy LogStretch, a = 1000).
    Log,
    /// Iterative sigma clipping around the median (radio-llava's 5σ below, 30σ above).
    SigmaClip { low: f64, high: f64 },
}

/// Every stretch by name, the model input first.
pub const STRETCH_NAMES: &[&str] = &[
    "radio-llava",
    "zscale",
    "minmax",
    "percentile",
    "asinh",
    "sqrt",
    "log",
    "sigma-clip",
];

impl std::str::FromStr for Stretch {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s.to_ascii_lowercase().as_str() {
            "radio-llava" | "model" => Ok(Stretch::RadioLlava),
            "zscale" => Ok(Stretch::Zscale),
            "minmax" => Ok(Stretch::MinMax),
            "percentile" => Ok(Stretch::Percentile {
                low: 0.5,
                high: 99.5,
            }),
            "asinh" => Ok(Stretch::Asinh),
            "sqrt" => Ok(Stretch::Sqrt),
            "log" => Ok(Stretch::Log),
            "sigma-clip" | "sigmaclip" => Ok(Stretch::SigmaClip {
                low: 5.0,
                high: 30.0,
            }),
            other => Err(BadValue::unknown(
                "stretch",
                other,
                format!("one of {}", STRETCH_NAMES.join(", ")),
            )),
        }
    }
}

/// Grey levels (0–255) of `plane` under `stretch`; `contrast` is zscale's.
pub fn render(plane: &Plane, stretch: Stretch, contrast: f64) -> Result<Vec<u8>, TransformError> {
    let finite: Vec<f32> = plane
        .pixels
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if stretch == Stretch::RadioLlava {
        return radio_llava_levels(
            plane,
            &TransformOptions {
                contrast,
                ..TransformOptions::default()
            },
        );
    }
    if finite.is_empty() {
        return Err(TransformError::NoFinitePixels);
    }
    let min_max = || {
        let lo = finite.iter().copied().fold(f32::INFINITY, f32::min) as f64;
        let hi = finite.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        (lo, hi)
    };
    let (lo, hi) = match stretch {
        Stretch::Zscale => {
            let params = ZscaleParams {
                contrast,
                ..ZscaleParams::default()
            };
            zscale_limits(&finite, &params)
                .map(|(a, b)| (a.value(), b.value()))
                .unwrap_or_else(min_max)
        }
        Stretch::Percentile { low, high } => {
            let mut sorted: Vec<f64> = finite.iter().map(|v| *v as f64).collect();
            sorted.sort_by(f64::total_cmp);
            (percentile(&sorted, low), percentile(&sorted, high))
        }
        Stretch::SigmaClip { low, high } => sigma_clip_bounds(&finite, low, high),
        _ => min_max(),
    };
    let curve = |x: f64| match stretch {
        Stretch::Asinh => (x / 0.1).asinh() / 10f64.asinh(),
        Stretch::Sqrt => x.sqrt(),
        Stretch::Log => (1000.0 * x + 1.0).ln() / 1001f64.ln(),
        _ => x,
    };
    let span = hi - lo;
    Ok(plane
        .pixels
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return 0;
            }
            let x = if span > 0.0 {
                ((v as f64 - lo) / span).clamp(0.0, 1.0)
            } else {
                0.0
            };
            (curve(x) * 255.0).round().clamp(0.0, 255.0) as u8
        })
        .collect())
}

/// numpy.percentile with the default linear method on sorted data.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

/// astropy.stats.sigma_clip bounds (median centre, standard deviation, up to 5 iterations)
/// over the finite non-zero pixels, as radio-llava's get_clipped_data uses it.
fn sigma_clip_bounds(values: &[f32], low: f64, high: f64) -> (f64, f64) {
    let mut kept: Vec<f64> = values
        .iter()
        .filter(|v| **v != 0.0)
        .map(|v| *v as f64)
        .collect();
    if kept.is_empty() {
        kept = values.iter().map(|v| *v as f64).collect();
    }
    let mut bounds = (f64::NEG_INFINITY, f64::INFINITY);
    for _ in 0..5 {
        kept.sort_by(f64::total_cmp);
        let median = percentile(&kept, 50.0);
        let mean = kept.iter().sum::<f64>() / kept.len() as f64;
        let std = (kept.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / kept.len() as f64).sqrt();
        bounds = (median - low * std, median + high * std);
        let before = kept.len();
        kept.retain(|v| *v >= bounds.0 && *v <= bounds.1);
        if kept.len() == before || kept.is_empty() {
            break;
        }
    }
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy_linear() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1,2,3,4], [0, 50, 99.5, 100]) = 1, 2.5, 3.985, 4
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert_eq!(percentile(&sorted, 50.0), 2.5);
        assert!((percentile(&sorted, 99.5) - 3.985).abs() < 1e-12);
        assert_eq!(percentile(&sorted, 100.0), 4.0);
    }

    #[test]
    fn stretches_map_the_range_and_blacken_nan() {
        let plane = Plane {
            width: 3,
            height: 1,
            pixels: vec![0.0, 0.25, f32::NAN],
        };
        assert_eq!(
            render(&plane, Stretch::MinMax, 0.25).unwrap(),
            vec![0, 255, 0]
        );
        assert_eq!(
            render(&plane, Stretch::Sqrt, 0.25).unwrap(),
            vec![0, 255, 0]
        );
        let ramp = Plane {
            width: 5,
            height: 1,
            pixels: vec![0.0, 1.0, 2.0, 3.0, 4.0],
        };
        assert_eq!(
            render(&ramp, Stretch::Sqrt, 0.25).unwrap(),
            vec![0, 128, 180, 221, 255]
        );
        assert!(
            "bogus"
                .parse::<Stretch>()
                .unwrap_err()
                .to_string()
                .contains("radio-llava, zscale")
        );
    }
}
