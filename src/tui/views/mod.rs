//! The chat's windows. Each owns its state, turns a key or a message into changes of that
//! state plus [`Effect`]s (`key` / `update`), and draws itself. None of them knows `App`: the
//! app routes keys and messages to the window open, carries out the effects with what is
//! shared (the session, its store, the model worker, helper threads) and reports back.

pub mod bench;
pub mod bench_boxes;
pub mod bench_draw;
pub mod conversation;
pub mod conversation_lines;
pub mod help;
pub mod info;
pub mod jobs;
pub mod jobs_draw;
pub mod palette;
pub mod picture;
pub mod preview;
pub mod sessions;
pub mod sessions_draw;

use crate::chat::transcript::Exported;
use crate::commands::finetune::Launched;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use std::collections::HashMap;

/// What a window asks of the app after a key or a message.
pub enum Effect {
    /// A one-line notice above the input.
    Info(String),
    Warn(String),
    /// Close the window.
    Close,
    /// Work for a helper thread (reading files, `squeue`, `scancel`); its result comes back
    /// as a [`Background`] message.
    Spawn(HelperJob),
    /// The sessions window's choices, on the store the app holds.
    OpenSession(String),
    RenameSession {
        id: String,
        title: String,
    },
    DeleteSession(String),
    /// The preview switched to the stretch at this index: render it if it is not yet.
    Restretch(usize),
    /// Stop the benchmark running.
    StopBench,
    /// A job for the model worker (load, ask, read or render an image).
    Worker(crate::chat::worker::WorkerCommand),
    /// Text for the terminal's clipboard (OSC 52).
    Clipboard(String),
    /// Take the notice away (a message was sent).
    ClearNotice,
}

pub type HelperJob = Box<dyn FnOnce() -> Background + Send>;

/// Results of work done on short-lived helper threads.
pub enum Background {
    Exported(anyhow::Result<Exported>),
    /// The sessions, listed for the browser.
    SessionsListed(Vec<crate::chat::SessionSummary>),
    /// The sessions whose messages mention `needle`, for the browser's filter.
    SessionsSaid {
        needle: String,
        ids: std::collections::HashSet<String>,
    },
    Bench(Box<bench::BenchEvent>),
    Launched(Result<Launched, crate::commands::CommandError>),
    Jobs(Vec<jobs::JobRow>),
    /// A one-line result of background work.
    Notice(Notice),
    /// The earlier turns of the long session `id`, read after its tail was shown.
    Earlier {
        id: String,
        read: Box<Result<(crate::chat::Conversation, Vec<String>), String>>,
    },
}

/// The one-line message above the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            error: false,
        }
    }

    pub fn warn(text: impl Into<String>) -> Notice {
        Notice {
            text: text.into(),
            error: true,
        }
    }
}

/// A full-screen window over the chat.
pub enum Overlay {
    Help(help::HelpView),
    /// The current image full screen.
    Preview(preview::PreviewView),
    /// Lines of text under a title (`/info`, `/bench tasks`, `/bench prompt`).
    Info(info::InfoView),
    Sessions(Box<sessions::SessionsBrowser>),
    /// The benchmark run (`/bench`); the run itself is shared (the status bar shows it too).
    Bench,
    /// Fine-tune jobs (`/jobs`).
    Jobs(jobs::JobsView),
}

impl Overlay {
    /// An [`Overlay::Info`] at its top.
    pub fn info(title: &'static str, lines: Vec<String>) -> Overlay {
        Overlay::Info(info::InfoView::new(title, lines))
    }

    pub fn help() -> Overlay {
        Overlay::Help(help::HelpView::default())
    }

    /// The open window's answer to a key.
    pub fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        match self {
            Overlay::Help(view) => view.key(key),
            Overlay::Preview(view) => view.key(key),
            Overlay::Info(view) => view.key(key),
            Overlay::Sessions(view) => view.key(key),
            Overlay::Bench => bench::key(key),
            Overlay::Jobs(view) => view.key(key),
        }
    }
}

/// Finished turns as drawn, by (session id, turn index), and the terminal's graphics
/// protocol, if it has one (`None`: half blocks): what drawing keeps between frames.
#[derive(Default)]
pub struct ViewCache {
    pub turns: HashMap<(String, usize), conversation::BuiltTurn>,
    /// Turns (and other blocks) built since the start: what a frame costs grows with this, not
    /// with the session.
    pub turns_built: usize,
    pub graphics: Option<super::graphics::Graphics>,
}

/// How windows name an image or a model: its file name; a remote model by its name, else
/// its server's host and port.
pub fn short_name(path: &str) -> String {
    if let Some(remote) = path.strip_prefix("remote:") {
        // `remote:URL [MODEL]`: the model if named, else the server's host and port.
        let source = crate::engine::RemoteSource::parse(remote);
        return source.model.unwrap_or_else(|| {
            let host = source.url.split("://").nth(1).unwrap_or(&source.url);
            host.split('/').next().unwrap_or(host).to_string()
        });
    }
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// The screen between the status bar and the input box, a little inset: windows never hide
/// what state the app is in.
pub fn between_bars(area: Rect) -> Rect {
    let x = area.x + area.width.min(2);
    let width = area.width.saturating_sub(4);
    let y = area.y + 1;
    let height = area.height.saturating_sub(4);
    Rect::new(x, y, width, height)
}

/// Keys that close a window that has no other use for them.
pub fn closes(key: &KeyEvent) -> bool {
    use crossterm::event::KeyCode;
    matches!(key.code, KeyCode::Esc | KeyCode::Char('q'))
}

/// A text window's keys: ↑↓ one line, PgUp PgDn ten, kept within 0..=last; Esc, q, ? and F1
/// close it.
pub fn text_window_key(key: &KeyEvent, scroll: &mut u16, last: u16) -> Vec<Effect> {
    use crossterm::event::KeyCode;
    let step: i32 = match key.code {
        KeyCode::Up => -1,
        KeyCode::Down => 1,
        KeyCode::PageUp => -10,
        KeyCode::PageDown => 10,
        KeyCode::Esc | KeyCode::Char('q' | '?') | KeyCode::F(1) => return vec![Effect::Close],
        _ => return vec![],
    };
    *scroll = (i32::from(*scroll) + step).clamp(0, i32::from(last)) as u16;
    vec![]
}
