//! Benchmark shards: `bench run --shard i/K` asks every K-th item of the dataset (positions
//! i, i+K, …) into `RUNDIR/shard-i-of-K/`, a run directory of its own (resumable the same way);
//! when all K have finished, their predictions are merged into RUNDIR as one run.

use crate::util::error::BadValue;
use crate::util::error::FileError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Slice `index` of `count` (0-based, as SLURM array task ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        let bad = || {
            BadValue::Malformed(format!(
                "--shard '{s}': expected I/K with 0 ≤ I < K, e.g. 0/4"
            ))
        };
        let (index, count) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = index.trim().parse().map_err(|_| bad())?;
        let count: usize = count.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Round-robin over dataset positions, so every shard gets the same mix of classes.
    pub fn keeps(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    pub fn dir_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }

    /// `shard-I-of-K` → the shard; anything else → `None`.
    pub fn from_dir_name(name: &str) -> Option<Shard> {
        let rest = name.strip_prefix("shard-")?;
        let (index, count) = rest.split_once("-of-")?;
        let shard = Shard {
            index: index.parse().ok()?,
            count: count.parse().ok()?,
        };
        (shard.count > 0 && shard.index < shard.count).then_some(shard)
    }
}

/// The shard directories under `parent`, by index. Error when they disagree on K.
pub fn shard_dirs(parent: &Path) -> Result<Vec<(Shard, PathBuf)>, FileError> {
    let entries = std::fs::read_dir(parent).map_err(FileError::io(parent))?;
    let mut shards: Vec<(Shard, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name();
            Shard::from_dir_name(name.to_str()?).map(|s| (s, e.path()))
        })
        .collect();
    shards.sort_by_key(|(s, _)| s.index);
    let first = shards.first().map(|(s, _)| *s);
    if let Some(first) = first
        && let Some((other, _)) = shards.iter().find(|(s, _)| s.count != first.count)
    {
        return Err(FileError::invalid(format!(
            "{}: shards of different splits ({} and {})",
            parent.display(),
            first,
            other
        )));
    }
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition_the_positions() {
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        for position in 0..10 {
            let owners = shards.iter().filter(|s| s.keeps(position)).count();
            assert_eq!(owners, 1, "position {position}");
        }
        assert_eq!(shards[1].dir_name(), "shard-1-of-3");
        assert_eq!(Shard::from_dir_name("shard-1-of-3"), Some(shards[1]));
        for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(Shard::from_dir_name("shard-3-of-3"), None);
        assert_eq!(Shard::from_dir_name("runs"), None);
    }
}
