//! A synthetic labelled radio sky: float32 cutouts in Jy/beam whose labels are true by
//! construction, in radio-llava's dataset format. The fixture for benchmark and fine-tune
//! tests, and the demo data.

pub use super::synth_extent::{Extent, REACH_SIGMAS};
use crate::util::error::BadValue;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Which radio-llava dataset family to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkyKind {
    /// radioimg-style tags: BACKGROUND, COMPACT, EXTENDED, DIFFUSE, DIFFUSE-LARGE, RADIO-GALAXY,
    /// ARTEFACT, BORDER, WTF.
    RadioImg,
    /// RGZ component/peak classes 1C-1P … 3C-3P.
    Rgz,
    /// MiraBest FR-I / FR-II.
    MiraBest,
}

impl std::str::FromStr for SkyKind {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        match s {
            "radioimg" => Ok(SkyKind::RadioImg),
            "rgz" => Ok(SkyKind::Rgz),
            "mirabest" => Ok(SkyKind::MiraBest),
            other => Err(BadValue::unknown(
                "--kind",
                other,
                "radioimg, rgz or mirabest",
            )),
        }
    }
}

/// Probability of each ingredient in a radioimg cutout (defaults near the seed paper's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balance {
    pub radio_galaxy: f64,
    /// Extended sources that are not radio galaxies (EXTENDED ≈ this + radio_galaxy).
    pub extended: f64,
    pub diffuse: f64,
    pub diffuse_large: f64,
    pub artefact: f64,
    pub peculiar: f64,
    pub border: f64,
}

impl Default for Balance {
    fn default() -> Self {
        Self {
            radio_galaxy: 0.18,
            extended: 0.18,
            diffuse: 0.04,
            diffuse_large: 0.07,
            artefact: 0.07,
            peculiar: 0.03,
            border: 0.05,
        }
    }
}

impl Balance {
    /// The ingredient names `--balance` takes, in the order they are listed.
    pub const NAMES: [&'static str; 7] = [
        "radio-galaxy",
        "extended",
        "diffuse",
        "diffuse-large",
        "artefact",
        "peculiar",
        "border",
    ];

    fn field(&mut self, name: &str) -> Option<&mut f64> {
        Some(match name {
            "radio-galaxy" => &mut self.radio_galaxy,
            "extended" => &mut self.extended,
            "diffuse" => &mut self.diffuse,
            "diffuse-large" => &mut self.diffuse_large,
            "artefact" => &mut self.artefact,
            "peculiar" => &mut self.peculiar,
            "border" => &mut self.border,
            _ => return None,
        })
    }
}

/// The defaults with some probabilities replaced: `radio-galaxy=0.5,extended=0`.
impl std::str::FromStr for Balance {
    type Err = BadValue;
    fn from_str(spec: &str) -> Result<Self, BadValue> {
        let mut balance = Self::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| BadValue::Malformed(format!("'{item}' is not NAME=PROBABILITY")))?;
            let probability: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    BadValue::Malformed(format!("'{value}' is not a probability in 0–1"))
                })?;
            let field = balance.field(name.trim()).ok_or_else(|| {
                BadValue::unknown(
                    "ingredient",
                    name,
                    format!("one of {}", Self::NAMES.join(", ")),
                )
            })?;
            *field = probability;
        }
        Ok(balance)
    }
}

/// Beam FWHM in pixels; the header says 2″ pixels, so the beam is 8″.
pub const BEAM_FWHM_PX: f32 = 4.0;
/// Thermal noise, Jy/beam.
pub const NOISE_JY: f32 = 1e-4;

/// One generated cutout.
#[derive(Debug, Clone)]
pub struct Cutout {
    pub size: usize,
    pub pixels: Vec<f32>,
    /// radioimg: tags; rgz/mirabest: the class string.
    pub label: Value,
    /// Where each ingredient was put, for tests that measure it.
    pub truth: Vec<Placed>,
}

/// A placed ingredient: what and where (pixel centre, scale in pixels, the box its emission
/// fills).
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub what: &'static str,
    pub x: f32,
    pub y: f32,
    pub scale: f32,
    pub extent: Extent,
}

