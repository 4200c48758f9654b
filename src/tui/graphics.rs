//! Pixel-accurate images inside the frame (kitty, sixel, iTerm2) through ratatui-image,
//! where the terminal has a protocol; everywhere else the half blocks of `picture.rs`.
//!
//! Resizing and encoding an image for a protocol takes milliseconds to tens of them (sixel),
//! so it runs on a helper thread; the half-block version is drawn until the encoded one
//! arrives.

use crate::preview::Graphics as Choice;
use image::{DynamicImage, RgbImage};
use ratatui::layout::Rect;
use ratatui_image::Resize;
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::Protocol;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

/// Encoded images kept at once (a few panes and preview stretches).
const KEEP: usize = 8;

type Key = (String, u16, u16);

pub struct Graphics {
    picker: Picker,
    ready: HashMap<Key, Protocol>,
    pending: HashSet<Key>,
    tx: mpsc::Sender<(Key, Option<Protocol>)>,
    rx: mpsc::Receiver<(Key, Option<Protocol>)>,
}

impl Graphics {
    /// The protocol to use, or `None` for half blocks. Without an explicit choice it is read
    /// from the environment (as `radiochat view` does) — never by querying the terminal: a
    /// query reads stdin on a thread of its own, which swallows keys typed meanwhile and, when
    /// a terminal never answers, keeps reading. Inside tmux the chat uses half blocks unless
    /// told otherwise.
    pub fn from_environment(choice: Option<Choice>) -> Option<Graphics> {
        let env = |key: &str| std::env::var(key).ok();
        let choice = match choice {
            Some(choice) => choice,
            None if env("TMUX").is_some() => return None,
            None => crate::preview::detect(&env),
        };
        let protocol = match choice {
            Choice::Kitty => ProtocolType::Kitty,
            Choice::Sixel => ProtocolType::Sixel,
            Choice::Iterm => ProtocolType::Iterm2,
            Choice::Halfblocks | Choice::None => return None,
        };
        // The cell size in pixels, from the window size the terminal reports (also over SSH);
        // 10×20 px is typical when it reports none.
        let font = crossterm::terminal::window_size()
            .ok()
            .filter(|w| w.width > 0 && w.height > 0 && w.columns > 0 && w.rows > 0)
            .map(|w| (w.width / w.columns, w.height / w.rows))
            .unwrap_or((10, 20));
        // Deprecated in favour of a terminal query, which is what must be avoided here.
        #[allow(deprecated)]
        let mut picker = Picker::from_fontsize(font);
        picker.set_protocol_type(protocol);
        Self::with_picker(picker)
    }

    fn with_picker(picker: Picker) -> Option<Graphics> {
        if picker.protocol_type() == ProtocolType::Halfblocks {
            return None;
        }
        let (tx, rx) = mpsc::channel();
        Some(Graphics {
            picker,
            ready: HashMap::new(),
            pending: HashSet::new(),
            tx,
            rx,
        })
    }

    pub fn protocol_name(&self) -> &'static str {
        match self.picker.protocol_type() {
            ProtocolType::Kitty => "kitty",
            ProtocolType::Sixel => "sixel",
            ProtocolType::Iterm2 => "iTerm2",
            ProtocolType::Halfblocks => "half blocks",
        }
    }

    /// The encoded image for `name` fitted to `area`, if ready; otherwise encoding starts and
    /// the caller draws half blocks this frame.
    pub fn image(&mut self, name: &str, picture: &RgbImage, area: Rect) -> Option<&Protocol> {
        let key = (name.to_string(), area.width, area.height);
        if !self.ready.contains_key(&key) && self.pending.insert(key.clone()) {
            let picker = self.picker.clone();
            let picture = DynamicImage::ImageRgb8(picture.clone());
            let tx = self.tx.clone();
            let size = Rect::new(0, 0, area.width, area.height);
            let job = key.clone();
            std::thread::spawn(move || {
                let protocol = picker.new_protocol(picture, size, Resize::Fit(None)).ok();
                let _ = tx.send((job, protocol));
            });
        }
        self.ready.get(&key)
    }

    /// Take encoded images that arrived; true if any did (the screen should be redrawn).
    pub fn poll(&mut self) -> bool {
        let mut arrived = false;
        while let Ok((key, protocol)) = self.rx.try_recv() {
            self.pending.remove(&key);
            if let Some(protocol) = protocol {
                if self.ready.len() >= KEEP {
                    self.ready.clear();
                }
                self.ready.insert(key, protocol);
                arrived = true;
            }
        }
        arrived
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_protocols_encode_off_thread_and_half_blocks_need_none() {
        assert!(Graphics::from_environment(Some(Choice::Halfblocks)).is_none());
        let picture = RgbImage::from_pixel(40, 30, image::Rgb([200, 10, 10]));
        let area = Rect::new(0, 0, 12, 6);
        for (choice, name) in [
            (Choice::Kitty, "kitty"),
            (Choice::Sixel, "sixel"),
            (Choice::Iterm, "iTerm2"),
        ] {
            let mut graphics = Graphics::from_environment(Some(choice)).expect(name);
            assert_eq!(graphics.protocol_name(), name);
            assert!(
                graphics.image("cutout", &picture, area).is_none(),
                "not yet"
            );
            let started = std::time::Instant::now();
            while !graphics.poll() {
                assert!(started.elapsed().as_secs() < 20, "{name} never encoded");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let encoded = graphics.image("cutout", &picture, area).expect(name);
            let fits = encoded.area();
            assert!(fits.width <= 12 && fits.height <= 6, "{name}: {fits:?}");
        }
    }
}
