//! A synthetic general (non-radio) visual question set: one to four shapes of one kind and one
//! colour on a dark background, each image asked one multiple-choice question — which shape,
//! which colour, or how many — whose answer is true by construction. It stands in for MMBench
//! and ScienceQA in tests and demos of the forgetting check (`G1`).

use image::{Rgb, RgbImage};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const SHAPES: [&str; 4] = ["circle", "square", "triangle", "diamond"];
pub const COLOURS: [(&str, [u8; 3]); 4] = [
    ("red", [220, 40, 40]),
    ("green", [40, 190, 60]),
    ("blue", [50, 90, 230]),
    ("yellow", [235, 215, 40]),
];
const LETTERS: [&str; 4] = ["A", "B", "C", "D"];

/// How the four options of a question are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptionOrder {
    /// A new order for each question (MMBench's way): the answer letter says nothing until the
    /// option texts are read and matched against the picture.
    #[default]
    Shuffled,
    /// Each question kind's options always in one order (circle, square, triangle, diamond;
    /// red, green, blue, yellow; 1–4): the letter names what is seen. A skill a tiny model can
    /// learn, where matching option texts is beyond it (the forgetting proof's general base).
    Fixed,
}

/// An image's question: its text, four options, the right one's letter, and what it asks.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapesQuestion {
    pub question: String,
    pub options: Vec<String>,
    pub answer: &'static str,
    pub category: &'static str,
}

/// Image `index` of a set (deterministic for seed and index) and its question; the question
/// kind cycles shape, colour, count. The picture does not depend on the option order.
pub fn shapes_scene(
    size: usize,
    seed: u64,
    index: usize,
    option_order: OptionOrder,
) -> (RgbImage, ShapesQuestion) {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let shape = rng.random_range(0..SHAPES.len());
    let colour = rng.random_range(0..COLOURS.len());
    let count = rng.random_range(1..=4usize);
    // Each shape in its own quadrant, so shapes never touch and can be counted.
    let mut quadrants = [0usize, 1, 2, 3];
    quadrants.shuffle(&mut rng);
    let s = size as f32;
    let radius = s * 0.13;
    let centres: Vec<(f32, f32)> = quadrants[..count]
        .iter()
        .map(|&q| {
            let (qx, qy) = ((q % 2) as f32, (q / 2) as f32);
            let jitter = |rng: &mut ChaCha8Rng| rng.random_range(-0.06..0.06) * s;
            (
                (qx + 0.5) * s / 2.0 + jitter(&mut rng),
                (qy + 0.5) * s / 2.0 + jitter(&mut rng),
            )
        })
        .collect();
    let mut picture = RgbImage::new(size as u32, size as u32);
    for (x, y, pixel) in picture.enumerate_pixels_mut() {
        let grain = rng.random_range(0..12u8);
        *pixel = Rgb([24 + grain, 24 + grain, 28 + grain]);
        let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
        if centres
            .iter()
            .any(|&(cx, cy)| inside(shape, (px - cx) / radius, (py - cy) / radius))
        {
            *pixel = Rgb(COLOURS[colour].1);
        }
    }
    let counts = ["1", "2", "3", "4"];
    let colours = COLOURS.map(|(name, _)| name);
    let (question, values, right, category) = match index % 3 {
        0 => (
            "What shape are the objects in the image?",
            SHAPES,
            shape,
            "shape",
        ),
        1 => (
            "What colour are the shapes in the image?",
            colours,
            colour,
            "colour",
        ),
        _ => (
            "How many shapes are in the image?",
            counts,
            count - 1,
            "count",
        ),
    };
    let mut order = [0usize, 1, 2, 3];
    if option_order == OptionOrder::Shuffled {
        order.shuffle(&mut rng);
    }
    let at = order.iter().position(|&i| i == right).unwrap_or(0);
    let asked = ShapesQuestion {
        question: question.to_string(),
        options: order.iter().map(|&i| values[i].to_string()).collect(),
        answer: LETTERS[at],
        category,
    };
    (picture, asked)
}

/// Whether a point (in units of the shape's radius, from its centre) lies inside the shape.
fn inside(shape: usize, u: f32, v: f32) -> bool {
    match SHAPES[shape] {
        "circle" => u * u + v * v <= 1.0,
        "square" => u.abs() <= 0.85 && v.abs() <= 0.85,
        // Apex up at v = −1, base at v = 0.8, as wide as the radius at the base.
        "triangle" => (-1.0..=0.8).contains(&v) && u.abs() <= (v + 1.0) / 1.8,
        _ => u.abs() + v.abs() <= 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_true_of_the_picture_and_sets_are_reproducible() {
        for index in 0..12 {
            let (picture, asked) = shapes_scene(64, 5, index, OptionOrder::Shuffled);
            let right = &asked.options[LETTERS.iter().position(|l| *l == asked.answer).unwrap()];
            let lit: Vec<[u8; 3]> = picture
                .pixels()
                .filter(|p| p.0.iter().any(|&c| c > 100))
                .map(|p| p.0)
                .collect();
            assert!(!lit.is_empty());
            match asked.category {
                "colour" => {
                    let rgb = COLOURS.iter().find(|(n, _)| n == right).unwrap().1;
                    assert!(lit.iter().all(|p| *p == rgb), "{index}: {right}");
                }
                "count" => {
                    let count: usize = right.parse().unwrap();
                    // Shapes of radius 0.13 × 64 ≈ 8 px cover at least 100 pixels each.
                    assert!(lit.len() >= 100 * count, "{index}: {}", lit.len());
                }
                _ => assert!(SHAPES.contains(&right.as_str())),
            }
            let mut sorted = asked.options.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 4);
            assert_eq!(shapes_scene(64, 5, index, OptionOrder::Shuffled).1, asked);
            // In a fixed order: the same picture and the same right answer, in one list.
            let (same, fixed) = shapes_scene(64, 5, index, OptionOrder::Fixed);
            assert_eq!(same, picture);
            let canonical: Vec<String> = match asked.category {
                "shape" => SHAPES.map(String::from).to_vec(),
                "colour" => COLOURS.map(|(n, _)| n.to_string()).to_vec(),
                _ => ["1", "2", "3", "4"].map(String::from).to_vec(),
            };
            assert_eq!(fixed.options, canonical);
            let fixed_right = LETTERS.iter().position(|l| *l == fixed.answer).unwrap();
            assert_eq!(&fixed.options[fixed_right], right);
        }
        let categories: Vec<&str> = (0..3)
            .map(|i| shapes_scene(64, 5, i, OptionOrder::Shuffled).1.category)
            .collect();
        assert_eq!(categories, ["shape", "colour", "count"]);
        // Shuffled orders differ between questions.
        let orders: std::collections::HashSet<Vec<String>> = (0..12)
            .filter(|i| i % 3 == 0)
            .map(|i| shapes_scene(64, 5, i, OptionOrder::Shuffled).1.options)
            .collect();
        assert!(orders.len() > 1);
    }

    #[test]
    fn shapes_are_told_apart_by_their_outline() {
        // Near a corner only the square reaches; near the top, all but the square.
        let at = |u, v| -> Vec<&str> {
            (0..4)
                .filter(|&s| inside(s, u, v))
                .map(|s| SHAPES[s])
                .collect()
        };
        assert_eq!(at(0.84, 0.84), ["square"]);
        assert_eq!(at(0.0, -0.95), ["circle", "triangle", "diamond"]);
        assert_eq!(at(0.7, -0.6), ["circle", "square"]);
    }
}
