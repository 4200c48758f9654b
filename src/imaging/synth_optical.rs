//! Synthetic optical galaxies in Galaxy MNIST's four classes (radio-llava's seventh task):
//! colour images whose class is true by construction — a smooth round blob, a smooth cigar,
//! an edge-on disk with a dust lane, an unbarred two-armed spiral — on a dark, noisy sky.

use image::{Rgb, RgbImage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Galaxy MNIST's classes, in its label order.
pub const GMNIST_CLASSES: [&str; 4] = [
    "SMOOTH_ROUND",
    "SMOOTH_CIGAR",
    "EDGE_ON_DISK",
    "UNBARRED_SPIRAL",
];

/// Image `index` of a dataset (deterministic for seed and index): the picture and its class.
pub fn galaxy(size: usize, seed: u64, index: usize) -> (RgbImage, &'static str) {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let class = GMNIST_CLASSES[index % GMNIST_CLASSES.len()];
    let s = size as f32;
    let (cx, cy) = (
        s / 2.0 + rng.random_range(-0.05..0.05) * s,
        s / 2.0 + rng.random_range(-0.05..0.05) * s,
    );
    let angle: f32 = rng.random_range(0.0..std::f32::consts::PI);
    let (cos, sin) = (angle.cos(), angle.sin());
    let scale = s * rng.random_range(0.16..0.22);
    let mut light = vec![[0f32; 3]; size * size];
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            // Along and across the galaxy's major axis, in units of its scale.
            let (u, v) = (
                (dx * cos + dy * sin) / scale,
                (-dx * sin + dy * cos) / scale,
            );
            light[y * size + x] = colour_at(class, u, v);
        }
    }
    let mut picture = RgbImage::new(size as u32, size as u32);
    for (i, pixel) in light.iter().enumerate() {
        let noise: f32 = rng.random_range(0.0..0.04);
        let channel = |c: f32| ((c + noise).clamp(0.0, 1.0) * 255.0) as u8;
        picture.put_pixel(
            (i % size) as u32,
            (i / size) as u32,
            Rgb([channel(pixel[0]), channel(pixel[1]), channel(pixel[2])]),
        );
    }
    (picture, class)
}

const YELLOW: [f32; 3] = [1.0, 0.85, 0.6];
const BLUE: [f32; 3] = [0.55, 0.7, 1.0];

fn tinted(colour: [f32; 3], brightness: f32) -> [f32; 3] {
    colour.map(|c| c * brightness)
}

fn add(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// The light at (u, v), major-axis units from the centre.
fn colour_at(class: &str, u: f32, v: f32) -> [f32; 3] {
    let r2 = u * u + v * v;
    match class {
        "SMOOTH_ROUND" => tinted(YELLOW, (-r2 / 1.2).exp()),
        "SMOOTH_CIGAR" => tinted(YELLOW, (-(u * u) / 1.5 - (v * v) / 0.12).exp()),
        "EDGE_ON_DISK" => {
            let disk = (-(u * u) / 2.5 - (v * v) / 0.02).exp();
            let bulge = (-r2 / 0.15).exp();
            let lane = 1.0 - 0.8 * (-(v * v) / 0.002).exp() * (-(u * u) / 2.0).exp();
            add(tinted(BLUE, 0.8 * disk * lane), tinted(YELLOW, 0.7 * bulge))
        }
        _ => {
            // Two logarithmic arms: bright where the angle follows ln r.
            let r = r2.sqrt().max(1e-3);
            let phase = 2.0 * (v.atan2(u) - 1.6 * r.ln());
            let arms = (0.5 + 0.5 * phase.cos()).powi(4) * (-r / 1.4).exp();
            let bulge = (-r2 / 0.1).exp();
            add(tinted(BLUE, 0.9 * arms), tinted(YELLOW, 0.9 * bulge))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light(picture: &RgbImage, x: u32, y: u32) -> u32 {
        picture
            .get_pixel(x, y)
            .0
            .iter()
            .map(|&c| u32::from(c))
            .sum()
    }

    #[test]
    fn the_four_classes_cycle_and_each_looks_its_part() {
        let classes: Vec<&str> = (0..8).map(|i| galaxy(64, 1, i).1).collect();
        assert_eq!(classes[..4], GMNIST_CLASSES);
        assert_eq!(classes[4..], GMNIST_CLASSES);
        let (round, _) = galaxy(64, 1, 0);
        let (cigar, _) = galaxy(64, 1, 1);
        let lit = |p: &RgbImage| {
            (0..64)
                .flat_map(|y| (0..64).map(move |x| (x, y)))
                .filter(|&(x, y)| light(p, x, y) > 300)
                .count()
        };
        // A cigar is a thinner galaxy than a round one of like scale.
        assert!(lit(&cigar) < lit(&round), "{} {}", lit(&cigar), lit(&round));
        let (spiral, _) = galaxy(64, 1, 3);
        let centre = light(&spiral, 32, 32);
        assert!(centre > 400, "a bright bulge: {centre}");
        assert_eq!(galaxy(64, 1, 2).0, galaxy(64, 1, 2).0);
        assert_ne!(galaxy(64, 1, 2).0, galaxy(64, 2, 2).0);
    }
}
