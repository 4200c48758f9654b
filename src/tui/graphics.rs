//! Pixel pictures (kitty, sixel, iTerm2) in the chat's image pane and the preview window.
//!
//! A picture in a pixel protocol is not text, so it is not put into ratatui's buffer: an
//! escape sequence inside a cell (what an image widget has to do) breaks ratatui's diff and
//! left the conversation undrawn in real terminals. Instead the frame reserves the picture's
//! cells — blank cells carrying an invisible marker — and after ratatui has written the frame,
//! `place` draws, moves or removes the pictures out of band, only when one changed.
//!
//! The marker makes every redraw complete without re-sending pictures: cells under a picture
//! never change while it stays, so ratatui never writes over it; when anything else takes
//! those cells (an overlay, the conversation after the pane closes) they differ from the
//! marker and ratatui writes them, which erases sixel and iTerm2 pixels; kitty pictures are
//! deleted explicitly. A new picture in the same place gets another marker, so the old one's
//! pixels are wiped before it is drawn. Encoding runs on helper threads; half blocks are drawn
//! until it is done.

use crate::preview::{CellSize, Graphics as Choice, escape};
use image::RgbImage;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::sync::{Arc, mpsc};

/// Encoded pictures kept at once (a few panes and preview stretches).
const KEEP: usize = 8;

/// A picture by name and its size in pixels once fitted: a pane that grows or shrinks without
/// changing the fitted size (a notice line appearing under a width-bound picture) keeps it.
type Key = (String, u32, u32);

struct Encoded {
    /// kitty's image id (each encoded picture has its own).
    id: u32,
    columns: u16,
    rows: u16,
    escape: String,
}

/// One picture on screen: what, where (its fitted cells) and the marker of its cells.
#[derive(Clone)]
struct Placement {
    key: Key,
    at: Rect,
    marker: u8,
    /// Its half blocks, drawn instead when something covers it.
    fallback: Buffer,
}

impl PartialEq for Placement {
    fn eq(&self, other: &Placement) -> bool {
        (&self.key, self.at, self.marker) == (&other.key, other.at, other.marker)
    }
}

pub struct Graphics {
    protocol: Choice,
    cell: CellSize,
    in_tmux: bool,
    encoded: HashMap<Key, Arc<Encoded>>,
    pending: HashSet<Key>,
    tx: mpsc::Sender<(Key, Option<Encoded>)>,
    rx: mpsc::Receiver<(Key, Option<Encoded>)>,
    /// Pictures the frame being drawn asks for, and those on screen now.
    wanted: Vec<Placement>,
    shown: Vec<Placement>,
    /// kitty ids whose data the terminal holds.
    sent: HashSet<u32>,
    /// kitty ids to free on the next `place` (evicted from `encoded`).
    to_free: Vec<u32>,
    next_id: u32,
    next_marker: u8,
    screen: Option<Rect>,
}

impl Graphics {
    /// `None` for half blocks. `cell`: the cell size in pixels (see `preview::cell_size`).
    pub fn new(protocol: Choice, cell: CellSize, in_tmux: bool) -> Option<Graphics> {
        if matches!(protocol, Choice::Halfblocks | Choice::None) {
            return None;
        }
        let (tx, rx) = mpsc::channel();
        Some(Graphics {
            protocol,
            cell,
            in_tmux,
            encoded: HashMap::new(),
            pending: HashSet::new(),
            tx,
            rx,
            wanted: Vec::new(),
            shown: Vec::new(),
            sent: HashSet::new(),
            to_free: Vec::new(),
            // Ids of their own per process: other programs in the same kitty window keep theirs.
            next_id: (std::process::id() & 0xffff) << 12 | 1,
            next_marker: 0,
            screen: None,
        })
    }

    /// Ask for `picture` (named `name`) fitted into `area` this frame. When its encoding is
    /// ready, returns the rectangle it covers and the style its cells must be filled with;
    /// otherwise encoding starts and the caller draws half blocks. `halfblocks` draws the
    /// picture as text into a rectangle, for when something covers it.
    pub fn reserve(
        &mut self,
        name: &str,
        picture: &RgbImage,
        area: Rect,
        halfblocks: impl FnOnce(Rect) -> Buffer,
    ) -> Option<Reserved> {
        let fit = crate::preview::fit(
            picture.width(),
            picture.height(),
            area.width,
            area.height,
            self.cell,
        );
        let key = (name.to_string(), fit.width, fit.height);
        let Some(encoded) = self.encoded.get(&key) else {
            self.start_encoding(key, picture, area);
            return None;
        };
        let at = Rect::new(area.x, area.y, encoded.columns, encoded.rows).intersection(area);
        // A picture staying where it is keeps its marker and its half blocks (not rendered
        // again each frame while answers stream).
        let (marker, fallback) = match self.shown.iter().find(|p| p.key == key && p.at == at) {
            Some(shown) => (shown.marker, shown.fallback.clone()),
            None => {
                self.next_marker = self.next_marker.wrapping_add(1);
                (self.next_marker, halfblocks(at))
            }
        };
        self.wanted.push(Placement {
            key,
            at,
            marker,
            fallback,
        });
        Some(Reserved {
            at,
            style: marker_style(marker),
        })
    }

