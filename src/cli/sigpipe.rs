//! SIGPIPE, per command. Output piped into `head` or `grep -q` ends quietly when the reader
//! goes, as with any Unix tool — but only for one-shot commands that print and touch no
//! network. Everywhere else SIGPIPE stays ignored (Rust's default), so a peer that resets a
//! socket (serve, a remote engine, the chat) is an error to report, never a silent death
//! with the terminal left raw.

use super::Command;
use super::bench::BenchCommand;
use super::finetune::FinetuneCommand;

/// Call first thing in `main`, before any thread starts.
pub fn set_for(command: &Option<Command>) {
    if prints_locally(command) && stdout_is_pipe() {
        // SAFETY: restoring a default signal disposition before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}

/// One-shot commands that print and touch no network: no chat, no serve, no engine that
/// could be remote.
fn prints_locally(command: &Option<Command>) -> bool {
    matches!(
        command,
        Some(
            Command::Sessions(_)
                | Command::Model(_)
                | Command::Config(_)
                | Command::Info(_)
                | Command::View(_)
                | Command::Synth(_)
                | Command::Finetune(FinetuneCommand::Status { .. } | FinetuneCommand::Logs { .. })
                | Command::Bench(
                    BenchCommand::Tasks { .. }
                        | BenchCommand::Prompt { .. }
                        | BenchCommand::Score { .. }
                        | BenchCommand::Compare { .. }
                        | BenchCommand::Merge { .. }
                )
        )
    )
}

fn stdout_is_pipe() -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata("/dev/stdout").is_ok_and(|m| m.file_type().is_fifo())
}
