//! `radiochat finetune …`: the training set, launching and watching jobs, merging adapters.

use super::{CommandError, CommandResult};
use crate::finetune::data::{self, DataSpec, DataSummary};
use crate::finetune::job::{self, JobRecord};
use crate::finetune::merge::{self, Merged};
use crate::finetune::spec::{Launcher, RunSpec, Stage};
use crate::finetune::status::{self, JobState, Status};
use std::path::{Path, PathBuf};

/// `finetune data`: build the LLaVA conversation set.
pub fn data(spec: &DataSpec) -> CommandResult<DataSummary> {
    data::build(spec, None).map_err(CommandError::from)
}

/// What `finetune data` prints.
pub fn data_lines(spec: &DataSpec, summary: &DataSummary) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: {} training and {} validation conversations ({} images)",
        spec.out.display(),
        summary.train,
        summary.val,
        summary.train + summary.val
    )];
    let turns: Vec<String> = summary
        .turns
        .iter()
        .map(|(q, n)| format!("{q} {n}"))
        .collect();
    lines.push(format!("turns per question: {}", turns.join(", ")));
    if summary.excluded > 0 {
        lines.push(format!(
            "left out {} image(s) found in --exclude datasets",
            summary.excluded
        ));
    }
    if summary.skipped > 0 {
        lines.push(format!(
            "skipped {} item(s), e.g. {}",
            summary.skipped,
            summary.skipped_examples.join("; ")
        ));
    }
    if summary.annotated > 0 {
        lines.push(format!("source boxes for {} image(s)", summary.annotated));
    }
    if summary.skipped_boxes > 0 {
        lines.push(format!(
            "skipped {} box annotation(s), e.g. {}",
            summary.skipped_boxes,
            summary.skipped_box_examples.join("; ")
        ));
    }
    if let Some(g) = &summary.generated {
        lines.push(format!(
            "model-written Q&A: {} pairs kept for {} images ({} answers cached, {} asked, {} failed); dropped: {} answers not JSON, {} malformed pairs, {} pairs contradicting the labels",
            g.pairs, g.images, g.cached, g.asked, g.failed, g.invalid_json, g.malformed_pairs, g.contradictions
        ));
        if let Some(example) = g.dropped_examples.first() {
            lines.push(format!("  e.g. {example}"));
        }
    }
    lines
}

/// `finetune merge`: RUN is a run directory (with adapter/) or an adapter directory itself.
pub fn merge(run: &Path, base: Option<&Path>, out: Option<&Path>) -> CommandResult<Merged> {
    let (adapter, default_out) = if run.join("adapter/adapter_config.json").is_file() {
        (run.join("adapter"), run.join("merged"))
    } else if run.join("adapter_config.json").is_file() {
        let mut name = run.file_name().unwrap_or_default().to_os_string();
        name.push("-merged");
        (run.to_path_buf(), run.with_file_name(name))
    } else {
        return Err(CommandError::bad(format!(
            "{}: no LoRA adapter here (neither adapter/adapter_config.json nor adapter_config.json)",
            run.display()
        )));
    };
    let base: PathBuf = match base {
        Some(base) => base.to_path_buf(),
        None => merge::adapter_base(&adapter).ok_or_else(|| {
            CommandError::bad(format!(
                "{}: the adapter names no local base model; pass --base DIR",
                adapter.display()
            ))
        })?,
    };
    let out = out.map(Path::to_path_buf).unwrap_or(default_out);
    merge::merge(&base, &adapter, &out).map_err(CommandError::from)
}

/// The trainer, built into the binary and written into each run (the run keeps the exact
/// code it trained with).
const TRAINER: &str = include_str!("../../trainer/train_lora.py");
const TOWER_TRAINER: &str = include_str!("../../trainer/pretrain_tower.py");
const MINICPMO: &str = include_str!("../../trainer/minicpmo.py");
const PHI3V: &str = include_str!("../../trainer/phi3v.py");
const PHI4MM: &str = include_str!("../../trainer/phi4mm.py");
const CHECKPOINT: &str = include_str!("../../trainer/checkpoint.py");
const BATCHING: &str = include_str!("../../trainer/batching.py");
const PRESETS: &str = include_str!("../../trainer/presets.toml");
const REQUIREMENTS: &str = include_str!("../../trainer/requirements.txt");

