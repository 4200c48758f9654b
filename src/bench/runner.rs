//! Running a benchmark: every item asked (up to `concurrency` requests in flight, so the
//! engine batches them), each finished item appended to `predictions.jsonl` at once, metrics
//! and a report at the end. A run killed at any moment continues with `resume`: finished items
//! are skipped, and with greedy decoding the metrics equal an uninterrupted run's.

use super::box_task;
use super::dataset::{Dataset, Item};
use super::objects;
use super::parse::ParseMode;
use super::predictions::{self, Prediction};
use super::prompt::{PromptChoice, Prompter, Shot, Speaker, Turn};
use super::score;
use super::task::{RetryStyle, TaskSpec};
use crate::engine::{ChatMessage, ChatRequest, Engine, Sampling};
use crate::imaging::{FitsOptions, RadioImage, TransformOptions};
use crate::util::error::FileError;
use futures::StreamExt;
use image::DynamicImage;
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const STOP_POLL: Duration = Duration::from_millis(100);

/// radio-llava's system prompt for single-image chats.
pub const RADIO_LLAVA_SYSTEM: &str =
    "You are an AI assistant specialized in radio astronomical topics.";

/// Everything a run needs besides the engine.
pub struct RunSpec {
    pub task: TaskSpec,
    pub dataset: Dataset,
    /// Few-shot examples: asked and answered with their gold labels before each item.
    pub shots: Vec<Item>,
    pub prompt: PromptChoice,
    pub retries: usize,
    pub retry: RetryStyle,
    pub concurrency: usize,
    pub parse: ParseMode,
    pub sampling: Sampling,
    pub transform: TransformOptions,
    pub system_prompt: Option<String>,
}

/// Where a run stands, for progress bars.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    /// Finished in an earlier, interrupted run.
    pub resumed: usize,
    pub errors: usize,
    pub invalid: usize,
    pub correct: usize,
    pub items_per_s: f64,
    pub eta_s: f64,
    /// Seconds spent inside the engine (summed over items).
    pub engine_s: f64,
    /// The item that just finished (`None` in the first report).
    pub latest: Option<Prediction>,
}

impl Progress {
    /// Accuracy so far over valid answers.
    pub fn accuracy(&self) -> f64 {
        let valid = self.done.saturating_sub(self.errors + self.invalid);
        if valid == 0 {
            0.0
        } else {
            self.correct as f64 / valid as f64
        }
    }
}

