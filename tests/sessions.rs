//! Sessions: the documented example, the CLI over the store, two instances on one session,
//! damaged journals and unwritable directories.

mod common;

use common::cli::{assert_bad_input, radiochat};
use radiochat::chat::journal;
use radiochat::chat::worker::{Worker, WorkerCommand, WorkerEvent};
use radiochat::chat::{AnswerState, Conversation, Event, Header, LiveSession, SessionStore};
use radiochat::engine::FinishReason;
use radiochat::util::clock;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn example() -> PathBuf {
    common::checkout().join("sessions/example.jsonl")
}

fn header(title: &str) -> Header {
    Header::new(title)
}

fn sessions_dir(home: &Path) -> PathBuf {
    home.join("data/sessions")
}

#[test]
fn the_documented_example_reads_as_the_readme_says() {
    let loaded = journal::read(&example()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = Conversation::replay(loaded.header, &loaded.events);
    assert_eq!(c.title, "A2255 relic morphology");
    assert_eq!(c.turns.len(), 3);
    assert_eq!(c.turns[0].images[0].settings.plane, vec![0, 0]);
    assert_eq!(
        c.turns[0].answer,
        "Yes: a large, elongated patch of low surface brightness emission east of the cluster centre."
    );
    assert!(c.turns[1].is_cancelled());
    assert_eq!(c.turns[2].state, AnswerState::Interrupted);
    assert_eq!(c.settings, vec![("max_tokens".into(), "1024".into())]);
}

#[test]
fn the_cli_lists_shows_searches_exports_renames_and_deletes() {
    let home = tempfile::tempdir().unwrap();
    let dir = sessions_dir(home.path());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(example(), dir.join("20261126-101500-3f2a.jsonl")).unwrap();
    let store = SessionStore::new(&dir);
    drop(LiveSession::start(&store, header("empty one")));

    let list = radiochat(&["sessions", "list"], home.path());
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("A2255 relic morphology") && text.contains("empty one"),
        "{text}"
    );

    let show = radiochat(&["sessions", "show", "a2255 relic morphology"], home.path());
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(
        text.contains("Is there diffuse emission in this cutout?"),
        "{text}"
    );
    assert!(
        text.contains("[cancelled]") && text.contains("[interrupted]"),
        "{text}"
    );

    let search = radiochat(
        &["sessions", "search", "RELIC", "or", "a", "halo"],
        home.path(),
    );
    let text = String::from_utf8_lossy(&search.stdout);
    assert!(text.contains("Is it a radio relic or a halo?"), "{text}");

    // Markdown: the image moved away, so the transcript says so instead of failing.
    let md = home.path().join("out/relic.md");
    std::fs::create_dir_all(md.parent().unwrap()).unwrap();
    let export = radiochat(
        &[
            "sessions",
            "export",
            "20261126-101500",
            "--out",
            md.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(export.status.code(), Some(0), "{export:?}");
    assert!(String::from_utf8_lossy(&export.stderr).contains("image no longer found"));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.starts_with("# A2255 relic morphology\n"), "{text}");
    assert!(
        text.contains("missing: the file is no longer there"),
        "{text}"
    );
    assert!(
        text.contains("(cancelled)") && text.contains("(interrupted)"),
        "{text}"
    );

    let json = home.path().join("out/relic.json");
    let export = radiochat(
        &[
            "sessions",
            "export",
            "20261126-101500-3f2a",
            "--format",
            "json",
            "-o",
            json.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(export.status.code(), Some(0), "{export:?}");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Exports hold the conversation: private, like the journal they come from.
    for file in [&md, &json] {
        assert_eq!(common::mode(file), 0o600, "{}", file.display());
    }
    assert_eq!(
        value["events"].as_array().unwrap().len(),
        12,
        "every journal event"
    );

    let rename = radiochat(
        &["sessions", "rename", "empty one", "Mirabest", "FR-I"],
        home.path(),
    );
    assert_eq!(rename.status.code(), Some(0), "{rename:?}");
    assert!(store.resolve("mirabest fr-i").is_ok());
    let delete = radiochat(&["sessions", "delete", "mirabest fr-i"], home.path());
    assert_eq!(delete.status.code(), Some(0), "{delete:?}");
    assert_eq!(store.list().len(), 1);

    assert_bad_input(
        &radiochat(&["sessions", "show", "no-such-session"], home.path()),
        &["no session matches 'no-such-session'"],
    );
    assert_bad_input(
        &radiochat(
            &["sessions", "export", "2026", "--format", "pdf"],
            home.path(),
        ),
        &["invalid value 'pdf' for '--format", "md, json"],
    );
}

#[test]
fn a_second_instance_gets_the_session_read_only_and_nothing_is_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::new(dir.path());
    let mut first = LiveSession::start(&store, header("shared"));
    let summary = store.resolve("shared").unwrap();
    let mut second = LiveSession::open(&summary).unwrap();
    assert!(second.unsaved.as_deref().unwrap().starts_with("read-only"));
    for i in 0..50 {
        first.record(Event::User {
            at: clock::now(),
            text: format!("first {i}"),
        });
        second.record(Event::User {
            at: clock::now(),
            text: format!("second {i}"),
        });
        first.token("answer ");
        first.record(Event::Done {
            at: clock::now(),
            finish: FinishReason::Stop,
            usage: Default::default(),
        });
    }
    drop(first);
    let loaded = journal::read(&summary.path).unwrap();
    assert!(loaded.warnings.is_empty());
    let c = Conversation::replay(loaded.header, &loaded.events);
    assert_eq!(c.turns.len(), 50);
    assert!(
        c.turns
            .iter()
            .all(|t| t.question.starts_with("first") && t.answer == "answer ")
    );
    // Once the first has gone, the session opens for writing again.
    assert!(LiveSession::open(&summary).unwrap().is_saved());
}

#[test]
fn garbage_lines_are_skipped_with_a_warning_and_the_rest_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("20261126-101500-3f2a.jsonl");
    let mut text = std::fs::read_to_string(example()).unwrap();
    text.insert_str(
        text.find("{\"type\":\"user\"").unwrap(),
        "\u{0}\u{1}garbage{{{\n",
    );
    std::fs::write(&path, text).unwrap();
    let store = SessionStore::new(dir.path());
    let live = LiveSession::open(&store.resolve("2026").unwrap()).unwrap();
    assert_eq!(live.conversation.turns.len(), 3);
    assert_eq!(live.warnings.len(), 1);
    assert!(
        live.warnings[0].contains("line 3: skipped"),
        "{:?}",
        live.warnings
    );
}

#[test]
fn an_unwritable_sessions_dir_keeps_the_chat_in_memory_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A path under a regular file can never be created (even by root).
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, b"").unwrap();
    let store = SessionStore::new(blocked.join("sessions"));
    let mut live = LiveSession::start(&store, header("nowhere"));
    assert!(!live.is_saved());
    assert!(
        live.unsaved.as_deref().unwrap().starts_with("not saved:"),
        "{:?}",
        live.unsaved
    );
    live.record(Event::User {
        at: clock::now(),
        text: "still works".into(),
    });
    assert_eq!(live.conversation.turns.len(), 1);
}

