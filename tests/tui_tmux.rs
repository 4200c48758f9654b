//! The chat end to end in a real terminal (tmux): a random tiny model (long answers), a synthetic FITS cutout,
//! streaming, cancel, /save, quit; then a kill -9 mid-answer and --resume.

mod common;

use common::cli::{radiochat, random_model_flag};
use radiochat::testkit::tmux::Tmux;
use std::path::Path;
use std::time::Duration;

const LOAD: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(20);

fn command(home: &Path, args: &str) -> String {
    common::cli::tmux_command(home, args)
}

/// A synthetic sky of `n` 64-pixel cutouts of `kind` under `home/sky`.
fn synth(home: &Path, kind: &str, n: usize) -> std::path::PathBuf {
    common::cli::synth_sky(home, "sky", kind, n, 3);
    home.join("sky")
}

fn answer_text(screen: &str) -> String {
    // The lines after the newest "radiochat ·" heading, up to the notice / input box. A fast
    // machine scrolls the heading off the pane within a poll: then every line under the status bar.
    let lines: Vec<&str> = screen.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.starts_with("radiochat"))
        .map(|i| i + 1)
        .unwrap_or(1.min(lines.len()));
    lines[start..]
        .iter()
        .take_while(|l| !l.starts_with('┌') && !l.starts_with('['))
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("")
}

#[test]
fn chat_attach_ask_stream_cancel_save_quit_then_kill_and_resume() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "mirabest", 2);
    let fits = sky.join("images/mirabest-000000.fits");
    assert!(fits.exists());

    let tmux = Tmux::start(
        "chat",
        &command(home.path(), &random_model_flag(home.path())),
        100,
        30,
    )
    .unwrap();
    tmux.wait_for("the model to load", LOAD, |s| s.contains(" ready "))
        .unwrap();

    tmux.line(&format!("/image {}", fits.display())).unwrap();
    tmux.wait_for("the attachment", STEP, |s| {
        s.contains("attached mirabest-000000.fits")
    })
    .unwrap();
    tmux.line("/set max_tokens 3000").unwrap();
    tmux.wait_for("the setting", STEP, |s| s.contains("max_tokens = 3000"))
        .unwrap();

    // Ask; tokens arrive under the question while the status says generating; Esc cancels.
    // The question is looked for at the first tokens only: a fast machine streams enough by the
    // next look to scroll it off a 30-line pane.
    tmux.line("What kind of radio galaxy is this?").unwrap();
    let first = tmux
        .wait_for("tokens under the question", STEP, |s| {
            s.contains("What kind of radio galaxy is this?")
                && s.contains("generating")
                && answer_text(s).len() > 20
        })
        .unwrap();
    // Still generating and the answer moved on (grown, or scrolled once it fills the pane).
    tmux.wait_for("more tokens", STEP, |s| {
        s.contains("generating") && answer_text(s) != answer_text(&first)
    })
    .unwrap();
    tmux.keys(&["Escape"]).unwrap();
    let cancelled = tmux
        .wait_for("the cancel", STEP, |s| s.contains("[cancelled]"))
        .unwrap();
    assert!(cancelled.contains(" ready "), "{cancelled}");

    let transcript = home.path().join("chat.md");
    tmux.line(&format!("/save {}", transcript.display()))
        .unwrap();
    tmux.wait_for("the transcript", STEP, |s| s.contains("saved "))
        .unwrap();
    let md = std::fs::read_to_string(&transcript).unwrap();
    assert!(md.contains("What kind of radio galaxy is this?"), "{md}");
    assert!(md.contains("(cancelled)"), "{md}");
    assert!(home.path().join("chat.images/turn1-1.png").exists());

    // Ctrl-C twice at an empty prompt quits; the terminal is given back.
    tmux.keys(&["C-c"]).unwrap();
    tmux.wait_for("the quit prompt", STEP, |s| s.contains("Ctrl-C again"))
        .unwrap();
    tmux.keys(&["C-c"]).unwrap();
    tmux.wait_for("radiochat to exit", STEP, |_| tmux.pane_dead())
        .unwrap();

    // Again, and this time the process dies mid-answer.
    tmux.respawn(&command(
        home.path(),
        &format!("{} --resume", random_model_flag(home.path())),
    ))
    .unwrap();
    tmux.wait_for("the resumed session", LOAD, |s| {
        s.contains(" ready ") && s.contains("What kind of radio galaxy is this?")
    })
    .unwrap();
    tmux.line("/set max_tokens 3000").unwrap();
    tmux.line("Describe the lobes.").unwrap();
    let streaming = tmux
        .wait_for("tokens of the second answer", STEP, |s| {
            s.contains("Describe the lobes.")
                && s.contains("generating")
                && answer_text(s).len() > 40
        })
        .unwrap();
    // Tokens reach the journal every 250 ms: kill -9 once some of them are on disk.
    let on_disk =
        common::cli::wait_for_journalled_answer(home.path(), "Describe the lobes.", 20, STEP);
    let pid = tmux.pane_pid().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    tmux.wait_for("the killed process", STEP, |_| tmux.pane_dead())
        .unwrap();
    assert!(!answer_text(&streaming).is_empty());

    tmux.respawn(&command(
        home.path(),
        &format!("{} --resume", random_model_flag(home.path())),
    ))
    .unwrap();
    let resumed = tmux
        .wait_for("the session after the crash", LOAD, |s| {
            s.contains(" ready ") && s.contains("[interrupted")
        })
        .unwrap();
    assert!(resumed.contains("Describe the lobes."), "{resumed}");
    tmux.keys(&["C-c"]).unwrap();
    tmux.keys(&["C-c"]).unwrap();
    tmux.wait_for("radiochat to exit", STEP, |_| tmux.pane_dead())
        .unwrap();

    // The journal agrees: both questions, the first answer cancelled, the second interrupted
    // with its partial text.
    let list = radiochat(&["sessions", "list", "--json"], home.path());
    let sessions: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(
        sessions.as_array().map(Vec::len),
        Some(1),
        "one session, resumed twice"
    );
    let id = sessions[0]["id"].as_str().unwrap();
    let show = radiochat(&["sessions", "show", id], home.path());
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(
        text.contains("[cancelled]") && text.contains("[interrupted]"),
        "{text}"
    );
    // Everything on disk before the kill survived it, and is what the session shows.
    let survived = common::cli::journalled_answer(home.path(), "Describe the lobes.");
    assert!(
        survived.starts_with(&on_disk),
        "on disk before the kill: {on_disk:?}; after: {survived:?}"
    );
    assert!(text.contains(survived.trim()), "{text}");
}