/// Ask every item not yet in `predictions_path`; returns the final progress.
pub async fn run(
    spec: &RunSpec,
    engine: Arc<dyn Engine>,
    predictions_path: &Path,
    stop: &AtomicBool,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Progress, FileError> {
    drop_torn_last_line(predictions_path)?;
    // An item whose last record is an error (image unreadable then, engine down) is asked
    // again: its new record is appended and supersedes the old one.
    // The answers kept from an earlier run, by item (a later record supersedes).
    let finished: HashMap<String, Prediction> = if predictions_path.exists() {
        predictions::read(predictions_path)?
            .0
            .into_iter()
            .filter(|p| p.error.is_none())
            .map(|p| (p.sname.clone(), p))
            .collect()
    } else {
        HashMap::new()
    };
    let todo: Vec<Item> = spec
        .dataset
        .items
        .iter()
        .filter(|i| !finished.contains_key(&i.sname))
        .cloned()
        .collect();
    let shots = Arc::new(load_shots(spec)?);
    let task = Arc::new(spec.task.clone());
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(predictions_path)
        .map_err(FileError::io(predictions_path))?;
    let mut progress = Progress {
        total: spec.dataset.items.len(),
        done: spec.dataset.items.len() - todo.len(),
        resumed: spec.dataset.items.len() - todo.len(),
        ..Progress::default()
    };
    // The running accuracy counts the kept answers as the final metrics do.
    for kept in spec
        .dataset
        .items
        .iter()
        .filter_map(|item| finished.get(&item.sname))
    {
        match kept.pred {
            None => progress.invalid += 1,
            Some(_) if score::is_correct(&spec.task, kept) => progress.correct += 1,
            Some(_) => {}
        }
    }
    on_progress(&progress);
    let started = Instant::now();
    let in_flight = spec.concurrency.max(1);
    // Pictures are decoded one item ahead of the engine, so a FITS read never waits between
    // two answers.
    let mut answers = futures::stream::iter(todo)
        .map(|item| start_loading(task.clone(), item, spec.transform))
        .buffered(in_flight + 1)
        .map(|loaded| ask_item(spec, engine.clone(), shots.clone(), loaded))
        .buffer_unordered(in_flight);
    // Checked before the first item, after each item and every 100 ms while items are in
    // flight; dropping the stream cancels those (their generations stop inside the engine).
    while !stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(STOP_POLL, answers.next()).await {
            Ok(Some((prediction, engine_s))) => {
                let correct = score::is_correct(&spec.task, &prediction);
                let counted = Counted { engine_s, correct };
                record(
                    &mut out,
                    predictions_path,
                    &mut progress,
                    &prediction,
                    counted,
                )?;
                let fresh = progress.done - progress.resumed;
                progress.items_per_s = fresh as f64 / started.elapsed().as_secs_f64().max(1e-9);
                progress.eta_s =
                    (progress.total - progress.done) as f64 / progress.items_per_s.max(1e-9);
                progress.latest = Some(prediction);
                on_progress(&progress);
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    Ok(progress)
}

/// What a finished item adds to the progress besides its record.
struct Counted {
    engine_s: f64,
    correct: bool,
}

/// Append a finished item to the predictions file and count it.
fn record(
    out: &mut std::fs::File,
    path: &Path,
    progress: &mut Progress,
    prediction: &Prediction,
    counted: Counted,
) -> Result<(), FileError> {
    let line = serde_json::to_string(prediction).map_err(|e| FileError::io(path)(e.into()))? + "\n";
    out.write_all(line.as_bytes())
        .map_err(FileError::io(path))?;
    progress.done += 1;
    progress.engine_s += counted.engine_s;
    match (&prediction.error, &prediction.pred) {
        (Some(_), _) => progress.errors += 1,
        (None, None) => progress.invalid += 1,
        _ if counted.correct => progress.correct += 1,
        _ => {}
    }
    Ok(())
}

/// A run killed while writing leaves a last line without its newline: cut it off, so the
/// item is asked again and the next line starts cleanly.
fn drop_torn_last_line(path: &Path) -> Result<(), FileError> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(());
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(FileError::io(path))?;
    file.set_len(keep as u64).map_err(FileError::io(path))
}

/// An item and its model input (or why it could not be read), the item as it lies on it.
struct Loaded {
    picture: Result<DynamicImage, String>,
    item: Item,
}

/// The item's picture as the model sees it; a box task's truth (and few-shot answer) moved
/// with the picture when the transform pads it to a square.
fn load_picture(task: &TaskSpec, mut item: Item, transform: &TransformOptions) -> Loaded {
    let read = RadioImage::open(&item.image, &FitsOptions::default());
    let (picture, image) = match read.and_then(|i| i.model_input(transform).map(|p| (p, i))) {
        Ok(both) => both,
        Err(e) => {
            return Loaded {
                picture: Err(e.to_string()),
                item,
            };
        }
    };
    let class = task
        .asks_for_boxes()
        .then(|| box_task::subject(task, &item.sname))
        .flatten();
    if let Some(class) = class {
        let is_plane = matches!(image.pixels, crate::imaging::Pixels::Plane(_));
        let truth = box_task::truth_boxes(class, &item.truth);
        let placed = objects::on_model_input(&truth, transform, image.dimensions(), is_plane);
        item.truth = box_task::truth_texts(&placed);
        item.context_answer = box_task::context_answer(class, &placed);
    }
    Loaded {
        picture: Ok(DynamicImage::ImageRgb8(picture)),
        item,
    }
}

fn load_shots(spec: &RunSpec) -> Result<Vec<(DynamicImage, Shot)>, FileError> {
    spec.shots
        .iter()
        .map(|item| {
            let loaded = load_picture(&spec.task, item.clone(), &spec.transform);
            let picture = loaded
                .picture
                .map_err(|e| FileError::invalid(format!("few-shot example {}: {e}", item.sname)))?;
            let shot = Shot {
                key: loaded.item.sname,
                answer: loaded.item.context_answer,
                question: loaded.item.question,
            };
            Ok((picture, shot))
        })
        .collect()
}

/// The item's picture, decoded on a blocking thread that starts at once (not when the
/// returned future is first polled).
fn start_loading(
    task: Arc<TaskSpec>,
    item: Item,
    transform: TransformOptions,
) -> impl std::future::Future<Output = Loaded> {
    let kept = item.clone();
    let decoding = tokio::task::spawn_blocking(move || load_picture(&task, item, &transform));
    async move {
        decoding.await.unwrap_or_else(|e| Loaded {
            picture: Err(e.to_string()),
            item: kept,
        })
    }
}

/// One item: the prompt (after the few-shot turns), then up to `retries` re-asks when the
/// answer cannot be read. Returns the prediction and the seconds spent in the engine.
async fn ask_item(
    spec: &RunSpec,
    engine: Arc<dyn Engine>,
    shots: Arc<Vec<(DynamicImage, Shot)>>,
    loaded: Loaded,
) -> (Prediction, f64) {
    let Loaded { picture, item } = loaded;
    let mut prediction = Prediction {
        sname: item.sname.clone(),
        truth: item.truth.clone(),
        pred: None,
        raw: String::new(),
        attempts: 0,
        latency_ms: 0.0,
        prompt_tokens: 0,
        completion_tokens: 0,
        error: None,
    };
    let picture = match picture {
        Ok(picture) => picture,
        Err(message) => {
            prediction.error = Some(message);
            return (prediction, 0.0);
        }
    };
    let task = &spec.task;
    let prompter = match Prompter::new(task, &spec.prompt, shots.len()) {
        Ok(prompter) => prompter.asking(item.question.as_deref()),
        Err(message) => {
            prediction.error = Some(message.to_string());
            return (prediction, 0.0);
        }
    };
    let system = spec.system_prompt.as_deref();
    let examples: Vec<Shot> = shots.iter().map(|(_, shot)| shot.clone()).collect();
    let mut turns = prompter.conversation(system, &examples, &item.sname);
    let mut engine_s = 0.0;
    loop {
        prediction.attempts += 1;
        let messages = chat_messages(&turns, &shots, &picture);
        let started = Instant::now();
        let answer = engine
            .stream(ChatRequest {
                messages,
                sampling: spec.sampling.clone(),
            })
            .answer()
            .await;
        engine_s += started.elapsed().as_secs_f64();
        prediction.latency_ms += started.elapsed().as_secs_f64() * 1e3;
        let (text, usage) = match answer {
            Ok(answer) => answer,
            Err(message) => {
                prediction.error = Some(message);
                return (prediction, engine_s);
            }
        };
        prediction.raw = text.clone();
        prediction.prompt_tokens += usage.prompt_tokens;
        prediction.completion_tokens += usage.completion_tokens;
        prediction.pred = score::read(task, &text, spec.parse);
        if prediction.pred.is_some() || prediction.attempts > spec.retries {
            return (prediction, engine_s);
        }
        turns = prompter.retry(spec.retry, system, (&turns, &text), &item.sname);
    }
}

/// The engine's messages for `turns`: image `i` is example `i`'s, the last the item's.
fn chat_messages(
    turns: &[Turn],
    shots: &[(DynamicImage, Shot)],
    picture: &DynamicImage,
) -> Vec<ChatMessage> {
    turns
        .iter()
        .map(|turn| match turn.role {
            Speaker::System => ChatMessage::system(turn.text.clone()),
            Speaker::Assistant => ChatMessage::assistant(turn.text.clone()),
            Speaker::User => {
                let image = turn
                    .image
                    .map(|i| shots.get(i).map_or(picture, |(shot, _)| shot).clone());
                ChatMessage::user(turn.text.clone(), image.into_iter().collect())
            }
        })
        .collect()
}
