//! FITS images through cfitsio: pick the HDU, select one plane of a cube, read only that
//! plane (downsampled when over the pixel budget), with BSCALE/BZERO applied and integer
//! BLANK pixels turned into NaN.

use super::header::HeaderSummary;
use super::{ImageError, Plane};
use super::{fits_direct, fits_disk};
use crate::util::error::BadValue;
use fitsio::FitsFile;
use fitsio::hdu::HduInfo;
use std::path::Path;

/// Which HDU to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HduSelector {
    /// Zero-based index, as astropy counts (0 = primary).
    Index(usize),
    /// EXTNAME.
    Name(String),
}

impl std::str::FromStr for HduSelector {
    type Err = BadValue;
    fn from_str(s: &str) -> Result<Self, BadValue> {
        if s.trim().is_empty() {
            return Err(BadValue::Malformed(
                "--hdu needs an index (0 = primary) or an EXTNAME".into(),
            ));
        }
        Ok(s.parse::<usize>()
            .map(HduSelector::Index)
            .unwrap_or_else(|_| HduSelector::Name(s.to_string())))
    }
}

/// How to read a FITS file.
#[derive(Debug, Clone, PartialEq)]
pub struct FitsOptions {
    /// `None`: the first HDU that holds image data (tile-compressed images live in an
    /// extension, so the primary HDU is often empty).
    pub hdu: Option<HduSelector>,
    /// Index along each axis after the two spatial ones (FREQ, STOKES, …); missing = 0.
    pub plane: Vec<usize>,
    /// Largest number of pixels read at full resolution; larger planes are read with a
    /// stride (every k-th pixel in both directions).
    pub pixel_budget: usize,
}

impl Default for FitsOptions {
    fn default() -> Self {
        Self {
            hdu: None,
            plane: Vec::new(),
            pixel_budget: 64 * 1024 * 1024,
        }
    }
}

/// A plane read from a FITS file, with what the header says about it.
#[derive(Debug, Clone)]
pub struct FitsPlane {
    pub plane: Plane,
    pub header: HeaderSummary,
    /// Read stride: 1 = full resolution.
    pub stride: usize,
}