fn inspect(worker: &Worker, path: PathBuf) -> String {
    worker.send(WorkerCommand::Inspect {
        path,
        settings: Default::default(),
        transform: Default::default(),
    });
    match worker.recv_timeout(Duration::from_secs(30)) {
        Some(WorkerEvent::InspectFailed(message)) => message,
        Some(WorkerEvent::Inspected(i)) => format!("attached {}", i.image.path),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn bad_images_for_attach_get_one_line_errors() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::spawn().unwrap();
    let missing = inspect(&worker, dir.path().join("nope.fits"));
    assert!(missing.ends_with("nope.fits: no such file"), "{missing}");
    let directory = inspect(&worker, dir.path().to_path_buf());
    assert!(
        directory.ends_with("is a directory, not an image"),
        "{directory}"
    );
    let corrupt = dir.path().join("corrupt.fits");
    std::fs::write(
        &corrupt,
        b"SIMPLE  =                    T / garbage follows",
    )
    .unwrap();
    let message = inspect(&worker, corrupt);
    assert!(
        message.contains("corrupt.fits:") && !message.contains('\n'),
        "{message}"
    );
    let odd = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"cutout-\xff.fits"));
    common::fits::write_f32_image(&odd, 4, 4, &[1.0; 16]);
    let message = inspect(&worker, odd);
    assert!(message.contains("not valid UTF-8"), "{message}");
    let good = dir.path().join("good.fits");
    common::fits::write_f32_image(&good, 4, 4, &(0..16).map(|v| v as f32).collect::<Vec<_>>());
    assert!(inspect(&worker, good).starts_with("attached /"));
}

/// A stored session named `title` in a new home: the home, the store, its summary.
fn one_stored_session(
    title: &str,
) -> (
    tempfile::TempDir,
    SessionStore,
    radiochat::chat::SessionSummary,
) {
    let home = tempfile::tempdir().unwrap();
    let store = SessionStore::new(sessions_dir(home.path()));
    drop(LiveSession::start(&store, header(title)));
    let summary = store.resolve(title).unwrap();
    (home, store, summary)
}

#[test]
fn a_session_held_on_another_node_is_named_and_cannot_be_deleted_or_written() {
    let (home, _store, summary) = one_stored_session("held elsewhere");
    let lock = journal::lock_path(&summary.path);
    // The pid means nothing here: on this node no such process runs.
    let holder = common::ForeignLock::hold(&lock, "node07 4242 2026-11-30T09:00:00.000Z\n");

    let list = radiochat(&["sessions", "list"], home.path());
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("open on node07"), "{text}");
    let delete = radiochat(&["sessions", "delete", "held elsewhere"], home.path());
    let err = String::from_utf8_lossy(&delete.stderr);
    assert!(!delete.status.success(), "{err}");
    assert!(err.contains("4242 on node07"), "{err}");
    assert!(summary.path.exists(), "the held session survives");
    let reopened = LiveSession::open(&summary).unwrap();
    assert!(
        reopened.unsaved.as_deref().unwrap().contains("node07"),
        "{:?}",
        reopened.unsaved
    );
    drop(reopened);

    // A holder that has taken the lock but not yet written its record is just as live.
    drop(holder);
    let _starting = common::ForeignLock::hold(&lock, "");
    let delete = radiochat(&["sessions", "delete", "held elsewhere"], home.path());
    assert!(!delete.status.success());
    assert!(summary.path.exists());
}

#[test]
fn a_lock_file_left_by_a_killed_process_does_not_hold_the_session() {
    let (home, store, summary) = one_stored_session("left over");
    // What kill -9 on this node leaves behind: a record and no lock; the pid is ours, alive.
    let record = format!("somehost {} 2026-11-30T09:00:00.000Z\n", std::process::id());
    std::fs::write(journal::lock_path(&summary.path), record).unwrap();
    assert!(store.resolve("left over").unwrap().locked_by.is_none());
    assert!(LiveSession::open(&summary).unwrap().is_saved());
    let delete = radiochat(&["sessions", "delete", "left over"], home.path());
    assert!(delete.status.success());
    assert!(!summary.path.exists());
    assert!(!journal::lock_path(&summary.path).exists());
}
