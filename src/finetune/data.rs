//! `finetune data`: LLaVA conversation JSON from labelled radio-llava datasets. Each image gets
//! one conversation with a turn per question its label answers (and the description with
//! `describe`); images are written as PNG through the benchmarks' model-input transform, so
//! training and evaluation see the same pixels.

use super::anomaly_text;
use super::boxes;
use super::captions;
use super::data_io::{file_hash, file_stem, unique_id};
use super::generate::{Generated, Generator};
use super::questions;
use super::turns::{Asked, Planned, conversation, select, single_turns, unit, wants};
pub use super::turns::{Record, Turn, TurnOrder};
use crate::bench::dataset;
use crate::imaging::{FitsOptions, RadioImage, TransformOptions};
use crate::util::error::FileError;
use crate::util::private_file::write_json_atomically;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub const TRAIN_FILE: &str = "train.json";
pub const VAL_FILE: &str = "val.json";
pub const SUMMARY_FILE: &str = "data.json";

#[derive(Debug, Clone)]
pub struct DataSpec {
    pub sources: Vec<PathBuf>,
    pub out: PathBuf,
    /// Benchmark ids (B1…) or question ids; empty = every question.
    pub tasks: Vec<String>,
    pub describe: bool,
    /// Where the description goes: last, or first as radio-llava puts it.
    pub order: TurnOrder,
    /// One conversation per question instead of one per image (each with the image).
    pub single_turn: bool,
    /// Fraction of images for validation.
    pub val: f64,
    pub seed: u64,
    /// Datasets whose images must not be trained on (benchmark sets).
    pub exclude: Vec<PathBuf>,
    /// Figure–caption files (radioimg-arxiv's JSON or `[{"image", "caption"}]`).
    pub captions: Vec<PathBuf>,
    /// The share of caption conversations among all (a seeded choice); all captions if unset.
    pub caption_ratio: Option<f64>,
    /// The share of annotated images asked the box questions (a seeded choice); all if unset.
    /// The box questions are five per image, so without it they outnumber the rest.
    pub box_ratio: Option<f64>,
    pub transform: TransformOptions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub path: PathBuf,
    pub sha256: String,
}

/// `data.json`: what was built, from what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    pub sources: Vec<Source>,
    pub excluded_datasets: Vec<Source>,
    /// Figure–caption files read.
    #[serde(default)]
    pub caption_files: Vec<Source>,
    pub questions: Vec<String>,
    pub describe: bool,
    /// `--order radio-llava`: the description is the first turn.
    #[serde(default)]
    pub description_first: bool,
    #[serde(default)]
    pub single_turn: bool,
    pub seed: u64,
    pub val_fraction: f64,
    pub train: usize,
    pub val: usize,
    /// Question turns written, by question id.
    pub turns: BTreeMap<String, usize>,
    /// Images left out because an excluded dataset holds them.
    pub excluded: usize,
    /// Items left out: how many, and the first few with why.
    pub skipped: usize,
    pub skipped_examples: Vec<String>,
    /// Images whose sources are annotated (box turns).
    #[serde(default)]
    pub annotated: usize,
    /// Annotation lines or entries left out (bad class, box, columns): how many, the first few.
    #[serde(default)]
    pub skipped_boxes: usize,
    #[serde(default)]
    pub skipped_box_examples: Vec<String>,
    /// LLM-written Q&A (`--generate-with`): what was asked, kept and dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
    pub radiochat_version: String,
}

/// A `--…-ratio` flag's value, when given, is a share in (0, 1).
fn check_share(flag: &str, share: Option<f64>) -> Result<(), FileError> {
    match share {
        Some(share) if !(share > 0.0 && share < 1.0) => Err(FileError::invalid(format!(
            "{flag} {share}: expected a share in (0, 1)"
        ))),
        _ => Ok(()),
    }
}

