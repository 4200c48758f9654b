//! A family refused for a mistral.rs defect stays refused only while the defect is there: its
//! tiny model (the released layout) is loaded past radiochat's refusal and must still fail as
//! src/engine/arch.rs says, and with the named trigger taken away it answers, so the trigger is
//! the one the refusal names. The day a mistral.rs fixes it, this test says the refusal can go.

mod common;

use common::{collect, tiny_model};
use radiochat::engine::{
    Architecture, ChatMessage, ChatRequest, DType, Engine, LoadSpec, MistralEngine, ModelSource,
    Sampling, Support, ValidatedModel,
};
use std::path::Path;
use std::time::Duration;

/// The model loaded as if radiochat supported it, asked one question about an image: the
/// answer, or the engine's failure.
fn answer_past_the_refusal(loader: &str, dir: &Path) -> Result<String, String> {
    ask_past_the_refusal(loader, dir, true)
}

/// As [`answer_past_the_refusal`], with or without the image.
fn ask_past_the_refusal(loader: &str, dir: &Path, with_image: bool) -> Result<String, String> {
    let mut architecture = Architecture::by_loader(loader).unwrap();
    assert!(
        matches!(architecture.support, Support::Broken(_)),
        "{loader}"
    );
    architecture.support = Support::Supported;
    let validated = ValidatedModel {
        dir: dir.to_path_buf(),
        architecture,
        eos_token_ids: vec![],
        max_context: Some(4096),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut spec = LoadSpec::new(ModelSource::Local(dir.to_path_buf()));
    spec.dtype = DType::F32;
    let engine = runtime
        .block_on(MistralEngine::load_validated(&spec, Some(validated)))
        .map_err(|e| format!("load: {e:#}"))?;
    let images = if with_image {
        vec![radiochat::imaging::demo_cutout()]
    } else {
        vec![]
    };
    let answer = collect(
        engine.stream(ChatRequest {
            messages: vec![ChatMessage::user("Is there a radio source?", images)],
            sampling: Sampling {
                max_tokens: 8,
                ignore_eos: true,
                ..Sampling::default()
            },
        }),
        Duration::from_secs(120),
        |_| {},
    );
    match answer.failed {
        Some(failure) => Err(failure),
        None => Ok(answer.text()),
    }
}

/// The model's config with `partial_rotary_factor` set (the tiny model is written with 0.25).
fn set_partial_rotary(model: &Path, factor: f64) {
    let config_path = model.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    let rope = &mut config["text_config"]["rope_parameters"];
    assert_eq!(rope["partial_rotary_factor"], 0.25);
    rope["partial_rotary_factor"] = factor.into();
    std::fs::write(&config_path, config.to_string()).unwrap();
}

#[test]
fn qwen3_5_fails_on_cpu_for_its_partial_rotary_factor_and_answers_without_it() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path(), "qwen3_5");
    let failure = answer_past_the_refusal("qwen3_5", &model).expect_err(
        "mistral.rs now runs Qwen3.5 on CPU: retest and prove it in src/engine/arch.rs",
    );
    assert!(failure.contains("crashed"), "{failure}");

    set_partial_rotary(&model, 1.0);
    let answer = answer_past_the_refusal("qwen3_5", &model).expect("full rotary answers");
    assert!(answer.chars().count() >= 8, "{answer:?}");
}

/// Qwen3.5-MoE as transformers saves it (a tensor per expert) fails even with full rotary:
/// mistral.rs 0.8.1 only reads stacked experts there.
#[test]
fn qwen3_5_moe_fails_with_its_released_expert_layout_even_with_full_rotary() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path(), "qwen3_5moe");
    let failure = answer_past_the_refusal("qwen3_5moe", &model);
    assert!(failure.is_err(), "{failure:?}");
    set_partial_rotary(&model, 1.0);
    let failure = answer_past_the_refusal("qwen3_5moe", &model);
    assert!(
        failure.as_ref().is_err_and(|f| f.contains("DummyLayer")),
        "mistral.rs now reads per-expert Qwen3.5-MoE weights: {failure:?}"
    );
}

#[test]
fn llama4_fails_on_an_image_and_answers_without_one() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path(), "llama4");
    let failure = answer_past_the_refusal("llama4", &model).expect_err(
        "mistral.rs now answers Llama 4 about an image: retest and prove it in src/engine/arch.rs",
    );
    assert!(failure.contains("shape mismatch in sub"), "{failure}");

    let answer = ask_past_the_refusal("llama4", &model, false).expect("text alone answers");
    assert!(answer.chars().count() >= 8, "{answer:?}");
}
