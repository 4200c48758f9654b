//! radiochat's own LLaVA-OneVision against transformers on a tiny random model that
//! transformers itself wrote (`save_pretrained`, tests/reference/llava_onevision.py): for a
//! square image, a wide one, one larger than the largest pinpoint (whose features are
//! downscaled by anyres_max_2) and a square cutout of one tile, the pixel tensor of the image processor, the prompt tokens,
//! the first-step logits and a 16-token greedy answer all equal the reference's.

mod common;

use radiochat::engine::llava_onevision::preprocess::ImageProcessor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn script() -> String {
    common::checkout_file("tests/reference/llava_onevision.py")
}

struct Fixture {
    _dir: tempfile::TempDir,
    model: PathBuf,
    images: Vec<PathBuf>,
}

/// Noise over a gradient, so that every resize tap matters; the same bytes on every machine.
fn test_image(width: u32, height: u32, seed: u64) -> image::DynamicImage {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let base = [
            (x * 255 / width.max(1)) as i32,
            (y * 255 / height.max(1)) as i32,
            ((x + y) * 127 / (width + height)) as i32,
        ];
        image::Rgb(base.map(|b| (b + (next() % 96) as i32 - 48).clamp(0, 255) as u8))
    });
    image::DynamicImage::ImageRgb8(image)
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let tokenizer = common::tiny_model(dir.path(), "llava_onevision");
        let model = dir.path().join("hf");
        common::reference_python(
            &[
                &script(),
                "write",
                tokenizer.to_str().unwrap(),
                model.to_str().unwrap(),
            ],
            "",
        );
        // Square, wide (3 × 2 of the 56 px pinpoints), past the largest pinpoint, and a square
        // cutout that fits one tile (its grid tile is the base image again, which the engine
        // computes once).
        let images = [(90, 90, 1), (120, 80, 2), (400, 250, 3), (48, 48, 4)]
            .iter()
            .map(|&(w, h, seed)| {
                let path = dir.path().join(format!("image-{w}x{h}.png"));
                test_image(w, h, seed).save(&path).unwrap();
                path
            })
            .collect();
        Fixture {
            _dir: dir,
            model,
            images,
        }
    })
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn pixel_values_equal_the_image_processors() {
    let f = fixture();
    let out = f._dir.path().join("pixels.f32");
    let mut args = vec![
        script(),
        "pixels".into(),
        f.model.display().to_string(),
        out.display().to_string(),
    ];
    args.extend(f.images.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    common::reference_python(&args, "");
    let reference = read_f32(&out);
    let processor = ImageProcessor::from_dir(&f.model).unwrap();
    let mut offset = 0;
    for path in &f.images {
        let ours = processor.preprocess(&image::open(path).unwrap());
        let theirs = &reference[offset..offset + ours.data.len()];
        offset += ours.data.len();
        let worst = ours
            .data
            .iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-5,
            "{}: {} tiles, max abs difference {worst}",
            path.display(),
            ours.tiles
        );
    }
    assert_eq!(offset, reference.len(), "the reference made more tiles");
    // transformers' own tiles of the one-tile square cutout: the grid tile is the base image.
    let cutout = &reference[reference.len() - ours_len(&processor, &f.images[3])..];
    let (base, grid) = cutout.split_at(cutout.len() / 2);
    assert_eq!(base, grid);
}

fn ours_len(processor: &ImageProcessor, path: &Path) -> usize {
    let pixels = processor.preprocess(&image::open(path).unwrap());
    assert_eq!(pixels.tiles, 2, "{}", path.display());
    pixels.data.len()
}

const QUESTION: &str = "Describe the radio source in this image.";

/// transformers' answer to QUESTION about `image`.
fn reference_answer(model: &Path, image: &Path) -> serde_json::Value {
    let out = common::reference_python(
        &[
            &script(),
            "answer",
            model.to_str().unwrap(),
            image.to_str().unwrap(),
            QUESTION,
        ],
        "",
    );
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn prompt_logits_and_greedy_answer_equal_transformers() {
    use radiochat::engine::llava_onevision::Loaded;
    use radiochat::engine::{ChatMessage, ChatRequest, LoadSpec, ModelSource, Sampling};
    let f = fixture();
    let validated = radiochat::engine::validate_model_dir(&f.model).unwrap();
    let loaded = Loaded::open(
        &f.model,
        candle_core::Device::Cpu,
        candle_core::DType::F32,
        validated.eos_token_ids.clone(),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = runtime
        .block_on(radiochat::engine::load(&LoadSpec::new(ModelSource::Local(
            f.model.clone(),
        ))))
        .unwrap();
    for path in &f.images {
        let reference = reference_answer(&f.model, path);
        let image = image::open(path).unwrap();
        let request = ChatRequest {
            messages: vec![ChatMessage::user(QUESTION, vec![image])],
            sampling: Sampling {
                max_tokens: 16,
                ignore_eos: true,
                ..Sampling::default()
            },
        };
        let name = path.display();
        let prompt = loaded.prompt(&request).unwrap();
        let their_ids: Vec<u32> = serde_json::from_value(reference["prompt_ids"].clone()).unwrap();
        assert_eq!(prompt.ids, their_ids, "{name}: prompt tokens");
        let (logits, _) = loaded.prefill(&prompt).unwrap();
        let ours: Vec<f32> = logits.get(0).unwrap().to_vec1().unwrap();
        let theirs: Vec<f32> = serde_json::from_value(reference["logits"].clone()).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}: vocabulary");
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        let spread = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            worst <= 1e-4,
            "{name}: first-step logits differ by {worst} (largest |logit| {spread})"
        );
        assert!(spread > 0.1, "{name}: the logits carry no signal");

        let _guard = runtime.enter();
        let answer = common::collect(
            engine.stream(request),
            std::time::Duration::from_secs(120),
            |_| {},
        );
        assert_eq!(answer.failed, None, "{name}");
        let (_, usage) = answer.finished.clone().unwrap();
        assert_eq!(usage.prompt_tokens, their_ids.len(), "{name}: usage");
        assert_eq!(usage.completion_tokens, 16, "{name}");
        let greedy: Vec<u32> = serde_json::from_value(reference["greedy"].clone()).unwrap();
        let their_text = loaded.tokenizer.decode(&greedy, true).unwrap();
        assert_eq!(answer.text(), their_text, "{name}: greedy answer");
    }
}
