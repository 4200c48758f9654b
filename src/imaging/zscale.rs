//! IRAF's zscale, exactly as astropy.visualization.ZScaleInterval computes it (astropy 8):
//! sample ≤ n_samples finite pixels with a fixed stride, sort, fit a line with iterative
//! k-sigma rejection (rejected points dilated by 1% of the sample), and widen the median by
//! the slope divided by the contrast.
//!
//! Values are the f32 pixels of the image, as astropy sees a BITPIX −32 FITS file; the fit
//! runs in f64 as numpy's polyfit does. Limits remember whether they came straight from the
//! f32 samples or from the f64 formula, because numpy's dtype rules then differ.

/// ZScaleInterval's parameters, with astropy's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZscaleParams {
    pub n_samples: usize,
    pub contrast: f64,
    pub max_reject: f64,
    pub min_npixels: usize,
    pub krej: f64,
    pub max_iterations: usize,
}

impl Default for ZscaleParams {
    fn default() -> Self {
        Self {
            n_samples: 1000,
            contrast: 0.25,
            max_reject: 0.5,
            min_npixels: 5,
            krej: 2.5,
            max_iterations: 5,
        }
    }
}

/// One limit and the numpy dtype it would carry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// A sample value: a numpy float32 scalar.
    Sample(f32),
    /// The median ± slope formula: a numpy float64 scalar.
    Fitted(f64),
}

impl Limit {
    pub fn value(self) -> f64 {
        match self {
            Limit::Sample(v) => v as f64,
            Limit::Fitted(v) => v,
        }
    }
}

/// `max`/`min` as Python's builtins pick between a float32 and a float64 scalar: the first
/// argument wins ties.
fn py_max(a: Limit, b: Limit) -> Limit {
    if b.value() > a.value() { b } else { a }
}
fn py_min(a: Limit, b: Limit) -> Limit {
    if b.value() < a.value() { b } else { a }
}

/// The zscale limits of the finite values of `pixels`, or `None` when there are none.
pub fn zscale_limits(pixels: &[f32], params: &ZscaleParams) -> Option<(Limit, Limit)> {
    let finite = pixels.iter().filter(|v| v.is_finite()).count();
    let samples = sample(
        pixels.iter().copied().filter(|v| v.is_finite()),
        finite,
        params.n_samples,
    );
    limits_from_samples(samples, params)
}

/// astropy's sampling: every `max(1, count / n_samples)`-th value, at most `n_samples`.
pub fn sample(values: impl Iterator<Item = f32>, count: usize, n_samples: usize) -> Vec<f32> {
    let stride = ((count as f64 / n_samples as f64).max(1.0)) as usize;
    values.step_by(stride).take(n_samples).collect()
}

/// Sort the samples and fit; `None` when there are none.
pub fn limits_from_samples(mut samples: Vec<f32>, params: &ZscaleParams) -> Option<(Limit, Limit)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f32::total_cmp);
    let npix = samples.len();
    let mut vmin = Limit::Sample(samples[0]);
    let mut vmax = Limit::Sample(samples[npix - 1]);

    let minpix = params
        .min_npixels
        .max((npix as f64 * params.max_reject) as usize);
    let mut ngoodpix = npix;
    let mut last_ngoodpix = npix + 1;
    let mut badpix = vec![false; npix];
    let ngrow = 1.max((npix as f64 * 0.01) as usize);
    let mut fit: Option<(f64, f64)> = None;

    for _ in 0..params.max_iterations {
        if ngoodpix >= last_ngoodpix || ngoodpix < minpix {
            break;
        }
        let (slope, intercept) = fit_line(&samples, &badpix);
        fit = Some((slope, intercept));
        let flat: Vec<f64> = samples
            .iter()
            .enumerate()
            .map(|(i, &y)| y as f64 - (slope * i as f64 + intercept))
            .collect();
        let threshold = params.krej * std_of_good(&flat, &badpix);
        for (bad, &f) in badpix.iter_mut().zip(&flat) {
            if f < -threshold || f > threshold {
                *bad = true;
            }
        }
        badpix = dilate(&badpix, ngrow);
        last_ngoodpix = ngoodpix;
        ngoodpix = badpix.iter().filter(|b| !**b).count();
    }

    if let Some((mut slope, _)) = fit.filter(|_| ngoodpix >= minpix) {
        if params.contrast > 0.0 {
            slope /= params.contrast;
        }
        let center = (npix as i64 - 1) / 2;
        let median = median_f32(&samples) as f64;
        vmin = py_max(vmin, Limit::Fitted(median - (center - 1) as f64 * slope));
        vmax = py_min(
            vmax,
            Limit::Fitted(median + (npix as i64 - center) as f64 * slope),
        );
    }
    Some((vmin, vmax))
}

/// Least-squares line through the good points (numpy.polyfit with 0/1 weights).
fn fit_line(samples: &[f32], badpix: &[bool]) -> (f64, f64) {
    let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, (&y, &bad)) in samples.iter().zip(badpix).enumerate() {
        if !bad {
            let (x, y) = (i as f64, y as f64);
            n += 1.0;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
    }
    let denominator = n * sxx - sx * sx;
    if n == 0.0 || denominator == 0.0 {
        return (0.0, if n > 0.0 { sy / n } else { 0.0 });
    }
    let slope = (n * sxy - sx * sy) / denominator;
    (slope, (sy - slope * sx) / n)
}

/// Population standard deviation of the good values (numpy's default ddof = 0).
fn std_of_good(values: &[f64], badpix: &[bool]) -> f64 {
    let good: Vec<f64> = values
        .iter()
        .zip(badpix)
        .filter(|(_, b)| !**b)
        .map(|(v, _)| *v)
        .collect();
    if good.is_empty() {
        return f64::NAN;
    }
    let mean = good.iter().sum::<f64>() / good.len() as f64;
    (good.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / good.len() as f64).sqrt()
}

/// numpy.convolve(mask, ones(k, bool), mode="same"): output i is set when any input in
/// [i − (k−1) + s, i + s] is, with s = (k−1)/2 the offset of "same" into the full result.
fn dilate(mask: &[bool], k: usize) -> Vec<bool> {
    let n = mask.len() as i64;
    let s = (k as i64 - 1) / 2;
    (0..n)
        .map(|i| {
            let lo = (i - (k as i64 - 1) + s).max(0);
            let hi = (i + s).min(n - 1);
            (lo..=hi).any(|j| mask[j as usize])
        })
        .collect()
}

/// numpy.median of a sorted float32 array: the mean of the middle pair in float32.
fn median_f32(sorted: &[f32]) -> f32 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilation_matches_numpy_same_mode() {
        // np.convolve([F,T,F,F,F,T,F], ones(k), "same") printed by numpy 2.4 for k = 2, 3, 4.
        let mask = [false, true, false, false, false, true, false];
        assert_eq!(
            dilate(&mask, 2),
            [false, true, true, false, false, true, true]
        );
        assert_eq!(
            dilate(&mask, 3),
            [true, true, true, false, true, true, true]
        );
        assert_eq!(dilate(&mask, 4), [true; 7]);
    }

    #[test]
    fn median_and_line_fit() {
        assert_eq!(median_f32(&[1.0, 2.0, 4.0, 8.0]), 3.0);
        let (slope, intercept) = fit_line(&[1.0, 3.0, 5.0, 100.0], &[false, false, false, true]);
        assert!((slope - 2.0).abs() < 1e-12 && (intercept - 1.0).abs() < 1e-12);
    }
}
