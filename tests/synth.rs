//! The synthetic sky: deterministic, in radio-llava's dataset format, labels true by
//! construction (each checked by measuring the pixels where the truth says).

mod common;

use common::cli::radiochat;
use radiochat::imaging::synth::{Balance, NOISE_JY, SkyKind, cutout};

const RADIOIMG_TAGS: [&str; 9] = [
    "BACKGROUND",
    "COMPACT",
    "EXTENDED",
    "DIFFUSE",
    "DIFFUSE-LARGE",
    "RADIO-GALAXY",
    "ARTEFACT",
    "BORDER",
    "WTF",
];

fn mean_on_ring(pixels: &[f32], size: usize, x0: f32, y0: f32, radius: f32) -> f32 {
    let on: Vec<f32> = (0..size * size)
        .filter(|i| {
            let (x, y) = ((i % size) as f32, (i / size) as f32);
            let r = ((x - x0).powi(2) + (y - y0).powi(2)).sqrt();
            (r - radius).abs() < 1.0 && pixels[*i].is_finite()
        })
        .map(|i| pixels[i])
        .collect();
    on.iter().sum::<f32>() / on.len().max(1) as f32
}

#[test]
fn labels_are_true_by_construction() {
    let every = Balance {
        radio_galaxy: 0.5,
        extended: 0.5,
        diffuse: 0.5,
        diffuse_large: 0.5,
        artefact: 0.5,
        peculiar: 0.5,
        border: 0.5,
    };
    let mut seen = std::collections::HashSet::new();
    for index in 0..60 {
        let sky = cutout(SkyKind::RadioImg, 132, 7, index, &every);
        let tags: Vec<&str> = sky
            .label
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        for tag in &tags {
            assert!(RADIOIMG_TAGS.contains(tag), "{tag}");
            seen.insert(tag.to_string());
        }
        let has_nan = sky.pixels.iter().any(|v| v.is_nan());
        assert_eq!(
            tags.contains(&"BORDER"),
            has_nan,
            "image {index}: BORDER iff NaN pixels"
        );
        for placed in &sky.truth {
            match placed.what {
                "ARTEFACT" => {
                    // Negative first sidelobe at 3 beams, positive ring at 5 beams: 10σ deep.
                    let inner = mean_on_ring(&sky.pixels, sky.size, placed.x, placed.y, 12.0);
                    let outer = mean_on_ring(&sky.pixels, sky.size, placed.x, placed.y, 20.0);
                    assert!(
                        outer - inner > 10.0 * NOISE_JY,
                        "image {index}: ring {inner} / {outer}"
                    );
                }
                "WTF" => {
                    let ring =
                        mean_on_ring(&sky.pixels, sky.size, placed.x, placed.y, placed.scale);
                    assert!(
                        ring > 10.0 * NOISE_JY,
                        "image {index}: peculiar ring {ring}"
                    );
                }
                "COMPACT" | "EXTENDED" | "FR-I" | "FR-II" => {
                    let v = sky.pixels
                        [placed.y.round() as usize * sky.size + placed.x.round() as usize];
                    assert!(
                        v.is_nan() || v > 5.0 * NOISE_JY,
                        "image {index}: {} at centre {v}",
                        placed.what
                    );
                }
                _ => {}
            }
        }
        if tags == ["BACKGROUND"] {
            let peak = sky
                .pixels
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(f32::MIN, f32::max);
            assert!(
                peak < 8.0 * NOISE_JY,
                "image {index}: background only, peak {peak}"
            );
        }
    }
    assert!(
        seen.len() >= 8,
        "most tags appear with a generous balance: {seen:?}"
    );

    for index in 0..12 {
        let label = cutout(SkyKind::MiraBest, 100, 3, index, &Balance::default()).label;
        assert!(label == "FR-I" || label == "FR-II", "{label}");
        let rgz = cutout(SkyKind::Rgz, 100, 3, index, &Balance::default());
        let class = rgz.label.as_str().unwrap().to_string();
        let components = class[..1].parse::<usize>().unwrap();
        assert_eq!(rgz.truth.len(), components, "{class}");
    }
}

