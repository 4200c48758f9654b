//! `radiochat finetune merge` against PEFT's merge_and_unload on a tiny model (f32 and bf16),
//! the merged model loaded and run by the embedded engine, and the ways a merge is refused.

mod common;

use common::cli::{assert_bad_input, radiochat};
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    let venv = std::env::var_os("RADIOCHAT_PY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/radiochat-py")
        });
    venv.join("bin/python")
}

fn tiny_base(home: &Path) -> PathBuf {
    let base = home.join("base");
    let made = radiochat(
        &[
            "model",
            "tiny",
            "--arch",
            "idefics3",
            base.to_str().unwrap(),
        ],
        home,
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    base
}

/// PEFT's adapter and merged model for `base` (in `dtype`, saved to `base_out` first).
fn peft(home: &Path, base: &Path, dtype: Option<(&str, &Path)>) -> (PathBuf, PathBuf) {
    let tag = dtype.map_or("f32", |(d, _)| d);
    let adapter = home.join(format!("adapter-{tag}"));
    let reference = home.join(format!("peft-merged-{tag}"));
    let script = common::checkout().join("tests/reference/peft_merge.py");
    let mut command = Command::new(python());
    command.arg(script).arg(base).arg(&adapter).arg(&reference);
    if let Some((dtype, base_out)) = dtype {
        command.arg(dtype).arg(base_out);
    }
    let out = command
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("the Python venv of scripts/setup.sh (torch, transformers, peft)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("15 LoRA modules"));
    (adapter, reference)
}

fn tensors(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("model.safetensors")).unwrap()
}

fn as_f32(view: &safetensors::tensor::TensorView) -> Vec<f32> {
    let d = view.data();
    match view.dtype() {
        Dtype::F32 => d
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Dtype::BF16 => d
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// (largest difference to the reference, tensors that differ from the base), every tensor
/// of the reference present in ours with its dtype.
fn compare(ours: &Path, reference: &Path, base: &Path) -> (f32, usize) {
    let (o, r, b) = (tensors(ours), tensors(reference), tensors(base));
    let (o, r, b) = (
        SafeTensors::deserialize(&o).unwrap(),
        SafeTensors::deserialize(&r).unwrap(),
        SafeTensors::deserialize(&b).unwrap(),
    );
    assert_eq!(o.len(), r.len());
    let mut worst = 0f32;
    let mut changed = 0;
    for (name, rv) in r.tensors() {
        let ov = o.tensor(&name).unwrap_or_else(|_| panic!("{name} missing"));
        assert_eq!((ov.dtype(), ov.shape()), (rv.dtype(), rv.shape()), "{name}");
        let (ours, theirs, base) = (as_f32(&ov), as_f32(&rv), as_f32(&b.tensor(&name).unwrap()));
        for (x, y) in ours.iter().zip(&theirs) {
            worst = worst.max((x - y).abs());
        }
        if ours != base {
            changed += 1;
        }
    }
    (worst, changed)
}

/// The largest difference between two bf16 models' tensors, in bf16 steps (units in the
/// last place of the larger magnitude of each pair).
fn worst_bf16_steps(ours: &Path, reference: &Path) -> f32 {
    let (o, r) = (tensors(ours), tensors(reference));
    let (o, r) = (
        SafeTensors::deserialize(&o).unwrap(),
        SafeTensors::deserialize(&r).unwrap(),
    );
    let step = |x: f32| {
        // bf16 keeps 8 significant bits: one step is 2^(exponent - 7).
        let exponent = ((x.to_bits() >> 23) & 0xff) as i32 - 127;
        2f32.powi(exponent.max(-126) - 7)
    };
    let mut worst = 0f32;
    for (name, rv) in r.tensors() {
        let ov = o.tensor(&name).unwrap();
        for (x, y) in as_f32(&ov).iter().zip(&as_f32(&rv)) {
            let larger = x.abs().max(y.abs());
            worst = worst.max((x - y).abs() / step(larger));
        }
    }
    worst
}

fn merge(home: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["finetune", "merge"];
    all.extend_from_slice(args);
    radiochat(&all, home)
}

/// `finetune merge ADAPTER --base BASE --out OUT`.
fn merge_into(home: &Path, adapter: &Path, base: &Path, out: &Path) -> std::process::Output {
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let (a, b, o) = (path(adapter), path(base), path(out));
    merge(home, &[&a, "--base", &b, "--out", &o])
}

#[test]
fn the_merge_equals_peft_and_the_engine_runs_the_merged_model() {
    let home = tempfile::tempdir().unwrap();
    let base = tiny_base(home.path());
    let (adapter, reference) = peft(home.path(), &base, None);
    let ours = home.path().join("merged");
    let out = merge_into(home.path(), &adapter, &base, &ours);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("15 tensors merged"));
    let (worst, changed) = compare(&ours, &reference, &base);
    assert!(worst <= 1e-4, "max abs difference to PEFT: {worst}");
    assert_eq!(changed, 15, "every LoRA module changed its weight");
    for file in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
        assert_eq!(
            std::fs::read(base.join(file)).unwrap(),
            std::fs::read(ours.join(file)).unwrap(),
            "{file} copied"
        );
    }
    // The embedded engine runs the merged weights: the answer PEFT's merge gets, not the base's.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let answer = |model: &Path| {
        let question = radiochat::engine::ChatMessage::user("Describe it.", Vec::new());
        common::greedy_answer(&runtime, model, question, 12).text()
    };
    // PEFT's weights beside our merge's config and tokenizer (PEFT saves transformers 5's).
    let peft_loadable = home.path().join("peft-loadable");
    std::fs::create_dir(&peft_loadable).unwrap();
    for entry in std::fs::read_dir(&ours).unwrap().flatten() {
        std::fs::copy(entry.path(), peft_loadable.join(entry.file_name())).unwrap();
    }
    std::fs::copy(
        reference.join("model.safetensors"),
        peft_loadable.join("model.safetensors"),
    )
    .unwrap();
    let merged = answer(&ours);
    assert_eq!(
        merged,
        answer(&peft_loadable),
        "ours and PEFT's merge answer alike"
    );
    assert_ne!(merged, answer(&base), "the merge changed the answer");
}

