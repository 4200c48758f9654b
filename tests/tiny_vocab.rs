//! `model tiny --dims nano --vocab-from DATA`: radio-llava-nano with BPE merges learnt from
//! `finetune data`'s conversations. transformers reads the directory as its own (no missing,
//! unexpected or mismatched weight) and splits every text of the corpus into the very ids the
//! engine's tokenizer does; a radio-llava question takes under a third of its bytes in tokens;
//! the engine answers with it; bad uses are refused with one line.

mod common;

use common::cli::{assert_bad_input, radiochat};
use common::finetune_data::{build_ok, read_json, synth};
use common::{json_lines, reference_python};
use std::path::{Path, PathBuf};

/// A nano model with merges learnt from radioimg and MiraBest conversations, and its corpus.
fn nano_with_merges(home: &Path) -> (PathBuf, PathBuf) {
    let radioimg = synth(home, "radioimg", "radioimg", 16, 3);
    let mirabest = synth(home, "mirabest", "mirabest", 16, 3);
    let data = home.join("data");
    let (mirabest, train) = (mirabest.to_str().unwrap(), data.join("train.json"));
    build_ok(
        home,
        &radioimg,
        &data,
        &[
            "--from",
            mirabest,
            "--tasks",
            "B3,B6",
            "--describe",
            "--val",
            "0",
        ],
    );
    let model = home.join("nano");
    let made = radiochat(
        &[
            "model",
            "tiny",
            "--arch",
            "llava_onevision",
            "--dims",
            "nano",
            "--vocab-from",
            train.to_str().unwrap(),
            "--merges",
            "600",
            model.to_str().unwrap(),
        ],
        home,
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    (model, train)
}

#[test]
fn learnt_merges_are_read_by_transformers_and_the_engine_alike() {
    let home = tempfile::tempdir().unwrap();
    let (model, train) = nano_with_merges(home.path());

    let config = read_json(&model.join("config.json"));
    let tokenizer = tokenizers::Tokenizer::from_file(model.join("tokenizer.json")).unwrap();
    let vocab = tokenizer.get_vocab_size(true) as u64;
    let declared = config["text_config"]["vocab_size"].as_u64().unwrap();
    assert!(vocab > 256 + 300, "few merges learnt: {vocab} tokens");
    assert!(
        declared >= vocab && declared < vocab + 16,
        "{declared} for {vocab}"
    );

    let scratch = home.path().join("scratch");
    let script = common::checkout_file("tests/reference/tiny_layout.py");
    let out = reference_python(
        &[&script, scratch.to_str().unwrap(), model.to_str().unwrap()],
        "",
    );
    let report = &json_lines(&out)[0];
    for key in ["missing", "unexpected", "mismatched", "shape_mismatches"] {
        let listed = report[key].as_array().map_or(0, Vec::len);
        assert_eq!(listed, 0, "{key}: {report}");
    }

    let mut texts: Vec<String> = read_json(&train)
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["conversations"].as_array().unwrap().clone())
        .map(|turn| turn["value"].as_str().unwrap().to_string())
        .take(200)
        .collect();
    texts.extend(
        [
            "FR-I",
            "FR-II",
            "a Fanaroff-Riley type II radio galaxy",
            "ünïcode ✓ 🌌",
        ]
        .map(String::from),
    );
    let ours: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| {
            tokenizer
                .encode(t.as_str(), false)
                .unwrap()
                .get_ids()
                .to_vec()
        })
        .collect();
    let script = common::checkout_file("tests/reference/token_ids.py");
    let theirs: Vec<Vec<u32>> = serde_json::from_str(&reference_python(
        &[&script, model.to_str().unwrap()],
        &serde_json::to_string(&texts).unwrap(),
    ))
    .unwrap();
    assert_eq!(ours, theirs);
    for (text, ids) in texts.iter().zip(&ours) {
        assert_eq!(tokenizer.decode(ids, false).unwrap(), *text);
    }

    let (bytes, tokens) = texts
        .iter()
        .zip(&ours)
        .filter(|(t, _)| t.contains("<image>"))
        .fold((0, 0), |(b, n), (t, ids)| (b + t.len(), n + ids.len()));
    assert!(
        tokens > 0 && tokens * 3 < bytes,
        "{tokens} tokens for {bytes} bytes"
    );
    let (one, two) = (&ours[ours.len() - 4], &ours[ours.len() - 3]);
    assert!(
        two.len() <= one.len() + 1 && two != one,
        "FR-I {one:?} FR-II {two:?}"
    );

    let image = home.path().join("radioimg").join(
        read_json(&home.path().join("radioimg/dataset.json"))["data"][0]["filepaths"][0]
            .as_str()
            .unwrap(),
    );
    let asked = radiochat(
        &[
            "ask",
            "--model",
            model.to_str().unwrap(),
            "--image",
            image.to_str().unwrap(),
            "--max-tokens",
            "8",
            "Is there a radio galaxy?",
        ],
        home.path(),
    );
    assert_eq!(asked.status.code(), Some(0), "{asked:?}");
}

#[test]
fn a_learnt_vocabulary_needs_nano_and_a_readable_corpus() {
    let home = tempfile::tempdir().unwrap();
    let corpus = home.path().join("train.json");
    std::fs::write(&corpus, "[{\"id\": 1,").unwrap();
    let out = home.path().join("model");
    let (corpus, out) = (corpus.to_str().unwrap(), out.to_str().unwrap());
    let tiny = [
        "model",
        "tiny",
        "--arch",
        "llava_onevision",
        "--vocab-from",
        corpus,
        out,
    ];
    assert_bad_input(&radiochat(&tiny, home.path()), &["--dims nano only"]);
    let nano = [&tiny[..4], &["--dims", "nano"], &tiny[4..]].concat();
    assert_bad_input(&radiochat(&nano, home.path()), &[corpus]);
    let missing = home.path().join("none.json");
    let nano_missing = [
        &tiny[..4],
        &[
            "--dims",
            "nano",
            "--vocab-from",
            missing.to_str().unwrap(),
            out,
        ],
    ]
    .concat();
    assert_bad_input(&radiochat(&nano_missing, home.path()), &["none.json"]);
    std::fs::write(corpus, "[]").unwrap();
    assert_bad_input(
        &radiochat(&nano, home.path()),
        &[corpus, "nothing to learn"],
    );
    assert!(!Path::new(out).exists());
}
