//! LLaVA-OneVision (radio-llava's architecture) on radiochat's own candle code: mistral.rs
//! 0.8.1 has no loader for it. `anyres` says how an image is tiled and how many tokens it
//! becomes; `preprocess` (with `resize`) makes the pixels transformers' image processor makes;
//! `config`, `weights` and `prompt` read the model directory; `siglip`, `qwen2` and `model`
//! (with `attention`) are the network; `generate` makes the pieces of an answer, `batch` runs every request in flight together
//! and `engine` serves them.

pub mod anyres;
mod attention;
mod batch;
pub mod config;
mod cpu_kernels;
mod engine;
mod generate;
mod layers;
pub mod model;
pub mod preprocess;
pub mod prompt;
pub mod qwen2;
pub mod resize;
mod siglip;
#[cfg(test)]
mod test_tensors;
mod vector_math;
pub mod weights;

pub use engine::{CandleEngine, check_dir};
pub use generate::{Loaded, Prompt};