pub use super::finetune_flags::{FinetuneRunArgs, LaunchFlags};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Launched {
    pub run: PathBuf,
    pub job: JobRecord,
}

/// `finetune run`: check the base, the data and the Python side, write the run directory,
/// launch the job.
pub fn run(args: FinetuneRunArgs) -> CommandResult<Launched> {
    check_base(&args.base, args.train.stage)?;
    check_data(&args.data)?;
    let python = args.python.clone().unwrap_or_else(default_python);
    if args.launcher == Launcher::Local {
        check_python(&python)?;
    }
    let dir = args.out.clone().unwrap_or_else(|| {
        crate::config::data_dir()
            .join("finetune")
            .join(crate::util::clock::id_stem())
    });
    let io = |e: std::io::Error| CommandError::Failed(anyhow::anyhow!("{}: {e}", dir.display()));
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    // Made here, exclusively and private: a directory someone else has (or makes meanwhile)
    // is never written into, nor removed when the launch is refused.
    use std::os::unix::fs::DirBuilderExt;
    let made = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    made.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            CommandError::bad(format!("{}: exists; choose another --out", dir.display()))
        }
        _ => io(e),
    })?;
    let launched = write_and_launch(args, python, &dir);
    if launched.is_err() {
        // A refused launch (no sbatch, sbatch rejecting, a failed write) leaves nothing behind.
        let _ = std::fs::remove_dir_all(&dir);
    }
    launched
}

/// The run directory's trainer, spec.toml and job script, then the launch.
fn write_and_launch(args: FinetuneRunArgs, python: PathBuf, dir: &Path) -> CommandResult<Launched> {
    let io = |e: std::io::Error| CommandError::Failed(anyhow::anyhow!("{}: {e}", dir.display()));
    std::fs::create_dir(dir.join("trainer")).map_err(io)?;
    let dir = std::path::absolute(dir).map_err(io)?;
    for (name, text) in [
        ("train_lora.py", TRAINER),
        ("pretrain_tower.py", TOWER_TRAINER),
        ("minicpmo.py", MINICPMO),
        ("phi3v.py", PHI3V),
        ("phi4mm.py", PHI4MM),
        ("checkpoint.py", CHECKPOINT),
        ("batching.py", BATCHING),
        ("presets.toml", PRESETS),
        ("requirements.txt", REQUIREMENTS),
    ] {
        std::fs::write(dir.join("trainer").join(name), text).map_err(io)?;
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or(p.to_path_buf());
    let spec = RunSpec {
        base: absolute(&args.base),
        base_sha256: merge::base_fingerprint(&args.base)?,
        data: absolute(&args.data),
        launcher: args.launcher,
        python,
        trainer: dir.join("trainer").join(args.train.stage.trainer_file()),
        train: args.train,
        slurm: args.slurm,
        created: crate::util::clock::now(),
        radiochat_version: crate::version().to_string(),
    };
    spec.write(&dir)?;
    let job = job::launch(&spec, &dir)?;
    Ok(Launched { run: dir, job })
}

fn check_base(base: &Path, stage: Stage) -> CommandResult<()> {
    let config = base.join("config.json");
    let text = std::fs::read_to_string(&config).map_err(|e| {
        CommandError::bad(format!(
            "{}: {e} (the base must be a Hugging Face model directory)",
            config.display()
        ))
    })?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CommandError::bad(format!("{}: {e}", config.display())))?;
    let class = value["architectures"][0].as_str().unwrap_or_default();
    // radio-llava's own base trains here though the embedded engine cannot run it.
    if class == "LlavaOnevisionForConditionalGeneration" {
        return Ok(());
    }
    if stage == Stage::Tower {
        return Err(CommandError::bad(format!(
            "{}: --stage tower pretrains a LLaVA-OneVision (SigLIP) tower; this base is {}",
            config.display(),
            if class.is_empty() {
                "of no named architecture"
            } else {
                class
            }
        )));
    }
    // Every family the engine serves trains (the remote-code ones through the trainer's own
    // readers, trainer/minicpmo.py, phi3v.py, phi4mm.py).
    super::model::check(base).map_err(|e| {
        CommandError::bad(format!(
            "{}: cannot fine-tune this base: {e}",
            base.display()
        ))
    })?;
    Ok(())
}

