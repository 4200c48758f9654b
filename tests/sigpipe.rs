//! SIGPIPE: a one-shot command piped into `head` ends quietly when the reader goes; a server
//! (and the chat, and anything talking to a remote engine) keeps SIGPIPE ignored, so a peer
//! that goes away is an error it reports, never a silent death.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// Whether `pid` ignores SIGPIPE, from the SigIgn mask in /proc/PID/status.
fn ignores_sigpipe(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .expect("SigIgn line");
    let mask = u64::from_str_radix(mask.trim(), 16).unwrap();
    mask & (1 << (libc::SIGPIPE - 1)) != 0
}

#[test]
fn a_one_shot_command_piped_into_a_closed_reader_ends_quietly() {
    // `finetune status --json` piped into `grep -q` (a script waiting for a run) panicked.
    for args in [&["model", "archs"][..], &["finetune", "status", "--json"]] {
        piped_into_a_closed_reader_ends_by_sigpipe(args);
    }
}

fn piped_into_a_closed_reader_ends_by_sigpipe(args: &[&str]) {
    let home = tempfile::tempdir().unwrap();
    // The reader is gone before the command starts: closed after spawn, a short answer
    // (`[]` from an empty run list) could land in the pipe's buffer first and exit 0.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_radiochat"))
        .args(args)
        .env("RADIOCHAT_CONFIG", home.path().join("config.toml"))
        .env("RADIOCHAT_DATA", home.path().join("data"))
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{args:?}: {err}");
}

#[test]
fn serve_with_stdout_on_a_pipe_keeps_sigpipe_ignored() {
    let home = tempfile::tempdir().unwrap();
    let served = common::serve::Served::start(home.path(), &["--demo"], &[]);
    assert!(
        ignores_sigpipe(served.pid()),
        "serve must not die of a broken pipe"
    );
}
