//! `LlavaOnevisionForConditionalGeneration`: SigLIP features of every tile, the projector,
//! anyres packing (base tile first, then the unpadded grid, downscaled past anyres_max_N, with
//! `image_newline` closing each row) and Qwen2 over text and image embeddings together.

use super::anyres::{Size, downscaled, grid_shape, unpadded};
use super::config::OnevisionConfig;
use super::layers::Linear;
use super::preprocess::Pixels;
use super::qwen2::{Qwen2, Span};
use super::siglip::Siglip;
use super::weights::{Checkpoint, WeightError};
use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Module, Result, Tensor};
use std::path::Path;

pub struct OnevisionModel {
    pub config: OnevisionConfig,
    vision: Siglip,
    projector: (Linear, Linear),
    newline: Tensor,
    pub text: Qwen2,
}

/// Why a model directory does not load, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Config(#[from] super::config::ConfigError),
    #[error(transparent)]
    Weights(#[from] WeightError),
    #[error("{0}: {1}")]
    Read(std::path::PathBuf, String),
}

fn first_prefix(
    ck: &Checkpoint,
    prefixes: &[&'static str],
    probe: &str,
    what: &str,
) -> std::result::Result<&'static str, WeightError> {
    ck.prefix(prefixes, probe).ok_or_else(|| WeightError {
        path: Path::new("model.safetensors").into(),
        problem: format!(
            "no {what}: {probe} is under none of {}",
            prefixes.join(", ")
        ),
    })
}

impl OnevisionModel {
    /// Load the model; with `isq`, the language model's linear layers are quantized to that
    /// format as they load.
    pub fn load(
        dir: &Path,
        device: Device,
        dtype: DType,
        isq: Option<GgmlDType>,
    ) -> std::result::Result<OnevisionModel, ModelError> {
        OnevisionModel::build(dir, Checkpoint::open(dir, device, dtype)?, isq)
    }

    /// Everything loading checks — config, every tensor's presence and shape — without
    /// reading the weights.
    pub fn check(dir: &Path) -> std::result::Result<(), ModelError> {
        OnevisionModel::build(dir, Checkpoint::open_shapes_only(dir)?, None).map(|_| ())
    }