/// A chat on a random tiny model in tmux, streaming a long answer to `question`.
fn streaming_a_long_answer(home: &Path, name: &str, question: &str) -> Tmux {
    let tmux = Tmux::start(name, &command(home, &random_model_flag(home)), 100, 30).unwrap();
    tmux.wait_for("the model", LOAD, |s| s.contains(" ready "))
        .unwrap();
    tmux.line("/set max_tokens 3000").unwrap();
    tmux.line(question).unwrap();
    tmux.wait_for("tokens", STEP, |s| {
        s.contains("generating") && answer_text(s).len() > 20
    })
    .unwrap();
    tmux
}

/// SIGTERM and SIGHUP (an SSH drop) mid-answer: the terminal is given back (the alternate
/// screen is left) and the text streamed so far is saved, marked interrupted on resume.
#[test]
fn sigterm_and_sighup_restore_the_terminal_and_keep_the_partial_answer() {
    let home = tempfile::tempdir().unwrap();
    let mut before = Vec::new();
    for (signal, name) in [("-TERM", "sigterm"), ("-HUP", "sighup")] {
        let question = format!("Question before {name}?");
        let tmux = streaming_a_long_answer(home.path(), name, &question);
        let on_disk = common::cli::wait_for_journalled_answer(home.path(), &question, 20, STEP);
        before.push((question, on_disk));
        let pid = tmux.pane_pid().unwrap();
        let sent = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        tmux.wait_for("radiochat to exit", STEP, |_| tmux.pane_dead())
            .unwrap();
        let after = tmux.screen().unwrap();
        assert!(
            !after.contains(&format!("Question before {name}?")),
            "{name}: the chat screen is gone (alternate screen left):\n{after}"
        );
    }
    let list = radiochat(&["sessions", "list", "--json"], home.path());
    let sessions: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    for session in sessions.as_array().unwrap() {
        let id = session["id"].as_str().unwrap();
        let show = radiochat(&["sessions", "show", id], home.path());
        let text = String::from_utf8_lossy(&show.stdout);
        assert!(text.contains("[interrupted]"), "{text}");
    }
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    // What streamed before the signal was kept, and the handler saved the rest it had.
    for (question, on_disk) in before {
        let saved = common::cli::journalled_answer(home.path(), &question);
        assert!(
            saved.starts_with(&on_disk) && saved.len() >= on_disk.len(),
            "{question}: on disk before the signal {on_disk:?}, saved {saved:?}"
        );
    }
}

