//! Running the `radiochat` binary the way a user does, in a private home.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Run radiochat with its config and data under `home`; any hub access fails fast.
pub fn radiochat(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_radiochat"))
        .args(args)
        .env("RADIOCHAT_CONFIG", home.join("config.toml"))
        .env("RADIOCHAT_DATA", home.join("data"))
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("running radiochat")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2, exactly one line on stderr, containing every `needle`, and no panic.
pub fn assert_bad_input(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
}

/// `radiochat synth` of `n` 64-pixel cutouts of `kind` into `home/name`; the dataset JSON.
pub fn synth_sky(home: &Path, name: &str, kind: &str, n: usize, seed: u64) -> std::path::PathBuf {
    let out = home.join(name);
    let (n, seed) = (n.to_string(), seed.to_string());
    let args = [
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--n",
        &n,
        "--seed",
        &seed,
    ];
    let made = radiochat(
        &[&args[..], &["--kind", kind, "--size", "64"]].concat(),
        home,
    );
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    out.join("dataset.json")
}