pub fn read_fits(path: &Path, options: &FitsOptions) -> Result<FitsPlane, ImageError> {
    let bad = |why: String| ImageError::Invalid(path.to_path_buf(), why);
    let mut file =
        fits_disk::open(path).map_err(|e| bad(format!("not a readable FITS file ({e})")))?;
    let hdu_count = file
        .num_hdus()
        .map_err(|e| bad(format!("cannot list HDUs ({})", fits_reason(&e))))?;
    let hdu = match &options.hdu {
        Some(HduSelector::Index(i)) if *i >= hdu_count => {
            return Err(bad(format!(
                "--hdu {i} is out of range: the file has {hdu_count} HDU(s), 0–{}",
                hdu_count - 1
            )));
        }
        Some(HduSelector::Index(i)) => file
            .hdu(*i)
            .map_err(|e| bad(format!("cannot read HDU {i} ({})", fits_reason(&e))))?,
        Some(HduSelector::Name(name)) => file
            .hdu(name.as_str())
            .map_err(|_| bad(format!("--hdu {name}: no HDU with that EXTNAME")))?,
        None => first_image_hdu(&mut file, hdu_count)
            .ok_or_else(|| bad("no image data in any HDU (only tables or empty HDUs)".into()))?,
    };
    let shape = match &hdu.info {
        HduInfo::ImageInfo { shape, .. } => shape.clone(),
        _ => return Err(bad(format!("HDU {} is a table, not an image", hdu.number))),
    };
    // fitsio gives the shape in C order (NAXISn first); FITS order is easier to reason about.
    let axes: Vec<usize> = shape.iter().rev().copied().collect();
    if axes.len() < 2 {
        return Err(bad(format!(
            "HDU {} has {} axis; an image needs 2",
            hdu.number,
            axes.len()
        )));
    }
    if let Some(zero) = axes.iter().position(|n| *n == 0) {
        return Err(bad(format!("NAXIS{} is 0: the image is empty", zero + 1)));
    }
    check_data_size(&axes).map_err(bad)?;
    let header = HeaderSummary::read(&mut file, &hdu, &axes);
    let mut first = vec![1i64; axes.len()];
    let mut last: Vec<i64> = axes.iter().map(|n| *n as i64).collect();
    for axis in 2..axes.len() {
        let index = options.plane.get(axis - 2).copied().unwrap_or(0);
        if index >= axes[axis] {
            let name = header.axis_name(axis);
            return Err(bad(format!(
                "--plane: index {index} is out of range for axis {} ({name}), which has {} plane(s)",
                axis + 1,
                axes[axis]
            )));
        }
        first[axis] = index as i64 + 1;
        last[axis] = index as i64 + 1;
    }
    if options.plane.len() > axes.len().saturating_sub(2) {
        return Err(bad(format!(
            "--plane gives {} indices but the image has {} non-spatial axes",
            options.plane.len(),
            axes.len() - 2
        )));
    }
    let (nx, ny) = (axes[0], axes[1]);
    // check_data_size bounds every product of axis lengths.
    let stride = stride_for(nx * ny, options.pixel_budget.max(1));
    let mut increments = vec![1i64; axes.len()];
    increments[0] = stride as i64;
    increments[1] = stride as i64;
    let (width, height) = (nx.div_ceil(stride), ny.div_ceil(stride));
    let direct = if stride == 1 {
        let plane_index = axes[2..]
            .iter()
            .zip(&first[2..])
            .rev()
            .fold(0usize, |acc, (n, i)| acc * n + (*i as usize - 1));
        // Move back onto the chosen HDU: reading the header summary may have left it.
        file.hdu(hdu.number)
            .ok()
            .and_then(|_| fits_direct::locate(&mut file, path, plane_index, nx * ny))
    } else {
        None
    };
    let pixels = match direct {
        Some(direct) => fits_direct::read(path, direct),
        None => {
            let mut pixels = vec![0f32; width * height];
            read_subset(
                &mut file,
                &axes,
                &mut first,
                &mut last,
                &mut increments,
                &mut pixels,
            )
            .and_then(|()| {
                // cfitsio turns a scaled value beyond the float range into ±inf without an
                // error status.
                let scaled = hdu
                    .read_key::<f64>(&mut file, "BSCALE")
                    .is_ok_and(|v| v != 1.0)
                    || hdu
                        .read_key::<f64>(&mut file, "BZERO")
                        .is_ok_and(|v| v != 0.0)
                    || header.bitpix.is_some_and(|b| b > 0);
                if scaled && pixels.iter().any(|v| v.is_infinite()) {
                    Err(412)
                } else {
                    Ok(pixels)
                }
            })
        }
    }
    .map_err(|status| bad(cfitsio_reading_error(status)))?;
    Ok(FitsPlane {
        plane: Plane {
            width,
            height,
            pixels,
        },
        header,
        stride,
    })
}

/// Largest length of one axis: 2^31 pixels (cfitsio's own 32-bit builds stop there too).
pub const MAX_AXIS_LENGTH: usize = 1 << 31;
/// Largest number of data elements in one HDU: 2^46 (256 TiB of float32), far beyond any
/// radio image, small enough that every size derived from it fits a 64-bit integer.
pub const MAX_DATA_ELEMENTS: u64 = 1 << 46;

/// Refuse header-declared sizes that do not fit the caps, with the keyword to blame. Every
/// product here is checked explicitly, so the release profile (no overflow checks) refuses
/// exactly what the dev profile does.
fn check_data_size(axes: &[usize]) -> Result<(), String> {
    if let Some(i) = axes.iter().position(|n| *n > MAX_AXIS_LENGTH) {
        return Err(format!(
            "NAXIS{} = {} is larger than radiochat reads (at most {MAX_AXIS_LENGTH})",
            i + 1,
            axes[i]
        ));
    }
    let total = axes.iter().try_fold(1u64, |acc, n| {
        acc.checked_mul(*n as u64)
            .filter(|total| *total <= MAX_DATA_ELEMENTS)
    });
    match total {
        Some(_) => Ok(()),
        None => Err(format!(
            "the NAXISn product ({}) is larger than radiochat reads (at most 2^46 pixels)",
            axes.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" × ")
        )),
    }
}

/// The smallest stride whose subsampled plane fits the budget.
fn stride_for(pixels: usize, budget: usize) -> usize {
    // Start just under √(pixels / budget) (f64 may round either way) and step up.
    let estimate = (pixels as f64 / budget as f64).sqrt() as usize;
    let mut stride = estimate.saturating_sub(1).max(1);
    while pixels.div_ceil(stride.saturating_mul(stride)) > budget {
        stride += 1;
    }
    stride
}

