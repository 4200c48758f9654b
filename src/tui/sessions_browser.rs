//! `/sessions`: the stored sessions, filtered as you type; Enter opens, F2 renames,
//! Ctrl-D deletes (pressed twice).

use crate::chat::{SessionStore, SessionSummary};

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
