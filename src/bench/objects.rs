//! Object annotations: radio sources with a class and a box, normalised to the image. They come
//! as radio-YOLO label files (`…/images/NAME.png` ↔ `…/labels/NAME.txt`, a line
//! `class_id x_center y_center width height` per source) or as a dataset item's `objects` list
//! (`[{"class": "COMPACT", "bbox": [x_center, y_center, width, height]}]`). The classes and
//! their ids are radio-YOLO's, as radio-llava's `create_dataset_from_radioyolo.py` reads them.
//! A bad line or entry is skipped and reported with its file and line, never fatal.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// radio-YOLO's source classes, in class-id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SourceClass {
    /// Imaging artefacts (id 0, "ARTEFACT" in the label map, "SPURIOUS" in the text).
    Spurious,
    Compact,
    Extended,
    ExtendedMultisland,
    Flagged,
}

impl SourceClass {
    pub const ALL: [SourceClass; 5] = [
        SourceClass::Spurious,
        SourceClass::Compact,
        SourceClass::Extended,
        SourceClass::ExtendedMultisland,
        SourceClass::Flagged,
    ];

    pub fn yolo_id(self) -> usize {
        self as usize
    }

    pub fn from_yolo_id(id: usize) -> Option<SourceClass> {
        Self::ALL.get(id).copied()
    }

    /// The name radio-llava's text uses.
    pub fn name(self) -> &'static str {
        match self {
            SourceClass::Spurious => "SPURIOUS",
            SourceClass::Compact => "COMPACT",
            SourceClass::Extended => "EXTENDED",
            SourceClass::ExtendedMultisland => "EXTENDED-MULTISLAND",
            SourceClass::Flagged => "FLAGGED",
        }
    }

    /// A class name in any case, `ARTEFACT` for SPURIOUS, `_` or a space for `-`.
    pub fn parse(name: &str) -> Option<SourceClass> {
        let name = name.trim().to_ascii_uppercase().replace(['_', ' '], "-");
        match name.as_str() {
            "ARTEFACT" | "ARTIFACT" => Some(SourceClass::Spurious),
            "EXTENDED-MULTI-ISLAND" => Some(SourceClass::ExtendedMultisland),
            _ => Self::ALL.into_iter().find(|c| c.name() == name),
        }
    }
}

/// A source: its class and its box (centre and size, as fractions of the image's width and
/// height; y from the top row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceBox {
    pub class: SourceClass,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl SourceBox {
    /// A box from its four numbers, if they are a box inside the image.
    pub fn new(class: SourceClass, [x, y, w, h]: [f64; 4]) -> Result<SourceBox, String> {
        let inside = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if ![x, y, w, h].into_iter().all(inside) {
            return Err(format!(
                "box ({x}, {y}, {w}, {h}) is not within [0, 1] (normalised x_center y_center width height)"
            ));
        }
        if w == 0.0 || h == 0.0 {
            return Err(format!("box ({x}, {y}, {w}, {h}) has no area"));
        }
        Ok(SourceBox { class, x, y, w, h })
    }

    pub fn numbers(&self) -> [f64; 4] {
        [self.x, self.y, self.w, self.h]
    }

    /// The same box in an image zero-padded to a centred square (the `square` resize).
    pub fn padded_to_square(&self, width: usize, height: usize) -> SourceBox {
        let side = width.max(height) as f64;
        let (sx, sy) = (width as f64 / side, height as f64 / side);
        SourceBox {
            x: (self.x - 0.5) * sx + 0.5,
            y: (self.y - 0.5) * sy + 0.5,
            w: self.w * sx,
            h: self.h * sy,
            ..*self
        }
    }
}

/// A dataset item's `objects` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub class: String,
    pub bbox: Vec<f64>,
}

impl From<&SourceBox> for ObjectEntry {
    fn from(b: &SourceBox) -> Self {
        ObjectEntry {
            class: b.class.name().into(),
            bbox: b.numbers().into_iter().map(round6).collect(),
        }
    }
}

/// An image's sources as read, and what was skipped (one line each, naming where).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    pub boxes: Vec<SourceBox>,
    pub skipped: Vec<String>,
}

