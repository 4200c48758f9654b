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
    let image = radiochat::imaging::demo_cutout();
    let answer = collect(
        engine.stream(ChatRequest {
            messages: vec![ChatMessage::user("Is there a radio source?", vec![image])],
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

#[test]
fn qwen3_5_fails_on_cpu_for_its_partial_rotary_factor_and_answers_without_it() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path(), "qwen3_5");
    let config_path = model.join("config.json");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    assert_eq!(
        config["text_config"]["rope_parameters"]["partial_rotary_factor"],
        0.25
    );
    let failure = answer_past_the_refusal("qwen3_5", &model).expect_err(
        "mistral.rs now runs Qwen3.5 on CPU: retest and prove it in src/engine/arch.rs",
    );
    assert!(failure.contains("crashed"), "{failure}");

    let mut whole = config;
    whole["text_config"]["rope_parameters"]["partial_rotary_factor"] = 1.0.into();
    std::fs::write(&config_path, whole.to_string()).unwrap();
    let answer = answer_past_the_refusal("qwen3_5", &model).expect("full rotary answers");
    assert!(answer.chars().count() >= 8, "{answer:?}");
}
