//! Names and hashes for `finetune data`: unique ids, file-name-safe stems, image content
//! hashes (what `--exclude` compares).

use crate::util::error::FileError;
use crate::util::hash::sha256_hex;
use std::collections::HashSet;
use std::path::Path;

pub(super) fn unique_id(seen: &mut HashSet<String>, sname: &str) -> String {
    let mut id = sname.to_string();
    let mut n = 2;
    while !seen.insert(id.clone()) {
        id = format!("{sname}-{n}");
        n += 1;
    }
    id
}

/// A file-name-safe form of an id.
pub(super) fn file_stem(id: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if stem.is_empty() {
        "image".into()
    } else {
        stem
    }
}

pub(super) fn file_hash(path: &Path) -> Result<String, FileError> {
    std::fs::read(path)
        .map(|bytes| sha256_hex(&bytes))
        .map_err(FileError::io(path))
}
