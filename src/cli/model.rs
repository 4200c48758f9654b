//! `radiochat model …`: model directories.

use super::print_lines;
use clap::Subcommand;
use radiochat::commands::{self, CommandResult};
use radiochat::testkit::tiny::Scale;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Write a random-weight model directory in the exact Hugging Face layout.
    Tiny {
        /// The architecture (`radiochat model archs` lists them).
        #[arg(long, default_value = "idefics3")]
        arch: String,
        /// tiny (seconds to load), real (the family's smallest real checkpoint's dimensions),
        /// 7b (llava_onevision at llava-onevision-qwen2-7b-ov's, bf16 in 5 GB shards) or nano
        /// (llava_onevision: radio-llava-nano, the demo model's base).
        #[arg(long, value_enum, default_value = "tiny")]
        dims: Scale,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Learn the tokenizer's BPE merges from this LLaVA conversation JSON (`finetune
        /// data`'s train.json) instead of the byte vocabulary alone (--dims nano only).
        #[arg(long, value_name = "FILE")]
        vocab_from: Option<PathBuf>,
        /// How many merges --vocab-from learns at most (pairs seen once are never merged).
        #[arg(long, default_value_t = 1024, requires = "vocab_from")]
        merges: usize,
        /// Replace OUT_DIR if it exists.
        #[arg(long)]
        force: bool,
        out_dir: PathBuf,
    },
    /// Check a model directory the way the engine will need it.
    Check { dir: PathBuf },
    /// List the architectures the embedded engine serves, and those it refuses.
    Archs,
}

pub fn run(command: ModelCommand) -> CommandResult<i32> {
    match command {
        ModelCommand::Tiny {
            arch,
            dims,
            seed,
            vocab_from,
            merges,
            force,
            out_dir,
        } => {
            let vocabulary = vocab_from
                .as_deref()
                .map(|from| commands::model::LearntVocabulary { from, merges });
            let written = commands::model::tiny(&arch, dims, seed, &out_dir, force, vocabulary)?;
            println!(
                "wrote {} ({}, {} parameters, {:.1} MB)",
                written.dir.display(),
                written.architecture,
                written.parameters,
                written.bytes as f64 / 1e6
            );
        }
        ModelCommand::Check { dir } => {
            let model = commands::model::check(&dir)?;
            let class = model.architecture.hf_class;
            println!("{}: ok ({class})", model.dir.display());
        }
        ModelCommand::Archs => print_lines(&commands::model::architecture_lines()),
    }
    Ok(0)
}
