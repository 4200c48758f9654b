//! `predictions.jsonl`: one line per finished item, appended as items finish, so a killed
//! run loses at most the line being written; a torn last line, or a damaged line anywhere,
//! is skipped with a warning. An item asked again (a retried error) appends a new line: the
//! last line of an item is its record.

use crate::util::error::FileError;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub sname: String,
    /// Gold labels.
    pub truth: Vec<String>,
    /// Labels read from the answer by the run's parser; `null` when unparseable (or on error).
    pub pred: Option<Vec<String>>,
    /// The model's last answer, verbatim.
    pub raw: String,
    pub attempts: usize,
    pub latency_ms: f64,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    /// Set when the item could not be asked (image failed to load, engine error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Read a predictions file: the last record of each item (in the order items first
/// appear), and warnings for the lines skipped.
pub fn read(path: &Path) -> Result<(Vec<Prediction>, Vec<String>), FileError> {
    let bytes = std::fs::read(path).map_err(FileError::io(path))?;
    let text = String::from_utf8_lossy(&bytes);
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    let mut records: Vec<Prediction> = Vec::new();
    let mut position: std::collections::HashMap<String, usize> = Default::default();
    let mut warnings = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        // A last line without its newline was being written when the run was killed.
        let cut_off = i + 1 == lines.len() && !complete;
        match (serde_json::from_str::<Prediction>(line), cut_off) {
            (_, true) => warnings.push(format!(
                "{} line {}: ignored (cut off while being written)",
                path.display(),
                i + 1
            )),
            (Ok(p), false) => match position.get(&p.sname) {
                Some(&at) => records[at] = p,
                None => {
                    position.insert(p.sname.clone(), records.len());
                    records.push(p);
                }
            },
            (Err(e), false) => warnings.push(format!(
                "{} line {}: skipped (damaged: {e})",
                path.display(),
                i + 1
            )),
        }
    }
    Ok((records, warnings))
}
