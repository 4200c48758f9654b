//! Images in, model input out. Every front-end and the benchmarks go through
//! [`RadioImage::open`] and [`RadioImage::model_input`], so the model always sees the same
//! pixels for the same file and settings.
//!
//! FITS planes and grey rasters (8/16-bit PNG, TIFF) become a float [`Plane`] that the
//! radio-llava transform turns into RGB; colour rasters (PNG, JPEG) pass through as RGB.

mod buffer;
mod demo;
pub mod fits;
mod fits_direct;
pub mod fits_disk;
pub mod header;
pub mod resize;
mod spread;
pub mod stretch;
pub mod synth;
pub mod synth_caption;
pub mod synth_extent;
pub mod synth_optical;
pub mod synth_shapes;
pub mod transform;
pub mod zscale;

pub use demo::demo_cutout;
pub use fits::{FitsOptions, HduSelector};
pub use header::HeaderSummary;
pub use transform::{TransformError, TransformOptions};

use image::{DynamicImage, RgbImage};
use std::path::{Path, PathBuf};

/// Why an image could not be used. Each message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}: no such file")]
    Missing(PathBuf),
    #[error("{0}: is a directory, not an image")]
    Directory(PathBuf),
    #[error("{0}: empty file (0 bytes)")]
    Empty(PathBuf),
    #[error("{0}: cannot read: {1}")]
    Unreadable(PathBuf, String),
    #[error("{0}: not an image radiochat can read ({1})")]
    NotAnImage(PathBuf, String),
    #[error("{0}: {1}")]
    Invalid(PathBuf, String),
}

/// One plane of float pixels, row-major, rows in file order (FITS row 1 first).
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<f32>,
}

/// The pixels of an image file.
#[derive(Debug, Clone)]
pub enum Pixels {
    /// Intensities to be stretched (FITS, grey rasters).
    Plane(Plane),
    /// A colour picture used as it is.
    Rgb(RgbImage),
}

/// An image file as radiochat read it.
#[derive(Debug, Clone)]
pub struct RadioImage {
    pub path: PathBuf,
    pub pixels: Pixels,
    /// FITS only.
    pub header: Option<HeaderSummary>,
    /// FITS only: 1 = full resolution, k = every k-th pixel (over the pixel budget).
    pub stride: usize,
}

impl RadioImage {
    /// Read a FITS or raster file.
    pub fn open(path: &Path, fits: &FitsOptions) -> Result<RadioImage, ImageError> {
        let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ImageError::Missing(path.to_path_buf()),
            _ => ImageError::Unreadable(path.to_path_buf(), e.to_string()),
        })?;
        if metadata.is_dir() {
            return Err(ImageError::Directory(path.to_path_buf()));
        }
        if metadata.len() == 0 {
            return Err(ImageError::Empty(path.to_path_buf()));
        }
        let mut start = [0u8; 9];
        {
            use std::io::Read;
            let mut file = std::fs::File::open(path)
                .map_err(|e| ImageError::Unreadable(path.to_path_buf(), e.to_string()))?;
            let _ = file.read(&mut start);
        }
        // gzip: cfitsio reads gzip-compressed FITS; the raster decoders read no gzip at all.
        let gzipped = start.starts_with(&[0x1f, 0x8b]);
        if &start == b"SIMPLE  =" || gzipped || looks_like_fits_name(path) {
            let read = fits::read_fits(path, fits)?;
            return Ok(RadioImage {
                path: path.to_path_buf(),
                pixels: Pixels::Plane(read.plane),
                header: Some(read.header),
                stride: read.stride,
            });
        }
        let bytes = std::fs::read(path)
            .map_err(|e| ImageError::Unreadable(path.to_path_buf(), e.to_string()))?;
        let picture = image::load_from_memory(&bytes)
            .map_err(|e| ImageError::NotAnImage(path.to_path_buf(), e.to_string()))?;
        let pixels = if picture.color().has_color() {
            Pixels::Rgb(picture.to_rgb8())
        } else {
            Pixels::Plane(grey_plane(&picture))
        };
        Ok(RadioImage {
            path: path.to_path_buf(),
            pixels,
            header: None,
            stride: 1,
        })
    }

    pub fn dimensions(&self) -> (usize, usize) {
        match &self.pixels {
            Pixels::Plane(p) => (p.width, p.height),
            Pixels::Rgb(rgb) => (rgb.width() as usize, rgb.height() as usize),
        }
    }

    /// The RGB picture the model receives.
    pub fn model_input(&self, options: &TransformOptions) -> Result<RgbImage, ImageError> {
        match &self.pixels {
            Pixels::Rgb(rgb) => Ok(rgb.clone()),
            Pixels::Plane(plane) => transform::radio_llava_rgb(plane, options)
                .map_err(|e| ImageError::Invalid(self.path.clone(), e.to_string())),
        }
    }
}

