//! Keys and mouse. Every key the help overlay lists is handled here.

use super::app::{App, Overlay};
use crate::commands::slash;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use std::time::{Duration, Instant};

/// A second Ctrl-C within this time quits.
const QUIT_WINDOW: Duration = Duration::from_secs(2);

/// Lines moved by one wheel notch.
const WHEEL_LINES: u16 = 3;

/// Every key, for the help overlay: (keys, what they do).
pub const KEY_HELP: &[(&str, &str)] = &[
    ("Enter", "send the message (or run the /command)"),
    ("Alt-Enter, Shift-Enter, Ctrl-J", "new line in the message"),
    (
        "Esc",
        "cancel the answer (the partial answer is kept); close a window",
    ),
    (
        "Ctrl-C",
        "cancel the answer; clear the input; twice at an empty prompt: quit",
    ),
    (
        "↑ / ↓",
        "input history (or move in the palette, a multi-line message)",
    ),
    (
        "PgUp / PgDn, mouse wheel",
        "scroll the conversation (End: back to the bottom)",
    ),
    (
        "Tab",
        "complete the /command, or the file path after /image",
    ),
    ("? or F1", "this help (? when the input is empty)"),
    (
        "Ctrl-Y",
        "copy the last answer (desktop clipboard and OSC 52, which works over SSH)",
    ),
    ("Ctrl-R", "regenerate the last answer"),
    ("Ctrl-W / Ctrl-U", "delete a word / the whole input"),
    (
        "x",
        "in the bench view: stop the run (finished items are kept)",
    ),
    ("c", "in the jobs window: cancel the selected fine-tune job"),
];

