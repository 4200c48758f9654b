//! Sixel through `icy_sixel` (the encoder ratatui-image uses), without dithering. A grey
//! picture — every radio cutout under radiochat's stretches — gets a palette of all 256
//! greys: the quantisers bin a grey ramp into about 30 levels, which flattens faint emission,
//! and sixel itself keeps 101 (colours are percentages). Colour pictures get Wu's palette.

use icy_sixel::{EncodeOptions, QuantizeMethod};
use image::RgbImage;
use quantette::PaletteInColorSpace;
use quantette::deps::palette::Srgb;

/// The DCS sequence that draws `picture` at the cursor.
pub fn encode(picture: &RgbImage) -> Result<String, icy_sixel::SixelError> {
    let (w, h) = picture.dimensions();
    let rgba: Vec<u8> = picture
        .pixels()
        .flat_map(|p| [p.0[0], p.0[1], p.0[2], 255])
        .collect();
    let grey = picture
        .pixels()
        .all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]);
    let quantize_method = if grey {
        let greys: Vec<Srgb<u8>> = (0..=255).map(|v| Srgb::new(v, v, v)).collect();
        PaletteInColorSpace::try_from(greys)
            .map_or(QuantizeMethod::Wu, QuantizeMethod::CustomPalette)
    } else {
        QuantizeMethod::Wu
    };
    let options = EncodeOptions {
        max_colors: 256,
        diffusion: 0.0,
        quantize_method,
    };
    icy_sixel::sixel_encode(&rgba, w as usize, h as usize, &options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grey_ramp_keeps_every_level_sixel_can_say() {
        let ramp = RgbImage::from_fn(256, 6, |x, _| image::Rgb([x as u8; 3]));
        let text = encode(&ramp).unwrap();
        let back = icy_sixel::SixelImage::decode(text.as_bytes()).unwrap();
        let levels: std::collections::BTreeSet<u8> = back.pixels.chunks(4).map(|p| p[0]).collect();
        assert_eq!(levels.len(), 101, "one per percent");
    }

    #[test]
    fn a_grey_cutout_comes_back_from_the_decoder_pixel_for_pixel() {
        // 16 grey levels and a bright compact source: what a radio cutout looks like.
        let picture = RgbImage::from_fn(24, 18, |x, y| {
            let v = if (10..13).contains(&x) && (7..10).contains(&y) {
                255
            } else {
                ((x + y) % 16 * 16) as u8
            };
            image::Rgb([v, v, v])
        });
        let text = encode(&picture).unwrap();
        assert!(
            text.starts_with("\x1bP") && text.ends_with("\x1b\\"),
            "{text:?}"
        );
        let decoded = icy_sixel::SixelImage::decode(text.as_bytes()).unwrap();
        assert_eq!((decoded.width, decoded.height), (24, 18));
        let back: Vec<u8> = decoded.pixels.chunks(4).map(|p| p[0]).collect();
        let sent: Vec<u8> = picture.pixels().map(|p| p.0[0]).collect();
        let worst = back
            .iter()
            .zip(&sent)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap();
        // Sixel colours are percentages: a level comes back within 2.55 of itself.
        assert!(worst <= 3, "largest difference {worst}");
    }
}
