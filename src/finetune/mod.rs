//! Fine-tuning: the training set built from labelled datasets (`data`), the questions it asks
//! (`questions`), and later the run spec, launchers, job monitor and LoRA merge.

pub mod anomaly_text;
pub mod boxes;
pub mod captions;
pub mod data;
mod data_io;
pub mod generate;
pub mod job;
pub mod loss_plot;
pub mod merge;
mod merge_names;
pub mod questions;
pub mod spec;
pub mod status;
mod turns;