/// The terminal vanishes under a streaming answer (the tmux server is killed, as when an SSH
/// connection's sshd dies): radiochat notices the dead terminal, saves what streamed and
/// exits, instead of spinning on reads of a hung-up tty.
#[test]
fn a_vanished_terminal_ends_the_chat_and_keeps_the_partial_answer() {
    let home = tempfile::tempdir().unwrap();
    let tmux = streaming_a_long_answer(
        home.path(),
        "vanish",
        "Question before the terminal vanishes?",
    );
    let on_disk = common::cli::wait_for_journalled_answer(
        home.path(),
        "Question before the terminal vanishes?",
        20,
        STEP,
    );
    let chat = tmux.pane_pid().unwrap();
    let server = tmux.server_pid().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &server.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    while process_running(chat) {
        if started.elapsed() > Duration::from_secs(15) {
            // Not left behind spinning when this test fails.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &chat.to_string()])
                .status();
            panic!("radiochat (pid {chat}) still ran 15 s after its terminal vanished");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let list = radiochat(&["sessions", "list", "--json"], home.path());
    let sessions: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let id = sessions[0]["id"].as_str().unwrap();
    let show = radiochat(&["sessions", "show", id], home.path());
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(
        text.contains("Question before the terminal vanishes?"),
        "{text}"
    );
    let saved =
        common::cli::journalled_answer(home.path(), "Question before the terminal vanishes?");
    assert!(
        saved.starts_with(&on_disk),
        "on disk before the terminal vanished {on_disk:?}, saved {saved:?}"
    );
}

/// The chat on a remote server (`radiochat serve` on loopback, with an API key): the answer
/// streams in, the status bar says remote, and the saved session names the server, not the key.
#[test]
fn the_chat_talks_to_a_remote_server() {
    let home = tempfile::tempdir().unwrap();
    let flag = random_model_flag(home.path());
    let served = common::serve::Served::start(
        home.path(),
        &[
            "--model",
            flag.trim_start_matches("--model "),
            "--api-key-env",
            "RC_TUI_KEY",
        ],
        &[("RC_TUI_KEY", "sk-tui-secret-91")],
    );
    let args = format!("--remote {} --api-key-env RC_TUI_KEY", served.url);
    let tmux = Tmux::start(
        "remote",
        &format!(
            "export RC_TUI_KEY=sk-tui-secret-91; {}",
            command(home.path(), &args)
        ),
        100,
        30,
    )
    .unwrap();
    let ready = tmux
        .wait_for("the connection", LOAD, |s| s.contains(" ready "))
        .unwrap();
    assert!(ready.contains("random-idefics3 · remote"), "{ready}");
    tmux.line("/set max_tokens 12").unwrap();
    tmux.line("Hello over HTTP?").unwrap();
    tmux.wait_for("the answer", STEP, |s| {
        s.contains(" ready ") && answer_text(s).chars().count() >= 5
    })
    .unwrap();
    tmux.line("/quit").unwrap();
    tmux.wait_for("radiochat to exit", STEP, |_| tmux.pane_dead())
        .unwrap();
    let list = radiochat(&["sessions", "list", "--json"], home.path());
    let sessions: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let id = sessions[0]["id"].as_str().unwrap();
    let journal =
        std::fs::read_to_string(home.path().join(format!("data/sessions/{id}.jsonl"))).unwrap();
    assert!(
        journal.contains(&format!("remote:{}", served.url)),
        "{journal}"
    );
    assert!(!journal.contains("sk-tui-secret-91"));
    // Over HTTP the chat got the answer the embedded engine gives to the same question.
    let model = random_model_flag(home.path());
    let model = model.trim_start_matches("--model ");
    let embedded = radiochat(
        &[
            "ask",
            "--model",
            model,
            "--max-tokens",
            "12",
            "--json",
            "Hello over HTTP?",
        ],
        home.path(),
    );
    assert_eq!(embedded.status.code(), Some(0), "{embedded:?}");
    let embedded: serde_json::Value = serde_json::from_slice(&embedded.stdout).unwrap();
    assert_eq!(
        common::cli::journalled_answer(home.path(), "Hello over HTTP?"),
        embedded["answer"].as_str().unwrap()
    );
}

/// Alive and not a zombie (a killed tmux server leaves its children to be reaped by init).
fn process_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .next()?
                .to_string();
            Some(state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// `radiochat --demo`: the fine-tuned demo model with the synthetic FR-II cutout attached; a
/// benchmark question about it gets an answer in the benchmark's format, and the saved
/// transcript holds the image.
#[test]
fn demo_opens_with_a_cutout_attached_and_answers_about_it() {
    let home = tempfile::tempdir().unwrap();
    let tmux = Tmux::start("demo", &command(home.path(), "--demo"), 100, 30).unwrap();
    let opened = tmux
        .wait_for("the demo model and its cutout", LOAD, |s| {
            s.contains(" ready ")
                && s.contains("Attached (goes with your next message)")
                && s.contains("fr2-radio-galaxy.fits")
        })
        .unwrap();
    assert!(opened.contains("radio-llava-nano"), "{opened}");
    // The input line offers a first question about the cutout.
    assert!(
        opened.contains(radiochat::commands::demo::FIRST_QUESTION),
        "{opened}"
    );
    assert!(home.path().join("data/demo/fr2-radio-galaxy.fits").exists());
    tmux.line("Do you see any likely radio galaxy with an extended morphology in the image? Answer concisely: Yes or No.")
        .unwrap();
    let answered = tmux
        .wait_for("the answer", STEP, |s| {
            s.contains(" ready ")
                && (answer_text(s).contains("YES") || answer_text(s).contains("NO"))
        })
        .unwrap();
    assert!(!answered.contains("error"), "{answered}");
    let transcript = home.path().join("demo.md");
    tmux.line(&format!("/save {}", transcript.display()))
        .unwrap();
    tmux.wait_for("the transcript", STEP, |s| s.contains("saved "))
        .unwrap();
    assert!(home.path().join("demo.images/turn1-1.png").exists());
    // A resize redraws at once at the new size (the wait wakes on SIGWINCH).
    tmux.resize(80, 24).unwrap();
    tmux.wait_for("the redraw at 80 columns", STEP, |s| {
        s.lines()
            .last()
            .is_some_and(|l| l.starts_with('└') && l.chars().count() == 80)
    })
    .unwrap();
    tmux.keys(&["C-c"]).unwrap();
    tmux.keys(&["C-c"]).unwrap();
    tmux.wait_for("radiochat to exit", STEP, |_| tmux.pane_dead())
        .unwrap();
}

/// `/bench` in a real terminal: the view opens, the gauge fills, the table and heat map
/// appear, the run directory is complete and `bench score` agrees with its metrics; a
/// second run stopped with `x` continues with `/bench --resume`.
#[test]
fn bench_runs_from_the_chat_and_stops_and_resumes() {
    let home = tempfile::tempdir().unwrap();
    let sky = synth(home.path(), "radioimg", 6);
    let data = sky.join("dataset.json");
    let tmux = Tmux::start(
        "bench",
        &command(home.path(), &random_model_flag(home.path())),
        100,
        30,
    )
    .unwrap();
    tmux.wait_for("the model", LOAD, |s| s.contains(" ready "))
        .unwrap();
    tmux.line("/set max_tokens 6").unwrap();
    let run = home.path().join("run-b3");
    tmux.line(&format!(
        "/bench B3 --data {} --out {}",
        data.display(),
        run.display()
    ))
    .unwrap();
    let screen = tmux
        .wait_for("the run to finish", LOAD, |s| s.contains("finished in"))
        .unwrap();
    for needle in [
        "6/6 · 100 %",
        "confusion (rows truth)",
        "F1 (macro)",
        "support",
    ] {
        assert!(screen.contains(needle), "{needle}:\n{screen}");
    }
    tmux.keys(&["Escape"]).unwrap();
    tmux.wait_for("the notice", STEP, |s| {
        s.contains("benchmark finished: accuracy")
    })
    .unwrap();
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
    let predictions = run.join("predictions.jsonl");
    let scored = common::cli::score_json(home.path(), &predictions, "B3", &[]);
    assert_eq!(metrics, scored);
    assert!(run.join("confusion.png").exists() && run.join("report.md").exists());

    // A slow run (long answers) stopped with x, then resumed to the end.
    tmux.line("/set max_tokens 2000").unwrap();
    let slow = home.path().join("run-b5");
    tmux.line(&format!(
        "/bench B5 --data {} --out {} --retries 0",
        data.display(),
        slow.display()
    ))
    .unwrap();
    tmux.wait_for("the run to start", LOAD, |s| s.contains("x stops"))
        .unwrap();
    tmux.keys(&["x"]).unwrap();
    tmux.wait_for("the run to stop", STEP, |s| {
        s.contains("stopped: /bench --resume")
    })
    .unwrap();
    assert!(!slow.join("metrics.json").exists());
    // Typed at once, Escape and the next line reach the chat as one read, which a terminal
    // decodes as Alt-/ (the panel stays): wait for the panel to close first.
    tmux.keys(&["Escape"]).unwrap();
    tmux.wait_for("the panel to close", STEP, |s| !s.contains("Esc closes"))
        .unwrap();
    tmux.line(&format!("/bench --resume {}", slow.display()))
        .unwrap();
    let screen = tmux
        .wait_for("the resumed run to finish", LOAD, |s| {
            s.contains("finished in")
        })
        .unwrap();
    assert!(screen.contains("6/6 · 100 %"), "{screen}");
    assert!(slow.join("metrics.json").exists());
    tmux.keys(&["Escape"]).unwrap();
    tmux.wait_for("the panel to close", STEP, |s| !s.contains("Esc closes"))
        .unwrap();

    // The same run as a SLURM job array, submitted from the chat with the chat's model.
    common::cli::assert_slurm_cluster();
    tmux.line("/set max_tokens 8").unwrap();
    let array = home.path().join("run-array");
    tmux.line(&format!(
        "/bench B1 --data {} --out {} --slurm-array 2 --cpus 1",
        data.display(),
        array.display()
    ))
    .unwrap();
    tmux.wait_for("the submission", STEP, |s| {
        s.contains("submitted SLURM array job")
    })
    .unwrap();
    let started = std::time::Instant::now();
    while !array.join("metrics.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the array did not finish: {:?}",
            std::fs::read_to_string(array.join("shard-0-of-2/slurm.log"))
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    tmux.line("/quit").unwrap();
    tmux.wait_for("radiochat to exit", STEP, |_| tmux.pane_dead())
        .unwrap();
}

/// `view` inside tmux: `auto` draws half blocks even where the outer terminal announces kitty
/// (as the chat does); asking for sixel says that tmux's allow-passthrough is off.
#[test]
fn view_inside_tmux_uses_half_blocks_unless_asked_and_names_the_tmux_setting() {
    let home = tempfile::tempdir().unwrap();
    let fits = home.path().join("c.fits");
    let pixels: Vec<f32> = (0..32 * 32).map(|i| (i % 32) as f32).collect();
    common::fits::write_f32_image(&fits, 32, 32, &pixels);
    let view = |flags: &str| {
        let args = format!("view {} --width 16 {flags}", fits.display());
        // The shell stays after `view` ends, so the tmux server does too.
        format!(
            "export KITTY_WINDOW_ID=1; ({}); sleep 60",
            command(home.path(), &args)
        )
    };
    let tmux = Tmux::start("view", &view(""), 100, 30).unwrap();
    let auto = tmux
        .wait_for("the half-block preview", STEP, |s| s.contains('▀'))
        .unwrap();
    assert!(!auto.contains("allow-passthrough"), "{auto}");
    tmux.respawn(&view("--graphics sixel")).unwrap();
    let asked = tmux
        .wait_for("the passthrough warning", STEP, |s| {
            s.contains("allow-passthrough on")
        })
        .unwrap();
    assert!(!asked.contains('▀'), "{asked}");
}
