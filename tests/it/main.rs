//! The integration tests, in one binary: one link of the library instead of one per file
//! (measured in docs/testing.md). Each module is what was a file of `tests/`; `common` holds
//! their shared helpers.

mod common;

mod architecture;
mod bench_peer;
mod bench_prompt;
mod bench_run;
mod bench_score;
mod bench_shard;
mod cli;
mod cli_image;
mod engine_archs;
mod engine_failures;
mod finetune_archs;
mod finetune_data;
mod finetune_merge;
mod finetune_run;
mod finetune_slurm;
mod fits;
mod fits_hostile;
mod full_disk;
mod fuzz_readers;
mod llava_onevision_anyres;
mod llava_onevision_batch;
mod llava_onevision_files;
mod llava_onevision_isq;
mod llava_onevision_parity;
mod metrics_sklearn;
mod prefix_cache;
mod readme;
mod remote;
mod serve;
mod serve_load;
mod sessions;
mod sigpipe;
mod synth;
mod tui_bench;
mod tui_jobs;
mod tui_snapshots;
mod tui_tmux;
