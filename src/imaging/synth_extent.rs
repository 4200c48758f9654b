//! Where a synthetic source's emission lies: boxes in array pixels, made from the Gaussian
//! components the sky draws, so `synth` can write each source's box as radio-YOLO does.

/// How far from a component's centre its box reaches, in σ (the emission there is 4 % of
/// the component's peak).
pub const REACH_SIGMAS: f32 = 2.5;

/// A box in array pixels: x along a row, y down the rows, pixel `i` covering `[i, i + 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl Extent {
    /// An elliptical Gaussian centred on pixel (x, y), σ along its own axes, rotated by
    /// `angle` (radians): the box of its ellipse at [`REACH_SIGMAS`].
    pub fn gaussian(x: f32, y: f32, sigma_x: f32, sigma_y: f32, angle: f32) -> Extent {
        let (a, b) = (REACH_SIGMAS * sigma_x, REACH_SIGMAS * sigma_y);
        let (c, s) = (angle.cos(), angle.sin());
        let half_w = ((a * c).powi(2) + (b * s).powi(2)).sqrt();
        let half_h = ((a * s).powi(2) + (b * c).powi(2)).sqrt();
        Extent::around(x, y, half_w, half_h)
    }

    /// A disc of `radius` around pixel (x, y).
    pub fn disc(x: f32, y: f32, radius: f32) -> Extent {
        Extent::around(x, y, radius, radius)
    }

    fn around(x: f32, y: f32, half_w: f32, half_h: f32) -> Extent {
        let (cx, cy) = (x + 0.5, y + 0.5);
        Extent {
            x0: cx - half_w,
            y0: cy - half_h,
            x1: cx + half_w,
            y1: cy + half_h,
        }
    }

    pub fn union(self, other: Extent) -> Extent {
        Extent {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
        }
    }

    /// Centre and size as fractions of a `size`-pixel square image, the box cut to the image;
    /// `None` when nothing of it is inside.
    pub fn normalised(&self, size: usize) -> Option<[f64; 4]> {
        let n = size as f64;
        let clip = |v: f32| (v as f64).clamp(0.0, n);
        let (x0, x1, y0, y1) = (clip(self.x0), clip(self.x1), clip(self.y0), clip(self.y1));
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        Some([
            (x0 + x1) / 2.0 / n,
            (y0 + y1) / 2.0 / n,
            (x1 - x0) / n,
            (y1 - y0) / n,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_gaussian_box_swaps_its_axes_at_a_right_angle() {
        let flat = Extent::gaussian(10.0, 20.0, 4.0, 1.0, 0.0);
        assert_eq!((flat.x1 - flat.x0, flat.y1 - flat.y0), (20.0, 5.0));
        let upright = Extent::gaussian(10.0, 20.0, 4.0, 1.0, std::f32::consts::FRAC_PI_2);
        assert!((upright.x1 - upright.x0 - 5.0).abs() < 1e-4);
        assert!((upright.y1 - upright.y0 - 20.0).abs() < 1e-4);
        assert_eq!(flat.x0 + flat.x1, 21.0, "centred on the pixel's middle");
    }

    #[test]
    fn boxes_are_cut_to_the_image_and_normalised() {
        let half_out = Extent::disc(0.0, 31.5, 4.0);
        let [x, y, w, h] = half_out.normalised(64).unwrap();
        assert_eq!((x, w), (4.5 / 2.0 / 64.0, 4.5 / 64.0));
        assert_eq!((y, h), (0.5, 8.0 / 64.0));
        assert_eq!(Extent::disc(-20.0, 5.0, 3.0).normalised(64), None);
        let both = Extent::disc(10.0, 10.0, 1.0).union(Extent::disc(20.0, 30.0, 1.0));
        assert_eq!((both.x0, both.y0, both.x1, both.y1), (9.5, 9.5, 21.5, 31.5));
    }
}