    /// After the whole frame is in `buffer`: a picture whose cells something else was drawn
    /// over (an overlay) is not shown this frame; its half blocks fill the cells still
    /// reserved for it.
    pub fn settle(&mut self, buffer: &mut Buffer) {
        let wanted = std::mem::take(&mut self.wanted);
        for placement in wanted {
            let style = marker_style(placement.marker);
            if covered(buffer, placement.at, style) {
                for position in placement.at.positions() {
                    if is_marker(&buffer[position], style) {
                        buffer[position] = placement.fallback[position].clone();
                    }
                }
            } else {
                self.wanted.push(placement);
            }
        }
    }

    /// Bring the screen up to the frame just written to `out` by ratatui: remove pictures no
    /// longer wanted, draw new or moved ones. After a resize (ratatui cleared the screen)
    /// everything is drawn again.
    pub fn place(&mut self, out: &mut dyn Write, screen: Rect) -> io::Result<()> {
        let resized = self.screen.replace(screen) != Some(screen);
        if resized {
            // A cleared screen may have taken kitty's image data with it.
            self.sent.clear();
        }
        let wanted = std::mem::take(&mut self.wanted);
        let mut bytes = Vec::new();
        if self.protocol == Choice::Kitty {
            for gone in self.shown.iter().filter(|s| resized || !wanted.contains(s)) {
                if let Some(encoded) = self.encoded.get(&gone.key) {
                    bytes.extend(self.wrap(&escape::kitty_delete(encoded.id, false)));
                }
            }
            for id in std::mem::take(&mut self.to_free) {
                bytes.extend(self.wrap(&escape::kitty_delete(id, true)));
                self.sent.remove(&id);
            }
        }
        for new in wanted.iter().filter(|w| resized || !self.shown.contains(w)) {
            let Some(encoded) = self.encoded.get(&new.key).cloned() else {
                continue;
            };
            // Save the cursor, draw at the picture's corner, restore: ratatui's cursor stays.
            bytes.extend_from_slice(
                format!("\x1b7\x1b[{};{}H", new.at.y + 1, new.at.x + 1).as_bytes(),
            );
            let escape = if self.protocol == Choice::Kitty && self.sent.contains(&encoded.id) {
                escape::kitty_place(encoded.id)
            } else {
                self.sent.insert(encoded.id);
                encoded.escape.clone()
            };
            bytes.extend(self.wrap(&escape));
            bytes.extend_from_slice(b"\x1b8");
        }
        self.shown = wanted;
        if !bytes.is_empty() {
            out.write_all(&bytes)?;
            out.flush()?;
        }
        Ok(())
    }

    /// Take every picture off the screen (leaving the chat).
    pub fn clear(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.protocol == Choice::Kitty {
            for encoded in self.encoded.values() {
                out.write_all(&self.wrap(&escape::kitty_delete(encoded.id, true)))?;
            }
            out.flush()?;
        }
        self.shown.clear();
        Ok(())
    }

    /// Take encoded pictures that arrived; true if any did (the screen should be redrawn).
    pub fn poll(&mut self) -> bool {
        let mut arrived = false;
        while let Ok((key, encoded)) = self.rx.try_recv() {
            self.pending.remove(&key);
            let Some(encoded) = encoded else { continue };
            if self.encoded.len() >= KEEP {
                self.evict();
            }
            self.encoded.insert(key, Arc::new(encoded));
            arrived = true;
        }
        arrived
    }

    /// Drop encoded pictures not on screen (kitty: their data in the terminal too).
    fn evict(&mut self) {
        let shown: HashSet<&Key> = self.shown.iter().map(|p| &p.key).collect();
        let unused: Vec<Key> = self
            .encoded
            .keys()
            .filter(|k| !shown.contains(k))
            .cloned()
            .collect();
        for key in unused {
            if let Some(encoded) = self.encoded.remove(&key)
                && self.sent.contains(&encoded.id)
            {
                self.to_free.push(encoded.id);
            }
        }
    }

    fn start_encoding(&mut self, key: Key, picture: &RgbImage, area: Rect) {
        if !self.pending.insert(key.clone()) {
            return;
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let (protocol, cell, tx) = (self.protocol, self.cell, self.tx.clone());
        let picture = picture.clone();
        std::thread::spawn(move || {
            let encoded = crate::preview::pixel_escape(
                &picture,
                protocol,
                area.width,
                area.height,
                cell,
                Some(id),
            )
            .ok()
            .flatten()
            .map(|(escape, fit)| Encoded {
                id,
                columns: fit.columns,
                rows: fit.rows,
                escape,
            });
            let _ = tx.send((key, encoded));
        });
    }

    fn wrap(&self, escape: &str) -> Vec<u8> {
        escape::passthrough(escape, self.in_tmux)
    }
}

/// Cells a picture covers and how to fill them.
pub struct Reserved {
    pub at: Rect,
    pub style: Style,
}

/// A blank cell no one else draws: hidden, with a foreground colour (invisible on a space)
/// that tells this picture's cells from the previous one's.
fn marker_style(marker: u8) -> Style {
    Style::new()
        .fg(Color::Indexed(marker))
        .add_modifier(Modifier::HIDDEN)
}

fn is_marker(cell: &ratatui::buffer::Cell, style: Style) -> bool {
    cell.symbol() == " " && Some(cell.fg) == style.fg && cell.modifier.contains(Modifier::HIDDEN)
}

fn covered(buffer: &Buffer, at: Rect, style: Style) -> bool {
    at.positions().any(|p| !is_marker(&buffer[p], style))
}

#[cfg(test)]
mod tests;
