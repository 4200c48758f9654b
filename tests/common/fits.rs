//! Writes FITS files byte by byte (80-character cards, 2880-byte blocks, big-endian data), so
//! tests control every header value, including broken ones.
#![allow(dead_code)]

use std::path::Path;

/// A header card value: written as given (strings must carry their own quotes).
pub type Card = (String, String);

pub fn card(key: &str, value: impl ToString) -> Card {
    (key.to_string(), value.to_string())
}

pub fn header_block(cards: &[Card]) -> Vec<u8> {
    let mut text = String::new();
    for (key, value) in cards {
        let card = if key.is_empty() {
            value.clone()
        } else {
            format!("{key:<8}= {value:>20}")
        };
        text.push_str(&format!("{card:<80.80}"));
    }
    text.push_str(&format!("{:<80}", "END"));
    let mut bytes = text.into_bytes();
    bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
    bytes
}

fn padded(mut data: Vec<u8>) -> Vec<u8> {
    data.resize(data.len().div_ceil(2880) * 2880, 0);
    data
}

/// A primary image HDU: `axes` in FITS order (NAXIS1 first), `data` already big-endian.
pub fn image_hdu(
    bitpix: i32,
    axes: &[usize],
    extra: &[Card],
    data: Vec<u8>,
    primary: bool,
) -> Vec<u8> {
    let mut cards: Vec<Card> = vec![if primary {
        card("SIMPLE", "T")
    } else {
        card("XTENSION", "'IMAGE   '")
    }];
    cards.push(card("BITPIX", bitpix));
    cards.push(card("NAXIS", axes.len()));
    for (i, n) in axes.iter().enumerate() {
        cards.push(card(&format!("NAXIS{}", i + 1), n));
    }
    if !primary {
        cards.push(card("PCOUNT", 0));
        cards.push(card("GCOUNT", 1));
    }
    cards.extend(extra.iter().cloned());
    let mut out = header_block(&cards);
    out.extend(padded(data));
    out
}

pub fn f32_be(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}
pub fn f64_be(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}
pub fn i16_be(values: &[i16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}
pub fn i32_be(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}
pub fn i64_be(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

pub fn write(path: &Path, hdus: &[Vec<u8>]) {
    std::fs::write(path, hdus.concat()).unwrap();
}

/// A 2-D float32 image in the primary HDU with a radio-style header.
pub fn write_f32_image(path: &Path, width: usize, height: usize, pixels: &[f32]) {
    let cards: Vec<Card> = vec![
        card("BUNIT", "'JY/BEAM '"),
        card("CTYPE1", "'RA---SIN'"),
        card("CRVAL1", "150.0"),
        card("CDELT1", "-0.000555555555"),
        card("CRPIX1", format!("{:.1}", width as f64 / 2.0 + 0.5)),
        card("CTYPE2", "'DEC--SIN'"),
        card("CRVAL2", "-30.0"),
        card("CDELT2", "0.000555555555"),
        card("CRPIX2", format!("{:.1}", height as f64 / 2.0 + 0.5)),
        card("BMAJ", "0.0025"),
        card("BMIN", "0.002"),
        card("BPA", "45.0"),
        card("TELESCOP", "'ASKAP   '"),
    ];
    write(
        path,
        &[image_hdu(
            -32,
            &[width, height],
            &cards,
            f32_be(pixels),
            true,
        )],
    );
}
