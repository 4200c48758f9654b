//! A built-in picture of a double-lobed radio source on noise, drawn in code: the default
//! image of `radiochat-perf engine` and of engine tests, so they need no file. (`--demo` attaches a
//! synthetic FITS cutout instead: `commands::demo::cutout_path`.)

use image::{DynamicImage, GrayImage, Luma};

pub fn demo_cutout() -> DynamicImage {
    const SIZE: u32 = 64;
    let lobe = |x: f32, y: f32, cx: f32, cy: f32, sigma: f32| {
        (-((x - cx).powi(2) + (y - cy).powi(2)) / (2.0 * sigma * sigma)).exp()
    };
    // A fixed pseudo-random noise pattern (no RNG state needed).
    let noise = |x: u32, y: u32| {
        let h =
            (x.wrapping_mul(374_761_393) ^ y.wrapping_mul(668_265_263)).wrapping_mul(2_246_822_519);
        ((h >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.08
    };
    let picture = GrayImage::from_fn(SIZE, SIZE, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let flux = lobe(fx, fy, 20.0, 24.0, 4.0)
            + lobe(fx, fy, 44.0, 40.0, 4.0)
            + 0.6 * lobe(fx, fy, 32.0, 32.0, 1.5)
            + noise(x, y);
        Luma([(flux.clamp(0.0, 1.0) * 255.0) as u8])
    });
    DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(picture).to_rgb8())
}
