//! `/sessions`: the stored sessions, filtered as you type (titles, ids, and — once read in
//! the background — what was said); Enter opens, F2 renames, Ctrl-D deletes (pressed twice).

use crate::chat::{Conversation, SessionStore, SessionSummary, journal};
use std::collections::HashMap;

#[derive(Debug)]
pub struct SessionsBrowser {
    pub all: Vec<SessionSummary>,
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
    pub fn new(store: &SessionStore) -> SessionsBrowser {
        SessionsBrowser {
            all: store.list(),
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

    pub fn refresh(&mut self, store: &SessionStore) {
        self.all = store.list();
        let count = self.visible().len();
        self.selected = self.selected.min(count.saturating_sub(1));
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
