//! `/sessions`: the stored sessions, filtered as you type (titles, ids, and — once read in
//! the background — what was said); Enter opens, F2 renames, Ctrl-D deletes (pressed twice).

use super::Effect;
use crate::chat::{Conversation, SessionStore, SessionSummary, journal};
use crate::util::text::clip;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use std::collections::HashMap;

#[derive(Debug)]
pub struct SessionsBrowser {
    pub all: Vec<SessionSummary>,
    /// The id of the session open in the chat (marked; never deleted from here).
    pub current: String,
    pub filter: String,
    pub selected: usize,
    /// The new name being typed (F2), if renaming.
    pub renaming: Option<String>,
    /// Ctrl-D pressed once on this id: the next Ctrl-D deletes it.
    pub delete_armed: Option<String>,
    pub message: Option<String>,
    /// Lower-cased text of each session's messages, by id (filled in by a helper thread).
    pub contents: Option<HashMap<String, String>>,
}

impl SessionsBrowser {
    pub fn new(store: &SessionStore, current: &str) -> SessionsBrowser {
        SessionsBrowser::of(store.list(), current)
    }

    /// A browser over these sessions, `current` the one open in the chat.
    pub fn of(all: Vec<SessionSummary>, current: &str) -> SessionsBrowser {
        SessionsBrowser {
            all,
            current: current.to_string(),
            filter: String::new(),
            selected: 0,
            renaming: None,
            delete_armed: None,
            message: None,
            contents: None,
        }
    }

    /// Sessions matching the filter (title or id, case-insensitive).
    pub fn visible(&self) -> Vec<&SessionSummary> {
        let needle = self.filter.to_lowercase();
        self.all
            .iter()
            .filter(|s| {
                needle.is_empty()
                    || s.title.to_lowercase().contains(&needle)
                    || s.id.contains(&needle)
                    || self
                        .contents
                        .as_ref()
                        .and_then(|c| c.get(&s.id))
                        .is_some_and(|text| text.contains(&needle))
            })
            .collect()
    }

    pub fn selected_session(&self) -> Option<SessionSummary> {
        self.visible().get(self.selected).map(|s| (*s).clone())
    }

    pub fn move_by(&mut self, delta: isize) {
        let count = self.visible().len();
        if count == 0 {
            self.selected = 0;
            return;
        }
        self.selected = (self.selected as isize + delta).rem_euclid(count as isize) as usize;
        self.delete_armed = None;
    }

    pub fn type_char(&mut self, c: char) {
        match &mut self.renaming {
            Some(name) => name.push(c),
            None => {
                self.filter.push(c);
                self.selected = 0;
            }
        }
    }

    pub fn backspace(&mut self) {
        match &mut self.renaming {
            Some(name) => {
                name.pop();
            }
            None => {
                self.filter.pop();
                self.selected = 0;
            }
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc if self.renaming.is_some() => self.renaming = None,
            KeyCode::Esc => return vec![Effect::Close],
            KeyCode::Up => self.move_by(-1),
            KeyCode::Down => self.move_by(1),
            KeyCode::F(2) => self.renaming = self.selected_session().map(|s| s.title),
            KeyCode::Char('d') if ctrl => return self.delete_selected(),
            KeyCode::Char(c) if !ctrl => self.type_char(c),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Enter => return self.enter(),
            _ => {}
        }
        vec![]
    }

    fn enter(&mut self) -> Vec<Effect> {
        let Some(selected) = self.selected_session() else {
            return vec![];
        };
        if let Some(title) = self.renaming.take() {
            return vec![Effect::RenameSession {
                id: selected.id,
                title,
            }];
        }
        if selected.id == self.current {
            return vec![Effect::Close];
        }
        vec![Effect::Close, Effect::OpenSession(selected.id)]
    }

    /// Ctrl-D: arms on the first press, deletes on the second.
    fn delete_selected(&mut self) -> Vec<Effect> {
        let Some(selected) = self.selected_session() else {
            return vec![];
        };
        if selected.id == self.current {
            self.message = Some("this session is open: /new or open another first".into());
            return vec![];
        }
        if self.delete_armed.as_deref() != Some(selected.id.as_str()) {
            self.message = Some(format!("Ctrl-D again deletes '{}'", selected.title));
            self.delete_armed = Some(selected.id);
            return vec![];
        }
        self.delete_armed = None;
        vec![Effect::DeleteSession(selected.id)]
    }

    /// What the app did with a rename or delete, and the list as the store now has it.
    pub fn report(&mut self, message: String, store: &SessionStore) {
        self.message = Some(message);
        self.refresh(store);
    }

