//! Keys and mouse: the chat's own keys, and every other key to the window open. Every key
//! the help window lists (`views::help::KEY_HELP`) is handled here or by its window.

use super::app::{App, Overlay};
use super::views::conversation::{PAGE_LINES, WHEEL_LINES};
use super::views::palette::Palette;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};
use std::time::{Duration, Instant};

/// A second Ctrl-C within this time quits.
const QUIT_WINDOW: Duration = Duration::from_secs(2);

impl App {
    /// Handle one key; the caller redraws afterwards. An open window gets every key but
    /// Ctrl-C.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return self.ctrl_c();
        }
        self.quit_armed = None;
        if let Some(overlay) = &mut self.overlay {
            let effects = overlay.key(key);
            return self.apply(effects);
        }
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        let palette = Palette::is_open(&self.input);
        match key.code {
            KeyCode::Enter if alt || shift => self.input.newline(),
            KeyCode::Char('j') if ctrl => self.input.newline(),
            KeyCode::Enter => self.submit(),
            KeyCode::Esc if self.conversation.awaiting => self.cancel_generation(),
            KeyCode::Esc if palette => self.input.clear(),
            KeyCode::Esc => self.notice = None,
            KeyCode::F(1) => self.overlay = Some(Overlay::help()),
            KeyCode::Char('?') if self.input.is_empty() => self.overlay = Some(Overlay::help()),
            KeyCode::Char('y') if ctrl => self.copy_last_answer(),
            KeyCode::Char('r') if ctrl => self.regenerate(),
            KeyCode::Char('w') if ctrl => self.input.delete_word(),
            KeyCode::Char('u') if ctrl => self.input.clear(),
            KeyCode::Char('f') if ctrl => {
                let effects = self.conversation.find_again(true);
                self.apply(effects);
            }
            KeyCode::Char('g') if ctrl => {
                let effects = self.conversation.find_again(false);
                self.apply(effects);
            }
            KeyCode::Char('a') if ctrl => self.input.home(),
            KeyCode::Char('e') if ctrl => self.input.end(),
            KeyCode::Char(c) if !ctrl => {
                self.input.insert_char(c);
                self.palette.index = 0;
            }
            KeyCode::Backspace => {
                self.input.backspace();
                self.palette.index = 0;
            }
            KeyCode::Delete => self.input.delete(),
            KeyCode::Left => self.input.left(),
            KeyCode::Right => self.input.right(),
            KeyCode::Home if self.input.is_empty() => self.conversation.view.jump_to(0),
            KeyCode::Home => self.input.home(),
            KeyCode::End if self.input.is_empty() => self.conversation.view.follow(),
            KeyCode::End => self.input.end(),
            KeyCode::Up if palette => self.palette.move_by(&self.input, -1),
            KeyCode::Down if palette => self.palette.move_by(&self.input, 1),
            KeyCode::Up => self.input.up(),
            KeyCode::Down => self.input.down(),
            KeyCode::Tab if self.input.is_empty() && self.suggestion.is_some() => {
                let question = self.suggestion.take().unwrap_or_default();
                self.input.set_text(&question);
            }
            KeyCode::Tab => self.complete(),
            KeyCode::PageUp => self.conversation.view.scroll(i32::from(PAGE_LINES)),
            KeyCode::PageDown => self.conversation.view.scroll(-i32::from(PAGE_LINES)),
            _ => {}
        }
    }

    pub fn on_paste(&mut self, text: &str) {
        match &mut self.overlay {
            Some(Overlay::Sessions(browser)) => {
                text.chars()
                    .filter(|c| !c.is_control())
                    .for_each(|c| browser.type_char(c));
                let effects = browser.search();
                self.apply(effects);
            }
            Some(_) => {}
            None => self.input.insert_str(text),
        }
    }

    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.conversation.view.scroll(i32::from(WHEEL_LINES)),
            MouseEventKind::ScrollDown => self.conversation.view.scroll(-i32::from(WHEEL_LINES)),
            _ => {}
        }
    }

    fn ctrl_c(&mut self) {
        if self.conversation.awaiting {
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

    fn complete(&mut self) {
        if Palette::is_open(&self.input) {
            if let Some(command) = self.palette.completion(&self.input) {
                self.input.set_text(&command);
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
