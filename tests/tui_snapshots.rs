//! The TUI drawn on ratatui's TestBackend, compared with text snapshots in
//! tests/snapshots/ (written by RADIOCHAT_UPDATE_SNAPSHOTS=1 and read by a person before
//! they are committed).

mod common;

use common::tui::{app, check, header, key, render, type_text};
use crossterm::event::KeyCode;
use radiochat::chat::{Event, LiveSession, SessionStore};
use radiochat::engine::{FinishReason, Usage};
use radiochat::tui::app::App;

fn at(second: u32) -> String {
    format!("2026-11-26T22:01:{second:02}.000Z")
}

/// A cutout-like picture: dark sky, a bright double source.
fn picture() -> image::RgbImage {
    image::RgbImage::from_fn(64, 64, |x, y| {
        let d1 = (x as f32 - 22.0).powi(2) + (y as f32 - 32.0).powi(2);
        let d2 = (x as f32 - 42.0).powi(2) + (y as f32 - 32.0).powi(2);
        let v = (255.0 * ((-d1 / 30.0).exp() + (-d2 / 30.0).exp())).min(255.0) as u8;
        image::Rgb([v, v, v])
    })
}

fn ask(app: &mut App, second: u32, question: &str, image: Option<&str>) {
    if let Some(path) = image {
        app.conversation
            .pictures
            .inputs
            .insert(path.to_string(), picture());
        app.conversation.session.record(Event::Image {
            at: at(second),
            path: path.to_string(),
            sha256: "ab".repeat(32),
            settings: Default::default(),
        });
    }
    app.conversation.session.record(Event::User {
        at: at(second),
        text: question.to_string(),
    });
}

fn answer(app: &mut App, second: u32, text: &str, finish: FinishReason) {
    app.conversation.session.token(text);
    app.conversation.session.record(Event::Done {
        at: at(second),
        finish,
        usage: Usage::default(),
    });
}

#[test]
fn empty_screen_at_80x24() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "empty");
    check("empty_80x24", &render(&app, 80, 24));
}

#[test]
fn a_conversation_with_an_image_and_a_code_block() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "abell 2255");
    ask(
        &mut app,
        1,
        "Is this an FR-II galaxy?",
        Some("/data/cutouts/a2255.fits"),
    );
    answer(
        &mut app,
        3,
        "## Verdict\n\nLikely **FR-II**:\n\n- edge-brightened lobes\n- hotspots at both ends\n\n```python\nratio = lobe_flux / core_flux\n```\n",
        FinishReason::Stop,
    );
    let screen = render(&app, 100, 40);
    check("conversation_100x40", &screen);
    // The image pane shows the same cutout beside the chat from 100 columns on.
    assert!(screen.lines().nth(1).unwrap().contains("a2255.fits"));
}

#[test]
fn the_palette_filters_while_typing() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "palette");
    type_text(&mut app, "/se");
    check("palette_80x24", &render(&app, 80, 24));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.text(), "/sessions ");
}

#[test]
fn help_lists_every_key_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "help");
    key(&mut app, KeyCode::F(1));
    let screen = render(&app, 120, 48);
    check("help_120x48", &screen);
    for spec in radiochat::commands::slash::SLASH_COMMANDS {
        assert!(
            screen.contains(spec.usage),
            "{} missing from help",
            spec.usage
        );
    }
    // At 80×24 the list is longer than the window: it scrolls.
    assert!(!render(&app, 80, 24).contains("/jobs"));
    (0..4).for_each(|_| key(&mut app, KeyCode::PageDown));
    assert!(render(&app, 80, 24).contains("/jobs"));
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
}

#[test]
fn the_session_browser_lists_filters_and_marks_the_open_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::new(dir.path());
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (minutes, title) in [(1, "mirabest FR-I"), (2, "EMU pilot artefacts")] {
        let mut session = LiveSession::start(&store, header(title));
        if title.starts_with("mirabest") {
            session.record(Event::User {
                at: at(1),
                text: "Where are the hotspots?".into(),
            });
        }
        let journal = dir
            .path()
            .join(format!("{}.jsonl", session.conversation.header.id));
        drop(session);
        // Newest first: modification times a minute apart keep the order fixed.
        std::fs::File::options()
            .write(true)
            .open(&journal)
            .unwrap()
            .set_modified(hour_ago + std::time::Duration::from_secs(60 * minutes))
            .unwrap();
    }
    let mut app = app(dir.path(), "current chat");
    app.input.set_text("/sessions");
    app.submit();
    // The list is read by a helper thread.
    assert!(render(&app, 100, 24).contains("reading the sessions…"));
    let screen = background_until(&mut app, |s| s.contains("EMU pilot"));
    check("sessions_100x24", &screen);
    type_text(&mut app, "emu");
    let screen = render(&app, 100, 24);
    assert!(screen.contains("EMU pilot artefacts") && !screen.contains("mirabest"));
    // What was said is searched too, by a helper thread reading the journals.
    (0..3).for_each(|_| key(&mut app, KeyCode::Backspace));
    type_text(&mut app, "hotspot");
    assert!(render(&app, 100, 24).contains("no sessions match"));
    let screen = background_until(&mut app, |s| s.contains("mirabest FR-I"));
    assert!(!screen.contains("EMU"), "{screen}");
}

