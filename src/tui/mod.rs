//! The terminal UI: `radiochat` with no subcommand. This module owns the terminal (raw
//! mode, alternate screen, restored on exit, panic, SIGTERM and SIGHUP) and the event loop;
//! the app (`app.rs`) routes keys, commands and messages to the windows (`views/`), each of
//! which owns its state and draws itself; `ui.rs` lays out the screen. Model loading, inference, image reading and
//! transcript export run on other threads, so a frame is never late because of them.

pub mod actions;
pub mod app;
pub mod bench_job;
pub mod completion;
pub mod conversation;
pub mod graphics;
pub mod input;
pub mod keys;
pub mod timings;
pub mod tty_watch;
pub mod ui;
pub mod views;

use crate::chat::worker::{Worker, WorkerEvent};
use app::{App, EngineState};
use crossterm::event::{self, Event as TermEvent};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use views::ViewCache;

/// Set by SIGTERM / SIGHUP; the loop leaves cleanly when it sees it.
static STOP: AtomicBool = AtomicBool::new(false);

/// How long the watchdog lets a UI loop stuck on a dead terminal go on before it ends the
/// process (the loop itself notices a hang-up within one poll interval).
const WATCHDOG_GRACE: Duration = Duration::from_secs(3);

/// Poll interval while tokens stream or a model loads (one frame at 60 Hz).
const BUSY_POLL: Duration = Duration::from_millis(16);
/// Poll interval when nothing happens: four wake-ups a second keep idle CPU near zero.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Run the UI until the user quits. The terminal is restored whatever happens.
/// `graphics`: `None` picks the image protocol from the environment.
pub fn run(
    mut app: App,
    load: Option<crate::engine::LoadSpec>,
    graphics: Option<crate::preview::Graphics>,
) -> anyhow::Result<()> {
    install_signal_handlers();
    let tty = tty_watch::TtyWatch::open()?;
    let left_loop = Arc::new(AtomicBool::new(false));
    tty.spawn_watchdog(left_loop.clone(), WATCHDOG_GRACE)?;
    let _restore = TerminalGuard::enter()?;
    install_panic_hook();
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let mut terminal = ratatui::Terminal::new(backend)?;
    let worker = Worker::spawn()?;
    if let Some(spec) = load {
        app.load_model(spec);
    }
    let mut cache = ViewCache::default();
    let mut timings = timings::Timings::from_env();
    let mut clipboard = Clipboard::default();
    cache.graphics = start_graphics(graphics, &tty, &mut app);
    let mut dirty = true;
    let mut outcome = Ok(());
    loop {
        if dirty {
            let drawn = terminal
                .draw(|frame| ui::draw(frame, &app, &mut cache))
                .map(|frame| frame.area);
            // Pictures go after the frame, outside ratatui's buffer.
            let placed = drawn.and_then(|screen| match cache.graphics.as_mut() {
                Some(graphics) => graphics.place(terminal.backend_mut(), screen),
                None => Ok(()),
            });
            if let Err(error) = placed {
                // A terminal that went away is a hang-up, not an error to report to it.
                if !tty.is_hung_up() {
                    outcome = Err(error.into());
                }
                break;
            }
            timings.frame_drawn();
            dirty = false;
        }
        if cache.graphics.as_mut().is_some_and(|g| g.poll()) {
            dirty = true;
        }
        let busy =
            app.conversation.awaiting || matches!(app.conversation.engine, EngineState::Loading(_));
        if tty.wait(if busy { BUSY_POLL } else { IDLE_POLL }) == tty_watch::Wait::HungUp {
            break;
        }
        match read_input(&tty, &mut app, &mut timings) {
            Ok(true) => dirty = true,
            Ok(false) => {}
            Err(error) => {
                outcome = Err(error.into());
                break;
            }
        }
        while let Some(event) = worker.try_recv() {
            if let WorkerEvent::Finished { usage, .. } = &event
                && usage.decode_tok_per_s > 0.0
            {
                timings.streamed(
                    usage.completion_tokens,
                    usage.completion_tokens as f64 / usage.decode_tok_per_s,
                );
            }
            app.on_worker(event);
            dirty = true;
        }
        while let Ok(result) = app.background_rx.try_recv() {
            app.on_background(result);
            dirty = true;
        }
        for command in app.outbox.drain(..) {
            worker.send(command);
        }
        app.conversation.session.tick();
        app.tick();
        if let Some(text) = app.clipboard.take() {
            clipboard.copy(&text);
        }
        if app.should_quit || STOP.load(Ordering::Relaxed) {
            break;
        }
    }
    left_loop.store(true, Ordering::Relaxed);
    if let Some(graphics) = cache.graphics.as_mut() {
        let _ = graphics.clear(terminal.backend_mut());
    }
    app.conversation.cancel_quietly();
    app.conversation.session.flush_tokens();
    timings.write();
    outcome
}

