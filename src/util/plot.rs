//! Charts as PNG-ready RGB pictures, drawn with `plotters` into a buffer: a line chart (loss
//! against step) and a heat map with counts (confusion matrices), each with axes, ticks,
//! labels and a title. The font (DejaVu Sans, `assets/fonts`) is built into the binary, so a
//! compute node without fontconfig or any installed font draws the same picture.

use image::RgbImage;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

const FONT: &str = "sans-serif";

#[derive(Debug, thiserror::Error)]
#[error("drawing the chart: {0}")]
pub struct PlotError(String);

fn failed(e: impl std::fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        // The bytes are a known-good TrueType file; a failure would only leave labels out.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, bytes);
    });
}

/// Draw on a white `width`×`height` canvas.
fn canvas(
    width: u32,
    height: u32,
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<(), PlotError>,
) -> Result<RgbImage, PlotError> {
    register_font();
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let area = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        draw(&area)?;
        area.present().map_err(failed)?;
    }
    RgbImage::from_raw(width, height, buffer).ok_or_else(|| failed("buffer size"))
}

/// A line chart: `series` (name, points) over a shared x axis from 0, each in its own colour,
/// plus `marks` (name, points) as dots.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: Vec<(&'a str, Vec<(f64, f64)>)>,
    pub marks: Vec<(&'a str, Vec<(f64, f64)>)>,
    /// The x axis's end (e.g. the total steps of a run still going); else the data's.
    pub x_max: Option<f64>,
}

pub fn line_chart(chart: &LineChart, width: u32, height: u32) -> Result<RgbImage, PlotError> {
    let all = || chart.series.iter().chain(&chart.marks).flat_map(|(_, p)| p);
    let x_max = all()
        .map(|p| p.0)
        .fold(chart.x_max.unwrap_or(1.0), f64::max);
    let y_max = all()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y_max = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
    canvas(width, height, |area| {
        area.fill(&WHITE).map_err(failed)?;
        let mut plot = ChartBuilder::on(area)
            .caption(chart.title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(failed)?;
        plot.configure_mesh()
            .x_desc(chart.x_label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(chart.y_label)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(failed)?;
        let colours = [BLUE, RED, GREEN, MAGENTA];
        for (i, (name, points)) in chart.series.iter().enumerate() {
            let colour = colours[i % colours.len()];
            plot.draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(failed)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour));
        }
        for (i, (name, points)) in chart.marks.iter().enumerate() {
            let colour = colours[(chart.series.len() + i) % colours.len()];
            plot.draw_series(points.iter().map(|&p| Circle::new(p, 5, colour.filled())))
                .map_err(failed)?
                .label(*name)
                .legend(move |(x, y)| Circle::new((x + 9, y), 4, colour.filled()));
        }
        plot.configure_series_labels()
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(failed)
    })
}

/// A square matrix of counts drawn as a heat map: each cell shaded by its share of its row
/// (rows are the truth), the count and share written in it, rows and columns named.
pub struct HeatMap<'a> {
    pub title: &'a str,
    pub labels: &'a [String],
    pub counts: &'a [Vec<u64>],
}

/// Several heat maps side by side (a multi-label task's one 2×2 matrix per class).
pub fn heat_maps(maps: &[HeatMap], cell: u32) -> Result<RgbImage, PlotError> {
    let size = maps
        .iter()
        .map(|m| m.labels.len())
        .max()
        .unwrap_or(1)
        .max(1) as u32;
    let label_room = maps
        .iter()
        .flat_map(|m| m.labels.iter())
        .map(|l| l.chars().count() as u32 * 8 + 16)
        .max()
        .unwrap_or(40);
    let panel_w = size * cell + label_room + 20;
    let panel_h = size * cell + label_room + 50;
    let columns = (maps.len() as u32).clamp(1, 4);
    let rows = (maps.len() as u32).div_ceil(columns).max(1);
    canvas(panel_w * columns, panel_h * rows, |area| {
        area.fill(&WHITE).map_err(failed)?;
        let panels = area.split_evenly((rows as usize, columns as usize));
        for (map, panel) in maps.iter().zip(panels) {
            draw_heat_map(map, &panel, label_room)?;
        }
        Ok(())
    })
}