/// Results of helper threads, taken in until the screen shows what `wanted` looks for.
fn background_until(app: &mut App, wanted: impl Fn(&str) -> bool) -> String {
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let screen = render(app, 100, 24);
        if wanted(&screen) {
            return screen;
        }
        let left = give_up.saturating_duration_since(std::time::Instant::now());
        match app.background_rx.recv_timeout(left) {
            Ok(result) => app.on_background(result),
            Err(_) => panic!("not shown in time:\n{screen}"),
        }
    }
}

#[test]
fn a_cancelled_answer_keeps_its_text_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "cancelled");
    ask(&mut app, 1, "Describe every source in detail.", None);
    answer(
        &mut app,
        2,
        "There are three compact sources and",
        FinishReason::Cancelled,
    );
    let screen = render(&app, 80, 24);
    check("cancelled_80x24", &screen);
    assert!(screen.contains("[cancelled]"));
}

#[test]
fn an_engine_error_is_shown_on_the_turn_and_in_the_notice() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "error");
    ask(&mut app, 1, "What is this?", None);
    app.conversation.awaiting = true;
    app.on_worker(radiochat::chat::worker::WorkerEvent::Failed(
        "engine thread crashed: index out of bounds".into(),
    ));
    let screen = render(&app, 80, 24);
    check("error_80x24", &screen);
    assert_eq!(screen.matches("engine thread crashed").count(), 2);
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), "tiny");
    let screen = render(&app, 30, 6);
    assert!(screen.contains("terminal too small (30×6)"), "{screen}");
}

#[test]
fn bad_commands_get_a_one_line_notice_and_the_chat_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "typos");
    let notice = |app: &mut App, line: &str| {
        app.input.set_text(line);
        app.submit();
        let n = app.notice.clone().expect("a notice");
        assert!(n.error, "{line}: {}", n.text);
        assert!(!n.text.contains('\n'));
        n.text
    };
    assert_eq!(
        notice(&mut app, "/sesions"),
        "unknown command /sesions — did you mean /sessions?"
    );
    assert_eq!(
        notice(&mut app, "/set max_tokens lots"),
        "/set max_tokens: 'lots' is not a whole number"
    );
    assert!(notice(&mut app, "/load no-such-chat").contains("no session matches 'no-such-chat'"));
    assert!(notice(&mut app, "/finetune").starts_with("/finetune --base MODEL_DIR"));
    assert!(notice(&mut app, "/finetune --lr fast").starts_with("/finetune: invalid value"));
    assert!(notice(&mut app, "/bench B9 --limit x").starts_with("/bench: invalid value"));
    // A paste of 10 000 lines lands in the input whole and the screen still draws.
    let paste: String = (0..10_000).map(|i| format!("row {i}\n")).collect();
    app.on_paste(&paste);
    assert_eq!(app.input.lines().len(), 10_001);
    let screen = render(&app, 80, 24);
    assert!(screen.contains("row 9999"), "{screen}");
    assert!(app.conversation.session.conversation.turns.is_empty());
}

#[test]
fn the_preview_switches_stretch_through_the_worker() {
    use radiochat::chat::worker::{WorkerCommand, WorkerEvent};
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "preview");
    ask(&mut app, 1, "Look.", Some("/data/cutouts/double.fits"));
    app.input.set_text("/preview");
    app.submit();
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("double.fits · the model input (radio-llava, contrast 0.25)"),
        "{screen}"
    );
    key(&mut app, KeyCode::Char('s'));
    match app.outbox.pop() {
        Some(WorkerCommand::Render { path, stretch, .. }) => {
            assert_eq!(
                (path.as_str(), stretch.as_str()),
                ("/data/cutouts/double.fits", "zscale")
            )
        }
        _ => panic!("the zscale rendering is asked of the worker"),
    }
    assert!(render(&app, 80, 24).contains("rendering zscale…"));
    app.on_worker(WorkerEvent::Rendered {
        path: "/data/cutouts/double.fits".into(),
        stretch: "zscale".into(),
        picture: picture(),
    });
    check("preview_zscale_80x24", &render(&app, 80, 24));
    key(&mut app, KeyCode::Char('S'));
    assert!(render(&app, 80, 24).contains("the model input"));
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
}

#[test]
fn the_demo_offers_a_first_question_that_tab_takes() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = app(dir.path(), "demo");
    let question = radiochat::commands::demo::FIRST_QUESTION;
    app.suggestion = Some(question.to_string());
    let screen = render(&app, 100, 30);
    let offered = format!("{question}  (Tab takes it)");
    assert!(screen.contains(&offered), "{screen}");
    // Typing hides it; emptying the line shows it again.
    type_text(&mut app, "x");
    assert!(!render(&app, 100, 30).contains(question));
    key(&mut app, KeyCode::Backspace);
    assert!(render(&app, 100, 30).contains(&offered));
    // Tab puts it in the line, to send or edit.
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.text(), question);
    let screen = render(&app, 100, 30);
    assert!(
        screen.contains(question) && !screen.contains("Tab takes it"),
        "{screen}"
    );
    // Once a question is sent, nothing is offered any more.
    app.input.set_text("What is the brightest source?");
    app.submit();
    assert_eq!(app.suggestion, None);
    assert!(!render(&app, 100, 30).contains(question));
}
