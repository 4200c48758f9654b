//! `bench import`: public general multiple-choice sets turned into radiochat datasets for G1
//! (items with `question`, `options`, `hint` and the answer letter as `label`).
//!
//! - MMBench's TSV (`index, question, hint, A, B, C, D, answer, category, image, …`, the image
//!   base64-encoded; pandas writes missing options and hints as empty or `nan`): the images are
//!   decoded into OUT/images/.
//! - ScienceQA's `problems.json` (`{pid: {question, choices, answer (an index), hint, image,
//!   split}}`, images in `images/SPLIT/PID/image.png`): items without an image (text-only
//!   questions) are left out; the images are referred to where they are.
//!
//! A row that cannot be used is skipped and counted with its row or id and the reason.

use crate::util::error::FileError;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LETTERS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// What an import wrote and left out.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Imported {
    pub dataset: PathBuf,
    pub items: usize,
    /// (row or id, why), in file order.
    pub skipped: Vec<(String, String)>,
}

fn missing(cell: Option<&str>) -> Option<&str> {
    cell.map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("nan"))
}

/// Read an MMBench TSV into `out` (dataset.json and images/).
pub fn mmbench(tsv: &Path, out: &Path) -> Result<Imported, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .flexible(true)
        .from_path(tsv)
        .map_err(|e| FileError::invalid(format!("{}: cannot read: {e}", tsv.display())))?;
    let headers = reader
        .headers()
        .map_err(|e| FileError::invalid(format!("{}: no header row: {e}", tsv.display())))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let needed = ["index", "question", "A", "B", "answer", "image"];
    if let Some(absent) = needed.iter().find(|n| column(n).is_none()) {
        return Err(FileError::invalid(format!(
            "{}: no `{absent}` column (MMBench's TSV has {})",
            tsv.display(),
            needed.join(", ")
        )));
    }
    let at = |name: &str| column(name).unwrap_or(usize::MAX);
    let images = out.join("images");
    crate::util::private_file::create_private_dir(&images).map_err(FileError::io(&images))?;
    let (mut entries, mut skipped) = (Vec::new(), Vec::new());
    for (row, record) in reader.records().enumerate() {
        let line = format!("row {}", row + 2);
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                skipped.push((line, format!("unreadable: {e}")));
                continue;
            }
        };
        let cell = |name: &str| missing(record.get(at(name)));
        let index = cell("index").unwrap_or_default().to_string();
        let options: Vec<String> = LETTERS[..4]
            .iter()
            .map_while(|l| cell(l).map(str::to_string))
            .collect();
        let picture = cell("image").map(|b| base64::engine::general_purpose::STANDARD.decode(b));
        let entry = match (cell("question"), cell("answer"), picture) {
            (None, _, _) => Err("no question".to_string()),
            (_, None, _) => Err("no answer (a test split without answers?)".into()),
            (_, _, None) => Err("no image".into()),
            (_, _, Some(Err(e))) => Err(format!("image is not base64: {e}")),
            (Some(question), Some(answer), Some(Ok(bytes))) => {
                write_picture(&images, &index, &bytes).map(|file| {
                    json!({
                        "sname": format!("mmbench-{index}"), "filepaths": [file],
                        "label": answer, "question": question, "options": options,
                        "hint": cell("hint"), "category": cell("category"),
                    })
                })
            }
        };
        match entry {
            Ok(entry) => entries.push(entry),
            Err(why) => skipped.push((format!("{line} (index {index})"), why)),
        }
    }
    finish(tsv, out, entries, skipped)
}

/// The decoded image under `images/`, named by its index and its format's extension.
fn write_picture(images: &Path, index: &str, bytes: &[u8]) -> Result<String, String> {
    let format = image::guess_format(bytes).map_err(|e| format!("image: {e}"))?;
    let extension = format.extensions_str().first().copied().unwrap_or("img");
    let safe: String = index
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let file = format!("images/{safe}.{extension}");
    let path = images.join(format!("{safe}.{extension}"));
    crate::util::private_file::write_atomically(&path, bytes)
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    Ok(file)
}

#[derive(Deserialize)]
struct Problem {
    question: String,
    choices: Vec<String>,
    answer: usize,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    split: Option<String>,
}

/// Read ScienceQA's problems.json (images under `images`, `split` only if given) into `out`.
pub fn scienceqa(
    problems: &Path,
    images: &Path,
    split: Option<&str>,
    out: &Path,
) -> Result<Imported, FileError> {
    let bytes = std::fs::read(problems).map_err(FileError::io(problems))?;
    let all: BTreeMap<String, Value> = serde_json::from_slice(&bytes).map_err(|e| {
        FileError::invalid(format!(
            "{}: not ScienceQA's problems.json ({{pid: {{question, choices, answer, image, split}}}}): {e}",
            problems.display()
        ))
    })?;
    let (mut entries, mut skipped) = (Vec::new(), Vec::new());
    let mut pids: Vec<&String> = all.keys().collect();
    pids.sort_by_key(|pid| (pid.parse::<u64>().unwrap_or(u64::MAX), pid.to_string()));
    for pid in pids {
        let problem = match Problem::deserialize(&all[pid]) {
            Ok(problem) => problem,
            Err(e) => {
                skipped.push((format!("pid {pid}"), format!("not a problem: {e}")));
                continue;
            }
        };
        let problem_split = problem.split.clone().unwrap_or_default();
        if split.is_some_and(|s| s != problem_split) {
            continue;
        }
        let Some(name) = problem.image.as_deref().filter(|n| !n.is_empty()) else {
            skipped.push((
                format!("pid {pid}"),
                "no image (a text-only question)".into(),
            ));
            continue;
        };
        let picture = images.join(&problem_split).join(pid).join(name);
        let Some(label) = LETTERS
            .get(problem.answer)
            .filter(|_| problem.answer < problem.choices.len())
        else {
            skipped.push((
                format!("pid {pid}"),
                format!("answer {} is not a choice", problem.answer),
            ));
            continue;
        };
        if !picture.is_file() {
            skipped.push((
                format!("pid {pid}"),
                format!("image {} is missing", picture.display()),
            ));
            continue;
        }
        let absolute = std::fs::canonicalize(&picture).unwrap_or(picture);
        entries.push(json!({
            "sname": format!("scienceqa-{pid}"), "filepaths": [absolute],
            "label": label, "question": problem.question, "options": problem.choices,
            "hint": problem.hint.filter(|h| !h.trim().is_empty()), "category": problem_split,
        }));
    }
    finish(problems, out, entries, skipped)
}

fn finish(
    source: &Path,
    out: &Path,
    entries: Vec<Value>,
    skipped: Vec<(String, String)>,
) -> Result<Imported, FileError> {
    if entries.is_empty() {
        return Err(FileError::invalid(format!(
            "{}: nothing to import ({} skipped{})",
            source.display(),
            skipped.len(),
            skipped
                .first()
                .map(|(at, why)| format!(", e.g. {at}: {why}"))
                .unwrap_or_default()
        )));
    }
    crate::util::private_file::create_private_dir(out).map_err(FileError::io(out))?;
    let dataset = out.join("dataset.json");
    crate::util::private_file::write_json_atomically(&dataset, &json!({ "data": entries }))?;
    Ok(Imported {
        dataset,
        items: entries.len(),
        skipped,
    })
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
