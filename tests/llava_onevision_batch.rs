//! The own engine batches what is in flight: four requests at once answer exactly as each
//! does alone (greedy), a request cancelled mid-batch leaves the others' answers intact, and
//! a request sent while another is decoding joins it instead of waiting for it to end.

mod common;

use common::{Collected, collect, tiny_model};
use radiochat::engine::{
    ChatMessage, ChatRequest, Engine, EngineEvent, FinishReason, Generation, LoadSpec, ModelSource,
    Sampling,
};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

fn engine(runtime: &tokio::runtime::Runtime, dir: &std::path::Path) -> Box<dyn Engine> {
    let model = tiny_model(dir, "llava_onevision");
    runtime
        .block_on(radiochat::engine::load(&LoadSpec::new(ModelSource::Local(
            model,
        ))))
        .unwrap()
}

fn picture(width: u32, height: u32, shade: u8) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([shade, (x * 7 % 256) as u8, (y * 5 % 256) as u8])
    }))
}

/// Four different requests: images of different sizes (so different prompt lengths), one
/// without an image, different answer lengths.
fn requests() -> Vec<ChatRequest> {
    let ask = |text: &str, images, max_tokens| ChatRequest {
        messages: vec![ChatMessage::user(text, images)],
        sampling: Sampling {
            max_tokens,
            ignore_eos: true,
            ..Sampling::default()
        },
    };
    vec![
        ask("Is there a radio galaxy?", vec![picture(90, 60, 10)], 24),
        ask("Describe the source.", vec![picture(200, 120, 200)], 31),
        ask("Hello", vec![], 17),
        ask("Any artefacts here?", vec![picture(56, 56, 90)], 40),
    ]
}

fn alone(engine: &dyn Engine, request: &ChatRequest) -> Collected {
    let answer = collect(engine.stream(request.clone()), LIMIT, |_| {});
    assert_eq!(answer.failed, None);
    answer
}

#[test]
fn four_requests_in_flight_answer_as_each_does_alone() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = engine(&runtime, dir.path());
    let _guard = runtime.enter();
    let requests = requests();
    let single: Vec<Collected> = requests.iter().map(|r| alone(engine.as_ref(), r)).collect();
    let generations: Vec<Generation> = requests.iter().map(|r| engine.stream(r.clone())).collect();
    for (i, generation) in generations.into_iter().enumerate() {
        let batched = collect(generation, LIMIT, |_| {});
        assert_eq!(batched.failed, None, "request {i}");
        assert_eq!(batched.text(), single[i].text(), "request {i}");
        let (reason, usage) = batched.finished.unwrap();
        let (_, usage_alone) = single[i].finished.clone().unwrap();
        assert_eq!(reason, FinishReason::Length);
        assert_eq!(
            usage.prompt_tokens, usage_alone.prompt_tokens,
            "request {i}"
        );
        assert_eq!(
            usage.completion_tokens, requests[i].sampling.max_tokens,
            "request {i}"
        );
    }
}

#[test]
fn a_cancelled_request_leaves_the_batch_intact() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = engine(&runtime, dir.path());
    let _guard = runtime.enter();
    let mut requests = requests();
    requests[1].sampling.max_tokens = 2000;
    let single: Vec<Collected> = requests.iter().map(|r| alone(engine.as_ref(), r)).collect();
    let mut generations: Vec<Generation> =
        requests.iter().map(|r| engine.stream(r.clone())).collect();
    let doomed = generations.remove(1);
    let cancel = doomed.cancel_handle();
    let cancelled = collect(doomed, LIMIT, |n| {
        if n == 3 {
            cancel.cancel();
        }
    });
    let (reason, usage) = cancelled.finished.clone().unwrap();
    assert_eq!(reason, FinishReason::Cancelled);
    assert!(usage.completion_tokens < 2000, "{usage:?}");
    assert!(
        single[1].text().starts_with(&cancelled.text()),
        "the partial answer is the start of the whole one"
    );
    for (generation, i) in generations.into_iter().zip([0, 2, 3]) {
        let answer = collect(generation, LIMIT, |_| {});
        assert_eq!(answer.failed, None, "request {i}");
        assert_eq!(answer.text(), single[i].text(), "request {i}");
    }
}

#[test]
fn a_request_sent_mid_decode_joins_the_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = engine(&runtime, dir.path());
    let _guard = runtime.enter();
    let mut requests = requests();
    requests[0].sampling.max_tokens = 3000;
    let expected = [
        alone(engine.as_ref(), &requests[0]).text(),
        alone(engine.as_ref(), &requests[2]).text(),
    ];
    let mut long = engine.stream(requests[0].clone());
    let mut texts = [String::new(), String::new()];
    let mut late: Option<Generation> = None;
    let mut order = Vec::new();
    let mut done = [false, false];
    let deadline = Instant::now() + LIMIT;
    while !(done[0] && done[1]) {
        assert!(Instant::now() < deadline, "no end: {order:?}");
        let mut idle = true;
        for (i, generation) in [Some(&mut long), late.as_mut()].into_iter().enumerate() {
            let Some(generation) = generation else {
                continue;
            };
            if done[i] {
                continue;
            }
            if let Some(event) = generation.try_next() {
                idle = false;
                match event {
                    EngineEvent::Token(piece) => {
                        texts[i].push_str(&piece);
                        if order.last() != Some(&(i, "token")) {
                            order.push((i, "token"));
                        }
                    }
                    EngineEvent::Finished { .. } => {
                        done[i] = true;
                        order.push((i, "finished"));
                    }
                    EngineEvent::Failed(e) => panic!("request {i}: {e}"),
                }
            }
        }
        if late.is_none() && texts[0].chars().count() >= 5 {
            late = Some(engine.stream(requests[2].clone()));
        }
        if idle {
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    assert_eq!(texts[0], expected[0]);
    assert_eq!(texts[1], expected[1]);
    let late_first = order.iter().position(|e| *e == (1, "token")).unwrap();
    let long_end = order.iter().position(|e| *e == (0, "finished")).unwrap();
    assert!(
        late_first < long_end,
        "the late request waited for the running one: {order:?}"
    );
}
