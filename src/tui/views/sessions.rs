//! `/sessions`: the stored sessions, filtered as you type (titles and ids at once; what was
//! said by a helper thread searching the journals for each new filter); Enter opens, F2
//! renames, Ctrl-D deletes (pressed twice). The list itself is read by a helper too: with
//! 5,000 sessions reading them took 0.4 s, which the UI thread must not wait for.

use super::{Background, Effect};
use crate::chat::{SessionSummary, store};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// The sessions are still being read.
    pub listing: bool,
    /// The ids of the sessions whose messages mention a (lower-cased) filter, as found by
    /// the helper thread for it.
    said: Option<(String, HashSet<String>)>,
    /// Counts the searches started: a search for a filter typed over stops early.
    searches: Arc<AtomicU64>,
    /// Lower-cased titles, in `all`'s order.
    titles: Vec<String>,
    /// Indexes into `all` of the sessions the filter matches: found once per change of the
    /// filter, not per frame (with 5,000 sessions the contents are tens of megabytes).
    matches: Vec<usize>,
    /// The lower-cased filter `matches` was found for.
    needle: String,
}

impl SessionsBrowser {
    /// A browser waiting for the list of sessions ([`SessionsBrowser::listed`]).
    pub fn listing(current: &str) -> SessionsBrowser {
        let mut browser = SessionsBrowser::of(Vec::new(), current);
        browser.listing = true;
        browser
    }

    /// A browser over these sessions, `current` the one open in the chat.
    pub fn of(all: Vec<SessionSummary>, current: &str) -> SessionsBrowser {
        let mut browser = SessionsBrowser {
            all: Vec::new(),
            current: current.to_string(),
            filter: String::new(),
            selected: 0,
            renaming: None,
            delete_armed: None,
            message: None,
            listing: false,
            said: None,
            searches: Arc::new(AtomicU64::new(0)),
            titles: Vec::new(),
            matches: Vec::new(),
            needle: String::new(),
        };
        browser.set_list(all);
        browser
    }

    fn set_list(&mut self, all: Vec<SessionSummary>) {
        self.titles = all.iter().map(|s| s.title.to_lowercase()).collect();
        self.all = all;
        self.refilter(None);
    }

    /// The sessions as the store lists them now (read by a helper thread).
    pub fn listed(&mut self, all: Vec<SessionSummary>) -> Vec<Effect> {
        self.listing = false;
        self.set_list(all);
        self.search()
    }

    /// The sessions whose messages mention `needle`, if that is still the filter.
    pub fn said(&mut self, needle: String, ids: HashSet<String>) {
        if needle == self.filter.to_lowercase() {
            self.said = Some((needle, ids));
            self.refilter(None);
        }
    }

    /// Search what the sessions say for the filter, on a helper thread (none for no filter).
    pub fn search(&self) -> Vec<Effect> {
        let needle = self.filter.to_lowercase();
        let started = self.searches.fetch_add(1, Ordering::Relaxed) + 1;
        if needle.is_empty() {
            return vec![];
        }
        let searches = self.searches.clone();
        let journals: Vec<(String, PathBuf)> = self
            .all
            .iter()
            .map(|s| (s.id.clone(), s.path.clone()))
            .collect();
        vec![Effect::Spawn(Box::new(move || {
            crate::util::priority::lower_this_thread();
            let current = || searches.load(Ordering::Relaxed) == started;
            let mut ids = HashSet::new();
            for (id, path) in journals {
                if !current() {
                    break;
                }
                if store::mentions(&path, &needle) {
                    ids.insert(id);
                }
            }
            Background::SessionsSaid { needle, ids }
        }))]
    }

    /// Find the matches again: among the last ones when the new needle holds the last (a
    /// typed character can only drop matches), else among all.
    fn refilter(&mut self, within: Option<Vec<usize>>) {
        let needle = self.filter.to_lowercase();
        let candidates = match within {
            Some(last) if needle.contains(&self.needle) => last,
            _ => (0..self.all.len()).collect(),
        };
        self.matches = candidates
            .into_iter()
            .filter(|&i| {
                let session = &self.all[i];
                needle.is_empty()
                    || self.titles[i].contains(&needle)
                    || session.id.contains(&needle)
                    || self
                        .said
                        .as_ref()
                        .is_some_and(|(said, ids)| *said == needle && ids.contains(&session.id))
            })
            .collect();
        self.needle = needle;
        self.selected = self.selected.min(self.matches.len().saturating_sub(1));
    }

    /// Sessions matching the filter (title, id or — once read — text; case-insensitive).
    pub fn visible(&self) -> impl ExactSizeIterator<Item = &SessionSummary> {
        self.matches.iter().map(|&i| &self.all[i])
    }

    pub fn selected_session(&self) -> Option<SessionSummary> {
        let index = *self.matches.get(self.selected)?;
        Some(self.all[index].clone())
    }

    pub fn move_by(&mut self, delta: isize) {
        let count = self.matches.len();
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
                let narrowed = std::mem::take(&mut self.matches);
                self.refilter(Some(narrowed));
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
                self.refilter(None);
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
            KeyCode::Char(c) if !ctrl => {
                self.type_char(c);
                return self.search_if_filtering();
            }
            KeyCode::Backspace => {
                self.backspace();
                return self.search_if_filtering();
            }
            KeyCode::Enter => return self.enter(),
            _ => {}
        }
        vec![]
    }

    /// A search for the filter just changed (not for the new name being typed).
    fn search_if_filtering(&self) -> Vec<Effect> {
        if self.renaming.is_some() {
            return vec![];
        }
        self.search()
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

    #[test]
    fn the_filter_narrows_as_typed_widens_on_backspace_and_takes_in_the_contents() {
        let mut view = SessionsBrowser::of(
            vec![
                summary("a1", "FR-II lobes"),
                summary("a2", "fr-i jets"),
                summary("a3", "artefacts"),
            ],
            "a1",
        );
        let titles = |v: &SessionsBrowser| v.visible().map(|s| s.title.clone()).collect::<Vec<_>>();
        let typed = |v: &mut SessionsBrowser, text: &str| {
            text.chars().for_each(|c| {
                press(v, KeyCode::Char(c), KeyModifiers::NONE);
            })
        };
        typed(&mut view, "fr-i");
        assert_eq!(titles(&view), ["FR-II lobes", "fr-i jets"]);
        typed(&mut view, "i");
        assert_eq!(titles(&view), ["FR-II lobes"]);
        press(&mut view, KeyCode::Backspace, KeyModifiers::NONE);
        assert_eq!(titles(&view), ["FR-II lobes", "fr-i jets"]);
        view.said("fr-i".into(), HashSet::from(["a3".to_string()]));
        assert_eq!(titles(&view), ["FR-II lobes", "fr-i jets", "artefacts"]);
        press(&mut view, KeyCode::Down, KeyModifiers::NONE);
        press(&mut view, KeyCode::Down, KeyModifiers::NONE);
        assert_eq!(view.selected_session().unwrap().id, "a3");
        // What was said is known per filter: "fr-i?" waits for its own search.
        typed(&mut view, "?");
        assert!(titles(&view).is_empty());
        view.said("fr-i".into(), HashSet::from(["a3".to_string()]));
        assert!(
            titles(&view).is_empty(),
            "a late answer for an older filter is dropped"
        );
        view.said("fr-i?".into(), HashSet::from(["a3".to_string()]));
        assert_eq!(titles(&view), ["artefacts"]);
        assert_eq!(view.selected_session().unwrap().id, "a3");
    }
}
