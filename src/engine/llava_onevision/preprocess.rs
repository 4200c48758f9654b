//! The image processor: what `LlavaOnevisionImageProcessor` (or its PIL twin) turns one image
//! into — the base image resized to one tile, then the best-fit pinpoint's resize, centred
//! zero padding and row-major tiles — rescaled and normalised with the checkpoint's mean/std.
//! Settings come from `processor_config.json` (`"image_processor"`, as transformers 5 saves
//! them) or `preprocessor_config.json` (checkpoints of 2024).

use super::anyres::{Size, best_resolution};
use super::config::parse_pinpoints;
use super::resize::{Precision, Rgb8, resize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// transformers' defaults when a checkpoint names no mean / std.
const OPENAI_CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];

#[derive(Debug, Clone, PartialEq)]
pub struct ImageProcessor {
    /// Side of the model's input (every tile and the base image).
    pub size: Size,
    /// Side of the tiles cut from the padded image.
    pub tile: u32,
    pub pinpoints: Vec<Size>,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub rescale_factor: f64,
    pub do_rescale: bool,
    pub do_normalize: bool,
    pub precision: Precision,
}

/// One image, ready for the vision tower.
#[derive(Debug, Clone)]
pub struct Pixels {
    /// `tiles × 3 × size.height × size.width`, the base image first.
    pub data: Vec<f32>,
    pub tiles: usize,
    pub size: Size,
    /// The image's own size (height, width), which the model's unpadding needs.
    pub original: Size,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}: {problem}")]
pub struct ProcessorError {
    pub path: PathBuf,
    pub problem: String,
}

