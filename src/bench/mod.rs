//! The radio VLM benchmarks (B1–B7 and users' own tasks): task files, gold labels, answer
//! parsing, predictions files, and scikit-learn-exact metrics.

pub mod box_task;
pub mod choice;
pub mod dataset;
pub mod import;
pub mod labels;
pub mod localisation;
pub mod metrics;
pub mod metrics_class_id;
pub mod objects;
pub mod parse;
pub mod parse_boxes;
pub mod predictions;
pub mod prompt;
pub mod run_dir;
pub mod runner;
pub mod score;
pub mod shard;
pub mod task;

pub use parse::ParseMode;
pub use score::{Score, score};
pub use task::{TaskSpec, find_task, load_tasks};
