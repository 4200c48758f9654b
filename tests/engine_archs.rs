//! The per-architecture proof: for every architecture docs/models.md lists as supported, a tiny
//! random-weight model in the exact Hugging Face layout is loaded by the real embedded engine,
//! answers about an image, takes a second turn about the same image, and stops mid-stream
//! when cancelled.

mod common;

use common::{collect, tiny_model};
use radiochat::engine::{
    Architecture, ChatMessage, ChatRequest, DType, FinishReason, LoadSpec, ModelSource, Sampling,
};
use std::time::Duration;

const LIMIT: Duration = common::ANSWER_LIMIT;

/// Architectures whose text tower reads the image by cross-attention (Llama 3.2 vision).
const CROSS_ATTENTION: &[&str] = &["vllama"];

fn prove(arch: &str) {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = tiny_model(dir.path(), arch);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut spec = LoadSpec::new(ModelSource::Local(model_dir));
    spec.dtype = DType::F32;
    let engine = runtime
        .block_on(radiochat::engine::load(&spec))
        .expect("tiny model loads");
    assert_eq!(
        engine.describe().architecture,
        Architecture::by_loader(arch).unwrap().hf_class
    );

    let image = radiochat::imaging::demo_cutout();
    let sampling = Sampling {
        max_tokens: 12,
        ignore_eos: true,
        ..Sampling::default()
    };
    let first_question = ChatMessage::user("Is there an extended radio source?", vec![image]);

    // Turn 1: image + question, at least 8 decoded tokens.
    let first = collect(
        engine.stream(ChatRequest {
            messages: vec![first_question.clone()],
            sampling: sampling.clone(),
        }),
        LIMIT,
        |_| {},
    );
    assert_eq!(first.failed, None, "{arch}: turn 1 failed");
    let (reason, usage) = first.finished.clone().unwrap();
    assert_eq!(
        reason,
        FinishReason::Length,
        "{arch}: EOS was ignored, so max_tokens ends it"
    );
    assert_eq!(usage.completion_tokens, 12, "{arch}: {usage:?}");
    assert!(
        first.tokens.len() >= 8,
        "{arch}: at least 8 streamed pieces, got {:?}",
        first.tokens
    );

    // The image really reached the model: the same question without it is a shorter prompt.
    let text_only = collect(
        engine.stream(ChatRequest {
            messages: vec![ChatMessage::user(
                "Is there an extended radio source?",
                vec![],
            )],
            sampling: sampling.clone(),
        }),
        LIMIT,
        |_| {},
    );
    let (_, text_usage) = text_only.finished.as_ref().expect("text-only answer");
    if CROSS_ATTENTION.contains(&arch) {
        // One `<|image|>` token in the prompt; the pixels enter through cross-attention.
        assert_eq!(usage.prompt_tokens, text_usage.prompt_tokens + 1, "{arch}");
        assert_ne!(
            first.text(),
            text_only.text(),
            "{arch}: the image changed nothing"
        );
    } else {
        assert!(
            usage.prompt_tokens >= text_usage.prompt_tokens + 4,
            "{arch}: image prompt {} vs text prompt {}",
            usage.prompt_tokens,
            text_usage.prompt_tokens
        );
    }

    // Turn 2: same image, kept in the history.
    let history = vec![
        first_question,
        ChatMessage::assistant(first.text()),
        ChatMessage::user("Where is its brightest part?", vec![]),
    ];
    let second = collect(
        engine.stream(ChatRequest {
            messages: history.clone(),
            sampling: sampling.clone(),
        }),
        LIMIT,
        |_| {},
    );
    assert_eq!(second.failed, None, "{arch}: turn 2 failed");
    let (_, second_usage) = second.finished.unwrap();
    assert!(
        second_usage.prompt_tokens > usage.prompt_tokens,
        "{arch}: the history grew"
    );
    assert!(
        second_usage.completion_tokens >= 8,
        "{arch}: {second_usage:?}"
    );

    // Turn 3: cancelled after the second streamed piece; the partial text is kept.
    let long = Sampling {
        max_tokens: 400,
        ..sampling
    };
    let generation = engine.stream(ChatRequest {
        messages: history,
        sampling: long,
    });
    let cancel = generation.cancel_handle();
    let third = collect(generation, LIMIT, |n| {
        if n == 2 {
            cancel.cancel();
        }
    });
    assert_eq!(third.failed, None, "{arch}: turn 3 failed");
    let (reason, _) = third.finished.unwrap();
    assert_eq!(reason, FinishReason::Cancelled, "{arch}");
    assert!(
        third.tokens.len() >= 2 && third.tokens.len() < 400,
        "{arch}: {} pieces",
        third.tokens.len()
    );

    // The engine is still usable after a cancel.
    let again = collect(
        engine.stream(ChatRequest {
            messages: vec![ChatMessage::user("Hello", vec![])],
            sampling: Sampling {
                max_tokens: 4,
                ignore_eos: true,
                ..Sampling::default()
            },
        }),
        LIMIT,
        |_| {},
    );
    assert_eq!(
        again.finished.map(|f| f.0),
        Some(FinishReason::Length),
        "{arch}: {:?}",
        again.failed
    );
}

#[test]
fn every_supported_architecture_answers_about_an_image() {
    let supported: Vec<&str> = Architecture::supported().map(|a| a.loader).collect();
    assert!(!supported.is_empty());
    for arch in supported {
        prove(arch);
    }
}
