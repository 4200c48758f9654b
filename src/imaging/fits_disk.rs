//! FITS files opened and created as plain disk files. cfitsio's usual entry points parse
//! "extended filename syntax": `a.fits.gz(!b.fits)` decompresses over `b.fits`, `a.fits(c)`
//! writes `c`, `a.fits[…]` filters. Paths here come from users and from datasets other people
//! wrote, so none of that may apply: the disk-file variants (`fits_open_diskfile`,
//! `fits_create_diskfile`) take the whole string as one file name, and the HDU and plane are
//! chosen through the API instead. fitsio's own `open`/`create` have no such variant and
//! panic on a path that is not UTF-8, hence these wrappers.

use fitsio::FitsFile;
use fitsio::images::ImageDescription;
use fitsio::sys;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Why a FITS file could not be opened or created, in one line.
#[derive(Debug, thiserror::Error)]
pub enum DiskFitsError {
    #[error("the path holds a NUL byte")]
    NulInPath,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Fits(String),
}

fn c_path(path: &Path) -> Result<CString, DiskFitsError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| DiskFitsError::NulInPath)
}

fn fits_error(status: i32) -> DiskFitsError {
    let message = match fitsio::errors::check_status(status) {
        Err(fitsio::errors::Error::Fits(e)) => e.message,
        _ => format!("cfitsio status {status}"),
    };
    DiskFitsError::Fits(message.trim().to_string())
}

/// Open `path` read-only, exactly the file it names. cfitsio still reads gzip-compressed
/// files (into memory).
pub fn open(path: &Path) -> Result<FitsFile, DiskFitsError> {
    // cfitsio's disk driver would try `path.gz`, `path.Z`… when `path` is missing: the file
    // read must be the one named.
    if !std::fs::metadata(path)?.is_file() {
        return Err(DiskFitsError::Io(std::io::Error::other(
            "not a regular file",
        )));
    }
    let name = c_path(path)?;
    let mut fptr = std::ptr::null_mut();
    let mut status = 0;
    // SAFETY: `name` is a valid C string that outlives the call; `fptr` is an out-pointer.
    unsafe { sys::ffdkopn(&mut fptr, name.as_ptr(), 0, &mut status) };
    if status != 0 || fptr.is_null() {
        return Err(fits_error(status));
    }
    // SAFETY: cfitsio returned an open handle that nothing else owns.
    unsafe { FitsFile::from_raw(fptr, fitsio::FileOpenMode::READONLY) }
        .map_err(|e| DiskFitsError::Fits(e.to_string()))
}

/// Create a new FITS file at exactly `path` (which must not exist) with the given primary
/// image, or an empty primary HDU.
pub fn create(path: &Path, primary: Option<&ImageDescription>) -> Result<FitsFile, DiskFitsError> {
    let name = c_path(path)?;
    let mut fptr = std::ptr::null_mut();
    let mut status = 0;
    // SAFETY: as in `open`.
    unsafe { sys::ffdkinit(&mut fptr, name.as_ptr(), &mut status) };
    if status != 0 || fptr.is_null() {
        return Err(fits_error(status));
    }
    // SAFETY: as in `open`.
    let mut file = unsafe { FitsFile::from_raw(fptr, fitsio::FileOpenMode::READWRITE) }
        .map_err(|e| DiskFitsError::Fits(e.to_string()))?;
    // The primary array is written without an EXTNAME, as astropy writes one.
    let (bitpix, mut axes): (i32, Vec<std::os::raw::c_long>) = match primary {
        // FITS lists NAXIS1 (the fastest axis) first; fitsio's descriptions list it last.
        Some(d) => (
            d.data_type.into(),
            d.dimensions.iter().rev().map(|n| *n as _).collect(),
        ),
        None => (8, Vec::new()),
    };
    // SAFETY: the handle is open read-write on an empty file; `axes` has `naxis` entries.
    unsafe {
        sys::ffcrim(
            file.as_raw(),
            bitpix,
            axes.len() as i32,
            axes.as_mut_ptr(),
            &mut status,
        );
    }
    if status != 0 {
        return Err(fits_error(status));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fitsio::images::ImageType;

    #[test]
    fn extended_filename_syntax_is_just_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.fits");
        std::fs::write(&victim, b"precious").unwrap();
        // A directory named like cfitsio's "decompress into" syntax, holding a real FITS.
        let hostile = dir.path().join(format!("a.fits.gz(!{})", victim.display()));
        std::fs::create_dir_all(hostile.parent().unwrap()).unwrap();
        let description = ImageDescription {
            data_type: ImageType::Float,
            dimensions: &[2, 3],
        };
        let mut file = create(&hostile, Some(&description)).unwrap();
        let hdu = file.primary_hdu().unwrap();
        hdu.write_image(&mut file, &[1.0f32; 6]).unwrap();
        drop(file);
        assert!(hostile.is_file(), "created at the literal path");
        let mut reopened = open(&hostile).unwrap();
        assert_eq!(reopened.num_hdus().unwrap(), 1);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn a_missing_file_is_not_replaced_by_its_gzip_sibling() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("cutout.fits");
        std::fs::write(dir.path().join("cutout.fits.gz"), b"whatever").unwrap();
        assert!(matches!(open(&missing), Err(DiskFitsError::Io(_))));
    }
}