fn first_image_hdu(file: &mut FitsFile, count: usize) -> Option<fitsio::hdu::FitsHdu> {
    (0..count)
        .filter_map(|i| file.hdu(i).ok())
        .find(|hdu| matches!(&hdu.info, HduInfo::ImageInfo { shape, .. } if shape.len() >= 2))
}

/// fits_read_subset_flt with NaN as the null value: BLANK pixels of integer images and NaN
/// pixels of float images both arrive as NaN; BSCALE/BZERO are applied by cfitsio.
fn read_subset(
    file: &mut FitsFile,
    axes: &[usize],
    first: &mut [i64],
    last: &mut [i64],
    increments: &mut [i64],
    out: &mut [f32],
) -> Result<(), i32> {
    use std::os::raw::{c_int, c_long};
    let mut naxes: Vec<c_long> = axes.iter().map(|n| *n as c_long).collect();
    let mut blc: Vec<c_long> = first.iter().map(|v| *v as c_long).collect();
    let mut trc: Vec<c_long> = last.iter().map(|v| *v as c_long).collect();
    let mut inc: Vec<c_long> = increments.iter().map(|v| *v as c_long).collect();
    let mut anynul: c_int = 0;
    let mut status: c_int = 0;
    // SAFETY: every array has one entry per axis, `out` holds exactly the subset's pixel count
    // (computed from the same first/last/increment values), and the file handle is open.
    unsafe {
        fitsio::sys::ffgsve(
            file.as_raw(),
            0,
            naxes.len() as c_int,
            naxes.as_mut_ptr(),
            blc.as_mut_ptr(),
            trc.as_mut_ptr(),
            inc.as_mut_ptr(),
            f32::NAN,
            out.as_mut_ptr(),
            &mut anynul,
            &mut status,
        );
    }
    if status == 0 { Ok(()) } else { Err(status) }
}

fn cfitsio_reading_error(status: i32) -> String {
    match status {
        104 => "cannot open the file for reading".into(),
        107 | 108 => "truncated FITS file: the data ends before the image does".into(),
        412 => "pixel values overflow a 32-bit float after BSCALE/BZERO".into(),
        other => format!("cannot read the image data (cfitsio status {other})"),
    }
}

fn fits_reason(error: &fitsio::errors::Error) -> String {
    // fitsio's Display spans several lines for some errors; the message is enough.
    match error {
        fitsio::errors::Error::Fits(e) => e.message.clone(),
        fitsio::errors::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
    .trim()
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_keeps_the_plane_within_budget() {
        assert_eq!(stride_for(100, 100), 1);
        assert_eq!(stride_for(101, 100), 2);
        assert_eq!(stride_for(4096 * 4096, 64 * 1024 * 1024), 1);
        assert_eq!(stride_for(16384 * 16384, 64 * 1024 * 1024), 2);
        assert_eq!(stride_for(16385 * 16385, 64 * 1024 * 1024), 3);
    }

    #[test]
    fn header_sizes_beyond_the_caps_are_refused_without_overflow() {
        assert!(check_data_size(&[4096, 4096, 128, 4]).is_ok());
        let huge = (1usize << 62) + 1;
        let error = check_data_size(&[huge, 1]).unwrap_err();
        assert!(error.starts_with("NAXIS1 = 4611686018427387905"), "{error}");
        // Each axis within its cap, the product beyond every integer type.
        let wide = MAX_AXIS_LENGTH;
        let error = check_data_size(&[wide, wide, wide, wide, 2]).unwrap_err();
        assert!(error.contains("NAXISn product"), "{error}");
        assert!(check_data_size(&[1 << 23, 1 << 23, 2]).is_err());
        assert_eq!(stride_for(1 << 62, 1), 1 << 31);
    }

    #[test]
    fn hdu_selector_parses_index_or_name() {
        assert_eq!("2".parse::<HduSelector>().unwrap(), HduSelector::Index(2));
        assert_eq!(
            "SCI".parse::<HduSelector>().unwrap(),
            HduSelector::Name("SCI".into())
        );
        assert!("".parse::<HduSelector>().is_err());
    }
}