/// The boxes of a dataset item's `objects` list; `origin` names the item in messages.
pub fn from_entries(entries: &[serde_json::Value], origin: &str) -> Annotations {
    let mut read = Annotations::default();
    for (i, entry) in entries.iter().enumerate() {
        let parsed = serde_json::from_value::<ObjectEntry>(entry.clone())
            .map_err(|e| format!("not {{\"class\", \"bbox\": [x, y, w, h]}}: {e}"))
            .and_then(|e| {
                let class = SourceClass::parse(&e.class)
                    .ok_or_else(|| format!("unknown class '{}'", e.class))?;
                let numbers: [f64; 4] = e.bbox.as_slice().try_into().map_err(|_| {
                    format!("bbox has {} numbers, not 4 (x, y, w, h)", e.bbox.len())
                })?;
                SourceBox::new(class, numbers)
            });
        match parsed {
            Ok(b) => read.boxes.push(b),
            Err(why) => read.skipped.push(format!("{origin}: objects[{i}]: {why}")),
        }
    }
    read
}

/// Where radio-YOLO keeps an image's labels: `…/images/NAME.EXT` → `…/labels/NAME.txt`
/// (beside the image when it is not in an `images` folder).
pub fn yolo_label_path(image: &Path) -> PathBuf {
    let name = image.with_extension("txt");
    let name = name.file_name().unwrap_or_default();
    match image.parent() {
        Some(dir) if dir.file_name().is_some_and(|n| n == "images") => {
            dir.with_file_name("labels").join(name)
        }
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

/// Read a radio-YOLO label file: `class_id x_center y_center width height` per line.
pub fn read_yolo(path: &Path) -> std::io::Result<Annotations> {
    let text = std::fs::read_to_string(path)?;
    Ok(parse_yolo(&text, &path.display().to_string()))
}

pub fn parse_yolo(text: &str, origin: &str) -> Annotations {
    let mut read = Annotations::default();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() || fields[0].starts_with('#') {
            continue;
        }
        match yolo_line(&fields) {
            Ok(b) => read.boxes.push(b),
            Err(why) => read.skipped.push(format!("{origin}:{}: {why}", n + 1)),
        }
    }
    read
}

fn yolo_line(fields: &[&str]) -> Result<SourceBox, String> {
    if fields.len() != 5 {
        return Err(format!(
            "{} columns, expected 5 (class_id x_center y_center width height)",
            fields.len()
        ));
    }
    let id: usize = fields[0]
        .parse()
        .map_err(|_| format!("class id '{}' is not a whole number", fields[0]))?;
    let class = SourceClass::from_yolo_id(id).ok_or_else(|| {
        format!(
            "class id {id} is out of range (0–{}: {})",
            SourceClass::ALL.len() - 1,
            SourceClass::ALL.map(|c| c.name()).join(", ")
        )
    })?;
    let mut numbers = [0.0; 4];
    for (slot, field) in numbers.iter_mut().zip(&fields[1..]) {
        *slot = field
            .parse()
            .map_err(|_| format!("'{field}' is not a number"))?;
    }
    SourceBox::new(class, numbers)
}

/// radio-YOLO's label file text for `boxes` (six decimals, as YOLO tools write).
pub fn yolo_text(boxes: &[SourceBox]) -> String {
    boxes
        .iter()
        .map(|b| {
            format!(
                "{} {:.6} {:.6} {:.6} {:.6}\n",
                b.class.yolo_id(),
                b.x,
                b.y,
                b.w,
                b.h
            )
        })
        .collect()
}

/// A box coordinate as radio-llava writes it: Python's `str(round(v, 2))` (0.5 → "0.5",
/// 1 → "1.0", ties to even on the binary value, as Python rounds).
pub fn two_decimals(v: f64) -> String {
    let rounded: f64 = format!("{v:.2}").parse().unwrap_or(v);
    let text = format!("{rounded}");
    if text.contains(['.', 'e', 'N', 'i']) {
        text
    } else {
        format!("{text}.0")
    }
}

/// `[x, y, w, h]` as radio-llava's answers give a box.
pub fn box_text(b: &SourceBox) -> String {
    format!("[{}]", b.numbers().map(two_decimals).join(", "))
}

/// The boxes of `class` in radio-llava's answer form: `[x, y, w, h], [x, y, w, h]` (empty when
/// there are none).
pub fn box_list(boxes: &[SourceBox], class: SourceClass) -> String {
    boxes
        .iter()
        .filter(|b| b.class == class)
        .map(box_text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The boxes as they lie on the model input: moved when the transform pads a non-square plane
/// to a square (the picture keeps its aspect; a plain resize stretches, which keeps fractions).
pub fn on_model_input(
    boxes: &[SourceBox],
    transform: &crate::imaging::TransformOptions,
    (width, height): (usize, usize),
    is_plane: bool,
) -> Vec<SourceBox> {
    let pads = is_plane && transform.resize.is_some_and(|r| r.square) && width != height;
    boxes
        .iter()
        .map(|b| {
            if pads {
                b.padded_to_square(width, height)
            } else {
                *b
            }
        })
        .collect()
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
#[path = "objects_tests.rs"]
mod tests;
