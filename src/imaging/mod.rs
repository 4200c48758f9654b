//! Images in, model input out. Every front-end and the benchmarks go through
//! [`load_model_image`], so the model always sees the same pixels for the same file.
//! Raster formats (PNG, JPEG, TIFF, …) are read here; FITS plugs in beside them.

mod demo;

pub use demo::demo_cutout;

use image::DynamicImage;
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
}

/// Read an image file and return the RGB picture the model receives.
pub fn load_model_image(path: &Path) -> Result<DynamicImage, ImageError> {
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
    let bytes = std::fs::read(path)
        .map_err(|e| ImageError::Unreadable(path.to_path_buf(), e.to_string()))?;
    let picture = image::load_from_memory(&bytes)
        .map_err(|e| ImageError::NotAnImage(path.to_path_buf(), e.to_string()))?;
    Ok(DynamicImage::ImageRgb8(picture.to_rgb8()))
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
    fn grey_png_becomes_rgb() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grey.png");
        image::GrayImage::from_pixel(4, 3, image::Luma([200]))
            .save(&path)
            .unwrap();
        let picture = load_model_image(&path).unwrap();
        assert_eq!((picture.width(), picture.height()), (4, 3));
        assert_eq!(picture.to_rgb8().get_pixel(0, 0).0, [200, 200, 200]);
    }
}
