//! `radiochat view` and `radiochat info`: look at an image the way the model will see it.

use super::{CommandError, CommandResult};
use crate::imaging::stretch::{self, Stretch};
use crate::imaging::transform::grey_to_rgb;
use crate::imaging::{FitsOptions, HeaderSummary, Pixels, RadioImage, TransformOptions};
use image::RgbImage;
use std::path::{Path, PathBuf};

pub struct ViewArgs {
    pub path: PathBuf,
    pub fits: FitsOptions,
    pub stretch: Stretch,
    /// The model-input transform (its contrast also drives the zscale preview stretch).
    pub transform: TransformOptions,
}

/// What `view` shows and writes.
pub struct View {
    pub image: RadioImage,
    /// The preview under the chosen stretch.
    pub preview: RgbImage,
    /// Exactly what the model receives (radio-llava transform with the chosen contrast).
    pub model_input: RgbImage,
}

pub fn view(args: &ViewArgs) -> CommandResult<View> {
    let image = RadioImage::open(&args.path, &args.fits)?;
    let model_input = image.model_input(&args.transform)?;
    let preview = match (&image.pixels, args.stretch) {
        (Pixels::Plane(plane), stretch) if stretch != Stretch::RadioLlava => {
            let levels = stretch::render(plane, stretch, args.transform.contrast)
                .map_err(|e| CommandError::bad(format!("{}: {e}", args.path.display())))?;
            grey_to_rgb(plane.width, plane.height, &levels)
        }
        _ => model_input.clone(),
    };
    Ok(View {
        image,
        preview,
        model_input,
    })
}

/// Write a PNG so that a reader never sees a half-written file.
pub fn write_png(picture: &RgbImage, out: &Path) -> CommandResult<()> {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image.png".into());
    let temp = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    picture
        .save_with_format(&temp, image::ImageFormat::Png)
        .map_err(|e| CommandError::bad(format!("{}: cannot write PNG: {e}", out.display())))?;
    std::fs::rename(&temp, out).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        CommandError::bad(format!("{}: cannot write PNG: {e}", out.display()))
    })
}

/// What `info` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Info {
    pub path: PathBuf,
    pub format: &'static str,
    pub width: usize,
    pub height: usize,
    /// 1 = read at full resolution.
    pub stride: usize,
    pub header: Option<HeaderSummary>,
}

pub fn info(path: &Path, fits: &FitsOptions) -> CommandResult<Info> {
    let image = RadioImage::open(path, fits)?;
    let (width, height) = image.dimensions();
    let format = match (&image.header, &image.pixels) {
        (Some(_), _) => "FITS",
        (None, Pixels::Plane(_)) => "grey raster",
        (None, Pixels::Rgb(_)) => "colour raster",
    };
    Ok(Info {
        path: path.to_path_buf(),
        format,
        width,
        height,
        stride: image.stride,
        header: image.header,
    })
}

impl Info {
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{}: {} {} × {} pixels",
            self.path.display(),
            self.format,
            self.width,
            self.height
        )];
        if self.stride > 1 {
            out.push(format!(
                "read every {}th pixel: the plane is larger than the pixel budget",
                self.stride
            ));
        }
        if let Some(header) = &self.header {
            out.extend(header.lines());
        }
        out
    }
}
