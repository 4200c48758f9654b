//! `radiochat bench merge RUNDIR`: the shards of a sharded run (`bench run --shard i/K --out
//! RUNDIR`, each in `RUNDIR/shard-i-of-K/`) combined into RUNDIR as one run: run.json,
//! predictions.jsonl in dataset order, metrics.json, report.md, confusion.png — the same files
//! and numbers an unsharded run writes. Runs by itself when the last shard finishes.

use super::{CommandError, CommandResult};
use crate::bench::run_dir::{self, PREDICTIONS_FILE, RunInfo};
use crate::bench::shard::{Shard, shard_dirs};
use crate::bench::{self, Score, dataset, predictions::Prediction};
use crate::util::error::FileError;
use crate::util::private_file::write_atomically;
use std::path::{Path, PathBuf};

pub struct Merged {
    pub dir: PathBuf,
    pub shards: usize,
    pub score: Score,
}

/// Whether every shard has finished; `Err` names the first that has not.
fn all_finished(parent: &Path) -> Result<Vec<(Shard, PathBuf, RunInfo)>, FileError> {
    let shards = shard_dirs(parent)?;
    let Some((first, _)) = shards.first() else {
        return Err(FileError::invalid(format!(
            "{}: no shard directories (shard-I-of-K) to merge",
            parent.display()
        )));
    };
    let count = first.count;
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let Some((shard, dir)) = shards.iter().find(|(s, _)| s.index == index) else {
            return Err(FileError::invalid(format!(
                "{}: shard {index}/{count} has not started",
                parent.display()
            )));
        };
        let info = run_dir::read_info(dir)?;
        if !dir.join("metrics.json").exists() {
            let done = bench::predictions::read(&dir.join(PREDICTIONS_FILE))
                .map(|(records, _)| records.len())
                .unwrap_or(0);
            return Err(FileError::invalid(format!(
                "{}: shard {shard} has not finished ({done}/{} items)",
                dir.display(),
                info.items
            )));
        }
        out.push((*shard, dir.clone(), info));
    }
    Ok(out)
}

/// What a shard's run.json must share with the others: all but its slice and start time.
fn common_part(info: &RunInfo) -> RunInfo {
    RunInfo {
        shard: None,
        items: 0,
        started: String::new(),
        concurrency: 0,
        ..info.clone()
    }
}

pub fn merge(parent: &Path) -> CommandResult<Merged> {
    let shards = all_finished(parent)?;
    let (_, first_dir, first) = &shards[0];
    for (shard, dir, info) in &shards[1..] {
        if common_part(info) != common_part(first) {
            return Err(CommandError::bad(format!(
                "{}: shard {shard} was run differently from {} (task, dataset, model or \
                 settings differ)",
                dir.display(),
                first_dir.display()
            )));
        }
    }
    let tasks = bench::load_tasks(first.tasks_dir.as_deref())?;
    let task = bench::find_task(&tasks, &first.task)?;
    let mut data = dataset::load(&first.dataset, &task, first.strict)?;
    if data.sha256 != first.dataset_sha256 {
        return Err(CommandError::bad(format!(
            "{}: the dataset changed since the shards ran (sha256 differs)",
            first.dataset.display()
        )));
    }
    if let Some(limit) = first.limit {
        data.items.truncate(limit);
    }
    let mut by_name: std::collections::HashMap<String, Prediction> = Default::default();
    for (_, dir, _) in &shards {
        let (records, _) = bench::predictions::read(&dir.join(PREDICTIONS_FILE))?;
        by_name.extend(records.into_iter().map(|r| (r.sname.clone(), r)));
    }
    let mut records = Vec::with_capacity(data.items.len());
    for item in &data.items {
        let record = by_name.remove(&item.sname).ok_or_else(|| {
            CommandError::bad(format!(
                "{}: no shard holds item {} of the dataset",
                parent.display(),
                item.sname
            ))
        })?;
        records.push(record);
    }
    let mut lines = String::new();
    for record in &records {
        let line = serde_json::to_string(record).map_err(|e| CommandError::Failed(e.into()))?;
        lines.push_str(&line);
        lines.push('\n');
    }
    let io = |e: std::io::Error| CommandError::bad(format!("{}: {e}", parent.display()));
    write_atomically(&parent.join(PREDICTIONS_FILE), lines.as_bytes()).map_err(io)?;
    let info = RunInfo {
        shard: None,
        items: records.len(),
        started: shards
            .iter()
            .map(|(_, _, i)| i.started.clone())
            .min()
            .unwrap_or_default(),
        concurrency: shards.iter().map(|(_, _, i)| i.concurrency).sum(),
        ..first.clone()
    };
    run_dir::write_info(parent, &info)?;
    let score = bench::score(&task, &records, info.parse);
    run_dir::write_results(parent, &info, &score)?;
    Ok(Merged {
        dir: parent.to_path_buf(),
        shards: shards.len(),
        score,
    })
}

/// After a shard finishes: merge if it was the last one; otherwise nothing.
pub fn merge_if_complete(parent: &Path) -> CommandResult<Option<Merged>> {
    if all_finished(parent).is_err() {
        return Ok(None);
    }
    merge(parent).map(Some)
}
