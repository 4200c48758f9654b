//! FITS files other people wrote, read through the commands users run (`info`, `view`): paths
//! that cfitsio's extended filename syntax would treat as commands, and headers whose sizes
//! overflow. Each must read the file it names or refuse it in one line; nothing else on disk
//! may change, and nothing may panic.

mod common;

use common::cli::{assert_bad_input, radiochat, stderr};
use common::fits::{self as f, card};
use std::path::Path;

fn plain_fits() -> Vec<u8> {
    f::image_hdu(-32, &[4, 3], &[], f::f32_be(&[0.5; 12]), true)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        let bytes = if entry.is_file() {
            std::fs::read(&entry).unwrap()
        } else {
            Vec::new()
        };
        out.push((entry.display().to_string(), bytes));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn extended_filename_syntax_in_a_path_changes_nothing_on_disk() {
    let home = tempfile::tempdir().unwrap();
    let files = home.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let victim = files.join("victim.fits");
    std::fs::write(&victim, b"the victim's own bytes").unwrap();
    let created = files.join("created.fits");
    // Each literal path is a real FITS file (gzip-compressed for the first) inside
    // directories whose names spell cfitsio's "write the result to" syntax.
    let hostile = [
        (
            files.join(format!("a.fits.gz(!{})", victim.display())),
            gzip(&plain_fits()),
        ),
        (
            files.join(format!("b.fits({})", created.display())),
            plain_fits(),
        ),
        (files.join("c.fits[1:2,1:2]"), plain_fits()),
        (files.join("mem:").join("d.fits"), plain_fits()),
    ];
    for (path, bytes) in &hostile {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let before = listing(&files);
    for (path, _) in &hostile {
        for command in ["info", "view"] {
            let out = radiochat(&[command, path.to_str().unwrap()], home.path());
            let err = stderr(&out);
            assert!(
                !err.contains("panicked"),
                "{command} {}: {err}",
                path.display()
            );
            // Read as the plain 4×3 image it is.
            assert!(out.status.success(), "{command} {}: {err}", path.display());
            if command == "info" {
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains("4 × 3 pixels"), "{text}");
            }
        }
    }
    assert_eq!(
        listing(&files),
        before,
        "nothing was created or overwritten"
    );
    assert!(!created.exists());
    assert_eq!(std::fs::read(&victim).unwrap(), b"the victim's own bytes");
}

#[test]
fn a_missing_path_is_refused_even_when_a_compressed_sibling_exists() {
    let home = tempfile::tempdir().unwrap();
    let named = home.path().join("cutout.fits");
    std::fs::write(home.path().join("cutout.fits.gz"), gzip(&plain_fits())).unwrap();
    let out = radiochat(&["info", named.to_str().unwrap()], home.path());
    assert_bad_input(&out, &["cutout.fits"]);
}

/// Header edits of the size keywords: each must be refused in one line by both commands.
#[test]
fn crafted_size_headers_get_one_line_errors() {
    let home = tempfile::tempdir().unwrap();
    let data = f::f32_be(&[1.0; 16]);
    let raw = |cards: Vec<f::Card>| {
        let mut bytes = f::header_block(&cards);
        bytes.extend(&data);
        bytes.resize(bytes.len().div_ceil(2880) * 2880, 0);
        bytes
    };
    let simple = |bitpix: &str, naxis: &[&str]| {
        let mut cards = vec![
            card("SIMPLE", "T"),
            card("BITPIX", bitpix),
            card("NAXIS", naxis.len()),
        ];
        for (i, n) in naxis.iter().enumerate() {
            cards.push(card(&format!("NAXIS{}", i + 1), n));
        }
        raw(cards)
    };
    let huge = ((1u64 << 62) + 1).to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("naxis1-huge.fits", simple("-32", &[&huge, "1"]), "NAXIS1"),
        (
            "product.fits",
            simple("-32", &["2147483648", "2147483648", "2147483648"]),
            "NAXISn product",
        ),
        (
            "product-fits-axes.fits",
            simple("-32", &["2147483647", "2147483647", "65536"]),
            "NAXISn product",
        ),
        ("bitpix.fits", simple("17", &["4", "4"]), "BITPIX"),
        (
            "naxis.fits",
            raw(vec![
                card("SIMPLE", "T"),
                card("BITPIX", "-32"),
                card("NAXIS", 1000),
            ]),
            "NAXIS",
        ),
        ("negative.fits", simple("-32", &["-4", "4"]), "NAXISn"),
    ];
    for (name, bytes, needle) in cases {
        let path = home.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for command in ["info", "view"] {
            let out = radiochat(&[command, path.to_str().unwrap()], home.path());
            assert_bad_input(&out, &[name]);
            let err = stderr(&out);
            assert!(
                err.to_uppercase().contains(&needle.to_uppercase()),
                "{command} {name}: {needle:?} not in {err}"
            );
        }
    }
}
