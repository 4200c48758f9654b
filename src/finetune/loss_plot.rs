//! `loss.png` in a run directory: the training loss against the step (val_loss as a dot at
//! the end), redrawn whenever metrics.jsonl is newer than it.

use super::status::{self, MetricLine};
use crate::util::error::FileError;
use image::{Rgb, RgbImage};
use std::path::Path;

pub const LOSS_PNG: &str = "loss.png";
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
const MARGIN: u32 = 30;

/// Write `loss.png` if there is a loss to plot and the picture is older than the metrics.
/// Returns whether it was written.
pub fn refresh(dir: &Path) -> Result<bool, FileError> {
    let metrics = dir.join(super::job::METRICS_FILE);
    let png = dir.join(LOSS_PNG);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(&metrics), modified(&png)) {
        (None, _) => return Ok(false),
        (Some(m), Some(p)) if p >= m => return Ok(false),
        _ => {}
    }
    let lines = status::metrics(dir);
    let Some(picture) = plot(&lines) else {
        return Ok(false);
    };
    let mut bytes = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| FileError::io(&png)(std::io::Error::other(e)))?;
    crate::util::private_file::write_atomically(&png, &bytes).map_err(FileError::io(&png))?;
    Ok(true)
}

/// The picture, or `None` without any loss.
pub fn plot(lines: &[MetricLine]) -> Option<RgbImage> {
    let points: Vec<(f64, f64)> = lines
        .iter()
        .filter_map(|m| m.loss.map(|l| (m.step as f64, l)))
        .collect();
    if points.is_empty() {
        return None;
    }
    let val = lines.iter().rev().find_map(|m| m.val_loss);
    let max_step = lines
        .iter()
        .filter_map(|m| m.total_steps)
        .max()
        .map_or_else(
            || points.iter().map(|p| p.0).fold(1.0, f64::max),
            |t| t as f64,
        )
        .max(1.0);
    let max_loss = points
        .iter()
        .map(|p| p.1)
        .chain(val)
        .fold(0.0, f64::max)
        .max(1e-9);
    let mut img = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb([255, 255, 255]));
    let to_px = |(step, loss): (f64, f64)| {
        let x = MARGIN as f64 + step / max_step * (WIDTH - 2 * MARGIN) as f64;
        let y = (HEIGHT - MARGIN) as f64 - loss / max_loss * (HEIGHT - 2 * MARGIN) as f64;
        (x.round() as i64, y.round() as i64)
    };
    let axis = Rgb([0, 0, 0]);
    line(&mut img, to_px((0.0, 0.0)), to_px((max_step, 0.0)), axis);
    line(&mut img, to_px((0.0, 0.0)), to_px((0.0, max_loss)), axis);
    for pair in points.windows(2) {
        line(
            &mut img,
            to_px(pair[0]),
            to_px(pair[1]),
            Rgb([31, 119, 180]),
        );
    }
    if let Some(v) = val {
        let (x, y) = to_px((points.last().map_or(max_step, |p| p.0), v));
        for dx in -3..=3 {
            for dy in -3..=3 {
                put(&mut img, x + dx, y + dy, Rgb([214, 39, 40]));
            }
        }
    }
    Some(img)
}

fn put(img: &mut RgbImage, x: i64, y: i64, colour: Rgb<u8>) {
    if (0..WIDTH as i64).contains(&x) && (0..HEIGHT as i64).contains(&y) {
        img.put_pixel(x as u32, y as u32, colour);
    }
}

/// Bresenham's line.
fn line(img: &mut RgbImage, from: (i64, i64), to: (i64, i64), colour: Rgb<u8>) {
    let (mut x, mut y) = from;
    let (dx, dy) = ((to.0 - x).abs(), -(to.1 - y).abs());
    let (sx, sy) = (if x < to.0 { 1 } else { -1 }, if y < to.1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        put(img, x, y, colour);
        if (x, y) == to {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_falling_loss_is_drawn_from_top_left_to_bottom_right() {
        let lines: Vec<MetricLine> = (1..=10)
            .map(|step| MetricLine {
                step,
                loss: Some(10.0 / step as f64),
                total_steps: Some(10),
                ..MetricLine::default()
            })
            .collect();
        let img = plot(&lines).unwrap();
        let blue = Rgb([31, 119, 180]);
        let blue_at = |x: u32| (0..HEIGHT).find(|&y| *img.get_pixel(x, y) == blue);
        let early = blue_at(MARGIN + 70).unwrap();
        let late = blue_at(WIDTH - MARGIN - 5).unwrap();
        assert!(early < late, "higher loss is higher up: {early} vs {late}");
        assert!(plot(&[]).is_none());
    }

    #[test]
    fn the_png_follows_the_metrics() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!refresh(dir.path()).unwrap());
        std::fs::write(
            dir.path().join("metrics.jsonl"),
            "{\"step\": 1, \"loss\": 2.0, \"total_steps\": 2}\n{\"step\": 2, \"loss\": 1.0}\n",
        )
        .unwrap();
        assert!(refresh(dir.path()).unwrap());
        assert!(!refresh(dir.path()).unwrap(), "up to date");
        assert!(image::open(dir.path().join(LOSS_PNG)).is_ok());
    }
}
