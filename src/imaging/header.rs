//! What a radio astronomer wants to know from a FITS header before looking at the pixels.

use fitsio::FitsFile;
use fitsio::hdu::FitsHdu;
use serde::Serialize;

/// One world axis as the header describes it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AxisInfo {
    pub length: usize,
    pub ctype: Option<String>,
    pub crval: Option<f64>,
    pub cdelt: Option<f64>,
    pub crpix: Option<f64>,
    pub cunit: Option<String>,
}

/// The header summary `radiochat info` prints.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct HeaderSummary {
    pub hdu: usize,
    pub extname: Option<String>,
    pub bitpix: Option<i64>,
    pub bunit: Option<String>,
    pub object: Option<String>,
    pub telescope: Option<String>,
    pub axes: Vec<AxisInfo>,
    /// |CDELT2| (or CD2_2) in arcsec.
    pub pixel_scale_arcsec: Option<f64>,
    pub beam_major_arcsec: Option<f64>,
    pub beam_minor_arcsec: Option<f64>,
    pub beam_pa_deg: Option<f64>,
    pub rest_frequency_hz: Option<f64>,
    /// CRVAL of the FREQ axis, when there is one.
    pub observed_frequency_hz: Option<f64>,
    /// World coordinates of the image centre (small-field approximation around CRPIX).
    pub centre_ra_deg: Option<f64>,
    pub centre_dec_deg: Option<f64>,
}

impl HeaderSummary {
    pub fn read(file: &mut FitsFile, hdu: &FitsHdu, axes: &[usize]) -> HeaderSummary {
        let text = |file: &mut FitsFile, key: &str| -> Option<String> {
            hdu.read_key::<String>(file, key)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let number =
            |file: &mut FitsFile, key: &str| -> Option<f64> { hdu.read_key::<f64>(file, key).ok() };
        let axes: Vec<AxisInfo> = axes
            .iter()
            .enumerate()
            .map(|(i, &length)| {
                let n = i + 1;
                let cd = number(file, &format!("CD{n}_{n}"));
                AxisInfo {
                    length,
                    ctype: text(file, &format!("CTYPE{n}")),
                    crval: number(file, &format!("CRVAL{n}")),
                    cdelt: number(file, &format!("CDELT{n}")).or(cd),
                    crpix: number(file, &format!("CRPIX{n}")),
                    cunit: text(file, &format!("CUNIT{n}")),
                }
            })
            .collect();
        let degrees_to_arcsec = |v: f64| v * 3600.0;
        let frequency_axis = axes
            .iter()
            .find(|a| a.ctype.as_deref().is_some_and(|t| t.starts_with("FREQ")));
        let mut summary = HeaderSummary {
            hdu: hdu.number,
            extname: text(file, "EXTNAME"),
            bitpix: hdu.read_key::<i64>(file, "BITPIX").ok(),
            bunit: text(file, "BUNIT"),
            object: text(file, "OBJECT"),
            telescope: text(file, "TELESCOP"),
            pixel_scale_arcsec: axes
                .get(1)
                .and_then(|a| a.cdelt)
                .map(|d| degrees_to_arcsec(d.abs())),
            beam_major_arcsec: number(file, "BMAJ").map(degrees_to_arcsec),
            beam_minor_arcsec: number(file, "BMIN").map(degrees_to_arcsec),
            beam_pa_deg: number(file, "BPA"),
            rest_frequency_hz: number(file, "RESTFRQ").or_else(|| number(file, "RESTFREQ")),
            observed_frequency_hz: frequency_axis.and_then(|a| a.crval),
            centre_ra_deg: None,
            centre_dec_deg: None,
            axes,
        };
        summary.set_centre();
        summary
    }

    /// RA/Dec of the central pixel from CRVAL/CRPIX/CDELT, with RA offsets divided by
    /// cos(Dec): exact at the reference pixel, close for cutouts of a degree or less.
    fn set_centre(&mut self) {
        let (Some(x), Some(y)) = (self.axes.first(), self.axes.get(1)) else {
            return;
        };
        let is =
            |a: &AxisInfo, prefix: &str| a.ctype.as_deref().is_some_and(|t| t.starts_with(prefix));
        if !(is(x, "RA") && is(y, "DEC")) {
            return;
        }
        let (Some(ra0), Some(dec0), Some(dra), Some(ddec)) = (x.crval, y.crval, x.cdelt, y.cdelt)
        else {
            return;
        };
        let centre = |a: &AxisInfo| (a.length as f64 + 1.0) / 2.0 - a.crpix.unwrap_or(1.0);
        let dec = dec0 + centre(y) * ddec;
        let cos_dec = dec0.to_radians().cos().max(1e-6);
        self.centre_ra_deg = Some((ra0 + centre(x) * dra / cos_dec).rem_euclid(360.0));
        self.centre_dec_deg = Some(dec);
    }

    /// CTYPE of a zero-based axis, or "axis N".
    pub fn axis_name(&self, axis: usize) -> String {
        self.axes
            .get(axis)
            .and_then(|a| a.ctype.clone())
            .unwrap_or_else(|| format!("axis {}", axis + 1))
    }

    /// Human-readable lines for `radiochat info` and `view`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let shape: Vec<String> = self.axes.iter().map(|a| a.length.to_string()).collect();
        let hdu = match &self.extname {
            Some(name) => format!("HDU {} ({name})", self.hdu),
            None => format!("HDU {}", self.hdu),
        };
        out.push(format!(
            "{hdu}: {} pixels, BITPIX {}",
            shape.join(" × "),
            opt(&self.bitpix)
        ));
        for (label, value) in [
            ("BUNIT", &self.bunit),
            ("OBJECT", &self.object),
            ("TELESCOP", &self.telescope),
        ] {
            if let Some(v) = value {
                out.push(format!("{label}: {v}"));
            }
        }
        for (i, a) in self.axes.iter().enumerate() {
            out.push(format!(
                "axis {}: {} CRVAL {} CDELT {} CRPIX {}{}",
                i + 1,
                a.ctype.as_deref().unwrap_or("-"),
                opt(&a.crval),
                opt(&a.cdelt),
                opt(&a.crpix),
                a.cunit
                    .as_deref()
                    .map(|u| format!(" [{u}]"))
                    .unwrap_or_default()
            ));
        }
        if let Some(scale) = self.pixel_scale_arcsec {
            out.push(format!("pixel scale: {scale:.3} arcsec"));
        }
        if let (Some(major), Some(minor)) = (self.beam_major_arcsec, self.beam_minor_arcsec) {
            out.push(format!(
                "beam: {major:.2}\" × {minor:.2}\", PA {}°",
                opt(&self.beam_pa_deg)
            ));
        }
        if let Some(f) = self.observed_frequency_hz {
            out.push(format!("frequency: {:.4} MHz", f / 1e6));
        }
        if let Some(f) = self.rest_frequency_hz {
            out.push(format!("rest frequency: {:.4} MHz", f / 1e6));
        }
        if let (Some(ra), Some(dec)) = (self.centre_ra_deg, self.centre_dec_deg) {
            out.push(format!("centre: RA {ra:.5}°, Dec {dec:+.5}°"));
        }
        out
    }
}

fn opt<T: std::fmt::Display>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into())
}