pub fn build(
    spec: &DataSpec,
    mut generator: Option<&mut Generator>,
) -> Result<DataSummary, FileError> {
    if !(0.0..1.0).contains(&spec.val) {
        return Err(FileError::invalid(format!(
            "--val {}: expected a fraction in [0, 1)",
            spec.val
        )));
    }
    if spec.sources.is_empty() && spec.captions.is_empty() {
        return Err(FileError::invalid(
            "--from DATASET.json (or --captions FILE) is needed",
        ));
    }
    check_share("--caption-ratio", spec.caption_ratio)?;
    check_share("--box-ratio", spec.box_ratio)?;
    check_out(&spec.out)?;
    let tasks = crate::bench::load_tasks(None)?;
    let all_boxes = boxes::box_questions()?;
    let anomaly = anomaly_text::anomaly_text()?;
    let multiple_choice = crate::bench::find_task(&tasks, MULTIPLE_CHOICE)?;
    let chosen = select(
        questions::questions(&tasks)?,
        &all_boxes,
        &[&anomaly.id, MULTIPLE_CHOICE],
        &spec.tasks,
    )?;
    let chosen_boxes = boxes::select(all_boxes, &spec.tasks);
    let anomaly = wants(&spec.tasks, &anomaly.id).then_some(anomaly);
    let describe = if spec.describe {
        Some(questions::describe()?)
    } else {
        None
    };
    let choice = wants(&spec.tasks, MULTIPLE_CHOICE).then_some(&multiple_choice);
    let asked = Asked {
        choice,
        questions: &chosen,
        anomaly: anomaly.as_ref(),
        boxes: &chosen_boxes,
        describe: describe.as_ref(),
        seed: spec.seed,
        order: spec.order,
    };
    let mut bad_boxes = Vec::new();
    let (excluded_hashes, excluded_datasets) = exclusion_set(&spec.exclude)?;
    let is_excluded = |image: &Path| -> Result<bool, FileError> {
        Ok(!excluded_hashes.is_empty() && excluded_hashes.contains(&file_hash(image)?))
    };
    let mut plans = Vec::new();
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    let mut excluded = 0;
    let mut ids = HashSet::new();
    for path in &spec.sources {
        let raw = dataset::read_raw(path)?;
        sources.push(Source {
            path: std::path::absolute(path).unwrap_or(path.clone()),
            sha256: raw.sha256.clone(),
        });
        for item in &raw.items {
            let image = match raw.image(item) {
                Ok(image) => image,
                Err(why) => {
                    skipped.push(format!("{}: {why}", item.sname));
                    continue;
                }
            };
            if is_excluded(&image)? {
                excluded += 1;
                continue;
            }
            let id = unique_id(&mut ids, &item.sname);
            let asks_boxes = !chosen_boxes.is_empty()
                && spec
                    .box_ratio
                    .is_none_or(|ratio| unit(spec.seed, &["boxes", &id]) < ratio);
            let annotations = if !asks_boxes {
                None
            } else {
                match raw.annotations(item, &image) {
                    Ok(read) => read.map(|read| {
                        bad_boxes.extend(read.skipped);
                        read.boxes
                    }),
                    Err(why) => {
                        bad_boxes.push(why);
                        None
                    }
                }
            };
            let Some(planned) = conversation(&asked, &id, item, annotations) else {
                skipped.push(format!("{}: no chosen question fits its label", item.sname));
                continue;
            };
            let file = format!("images/{:06}-{}.png", plans.len(), file_stem(&id));
            let val = unit(spec.seed, &["split", &id]) < spec.val;
            plans.push(Planned {
                id,
                image,
                file,
                val,
                ..planned
            });
        }
    }
    let mut caption_files = Vec::new();
    let mut found = Vec::new();
    for path in &spec.captions {
        let read = captions::read(path)?;
        skipped.extend(read.skipped);
        caption_files.push(Source {
            path: std::path::absolute(path).unwrap_or(path.clone()),
            sha256: read.sha256,
        });
        for caption in read.captions {
            if is_excluded(&caption.image)? {
                excluded += 1;
                continue;
            }
            found.push(caption);
        }
    }
    let phrasings = captions::phrasings()?;
    let chosen_captions = captions::mix(found, plans.len(), spec.caption_ratio, spec.seed);
    let first = plans.len();
    plans.extend(captions::plans(
        chosen_captions,
        &phrasings,
        first,
        (spec.seed, spec.val),
        &mut ids,
    ));
    crate::util::private_file::create_private_dir(&spec.out.join("images"))
        .map_err(FileError::io(&spec.out))?;
    let written: Vec<Result<Result<Shape, String>, FileError>> = plans
        .par_iter()
        .map(|p| write_png(&p.image, &spec.out.join(&p.file), &spec.transform))
        .collect();
    let mut train = Vec::new();
    let mut val = Vec::new();
    let mut turns: BTreeMap<String, usize> = BTreeMap::new();
    let mut annotated = 0;
    for (mut plan, result) in plans.into_iter().zip(written) {
        let shape = match result? {
            Ok(shape) => shape,
            Err(why) => {
                skipped.push(format!("{}: {why}", plan.id));
                continue;
            }
        };
        if !plan.box_answers.is_empty() {
            annotated += 1;
            let placed = crate::bench::objects::on_model_input(
                &plan.boxes,
                &spec.transform,
                shape.size,
                shape.is_plane,
            );
            for &(turn, question) in &plan.box_answers {
                plan.turns[turn].value = chosen_boxes[question].answer(&placed);
            }
        }
        if let Some(generator) = generator.as_deref_mut() {
            let png = spec.out.join(&plan.file);
            add_generated(generator, &mut plan, &png)?;
        }
        for q in &plan.counted {
            *turns.entry(q.clone()).or_default() += 1;
        }
        let record = Record {
            id: plan.id,
            image: plan.file,
            conversations: plan.turns,
        };
        let records = if spec.single_turn {
            single_turns(record, &plan.counted)
        } else {
            vec![record]
        };
        if plan.val { &mut val } else { &mut train }.extend(records);
    }
    if train.is_empty() {
        return Err(FileError::invalid(format!(
            "no training example could be made ({} item(s) skipped{}{})",
            skipped.len(),
            if skipped.is_empty() { "" } else { ", e.g. " },
            skipped.first().map(String::as_str).unwrap_or("")
        )));
    }
    write_json_atomically(&spec.out.join(TRAIN_FILE), &train)?;
    write_json_atomically(&spec.out.join(VAL_FILE), &val)?;
    let summary = DataSummary {
        sources,
        excluded_datasets,
        caption_files,
        questions: chosen
            .iter()
            .map(|q| q.id.clone())
            .chain(anomaly.iter().map(|a| a.id.clone()))
            .chain(chosen_boxes.iter().map(|q| q.id.clone()))
            .chain(choice.map(|t| t.id.clone()))
            .collect(),
        describe: spec.describe,
        description_first: spec.describe && spec.order == TurnOrder::RadioLlava,
        single_turn: spec.single_turn,
        seed: spec.seed,
        val_fraction: spec.val,
        train: train.len(),
        val: val.len(),
        turns,
        excluded,
        skipped: skipped.len(),
        skipped_examples: skipped.into_iter().take(5).collect(),
        annotated,
        skipped_boxes: bad_boxes.len(),
        skipped_box_examples: bad_boxes.into_iter().take(5).collect(),
        generated: generator.map(|g| g.counts.clone()),
        radiochat_version: crate::version().to_string(),
    };
    write_json_atomically(&spec.out.join(SUMMARY_FILE), &summary)?;
    Ok(summary)
}

