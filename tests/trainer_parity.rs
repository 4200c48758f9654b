//! The trainer's own model code for the remote-code families transformers has no class for
//! answers as the embedded engine does: the same greedy answer as mistral.rs on the same tiny
//! model and image. What the trainer learns is then what the engine answers with.
//!
//! - Phi-3.5 vision (trainer/phi3v.py: transformers' Phi-3 and CLIP with the engine's image
//!   cutting, feature layer and token layout): a small cutout (resized up to a crop), a wide and
//!   a tall image (padded with white; the tall one turned upright and back). Reading the
//!   tower's layer the released remote code reads, one before the engine's, changes the wide
//!   image's answer.
//! - MiniCPM-o 2.6 (trainer/minicpmo.py: transformers' Qwen2 and SigLIP layers with the
//!   engine's slicing, bucketed positions, resampler and placeholders): a square image at the
//!   scale resolution (no resize), a small cutout and a tall image (resized up), and a large one
//!   cut into slices.

mod common;

use common::{greedy_answer, json_lines, reference_python, tiny_model};
use image::{Rgb, RgbImage};
use radiochat::engine::ChatMessage;
use std::path::Path;

const TOKENS: usize = 8;

fn noise(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let v = (x * 7919 + y * 104_729).wrapping_mul(2_654_435_761);
        Rgb([(v >> 8) as u8, (v >> 16) as u8, (v >> 24) as u8])
    })
}

fn cutout() -> RgbImage {
    radiochat::imaging::demo_cutout().to_rgb8()
}

/// The trainer's and the engine's answers for each image agree, and not every image gets the
/// same answer (else the comparison would say nothing of the image).
fn assert_answers_as_the_engine(
    home: &Path,
    arch: &str,
    question: &str,
    images: &[(&str, RgbImage)],
) {
    let model = tiny_model(home, arch);
    let paths: Vec<String> = images
        .iter()
        .map(|(name, picture)| {
            let path = home.join(format!("{arch}-{name}"));
            picture.save(&path).unwrap();
            path.display().to_string()
        })
        .collect();
    let script = common::checkout_file("tests/reference/trainer_greedy.py");
    let tokens = TOKENS.to_string();
    let mut args = vec![
        script.as_str(),
        arch,
        model.to_str().unwrap(),
        &tokens,
        question,
    ];
    args.extend(paths.iter().map(String::as_str));
    let out = reference_python(&args, "");
    let trainer = json_lines(&out)
        .pop()
        .unwrap_or_else(|| serde_json::json!({}));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut answers = Vec::new();
    for ((name, picture), path) in images.iter().zip(&paths) {
        let message = ChatMessage::user(
            question,
            vec![image::DynamicImage::ImageRgb8(picture.clone())],
        );
        let engine = greedy_answer(&runtime, &model, message, TOKENS).text();
        assert_eq!(
            trainer[path].as_str(),
            Some(engine.as_str()),
            "{arch} {name}: the trainer's model and the engine answer otherwise ({out})"
        );
        answers.push(engine);
    }
    answers.sort();
    answers.dedup();
    assert!(answers.len() > 1, "{arch}: {answers:?}");
}

#[test]
fn phi3_vision_trainer_model_answers_as_the_engine() {
    let home = tempfile::tempdir().unwrap();
    let images = [
        ("cutout.png", cutout()),
        (
            "wide.png",
            RgbImage::from_pixel(336, 168, Rgb([90, 160, 30])),
        ),
        ("tall.png", noise(168, 336)),
    ];
    assert_answers_as_the_engine(home.path(), "phi3v", "Is there a radio galaxy?", &images);
}

#[test]
fn minicpmo_trainer_model_answers_as_the_engine() {
    let home = tempfile::tempdir().unwrap();
    let images = [
        (
            "square.png",
            RgbImage::from_pixel(448, 448, Rgb([90, 160, 30])),
        ),
        ("cutout.png", cutout()),
        ("tall.png", noise(168, 336)),
        ("large.png", noise(900, 500)),
    ];
    assert_answers_as_the_engine(home.path(), "minicpmo", "Describe", &images);
}

/// Each answer is trained after exactly the prompt the model is later asked with. The
/// LLaVA-OneVision template renders a past answer's header (`assistant \n`) otherwise than its
/// generation prompt (`assistant\n`); trained on the first, the demo-sized model answered
/// garbage when asked in the second. Templates whose answer turn starts with the generation
/// prompt keep their text (idefics3's and LLaVA-NeXT's space before the answer is trained).
/// The trainer counts where each answer lies with the tokenizer alone (the processor, image
/// and all, once per conversation): those spans must be the processor's, for every answer of a
/// three-answer conversation, and the trainer must not have fallen back to the processor.
#[test]
fn the_trainer_trains_each_answer_after_the_prompt_it_is_asked_with() {
    let home = tempfile::tempdir().unwrap();
    let archs = [
        "llava_onevision",
        "idefics3",
        "gemma3",
        "qwen3vl",
        "llava_next",
    ];
    let dirs: Vec<String> = archs
        .iter()
        .map(|arch| tiny_model(home.path(), arch).display().to_string())
        .collect();
    let script = common::checkout_file("tests/reference/trainer_prompt.py");
    let mut args = vec![script.as_str()];
    args.extend(dirs.iter().map(String::as_str));
    let out = reference_python(&args, "");
    let reports = json_lines(&out);
    assert_eq!(reports.len(), archs.len(), "{out}");
    for report in &reports {
        assert_eq!(report["prefix_is_the_asked_prompt"], true, "{report}");
        assert_eq!(
            report["spans_by_tokenizer_are_the_processors"], true,
            "{report}"
        );
        assert_eq!(report["spans_by_tokenizer_kept"], true, "{report}");
        let trained = report["trained"].as_str().unwrap();
        assert!(
            trained.starts_with("YES") || trained.starts_with(" YES"),
            "{report}"
        );
    }
}