struct Canvas {
    size: usize,
    pixels: Vec<f32>,
}

impl Canvas {
    fn gaussian(&mut self, x0: f32, y0: f32, sigma_x: f32, sigma_y: f32, angle: f32, peak: f32) {
        let (c, s) = (angle.cos(), angle.sin());
        let reach = (4.0 * sigma_x.max(sigma_y)).ceil() as i64;
        let (xi, yi) = (x0.round() as i64, y0.round() as i64);
        for y in (yi - reach).max(0)..(yi + reach + 1).min(self.size as i64) {
            for x in (xi - reach).max(0)..(xi + reach + 1).min(self.size as i64) {
                let (dx, dy) = (x as f32 - x0, y as f32 - y0);
                let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
                let r2 = (u / sigma_x).powi(2) + (v / sigma_y).powi(2);
                self.pixels[y as usize * self.size + x as usize] += peak * (-0.5 * r2).exp();
            }
        }
    }

    fn ring(&mut self, x0: f32, y0: f32, radius: f32, width: f32, peak: f32) {
        for y in 0..self.size {
            for x in 0..self.size {
                let r = ((x as f32 - x0).powi(2) + (y as f32 - y0).powi(2)).sqrt();
                self.pixels[y * self.size + x] +=
                    peak * (-0.5 * ((r - radius) / width).powi(2)).exp();
            }
        }
    }
}

const SIGMA_BEAM: f32 = BEAM_FWHM_PX / 2.354_82;

/// Generate cutout `index` of a dataset: deterministic for (seed, index).
pub fn cutout(kind: SkyKind, size: usize, seed: u64, index: usize, balance: &Balance) -> Cutout {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut canvas = Canvas {
        size,
        pixels: noise(&mut rng, size),
    };
    let mut truth = Vec::new();
    let centre = size as f32 / 2.0;
    let label = match kind {
        SkyKind::MiraBest => {
            let fr2 = rng.random_bool(0.5);
            let angle = rng.random_range(0.0..std::f32::consts::PI);
            radio_galaxy(
                &mut canvas,
                &mut rng,
                centre,
                centre,
                angle,
                fr2,
                &mut truth,
            );
            json!(if fr2 { "FR-II" } else { "FR-I" })
        }
        SkyKind::Rgz => json!(rgz(&mut canvas, &mut rng, &mut truth)),
        SkyKind::RadioImg => json!(radioimg(&mut canvas, &mut rng, balance, &mut truth)),
    };
    Cutout {
        size,
        pixels: canvas.pixels,
        label,
        truth,
    }
}

/// White thermal noise plus noise correlated on the beam scale.
fn noise(rng: &mut ChaCha8Rng, size: usize) -> Vec<f32> {
    let mut white: Vec<f32> = (0..size * size)
        .map(|_| gaussian_sample(rng) * NOISE_JY * 0.5)
        .collect();
    // Correlated part: white noise smoothed by a separable beam-sized kernel.
    let k: Vec<f32> = (-6..=6)
        .map(|i: i32| (-0.5 * (i as f32 / SIGMA_BEAM).powi(2)).exp())
        .collect();
    let norm = k.iter().map(|v| v * v).sum::<f32>().sqrt();
    let raw: Vec<f32> = (0..size * size).map(|_| gaussian_sample(rng)).collect();
    let mut rows = vec![0f32; size * size];
    for y in 0..size {
        for x in 0..size {
            rows[y * size + x] = (0..13)
                .map(|j| raw[y * size + (x + size + j - 6) % size] * k[j])
                .sum::<f32>()
                / norm;
        }
    }
    for y in 0..size {
        for x in 0..size {
            let v = (0..13)
                .map(|j| rows[((y + size + j - 6) % size) * size + x] * k[j])
                .sum::<f32>()
                / norm;
            white[y * size + x] += v * NOISE_JY * 0.866;
        }
    }
    white
}

