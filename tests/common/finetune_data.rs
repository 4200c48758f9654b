//! Running `radiochat finetune data` in tests and reading what it wrote.
#![allow(dead_code)]

use super::cli::radiochat;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A synthetic sky `home/name` of `n` cutouts (`radiochat synth --kind kind`).
pub fn synth(home: &Path, name: &str, kind: &str, n: usize, seed: u64) -> PathBuf {
    super::cli::synth_sky(home, name, kind, n, seed)
}

pub fn build(home: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["finetune", "data"];
    all.extend_from_slice(args);
    radiochat(&all, home)
}

/// `finetune data --from SKY --out OUT EXTRA…`, which must succeed.
pub fn build_ok(home: &Path, sky: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let (sky, out) = (sky.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["--from", sky, "--out", out];
    args.extend_from_slice(extra);
    let made = build(home, &args);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    made
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn records(dir: &Path) -> Vec<Value> {
    let mut all = read_json(&dir.join("train.json"))
        .as_array()
        .unwrap()
        .clone();
    all.extend(read_json(&dir.join("val.json")).as_array().unwrap().clone());
    all
}
