//! The preview: the current image full screen, under the model's stretch or any display
//! stretch (`s` / `S` cycle; the app renders a stretch off the UI thread the first time).

use super::picture::draw_picture;
use super::{Effect, ViewCache};
use crossterm::event::{KeyCode, KeyEvent};
use image::RgbImage;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// The stretches the preview cycles through; the first is the model input.
pub const PREVIEW_STRETCHES: &[&str] = crate::imaging::stretch::STRETCH_NAMES;

/// The stretch at `index` of the cycle.
pub fn stretch_name(index: usize) -> &'static str {
    PREVIEW_STRETCHES[index % PREVIEW_STRETCHES.len()]
}

#[derive(Debug, Default)]
pub struct PreviewView {
    /// Index into [`PREVIEW_STRETCHES`].
    pub stretch: usize,
}

/// What the preview shows, from the app: the image and its picture under the stretch, if
/// rendered yet.
pub struct Shown<'a> {
    pub path: &'a str,
    pub name: String,
    pub contrast: f64,
    pub picture: Option<&'a RgbImage>,
}

impl PreviewView {
    pub fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let n = PREVIEW_STRETCHES.len();
        match key.code {
            KeyCode::Char('s') | KeyCode::Right => self.stretch = (self.stretch + 1) % n,
            KeyCode::Char('S') | KeyCode::Left => self.stretch = (self.stretch + n - 1) % n,
            KeyCode::Esc | KeyCode::Char('q' | '?') | KeyCode::F(1) => return vec![Effect::Close],
            _ => return vec![],
        }
        vec![Effect::Restretch(self.stretch)]
    }

    pub fn draw(&self, frame: &mut Frame, shown: &Shown, area: Rect, cache: &mut ViewCache) {
        let name = stretch_name(self.stretch);
        let what = if self.stretch == 0 {
            format!("the model input (radio-llava, contrast {})", shown.contrast)
        } else {
            format!("stretch {name}")
        };
        let title = format!(" {} · {what} · s/S stretch · Esc closes ", shown.name);
        let block = Block::default().borders(Borders::ALL).title(title);
        let inner = block.inner(area);
        frame.render_widget(Clear, area);
        frame.render_widget(block, area);
        match shown.picture {
            Some(picture) => {
                let key = format!("{}#{name}", shown.path);
                draw_picture(frame, cache, &key, picture, inner)
            }
            None => frame.render_widget(Paragraph::new(format!("rendering {name}…")), inner),
        }
    }
}