fn gaussian_sample(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random::<f32>().max(f32::MIN_POSITIVE);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// FR-I: a bright core with jets fading outwards. FR-II: a faint core and edge-brightened
/// lobes ending in hotspots.
fn radio_galaxy(
    c: &mut Canvas,
    rng: &mut ChaCha8Rng,
    x: f32,
    y: f32,
    angle: f32,
    fr2: bool,
    truth: &mut Vec<Placed>,
) {
    let length = rng.random_range(12.0..(c.size as f32 * 0.3).max(14.0));
    let flux = rng.random_range(5e-3..2e-2);
    let (dx, dy) = (angle.cos(), angle.sin());
    let ends = |sigma_x: f32, sigma_y: f32| {
        Extent::gaussian(x + dx * length, y + dy * length, sigma_x, sigma_y, angle).union(
            Extent::gaussian(x - dx * length, y - dy * length, sigma_x, sigma_y, angle),
        )
    };
    let extent = if fr2 {
        ends(SIGMA_BEAM * 2.0, SIGMA_BEAM * 1.5)
    } else {
        ends(SIGMA_BEAM * 2.6, SIGMA_BEAM)
    }
    .union(Extent::gaussian(x, y, SIGMA_BEAM, SIGMA_BEAM, 0.0));
    if fr2 {
        c.gaussian(x, y, SIGMA_BEAM, SIGMA_BEAM, 0.0, flux * 0.15);
        for side in [-1.0f32, 1.0] {
            for step in 1..=6 {
                let t = side * length * step as f32 / 6.0;
                c.gaussian(
                    x + dx * t,
                    y + dy * t,
                    SIGMA_BEAM * 2.0,
                    SIGMA_BEAM * 1.5,
                    angle,
                    flux * 0.1 * step as f32 / 6.0,
                );
            }
            c.gaussian(
                x + dx * side * length,
                y + dy * side * length,
                SIGMA_BEAM,
                SIGMA_BEAM,
                0.0,
                flux,
            );
        }
    } else {
        c.gaussian(x, y, SIGMA_BEAM, SIGMA_BEAM, 0.0, flux);
        for side in [-1.0f32, 1.0] {
            for step in 1..=8 {
                let t = side * length * step as f32 / 8.0;
                let fade = 0.6 * (1.0 - step as f32 / 9.0);
                c.gaussian(
                    x + dx * t,
                    y + dy * t,
                    SIGMA_BEAM * (1.0 + step as f32 * 0.2),
                    SIGMA_BEAM,
                    angle,
                    flux * fade,
                );
            }
        }
    }
    truth.push(Placed {
        what: if fr2 { "FR-II" } else { "FR-I" },
        x,
        y,
        scale: length,
        extent,
    });
}

fn rgz(c: &mut Canvas, rng: &mut ChaCha8Rng, truth: &mut Vec<Placed>) -> &'static str {
    const CLASSES: [(&str, usize, usize); 6] = [
        ("1C-1P", 1, 1),
        ("1C-2P", 1, 2),
        ("1C-3P", 1, 3),
        ("2C-2P", 2, 2),
        ("2C-3P", 2, 3),
        ("3C-3P", 3, 3),
    ];
    let (name, components, peaks) = CLASSES[rng.random_range(0..CLASSES.len())];
    // Peaks of one component sit 2.5 beams apart on a line (one island, separate maxima);
    // components sit at least 10 beams apart (separate islands).
    let mut per_component = vec![1; components];
    for i in 0..peaks - components {
        per_component[i % components] += 1;
    }
    let centre = c.size as f32 / 2.0;
    for (i, &n) in per_component.iter().enumerate() {
        let theta =
            i as f32 * std::f32::consts::TAU / components as f32 + rng.random_range(0.0..0.5);
        let offset = if components == 1 {
            0.0
        } else {
            10.0 * BEAM_FWHM_PX / 2.0
        };
        let (cx, cy) = (centre + offset * theta.cos(), centre + offset * theta.sin());
        let angle = rng.random_range(0.0..std::f32::consts::PI);
        let mut extent: Option<Extent> = None;
        for p in 0..n {
            let t = (p as f32 - (n - 1) as f32 / 2.0) * 2.5 * BEAM_FWHM_PX;
            let (px, py) = (cx + t * angle.cos(), cy + t * angle.sin());
            let sigma = SIGMA_BEAM * 1.2;
            c.gaussian(px, py, sigma, sigma, 0.0, rng.random_range(3e-3..1e-2));
            let peak = Extent::gaussian(px, py, sigma, sigma, 0.0);
            extent = Some(extent.map_or(peak, |e| e.union(peak)));
        }
        truth.push(Placed {
            what: "component",
            x: cx,
            y: cy,
            scale: n as f32,
            extent: extent.unwrap_or(Extent::disc(cx, cy, 0.0)),
        });
    }
    name
}

