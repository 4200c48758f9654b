//! Sharded benchmark runs: `bench run --shard I/K --out RUNDIR` asks a deterministic slice into
//! RUNDIR/shard-I-of-K; the last shard to finish merges them into RUNDIR, with the same
//! predictions and metrics as one unsharded run; `bench merge` refuses an unfinished set.

mod common;

use common::cli::{assert_bad_input, radiochat, random_model_flag, synth_sky};
use serde_json::Value;
use std::path::Path;

fn bench(
    home: &Path,
    model: &str,
    data: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    let out = ["--max-tokens", "8", "--out", out.to_str().unwrap()];
    bench_without_out(home, model, data, &[&out[..], extra].concat())
}

fn bench_without_out(
    home: &Path,
    model: &str,
    data: &Path,
    extra: &[&str],
) -> std::process::Output {
    let args = [
        "bench",
        "run",
        "B1",
        "--model",
        model,
        "--data",
        data.to_str().unwrap(),
    ];
    radiochat(&[&args[..], extra].concat(), home)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn shards_merge_into_the_unsharded_run() {
    let home = tempfile::tempdir().unwrap();
    let data = synth_sky(home.path(), "sky", "radioimg", 11, 4);
    let flag = random_model_flag(home.path());
    let model = flag.trim_start_matches("--model ");
    let whole = home.path().join("whole");
    let out = bench(home.path(), model, &data, &whole, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let sharded = home.path().join("sharded");
    for (i, shard) in ["2/3", "0/3", "1/3"].iter().enumerate() {
        let out = bench(home.path(), model, &data, &sharded, &["--shard", shard]);
        assert_eq!(out.status.code(), Some(0), "{shard}: {out:?}");
        let dir = sharded.join(format!("shard-{}-of-3", &shard[..1]));
        let info = read_json(&dir.join("run.json"));
        assert_eq!(info["shard"]["count"], 3);
        let lines = std::fs::read_to_string(dir.join("predictions.jsonl")).unwrap();
        // 11 items round-robin: shards 0 and 1 get 4, shard 2 gets 3.
        let expected = if shard.starts_with('2') { 3 } else { 4 };
        assert_eq!(lines.lines().count(), expected, "{shard}");
        let merged = String::from_utf8_lossy(&out.stderr).contains("merged into");
        assert_eq!(merged, i == 2, "only the last shard merges: {out:?}");
    }
    assert_eq!(
        read_json(&sharded.join("metrics.json")),
        read_json(&whole.join("metrics.json"))
    );
    let predictions = |dir: &Path| -> Vec<(String, String)> {
        std::fs::read_to_string(dir.join("predictions.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|v| (v["sname"].to_string(), v["raw"].to_string()))
            .collect()
    };
    assert_eq!(
        predictions(&sharded),
        predictions(&whole),
        "dataset order, same answers"
    );
    let info = read_json(&sharded.join("run.json"));
    assert_eq!(info["items"], 11);
    assert!(info.get("shard").is_none());
    assert!(sharded.join("report.md").exists() && sharded.join("confusion.png").exists());

    // `bench merge` by hand gives the same; `bench score` on the merged predictions agrees.
    let again = radiochat(
        &["bench", "merge", sharded.to_str().unwrap(), "--json"],
        home.path(),
    );
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    let score: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(score, read_json(&whole.join("metrics.json")));
}

#[test]
fn bad_shards_and_unfinished_merges_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let data = synth_sky(home.path(), "sky", "radioimg", 4, 4);
    let flag = random_model_flag(home.path());
    let model = flag.trim_start_matches("--model ");
    let out = home.path().join("run");
    for (bad, needle) in [
        ("3/3", "expected I/K"),
        ("x", "expected I/K"),
        ("1/0", "expected I/K"),
    ] {
        assert_bad_input(
            &bench(home.path(), model, &data, &out, &["--shard", bad]),
            &[needle],
        );
    }
    let no_out = bench_without_out(home.path(), model, &data, &["--shard", "0/2"]);
    assert_bad_input(&no_out, &["--shard 0/2 needs --out"]);

    let ran = bench(home.path(), model, &data, &out, &["--shard", "0/2"]);
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    assert!(
        !out.join("metrics.json").exists(),
        "one of two shards: no merge"
    );
    let merge = radiochat(&["bench", "merge", out.to_str().unwrap()], home.path());
    assert_bad_input(&merge, &["shard 1/2 has not started"]);
    let empty = home.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_bad_input(
        &radiochat(&["bench", "merge", empty.to_str().unwrap()], home.path()),
        &["no shard directories"],
    );
}

/// `--slurm-array 3` through the one-node cluster scripts/slurm-local.sh starts: three array
/// tasks, one shard each, merged by the last into the same metrics as the unsharded run.
#[test]
fn a_slurm_array_runs_the_shards_and_merges_them() {
    common::cli::assert_slurm_cluster();
    let home = tempfile::tempdir().unwrap();
    let data = synth_sky(home.path(), "sky", "radioimg", 7, 4);
    let flag = random_model_flag(home.path());
    let model = flag.trim_start_matches("--model ");
    let whole = home.path().join("whole");
    let out = bench(home.path(), model, &data, &whole, &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let array = home.path().join("array run 'x'");
    let submit = [
        "--slurm-array",
        "3",
        "--cpus",
        "1",
        "--time",
        "00:10:00",
        "--json",
    ];
    let out = bench(home.path(), model, &data, &array, &submit);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let submitted: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(submitted["tasks"], 3);
    assert_eq!(submitted["items"], 7);
    let job = submitted["slurm_job"].as_str().unwrap().to_string();
    assert!(!job.is_empty());
    assert_eq!(read_json(&array.join("slurm-array.json")), submitted);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !array.join("metrics.json").exists() {
        let queue = std::process::Command::new("squeue")
            .args(["-h", "-j", &job, "-o", "%i %T"])
            .output()
            .unwrap();
        assert!(
            std::time::Instant::now() < deadline,
            "the array did not finish: {}; logs: {:?}",
            String::from_utf8_lossy(&queue.stdout),
            std::fs::read_to_string(array.join("shard-0-of-3/slurm.log"))
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // The merge is atomic, but the last task may still be writing its own files: wait until
    // SLURM has no task of the array left.
    loop {
        let queue = std::process::Command::new("squeue")
            .args(["-h", "-j", &job, "-o", "%i %T"])
            .output()
            .unwrap();
        let left = String::from_utf8_lossy(&queue.stdout).trim().to_string();
        // Empty once every task ended (an error once SLURM has purged the job).
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "array tasks still queued: {left}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        read_json(&array.join("metrics.json")),
        read_json(&whole.join("metrics.json"))
    );
    for i in 0..3 {
        let shard = array.join(format!("shard-{i}-of-3"));
        let log = std::fs::read_to_string(shard.join("slurm.log")).unwrap();
        assert!(
            log.contains("run directory:"),
            "task {i} ran to the end: {log}"
        );
        assert!(shard.join("metrics.json").exists());
    }
}

#[test]
fn slurm_array_mistakes_are_refused_and_leave_nothing_behind() {
    common::cli::assert_slurm_cluster();
    let home = tempfile::tempdir().unwrap();
    let data = synth_sky(home.path(), "sky", "radioimg", 4, 4);
    let flag = random_model_flag(home.path());
    let model = flag.trim_start_matches("--model ");
    let out = home.path().join("run");
    for (extra, needle) in [
        (&["--slurm-array", "0"][..], "K ≥ 1"),
        (
            &["--slurm-array", "5"],
            "more tasks than items (4 in the dataset)",
        ),
        (
            &["--slurm-array", "2", "--shard", "0/2"],
            "cannot go with --shard",
        ),
        (
            &["--slurm-array", "2", "--partition", "no-such-partition"],
            "sbatch rejected the job",
        ),
    ] {
        assert_bad_input(&bench(home.path(), model, &data, &out, extra), &[needle]);
        let left: Vec<_> = std::fs::read_dir(&out)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty(),
            "{extra:?} left {left:?} in {}",
            out.display()
        );
    }
    let no_out = bench_without_out(home.path(), model, &data, &["--slurm-array", "2"]);
    assert_bad_input(&no_out, &["--slurm-array needs --out"]);
}
