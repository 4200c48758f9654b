//! Advisory locks for files several processes, users or nodes may write: `flock` through
//! std's `File::try_lock` (NFSv4 and Lustre turn it into a byte-range lock every client
//! honours), so a lock dies with its holder — no pid check that means nothing on another
//! node, no stale file to judge. The lock file records who holds it (host, pid, start time)
//! only so that a refusal can name the holder.

use crate::util::clock;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Who holds a lock, as the holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    /// RFC 3339, when the lock was taken.
    pub since: String,
}

impl Holder {
    fn me() -> Holder {
        Holder {
            host: hostname(),
            pid: std::process::id(),
            since: clock::now(),
        }
    }

    /// A holder that has not written its record yet (it is between open and write).
    fn unrecorded() -> Holder {
        Holder {
            host: String::new(),
            pid: 0,
            since: String::new(),
        }
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut fields = text.trim().splitn(3, ' ');
        let host = fields.next()?.to_string();
        let pid = fields.next()?.parse().ok()?;
        let since = fields.next()?.to_string();
        Some(Holder { host, pid, since })
    }

    /// Whether the holder runs on this machine.
    pub fn is_local(&self) -> bool {
        self.host == hostname()
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pid == 0 {
            return write!(f, "another radiochat process (starting up)");
        }
        write!(
            f,
            "radiochat process {} on {} since {}",
            self.pid, self.host, self.since
        )
    }
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{0}: in use by {1}")]
    Held(PathBuf, Holder),
    #[error("{0}: cannot lock ({1})")]
    Io(PathBuf, std::io::Error),
}

/// A held lock. Dropping it removes the lock file and releases the lock, in that order, so
/// no one can take a lock on a file that is about to vanish unseen.
#[derive(Debug)]
pub struct HeldLock {
    file: File,
    path: PathBuf,
}

impl HeldLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Take the lock at `path` (created 0600) without waiting, or say who holds it.
pub fn try_acquire(path: &Path) -> Result<HeldLock, LockError> {
    let io = |e| LockError::Io(path.to_path_buf(), e);
    // A holder's Drop unlinks the file between our open and our lock at most once per
    // holder; a few rounds outlast any such race.
    const ROUNDS: usize = 8;
    for round in 1..=ROUNDS {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                // No record: a holder starting up, or someone's brief `holder()` probe.
                if holder.pid != 0 || round == ROUNDS {
                    return Err(LockError::Held(path.to_path_buf(), holder));
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        if !same_file(&file, path) {
            continue;
        }
        let record = Holder::me();
        file.set_len(0).map_err(io)?;
        file.write_all(format!("{} {} {}\n", record.host, record.pid, record.since).as_bytes())
            .map_err(io)?;
        file.sync_data().map_err(io)?;
        return Ok(HeldLock {
            file,
            path: path.to_path_buf(),
        });
    }
    Err(io(std::io::Error::other(
        "the lock file keeps being replaced",
    )))
}

/// `Some` while a process holds the lock at `path`: who.
pub fn holder(path: &Path) -> Option<Holder> {
    let mut file = File::open(path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => Some(read_holder(&mut file)),
        Err(TryLockError::Error(_)) => None,
    }
}

fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    Holder::parse(&text).unwrap_or_else(Holder::unrecorded)
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
        // Closing the file (after this) releases the lock.
    }
}

fn hostname() -> String {
    crate::util::url::this_host().unwrap_or_else(|| "unknown-host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_names_its_holder_and_is_free_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = try_acquire(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        match try_acquire(&path) {
            Err(LockError::Held(_, holder)) => {
                assert_eq!(holder.pid, std::process::id());
                assert!(holder.is_local());
            }
            other => panic!("expected Held, got {other:?}"),
        }
        assert_eq!(holder(&path).unwrap().pid, std::process::id());
        drop(held);
        assert!(!path.exists());
        assert_eq!(holder(&path), None);
        try_acquire(&path).unwrap();
    }

    #[test]
    fn a_lock_file_left_by_a_dead_holder_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        // What kill -9 leaves: the record of a holder on another node, and no lock.
        std::fs::write(&path, "node07 4242 2026-11-30T10:00:00.000Z\n").unwrap();
        assert_eq!(holder(&path), None);
        let held = try_acquire(&path).unwrap();
        let text = std::fs::read_to_string(held.path()).unwrap();
        assert!(text.contains(&std::process::id().to_string()), "{text}");
    }

    #[test]
    fn a_holder_that_has_not_written_its_name_yet_still_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let other = File::create(&path).unwrap();
        other.try_lock().unwrap();
        // Another open file description: flock conflicts as between processes.
        let refused = try_acquire(&path).unwrap_err();
        assert!(refused.to_string().contains("starting up"), "{refused}");
        assert_eq!(holder(&path).unwrap().pid, 0);
    }
}
