//! `/jobs` and `/finetune` in the chat: the jobs window drawn on TestBackend (list, loss
//! chart, log), and a real fine-tune launched from the chat in tmux and watched to the end.

mod common;

use common::tui::{app, check, key, render, type_text};
use crossterm::event::KeyCode;
use radiochat::finetune::spec::Launcher;
use radiochat::finetune::status::{JobState, MetricLine, Status};
use radiochat::testkit::tmux::Tmux;
use radiochat::tui::app::Overlay;
use radiochat::tui::views::jobs::JobRow;
use std::path::PathBuf;
use std::time::Duration;

fn row(name: &str, state: JobState, steps: usize, total: usize, log: &[&str]) -> JobRow {
    let metrics: Vec<MetricLine> = (1..=steps)
        .map(|step| MetricLine {
            step,
            loss: Some(3.0 / (1.0 + step as f64 / 10.0)),
            total_steps: Some(total),
            elapsed_s: Some(step as f64 * 0.5),
            samples_per_s: Some(2.0),
            ..MetricLine::default()
        })
        .collect();
    let last = metrics.last().cloned().unwrap_or_default();
    JobRow {
        status: Status {
            run: PathBuf::from(format!("/work/finetune/{name}")),
            state,
            launcher: Launcher::Local,
            pid: Some(4242),
            slurm_job: None,
            exit_code: (state == JobState::Failed).then_some(1),
            step: last.step,
            total_steps: Some(total),
            loss: last.loss,
            val_loss: None,
            samples_per_s: last.samples_per_s,
            elapsed_s: last.elapsed_s,
            eta_s: (state == JobState::Running).then_some((total - steps) as f64 * 0.5),
            log_tail: log.iter().map(|l| l.to_string()).collect(),
        },
        metrics,
    }
}

#[test]
fn the_jobs_window_lists_runs_with_a_loss_curve_and_the_log() {
    let store = tempfile::tempdir().unwrap();
    let mut app = app(store.path(), "jobs");
    type_text(&mut app, "/jobs");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Jobs(_))));
    app.on_jobs(vec![
        row("20261127-0101-b3", JobState::Running, 40, 300, &["step 40"]),
        row(
            "20261126-2210-v2",
            JobState::Failed,
            3,
            100,
            &[
                "Traceback (most recent call last):",
                "ValueError: no-such-schedule",
            ],
        ),
    ]);
    let screen = render(&app, 100, 30);
    for needle in ["RUNNING", "40/300", "ETA 2 min", "FAILED", "loss", "step"] {
        assert!(screen.contains(needle), "{needle}:\n{screen}");
    }
    check("jobs_running_100x30", &screen);
    key(&mut app, KeyCode::Down);
    let screen = render(&app, 100, 30);
    assert!(
        screen.contains("exit code 1") && screen.contains("no-such-schedule"),
        "{screen}"
    );
    // Cancelling a job that has ended is refused with its state.
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(
        app.notice.as_ref().map(|n| n.text.clone()),
        Some("that job has already ended (FAILED)".to_string())
    );
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
}

#[test]
fn with_200_runs_the_list_follows_the_selection() {
    let store = tempfile::tempdir().unwrap();
    let mut app = app(store.path(), "jobs");
    type_text(&mut app, "/jobs");
    key(&mut app, KeyCode::Enter);
    let rows = (0..200)
        .map(|i| row(&format!("run-{i:03}"), JobState::Completed, 5, 5, &["done"]))
        .collect();
    app.on_jobs(rows);
    let screen = render(&app, 100, 30);
    assert!(
        screen.contains("run-000") && !screen.contains("run-150"),
        "{screen}"
    );
    for _ in 0..150 {
        key(&mut app, KeyCode::Down);
    }
    let screen = render(&app, 100, 30);
    assert!(
        screen.contains("run-150") && !screen.contains("run-000"),
        "{screen}"
    );
    // The list holds a third of the window: 30 rows less borders, a header, nine runs.
    let listed = screen.lines().filter(|l| l.contains("run-")).count();
    assert!((5..=10).contains(&listed), "{listed} rows:\n{screen}");
}

#[test]
fn a_fine_tune_launched_from_the_chat_is_watched_to_the_end() {
    let home = tempfile::tempdir().unwrap();
    let _jobs = common::cli::CancelJobsOnDrop(home.path());
    let (base, data) = common::cli::tiny_base_and_data(home.path(), 10, &[]);
    let tmux = Tmux::start(
        "jobs",
        &common::cli::tmux_command(home.path(), "--demo"),
        110,
        32,
    )
    .unwrap();
    tmux.wait_for("the demo model", Duration::from_secs(60), |s| {
        s.contains(" ready ")
    })
    .unwrap();
    tmux.line(&format!(
        "/finetune --base {} --data {} --max-steps 40 --log-every 5",
        base.display(),
        data.display()
    ))
    .unwrap();
    tmux.wait_for("the launch", Duration::from_secs(60), |s| {
        s.contains("fine-tune jobs")
    })
    .unwrap();
    let screen = tmux
        .wait_for("the job to complete", Duration::from_secs(180), |s| {
            s.contains("COMPLETED") && s.contains("40/40")
        })
        .unwrap();
    assert!(screen.contains("loss"), "{screen}");
    tmux.keys(&["Escape"]).unwrap();
    tmux.line("/quit").unwrap();
    tmux.wait_for("radiochat to exit", Duration::from_secs(20), |_| {
        tmux.pane_dead()
    })
    .unwrap();
    // The run is in the data directory, with its adapter.
    let runs: Vec<PathBuf> = std::fs::read_dir(home.path().join("data/finetune"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].join("adapter/adapter_model.safetensors").exists());
}