fn radioimg(
    c: &mut Canvas,
    rng: &mut ChaCha8Rng,
    b: &Balance,
    truth: &mut Vec<Placed>,
) -> Vec<&'static str> {
    let mut tags = Vec::new();
    let size = c.size as f32;
    let anywhere = |rng: &mut ChaCha8Rng, margin: f32| {
        (
            rng.random_range(margin..size - margin),
            rng.random_range(margin..size - margin),
        )
    };
    for _ in 0..rng.random_range(0..4) {
        let (x, y) = anywhere(rng, 4.0);
        c.gaussian(
            x,
            y,
            SIGMA_BEAM,
            SIGMA_BEAM,
            0.0,
            rng.random_range(1e-3..1e-2),
        );
        let extent = Extent::gaussian(x, y, SIGMA_BEAM, SIGMA_BEAM, 0.0);
        mark(truth, &mut tags, ("COMPACT", extent), x, y, SIGMA_BEAM);
    }
    if rng.random_bool(b.radio_galaxy) {
        let (x, y) = anywhere(rng, size * 0.3);
        let angle = rng.random_range(0.0..std::f32::consts::PI);
        let fr2 = rng.random_bool(0.5);
        radio_galaxy(c, rng, x, y, angle, fr2, truth);
        push_once(&mut tags, "RADIO-GALAXY");
        push_once(&mut tags, "EXTENDED");
    }
    if rng.random_bool(b.extended) {
        let (x, y) = anywhere(rng, size * 0.2);
        let angle = rng.random_range(0.0..std::f32::consts::PI);
        let (sigma_x, sigma_y) = (SIGMA_BEAM * 4.0, SIGMA_BEAM * 1.5);
        c.gaussian(x, y, sigma_x, sigma_y, angle, rng.random_range(2e-3..8e-3));
        let extent = Extent::gaussian(x, y, sigma_x, sigma_y, angle);
        mark(truth, &mut tags, ("EXTENDED", extent), x, y, sigma_x);
    }
    if rng.random_bool(b.diffuse) {
        let (x, y) = anywhere(rng, size * 0.25);
        let sigma = SIGMA_BEAM * 3.0;
        c.gaussian(x, y, sigma, sigma, 0.0, rng.random_range(6e-4..1.5e-3));
        let extent = Extent::gaussian(x, y, sigma, sigma, 0.0);
        mark(truth, &mut tags, ("DIFFUSE", extent), x, y, sigma);
    }
    if rng.random_bool(b.diffuse_large) {
        let (x, y) = anywhere(rng, size * 0.3);
        let mut extent = Extent::disc(x, y, 0.0);
        for _ in 0..4 {
            let (ox, oy) = (
                rng.random_range(-size * 0.15..size * 0.15),
                rng.random_range(-size * 0.15..size * 0.15),
            );
            let spread = size * rng.random_range(0.08..0.15);
            let angle = rng.random_range(0.0..3.0);
            let (bx, by) = (x + ox, y + oy);
            c.gaussian(
                bx,
                by,
                spread,
                spread * 0.7,
                angle,
                rng.random_range(4e-4..9e-4),
            );
            extent = extent.union(Extent::gaussian(bx, by, spread, spread * 0.7, angle));
        }
        mark(
            truth,
            &mut tags,
            ("DIFFUSE-LARGE", extent),
            x,
            y,
            size * 0.15,
        );
    }
    if rng.random_bool(b.artefact) {
        // A very bright source with ring-shaped sidelobes, as residual calibration errors leave.
        let (x, y) = anywhere(rng, size * 0.3);
        c.gaussian(x, y, SIGMA_BEAM, SIGMA_BEAM, 0.0, 0.2);
        for (radius, sign) in [(3.0, -1.0f32), (5.0, 1.0), (7.0, -1.0)] {
            c.ring(x, y, radius * BEAM_FWHM_PX, SIGMA_BEAM, sign * 2e-3);
        }
        // The box holds the bright core and its positive ring.
        let radius = 5.0 * BEAM_FWHM_PX;
        let extent = Extent::disc(x, y, radius + REACH_SIGMAS * SIGMA_BEAM);
        mark(truth, &mut tags, ("ARTEFACT", extent), x, y, radius);
    }
    if rng.random_bool(b.peculiar) {
        // An odd, ring-shaped extended source: the kind of "WTF" object radioimg flags.
        let (x, y) = anywhere(rng, size * 0.3);
        let radius = size * 0.12;
        c.ring(x, y, radius, SIGMA_BEAM * 1.5, 3e-3);
        let extent = Extent::disc(x, y, radius + REACH_SIGMAS * SIGMA_BEAM * 1.5);
        mark(truth, &mut tags, ("WTF", extent), x, y, radius);
    }
    if rng.random_bool(b.border) {
        // Beyond a mosaic's edge: NaN columns on one side.
        let width = (size * rng.random_range(0.1..0.3)) as usize;
        let n = c.size;
        for y in 0..n {
            for x in n - width..n {
                c.pixels[y * n + x] = f32::NAN;
            }
        }
        let strip = Extent {
            x0: size - width as f32,
            y0: 0.0,
            x1: size,
            y1: size,
        };
        mark(
            truth,
            &mut tags,
            ("BORDER", strip),
            size - width as f32 / 2.0,
            size / 2.0,
            width as f32,
        );
    }
    if tags.iter().all(|t| *t == "BORDER") {
        tags.insert(0, "BACKGROUND");
    }
    tags
}

