//! `loss.png` in a run directory: the training loss against the step (val_loss as a dot at
//! the end), redrawn whenever metrics.jsonl is newer than it.

use super::status::{self, MetricLine};
use crate::util::error::FileError;
use crate::util::plot::{LineChart, line_chart};
use image::RgbImage;
use std::path::Path;

pub const LOSS_PNG: &str = "loss.png";
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

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
    crate::util::png::write(&png, &picture)?;
    Ok(true)
}

/// The picture, or `None` without any loss.
pub fn plot(lines: &[MetricLine]) -> Option<RgbImage> {
    let train: Vec<(f64, f64)> = lines
        .iter()
        .filter_map(|m| m.loss.map(|l| (m.step as f64, l)))
        .collect();
    if train.is_empty() {
        return None;
    }
    let val: Vec<(f64, f64)> = lines
        .iter()
        .filter_map(|m| m.val_loss.map(|l| (m.step as f64, l)))
        .collect();
    let total_steps = lines.iter().filter_map(|m| m.total_steps).max();
    let title = match total_steps {
        Some(total) => format!(
            "training loss ({} of {total} steps)",
            lines.iter().map(|m| m.step).max().unwrap_or(0)
        ),
        None => "training loss".to_string(),
    };
    let chart = LineChart {
        title: &title,
        x_label: "step",
        y_label: "loss",
        series: vec![("train loss", train)],
        x_max: total_steps.map(|t| t as f64),
        marks: if val.is_empty() {
            Vec::new()
        } else {
            vec![("validation loss", val)]
        },
    };
    line_chart(&chart, WIDTH, HEIGHT).ok()
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
        // The train line is pure blue; the first and last columns holding it.
        let blue = |x: u32| (0..HEIGHT).find(|&y| img.get_pixel(x, y).0 == [0, 0, 255]);
        let columns: Vec<u32> = (0..WIDTH).filter(|&x| blue(x).is_some()).collect();
        let (first, last) = (columns[0], *columns.last().unwrap());
        assert!(
            last - first > WIDTH / 2,
            "the line spans the plot: {first}..{last}"
        );
        let (early, late) = (blue(first + 5).unwrap(), blue(last - 5).unwrap());
        assert!(early < late, "higher loss is higher up: {early} vs {late}");
        // Axes and labels are drawn: dark pixels left of and below the line's extent.
        let dark = |x: u32, y: u32| img.get_pixel(x, y).0.iter().all(|&c| c < 100);
        assert!(
            (0..first).any(|x| (0..HEIGHT).any(|y| dark(x, y))),
            "a y axis with ticks"
        );
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