impl App {
    /// Handle one key; the caller redraws afterwards.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return self.ctrl_c();
        }
        if key.code != KeyCode::Char('c') || !ctrl {
            self.quit_armed = None;
        }
        if self.overlay.is_some() {
            return self.overlay_key(key);
        }
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        let palette = self.palette_open();
        match key.code {
            KeyCode::Enter if alt || shift => self.input.newline(),
            KeyCode::Char('j') if ctrl => self.input.newline(),
            KeyCode::Enter => self.submit(),
            KeyCode::Esc if self.awaiting => self.cancel_generation(),
            KeyCode::Esc if palette => self.input.clear(),
            KeyCode::Esc => self.notice = None,
            KeyCode::F(1) => self.overlay = Some(Overlay::Help(0)),
            KeyCode::Char('?') if self.input.is_empty() => self.overlay = Some(Overlay::Help(0)),
            KeyCode::Char('y') if ctrl => self.copy_last_answer(),
            KeyCode::Char('r') if ctrl => self.regenerate(),
            KeyCode::Char('w') if ctrl => self.input.delete_word(),
            KeyCode::Char('u') if ctrl => self.input.clear(),
            KeyCode::Char('a') if ctrl => self.input.home(),
            KeyCode::Char('e') if ctrl => self.input.end(),
            KeyCode::Char(c) if !ctrl => {
                self.input.insert_char(c);
                self.palette_index = 0;
            }
            KeyCode::Backspace => {
                self.input.backspace();
                self.palette_index = 0;
            }
            KeyCode::Delete => self.input.delete(),
            KeyCode::Left => self.input.left(),
            KeyCode::Right => self.input.right(),
            KeyCode::Home => self.input.home(),
            KeyCode::End if self.input.is_empty() => self.scroll_up = 0,
            KeyCode::End => self.input.end(),
            KeyCode::Up if palette => self.move_palette(-1),
            KeyCode::Down if palette => self.move_palette(1),
            KeyCode::Up => self.input.up(),
            KeyCode::Down => self.input.down(),
            KeyCode::Tab => self.complete(),
            KeyCode::PageUp => self.scroll_up = self.scroll_up.saturating_add(10),
            KeyCode::PageDown => self.scroll_up = self.scroll_up.saturating_sub(10),
            _ => {}
        }
    }

    pub fn on_paste(&mut self, text: &str) {
        match &mut self.overlay {
            Some(Overlay::Sessions(browser)) => text
                .chars()
                .filter(|c| !c.is_control())
                .for_each(|c| browser.type_char(c)),
            Some(_) => {}
            None => self.input.insert_str(text),
        }
    }

    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_up = self.scroll_up.saturating_add(WHEEL_LINES),
            MouseEventKind::ScrollDown => {
                self.scroll_up = self.scroll_up.saturating_sub(WHEEL_LINES)
            }
            _ => {}
        }
    }

    fn ctrl_c(&mut self) {
        if self.awaiting {
            self.cancel_generation();
        } else if self.overlay.is_some() {
            self.overlay = None;
        } else if !self.input.is_empty() {
            self.input.clear();
        } else if self.quit_armed.is_some_and(|at| at.elapsed() < QUIT_WINDOW) {
            self.should_quit = true;
        } else {
            self.quit_armed = Some(Instant::now());
            self.info("press Ctrl-C again to quit (or /quit)");
        }
    }

    /// The palette shows while the first line is a command being typed.
    pub fn palette_open(&self) -> bool {
        let lines = self.input.lines();
        lines.len() == 1 && lines[0].starts_with('/') && !lines[0].contains(' ')
    }

    pub fn palette_matches(&self) -> Vec<&'static slash::SlashSpec> {
        slash::matching(&self.input.lines()[0])
    }

    fn move_palette(&mut self, delta: isize) {
        let count = self.palette_matches().len();
        if count > 0 {
            self.palette_index =
                (self.palette_index as isize + delta).rem_euclid(count as isize) as usize;
        }
    }

    fn complete(&mut self) {
        if self.palette_open() {
            if let Some(spec) = self.palette_matches().get(self.palette_index) {
                self.input.set_text(&format!("/{} ", spec.name));
            }
            return;
        }
        let text = self.input.text();
        if let Some(partial) = text.strip_prefix("/image ")
            && !partial.contains(" --")
        {
            use super::completion::{Completion, complete_path};
            match complete_path(partial) {
                Completion::Completed(path) => self.input.set_text(&format!("/image {path}")),
                Completion::Candidates(options) if !options.is_empty() => self.info(options),
                Completion::Candidates(_) => {}
            }
        }
    }

    fn overlay_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let Some(overlay) = &mut self.overlay else {
            return;
        };
        match overlay {
            Overlay::Help(scroll) if matches!(key.code, KeyCode::Up | KeyCode::PageUp) => {
                let step = if key.code == KeyCode::Up { 1 } else { 10 };
                *scroll = scroll.saturating_sub(step);
            }
            Overlay::Help(scroll) if matches!(key.code, KeyCode::Down | KeyCode::PageDown) => {
                let step = if key.code == KeyCode::Down { 1 } else { 10 };
                *scroll = (*scroll + step).min(60);
            }
            Overlay::Info { lines, scroll, .. }
                if matches!(
                    key.code,
                    KeyCode::Up | KeyCode::PageUp | KeyCode::Down | KeyCode::PageDown
                ) =>
            {
                let step = if matches!(key.code, KeyCode::Up | KeyCode::Down) {
                    1
                } else {
                    10
                };
                // Rows, not lines, scroll: a long line wraps into several (at most one per 16
                // characters in any window radiochat draws).
                let rows: usize = lines.iter().map(|l| l.chars().count() / 16 + 1).sum();
                let last = u16::try_from(rows).unwrap_or(u16::MAX);
                *scroll = if matches!(key.code, KeyCode::Up | KeyCode::PageUp) {
                    scroll.saturating_sub(step)
                } else {
                    scroll.saturating_add(step).min(last)
                };
            }
            Overlay::Preview { .. } if matches!(key.code, KeyCode::Char('s') | KeyCode::Right) => {
                self.cycle_stretch(true)
            }
            Overlay::Preview { .. } if matches!(key.code, KeyCode::Char('S') | KeyCode::Left) => {
                self.cycle_stretch(false)
            }
            Overlay::Help(_) | Overlay::Info { .. } | Overlay::Preview { .. } => {
                if matches!(
                    key.code,
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::F(1)
                ) {
                    self.overlay = None;
                }
            }
            Overlay::Jobs(_) => match key.code {
                KeyCode::Esc | KeyCode::Char('q') => self.overlay = None,
                KeyCode::Up => self.jobs_move(-1),
                KeyCode::Down => self.jobs_move(1),
                KeyCode::Char('c') => self.cancel_selected_job(),
                _ => {}
            },
            Overlay::Bench => match key.code {
                KeyCode::Esc | KeyCode::Char('q') => self.overlay = None,
                KeyCode::Char('x') => self.stop_bench(),
                _ => {}
            },
            Overlay::Sessions(browser) => match key.code {
                KeyCode::Esc if browser.renaming.is_some() => browser.renaming = None,
                KeyCode::Esc => self.overlay = None,
                KeyCode::Up => browser.move_by(-1),
                KeyCode::Down => browser.move_by(1),
                KeyCode::F(2) => {
                    browser.renaming = browser.selected_session().map(|s| s.title);
                }
                KeyCode::Char('d') if ctrl => self.delete_selected_session(),
                KeyCode::Char(c) if !ctrl => browser.type_char(c),
                KeyCode::Backspace => browser.backspace(),
                KeyCode::Enter => self.sessions_enter(),
                _ => {}
            },
        }
    }

    fn sessions_enter(&mut self) {
        let Some(Overlay::Sessions(browser)) = &mut self.overlay else {
            return;
        };
        let Some(selected) = browser.selected_session() else {
            return;
        };
        if let Some(name) = browser.renaming.take() {
            let current = selected.id == self.session.conversation.header.id;
            let result = if current {
                self.session.record(crate::chat::Event::Renamed {
                    at: crate::util::clock::now(),
                    title: name.clone(),
                });
                Ok(())
            } else {
                self.store.rename(&selected.id, &name).map(|_| ())
            };
            if let Some(Overlay::Sessions(browser)) = &mut self.overlay {
                browser.message = Some(match result {
                    Ok(()) => format!("renamed to '{name}'"),
                    Err(e) => e.to_string(),
                });
                browser.refresh(&self.store);
            }
            return;
        }
        self.overlay = None;
        if selected.id != self.session.conversation.header.id {
            self.open_session(&selected.id);
        }
    }

    fn delete_selected_session(&mut self) {
        let Some(Overlay::Sessions(browser)) = &mut self.overlay else {
            return;
        };
        let Some(selected) = browser.selected_session() else {
            return;
        };
        if selected.id == self.session.conversation.header.id {
            browser.message = Some("this session is open: /new or open another first".into());
            return;
        }
        if browser.delete_armed.as_deref() != Some(selected.id.as_str()) {
            browser.message = Some(format!("Ctrl-D again deletes '{}'", selected.title));
            browser.delete_armed = Some(selected.id);
            return;
        }
        let result = self.store.delete(&selected.id);
        browser.delete_armed = None;
        browser.message = Some(match result {
            Ok(s) => format!("deleted '{}'", s.title),
            Err(e) => e.to_string(),
        });
        browser.refresh(&self.store);
    }
}

