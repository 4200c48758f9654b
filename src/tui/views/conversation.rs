//! The conversation window. Only what it shows is drawn: each turn's lines are built once
//! and kept with their wrapped height at the window's width (the turn that streams is built
//! again each frame, alone), and the scroll position is a line within a turn, so a frame
//! costs the same at turn 10 and at turn 10,000.

use super::ViewCache;
use super::conversation_lines::{pending_lines, pictures_ready, turn_lines, unread_lines, welcome};
use crate::chat::{AnswerState, Conversation};
use image::RgbImage;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use std::cell::Cell;
use std::collections::HashMap;

/// Lines moved by one wheel notch, and by PgUp / PgDn.
pub const WHEEL_LINES: u16 = 3;
pub const PAGE_LINES: u16 = 10;

/// Built turns kept beyond those on screen: enough to scroll back and forth without building
/// them again, few enough that reading through a long session does not hold all of it.
const KEPT_AROUND: usize = 200;

/// A place in the conversation: line `line` (wrapped at the window's width) of block `block`
/// (a turn's index; the index after the last turn is the welcome or the attachments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    block: usize,
    line: usize,
}

/// Where the conversation is scrolled to, and where `/clear` cut it. Keys ask for scrolling;
/// the frame, which knows the width and so the heights, carries it out.
#[derive(Debug, Default)]
pub struct ConversationView {
    /// The window's top line; `None`: following the end.
    top: Cell<Option<Anchor>>,
    /// Lines to scroll at the next frame (positive: up, into the past).
    pending: Cell<i32>,
    /// Turns before this index are hidden by /clear.
    pub clear_from: usize,
}

/// What the conversation shows, from the app: the session's turns and the pictures read.
pub struct Shown<'a> {
    pub conversation: &'a Conversation,
    /// Model inputs of images seen in this run, by path.
    pub pictures: &'a HashMap<String, RgbImage>,
}

/// A turn's lines as built, and their height at one width.
pub struct BuiltTurn {
    lines: Vec<Line<'static>>,
    /// When it was asked and how long its answer is: a different turn under the same index
    /// (another unsaved session) is built anew.
    stamp: (String, usize),
    pictures: usize,
    height: Option<(u16, usize)>,
}

impl ConversationView {
    /// Scroll by `lines`: positive is up, into the past.
    pub fn scroll(&mut self, lines: i32) {
        self.pending.set(self.pending.get().saturating_add(lines));
    }

    pub fn follow(&mut self) {
        self.top.set(None);
        self.pending.set(0);
    }

    /// Show turn `turn` from its first line (`/find`).
    pub fn jump_to(&mut self, turn: usize) {
        self.top.set(Some(Anchor {
            block: turn.max(self.clear_from),
            line: 0,
        }));
        self.pending.set(0);
    }

    /// `/clear`: hide the turns so far (the session keeps them).
    pub fn clear(&mut self, turns: usize) {
        self.clear_from = turns;
        self.follow();
    }

    pub fn draw(&self, frame: &mut Frame, shown: &Shown, cache: &mut ViewCache, area: Rect) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let rows = area.height as usize;
        let mut blocks = Blocks::new(shown, self.clear_from, area.width, cache);
        let mut top = match self.top.get() {
            Some(anchor) => blocks.clamp(anchor),
            None => blocks.bottom_top(rows),
        };
        let pending = self.pending.replace(0);
        if pending != 0 {
            top = blocks.moved(top, -i64::from(pending));
        }
        let (below, last_shown) = blocks.lines_below(top, rows);
        let following = below == 0;
        if following {
            top = blocks.bottom_top(rows);
        }
        self.top.set((!following).then_some(top));

        let mut lines = Vec::new();
        for block in top.block..=last_shown.max(top.block) {
            blocks.extend(block, &mut lines);
        }
        let offset = top.line.min(u16::MAX as usize) as u16;
        let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
        frame.render_widget(paragraph.scroll((offset, 0)), area);
        blocks.forget_far_from(top.block);
        if !following {
            let later = blocks.end.saturating_sub(last_shown + 1);
            let hint = match later {
                0 => format!(" ↓ {below} more lines (End) "),
                1 => " ↓ 1 more turn (End) ".to_string(),
                n => format!(" ↓ {n} more turns (End) "),
            };
            draw_hint(frame, area, hint);
        }
    }
}

fn draw_hint(frame: &mut Frame, area: Rect, hint: String) {
    let width = hint.chars().count() as u16;
    let at = Rect::new(
        area.right().saturating_sub(width),
        area.bottom().saturating_sub(1),
        width.min(area.width),
        1,
    );
    frame.render_widget(Clear, at);
    frame.render_widget(
        Paragraph::new(Span::styled(
            hint,
            Style::default().fg(Color::Black).bg(Color::Yellow),
        )),
        at,
    );
}

/// The conversation as blocks of lines at one width: the turns after the `/clear` cut, then
/// the welcome (no turns) or the attachments waiting (if any). Finished turns come from the
/// cache; the streaming turn and the last block are built for this frame only.
struct Blocks<'a> {
    shown: &'a Shown<'a>,
    cache: &'a mut ViewCache,
    width: u16,
    first: usize,
    end: usize,
    fresh: HashMap<usize, (Vec<Line<'static>>, usize)>,
}