fn check_data(data: &Path) -> CommandResult<()> {
    let train = data.join(data::TRAIN_FILE);
    let text = std::fs::read_to_string(&train).map_err(|e| {
        CommandError::bad(format!(
            "{}: {e} (make it with radiochat finetune data)",
            train.display()
        ))
    })?;
    let records: Vec<data::Record> = serde_json::from_str(&text).map_err(|e| {
        CommandError::bad(format!(
            "{}: not LLaVA conversation JSON: {e}",
            train.display()
        ))
    })?;
    if records.is_empty() {
        return Err(CommandError::bad(format!(
            "{}: no training examples",
            train.display()
        )));
    }
    if let Some(missing) = records.iter().find(|r| !data.join(&r.image).is_file()) {
        return Err(CommandError::bad(format!(
            "{}: image {} of {} is missing",
            train.display(),
            missing.image,
            missing.id
        )));
    }
    Ok(())
}

/// `$RADIOCHAT_PY_VENV/bin/python` (scripts/setup.sh's), else `python3`.
pub fn default_python() -> PathBuf {
    let venv = std::env::var_os("RADIOCHAT_PY_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/radiochat-py")));
    venv.map(|v| v.join("bin/python"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

fn check_python(python: &Path) -> CommandResult<()> {
    let out = std::process::Command::new(python)
        // Found, not imported: importing torch takes seconds, and the trainer reports a
        // broken install itself.
        .args([
            "-c",
            "import importlib.util, sys\n\
             missing = [m for m in ('torch', 'transformers', 'peft', 'accelerate', 'torchvision')\n\
                        if importlib.util.find_spec(m) is None]\n\
             sys.exit('No module named ' + ', '.join(missing)) if missing else None",
        ])
        .output()
        .map_err(|e| {
            CommandError::bad(format!("{}: {e} (pass --python PATH)", python.display()))
        })?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let last = why.lines().last().unwrap_or("import failed");
        return Err(CommandError::bad(format!(
            "{} lacks the trainer's packages ({last}); install them: {} -m pip install -r trainer/requirements.txt (or scripts/setup.sh)",
            python.display(),
            python.display()
        )));
    }
    Ok(())
}

/// `finetune status` with no run: every run under DATA_DIR/finetune, newest first.
pub fn runs() -> Vec<PathBuf> {
    let root = crate::config::data_dir().join("finetune");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join(job::JOB_FILE).is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.reverse();
    dirs
}

/// The run's status; `loss.png` is redrawn on the way when the metrics moved on (a failure
/// to draw it is not the job's failure, so it is only reported in the log tail's place).
pub fn status(run: &Path, log_lines: usize) -> CommandResult<Status> {
    let mut status = status::status(run, log_lines)?;
    if let Err(e) = crate::finetune::loss_plot::refresh(run) {
        status.log_tail.push(format!("(loss.png not written: {e})"));
    }
    Ok(status)
}

pub fn cancel(run: &Path) -> CommandResult<JobState> {
    status::cancel(run).map_err(CommandError::from)
}

/// What `finetune status` prints for one run.
pub fn status_lines(s: &Status) -> Vec<String> {
    let mut head = format!("{}: {}", s.run.display(), s.state);
    if let Some(code) = s.exit_code {
        head.push_str(&format!(" (exit code {code})"));
    }
    if let Some(id) = &s.slurm_job {
        head.push_str(&format!(" · SLURM job {id}"));
    } else if let Some(pid) = s.pid {
        head.push_str(&format!(" · pid {pid}"));
    }
    let mut lines = vec![head];
    let mut progress = format!(
        "step {}/{}",
        s.step,
        s.total_steps.map_or("?".into(), |t| t.to_string())
    );
    if let Some(loss) = s.loss {
        progress.push_str(&format!(" · loss {loss:.4}"));
    }
    if let Some(v) = s.val_loss {
        progress.push_str(&format!(" · val_loss {v:.4}"));
    }
    if let Some(r) = s.samples_per_s {
        progress.push_str(&format!(" · {r:.1} samples/s"));
    }
    if let Some(e) = s.elapsed_s {
        progress.push_str(&format!(" · {e:.0} s elapsed"));
    }
    if let Some(eta) = s.eta_s {
        progress.push_str(&format!(" · ETA {eta:.0} s"));
    }
    lines.push(progress);
    if s.state == JobState::Failed || s.state == JobState::Timeout {
        lines.push("last log lines:".into());
        lines.extend(s.log_tail.iter().map(|l| format!("  {l}")));
    }
    lines
}