/// A grey raster's own levels (0–255 or 0–65535; floats as stored), alpha dropped.
fn grey_plane(picture: &DynamicImage) -> Plane {
    let (width, height) = (picture.width() as usize, picture.height() as usize);
    let pixels: Vec<f32> = match picture {
        DynamicImage::ImageLuma8(buf) => buf.pixels().map(|p| p.0[0] as f32).collect(),
        DynamicImage::ImageLumaA8(buf) => buf.pixels().map(|p| p.0[0] as f32).collect(),
        DynamicImage::ImageLuma16(buf) => buf.pixels().map(|p| p.0[0] as f32).collect(),
        DynamicImage::ImageLumaA16(buf) => buf.pixels().map(|p| p.0[0] as f32).collect(),
        other => other.to_luma32f().into_raw(),
    };
    Plane {
        width,
        height,
        pixels,
    }
}

fn looks_like_fits_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Read an image file with default settings and return the picture the model receives.
pub fn load_model_image(path: &Path) -> Result<DynamicImage, ImageError> {
    let image = RadioImage::open(path, &FitsOptions::default())?;
    Ok(DynamicImage::ImageRgb8(
        image.model_input(&TransformOptions::default())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_images_get_one_line_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.png");
        assert_eq!(
            load_model_image(&missing).unwrap_err().to_string(),
            format!("{}: no such file", missing.display())
        );
        assert!(
            load_model_image(dir.path())
                .unwrap_err()
                .to_string()
                .ends_with("is a directory, not an image")
        );
        let empty = dir.path().join("empty.png");
        std::fs::write(&empty, b"").unwrap();
        assert!(
            load_model_image(&empty)
                .unwrap_err()
                .to_string()
                .contains("empty file")
        );
        let text = dir.path().join("notes.png");
        std::fs::write(&text, b"hello, not a png").unwrap();
        let err = load_model_image(&text).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: not an image", text.display())) && !err.contains('\n'),
            "{err}"
        );
    }

    #[test]
    fn colour_png_passes_through_and_grey_png_is_stretched() {
        let dir = tempfile::tempdir().unwrap();
        let colour = dir.path().join("colour.png");
        RgbImage::from_pixel(4, 3, image::Rgb([10, 200, 30]))
            .save(&colour)
            .unwrap();
        let picture = load_model_image(&colour).unwrap();
        assert_eq!(picture.to_rgb8().get_pixel(0, 0).0, [10, 200, 30]);

        let grey = dir.path().join("grey16.png");
        let mut levels = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::new(4, 1);
        for (x, value) in [0u16, 1000, 2000, 3000].into_iter().enumerate() {
            levels.put_pixel(x as u32, 0, image::Luma([value]));
        }
        levels.save(&grey).unwrap();
        let image = RadioImage::open(&grey, &FitsOptions::default()).unwrap();
        let Pixels::Plane(plane) = &image.pixels else {
            panic!("grey → plane")
        };
        assert_eq!(plane.pixels, vec![0.0, 1000.0, 2000.0, 3000.0]);
        let rgb = image
            .model_input(&TransformOptions {
                zscale: false,
                ..TransformOptions::default()
            })
            .unwrap();
        let row: Vec<u8> = (0..4).map(|x| rgb.get_pixel(x, 0).0[0]).collect();
        assert_eq!(row, vec![0, 85, 170, 255]);

        // 16-bit grey TIFF: the same plane, the same levels.
        let tiff = dir.path().join("grey16.tiff");
        levels.save(&tiff).unwrap();
        let image = RadioImage::open(&tiff, &FitsOptions::default()).unwrap();
        let Pixels::Plane(plane) = &image.pixels else {
            panic!("grey TIFF → plane")
        };
        assert_eq!(plane.pixels, vec![0.0, 1000.0, 2000.0, 3000.0]);
    }
}
