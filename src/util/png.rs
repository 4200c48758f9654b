//! RGB pictures as PNG: the bytes (terminal images) and private atomic files (thumbnails,
//! charts, model inputs).

use super::error::FileError;
use image::RgbImage;
use std::path::Path;

pub fn bytes(picture: &RgbImage) -> std::io::Result<Vec<u8>> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(std::io::Error::other)?;
    Ok(bytes.into_inner())
}

/// Replace `out` with `picture` as PNG, mode 0600.
pub fn write(out: &Path, picture: &RgbImage) -> Result<(), FileError> {
    let bytes = bytes(picture).map_err(FileError::io(out))?;
    super::private_file::write_atomically(out, &bytes).map_err(FileError::io(out))
}
