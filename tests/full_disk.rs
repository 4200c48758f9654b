//! Output directories on a full disk (a 64 KiB tmpfs, filled): `finetune data`, `finetune run`
//! and `bench run` stop with exit code 1 (the machine failed, not the input) and one line naming the
//! file and "No space left on device", and
//! leave no half-written JSON behind. Mounting needs root, as the SLURM tests do.

mod common;

use common::cli::{assert_machine_failure, radiochat};
use std::path::{Path, PathBuf};

/// A filled 64 KiB tmpfs, unmounted when dropped.
struct FullDisk(PathBuf);

impl FullDisk {
    fn new(home: &Path) -> FullDisk {
        let dir = home.join("full");
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(
            mounted.success(),
            "mounting a tmpfs needs root (CI and scripts/test run as root)"
        );
        let disk = FullDisk(dir);
        // Fill it; the last write fails when the disk is full.
        let _ = std::fs::write(disk.0.join("filler"), vec![0u8; 128 * 1024]);
        disk
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_gets_a_clear_error_and_no_half_written_files() {
    let home = tempfile::tempdir().unwrap();
    let (base, data) = common::cli::tiny_base_and_data(home.path(), 4, &[]);
    let disk = FullDisk::new(home.path());

    let out = disk.0.join("data");
    let sky = home.path().join("train-sky/dataset.json");
    let made = radiochat(
        &[
            "finetune",
            "data",
            "--from",
            sky.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_machine_failure(&made, &["No space left on device"]);
    assert!(!out.join("train.json").exists());

    let run = disk.0.join("run");
    let (b, d, r) = (
        base.to_str().unwrap(),
        data.to_str().unwrap(),
        run.to_str().unwrap(),
    );
    let launched = radiochat(
        &["finetune", "run", "--base", b, "--data", d, "--out", r],
        home.path(),
    );
    assert_machine_failure(&launched, &["No space left on device"]);
    assert!(!run.join("job.json").exists(), "nothing was launched");

    let bench_out = disk.0.join("bench");
    let sky = sky.to_str().unwrap();
    let args = [
        "bench",
        "run",
        "B3",
        "--demo",
        "--data",
        sky,
        "--out",
        bench_out.to_str().unwrap(),
    ];
    let benched = radiochat(&args, home.path());
    assert_machine_failure(&benched, &["No space left on device"]);
}