/// Keys from raw terminal input read outside crossterm (typed while the terminal was asked for
/// its cell size): characters, Enter, Tab, Backspace and Ctrl-letters. Escape sequences
/// (arrows, function keys) are dropped: replaying half of one would type garbage.
pub fn typed_keys(bytes: &[u8]) -> Vec<KeyEvent> {
    let text = String::from_utf8_lossy(bytes);
    let mut keys = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let key = match c {
            '\x1b' => {
                // Skip the sequence: ESC [ params final, or ESC + one character.
                if chars.next_if_eq(&'[').is_some() {
                    while chars.next().is_some_and(|c| !('@'..='~').contains(&c)) {}
                } else {
                    chars.next();
                }
                continue;
            }
            '\r' | '\n' => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
            '\t' => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
            '\x7f' | '\x08' => KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
            c if (c as u32) < 0x20 => KeyEvent::new(
                KeyCode::Char((b'a' + c as u8 - 1) as char),
                KeyModifiers::CONTROL,
            ),
            c => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
        };
        keys.push(key);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_bytes_become_keys_and_escape_sequences_are_dropped() {
        let keys = typed_keys("hé\x1b[A\r\x7f\x03".as_bytes());
        let codes: Vec<(KeyCode, KeyModifiers)> =
            keys.iter().map(|k| (k.code, k.modifiers)).collect();
        assert_eq!(
            codes,
            vec![
                (KeyCode::Char('h'), KeyModifiers::NONE),
                (KeyCode::Char('é'), KeyModifiers::NONE),
                (KeyCode::Enter, KeyModifiers::NONE),
                (KeyCode::Backspace, KeyModifiers::NONE),
                (KeyCode::Char('c'), KeyModifiers::CONTROL),
            ]
        );
    }
}