/// The pairs a model writes about the image as it was saved for training, after its other
/// turns; each counted as a `generated` question.
fn add_generated(
    generator: &mut Generator,
    plan: &mut Planned,
    png: &Path,
) -> Result<(), FileError> {
    if plan.tags.is_empty() && plan.caption.is_none() {
        return Ok(());
    }
    for pair in generator.pairs(&plan.tags, plan.caption.as_deref(), png)? {
        plan.turns.push(Turn {
            from: "human".into(),
            value: pair.question,
        });
        plan.turns.push(Turn {
            from: "gpt".into(),
            value: pair.answer,
        });
        plan.counted.push(GENERATED.into());
    }
    Ok(())
}

/// The multiple-choice task whose items' own questions are training turns (the general
/// skills a radio fine-tune may erode, or a general warm-up for a tiny base).
pub const MULTIPLE_CHOICE: &str = "G1";

/// What generated turns count as.
pub const GENERATED: &str = "generated";

/// The image hashes of the excluded datasets (missing images are simply not in it).
fn exclusion_set(paths: &[PathBuf]) -> Result<(HashSet<String>, Vec<Source>), FileError> {
    let mut hashes = HashSet::new();
    let mut sources = Vec::new();
    for path in paths {
        let raw = dataset::read_raw(path)?;
        let found: Vec<String> = raw
            .items
            .par_iter()
            .filter_map(|item| raw.image(item).ok())
            .filter_map(|image| file_hash(&image).ok())
            .collect();
        hashes.extend(found);
        sources.push(Source {
            path: std::path::absolute(path).unwrap_or(path.clone()),
            sha256: raw.sha256,
        });
    }
    Ok((hashes, sources))
}

fn check_out(out: &Path) -> Result<(), FileError> {
    match std::fs::read_dir(out).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(FileError::invalid(format!(
            "{}: exists and is not empty; choose another --out",
            out.display()
        ))),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FileError::io(out)(e)),
    }
}

/// An image's width and height, and whether it is a plane (not a colour picture): what moves
/// its boxes on the model input.
struct Shape {
    size: (usize, usize),
    is_plane: bool,
}

/// The item's model input as a PNG in `out`, and the image's shape. `Ok(Err(why))`: its image
/// cannot be read, so the item is skipped; `Err`: writing failed (a full disk), so the whole
/// build stops.
fn write_png(
    image: &Path,
    out: &Path,
    transform: &TransformOptions,
) -> Result<Result<Shape, String>, FileError> {
    let read = RadioImage::open(image, &FitsOptions::default());
    let (picture, read) = match read.and_then(|i| i.model_input(transform).map(|p| (p, i))) {
        Ok(both) => both,
        Err(e) => return Ok(Err(e.to_string())),
    };
    crate::util::png::write(out, &picture)?;
    let is_plane = matches!(read.pixels, crate::imaging::Pixels::Plane(_));
    Ok(Ok(Shape {
        size: read.dimensions(),
        is_plane,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_number_is_uniform_enough_and_stable() {
        let n = 2000;
        let below = (0..n)
            .filter(|i| unit(7, &["split", &format!("img{i}")]) < 0.1)
            .count();
        assert!((150..250).contains(&below), "{below} of {n} below 0.1");
        assert_eq!(unit(7, &["a"]), unit(7, &["a"]));
        assert_ne!(unit(7, &["a"]), unit(8, &["a"]));
    }

    #[test]
    fn ids_stay_unique_and_file_names_safe() {
        let mut seen = HashSet::new();
        assert_eq!(unique_id(&mut seen, "a"), "a");
        assert_eq!(unique_id(&mut seen, "a"), "a-2");
        assert_eq!(file_stem("J1234+56 $(rm -rf)/x"), "J1234_56___rm_-rf__x");
    }
}
