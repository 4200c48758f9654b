//! Antialiased bicubic resize of 8-bit RGB in fixed point, as the image processors of
//! transformers do it: torchvision's uint8 kernel on CPU (`LlavaOnevisionImageProcessor`) and
//! PIL's (`LlavaOnevisionImageProcessorPil`).
//!
//! Written here rather than taken from a crate because the model's input must equal the
//! reference processor's to the last grey level: both references quantise the normalised
//! Keys-cubic taps (a = -0.5, support scaled by the reduction factor) to integers, torchvision
//! at the largest precision under which the axis's biggest tap fits an i16, PIL at 22 bits,
//! and round the horizontal pass to 8 bits before the vertical one. image and
//! fast_image_resize filter in floats or other precisions, one grey level apart on edges —
//! 0.015 after normalisation, far past the 1e-5 the model's parity needs.

/// How the reference rounds its taps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// torchvision on CPU: the most bits for which the largest tap stays below 2^15.
    Torchvision,
    /// PIL's `ImagingResample`: always 22 bits.
    Pil,
}

use crate::imaging::resize::keys;

/// Interleaved RGB, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb8 {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Rgb8 {
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Rgb8 {
        debug_assert_eq!(data.len(), width * height * 3);
        Rgb8 {
            width,
            height,
            data,
        }
    }

    pub fn from_image(image: &image::DynamicImage) -> Rgb8 {
        let rgb = image.to_rgb8();
        Rgb8::new(rgb.width() as usize, rgb.height() as usize, rgb.into_raw())
    }
}

/// One axis of the filter: for each output sample, the first source sample and its taps.
struct Taps {
    first: Vec<usize>,
    weights: Vec<Vec<i32>>,
    precision: u32,
}

fn taps(input: usize, output: usize, precision: Precision) -> Taps {
    let scale = input as f64 / output as f64;
    let (support, invscale) = if scale >= 1.0 {
        (2.0 * scale, 1.0 / scale)
    } else {
        (2.0, 1.0)
    };
    let most = support.ceil() as i64 * 2 + 1;
    let mut first = Vec::with_capacity(output);
    let mut real = Vec::with_capacity(output);
    let mut largest = 0.0f64;
    for i in 0..output {
        let center = scale * (i as f64 + 0.5);
        // Truncation toward zero, as the references' integer casts do.
        let start = ((center - support + 0.5) as i64).max(0);
        let count = (((center + support + 0.5) as i64).min(input as i64) - start).clamp(0, most);
        let mut row: Vec<f64> = (0..count)
            .map(|j| keys(((j + start) as f64 - center + 0.5) * invscale))
            .collect();
        let total: f64 = row.iter().sum();
        if total != 0.0 {
            for w in &mut row {
                *w /= total;
                largest = largest.max(*w);
            }
        }
        first.push(start as usize);
        real.push(row);
    }
    let bits = match precision {
        Precision::Pil => 22,
        Precision::Torchvision => (0..22u32)
            .find(|&p| (0.5 + largest * f64::from(1u32 << (p + 1))) as i64 >= 1 << 15)
            .unwrap_or(22),
    };
    let one = f64::from(1u32 << bits);
    let weights = real
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|w| {
                    let v = w * one;
                    if v < 0.0 {
                        (v - 0.5) as i32
                    } else {
                        (v + 0.5) as i32
                    }
                })
                .collect()
        })
        .collect();
    Taps {
        first,
        weights,
        precision: bits,
    }
}

fn convolve(weights: &[i32], precision: u32, sample: impl Fn(usize) -> u8) -> u8 {
    let mut sum: i64 = 1 << (precision.max(1) - 1);
    for (j, w) in weights.iter().enumerate() {
        sum += i64::from(*w) * i64::from(sample(j));
    }
    (sum >> precision).clamp(0, 255) as u8
}

/// Resize to `width × height`: the horizontal pass first, rounded to 8 bits, then the
/// vertical one; an axis whose size does not change is not filtered.
pub fn resize(image: &Rgb8, width: usize, height: usize, precision: Precision) -> Rgb8 {
    let horizontal = if width == image.width {
        image.clone()
    } else {
        let axis = taps(image.width, width, precision);
        let mut data = Vec::with_capacity(width * image.height * 3);
        for y in 0..image.height {
            let row = &image.data[y * image.width * 3..(y + 1) * image.width * 3];
            for (x, weights) in axis.weights.iter().enumerate() {
                let start = axis.first[x];
                for c in 0..3 {
                    data.push(convolve(weights, axis.precision, |j| {
                        row[(start + j) * 3 + c]
                    }));
                }
            }
        }
        Rgb8::new(width, image.height, data)
    };
    if height == image.height {
        return horizontal;
    }
    let axis = taps(image.height, height, precision);
    let stride = width * 3;
    let mut data = Vec::with_capacity(width * height * 3);
    for (y, weights) in axis.weights.iter().enumerate() {
        let start = axis.first[y];
        for i in 0..stride {
            data.push(convolve(weights, axis.precision, |j| {
                horizontal.data[(start + j) * stride + i]
            }));
        }
    }
    Rgb8::new(width, height, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_size_is_the_identity() {
        let image = Rgb8::new(3, 2, (0..18).map(|v| v * 14).collect());
        assert_eq!(resize(&image, 3, 2, Precision::Torchvision), image);
    }

    #[test]
    fn a_flat_image_stays_flat_up_and_down() {
        let image = Rgb8::new(7, 5, vec![200; 7 * 5 * 3]);
        for (w, h) in [(3, 2), (20, 13), (7, 11)] {
            for precision in [Precision::Torchvision, Precision::Pil] {
                let out = resize(&image, w, h, precision);
                assert_eq!((out.width, out.height), (w, h));
                assert!(out.data.iter().all(|&v| v == 200), "{w}×{h} {precision:?}");
            }
        }
    }

    #[test]
    fn torchvision_precision_keeps_the_largest_tap_in_i16() {
        for (input, output) in [(10, 3), (3, 10), (384, 384 * 6), (5000, 384)] {
            let axis = taps(input, output, Precision::Torchvision);
            let largest = axis.weights.iter().flatten().max().copied().unwrap();
            assert!(largest < 1 << 15, "{input}->{output}: {largest}");
            assert!(largest >= 1 << 14, "{input}->{output}: precision too low");
        }
    }
}