#[test]
fn a_bf16_base_stays_bf16_and_matches_peft() {
    let home = tempfile::tempdir().unwrap();
    let base = tiny_base(home.path());
    let base_bf16 = home.path().join("base-bf16");
    let (adapter, reference) = peft(home.path(), &base, Some(("bfloat16", &base_bf16)));
    let ours = home.path().join("merged-bf16");
    let out = merge_into(home.path(), &adapter, &base_bf16, &ours);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // PEFT rounds the update to bf16 before adding it; radiochat rounds once at the end:
    // at most one bf16 step (of the larger of the two values) apart.
    let (_, changed) = compare(&ours, &reference, &base_bf16);
    assert_eq!(changed, 15);
    let steps = worst_bf16_steps(&ours, &reference);
    eprintln!("largest difference to PEFT: {steps} bf16 steps");
    assert!(steps <= 1.0, "{steps} bf16 steps from PEFT's merge");
}

#[test]
fn merges_that_cannot_be_right_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let base = tiny_base(home.path());
    let (adapter, _) = peft(home.path(), &base, None);
    // Not an adapter, or a run without one.
    assert_bad_input(
        &merge(home.path(), &[base.to_str().unwrap()]),
        &["no LoRA adapter here"],
    );
    // Another base: a different architecture lacks the adapted tensors.
    let other = home.path().join("other");
    let made = radiochat(
        &["model", "tiny", "--arch", "gemma3", other.to_str().unwrap()],
        home.path(),
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    let out = home.path().join("wrong");
    assert_bad_input(
        &merge_into(home.path(), &adapter, &other, &out),
        &["not its base model"],
    );
    assert!(!out.exists(), "nothing left behind");
    // A recorded base hash that differs.
    std::fs::write(adapter.join("base.sha256"), "0".repeat(64)).unwrap();
    assert_bad_input(
        &merge_into(home.path(), &adapter, &base, &out),
        &["trained on another base", "base hash differs"],
    );
    let right = radiochat::finetune::merge::base_fingerprint(&base).unwrap();
    std::fs::write(adapter.join("base.sha256"), right).unwrap();
    let done = merge_into(home.path(), &adapter, &base, &out);
    assert_eq!(done.status.code(), Some(0), "{done:?}");
    // The output exists now.
    assert_bad_input(
        &merge_into(home.path(), &adapter, &base, &out),
        &["exists; choose another --out"],
    );
}
