//! A 10,000-turn session through the app on ratatui's TestBackend: each frame builds only
//! the turns it shows (counted by the view cache, no timing), scrolling moves the text by
//! exactly the lines asked, Home and End reach both ends, `/find` and Ctrl-F / Ctrl-G step
//! through the turns that mention a text, and a streaming answer is the only turn built
//! again frame after frame; the session opens from its end and the earlier turns come in
//! from a helper thread without moving the screen.

mod common;

use common::tui::{Screen, app_with, key, type_text};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use radiochat::chat::{Event, LiveSession, SessionStore};
use radiochat::testkit::long_session::{question, write_long_session};
use radiochat::tui::app::App;
use std::time::Duration;

const TURNS: usize = 10_000;
/// Turns a 100 × 40 window can show at once, with room to spare (a turn is 12 lines or more).
const ON_SCREEN: usize = 8;

fn ctrl(app: &mut App, c: char) {
    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
}

/// The conversation's rows (between the status bar and the notice or input box).
fn conversation_rows(screen: &str, rows: usize) -> Vec<String> {
    screen
        .lines()
        .skip(1)
        .take(rows)
        .map(String::from)
        .collect()
}

fn long_app(dir: &std::path::Path) -> App {
    let store = SessionStore::new(dir);
    let id = write_long_session(&store, TURNS).unwrap();
    let session = LiveSession::open(&store.resolve(&id).unwrap()).unwrap();
    assert_eq!(session.conversation.turns.len(), TURNS);
    app_with(store, session)
}

#[test]
fn a_frame_of_a_long_session_builds_only_the_turns_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = long_app(dir.path());
    let mut screen = Screen::new(100, 40);

    let first = screen.draw(&app);
    assert!(
        first.contains(&format!("Answer {TURNS}: FR-II")) && first.contains("Ask again"),
        "the last answer is shown:\n{first}"
    );
    let built = screen.cache.turns_built;
    assert!(
        (1..=ON_SCREEN).contains(&built),
        "the first frame built {built} turns"
    );
    screen.draw(&app);
    assert_eq!(
        screen.cache.turns_built, built,
        "a still frame builds nothing"
    );

    // PgUp moves the text down by exactly ten rows, PgDn back.
    let rows = 34; // 40 − status bar − input box (3) − the hint row kept out of the comparison
    let before = conversation_rows(&screen.draw(&app), rows);
    key(&mut app, KeyCode::PageUp);
    let after = conversation_rows(&screen.draw(&app), rows);
    assert_eq!(before[..rows - 10], after[10..], "PgUp scrolls ten lines");
    assert!(
        screen.draw(&app).contains("more lines (End)"),
        "the hint says there is more below"
    );
    key(&mut app, KeyCode::PageDown);
    assert_eq!(conversation_rows(&screen.draw(&app), rows), before);

    // All of that from the journal's last megabyte: the earlier turns arrive from a helper
    // thread into their places, and nothing on screen moves.
    let unread = app.conversation.session.conversation.unread;
    assert!(
        (TURNS - 1000..TURNS - 100).contains(&unread),
        "{unread} turns left to read"
    );
    let earlier = app
        .background_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the earlier turns are read");
    app.on_background(earlier);
    let conversation = &app.conversation.session.conversation;
    assert_eq!((conversation.unread, conversation.turns.len()), (0, TURNS));
    assert_eq!(conversation.turns[0].question, question(1));
    assert_eq!(conversation_rows(&screen.draw(&app), rows), before);

    // Home: the first turn, at a cost of the turns on screen.
    let built = screen.cache.turns_built;
    key(&mut app, KeyCode::Home);
    let top = screen.draw(&app);
    assert!(
        top.contains(&question(1)[..40]),
        "Home shows turn 1:\n{top}"
    );
    assert!(top.contains("more turns (End)"), "{top}");
    assert!(screen.cache.turns_built - built <= ON_SCREEN);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(screen.draw(&app), top, "nothing above the first turn");

    // /find goes to the latest turn that mentions the text; Ctrl-F older, Ctrl-G newer.
    let built = screen.cache.turns_built;
    // "turn 421" is in the questions of turns 421 and 4210–4219: eleven matches.
    type_text(&mut app, "/find turn 421");
    key(&mut app, KeyCode::Enter);
    let found = screen.draw(&app);
    assert!(
        found.contains("11 of 11 (turn 4219)"),
        "the notice says which match:\n{found}"
    );
    assert!(found.contains(&question(4219)[..30]), "{found}");
    ctrl(&mut app, 'f');
    let older = screen.draw(&app);
    assert!(older.contains("10 of 11 (turn 4218)"), "{older}");
    assert!(older.contains(&question(4218)[..30]), "{older}");
    ctrl(&mut app, 'g');
    assert!(screen.draw(&app).contains("11 of 11 (turn 4219)"));
    assert!(screen.cache.turns_built - built <= 3 * ON_SCREEN);
    type_text(&mut app, "/find no such words");
    key(&mut app, KeyCode::Enter);
    assert!(
        screen
            .draw(&app)
            .contains("no turn mentions 'no such words'")
    );

    // End: back to the end.
    key(&mut app, KeyCode::End);
    assert!(screen.draw(&app).contains("Ask again"));
    assert!(
        screen.cache.turns_built <= 8 * ON_SCREEN,
        "{} turns built for a dozen screens of a {TURNS}-turn session",
        screen.cache.turns_built
    );
}

#[test]
fn only_the_streaming_answer_is_built_again_while_it_streams() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = long_app(dir.path());
    let mut screen = Screen::new(100, 40);
    screen.draw(&app);
    // The question as the chat records it when it sends one (no model runs here).
    app.conversation.session.record(Event::User {
        at: "2026-12-03T00:00:00.000Z".into(),
        text: "and the jet's position angle?".into(),
    });
    screen.draw(&app);
    for word in ["The ", "jet ", "points ", "north-", "east."] {
        let built = screen.cache.turns_built;
        app.conversation.session.token(word);
        let frame = screen.draw(&app);
        assert_eq!(screen.cache.turns_built - built, 1, "one turn per frame");
        assert!(frame.contains(word.trim_end()), "{frame}");
    }
    assert!(screen.draw(&app).contains("The jet points north-east."));
}
