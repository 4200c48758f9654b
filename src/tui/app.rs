//! The TUI's shared state and its routing: keys go to the window open (`keys.rs`), submitted
//! lines become slash commands (`actions.rs`), worker events go to the conversation and helper
//! results to the window that asked; what they return as [`Effect`]s is carried out here.
//! The event loop in `mod.rs` moves commands from `outbox` to the worker, so everything here
//! runs in tests without a terminal or a model.

pub use super::conversation::{ConversationState, EngineState};
use super::input::InputBox;
use super::views::bench::{BenchEvent, BenchRun};
use super::views::jobs::{JobRow, JobsView};
use super::views::palette::Palette;
use super::views::sessions::SessionsBrowser;
pub use super::views::{Background, Effect, Notice, Overlay, short_name};
use crate::chat::worker::{WorkerCommand, WorkerEvent};
use crate::chat::{LiveSession, SessionStore};
use crate::engine::{LoadSpec, Sampling};
use crate::imaging::TransformOptions;
use std::sync::mpsc;
use std::time::Instant;

pub struct App {
    /// The session, the engine's state, the pictures, the answer in flight.
    pub conversation: ConversationState,
    pub store: SessionStore,
    /// What `/model DIR` loads with (device, dtype, ISQ from the settings).
    pub load_template: LoadSpec,
    /// The config file this chat read (handed on to SLURM array tasks).
    pub config_path: std::path::PathBuf,
    pub input: InputBox,
    pub palette: Palette,
    pub overlay: Option<Overlay>,
    pub notice: Option<Notice>,
    pub quit_armed: Option<Instant>,
    pub should_quit: bool,
    pub outbox: Vec<WorkerCommand>,
    /// Text to put on the clipboard (the loop writes it as OSC 52).
    pub clipboard: Option<String>,
    pub background_tx: mpsc::Sender<Background>,
    pub background_rx: mpsc::Receiver<Background>,
    /// The benchmark running, or the last one run.
    pub bench: Option<BenchRun>,
    /// A first question offered in the empty input line (Tab takes it), until one is sent.
    pub suggestion: Option<String>,
}

impl App {
    pub fn new(
        session: LiveSession,
        store: SessionStore,
        sampling: Sampling,
        transform: TransformOptions,
        load_template: LoadSpec,
    ) -> App {
        let (background_tx, background_rx) = mpsc::channel();
        let device = load_template.device.to_string();
        let mut app = App {
            conversation: ConversationState::new(session, sampling, transform, device),
            store,
            load_template,
            config_path: crate::config::default_config_path(),
            input: InputBox::new(),
            palette: Palette::default(),
            overlay: None,
            notice: None,
            quit_armed: None,
            should_quit: false,
            outbox: Vec::new(),
            clipboard: None,
            background_tx,
            background_rx,
            bench: None,
            suggestion: None,
        };
        app.announce_session();
        app.read_earlier();
        app
    }

    /// A long session opened from its end: read its earlier turns on a helper thread.
    pub(super) fn read_earlier(&mut self) {
        let session = &mut self.conversation.session;
        if let Some(part) = session.earlier.take() {
            let id = session.conversation.header.id.clone();
            self.spawn(Box::new(move || Background::Earlier {
                id,
                read: Box::new(part.read().map_err(|e| e.to_string())),
            }));
        }
    }

