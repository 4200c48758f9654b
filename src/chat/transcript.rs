//! Transcripts: Markdown for reading (with PNG thumbnails of the images next to it) and
//! JSON with everything the journal holds.

use super::conversation::{AnswerState, Conversation, ImageRef};
use super::journal::Loaded;
use crate::engine::FinishReason;
use crate::imaging::{FitsOptions, RadioImage, TransformOptions};
use crate::util::private_file::{create_private_dir, write_atomically};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Exported {
    pub path: PathBuf,
    pub thumbnails: Vec<PathBuf>,
    /// Images the session refers to that are no longer where they were.
    pub missing: Vec<String>,
}

/// `{"header": …, "events": […]}`, the journal as one document.
pub fn to_json(loaded: &Loaded) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "header": loaded.header,
        "events": loaded.events,
    }))
    .unwrap_or_default()
}

/// Write the JSON transcript atomically.
pub fn write_json(loaded: &Loaded, out: &Path) -> std::io::Result<Exported> {
    write_atomically(out, to_json(loaded).as_bytes())?;
    Ok(Exported {
        path: out.to_path_buf(),
        thumbnails: Vec::new(),
        missing: Vec::new(),
    })
}

/// Write the Markdown transcript and, in `STEM.images/` beside it, one PNG thumbnail per
/// image that can still be read.
pub fn write_markdown(conversation: &Conversation, out: &Path) -> std::io::Result<Exported> {
    let base = out.parent().unwrap_or(Path::new("."));
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "transcript".into());
    let thumbs_dir = base.join(format!("{stem}.images"));
    let mut exported = Exported {
        path: out.to_path_buf(),
        thumbnails: Vec::new(),
        missing: Vec::new(),
    };
    let mut md = header_block(conversation);
    for (n, turn) in conversation.turns.iter().enumerate() {
        let n = n + 1;
        let _ = writeln!(md, "## {n}. You · {}\n", turn.asked_at);
        for (k, image) in turn.images.iter().enumerate() {
            let line = match thumbnail(image, &thumbs_dir, &format!("turn{n}-{}", k + 1)) {
                Ok(thumb) => {
                    let rel = relative(&thumb, base);
                    exported.thumbnails.push(thumb);
                    format!("![{}]({rel}) `{}`", file_name(&image.path), image.path)
                }
                Err(why) => {
                    exported.missing.push(image.path.clone());
                    format!("*image {} — {why}*", image.path)
                }
            };
            let _ = writeln!(md, "{line}\n");
        }
        let _ = writeln!(md, "{}\n", turn.question.trim_end());
        let when = turn.answered_at.as_deref().unwrap_or("");
        let _ = writeln!(md, "### radiochat · {when}{}\n", state_note(&turn.state));
        let _ = writeln!(md, "{}\n", turn.answer.trim_end());
    }
    write_atomically(out, md.as_bytes())?;
    Ok(exported)
}

fn header_block(c: &Conversation) -> String {
    let s = &c.header.sampling;
    let show = |v: Option<String>| v.unwrap_or_else(|| "default".into());
    let mut md = format!("# {}\n\n", c.title);
    let _ = writeln!(
        md,
        "- session: `{}`, created {}",
        c.header.id, c.header.created
    );
    let _ = writeln!(md, "- model: {}", c.model.as_deref().unwrap_or("(none)"));
    let _ = writeln!(
        md,
        "- sampling: temperature {}, top_p {}, top_k {}, max_tokens {}",
        show(s.temperature.map(|v| v.to_string())),
        show(s.top_p.map(|v| v.to_string())),
        show(s.top_k.map(|v| v.to_string())),
        s.max_tokens
    );
    for (key, value) in &c.settings {
        let _ = writeln!(md, "- /set {key} {value}");
    }
    if let Some(system) = &c.system_prompt {
        let _ = writeln!(md, "- system prompt: {system}");
    }
    md.push('\n');
    md
}

fn state_note(state: &AnswerState) -> String {
    match state {
        AnswerState::Done {
            finish: FinishReason::Cancelled,
            ..
        } => " (cancelled)".into(),
        AnswerState::Done {
            finish: FinishReason::Length,
            ..
        } => " (max_tokens reached)".into(),
        AnswerState::Done { usage, .. } => format!(
            " ({} tokens, {:.1} tok/s)",
            usage.completion_tokens, usage.decode_tok_per_s
        ),
        AnswerState::Interrupted => " (interrupted)".into(),
        AnswerState::Streaming => " (in progress)".into(),
        AnswerState::Failed(message) => format!(" (error: {message})"),
    }
}

/// The model input of `image`, at most 256 px on a side, as `dir/NAME.png`.
fn thumbnail(image: &ImageRef, dir: &Path, name: &str) -> Result<PathBuf, String> {
    let path = Path::new(&image.path);
    if !path.exists() {
        return Err("missing: the file is no longer there".into());
    }
    let fits = FitsOptions {
        hdu: image.settings.hdu.as_deref().and_then(|h| h.parse().ok()),
        plane: image.settings.plane.clone(),
        ..FitsOptions::default()
    };
    let picture = RadioImage::open(path, &fits)
        .and_then(|i| i.model_input(&TransformOptions::default()))
        .map_err(|e| e.to_string())?;
    let thumb = image::imageops::thumbnail(
        &picture,
        picture.width().min(256),
        picture.height().min(256),
    );
    create_private_dir(dir).map_err(|e| e.to_string())?;
    let out = dir.join(format!("{name}.png"));
    crate::util::png::write(&out, &thumb).map_err(|e| e.to_string())?;
    Ok(out)
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}
