//! The command vocabulary shared by the CLI (and, later, the TUI's slash commands): each
//! command takes typed arguments, does its work through the core modules, and reports
//! either a result or a [`CommandError`] whose kind decides the exit code.

pub mod ask;
pub mod bench;
pub mod bench_array;
pub mod bench_merge;
pub mod bench_prompt;
pub mod bench_run;
pub mod chat;
pub mod demo;
pub mod finetune;
pub mod finetune_eval;
mod finetune_flags;
pub mod finetune_generate;
pub mod flags;
pub mod image;
pub mod model;
pub mod model_choice;
pub mod serve;
pub mod sessions;
pub mod slash;
pub mod synth;

use std::fmt;

/// A failure, classified the way the CLI's exit code reports it.
#[derive(Debug)]
pub enum CommandError {
    /// The user's input is wrong (exit 2): bad path, bad value, empty question.
    BadInput(anyhow::Error),
    /// The engine or the system failed (exit 1).
    Failed(anyhow::Error),
}

impl CommandError {
    pub fn bad(message: impl fmt::Display) -> Self {
        CommandError::BadInput(anyhow::anyhow!("{message}"))
    }
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::BadInput(_) => 2,
            CommandError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: the outermost context first, then its causes.
        let error = match self {
            CommandError::BadInput(e) | CommandError::Failed(e) => e,
        };
        let parts: Vec<String> = error.chain().map(|c| c.to_string()).collect();
        write!(f, "{}", parts.join(": ").replace('\n', " "))
    }
}

impl From<crate::engine::ModelDirError> for CommandError {
    fn from(e: crate::engine::ModelDirError) -> Self {
        CommandError::BadInput(e.into())
    }
}

impl From<crate::engine::LoadError> for CommandError {
    fn from(e: crate::engine::LoadError) -> Self {
        match e {
            crate::engine::LoadError::BadModel(e) => CommandError::BadInput(e.into()),
            crate::engine::LoadError::Engine(e) => CommandError::Failed(e),
        }
    }
}

impl From<crate::util::error::FileError> for CommandError {
    fn from(e: crate::util::error::FileError) -> Self {
        if e.is_users() {
            CommandError::BadInput(e.into())
        } else {
            CommandError::Failed(e.into())
        }
    }
}

impl From<crate::imaging::ImageError> for CommandError {
    fn from(e: crate::imaging::ImageError) -> Self {
        CommandError::BadInput(e.into())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