    /// Say what is unusual about the session just opened (skipped lines, read-only, unsaved).
    pub fn announce_session(&mut self) {
        if let Some(warning) = self.conversation.session_warning() {
            self.warn(warning);
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice::info(text));
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice::warn(text));
    }

    pub fn on_background(&mut self, result: Background) {
        match result {
            Background::Exported(Ok(exported)) => {
                let mut text = format!("saved {}", exported.path.display());
                if !exported.thumbnails.is_empty() {
                    text.push_str(&format!(" (+{} thumbnails)", exported.thumbnails.len()));
                }
                if !exported.missing.is_empty() {
                    text.push_str(&format!(
                        "; missing images: {}",
                        exported.missing.join(", ")
                    ));
                }
                self.info(text);
            }
            Background::Exported(Err(error)) => self.warn(format!("{error:#}")),
            Background::SessionsListed(sessions) => {
                if let Some(Overlay::Sessions(browser)) = &mut self.overlay {
                    let effects = browser.listed(sessions);
                    self.apply(effects);
                }
            }
            Background::SessionsSaid { needle, ids } => {
                if let Some(Overlay::Sessions(browser)) = &mut self.overlay {
                    browser.said(needle, ids);
                }
            }
            Background::Bench(event) => self.on_bench(*event),
            Background::Launched(launched) => self.on_launched(launched),
            Background::Jobs(rows) => self.on_jobs(rows),
            Background::Notice(notice) => self.notice = Some(notice),
            Background::Earlier { id, read } => {
                if id != self.conversation.session.conversation.header.id {
                    return;
                }
                match *read {
                    Ok((earlier, warnings)) => {
                        if self.conversation.fill_earlier(earlier, warnings) {
                            self.announce_session();
                        }
                    }
                    Err(message) => self.warn(format!("earlier turns not read: {message}")),
                }
            }
        }
    }

    /// Carry out what a window asked for.
    pub fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Info(text) => self.info(text),
                Effect::Warn(text) => self.warn(text),
                Effect::Close => self.overlay = None,
                Effect::Spawn(work) => self.spawn(work),
                Effect::OpenSession(id) => self.open_session(&id),
                Effect::RenameSession { id, title } => self.rename_session(&id, title),
                Effect::DeleteSession(id) => {
                    let message = match self.store.delete(&id) {
                        Ok(s) => format!("deleted '{}'", s.title),
                        Err(e) => e.to_string(),
                    };
                    self.report_to_sessions(message);
                }
                Effect::Restretch(index) => {
                    let effects = self.conversation.restretch(index);
                    self.apply(effects);
                }
                Effect::StopBench => self.stop_bench(),
                Effect::Worker(command) => self.outbox.push(command),
                Effect::Clipboard(text) => self.clipboard = Some(text),
                Effect::ClearNotice => self.notice = None,
            }
        }
    }

    /// What the model worker reported, for the conversation.
    pub fn on_worker(&mut self, event: WorkerEvent) {
        let effects = self.conversation.update(event);
        self.apply(effects);
    }

    pub fn load_model(&mut self, spec: LoadSpec) {
        let effects = self.conversation.load_model(spec);
        self.apply(effects);
    }

    /// Send a chat message (attachments pending in the session go with it).
    pub fn send_message(&mut self, text: String) {
        let effects = self.conversation.send_message(text);
        self.apply(effects);
    }

    /// Ask the last question again.
    pub fn regenerate(&mut self) {
        let effects = self.conversation.regenerate();
        self.apply(effects);
    }

    pub fn cancel_generation(&mut self) {
        let effects = self.conversation.cancel_generation();
        self.apply(effects);
    }

    pub fn copy_last_answer(&mut self) {
        let effects = self.conversation.copy_last_answer();
        self.apply(effects);
    }

    /// Run helper work off the UI thread; its result comes back through `background_rx`.
    pub(super) fn spawn(&self, work: super::views::HelperJob) {
        let tx = self.background_tx.clone();
        std::thread::spawn(move || {
            let _ = tx.send(work());
        });
    }

    fn rename_session(&mut self, id: &str, title: String) {
        let result = if id == self.conversation.session.conversation.header.id {
            self.conversation.rename(&title);
            Ok(())
        } else {
            self.store.rename(id, &title).map(|_| ())
        };
        self.report_to_sessions(match result {
            Ok(()) => format!("renamed to '{title}'"),
            Err(e) => e.to_string(),
        });
    }

    /// What came of a rename or delete in the browser; the list is read again.
    fn report_to_sessions(&mut self, message: String) {
        if let Some(Overlay::Sessions(browser)) = &mut self.overlay {
            browser.message = Some(message);
            self.list_sessions();
        }
    }

    /// Read the sessions for the browser on a helper thread.
    fn list_sessions(&self) {
        let store = self.store.clone();
        self.spawn(Box::new(move || {
            crate::util::priority::lower_this_thread();
            Background::SessionsListed(store.list())
        }));
    }

    /// Called every loop turn: the open window's timers (the jobs window's refresh).
    pub fn tick(&mut self) {
        if let Some(Overlay::Jobs(view)) = &mut self.overlay {
            let effects = view.tick();
            self.apply(effects);
        }
    }

    pub fn bench_running(&self) -> bool {
        self.bench.as_ref().is_some_and(BenchRun::running)
    }

    pub fn start_bench(&mut self, flags: crate::commands::bench_run::RunFlags) {
        if self.bench_running() {
            self.warn("a benchmark is running: /bench shows it, /bench stop ends it");
            return;
        }
        if !self.conversation.has_model() {
            self.warn(super::conversation::NO_MODEL);
            return;
        }
        let settings = super::bench_job::RunSettings {
            sampling: self.conversation.sampling.clone(),
            transform: self.conversation.transform,
            load_template: self.load_template.clone(),
            config_path: self.config_path.clone(),
        };
        let (run, job) = super::bench_job::start(flags, settings, self.background_tx.clone());
        self.bench = Some(run);
        self.outbox.push(WorkerCommand::WithEngine(job));
        self.overlay = Some(Overlay::Bench);
    }

    pub fn stop_bench(&mut self) {
        let effects = match &mut self.bench {
            Some(run) => run.stop(),
            None => vec![Effect::Info("no benchmark is running".into())],
        };
        self.apply(effects);
    }

    pub fn show_bench(&mut self) {
        if self.bench.is_some() {
            self.overlay = Some(Overlay::Bench);
        } else {
            self.bench_tasks();
        }
    }

    pub fn bench_tasks(&mut self) {
        match super::bench_job::tasks_lines() {
            Ok(lines) => self.overlay = Some(Overlay::info("benchmark tasks", lines)),
            Err(e) => self.warn(e.to_string()),
        }
    }

    pub fn on_bench(&mut self, event: BenchEvent) {
        let Some(run) = &mut self.bench else {
            return;
        };
        let submitted = matches!(event, BenchEvent::Submitted(_));
        let effects = run.update(event);
        if submitted {
            // Queued on SLURM: the run is not this chat's to show.
            self.bench = None;
            self.overlay = None;
        }
        self.apply(effects);
    }

    pub fn launch_finetune(&mut self, flags: crate::commands::finetune::LaunchFlags) {
        self.info("checking the base, the data and Python, then launching…");
        self.spawn(Box::new(move || {
            let launched = flags.into_args().and_then(crate::commands::finetune::run);
            Background::Launched(launched)
        }));
    }

    fn on_launched(
        &mut self,
        launched: Result<crate::commands::finetune::Launched, crate::commands::CommandError>,
    ) {
        match launched {
            Ok(l) => {
                let how = match (&l.job.slurm_job, l.job.pid) {
                    (Some(id), _) => format!("SLURM job {id}"),
                    (None, Some(pid)) => format!("pid {pid}"),
                    _ => "started".into(),
                };
                self.info(format!("launched {} ({how})", l.run.display()));
                self.show_jobs();
            }
            Err(message) => self.warn(format!("fine-tune not launched: {message}")),
        }
    }

    pub fn show_jobs(&mut self) {
        let mut view = JobsView::default();
        let effects = view.poll();
        self.overlay = Some(Overlay::Jobs(view));
        self.apply(effects);
    }

    pub fn on_jobs(&mut self, rows: Vec<JobRow>) {
        if let Some(Overlay::Jobs(view)) = &mut self.overlay {
            view.update(rows);
        }
    }

    pub fn show_sessions(&mut self) {
        let open = &self.conversation.session.conversation.header.id;
        self.overlay = Some(Overlay::Sessions(Box::new(SessionsBrowser::listing(open))));
        self.list_sessions();
    }
}
