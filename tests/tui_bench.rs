//! The chat's `/bench`: the bench view drawn on TestBackend (progress, metrics table, heat
//! map), and the run itself driven through the App with a real tiny model: files written,
//! the live score equal to `bench score` on the predictions, stop and --resume.

mod common;

use common::tui::{app, check, key, render, type_text};
use crossterm::event::KeyCode;
use radiochat::bench::predictions::Prediction;
use radiochat::bench::{ParseMode, find_task, load_tasks, score};
use radiochat::chat::worker::{SharedEngine, WorkerCommand};
use radiochat::commands::bench_run::{Progress, RunOutcome};
use radiochat::engine::{LoadSpec, ModelSource};
use radiochat::tui::app::{App, Overlay};
use radiochat::tui::views::bench::{BenchEvent, BenchState};
use radiochat::tui::views::info::InfoView;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn prediction(sname: &str, truth: &[&str], raw: &str) -> Prediction {
    Prediction {
        sname: sname.into(),
        truth: truth.iter().map(|t| t.to_string()).collect(),
        pred: None,
        raw: raw.into(),
        attempts: 1,
        latency_ms: 10.0,
        prompt_tokens: 100,
        completion_tokens: 2,
        error: None,
    }
}

/// B3 answers: 6 right, 2 wrong, 1 unreadable.
fn b3_predictions() -> Vec<Prediction> {
    [
        ("YES", "YES"),
        ("YES", "YES"),
        ("YES", "NO"),
        ("YES", "Yes."),
        ("NO", "NO"),
        ("NO", "no"),
        ("NO", "NO"),
        ("NO", "YES"),
        ("NO", "I cannot tell"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (truth, raw))| prediction(&format!("s{i}"), &[truth], raw))
    .collect()
}