/// The pixel protocol for pictures (`None`: half blocks), chosen as `radiochat view` chooses
/// it — the environment, else the terminal's own word that it draws sixel — with the cell size
/// measured once; keys typed during a query go to the app.
fn start_graphics(
    explicit: Option<crate::preview::Graphics>,
    tty: &tty_watch::TtyWatch,
    app: &mut App,
) -> Option<graphics::Graphics> {
    use crate::preview;
    let (chosen, probe) = preview::choose(explicit, |ask_anyway| {
        preview::cell_size::probe(tty.fd(), ask_anyway)
    });
    let probe = probe?;
    for key in keys::typed_keys(&probe.typed) {
        app.on_key(key);
    }
    if let Some(warning) = preview::tmux_passthrough_warning(chosen) {
        app.warn(warning);
    }
    graphics::Graphics::new(chosen, probe.cell, preview::in_tmux())
}

/// Hand everything already typed to the app before drawing again (fast typing, pastes).
/// Resizes arrive through crossterm's own signal pipe, which its poll also reads.
/// Returns whether anything arrived.
fn read_input(
    tty: &tty_watch::TtyWatch,
    app: &mut App,
    timings: &mut timings::Timings,
) -> std::io::Result<bool> {
    let mut any = false;
    while !tty.is_hung_up() && event::poll(Duration::ZERO)? {
        match event::read()? {
            TermEvent::Key(key) => {
                timings.key_read(app.conversation.streaming());
                app.on_key(key)
            }
            TermEvent::Paste(text) => app.on_paste(&text),
            TermEvent::Mouse(mouse) => app.on_mouse(mouse),
            _ => {}
        }
        any = true;
    }
    Ok(any)
}

/// Raw mode, alternate screen, bracketed paste, mouse; undone on drop.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> anyhow::Result<TerminalGuard> {
        use crossterm::event::{
            EnableBracketedPaste, EnableMouseCapture, KeyboardEnhancementFlags,
            PushKeyboardEnhancementFlags,
        };
        crossterm::terminal::enable_raw_mode()?;
        let guard = TerminalGuard;
        let mut out = std::io::stdout();
        crossterm::execute!(
            out,
            crossterm::terminal::EnterAlternateScreen,
            EnableBracketedPaste,
            EnableMouseCapture
        )?;
        // Terminals that speak the kitty keyboard protocol report Shift-Enter distinctly.
        if crossterm::terminal::supports_keyboard_enhancement().unwrap_or(false) {
            let _ = crossterm::execute!(
                out,
                PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
            );
        }
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn restore_terminal() {
    use crossterm::event::{
        DisableBracketedPaste, DisableMouseCapture, PopKeyboardEnhancementFlags,
    };
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(
        out,
        PopKeyboardEnhancementFlags,
        DisableMouseCapture,
        DisableBracketedPaste,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = crossterm::terminal::disable_raw_mode();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn install_signal_handlers() {
    let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGHUP, handler);
    }
}

/// Ctrl-Y's destination: the desktop clipboard when radiochat runs on a desktop (X11 or
/// Wayland), and always OSC 52, which asks the terminal the user sits at to take the text —
/// the one that works over SSH (tmux passes it on with `set-clipboard on`).
#[derive(Default)]
struct Clipboard {
    /// Kept alive: on X11 the copied text lives as long as its owner.
    desktop: Option<arboard::Clipboard>,
}

impl Clipboard {
    fn copy(&mut self, text: &str) {
        let on_desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if on_desktop {
            if self.desktop.is_none() {
                self.desktop = arboard::Clipboard::new().ok();
            }
            if let Some(desktop) = &mut self.desktop {
                let _ = desktop.set_text(text.to_string());
            }
        }
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        let mut out = std::io::stdout();
        let _ = write!(out, "\x1b]52;c;{encoded}\x07");
        let _ = out.flush();
    }
}
