//! What tests, `radiochat model tiny` and the perf harness share to exercise radiochat without
//! real weights or a person at the keyboard: random-weight model writers in each family's exact
//! Hugging Face layout, and a tmux driver for the TUI. No production path depends on it.

pub mod long_session;
pub mod tiny;
pub mod tmux;
