//! mistral.rs's prefix cache (on by default: it halves the chat's follow-up wait) must not
//! change an answer: per supported architecture, the same conversations greedy with the cache
//! asked for and without it give the same text, including a new image behind the same words
//! (the cache must not reuse the old image's keys and values) and a question asked again.
//! LLaVA and LLaVA-NeXT answer follow-ups differently with mistral.rs 0.8.1's cache (llava:
//! "(?8PVs}/,…" instead of "(?(?(?(?G666…"; llava_next: from the first token; Llama 3.2
//! vision: from the first token too), and Gemma 4's follow-up on a cache hit fails with NaN
//! logits, so radiochat does not turn it on for them; this test forces it on there and checks that the defect is
//! still there, so the day a mistral.rs fixes it the test says the guard can go.

mod common;

use common::{collect, tiny_model};
use radiochat::engine::{
    Architecture, Backend, ChatMessage, ChatRequest, DType, Engine, LoadSpec, MistralEngine,
    ModelSource, Sampling,
};
use std::time::Duration;

const LIMIT: Duration = common::ANSWER_LIMIT;
const QUESTION: &str = "Is there an extended radio source?";

fn ask(engine: &dyn Engine, messages: Vec<ChatMessage>) -> (String, usize) {
    let sampling = Sampling {
        max_tokens: 40,
        ignore_eos: true,
        ..Sampling::default()
    };
    let answer = collect(
        engine.stream(ChatRequest { messages, sampling }),
        LIMIT,
        |_| {},
    );
    if let Some(failure) = answer.failed {
        // Compared like an answer: it differs from any text a working engine gives.
        return (format!("<failed: {failure}>"), 0);
    }
    let prompt_tokens = answer
        .finished
        .as_ref()
        .map_or(0, |(_, usage)| usage.prompt_tokens);
    (answer.text(), prompt_tokens)
}

/// Answers (text, prompt tokens) of one engine to: image A, its follow-up, image B with the
/// same words, image A again. `force` loads mistral.rs with the cache even where radiochat
/// keeps it off.
fn conversations(
    arch: &str,
    model: &std::path::Path,
    prefix_cache: usize,
    force: bool,
) -> Vec<(String, usize)> {
    // Shown with a failure: which model and load a hang or a panic happened in.
    eprintln!("{arch}: prefix cache {prefix_cache}, forced {force}");
    let proven = Architecture::by_loader(arch).unwrap().prefix_cache;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut spec = LoadSpec::new(ModelSource::Local(model.to_path_buf()));
    spec.dtype = DType::F32;
    spec.prefix_cache = prefix_cache;
    let engine: Box<dyn Engine> = if force {
        let mut validated = radiochat::engine::validate_model_dir(model).unwrap();
        validated.architecture.prefix_cache = true;
        let loaded = MistralEngine::load_validated(&spec, Some(validated));
        Box::new(runtime.block_on(loaded).unwrap())
    } else {
        runtime
            .block_on(radiochat::engine::load(&spec))
            .unwrap_or_else(|e| panic!("{arch}: {e}"))
    };
    // Architectures where mistral.rs's cache changes answers (LLaVA, LLaVA-NeXT) get none.
    let expected = if proven || force { prefix_cache } else { 0 };
    assert_eq!(engine.describe().prefix_cache, expected, "{arch}");
    let flat = |v: u8| {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(64, 64, image::Rgb([v; 3])))
    };
    let (image_a, image_b) = (flat(0), flat(255));
    let first = ChatMessage::user(QUESTION, vec![image_a.clone()]);
    let a = ask(engine.as_ref(), vec![first.clone()]);
    let follow_up = ask(
        engine.as_ref(),
        vec![
            first.clone(),
            ChatMessage::assistant(a.0.clone()),
            ChatMessage::user("Where is its brightest part?", vec![]),
        ],
    );
    let b = ask(
        engine.as_ref(),
        vec![ChatMessage::user(QUESTION, vec![image_b])],
    );
    let a_again = ask(engine.as_ref(), vec![first]);
    vec![a, follow_up, b, a_again]
}

#[test]
fn the_prefix_cache_never_changes_an_answer() {
    // The prefix cache is mistral.rs's; radiochat's own engine keeps none.
    let mistralrs = Architecture::supported().filter(|a| a.engine == Backend::MistralRs);
    for arch in mistralrs.map(|a| a.loader) {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_model(dir.path(), arch);
        let without = conversations(arch, &model, 0, false);
        for (text, _) in &without {
            assert!(!text.starts_with("<failed"), "{arch}: {text}");
        }
        // The test can only catch a stale image if the image changes the answer.
        assert_ne!(
            without[0].0, without[2].0,
            "{arch}: image B answered as image A"
        );
        assert_eq!(without[0], without[3], "{arch}: greedy is repeatable");
        let asked = conversations(arch, &model, 16, false);
        // The prompt counts too: a cache hit still reports the whole conversation.
        assert_eq!(asked, without, "{arch}: the prefix cache changed an answer");
        if !Architecture::by_loader(arch).unwrap().prefix_cache {
            // radiochat kept the cache off; mistral.rs with it on answers the follow-up wrongly.
            let forced = conversations(arch, &model, 16, true);
            assert_eq!(forced[0], without[0], "{arch}: the first question");
            assert_ne!(
                forced[1].0, without[1].0,
                "{arch}: mistral.rs's prefix cache now answers the follow-up right; \
                 set prefix_cache: true for it in src/engine/arch.rs"
            );
        }
    }
}
