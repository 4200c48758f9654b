//! What of a conversation the model is asked with: the newest turns that fit its context.
//! A day-long session holds far more than any model reads (10,000 turns are 15 MB of text and
//! a thousand images), so, as llama.cpp's and aichat's chats do, the oldest turns are left
//! out — the session keeps them, and the user is told how many the model got.
//!
//! The budget is counted before tokenising (the UI thread must not tokenise 15 MB): a token is
//! taken to hold one byte of text, the least any byte-level or BPE vocabulary gives, so the
//! kept text never fills more than the context; images are counted apart, as each costs
//! hundreds to thousands of tokens whatever its file size.

use super::conversation::Turn;
use super::worker::HistoryTurn;

/// Images older than the newest this many are left out with their turns: radio-llava's
/// anyres gives a cutout 1,500 to 7,000 tokens of a 32,768-token context.
pub const MAX_IMAGES: usize = 8;

/// The context assumed when the engine does not say (an OpenAI-compatible server).
pub const UNKNOWN_CONTEXT_TOKENS: usize = 32_768;

/// The turns the model is asked with and how many older ones were left out.
#[derive(Debug)]
pub struct Recent {
    pub turns: Vec<HistoryTurn>,
    pub left_out: usize,
}

/// The newest turns whose text fits `context_tokens` bytes and whose images number at most
/// [`MAX_IMAGES`]; the last turn (the one to answer) always goes, and gets no answer.
pub fn recent(turns: &[Turn], context_tokens: Option<usize>) -> Recent {
    let budget = context_tokens.unwrap_or(UNKNOWN_CONTEXT_TOKENS);
    let (mut bytes, mut images, mut first) = (0usize, 0usize, turns.len());
    for (index, turn) in turns.iter().enumerate().rev() {
        let newest = index + 1 == turns.len();
        bytes += turn.question.len() + if newest { 0 } else { turn.answer.len() };
        images += turn.images.len();
        if !newest && (bytes > budget || images > MAX_IMAGES) {
            break;
        }
        first = index;
    }
    let count = turns.len();
    Recent {
        turns: turns[first..]
            .iter()
            .enumerate()
            .map(|(i, turn)| HistoryTurn {
                question: turn.question.clone(),
                images: turn.images.clone(),
                answer: (first + i + 1 < count).then(|| turn.answer.clone()),
            })
            .collect(),
        left_out: first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::conversation::{AnswerState, ImageRef};

    fn turn(question: &str, answer: &str, images: usize) -> Turn {
        Turn {
            asked_at: String::new(),
            question: question.into(),
            images: (0..images)
                .map(|i| ImageRef {
                    path: format!("{question}-{i}.fits"),
                    sha256: String::new(),
                    settings: Default::default(),
                })
                .collect(),
            answer: answer.into(),
            state: AnswerState::Streaming,
            answered_at: None,
        }
    }

    fn questions(recent: &Recent) -> Vec<&str> {
        recent.turns.iter().map(|t| t.question.as_str()).collect()
    }

    #[test]
    fn a_short_conversation_goes_whole_and_only_the_last_turn_lacks_its_answer() {
        let turns = [turn("q1", "a1", 1), turn("q2", "a2", 0), turn("q3", "", 0)];
        let recent = recent(&turns, Some(100));
        assert_eq!(questions(&recent), ["q1", "q2", "q3"]);
        assert_eq!(recent.left_out, 0);
        let answers: Vec<_> = recent.turns.iter().map(|t| t.answer.as_deref()).collect();
        assert_eq!(answers, [Some("a1"), Some("a2"), None]);
    }

    #[test]
    fn the_oldest_turns_are_left_out_once_the_text_exceeds_the_context() {
        // Each earlier turn is 10 bytes; 25 bytes hold the newest question (2) and two turns.
        let turns = [
            turn("q1", "12345678", 0),
            turn("q2", "12345678", 0),
            turn("q3", "12345678", 0),
            turn("q4", "", 0),
        ];
        let recent = recent(&turns, Some(25));
        assert_eq!(questions(&recent), ["q2", "q3", "q4"]);
        assert_eq!(recent.left_out, 1);
        assert_eq!(recent.turns[1].answer.as_deref(), Some("12345678"));
    }

    #[test]
    fn images_beyond_the_newest_eight_leave_with_their_turns() {
        let turns: Vec<Turn> = (0..6).map(|i| turn(&format!("q{i}"), "a", 2)).collect();
        let recent = recent(&turns, None);
        assert_eq!(questions(&recent), ["q2", "q3", "q4", "q5"]);
        assert_eq!(
            recent.turns.iter().map(|t| t.images.len()).sum::<usize>(),
            8
        );
        assert_eq!(recent.left_out, 2);
    }

    #[test]
    fn the_question_to_answer_goes_even_alone_over_budget() {
        let turns = [turn("old", "answer", 0), turn(&"x".repeat(50), "", 9)];
        let recent = recent(&turns, Some(10));
        assert_eq!(recent.turns.len(), 1);
        assert_eq!(recent.turns[0].images.len(), 9);
        assert_eq!(recent.left_out, 1);
    }
}