    fn build(
        dir: &Path,
        ck: Checkpoint,
        isq: Option<GgmlDType>,
    ) -> std::result::Result<OnevisionModel, ModelError> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| ModelError::Read(config_path.clone(), format!("cannot read: {e}")))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::Read(config_path.clone(), format!("not valid JSON: {e}")))?;
        let config = OnevisionConfig::parse(&config_path, &json)?;
        // transformers 5 saves `vision_tower.*` and `language_model.model.*`; the 2024
        // llava-hf checkpoints and transformers' in-memory names use the others.
        let vision_prefix = first_prefix(
            &ck,
            &[
                "vision_tower.",
                "vision_tower.vision_model.",
                "model.vision_tower.vision_model.",
                "model.vision_tower.",
            ],
            "embeddings.patch_embedding.weight",
            "vision tower",
        )?;
        let projector_prefix = first_prefix(
            &ck,
            &["multi_modal_projector.", "model.multi_modal_projector."],
            "linear_1.weight",
            "projector",
        )?;
        let newline_name = first_prefix(&ck, &["", "model."], "image_newline", "image_newline")?;
        let text_prefix = first_prefix(
            &ck,
            &[
                "language_model.model.",
                "model.language_model.",
                "language_model.",
                "model.",
            ],
            "embed_tokens.weight",
            "language model",
        )?;
        let head = ["language_model.lm_head.weight", "lm_head.weight"]
            .into_iter()
            .find(|name| ck.has(name));
        let vision = Siglip::load(&ck, vision_prefix, &config.vision, &config.features)?;
        let (v, t) = (
            config.vision.hidden * config.features.layers.len(),
            config.text.hidden,
        );
        let bias = config.projector_bias;
        let projector = (
            Linear::load(&ck, &format!("{projector_prefix}linear_1"), v, t, bias)?,
            Linear::load(&ck, &format!("{projector_prefix}linear_2"), t, t, bias)?,
        );
        let newline = ck.get(&format!("{newline_name}image_newline"), &[t])?;
        let text = Qwen2::load(&ck, text_prefix, head, &config.text, isq)?;
        Ok(OnevisionModel {
            config,
            vision,
            projector,
            newline,
            text,
        })
    }

    pub fn device(&self) -> &Device {
        self.newline.device()
    }

    /// One image's packed features, `[image tokens, hidden]`.
    ///
    /// Tiles whose pixels equal an earlier tile's go through the vision tower once: a square
    /// image that fits one tile (a radio cutout, typically) becomes the base image and one
    /// grid tile resized alike, the same pixels, so this halves its vision work.
    pub fn image_features(&self, pixels: &Pixels) -> Result<Tensor> {
        let (h, w) = (pixels.size.height as usize, pixels.size.width as usize);
        let (distinct, source) = distinct_tiles(&pixels.data, pixels.tiles);
        let data: Vec<f32> = distinct
            .iter()
            .flat_map(|&t| tile(&pixels.data, pixels.tiles, t))
            .copied()
            .collect();
        let input = Tensor::from_vec(data, (distinct.len(), 3, h, w), &Device::Cpu)?
            .to_dtype(self.newline.dtype())?
            .to_device(self.device())?;
        let mut selected = self.vision.forward(&input)?;
        if distinct.len() < pixels.tiles {
            let source = Tensor::new(source, selected.device())?;
            selected = selected.index_select(&source, 0)?;
        }
        if self.config.features.drop_first {
            let n = selected.dim(1)?;
            selected = selected.narrow(1, 1, n - 1)?;
        }
        let projected = self.projector.1.forward(
            &self
                .projector
                .0
                .forward_act(&selected, Some(self.config.projector_act))?,
        )?;
        self.pack(&projected, pixels.original)
    }

    fn pack(&self, features: &Tensor, original: Size) -> Result<Tensor> {
        let (tiles, _, hidden) = features.dims3()?;
        let base = features.get(0)?;
        if tiles == 1 {
            return Tensor::cat(&[&base, &self.newline.unsqueeze(0)?], 0);
        }
        let side = self.config.vision.image_size / self.config.vision.patch_size;
        let grid = grid_shape(
            original,
            &self.config.pinpoints,
            self.config.vision.image_size as u32,
        )
        .ok_or_else(|| candle_core::Error::Msg("no image_grid_pinpoints".into()))?;
        let (rows, cols) = (grid.height as usize, grid.width as usize);
        if rows * cols != tiles - 1 {
            return Err(candle_core::Error::Msg(format!(
                "the image processor made {} tiles, the model's pinpoints expect {rows} × {cols}",
                tiles - 1
            )));
        }
        // [rows·cols, side², hidden] → [hidden, rows·side, cols·side]
        let map = features
            .narrow(0, 1, tiles - 1)?
            .reshape((rows, cols, side, side, hidden))?
            .permute((4, 0, 2, 1, 3))?
            .reshape((hidden, rows * side, cols * side))?;
        let current = Size::new((rows * side) as u32, (cols * side) as u32);
        let kept = unpadded(original, current);
        let top = (current.height - kept.height) as usize / 2;
        let left = (current.width - kept.width) as usize / 2;
        let mut map =
            map.narrow(1, top, kept.height as usize)?
                .narrow(2, left, kept.width as usize)?;
        let target = downscaled(kept, self.config.max_tiles, side as u32);
        if target != kept {
            map = bilinear(&map, target.height as usize, target.width as usize)?;
        }
        let (_, mh, _) = map.dims3()?;
        let newlines = self
            .newline
            .reshape((hidden, 1, 1))?
            .expand((hidden, mh, 1))?;
        let rows_with_newline = Tensor::cat(&[&map, &newlines], 2)?;
        let flat = rows_with_newline.flatten_from(1)?.t()?;
        Tensor::cat(&[&base, &flat], 0)
    }

    /// Logits of each sequence's last new token after feeding `embeds` (see [`Qwen2::forward`]).
    pub fn forward(&self, embeds: &Tensor, spans: &mut [Span<'_>]) -> Result<Tensor> {
        self.text.forward(embeds, spans)
    }

    /// Embeddings of a prompt whose `image_token_index` positions take `images`' features in
    /// order (each image's run of tokens must be as long as its features).
    pub fn embed_prompt(&self, ids: &[u32], images: &[Tensor]) -> Result<Tensor> {
        let image_token = self.config.image_token_index;
        let mut pieces = Vec::new();
        let mut images = images.iter();
        let mut i = 0;
        while i < ids.len() {
            let run = ids[i..]
                .iter()
                .take_while(|&&t| (t == image_token) == (ids[i] == image_token))
                .count();
            if ids[i] == image_token {
                let mut left = run;
                while left > 0 {
                    let features = images.next().ok_or_else(|| {
                        candle_core::Error::Msg("more image tokens than image features".into())
                    })?;
                    let n = features.dim(0)?;
                    if n > left {
                        return Err(candle_core::Error::Msg(format!(
                            "an image has {n} features but only {left} image tokens are left"
                        )));
                    }
                    pieces.push(features.clone());
                    left -= n;
                }
            } else {
                pieces.push(self.text.embed(&ids[i..i + run])?);
            }
            i += run;
        }
        if images.next().is_some() {
            return Err(candle_core::Error::Msg(
                "more images than image tokens".into(),
            ));
        }
        Tensor::cat(&pieces, 0)
    }
}

