//! Finding text in a long session: `/find TEXT` goes to the latest turn that mentions it,
//! then Ctrl-F to older matches and Ctrl-G to newer ones. The turns are searched once, and
//! turns added since only when stepping, so stepping costs nothing at any length.

use super::ConversationState;
use crate::chat::Turn;
use crate::tui::views::Effect;

impl ConversationState {
    /// `/find TEXT`: show the latest turn that mentions it.
    pub fn find(&mut self, text: &str) -> Vec<Effect> {
        self.finder = Some(Finder::new(text));
        self.find_again(true)
    }

    /// Ctrl-F (`older`) and Ctrl-G: the last `/find`'s next match that way.
    pub fn find_again(&mut self, older: bool) -> Vec<Effect> {
        let Some(finder) = &mut self.finder else {
            return vec![Effect::Info(
                "/find TEXT finds it in this session; then Ctrl-F older, Ctrl-G newer".into(),
            )];
        };
        let from = self.view.clear_from;
        let turns = self
            .session
            .conversation
            .turns
            .get(from..)
            .unwrap_or_default();
        let found = if older {
            finder.older(turns)
        } else {
            finder.newer(turns)
        };
        match found {
            Some(found) => {
                self.view.jump_to(from + found.turn);
                vec![Effect::Info(format!(
                    "'{}': {} of {} (turn {}) · Ctrl-F older · Ctrl-G newer · End: back to the end",
                    finder.text,
                    found.ordinal,
                    found.total,
                    from + found.turn + 1
                ))]
            }
            None => vec![Effect::Warn(format!("no turn mentions '{}'", finder.text))],
        }
    }

    /// `/clear`: hide the turns so far from the screen (and from `/find`).
    pub fn clear_screen(&mut self) {
        self.view.clear(self.session.conversation.turns.len());
        self.finder = None;
    }
}

/// A search and where the user is among its matches.
#[derive(Debug)]
pub struct Finder {
    /// What was asked for, as typed (for messages).
    pub text: String,
    needle: String,
    /// Indices of the turns that match, oldest first.
    matches: Vec<usize>,
    /// Turns searched so far.
    searched: usize,
    /// The match shown (an index into `matches`).
    at: Option<usize>,
}

/// A match to show: the turn, and its place among all matches (1 = oldest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub turn: usize,
    pub ordinal: usize,
    pub total: usize,
}

impl Finder {
    pub fn new(text: &str) -> Finder {
        Finder {
            text: text.to_string(),
            needle: text.to_lowercase(),
            matches: Vec::new(),
            searched: 0,
            at: None,
        }
    }

    /// The match before the one shown (the latest match at first); the oldest stays.
    pub fn older(&mut self, turns: &[Turn]) -> Option<Found> {
        self.search(turns);
        let at = match self.at {
            Some(at) => at.saturating_sub(1),
            None => self.matches.len().checked_sub(1)?,
        };
        self.show(at)
    }

    /// The match after the one shown; the latest stays.
    pub fn newer(&mut self, turns: &[Turn]) -> Option<Found> {
        self.search(turns);
        let last = self.matches.len().checked_sub(1)?;
        let at = self.at.map_or(last, |at| (at + 1).min(last));
        self.show(at)
    }

    fn show(&mut self, at: usize) -> Option<Found> {
        let turn = *self.matches.get(at)?;
        self.at = Some(at);
        Some(Found {
            turn,
            ordinal: at + 1,
            total: self.matches.len(),
        })
    }

    fn search(&mut self, turns: &[Turn]) {
        if self.searched > turns.len() {
            // Another session, or fewer turns than searched: start again.
            *self = Finder::new(&self.text);
        }
        for (index, turn) in turns.iter().enumerate().skip(self.searched) {
            if mentions(&turn.question, &self.needle) || mentions(&turn.answer, &self.needle) {
                self.matches.push(index);
            }
        }
        self.searched = turns.len();
    }
}

/// `haystack` contains `needle` (lower case) in any case; without copying the haystack when
/// the needle is ASCII, as nearly every search is.
fn mentions(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    if needle.is_ascii() {
        let needle = needle.as_bytes();
        return haystack
            .as_bytes()
            .windows(needle.len())
            .any(|window| window.eq_ignore_ascii_case(needle));
    }
    haystack.to_lowercase().contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::AnswerState;

    fn turn(question: &str, answer: &str) -> Turn {
        Turn {
            asked_at: "2026-12-02T23:00:00.000Z".into(),
            question: question.into(),
            images: Vec::new(),
            answer: answer.into(),
            state: AnswerState::Interrupted,
            answered_at: None,
        }
    }

    #[test]
    fn steps_from_the_latest_match_to_older_ones_and_back() {
        let mut turns = vec![
            turn("Is this an FR-II?", "Yes."),
            turn("and the core?", "faint"),
            turn("lobes", "Edge-brightened: fr-ii"),
            turn("Size?", "2 arcmin"),
        ];
        let mut finder = Finder::new("FR-II");
        let found = |turn, ordinal| {
            Some(Found {
                turn,
                ordinal,
                total: 2,
            })
        };
        assert_eq!(finder.older(&turns), found(2, 2));
        assert_eq!(finder.older(&turns), found(0, 1));
        assert_eq!(finder.older(&turns), found(0, 1), "the oldest stays");
        assert_eq!(finder.newer(&turns), found(2, 2));
        assert_eq!(finder.newer(&turns), found(2, 2), "the latest stays");
        turns.push(turn("one more fr-II?", ""));
        let newest = finder.newer(&turns).unwrap();
        assert_eq!(
            (newest.turn, newest.total),
            (4, 3),
            "turns added are searched"
        );
        assert_eq!(Finder::new("hotspot").older(&turns), None);
        assert_eq!(Finder::new("").older(&turns), None);
    }

    #[test]
    fn matches_in_any_case_beyond_ascii() {
        assert!(mentions("Émission diffuse", "émission"));
        assert!(mentions("an FR-I galaxy", "fr-i"));
        assert!(!mentions("fr", "fr-i"));
    }
}
