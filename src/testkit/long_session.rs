//! Long sessions for tests and the perf harness: a day's questions about cutouts kept in one
//! journal, written through the store as the chat writes them (answers in the pieces a
//! stream journals, an image with every tenth question). About 1.5 KB of journal per turn:
//! 10,000 turns make a 15 MB journal.

use crate::chat::{Event, Header, ImageSettings, SessionStore, StoreError};
use crate::engine::{FinishReason, Usage};

/// Characters per journalled piece of an answer (what 250 ms of streaming writes).
const PIECE: usize = 48;

/// Write a session of `turns` questions and answers; its id.
pub fn write_long_session(store: &SessionStore, turns: usize) -> Result<String, StoreError> {
    let header = Header {
        created: at(0),
        model: Some("/models/radio-llava-nano".into()),
        ..Header::new(format!("{turns} turns"))
    };
    let (mut writer, conversation) = store.create(header)?;
    let mut write = |event: Event| writer.write(&event).map_err(StoreError::from);
    for turn in 1..=turns {
        let second = turn as u64 * 6;
        if turn % 10 == 1 {
            write(Event::Image {
                at: at(second),
                path: format!("/data/cutouts/source_{turn:05}.fits"),
                sha256: format!("{turn:064x}"),
                settings: ImageSettings::default(),
            })?;
        }
        write(Event::User {
            at: at(second + 1),
            text: question(turn),
        })?;
        let answer = answer(turn);
        let mut rest = answer.as_str();
        while !rest.is_empty() {
            let mut cut = rest.len().min(PIECE);
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            let (piece, after) = rest.split_at(cut);
            write(Event::Tokens {
                at: at(second + 2),
                text: piece.to_string(),
            })?;
            rest = after;
        }
        write(Event::Done {
            at: at(second + 3),
            finish: FinishReason::Stop,
            usage: Usage::default(),
        })?;
    }
    Ok(conversation.header.id)
}

/// The question of turn `turn`, counted from 1 as the chat shows them (each names its turn,
/// so a test can find it).
pub fn question(turn: usize) -> String {
    format!(
        "Turn {turn}: is the source at the centre of source_{turn:05}.fits an extended radio \
         galaxy, and if so of which Fanaroff-Riley type?"
    )
}

/// The answer of turn `turn`: Markdown, as a model writes it.
pub fn answer(turn: usize) -> String {
    let class = if turn.is_multiple_of(3) {
        "FR-I"
    } else {
        "FR-II"
    };
    format!(
        "Answer {turn}: **{class}**. The image shows a double-lobed radio source whose \
         brightness {}.\n\n- core: {:.1} mJy\n- largest angular size: {} arcsec\n- \
         artefacts: none above 3σ\n\nThe morphology is typical of {class} sources in the \
         survey; a spectral index map would confirm the classification, and the optical \
         host should be checked for an AGN signature before the source goes into the \
         catalogue. Ask again with the full-resolution cutout for the jet's position angle.",
        if class == "FR-I" {
            "fades from the core outwards"
        } else {
            "peaks in hotspots at the ends of both lobes"
        },
        0.4 + (turn % 17) as f64 * 0.3,
        40 + turn % 90,
    )
}

fn at(second: u64) -> String {
    format!(
        "2026-12-02T{:02}:{:02}:{:02}.000Z",
        (second / 3600) % 24,
        (second / 60) % 60,
        second % 60
    )
}
