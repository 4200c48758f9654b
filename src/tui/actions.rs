//! What a submitted line does: a slash command, an image path typed alone, or a message.

use super::app::{App, Background, Overlay};
use super::conversation::STILL_STREAMING;
use crate::chat::{Header, LiveSession, journal};
use crate::commands::sessions::{Format, export};
use crate::commands::slash::{self, BenchSlash, Slash};
use crate::engine::ModelSource;
use crate::util::clock;
use anyhow::Context;
use std::path::{Path, PathBuf};

impl App {
    /// Enter on the input.
    pub fn submit(&mut self) {
        let text = self.input.submit();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return;
        }
        self.suggestion = None;
        if trimmed.starts_with('/') && !looks_like_image_path(trimmed) {
            match slash::parse(trimmed) {
                Ok(command) => self.run_slash(command),
                Err(message) => self.warn(message.to_string()),
            }
            return;
        }
        if looks_like_image_path(trimmed) && !trimmed.contains(char::is_whitespace) {
            self.run_slash(Slash::Image {
                path: PathBuf::from(trimmed),
                settings: Default::default(),
            });
            return;
        }
        self.send_message(text);
    }

    pub fn run_slash(&mut self, command: Slash) {
        match command {
            Slash::Help => self.overlay = Some(Overlay::help()),
            Slash::Image { path, settings } => {
                let effects = self.conversation.attach(path, settings);
                self.apply(effects);
            }
            Slash::Detach => {
                let effects = self.conversation.detach();
                self.apply(effects);
            }
            Slash::Preview => match self.conversation.current_image() {
                Some(path) if self.conversation.picture(&path).is_some() => {
                    self.overlay = Some(Overlay::Preview(Default::default()))
                }
                Some(path) => {
                    // Seen in an earlier run: read it again, then show it.
                    self.run_slash(Slash::Image {
                        path: PathBuf::from(path),
                        settings: Default::default(),
                    })
                }
                None => self.warn("no image yet: /image PATH attaches one"),
            },
            Slash::Info => match self.conversation.current_image() {
                Some(path) => {
                    let lines = self.conversation.header_lines(&path);
                    self.overlay = Some(Overlay::info("image header", lines));
                }
                None => self.warn("no image yet: /image PATH attaches one"),
            },
            Slash::Model(None) => {
                let text = match &self.conversation.model_info {
                    Some(m) => format!(
                        "{} ({}, {} on {}, context {})",
                        m.source,
                        m.architecture,
                        m.dtype,
                        m.device,
                        m.max_context
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "?".into())
                    ),
                    None => "no model loaded: /model DIR loads one".into(),
                };
                self.info(text);
            }
            Slash::Model(Some(model)) => {
                if self.bench_running() {
                    self.warn("a benchmark is running on this model: /bench stop ends it first");
                    return;
                }
                let mut spec = self.load_template.clone();
                spec.source = ModelSource::parse(&model);
                let effects = self.conversation.switch_model(model, spec);
                self.apply(effects);
            }
            Slash::Set { key, value } => {
                let effects = self.conversation.set(key, value);
                self.apply(effects);
            }
            Slash::System(text) => {
                let effects = self.conversation.set_system_prompt(text);
                self.apply(effects);
            }
            Slash::New => self.new_session(),
            Slash::Sessions => self.show_sessions(),
            Slash::Load(query) => self.open_session(&query),
            Slash::Rename(title) => {
                self.conversation.rename(&title);
                self.info(format!("renamed to '{title}'"));
            }
            Slash::Fork => self.fork_session(),
            Slash::Save(path) => self.save_transcript(path),
            Slash::Find(text) => {
                let effects = self.conversation.find(&text);
                self.apply(effects);
            }
            Slash::Clear => {
                self.conversation.clear_screen();
                self.info("cleared the screen; the session keeps everything (/save exports it)");
            }
            Slash::Quit => self.should_quit = true,
            Slash::Bench(BenchSlash::Show) => self.show_bench(),
            Slash::Bench(BenchSlash::Tasks) => self.bench_tasks(),
            Slash::Bench(BenchSlash::Stop) => self.stop_bench(),
            Slash::Bench(BenchSlash::Run(flags)) => self.start_bench(*flags),
            Slash::Bench(BenchSlash::Prompt(flags)) => self.bench_prompt(&flags),
            Slash::Finetune(None) => self.warn(
                "/finetune --base MODEL_DIR --data DATA_DIR [--preset v1…v6] [--launcher local|slurm] …",
            ),
            Slash::Finetune(Some(flags)) => self.launch_finetune(*flags),
            Slash::Jobs => self.show_jobs(),
        }
    }

    fn idle_or_warn(&mut self) -> bool {
        if self.conversation.awaiting {
            self.warn(STILL_STREAMING);
            return false;
        }
        true
    }

    pub fn new_session(&mut self) {
        if !self.idle_or_warn() {
            return;
        }
        let c = &self.conversation.session.conversation;
        let header = Header {
            id: String::new(),
            created: clock::now(),
            title: format!("chat {}", clock::now()[..16].replace('T', " ")),
            model: c.model.clone(),
            system_prompt: c.system_prompt.clone(),
            ..c.header.clone()
        };
        self.replace_session(LiveSession::start(&self.store, header));
        self.info("new session");
    }

    pub fn open_session(&mut self, query: &str) {
        if !self.idle_or_warn() {
            return;
        }
        let opened = self
            .store
            .journal_of(query)
            .map_err(|e| e.to_string())
            .and_then(|path| LiveSession::open_path(&path).map_err(|e| e.to_string()));
        match opened {
            Ok(session) => {
                let title = session.conversation.title.clone();
                self.replace_session(session);
                if self.notice.is_none() {
                    self.info(format!("opened '{title}'"));
                }
            }
            Err(message) => self.warn(message),
        }
    }

    fn fork_session(&mut self) {
        if !self.idle_or_warn() {
            return;
        }
        let session = &mut self.conversation.session;
        session.flush_tokens();
        let source = self.store.path_of(&session.conversation.header.id);
        let title = format!("{} (fork)", session.conversation.title);
        let forked = journal::read(&source)
            .map_err(|e| e.to_string())
            .and_then(|loaded| self.store.fork(&loaded, &title).map_err(|e| e.to_string()));
        match forked {
            Ok((writer, conversation)) => {
                self.replace_session(LiveSession::from_writer(conversation, writer));
                self.info(format!("forked: now in '{title}'"));
            }
            Err(message) => self.warn(format!("cannot fork: {message}")),
        }
    }

    fn replace_session(&mut self, session: LiveSession) {
        self.conversation.replace_session(session);
        self.notice = None;
        self.announce_session();
        self.read_earlier();
    }

    fn save_transcript(&mut self, path: Option<PathBuf>) {
        let session = &mut self.conversation.session;
        session.flush_tokens();
        let id = session.conversation.header.id.clone();
        let out = path.unwrap_or_else(|| PathBuf::from(format!("{id}.md")));
        let format = Format::of_path(&out);
        let journal_path = self.store.path_of(&id);
        let conversation = session.conversation.clone();
        self.info(format!("saving {}…", out.display()));
        self.spawn(Box::new(move || {
            let result = match format {
                Format::Json => journal::read(&journal_path)
                    .map_err(anyhow::Error::from)
                    .and_then(|loaded| {
                        export(&loaded, Format::Json, Some(out)).map_err(|e| anyhow::anyhow!("{e}"))
                    }),
                Format::Markdown => crate::chat::transcript::write_markdown(&conversation, &out)
                    .with_context(|| format!("{}: cannot write", out.display())),
            };
            Background::Exported(result)
        }));
    }

    /// `/bench prompt TASK …`: what an item of a `/bench` run would send (the chat's runs
    /// use radio-llava's system prompt).
    fn bench_prompt(&mut self, flags: &crate::commands::bench_prompt::PromptFlags) {
        use crate::commands::bench_prompt::{lines, show};
        match show(flags, None) {
            Ok(shown) => self.overlay = Some(Overlay::info("bench prompt", lines(&shown))),
            Err(e) => self.warn(e.to_string()),
        }
    }
}

/// A FITS/PNG/JPEG/TIFF path typed alone in a message attaches it.
pub fn looks_like_image_path(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        ".fits", ".fit", ".fts", ".fz", ".fits.gz", ".png", ".jpg", ".jpeg", ".tif", ".tiff",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
        && Path::new(text).is_file()
}