#[test]
fn synth_command_writes_a_radio_llava_dataset_deterministically() {
    let home = tempfile::tempdir().unwrap();
    let a = home.path().join("a");
    let b = home.path().join("b");
    for out in [&a, &b] {
        let done = radiochat(
            &[
                "synth",
                "--out",
                out.to_str().unwrap(),
                "--n",
                "6",
                "--seed",
                "42",
                "--size",
                "64",
            ],
            home.path(),
        );
        assert_eq!(
            done.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    let dataset: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("dataset.json")).unwrap()).unwrap();
    let data = dataset["data"].as_array().unwrap();
    assert_eq!(data.len(), 6);
    for entry in data {
        let relative = entry["filepaths"][0].as_str().unwrap();
        let image =
            radiochat::imaging::RadioImage::open(&a.join(relative), &Default::default()).unwrap();
        assert_eq!(image.dimensions(), (64, 64));
        assert_eq!(
            image.header.as_ref().unwrap().bunit.as_deref(),
            Some("JY/BEAM")
        );
        assert!(entry["sname"].is_string() && entry["label"].is_array() && entry["id"].is_number());
        assert_eq!(
            std::fs::read(a.join(relative)).unwrap(),
            std::fs::read(b.join(relative)).unwrap(),
            "same seed, same bytes"
        );
    }
    // A figure caption per cutout, from what was drawn, in the form `--captions` reads.
    let captions: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("captions.json")).unwrap()).unwrap();
    let captions = captions.as_array().unwrap();
    assert_eq!(captions.len(), 6);
    for (caption, entry) in captions.iter().zip(data) {
        assert_eq!(caption["image"], entry["filepaths"][0]);
        let text = caption["caption"].as_str().unwrap();
        assert!(
            text.starts_with("Radio continuum cutout (64 × 64 pixels"),
            "{text}"
        );
        let tags: Vec<&str> = entry["label"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(
            tags == ["BACKGROUND"],
            text.contains("noise only"),
            "{tags:?}: {text}"
        );
        assert_eq!(
            tags.contains(&"RADIO-GALAXY"),
            text.contains("radio galaxy"),
            "{tags:?}: {text}"
        );
    }
    let bad = radiochat(
        &["synth", "--out", a.to_str().unwrap(), "--kind", "nvss"],
        home.path(),
    );
    assert_eq!(bad.status.code(), Some(2));
}

/// Every source drawn has a box that holds its emission: each pixel brighter than 15σ lies in
/// some box, and every box lies inside the image; the label files and the dataset's `objects`
/// say the same.
#[test]
fn source_boxes_hold_the_emission_they_name() {
    use radiochat::bench::objects::{SourceClass, from_entries, read_yolo};
    use radiochat::commands::synth::source_boxes;
    let every = Balance {
        radio_galaxy: 0.5,
        extended: 0.5,
        diffuse: 0.5,
        diffuse_large: 0.5,
        artefact: 0.3,
        peculiar: 0.3,
        border: 0.2,
    };
    let mut classes = std::collections::HashSet::new();
    for kind in [SkyKind::RadioImg, SkyKind::Rgz, SkyKind::MiraBest] {
        for index in 0..40 {
            let sky = cutout(kind, 96, 11, index, &every);
            let boxes = source_boxes(kind, &sky);
            classes.extend(boxes.iter().map(|b| b.class));
            let n = sky.size;
            for (i, v) in sky.pixels.iter().enumerate() {
                if !(v.is_finite() && *v > 15.0 * NOISE_JY) {
                    continue;
                }
                let (x, y) = (
                    ((i % n) as f64 + 0.5) / n as f64,
                    ((i / n) as f64 + 0.5) / n as f64,
                );
                assert!(
                    boxes
                        .iter()
                        .any(|b| (x - b.x).abs() <= b.w / 2.0 && (y - b.y).abs() <= b.h / 2.0),
                    "{kind:?} {index}: a {v} Jy/beam pixel at ({x:.3}, {y:.3}) is in no box: {boxes:?}"
                );
            }
            for b in &boxes {
                assert!(
                    b.w > 0.0
                        && b.h > 0.0
                        && b.x - b.w / 2.0 >= -1e-9
                        && b.x + b.w / 2.0 <= 1.0 + 1e-9
                );
            }
        }
    }
    assert_eq!(classes.len(), 4, "all but FLAGGED appear: {classes:?}");
    assert!(!classes.contains(&SourceClass::Flagged));

    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("sky");
    let done = radiochat(
        &[
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--n",
            "8",
            "--size",
            "64",
            "--seed",
            "5",
        ],
        home.path(),
    );
    assert_eq!(done.status.code(), Some(0), "{done:?}");
    let dataset: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("dataset.json")).unwrap()).unwrap();
    let mut seen = 0;
    for (index, entry) in dataset["data"].as_array().unwrap().iter().enumerate() {
        let sname = entry["sname"].as_str().unwrap();
        let listed = from_entries(entry["objects"].as_array().unwrap(), sname);
        let filed = read_yolo(&out.join(format!("labels/{sname}.txt"))).unwrap();
        assert!(listed.skipped.is_empty() && filed.skipped.is_empty());
        assert_eq!(listed.boxes.len(), filed.boxes.len());
        for (a, b) in listed.boxes.iter().zip(&filed.boxes) {
            assert_eq!(a.class, b.class);
            for (p, q) in a.numbers().iter().zip(b.numbers()) {
                assert!((p - q).abs() < 1e-6, "{sname}: {a:?} vs {b:?}");
            }
        }
        let sky = cutout(SkyKind::RadioImg, 64, 5, index, &Balance::default());
        assert_eq!(
            listed.boxes.len(),
            source_boxes(SkyKind::RadioImg, &sky).len()
        );
        seen += listed.boxes.len();
    }
    assert!(seen > 0, "some sources in 8 cutouts");
}
