//! Writes of user data on shared nodes: private (0600 files, 0700 directories) and atomic. A
//! file is written under an exclusive temporary name beside its target (`O_EXCL`, so nobody
//! can plant a link there first), synced, and renamed over the target, so a reader sees the
//! old file or the new one, never half of one, and a crash leaves the old one intact.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Replace `out` with `value` as pretty JSON, mode 0600.
pub fn write_json_atomically<T: serde::Serialize + ?Sized>(
    out: &Path,
    value: &T,
) -> Result<(), super::error::FileError> {
    let io = super::error::FileError::io(out);
    serde_json::to_string_pretty(value)
        .map_err(std::io::Error::from)
        .and_then(|text| write_atomically(out, text.as_bytes()))
        .map_err(io)
}

/// Replace `out` with `bytes`, mode 0600.
pub fn write_atomically(out: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_with_mode(out, bytes, 0o600)
}

/// Replace `out` with `bytes` at `mode` (0700 for a script its owner runs).
pub fn write_atomically_with_mode(out: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(out).map_err(|e| e.error)?;
    // The rename itself reaches the disk with the directory.
    if let Ok(directory) = std::fs::File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// A new private (0700) directory under the system's temporary directory, with an
/// unpredictable name; removed when dropped.
pub fn scratch_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix(prefix).tempdir()
}

/// Create `dir` and any missing parents, each new one 0700. Existing directories are left as
/// they are (they may be shared on purpose).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn files_are_private_replaced_whole_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("transcript.md");
        std::fs::write(&out, "old").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomically(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(mode(&out), 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary left behind");
        let script = dir.path().join("job.sh");
        write_atomically_with_mode(&script, b"#!/bin/sh\n", 0o700).unwrap();
        assert_eq!(mode(&script), 0o700);
    }

    #[test]
    fn a_planted_link_at_a_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // The old scheme's predictable name (.NAME.partial-PID), pointing elsewhere.
        let planted = dir
            .path()
            .join(format!(".out.partial-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        write_atomically(&dir.path().join("out"), b"data").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn new_directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("runs/B3-1");
        create_private_dir(&nested).unwrap();
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&dir.path().join("runs")), 0o700);
    }
}