/// Record an ingredient where it was placed and tag the cutout with it.
fn mark(
    truth: &mut Vec<Placed>,
    tags: &mut Vec<&'static str>,
    (what, extent): (&'static str, Extent),
    x: f32,
    y: f32,
    scale: f32,
) {
    truth.push(Placed {
        what,
        x,
        y,
        scale,
        extent,
    });
    push_once(tags, what);
}

fn push_once(tags: &mut Vec<&'static str>, tag: &'static str) {
    if !tags.contains(&tag) {
        tags.push(tag);
    }
}

#[cfg(test)]
mod balance_tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn overrides_replace_only_the_named_probabilities() {
        let b = Balance::from_str("radio-galaxy=0.5, extended=0").unwrap();
        assert_eq!(b.radio_galaxy, 0.5);
        assert_eq!(b.extended, 0.0);
        assert_eq!(b.artefact, Balance::default().artefact);
        assert_eq!(Balance::from_str("").unwrap(), Balance::default());
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        let unknown = Balance::from_str("galaxy=0.5").unwrap_err().to_string();
        assert!(unknown.contains("unknown ingredient 'galaxy'"), "{unknown}");
        assert!(unknown.contains("radio-galaxy"), "{unknown}");
        for bad in ["radio-galaxy=2", "radio-galaxy=x", "radio-galaxy"] {
            assert!(Balance::from_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_balanced_sky_has_the_asked_for_share_of_radio_galaxies() {
        let b = Balance::from_str("radio-galaxy=0.5,extended=0").unwrap();
        let galaxies = (0..400)
            .filter(|&i| {
                let sky = cutout(SkyKind::RadioImg, 64, 3, i, &b);
                let tags = sky.label.as_array().unwrap().clone();
                // No extended source other than the galaxies themselves.
                assert_eq!(
                    tags.contains(&json!("EXTENDED")),
                    tags.contains(&json!("RADIO-GALAXY"))
                );
                tags.contains(&json!("RADIO-GALAXY"))
            })
            .count();
        assert!((160..=240).contains(&galaxies), "{galaxies}");
    }
}
