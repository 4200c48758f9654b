//! anyres tiling as LLaVA-OneVision does it (transformers' `select_best_resolution`,
//! `get_anyres_image_grid_shape`, `unpad_image`, the `anyres_max_N` downscale and the
//! processor's `_get_number_of_features`): the best-fit resolution among the pinpoints, the
//! tile grid, the feature map after removing the padding, the downscale when it exceeds N
//! tiles, and the image-token count — the number the prompt must expand `<image>` to.
//!
//! Python's arithmetic is followed step by step (f64 products, `int()` truncation,
//! `round(x, 7)`), since one feature row more or less changes every later position.

/// A size in pixels or features, height first as transformers writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub height: u32,
    pub width: u32,
}

impl Size {
    pub const fn new(height: u32, width: u32) -> Size {
        Size { height, width }
    }
}

/// The pinpoint an image of `original` size is resized and padded to: the one that keeps the
/// most of its pixels, then wastes the least (the first on ties).
pub fn best_resolution(original: Size, pinpoints: &[Size]) -> Option<Size> {
    let (oh, ow) = (original.height as f64, original.width as f64);
    let mut best = None;
    let (mut max_effective, mut min_wasted) = (0u64, u64::MAX);
    for &pinpoint in pinpoints {
        let (h, w) = (pinpoint.height as f64, pinpoint.width as f64);
        let scale = (w / ow).min(h / oh);
        let (down_w, down_h) = ((ow * scale) as u64, (oh * scale) as u64);
        let effective = (down_w * down_h).min(original.width as u64 * original.height as u64);
        let wasted = (pinpoint.width as u64 * pinpoint.height as u64).saturating_sub(effective);
        if effective > max_effective || (effective == max_effective && wasted < min_wasted) {
            (max_effective, min_wasted, best) = (effective, wasted, Some(pinpoint));
        }
    }
    best
}

/// Tiles down and across for an image of `original` size, each `tile` pixels square.
pub fn grid_shape(original: Size, pinpoints: &[Size], tile: u32) -> Option<Size> {
    let best = best_resolution(original, pinpoints)?;
    let tile = tile.max(1);
    Some(Size::new(best.height / tile, best.width / tile))
}

/// Python's `int(round(x, 7))` for the non-negative values used here.
fn round7_trunc(x: f64) -> i64 {
    ((x * 1e7).round() / 1e7) as i64
}

/// The feature map `current` (the grid's features, padded like the resized image) with the
/// padding rows or columns removed, as `unpad_image` slices it.
pub fn unpadded(original: Size, current: Size) -> Size {
    let (oh, ow) = (original.height.max(1) as f64, original.width.max(1) as f64);
    let (ch, cw) = (current.height as i64, current.width as i64);
    if ow / oh > cw as f64 / ch as f64 {
        let new_height = round7_trunc(oh * (cw as f64 / ow));
        let padding = (ch - new_height).div_euclid(2);
        Size::new((ch - 2 * padding).max(0) as u32, current.width)
    } else {
        let new_width = round7_trunc(ow * (ch as f64 / oh));
        let padding = (cw - new_width).div_euclid(2);
        Size::new(current.height, (cw - 2 * padding).max(0) as u32)
    }
}

/// `anyres_max_N`: a map larger than N tiles of `tile_side` × `tile_side` features (by more
/// than 10 %) is scaled down bilinearly to this size; smaller ones stay.
pub fn downscaled(map: Size, max_tiles: u32, tile_side: u32) -> Size {
    let (h, w) = (map.height as f64, map.width as f64);
    let ratio = (h * w / (max_tiles.max(1) as f64 * (tile_side as f64).powi(2))).sqrt();
    if ratio > 1.1 {
        Size::new(py_floordiv(h, ratio) as u32, py_floordiv(w, ratio) as u32)
    } else {
        map
    }
}

/// Python's float `a // b`: the floor of the exact quotient, computed from `fmod` as CPython
/// does. `(a / b).floor()` differs where the rounded quotient lands on an integer the exact
/// one stays under: 50 // (10/9 as f64) is 44 in Python, (50 / r).floor() is 45.
fn py_floordiv(a: f64, b: f64) -> f64 {
    let remainder = a % b;
    let mut quotient = (a - remainder) / b;
    if remainder != 0.0 && ((b < 0.0) != (remainder < 0.0)) {
        quotient -= 1.0;
    }
    if quotient == 0.0 {
        return 0.0;
    }
    let floor = quotient.floor();
    if quotient - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// The vision settings the count depends on.
#[derive(Debug, Clone)]
pub struct Geometry {
    /// The vision tower's input side in pixels (one tile).
    pub image_size: u32,
    pub patch_size: u32,
    pub pinpoints: Vec<Size>,
    /// N of `anyres_max_N`.
    pub max_tiles: u32,
}

impl Geometry {
    /// Features along one side of a tile.
    pub fn tile_side(&self) -> u32 {
        self.image_size / self.patch_size.max(1)
    }

    /// The image-token count for an image of `original` pixels: the base tile's features, the
    /// unpadded (and maybe downscaled) grid features, and one newline per grid feature row.
    pub fn image_tokens(&self, original: Size) -> Option<usize> {
        let side = self.tile_side();
        let grid = grid_shape(original, &self.pinpoints, self.image_size)?;
        let current = Size::new(grid.height * side, grid.width * side);
        let map = downscaled(unpadded(original, current), self.max_tiles, side);
        let base = (side * side) as usize;
        Some(base + map.height as usize * map.width as usize + map.height as usize)
    }
}

/// `image_grid_pinpoints` of `anyres_max_9` checkpoints: 1×1 to 6×6 tiles of 384 px.
pub fn default_pinpoints(tile: u32) -> Vec<Size> {
    (1..=6)
        .flat_map(|rows| (1..=6).map(move |cols| Size::new(rows * tile, cols * tile)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onevision() -> Geometry {
        Geometry {
            image_size: 384,
            patch_size: 14,
            pinpoints: default_pinpoints(384),
            max_tiles: 9,
        }
    }

    #[test]
    fn a_square_tile_sized_image_is_one_tile_plus_its_base() {
        let g = onevision();
        assert_eq!(g.tile_side(), 27);
        assert_eq!(
            grid_shape(Size::new(384, 384), &g.pinpoints, 384),
            Some(Size::new(1, 1))
        );
        // 729 base + 27 × 27 grid + 27 newlines.
        assert_eq!(g.image_tokens(Size::new(384, 384)), Some(729 + 729 + 27));
    }

    #[test]
    fn wide_images_lose_padding_rows_and_big_ones_are_downscaled() {
        assert_eq!(
            unpadded(Size::new(100, 300), Size::new(27, 81)),
            Size::new(27, 81)
        );
        assert_eq!(
            unpadded(Size::new(100, 400), Size::new(27, 81)),
            Size::new(21, 81)
        );
        let big = downscaled(Size::new(162, 162), 9, 27);
        assert_eq!(big, Size::new(81, 81));
        assert_eq!(downscaled(Size::new(81, 81), 9, 27), Size::new(81, 81));
    }

    #[test]
    fn floor_division_follows_python() {
        let ratio = (8100.0f64 / 6561.0).sqrt();
        assert_eq!((50.0 / ratio).floor(), 45.0);
        assert_eq!(py_floordiv(50.0, ratio), 44.0);
        assert_eq!(py_floordiv(162.0, ratio), 145.0);
        assert_eq!(py_floordiv(7.0, 2.0), 3.0);
    }

    #[test]
    fn no_pinpoints_is_no_answer() {
        assert_eq!(best_resolution(Size::new(10, 10), &[]), None);
    }
}