impl ImageProcessor {
    /// Read the settings a model directory holds (either layout).
    pub fn from_dir(dir: &Path) -> Result<ImageProcessor, ProcessorError> {
        for (name, key) in [
            ("processor_config.json", Some("image_processor")),
            ("preprocessor_config.json", None),
        ] {
            let path = dir.join(name);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let fail = |problem: String| ProcessorError {
                path: path.clone(),
                problem,
            };
            let json: Value =
                serde_json::from_str(&text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
            let settings = match key {
                Some(key) => match json.get(key) {
                    Some(settings) => settings,
                    None => continue,
                },
                None => &json,
            };
            return ImageProcessor::parse(settings).map_err(fail);
        }
        Err(ProcessorError {
            path: dir.join("preprocessor_config.json"),
            problem: "missing (neither it nor processor_config.json's \"image_processor\" \
                      holds the image processor settings)"
                .into(),
        })
    }

    fn parse(settings: &Value) -> Result<ImageProcessor, String> {
        let side = |block: Option<&Value>| -> Option<Size> {
            let block = block?;
            if let (Some(h), Some(w)) = (block.get("height"), block.get("width")) {
                return Some(Size::new(h.as_u64()? as u32, w.as_u64()? as u32));
            }
            let edge = block.get("shortest_edge")?.as_u64()? as u32;
            Some(Size::new(edge, edge))
        };
        let size = side(settings.get("size")).unwrap_or(Size::new(384, 384));
        let tile = side(settings.get("crop_size").filter(|c| !c.is_null()))
            .map(|s| s.height)
            .unwrap_or(size.height);
        if size.height == 0 || size.width == 0 || tile == 0 {
            return Err("size and crop_size must be positive".into());
        }
        let triple = |field: &str, default: [f64; 3]| -> Result<[f32; 3], String> {
            match settings.get(field) {
                None | Some(Value::Null) => Ok(default.map(|v| v as f32)),
                Some(Value::Number(n)) => Ok([n.as_f64().unwrap_or(0.0) as f32; 3]),
                Some(Value::Array(items)) if items.len() == 3 => {
                    let mut out = [0f32; 3];
                    for (slot, item) in out.iter_mut().zip(items) {
                        *slot = item
                            .as_f64()
                            .ok_or_else(|| format!("{field} holds a non-number"))?
                            as f32;
                    }
                    Ok(out)
                }
                Some(_) => Err(format!("{field} is not three numbers")),
            }
        };
        let std = triple("image_std", OPENAI_CLIP_STD)?;
        if std.contains(&0.0) {
            return Err("image_std holds a zero".into());
        }
        let flag = |field: &str| settings.get(field).and_then(Value::as_bool).unwrap_or(true);
        let resample = settings
            .get("resample")
            .and_then(Value::as_u64)
            .unwrap_or(3);
        if resample != 3 {
            return Err(format!(
                "resample {resample} is not supported (only 3, bicubic, as LLaVA-OneVision uses)"
            ));
        }
        if settings.get("do_resize").and_then(Value::as_bool) == Some(false) {
            return Err("do_resize false is not supported: tiles must be resized".into());
        }
        let precision = match settings.get("image_processor_type").and_then(Value::as_str) {
            Some(t) if t.ends_with("Pil") => Precision::Pil,
            _ => Precision::Torchvision,
        };
        let pinpoints = match settings.get("image_grid_pinpoints") {
            None | Some(Value::Null) => super::anyres::default_pinpoints(size.height),
            Some(list) => parse_pinpoints(list)
                .ok_or("image_grid_pinpoints is not a list of [height, width]")?,
        };
        Ok(ImageProcessor {
            size,
            tile,
            pinpoints,
            mean: triple("image_mean", OPENAI_CLIP_MEAN)?,
            std,
            rescale_factor: settings
                .get("rescale_factor")
                .and_then(Value::as_f64)
                .unwrap_or(1.0 / 255.0),
            do_rescale: flag("do_rescale"),
            do_normalize: flag("do_normalize"),
            precision,
        })
    }

    /// The tiles of one image.
    pub fn preprocess(&self, image: &image::DynamicImage) -> Pixels {
        let rgb = Rgb8::from_image(image);
        let original = Size::new(rgb.height as u32, rgb.width as u32);
        let target = best_resolution(original, &self.pinpoints).unwrap_or(self.size);
        let (fit_h, fit_w) = fitted(original, target);
        let fitted_image = resize(&rgb, fit_w as usize, fit_h as usize, self.precision);
        let padded = pad_centred(&fitted_image, target);
        let mut tiles = vec![resize(
            &rgb,
            self.size.width as usize,
            self.size.height as usize,
            self.precision,
        )];
        let tile = self.tile as usize;
        for top in (0..padded.height).step_by(tile) {
            for left in (0..padded.width).step_by(tile) {
                let cut = crop(&padded, top, left, tile);
                tiles.push(
                    if (cut.width, cut.height)
                        == (self.size.width as usize, self.size.height as usize)
                    {
                        cut
                    } else {
                        resize(
                            &cut,
                            self.size.width as usize,
                            self.size.height as usize,
                            self.precision,
                        )
                    },
                );
            }
        }
        let mut data = Vec::with_capacity(tiles.len() * 3 * tile * tile);
        for t in &tiles {
            self.normalise_into(t, &mut data);
        }
        Pixels {
            data,
            tiles: tiles.len(),
            size: self.size,
            original,
        }
    }

    /// Channel-first floats; rescale and normalise fused as transformers fuses them
    /// (mean and std scaled by 1 / rescale_factor, in f32).
    fn normalise_into(&self, tile: &Rgb8, out: &mut Vec<f32>) {
        let pixels = tile.width * tile.height;
        for c in 0..3 {
            let (mean, std, scale) = match (self.do_rescale, self.do_normalize) {
                (true, true) => {
                    let k = (1.0 / self.rescale_factor) as f32;
                    (self.mean[c] * k, self.std[c] * k, 1.0)
                }
                (false, true) => (self.mean[c], self.std[c], 1.0),
                (true, false) => (0.0, 1.0, self.rescale_factor as f32),
                (false, false) => (0.0, 1.0, 1.0),
            };
            out.extend((0..pixels).map(|i| (f32::from(tile.data[i * 3 + c]) * scale - mean) / std));
        }
    }
}

/// `get_patch_output_size`: the largest size of the image's aspect that fits `target`.
fn fitted(original: Size, target: Size) -> (u32, u32) {
    let (oh, ow) = (f64::from(original.height), f64::from(original.width));
    let scale_w = f64::from(target.width) / ow;
    let scale_h = f64::from(target.height) / oh;
    if scale_w < scale_h {
        let h = ((oh * scale_w).ceil() as u32).min(target.height);
        (h.max(1), target.width)
    } else {
        let w = ((ow * scale_h).ceil() as u32).min(target.width);
        (target.height, w.max(1))
    }
}

/// Zero padding around the image, the odd pixel on the bottom / right.
fn pad_centred(image: &Rgb8, target: Size) -> Rgb8 {
    let (th, tw) = (target.height as usize, target.width as usize);
    let left = (tw - image.width) / 2;
    let top = (th - image.height) / 2;
    let mut data = vec![0u8; th * tw * 3];
    for y in 0..image.height {
        let from = &image.data[y * image.width * 3..(y + 1) * image.width * 3];
        let at = ((top + y) * tw + left) * 3;
        data[at..at + from.len()].copy_from_slice(from);
    }
    Rgb8::new(tw, th, data)
}

fn crop(image: &Rgb8, top: usize, left: usize, side: usize) -> Rgb8 {
    let h = side.min(image.height - top);
    let w = side.min(image.width - left);
    let mut data = Vec::with_capacity(h * w * 3);
    for y in top..top + h {
        let row = (y * image.width + left) * 3;
        data.extend_from_slice(&image.data[row..row + w * 3]);
    }
    Rgb8::new(w, h, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_layouts_are_read_and_a_missing_one_named() {
        let dir = tempfile::tempdir().unwrap();
        let settings = json!({"size": {"height": 56, "width": 56},
            "image_grid_pinpoints": [[56, 56], [56, 112]], "image_mean": [0.5, 0.5, 0.5],
            "image_std": [0.5, 0.5, 0.5]});
        let e = ImageProcessor::from_dir(dir.path()).unwrap_err();
        assert!(
            e.to_string().contains("preprocessor_config.json: missing"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("processor_config.json"),
            json!({"image_processor": settings}).to_string(),
        )
        .unwrap();
        let p = ImageProcessor::from_dir(dir.path()).unwrap();
        assert_eq!(p.size, Size::new(56, 56));
        assert_eq!(p.pinpoints.len(), 2);
        std::fs::remove_file(dir.path().join("processor_config.json")).unwrap();
        std::fs::write(
            dir.path().join("preprocessor_config.json"),
            "{\"resample\": 2}",
        )
        .unwrap();
        let e = ImageProcessor::from_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains("resample 2 is not supported"), "{e}");
    }

    #[test]
    fn a_wide_image_is_fitted_padded_and_tiled() {
        let p = ImageProcessor::parse(&json!({"size": {"height": 4, "width": 4},
            "image_grid_pinpoints": [[4, 8]], "image_mean": 0.0, "image_std": 1.0,
            "do_rescale": false}))
        .unwrap();
        let image = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            8,
            2,
            image::Rgb([100, 100, 100]),
        ));
        let pixels = p.preprocess(&image);
        assert_eq!(pixels.tiles, 3);
        assert_eq!(pixels.original, Size::new(2, 8));
        // Tile 1 (left half of the 4 × 8 pinpoint): rows 0 and 3 are padding.
        let tile = &pixels.data[48..96];
        assert_eq!(&tile[0..4], &[0.0; 4]);
        assert_eq!(&tile[4..12], &[100.0; 8]);
        assert_eq!(&tile[12..16], &[0.0; 4]);
    }
}
