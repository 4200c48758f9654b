//! `finetune data --remote URL` / `--generate-with MODEL`: question–answer pairs a model writes
//! about each image (radio-llava's method) join its conversation; pairs contradicting the labels
//! and answers that are not JSON are dropped and counted; the cache makes a rerun ask nothing;
//! the demo model through a local `radiochat serve` is refused on one line when it writes no
//! usable pair.

mod common;

use common::cli::{assert_bad_input, radiochat};
use common::serve::{Fake, Served, fake_server, sse_head, sse_token};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::Ordering;

/// A whole streamed answer.
fn answer(text: &str) -> Vec<u8> {
    let finish = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    format!("{}{}{finish}data: [DONE]\n\n", sse_head(), sse_token(text)).into_bytes()
}

fn build(home: &Path, sky: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let cache = home.join("cache.jsonl");
    let out = home.join(out);
    let args = [
        "finetune",
        "data",
        "--from",
        sky.to_str().unwrap(),
        "--tasks",
        "B3",
        "--val",
        "0",
        "--generate-cache",
        cache.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    radiochat(&[&args[..], extra].concat(), home)
}

#[test]
fn pairs_a_server_writes_join_each_conversation_unless_they_contradict_the_labels() {
    let home = tempfile::tempdir().unwrap();
    let sky = common::cli::synth_sky_with(
        home.path(),
        "sky",
        "radioimg",
        4,
        5,
        &["--balance", "radio-galaxy=0.5,extended=0"],
    );
    let pairs = r#"[{"question": "What does the image show?", "answer": "A radio continuum cutout."},
                    {"question": "Is there an extended radio galaxy in the image?", "answer": "Yes, one."}]"#;
    let (url, posts) = fake_server(move |_| Fake::Reply(answer(pairs)));
    let out = build(home.path(), &sky, "first", &["--remote", &url, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let generated = &summary["generated"];
    assert_eq!(generated["images"], 4, "{summary}");
    assert_eq!(generated["asked"], 4);
    assert_eq!(posts.load(Ordering::SeqCst), 4);
    // The labels decide which "Yes" stands: one per radio-galaxy image.
    let dataset: Value = serde_json::from_str(&std::fs::read_to_string(&sky).unwrap()).unwrap();
    let galaxies = dataset["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["label"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "RADIO-GALAXY")
        })
        .count();
    assert_eq!(generated["pairs"], 4 + galaxies);
    assert_eq!(generated["contradictions"], 4 - galaxies);
    assert_eq!(summary["turns"]["generated"], 4 + galaxies);
    let train: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("first/train.json")).unwrap(),
    )
    .unwrap();
    let record = &train[0]["conversations"];
    let turns = record.as_array().unwrap();
    assert!(turns[0]["value"].as_str().unwrap().starts_with("<image>\n"));
    assert_eq!(turns[2]["value"], "What does the image show?");
    assert_eq!(turns[3]["value"], "A radio continuum cutout.");

    // A second build asks nothing: every answer is in the cache.
    let again = build(home.path(), &sky, "second", &["--remote", &url, "--json"]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    let summary: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["generated"]["cached"], 4);
    assert_eq!(summary["generated"]["asked"], 0);
    assert_eq!(posts.load(Ordering::SeqCst), 4);
}

/// A prompt in generate.toml's shape, short enough for the demo model's 4,096-token context.
const SHORT_PROMPT: &str = r#"
context = "Radio image."
glossary = ""
task = "Write {k} question-answer pairs."
requirements = "Answer as JSON: [{\"question\", \"answer\"}]"
[caption]
intro = ""
tags = [{ tag = "RADIO-GALAXY", present = "A radio galaxy. ", absent = "" }]
complex = ""
complex_peculiar = ""
peculiar = ""
very_ordinary = ""
ordinary = ""
"#;

#[test]
fn the_demo_model_through_serve_is_refused_on_one_line_when_it_writes_no_pair() {
    let home = tempfile::tempdir().unwrap();
    let sky = common::cli::synth_sky(home.path(), "sky", "radioimg", 3, 8);
    let served = Served::start(home.path(), &["--demo", "--no-auth"], &[]);
    let remote = ["--remote", served.url.as_str(), "--max-tokens", "16"];
    // A query longer than the demo model's context (6,000 tildes: no merge of its vocabulary
    // joins them, so each is a token): every request fails, the engine's reason is shown, and
    // nothing is cached (a rerun asks again).
    let long = home.path().join("long.toml");
    let tildes = "~".repeat(6000);
    std::fs::write(
        &long,
        SHORT_PROMPT.replace(
            "context = \"Radio image.\"",
            &format!("context = \"{tildes}\""),
        ),
    )
    .unwrap();
    let too_long = [&remote[..], &["--generate-prompt", long.to_str().unwrap()]].concat();
    let out = build(home.path(), &sky, "first", &too_long);
    assert_bad_input(
        &out,
        &[
            "no usable pair for 3 image(s) (0 not JSON, 0 contradicting the labels, 3 failed",
            "more than the model's context of 4096",
        ],
    );
    let cache = home.path().join("cache.jsonl");
    assert!(!cache.exists());
    // A short prompt fits; the demo model's answers are not JSON: dropped, counted, cached.
    let prompt = home.path().join("short.toml");
    std::fs::write(&prompt, SHORT_PROMPT).unwrap();
    let short = [
        &remote[..],
        &["--generate-prompt", prompt.to_str().unwrap()],
    ]
    .concat();
    let out = build(home.path(), &sky, "second", &short);
    assert_bad_input(&out, &["no usable pair for 3 image(s) (3 not JSON"]);
    let lines = || std::fs::read_to_string(&cache).unwrap().lines().count();
    assert_eq!(lines(), 3, "every answer kept");
    // Asked again: answered from the cache, the server not asked.
    let out = build(home.path(), &sky, "third", &short);
    assert_bad_input(&out, &["no usable pair for 3 image(s) (3 not JSON"]);
    assert_eq!(lines(), 3);
    // The embedded demo model the same way, without a server: another model, asked anew.
    let p = prompt.to_str().unwrap();
    let embedded = [
        "--generate-with",
        "demo",
        "--max-tokens",
        "16",
        "--generate-prompt",
        p,
    ];
    let out = build(home.path(), &sky, "fourth", &embedded);
    assert_bad_input(&out, &["no usable pair for 3 image(s) (3 not JSON"]);
    assert_eq!(lines(), 6);
    // A prompt file that is not one: one line naming it.
    std::fs::write(&prompt, "context = 3").unwrap();
    let out = build(home.path(), &sky, "fifth", &short);
    assert_bad_input(
        &out,
        &[
            "short.toml: ",
            "expected the fields of prompts/finetune/generate.toml",
        ],
    );
}