fn notice(app: &App) -> String {
    app.notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

/// Type a line at the prompt (closing the bench view first, as a user would).
fn send(app: &mut App, line: &str) {
    if app.overlay.is_some() {
        key(app, KeyCode::Esc);
    }
    type_text(app, line);
    key(app, KeyCode::Enter);
}

fn started(task: &str, title: &str, total: usize) -> BenchEvent {
    BenchEvent::Started {
        dir: PathBuf::from(format!("/work/runs/{}-run", &task[..2])),
        task: task.into(),
        title: title.into(),
        model: "demo".into(),
        dataset: PathBuf::from("/work/sky/dataset.json"),
        progress: Progress {
            total,
            ..Progress::default()
        },
        skipped: None,
        score: None,
    }
}

#[test]
fn the_bench_view_shows_progress_then_the_table_and_the_heat_map() {
    let store = tempfile::tempdir().unwrap();
    let mut app = app(store.path(), "bench");
    send(&mut app, "/bench B3 --data sky/dataset.json --limit 9");
    assert!(matches!(app.overlay, Some(Overlay::Bench)));
    assert!(matches!(
        app.outbox.last(),
        Some(WorkerCommand::WithEngine(_))
    ));
    assert!(app.bench_running());
    let tasks = load_tasks(None).unwrap();
    let b3 = find_task(&tasks, "B3").unwrap();
    let all = b3_predictions();
    app.on_bench(started(
        "B3 · galaxydet-radioimg",
        "radio-galaxy detection",
        9,
    ));
    let partial = &all[..5];
    app.on_bench(BenchEvent::Progress {
        progress: Progress {
            done: 5,
            total: 9,
            correct: 4,
            invalid: 0,
            items_per_s: 2.5,
            eta_s: 1.6,
            ..Progress::default()
        },
        score: Some(score(&b3, partial, ParseMode::Strict)),
    });
    let screen = render(&app, 80, 24);
    assert!(screen.contains("5/9"), "{screen}");
    assert!(screen.contains("bench B3 5/9"), "status bar: {screen}");
    check("bench_running_80x24", &screen);

    let final_score = score(&b3, &all, ParseMode::Strict);
    assert_eq!(final_score.invalid, 1);
    app.on_bench(BenchEvent::Finished(Box::new(RunOutcome {
        dir: PathBuf::from("/work/runs/B3-run"),
        score: final_score,
        progress: Progress {
            done: 9,
            total: 9,
            correct: 6,
            invalid: 1,
            items_per_s: 2.5,
            ..Progress::default()
        },
        skipped: None,
        stopped: false,
        merged: None,
    })));
    assert_eq!(app.bench.as_ref().unwrap().state, BenchState::Finished);
    let notice = notice(&app);
    assert!(
        notice.starts_with("benchmark finished: accuracy 0.750"),
        "{notice}"
    );
    let screen = render(&app, 120, 32);
    assert!(!screen.contains("x stops"), "finished runs cannot stop");
    check("bench_finished_120x32", &screen);

    // Esc closes the view; /bench opens it again.
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
    send(&mut app, "/bench");
    assert!(matches!(app.overlay, Some(Overlay::Bench)));
}

#[test]
fn a_multi_label_run_shows_a_confusion_row_per_class() {
    let store = tempfile::tempdir().unwrap();
    let mut app = app(store.path(), "bench");
    send(&mut app, "/bench B1 --data sky/dataset.json");
    let tasks = load_tasks(None).unwrap();
    let b1 = find_task(&tasks, "B1").unwrap();
    let predictions = vec![
        prediction("a", &["EXTENDED"], "EXTENDED"),
        prediction("b", &["EXTENDED", "DIFFUSE"], "EXTENDED, DIFFUSE"),
        prediction("c", &["NONE"], "EXTENDED"),
        prediction("d", &["DIFFUSE-LARGE"], "DIFFUSE"),
        prediction("e", &["NONE"], "NONE"),
    ];
    app.on_bench(started(
        "B1 · smorph-radioimg",
        "extended and diffuse sources",
        5,
    ));
    app.on_bench(BenchEvent::Progress {
        progress: Progress {
            done: 5,
            total: 5,
            correct: 3,
            items_per_s: 1.25,
            ..Progress::default()
        },
        score: Some(score(&b1, &predictions, ParseMode::Strict)),
    });
    let screen = render(&app, 100, 30);
    for needle in ["hamming score", "TN", "DIFFUSE-LARGE", "EXTENDED"] {
        assert!(screen.contains(needle), "{needle}: {screen}");
    }
    check("bench_multilabel_100x30", &screen);
}

#[test]
fn a_box_task_shows_its_boxes_table_and_box_f1() {
    let store = tempfile::tempdir().unwrap();
    let mut app = app(store.path(), "bench");
    send(&mut app, "/bench L1 --data sky/dataset.json");
    let tasks = load_tasks(None).unwrap();
    let l1 = find_task(&tasks, "L1").unwrap();
    let predictions = vec![
        prediction(
            "a:COMPACT",
            &["[0.5, 0.5, 0.2, 0.2]"],
            "[0.5, 0.5, 0.2, 0.2]",
        ),
        prediction(
            "a:SPURIOUS",
            &[],
            "The image does not contain imaging artefacts.",
        ),
        prediction(
            "b:COMPACT",
            &["[0.3, 0.3, 0.2, 0.2]", "[0.7, 0.7, 0.1, 0.1]"],
            "[0.35, 0.3, 0.2, 0.2]",
        ),
        prediction("b:EXTENDED", &["[0.5, 0.5, 0.4, 0.3]"], "no idea"),
    ];
    app.on_bench(started(
        "L1 · sourcedet-radioyolo",
        "source localisation",
        4,
    ));
    let final_score = score(&l1, &predictions, ParseMode::Strict);
    app.on_bench(BenchEvent::Finished(Box::new(RunOutcome {
        dir: PathBuf::from("/work/runs/L1-run"),
        score: final_score,
        progress: Progress {
            done: 4,
            total: 4,
            correct: 2,
            invalid: 1,
            items_per_s: 2.0,
            ..Progress::default()
        },
        skipped: None,
        stopped: false,
        merged: None,
    })));
    // COMPACT: 2 of 3 boxes found, none wrong; EXTENDED's unreadable answer counts only in
    // the last row.
    let notice = notice(&app);
    assert!(
        notice.starts_with("benchmark finished: box F1 0.800"),
        "{notice}"
    );
    let screen = render(&app, 120, 32);
    for needle in ["boxes at IoU ≥ 0.5", "COMPACT", "overall+inv.", "presence"] {
        assert!(screen.contains(needle), "{needle}: {screen}");
    }
    check("bench_boxes_120x32", &screen);
}

#[test]
fn bench_needs_a_model_and_refuses_a_second_run_or_a_model_switch() {
    let store = tempfile::tempdir().unwrap();
    let mut app = app(store.path(), "bench");
    app.conversation.engine = radiochat::tui::app::EngineState::NoModel;
    send(&mut app, "/bench B3 --data d.json");
    assert!(notice(&app).starts_with("no model loaded"));
    assert!(app.bench.is_none());

    app.conversation.engine = radiochat::tui::app::EngineState::Ready;
    send(&mut app, "/bench B3 --data d.json");
    assert!(app.bench_running());
    send(&mut app, "/bench B4 --data d.json");
    assert!(notice(&app).starts_with("a benchmark is running"));
    send(&mut app, "/model /elsewhere");
    assert!(notice(&app).contains("/bench stop ends it first"));
    send(&mut app, "/bench B3");
    assert_eq!(
        notice(&app),
        "/bench needs --data FILE (a radio-llava dataset JSON)"
    );
    // With no run, /bench alone lists the tasks.
    let mut fresh = common::tui::app(store.path(), "tasks");
    send(&mut fresh, "/bench");
    let Some(Overlay::Info(InfoView { lines, .. })) = &fresh.overlay else {
        panic!("no task list");
    };
    assert!(lines.iter().any(|l| l.starts_with("B6")), "{lines:?}");
    // /bench prompt shows what an item sends, as `bench prompt` prints it.
    send(&mut fresh, "/bench prompt B3 --prompt clean");
    let Some(Overlay::Info(InfoView { lines, .. })) = &fresh.overlay else {
        panic!("no prompt shown: {:?}", fresh.notice);
    };
    assert_eq!(lines[0], "B3 · prompt clean");
    assert!(
        lines
            .iter()
            .any(|l| l == "── user · image: the item, then the text")
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Do you see any likely radio galaxy"))
    );
    let last: u16 = lines
        .iter()
        .map(|l| l.chars().count() as u16 / 16 + 1)
        .sum();
    assert!(last < 20, "two PageDowns reach the last row: {lines:?}");
    key(&mut fresh, KeyCode::PageDown);
    key(&mut fresh, KeyCode::PageDown);
    key(&mut fresh, KeyCode::Up);
    let Some(Overlay::Info(InfoView { scroll, title, .. })) = &fresh.overlay else {
        panic!("the prompt closed on a scroll key");
    };
    assert_eq!(
        (*title, *scroll),
        ("bench prompt", last - 1),
        "scrolled to the last row, then up one"
    );
    send(&mut fresh, "/bench prompt B3 --prompt v7");
    assert!(
        notice(&fresh).contains("choices: clean, clean-v2, v1"),
        "{}",
        notice(&fresh)
    );
}

/// Run the job the App queued, with `engine` as the chat's model; feed its reports back.
fn run_queued(app: &mut App, shared: SharedEngine) {
    let Some(WorkerCommand::WithEngine(job)) = app.outbox.pop() else {
        panic!("no job queued: {:?}", app.notice);
    };
    job(Ok(shared));
    let events: Vec<_> = app.background_rx.try_iter().collect();
    for event in events {
        app.on_background(event);
    }
}

fn tiny_engine(dir: &Path, runtime: &tokio::runtime::Runtime) -> SharedEngine {
    radiochat::testkit::tiny::write(
        "idefics3",
        radiochat::testkit::tiny::Scale::Tiny,
        0,
        dir,
        true,
    )
    .unwrap();
    let source = ModelSource::Local(dir.to_path_buf());
    let engine = runtime
        .block_on(radiochat::engine::load(&LoadSpec::new(source.clone())))
        .unwrap();
    SharedEngine {
        engine: Arc::from(engine),
        source,
        runtime: runtime.handle().clone(),
    }
}

#[test]
fn a_run_from_the_chat_writes_its_directory_and_scores_like_bench_score() {
    let home = tempfile::tempdir().unwrap();
    let sky = home.path().join("sky");
    radiochat::commands::synth::run(&radiochat::commands::synth::SynthArgs {
        out: sky.clone(),
        n: 6,
        seed: 5,
        size: 64,
        kind: radiochat::commands::synth::SynthKind::Radio(
            radiochat::imaging::synth::SkyKind::RadioImg,
        ),
        balance: Default::default(),
        option_order: Default::default(),
    })
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model_dir = home.path().join("model");
    let shared = || tiny_engine(&model_dir, &runtime);
    let mut app = app(home.path(), "bench");
    app.conversation.sampling.max_tokens = 6;
    let run = home.path().join("run");
    let data = sky.join("dataset.json");
    send(
        &mut app,
        &format!(
            "/bench B3 --data {} --out {} --concurrency 2",
            data.display(),
            run.display()
        ),
    );
    // Stopped before the first item: nothing scored, no metrics, resumable.
    app.bench
        .as_ref()
        .unwrap()
        .stop
        .store(true, std::sync::atomic::Ordering::Relaxed);
    run_queued(&mut app, shared());
    let bench = app.bench.as_ref().unwrap();
    assert_eq!(bench.state, BenchState::Stopped, "{:?}", app.notice);
    assert_eq!(bench.progress.done, 0, "stopped before the first item");
    let predictions = std::fs::read_to_string(run.join("predictions.jsonl")).unwrap_or_default();
    assert_eq!(predictions.lines().count(), 0, "{predictions}");
    assert!(!run.join("metrics.json").exists());
    assert!(notice(&app).contains("/bench --resume"));

    send(&mut app, &format!("/bench --resume {}", run.display()));
    run_queued(&mut app, shared());
    let bench = app.bench.as_ref().unwrap();
    assert_eq!(bench.state, BenchState::Finished, "{:?}", app.notice);
    assert_eq!((bench.progress.done, bench.progress.total), (6, 6));
    common::assert_run_dir_complete(&run);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["model"], model_dir.display().to_string());
    assert_eq!(info["max_tokens"], 6);
    let rescored = radiochat::commands::bench::score(
        &run.join("predictions.jsonl"),
        "B3",
        ParseMode::Strict,
        None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(bench.score.as_ref(), Some(&rescored));
    let screen = render(&app, 120, 32);
    assert!(screen.contains("6/6 · 100 %"), "{screen}");

    // Resuming under another model is refused with the model to load.
    send(&mut app, &format!("/bench --resume {}", run.display()));
    let mut other = shared();
    other.source = ModelSource::Local(PathBuf::from("/models/other"));
    run_queued(&mut app, other);
    let notice = notice(&app);
    assert!(
        notice.contains("the run used the model") && notice.contains("/models/other"),
        "{notice}"
    );
}

#[test]
fn without_a_model_the_job_reports_why() {
    let store = tempfile::tempdir().unwrap();
    let mut app = app(store.path(), "bench");
    send(&mut app, "/bench B3 --data d.json");
    let Some(WorkerCommand::WithEngine(job)) = app.outbox.pop() else {
        panic!("no job queued");
    };
    job(Err(radiochat::chat::worker::NoModel));
    let events: Vec<_> = app.background_rx.try_iter().collect();
    events.into_iter().for_each(|e| app.on_background(e));
    assert!(matches!(
        &app.bench.as_ref().unwrap().state,
        BenchState::Failed(m) if m.starts_with("no model loaded")
    ));
    assert!(!app.bench_running());
}
