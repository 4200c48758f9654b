//! `--isq` on the own engine: the language model's linear layers quantized on load with
//! candle's quantized matmul. q8_0 loads, streams, and its first-step logits stay within
//! 2.5 % of the logits' spread of f32's (measured on this tiny model: 1.2 %); formats it does
//! not offer are refused with one line.

mod common;

use common::cli::{assert_bad_input, radiochat};
use radiochat::engine::llava_onevision::Loaded;
use radiochat::engine::{ChatMessage, ChatRequest, Sampling};

#[test]
fn q8_0_logits_stay_near_f32_and_it_streams() {
    let home = tempfile::tempdir().unwrap();
    let model = common::tiny_model(home.path(), "llava_onevision");
    let open = |isq| {
        Loaded::open_quantized(
            &model,
            candle_core::Device::Cpu,
            candle_core::DType::F32,
            isq,
            Vec::new(),
        )
        .unwrap()
    };
    let request = ChatRequest {
        messages: vec![ChatMessage::user(
            "Is there a radio galaxy?",
            vec![radiochat::imaging::demo_cutout()],
        )],
        sampling: Sampling::default(),
    };
    let first_logits = |loaded: &Loaded| -> Vec<f32> {
        let prompt = loaded.prompt(&request).unwrap();
        let (logits, _) = loaded.prefill(&prompt).unwrap();
        logits.get(0).unwrap().to_vec1().unwrap()
    };
    let f32_logits = first_logits(&open(None));
    let q8_logits = first_logits(&open(Some(candle_core::quantized::GgmlDType::Q8_0)));
    let spread = f32_logits.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = f32_logits
        .iter()
        .zip(&q8_logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    eprintln!("q8_0 against f32: max abs logit difference {worst} (largest |logit| {spread})");
    assert!(spread > 0.1, "the logits carry no signal");
    assert!(
        worst > 0.0,
        "q8_0 changed nothing: the layers were not quantized"
    );
    assert!(
        worst <= 0.025 * spread,
        "{worst} against a spread of {spread}"
    );

    let picture = home.path().join("sky.png");
    radiochat::imaging::demo_cutout().save(&picture).unwrap();
    let args = |isq: &str| -> Vec<String> {
        [
            "ask",
            "-m",
            model.to_str().unwrap(),
            "-i",
            picture.to_str().unwrap(),
            "--isq",
            isq,
            "--max-tokens",
            "12",
            "--ignore-eos",
            "--json",
            "What is it?",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |isq: &str| {
        let args = args(isq);
        radiochat(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            home.path(),
        )
    };
    let out = run("q8_0");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["usage"]["completion_tokens"], 12);
    assert_eq!(answer["model"]["isq"], "q8_0");
    assert_bad_input(&run("q4_0"), &["--isq q4_0", "quantizes to q8_0 or q4k"]);
}
