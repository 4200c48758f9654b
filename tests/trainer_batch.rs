//! The trainer's padded micro-batch (trainer/batching.py) trains what the same examples one at a
//! time train: on a tiny LLaVA-OneVision written by radiochat, four conversations of different
//! lengths (a YES, a class, a description) give the same loss and the same gradients either
//! way, and the loss is the mean of the examples' own means, not the token-weighted mean the
//! model computes from a padded batch's labels (which would weigh a description by its length).

mod common;

use image::{DynamicImage, imageops};
use std::path::Path;

fn conversation(id: usize, question: &str, answer: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_string(),
        "image": format!("images/{id}.png"),
        "conversations": [
            {"from": "human", "value": format!("<image>\n{question}")},
            {"from": "gpt", "value": answer},
        ],
    })
}

/// Four examples, their images of one size (one image shape, so one padded batch).
fn write_data(dir: &Path) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let cutout = radiochat::imaging::demo_cutout();
    let images = [
        cutout.clone(),
        DynamicImage::ImageRgba8(imageops::flip_horizontal(&cutout)),
        DynamicImage::ImageRgba8(imageops::flip_vertical(&cutout)),
        cutout.rotate180(),
    ];
    for (id, picture) in images.iter().enumerate() {
        picture
            .to_rgb8()
            .save(dir.join(format!("images/{id}.png")))
            .unwrap();
    }
    let records = [
        conversation(
            0,
            "Is there any radio galaxy in this image? Answer YES or NO.",
            "YES",
        ),
        conversation(1, "Which Fanaroff-Riley class is it?", "FR-II"),
        conversation(
            2,
            "Describe the image.",
            "A radio galaxy of Fanaroff-Riley type II: edge-brightened lobes ending in hotspots.",
        ),
        conversation(3, "Any imaging artefact?", "NO"),
    ];
    std::fs::write(
        dir.join("train.json"),
        serde_json::to_string(&records).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_padded_batch_trains_as_its_examples_one_at_a_time() {
    let home = tempfile::tempdir().unwrap();
    let model = common::tiny_model(home.path(), "llava_onevision");
    let data = home.path().join("data");
    write_data(&data);
    let script = common::checkout_file("tests/reference/trainer_batch_loss.py");
    let out = common::reference_python(
        &[
            script.as_str(),
            model.to_str().unwrap(),
            data.to_str().unwrap(),
        ],
        "",
    );
    let got = common::json_lines(&out)
        .pop()
        .unwrap_or_else(|| panic!("no result: {out}"));
    let number = |key: &str| {
        got[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {got}"))
    };
    let lengths: Vec<u64> = got["lengths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_u64())
        .collect();
    let (shortest, longest) = (lengths.iter().min(), lengths.iter().max());
    assert!(shortest < longest, "the batch needs padding: {got}");
    let (one, batched) = (number("one_at_a_time"), number("batched"));
    assert!(
        (one - batched).abs() <= 1e-5 * one.abs(),
        "loss one at a time {one}, batched {batched}"
    );
    assert!(
        (number("token_weighted") - one).abs() > 1e-3 * one.abs(),
        "the examples' weighting would go unnoticed: {got}"
    );
    assert_eq!(got["gradients"][0], got["gradients"][1], "{got}");
    assert!(
        number("gradient_difference_max") <= 1e-4 * number("gradient_max"),
        "gradients differ: {got}"
    );
}