impl<'a> Blocks<'a> {
    fn new(
        shown: &'a Shown<'a>,
        clear_from: usize,
        width: u16,
        cache: &'a mut ViewCache,
    ) -> Blocks<'a> {
        let conversation = shown.conversation;
        let turns = conversation.turns.len();
        let first = clear_from.min(turns);
        let tail = first == turns || !conversation.pending_images.is_empty();
        Blocks {
            shown,
            cache,
            width,
            first,
            end: turns + usize::from(tail),
            fresh: HashMap::new(),
        }
    }

    fn height(&mut self, block: usize) -> usize {
        self.block(block).1
    }

    fn extend(&mut self, block: usize, out: &mut Vec<Line<'static>>) {
        out.extend(self.block(block).0.iter().cloned());
    }

    /// A block's lines and height: a finished turn from the cache, else built for this frame.
    fn block(&mut self, block: usize) -> (&[Line<'static>], usize) {
        let shown = self.shown;
        match shown.conversation.turns.get(block) {
            Some(turn) if turn.state != AnswerState::Streaming => self.built(block),
            _ => {
                let (lines, height) = self.fresh(block);
                (lines, *height)
            }
        }
    }

    /// A finished turn, from the cache (built if it is not there or no longer fits).
    fn built(&mut self, block: usize) -> (&[Line<'static>], usize) {
        let shown = self.shown;
        let turn = &shown.conversation.turns[block];
        let stamp = (turn.asked_at.clone(), turn.answer.len());
        let pictures = pictures_ready(turn, shown.pictures);
        let key = (shown.conversation.header.id.clone(), block);
        let entry = self.cache.turns.entry(key).or_insert_with(|| BuiltTurn {
            lines: Vec::new(),
            stamp: (String::new(), usize::MAX),
            pictures: usize::MAX,
            height: None,
        });
        if entry.stamp != stamp || entry.pictures != pictures {
            entry.lines = if block < shown.conversation.unread {
                unread_lines()
            } else {
                turn_lines(turn, shown.pictures)
            };
            entry.stamp = stamp;
            entry.pictures = pictures;
            entry.height = None;
            self.cache.turns_built += 1;
        }
        let height = match entry.height {
            Some((width, height)) if width == self.width => height,
            _ => {
                let height = wrapped_height(&entry.lines, self.width);
                entry.height = Some((self.width, height));
                height
            }
        };
        (&entry.lines, height)
    }

    /// The streaming turn or the last block, built once per frame.
    fn fresh(&mut self, block: usize) -> &(Vec<Line<'static>>, usize) {
        let shown = self.shown;
        let width = self.width;
        let built = &mut self.cache.turns_built;
        self.fresh.entry(block).or_insert_with(|| {
            *built += 1;
            let conversation = shown.conversation;
            let lines = match conversation.turns.get(block) {
                Some(turn) => turn_lines(turn, shown.pictures),
                None if conversation.pending_images.is_empty() => welcome(),
                None => pending_lines(&conversation.pending_images, shown.pictures),
            };
            let height = wrapped_height(&lines, width);
            (lines, height)
        })
    }

    /// `anchor` kept within the blocks there are now.
    fn clamp(&mut self, anchor: Anchor) -> Anchor {
        if self.first >= self.end {
            return Anchor { block: 0, line: 0 };
        }
        let block = anchor.block.clamp(self.first, self.end - 1);
        let line = anchor.line.min(self.height(block).saturating_sub(1));
        Anchor { block, line }
    }

    /// The top of a window of `rows` lines that ends with the conversation's last line.
    fn bottom_top(&mut self, rows: usize) -> Anchor {
        let mut above = 0;
        for block in (self.first..self.end).rev() {
            above += self.height(block);
            if above >= rows {
                return Anchor {
                    block,
                    line: above - rows,
                };
            }
        }
        Anchor {
            block: self.first,
            line: 0,
        }
    }

    /// `from` moved by `lines` (negative: up), stopping at the first and the last line.
    fn moved(&mut self, from: Anchor, lines: i64) -> Anchor {
        let (mut block, mut line) = (from.block, from.line as i64 + lines);
        while line < 0 {
            if block <= self.first {
                line = 0;
                break;
            }
            block -= 1;
            line += self.height(block) as i64;
        }
        loop {
            let height = self.height(block) as i64;
            if line < height {
                break;
            }
            if block + 1 >= self.end {
                line = (height - 1).max(0);
                break;
            }
            line -= height;
            block += 1;
        }
        Anchor {
            block,
            line: line as usize,
        }
    }

    /// Lines below a window of `rows` lines from `top` (counted up to one window's worth:
    /// 0 means the end is in view), and the last block the window shows.
    fn lines_below(&mut self, top: Anchor, rows: usize) -> (usize, usize) {
        let mut seen = 0;
        let mut last = top.block;
        for block in top.block..self.end {
            if seen >= top.line + rows {
                return (seen - top.line - rows + 1, last);
            }
            seen += self.height(block);
            last = block;
        }
        (seen.saturating_sub(top.line + rows), last)
    }

    /// Drop built turns far from the window (and any of another session).
    fn forget_far_from(&mut self, block: usize) {
        if self.cache.turns.len() <= 2 * KEPT_AROUND {
            return;
        }
        let id = &self.shown.conversation.header.id;
        let near = block.saturating_sub(KEPT_AROUND)..block + KEPT_AROUND;
        self.cache
            .turns
            .retain(|(session, index), _| session == id && near.contains(index));
    }
}

fn wrapped_height(lines: &[Line<'static>], width: u16) -> usize {
    Paragraph::new(lines.to_vec())
        .wrap(Wrap { trim: false })
        .line_count(width)
}