fn draw_heat_map(
    map: &HeatMap,
    area: &DrawingArea<BitMapBackend, Shift>,
    label_room: u32,
) -> Result<(), PlotError> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let n = map.labels.len().max(2);
    let mut plot = ChartBuilder::on(area)
        .caption(map.title, (FONT, 16))
        .margin(8)
        .x_label_area_size(label_room)
        .y_label_area_size(label_room)
        // A segmented 0..k has k + 1 segments (its end included): 0..n - 1 is the n cells.
        .build_cartesian_2d((0..n - 1).into_segmented(), (0..n - 1).into_segmented())
        .map_err(failed)?;
    // Rows run top-down as in a printed matrix: row r sits at y = n - 1 - r.
    let name = |i: usize| map.labels.get(i).cloned().unwrap_or_default();
    let x_name = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) => name(*i),
        _ => String::new(),
    };
    let y_name = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) if *i < n => name(n - 1 - i),
        _ => String::new(),
    };
    plot.configure_mesh()
        .disable_mesh()
        .x_labels(n)
        .y_labels(n)
        .x_label_formatter(&x_name)
        .y_label_formatter(&y_name)
        .x_desc("predicted")
        .y_desc("true")
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .draw()
        .map_err(failed)?;
    let centred = Pos::new(HPos::Center, VPos::Center);
    for (row, counts) in map.counts.iter().enumerate() {
        let total: u64 = counts.iter().sum();
        let y = n - 1 - row;
        for (column, &count) in counts.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            };
            let shade = (255.0 * (1.0 - 0.85 * share)) as u8;
            let cell = [
                (SegmentValue::Exact(column), SegmentValue::Exact(y)),
                (SegmentValue::Exact(column + 1), SegmentValue::Exact(y + 1)),
            ];
            let ink = if share > 0.6 { WHITE } else { BLACK };
            let style = (FONT, 13).into_font().color(&ink).pos(centred);
            let centre = (SegmentValue::CenterOf(column), SegmentValue::CenterOf(y));
            plot.draw_series([Rectangle::new(cell, RGBColor(shade, shade, 255).filled())])
                .map_err(failed)?;
            plot.draw_series([EmptyElement::at(centre)
                + Text::new(count.to_string(), (0, -8), style.clone())
                + Text::new(format!("{:.0}%", share * 100.0), (0, 9), style)])
                .map_err(failed)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_heat_map_shades_each_cell_by_its_share_of_the_row() {
        let names = labels(&["FR-I", "FR-II"]);
        let counts = vec![vec![9, 1], vec![2, 8]];
        let map = HeatMap {
            title: "confusion matrix",
            labels: &names,
            counts: &counts,
        };
        let picture = heat_maps(&[map], 64).unwrap();
        // The most saturated blue is the 90 % cell; no cell is darker than 85 % of white.
        let bluest = picture
            .pixels()
            .filter(|p| p.0[2] == 255 && p.0[0] == p.0[1])
            .map(|p| p.0[0])
            .min()
            .unwrap();
        assert_eq!(bluest, (255.0 * (1.0 - 0.85 * 0.9)) as u8);
        // Text was drawn (labels, counts): grey anti-aliased pixels exist.
        assert!(
            picture
                .pixels()
                .any(|p| p.0 == [0, 0, 0] || (p.0[0] == p.0[2] && p.0[0] < 128))
        );
    }

    #[test]
    fn several_heat_maps_sit_side_by_side() {
        let yes_no = labels(&["NO", "YES"]);
        let counts = vec![vec![5, 0], vec![0, 5]];
        let one = || HeatMap {
            title: "EXTENDED",
            labels: &yes_no,
            counts: &counts,
        };
        let single = heat_maps(&[one()], 48).unwrap();
        let triple = heat_maps(&[one(), one(), one()], 48).unwrap();
        assert_eq!(triple.width(), 3 * single.width());
        assert_eq!(triple.height(), single.height());
    }
}
