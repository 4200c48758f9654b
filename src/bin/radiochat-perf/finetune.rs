//! `radiochat-perf finetune`: the tiny fine-tune of the tests, timed: how long `finetune run`
//! takes to its first metrics line, and training throughput (a benchmark, not a test).

use radiochat::commands::finetune::{self, FinetuneRunArgs};
use radiochat::commands::{CommandError, CommandResult};
use radiochat::finetune::spec::{Launcher, SlurmOptions, TrainOptions};
use radiochat::finetune::status::{self, JobState};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, serde::Serialize)]
pub struct FinetuneTiming {
    pub images: usize,
    pub steps: usize,
    /// From `finetune run` to the first line of metrics.jsonl.
    pub first_metrics_s: f64,
    /// Training only, as the trainer measures it.
    pub samples_per_s: f64,
    pub train_s: f64,
    /// From `finetune run` to the job's end (start-up, encoding, training, saving).
    pub wall_s: f64,
    pub loss_first: f64,
    pub loss_last: f64,
}

pub fn run(images: usize, steps: usize, python: Option<PathBuf>) -> CommandResult<FinetuneTiming> {
    let failed = |e: String| CommandError::Failed(anyhow::anyhow!(e));
    // A private, unpredictable directory: the trainer script written here is then run.
    let scratch = radiochat::util::private_file::scratch_dir("radiochat-perf-finetune-")
        .map_err(|e| failed(e.to_string()))?;
    let home = scratch.path().to_path_buf();
    let base = home.join("base");
    radiochat::testkit::tiny::write("idefics3", Default::default(), 0, &base, true)
        .map_err(|e| failed(e.to_string()))?;
    let sky = home.join("sky");
    radiochat::commands::synth::run(&radiochat::commands::synth::SynthArgs {
        out: sky.clone(),
        n: images,
        seed: 21,
        size: 64,
        kind: radiochat::commands::synth::SynthKind::Radio(
            radiochat::imaging::synth::SkyKind::RadioImg,
        ),
        balance: Default::default(),
        option_order: Default::default(),
    })?;
    let data = home.join("data");
    radiochat::finetune::data::build(
        &radiochat::finetune::data::DataSpec {
            sources: vec![sky.join("dataset.json")],
            out: data.clone(),
            tasks: vec!["B3".into()],
            describe: false,
            order: Default::default(),
            single_turn: false,
            val: 0.1,
            seed: 0,
            exclude: Vec::new(),
            captions: Vec::new(),
            caption_ratio: None,
            box_ratio: None,
            transform: Default::default(),
        },
        None,
    )?;
    let started = Instant::now();
    let launched = finetune::run(FinetuneRunArgs {
        base,
        data,
        out: Some(home.join("run")),
        train: TrainOptions {
            max_steps: Some(steps),
            lr: Some(3e-3),
            lora_rank: Some(16),
            lora_alpha: Some(32.0),
            modules_to_save: vec!["lm_head".into()],
            log_every: Some(1),
            ..TrainOptions::default()
        },
        launcher: Launcher::Local,
        slurm: SlurmOptions::default(),
        python,
    })?;
    let mut first_metrics_s = None;
    let end = loop {
        let s = status::status(&launched.run, 20)?;
        if first_metrics_s.is_none() && s.step > 0 {
            first_metrics_s = Some(started.elapsed().as_secs_f64());
        }
        if s.state.finished() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let wall_s = started.elapsed().as_secs_f64();
    if end.state != JobState::Completed {
        return Err(failed(format!(
            "the training job ended {}: {}",
            end.state,
            end.log_tail.join(" | ")
        )));
    }
    let metrics = status::metrics(&launched.run);
    let losses: Vec<f64> = metrics.iter().filter_map(|m| m.loss).collect();
    let timing = FinetuneTiming {
        images,
        steps,
        first_metrics_s: first_metrics_s.unwrap_or(wall_s),
        samples_per_s: end.samples_per_s.unwrap_or(0.0),
        train_s: end.elapsed_s.unwrap_or(0.0),
        wall_s,
        loss_first: losses.first().copied().unwrap_or(f64::NAN),
        loss_last: losses.last().copied().unwrap_or(f64::NAN),
    };
    Ok(timing)
}

pub fn lines(t: &FinetuneTiming) -> Vec<String> {
    vec![
        "| images | steps | to first metrics line (s) | training (s) | samples/s | whole job (s) | loss first → last |".into(),
        "|---|---|---|---|---|---|---|".into(),
        format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.3} → {:.4} |",
            t.images, t.steps, t.first_metrics_s, t.train_s, t.samples_per_s, t.wall_s, t.loss_first, t.loss_last
        ),
    ]
}
