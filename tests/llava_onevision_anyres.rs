//! LLaVA-OneVision's anyres geometry against transformers: for 400 image sizes (edge cases and
//! seeded random ones, from 1 px to 6000 px a side) and two geometries (llava-onevision's 384 px
//! tiles of 27 × 27 features, and a tiny 56 px one), the tile grid, the processor's image-token
//! count and the length `pack_image_features` really packs all equal radiochat's.

mod common;

use radiochat::engine::llava_onevision::anyres::{Geometry, Size, default_pinpoints, grid_shape};

const REFERENCE: &str = r#"
import functools, json, sys, types
import torch
from transformers.models.llava_onevision.processing_llava_onevision import LlavaOnevisionProcessor
from transformers.models.llava_onevision.modeling_llava_onevision import (
    LlavaOnevisionModel, get_anyres_image_grid_shape)

job = json.load(sys.stdin)
image_size, patch = job["image_size"], job["patch_size"]
side = image_size // patch
pinpoints = job["pinpoints"]
aspect = f"anyres_max_{job['max_tiles']}"
processor = types.SimpleNamespace(
    image_processor=types.SimpleNamespace(image_grid_pinpoints=pinpoints),
    num_image_tokens=side * side, vision_aspect_ratio=aspect)
processor._get_unpadded_features = functools.partial(
    LlavaOnevisionProcessor._get_unpadded_features, processor)
model = types.SimpleNamespace(config=types.SimpleNamespace(
    vision_config=types.SimpleNamespace(image_size=image_size, patch_size=patch),
    image_grid_pinpoints=pinpoints))
for h, w in job["sizes"]:
    rows, cols = get_anyres_image_grid_shape((h, w), pinpoints, image_size)
    counted = LlavaOnevisionProcessor._get_number_of_features(processor, h, w, image_size, image_size)
    features = torch.zeros(1 + rows * cols, side * side, 1)
    _, lens = LlavaOnevisionModel.pack_image_features(
        model, [features], torch.tensor([[h, w]]), torch.zeros(1), aspect)
    print(h, w, rows, cols, counted, int(lens[0]))
"#;

fn sizes() -> Vec<(u32, u32)> {
    let mut sizes = vec![
        (384, 384),
        (383, 385),
        (1, 1),
        (1, 4000),
        (4000, 1),
        (2304, 2304),
        (2305, 2303),
        (132, 132),
        (120, 80),
        (6000, 200),
        (200, 6000),
        (56, 168),
        (768, 384),
    ];
    // A small LCG: the same sizes on every machine.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    while sizes.len() < 400 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let h = 1 + ((state >> 33) % 6000) as u32;
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let w = 1 + ((state >> 33) % 6000) as u32;
        sizes.push((h, w));
    }
    sizes
}

fn check(geometry: &Geometry) {
    let sizes = sizes();
    let job = serde_json::json!({
        "image_size": geometry.image_size,
        "patch_size": geometry.patch_size,
        "max_tiles": geometry.max_tiles,
        "pinpoints": geometry.pinpoints.iter().map(|p| [p.height, p.width]).collect::<Vec<_>>(),
        "sizes": sizes,
    });
    let out = common::reference_python(&["-c", REFERENCE], &job.to_string());
    let lines: Vec<Vec<u64>> = out
        .lines()
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(lines.len(), sizes.len());
    let mut mismatches = Vec::new();
    for (line, &(h, w)) in lines.iter().zip(&sizes) {
        let original = Size::new(h, w);
        let grid = grid_shape(original, &geometry.pinpoints, geometry.image_size).unwrap();
        let ours = (
            grid.height as u64,
            grid.width as u64,
            geometry.image_tokens(original).unwrap() as u64,
        );
        assert_eq!(
            line[4], line[5],
            "transformers' processor and model disagree at {h}×{w}"
        );
        if (line[2], line[3], line[4]) != ours {
            mismatches.push(format!(
                "{h}×{w}: transformers {line:?}, radiochat {ours:?}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn anyres_grid_and_token_counts_equal_transformers_at_onevision_dimensions() {
    check(&Geometry {
        image_size: 384,
        patch_size: 14,
        pinpoints: default_pinpoints(384),
        max_tiles: 9,
    });
}

#[test]
fn anyres_grid_and_token_counts_equal_transformers_at_tiny_dimensions() {
    check(&Geometry {
        image_size: 56,
        patch_size: 14,
        pinpoints: (1..=3)
            .flat_map(|r| (1..=3).map(move |c| Size::new(56 * r, 56 * c)))
            .collect(),
        max_tiles: 9,
    });
}
