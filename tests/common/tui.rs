//! Building an App without a terminal or a model, drawing it on TestBackend, and comparing
//! screens with the text snapshots in tests/snapshots/.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use radiochat::chat::{Header, LiveSession, SessionStore};
use radiochat::engine::{LoadSpec, ModelSource, Sampling};
use radiochat::imaging::TransformOptions;
use radiochat::tui::app::{App, EngineState};
use radiochat::tui::ui;
use radiochat::tui::views::ViewCache;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};

pub fn header(title: &str) -> Header {
    Header {
        created: "2026-11-26T22:00:00.000Z".into(),
        model: Some("/models/demo-idefics3".into()),
        ..Header::new(title)
    }
}

pub fn app(store_dir: &Path, title: &str) -> App {
    let store = SessionStore::new(store_dir);
    let session = LiveSession::start(&store, header(title));
    app_with(store, session)
}

/// An app on `session` whose model is ready.
pub fn app_with(store: SessionStore, session: LiveSession) -> App {
    let mut app = App::new(
        session,
        store,
        Sampling::default(),
        TransformOptions::default(),
        LoadSpec::new(ModelSource::Local(PathBuf::from("/models/demo-idefics3"))),
    );
    app.conversation.engine = EngineState::Ready;
    app
}

pub fn render(app: &App, width: u16, height: u16) -> String {
    Screen::new(width, height).draw(app)
}

/// A terminal kept from frame to frame, as the app's own: what drawing caches stays.
pub struct Screen {
    terminal: Terminal<TestBackend>,
    pub cache: ViewCache,
}

impl Screen {
    pub fn new(width: u16, height: u16) -> Screen {
        Screen {
            terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
            cache: ViewCache::default(),
        }
    }

    /// Draw a frame; the screen as text, one line per row.
    pub fn draw(&mut self, app: &App) -> String {
        let cache = &mut self.cache;
        self.terminal
            .draw(|frame| ui::draw(frame, app, cache))
            .unwrap();
        let buffer = self.terminal.backend().buffer();
        (0..buffer.area.height)
            .map(|y| {
                let row: String = (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect();
                row.trim_end().to_string() + "\n"
            })
            .collect()
    }
}

/// Compare with the stored snapshot, ids and clock times replaced (they differ every run).
pub fn check(name: &str, screen: &str) {
    let screen = &normalise(screen);
    let path = super::checkout()
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("RADIOCHAT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, screen).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} missing: run with RADIOCHAT_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(*screen, expected, "snapshot {name} differs:\n{screen}");
}

pub fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

pub fn type_text(app: &mut App, text: &str) {
    text.chars().for_each(|c| key(app, KeyCode::Char(c)));
}

/// Session ids (`20261126-221905-abcd`), dates with minutes (`2026-11-26 22:19`) and
/// clock times (`22:19:05`) become fixed placeholders.
pub fn normalise(screen: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = screen.chars().collect();
    let mut i = 0;
    let digits = |s: &[char]| s.iter().all(|c| c.is_ascii_digit());
    while i < chars.len() {
        let rest = &chars[i..];
        if rest.len() >= 20
            && digits(&rest[..8])
            && rest[8] == '-'
            && digits(&rest[9..15])
            && rest[15] == '-'
        {
            out.push_str("YYYYMMDD-HHMMSS-xxxx");
            i += 20;
        } else if rest.len() >= 16
            && digits(&rest[..4])
            && rest[4] == '-'
            && rest[10] == ' '
            && rest[13] == ':'
        {
            out.push_str("YYYY-MM-DD hh:mm");
            i += 16;
        } else if rest.len() >= 8
            && digits(&rest[..2])
            && rest[2] == ':'
            && digits(&rest[3..5])
            && rest[5] == ':'
            && digits(&rest[6..8])
        {
            out.push_str("hh:mm:ss");
            i += 8;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}