    pub fn refresh(&mut self, store: &SessionStore) {
        self.all = store.list();
        let count = self.visible().len();
        self.selected = self.selected.min(count.saturating_sub(1));
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect) {
        let browser = self;
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" sessions · type to filter · Enter open · F2 rename · Ctrl-D delete · Esc ");
        let inner = block.inner(area);
        frame.render_widget(Clear, area);
        frame.render_widget(block, area);
        let [top, list, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        let prompt = match &browser.renaming {
            Some(name) => format!("new name: {name}▏ (Enter renames, Esc keeps)"),
            None => format!("filter: {}▏", browser.filter),
        };
        frame.render_widget(Paragraph::new(prompt), top);
        let current = &self.current;
        let visible = browser.visible();
        let first = (browser.selected + 1).saturating_sub(list.height as usize);
        let lines: Vec<Line> = visible
            .iter()
            .enumerate()
            .skip(first)
            .take(list.height as usize)
            .map(|(i, s)| {
                let marker = if &s.id == current { "●" } else { " " };
                let open = s.locked_by.as_ref().map_or("", |_| " (open)");
                let text = format!(
                    "{marker} {:<32} {:>3} turns  {}  {}{open}",
                    clip(&s.title, 32),
                    s.turns,
                    s.updated.get(..16).unwrap_or(&s.updated).replace('T', " "),
                    s.id
                );
                let style = if i == browser.selected {
                    Style::default().bg(Color::Blue).fg(Color::White)
                } else {
                    Style::default()
                };
                Line::from(Span::styled(text, style))
            })
            .collect();
        let lines = if lines.is_empty() {
            vec![Line::from("no sessions match")]
        } else {
            lines
        };
        frame.render_widget(Paragraph::new(lines), list);
        if let Some(message) = &browser.message {
            frame.render_widget(
                Paragraph::new(Span::styled(
                    message.clone(),
                    Style::default().fg(Color::Yellow),
                )),
                bottom,
            );
        }
    }
}

/// What each session says, lower-cased, for the filter (read off the UI thread).
pub fn read_contents(sessions: &[SessionSummary]) -> HashMap<String, String> {
    sessions
        .iter()
        .filter_map(|s| {
            let loaded = journal::read(&s.path).ok()?;
            let c = Conversation::replay(loaded.header, &loaded.events);
            let text: String = c
                .turns
                .iter()
                .flat_map(|t| [t.question.as_str(), "\n", t.answer.as_str(), "\n"])
                .collect();
            Some((s.id.clone(), text.to_lowercase()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, title: &str) -> SessionSummary {
        SessionSummary {
            id: id.into(),
            title: title.into(),
            created: String::new(),
            updated: String::new(),
            turns: 0,
            model: None,
            path: std::path::PathBuf::from(id),
            locked_by: None,
        }
    }

    fn browser() -> SessionsBrowser {
        SessionsBrowser::of(
            vec![summary("open", "this one"), summary("old", "an old one")],
            "open",
        )
    }

    fn press(view: &mut SessionsBrowser, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
        view.key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn delete_needs_two_presses_and_never_takes_the_open_session() {
        let mut view = browser();
        let ctrl_d = |v: &mut SessionsBrowser| press(v, KeyCode::Char('d'), KeyModifiers::CONTROL);
        assert!(ctrl_d(&mut view).is_empty());
        assert!(view.message.as_deref().unwrap().contains("is open"));
        press(&mut view, KeyCode::Down, KeyModifiers::NONE);
        assert!(ctrl_d(&mut view).is_empty(), "the first press only arms");
        assert!(matches!(&ctrl_d(&mut view)[..], [Effect::DeleteSession(id)] if id == "old"));
    }

    #[test]
    fn enter_opens_another_session_renames_when_renaming_and_typing_filters() {
        let mut view = browser();
        assert!(matches!(
            &press(&mut view, KeyCode::Enter, KeyModifiers::NONE)[..],
            [Effect::Close]
        ));
        for c in "old".chars() {
            press(&mut view, KeyCode::Char(c), KeyModifiers::NONE);
        }
        assert_eq!(view.visible().len(), 1);
        press(&mut view, KeyCode::F(2), KeyModifiers::NONE);
        press(&mut view, KeyCode::Char('!'), KeyModifiers::NONE);
        assert!(matches!(
            &press(&mut view, KeyCode::Enter, KeyModifiers::NONE)[..],
            [Effect::RenameSession { id, title }] if id == "old" && title == "an old one!"
        ));
        assert!(matches!(
            &press(&mut view, KeyCode::Enter, KeyModifiers::NONE)[..],
            [Effect::Close, Effect::OpenSession(id)] if id == "old"
        ));
    }
}
