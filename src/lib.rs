//! radiochat: talk to a vision-language model about radio astronomy images.
//!
//! Core modules (`engine`, `imaging`, `config`) know nothing about terminals; `commands`
//! is the shared vocabulary the CLI (and the TUI) drive.

pub mod bench;
pub mod chat;
pub mod commands;
pub mod config;
pub mod engine;
pub mod finetune;
pub mod imaging;
pub mod openai;
pub mod preview;
pub mod serve;
pub mod slurm;
pub mod testkit;
pub mod tui;
pub mod util;

pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
