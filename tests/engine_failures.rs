//! Engine-side failures never hang the caller: they arrive as a `Failed` event.

mod common;

use common::{collect, tiny_model};
use radiochat::engine::{
    ChatMessage, ChatRequest, DType, Engine, LoadSpec, MistralEngine, ModelSource, Sampling,
    validate_model_dir,
};
use std::time::Duration;

#[test]
fn an_engine_thread_panic_becomes_an_error_event() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = tiny_model(dir.path(), "idefics3");
    let validated = validate_model_dir(&model_dir).unwrap();
    // Without its preprocessor config, mistralrs 0.8.1 loads the model and then panics on its
    // engine thread at the first image; the stream closes with no final chunk.
    std::fs::remove_file(model_dir.join("preprocessor_config.json")).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut spec = LoadSpec::new(ModelSource::Local(model_dir));
    spec.dtype = DType::F32;
    let engine = runtime.block_on(MistralEngine::load_validated(&spec, Some(validated)));
    let engine = match engine {
        Ok(engine) => engine,
        // Failing at load with a message is also a clear surfaced error.
        Err(e) => {
            panic!("expected the load to succeed and the first image to crash the engine: {e}")
        }
    };
    let request = ChatRequest {
        messages: vec![ChatMessage::user(
            "What is this?",
            vec![radiochat::imaging::demo_cutout()],
        )],
        sampling: Sampling {
            max_tokens: 8,
            ..Sampling::default()
        },
    };
    let result = collect(engine.stream(request), Duration::from_secs(120), |_| {});
    let message = result
        .failed
        .expect("a Failed event, not a hang or a silent empty answer");
    assert!(message.contains("engine thread crashed"), "{message}");

    // mistralrs restarts a dead engine on the next request; a text-only question works.
    let text_only = ChatRequest {
        messages: vec![ChatMessage::user("Still there?", vec![])],
        sampling: Sampling {
            max_tokens: 4,
            ignore_eos: true,
            ..Sampling::default()
        },
    };
    let after = collect(engine.stream(text_only), Duration::from_secs(120), |_| {});
    assert_eq!(after.failed, None);
    assert_eq!(
        after.finished.map(|(_, usage)| usage.completion_tokens),
        Some(4)
    );
}

#[test]
fn invalid_sampling_fails_without_reaching_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = tiny_model(dir.path(), "idefics3");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = runtime
        .block_on(radiochat::engine::load(&LoadSpec::new(ModelSource::Local(
            model_dir,
        ))))
        .unwrap();
    let request = ChatRequest {
        messages: vec![ChatMessage::user("hi", vec![])],
        sampling: Sampling {
            max_tokens: 0,
            ..Sampling::default()
        },
    };
    let result = collect(engine.stream(request), Duration::from_secs(5), |_| {});
    assert_eq!(
        result.failed.as_deref(),
        Some("max_tokens must be at least 1")
    );
}