/// Tile `index` of `tiles` equal-sized tiles laid end to end in `data`.
fn tile(data: &[f32], tiles: usize, index: usize) -> &[f32] {
    let len = data.len() / tiles.max(1);
    &data[index * len..(index + 1) * len]
}

/// The tiles to compute (first of each set of equal ones, in order) and, for every tile,
/// which of those holds its pixels.
fn distinct_tiles(data: &[f32], tiles: usize) -> (Vec<usize>, Vec<u32>) {
    let mut distinct: Vec<usize> = Vec::new();
    let mut source = Vec::with_capacity(tiles);
    for t in 0..tiles {
        let pixels = tile(data, tiles, t);
        match distinct
            .iter()
            .position(|&d| tile(data, tiles, d) == pixels)
        {
            Some(i) => source.push(i as u32),
            None => {
                source.push(distinct.len() as u32);
                distinct.push(t);
            }
        }
    }
    (distinct, source)
}

/// torch's `interpolate(mode="bilinear", align_corners=False)` (no antialias) of a
/// `[channels, height, width]` map, in f32 index arithmetic as its CPU kernel does it.
fn bilinear(map: &Tensor, height: usize, width: usize) -> Result<Tensor> {
    let (_, in_h, in_w) = map.dims3()?;
    let axis = |input: usize, output: usize| -> (Vec<u32>, Vec<u32>, Vec<f32>, Vec<f32>) {
        let scale = input as f32 / output as f32;
        let mut lo = Vec::with_capacity(output);
        let mut hi = Vec::with_capacity(output);
        let mut w_lo = Vec::with_capacity(output);
        let mut w_hi = Vec::with_capacity(output);
        for o in 0..output {
            let src = (scale * (o as f32 + 0.5) - 0.5).max(0.0);
            let i0 = src as usize;
            let i1 = if i0 + 1 < input { i0 + 1 } else { i0 };
            let l1 = src - i0 as f32;
            lo.push(i0 as u32);
            hi.push(i1 as u32);
            w_lo.push(1.0 - l1);
            w_hi.push(l1);
        }
        (lo, hi, w_lo, w_hi)
    };
    let device = map.device();
    let dtype = map.dtype();
    let blend = |x: &Tensor, dim: usize, input: usize, output: usize| -> Result<Tensor> {
        let (lo, hi, w_lo, w_hi) = axis(input, output);
        let mut shape = [1usize, 1, 1];
        shape[dim] = output;
        let weights = |w: Vec<f32>| -> Result<Tensor> {
            Tensor::from_vec(w, shape.to_vec(), &Device::Cpu)?
                .to_dtype(dtype)?
                .to_device(device)
        };
        let a = x.index_select(&Tensor::new(lo, device)?, dim)?;
        let b = x.index_select(&Tensor::new(hi, device)?, dim)?;
        a.broadcast_mul(&weights(w_lo)?)? + b.broadcast_mul(&weights(w_hi)?)?
    };
    let rows = blend(map, 1, in_h, height)?;
    blend(&rows, 2, in_w, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_tiles_are_computed_once() {
        // Tiles of 2 values: the base, a copy of it, another, and the other again.
        let data = [1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0];
        assert_eq!(distinct_tiles(&data, 4), (vec![0, 2], vec![0, 0, 1, 1]));
        assert_eq!(distinct_tiles(&data[..4], 2), (vec![0], vec![0, 0]));
        // One differing value makes a tile its own; NaN pixels never match.
        let data = [1.0, 2.0, 1.0, 2.5, f32::NAN, 0.0, f32::NAN, 0.0];
        assert_eq!(distinct_tiles(&data, 4).0, vec![0, 1, 2, 3]);
    }
}
