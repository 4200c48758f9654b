//! `radiochat-perf imaging`: FITS read + radio-llava transform time on one file (a benchmark,
//! not a test). perf/imaging_vs_astropy.sh runs it beside astropy + numpy on the same file.

use crate::engine::Stat;
use radiochat::commands::{CommandError, CommandResult};
use radiochat::imaging::{FitsOptions, RadioImage, TransformOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ImagingReport {
    pub file: PathBuf,
    pub width: usize,
    pub height: usize,
    pub runs: usize,
    /// Read + transform, seconds.
    pub total_s: Stat,
    pub read_s: Stat,
    pub transform_s: Stat,
}

/// Write a `size`×`size` float32 FITS image of noise and sources (deterministic).
pub fn write_test_image(path: &Path, size: usize) -> CommandResult<()> {
    use fitsio::images::{ImageDescription, ImageType};
    let failed =
        |e: fitsio::errors::Error| CommandError::Failed(anyhow::anyhow!("{}: {e}", path.display()));
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| CommandError::Failed(e.into()))?;
    }
    let mut file = radiochat::imaging::fits_disk::create(path, None)
        .map_err(|e| CommandError::Failed(anyhow::anyhow!("{}: {e}", path.display())))?;
    let description = ImageDescription {
        data_type: ImageType::Float,
        dimensions: &[size, size],
    };
    let hdu = file.create_image("BENCH", &description).map_err(failed)?;
    let pixels: Vec<f32> = (0..size * size)
        .map(|i| {
            let (x, y) = ((i % size) as f32, (i / size) as f32);
            let noise = ((i.wrapping_mul(2_654_435_761) >> 7) % 1000) as f32 * 1e-6 - 5e-4;
            let source = (-((x - 1000.0).powi(2) + (y - 3000.0).powi(2)) / 800.0).exp() * 0.2;
            noise + source
        })
        .collect();
    hdu.write_image(&mut file, &pixels).map_err(failed)?;
    Ok(())
}

pub fn run(file: &Path, runs: usize) -> CommandResult<ImagingReport> {
    if runs == 0 {
        return Err(CommandError::bad("--runs must be at least 1"));
    }
    let (mut total, mut read, mut transform) = (Vec::new(), Vec::new(), Vec::new());
    let mut dims = (0, 0);
    for _ in 0..runs {
        let started = Instant::now();
        let image = RadioImage::open(file, &FitsOptions::default())?;
        let read_done = Instant::now();
        let picture = image.model_input(&TransformOptions::default())?;
        let done = Instant::now();
        dims = (picture.width() as usize, picture.height() as usize);
        read.push((read_done - started).as_secs_f64());
        transform.push((done - read_done).as_secs_f64());
        total.push((done - started).as_secs_f64());
    }
    Ok(ImagingReport {
        file: file.to_path_buf(),
        width: dims.0,
        height: dims.1,
        runs,
        total_s: Stat::of(&total),
        read_s: Stat::of(&read),
        transform_s: Stat::of(&transform),
    })
}

/// The table: median (min–max) seconds per stage.
pub fn table(report: &ImagingReport) -> String {
    let mut text = format!(
        "{} ({} × {}), {} runs: median (min–max) seconds\n",
        report.file.display(),
        report.width,
        report.height,
        report.runs
    );
    for (name, s) in [
        ("read", &report.read_s),
        ("transform", &report.transform_s),
        ("total", &report.total_s),
    ] {
        text += &format!("{name:<10} {:.4} ({:.4}–{:.4})\n", s.median, s.min, s.max);
    }
    text
}
