//! Draws a [`Timeline`] (a Gantt chart: who held what when) into PNG or SVG with plotters.
//!
//! Layout, top to bottom: bold title, grey subtitle, the strip of marker and band labels (as on
//! line charts), the rows (one per member, label on the left, alternating light backgrounds) with
//! their bars, then the optional step strip, the time axis, and a legend in one or two lines under
//! the axis (a legend inside the plot would cover bars). Bars that overlap in time within a row are
//! stacked in lanes; each bar is filled with one of 12 light colours by its `colour` slot and
//! labelled inside when the label fits. Bands are drawn over the bars, translucent, and marker lines
//! run from their label down through the rows and the strip.
//!
//! As with line charts everything is computed from the input alone (pixel positions, lanes, which
//! labels fit), text uses the bundled font, and the same [`Timeline`] always gives the same bytes.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::register_fonts;
use super::line_chart::{
    AXIS, AXIS_TITLE_SIZE, GRID, LEGEND_SIZE, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT, TEXT, TICK_SIZE, TickFormat,
    X_LABEL_AREA, darker, draw_header, draw_marker_lines, draw_strip_labels, err, font, kind_colour, layout_strip,
    nice_step, text_width, ticks_in,
};
use super::{Band, Bar, CHART_SIZE, Marker, MarkerKind, RenderError, Timeline, encode_rgb_png, fixed3, one_line};

/// ColorBrewer Set3: 12 light colours on which dark text stays readable.
const BAR_PALETTE: [RGBColor; 12] = [
    RGBColor(0x8D, 0xD3, 0xC7),
    RGBColor(0xFF, 0xED, 0x6F),
    RGBColor(0xBE, 0xBA, 0xDA),
    RGBColor(0xFB, 0x80, 0x72),
    RGBColor(0x80, 0xB1, 0xD3),
    RGBColor(0xFD, 0xB4, 0x62),
    RGBColor(0xB3, 0xDE, 0x69),
    RGBColor(0xFC, 0xCD, 0xE5),
    RGBColor(0xD9, 0xD9, 0xD9),
    RGBColor(0xBC, 0x80, 0xBD),
    RGBColor(0xCC, 0xEB, 0xC5),
    RGBColor(0xFF, 0xFF, 0xB3),
];

/// The strip's line and fill.
const STRIP_COLOUR: RGBColor = RGBColor(0x44, 0x44, 0x44);
const ROW_SHADE: RGBColor = RGBColor(0xF4, 0xF4, 0xF4);

const ROW_LABEL_SIZE: u32 = 14;
const BAR_LABEL_SIZE: u32 = 11;
const STRIP_HEIGHT: i32 = 64;
const STRIP_GAP: i32 = 16;
const ROW_PAD: i32 = 4;
const LEGEND_ROW: i32 = 20;
const LEGEND_SAMPLE: i32 = 22;
const LEGEND_GAP: i32 = 22;

/// A bar after cleaning, with its lane.
pub(crate) struct PlacedBar {
    pub bar: Bar,
    pub lane: usize,
}

/// The timeline's data after cleaning: finite values only, bars in start order with their lanes,
/// markers and bands sorted by time.
pub(crate) struct Prepared {
    /// Per row: its bars and its number of lanes (at least 1).
    pub rows: Vec<(Vec<PlacedBar>, usize)>,
    pub markers: Vec<Marker>,
    pub bands: Vec<Band>,
    pub strip: Vec<(f64, f64)>,
    pub x_end: f64,
}

impl Prepared {
    pub fn new(t: &Timeline) -> Self {
        let x_end = if t.x_end.is_finite() && t.x_end > 0.0 { t.x_end } else { 1.0 };
        let rows = t
            .rows
            .iter()
            .map(|r| {
                let bars: Vec<Bar> = r
                    .bars
                    .iter()
                    .filter(|b| b.from_s.is_finite() && b.to_s.is_finite())
                    .map(|b| Bar { from_s: b.from_s.min(b.to_s), to_s: b.from_s.max(b.to_s), ..b.clone() })
                    .collect();
                place(bars)
            })
            .collect();
        let mut markers: Vec<Marker> = t.markers.iter().filter(|m| m.at_s.is_finite()).cloned().collect();
        markers.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let mut bands: Vec<Band> = t
            .bands
            .iter()
            .filter(|b| b.from_s.is_finite() && b.to_s.is_finite())
            .map(|b| Band { from_s: b.from_s.min(b.to_s), to_s: b.from_s.max(b.to_s), ..b.clone() })
            .collect();
        bands.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
        let strip = t
            .strip
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        Prepared { rows, markers, bands, strip, x_end }
    }
}

/// Assigns lanes: bars in order of (start, colour, end); each takes the lane its colour last
/// had if that lane is free by then, else the first free lane, else a new one. Among bars that
/// start at the same instant, those whose colour's lane is free choose first, so a partition
/// that stays with a member after a rebalance keeps its lane.
fn place(mut bars: Vec<Bar>) -> (Vec<PlacedBar>, usize) {
    bars.sort_by(|a, b| a.from_s.total_cmp(&b.from_s).then(a.colour.cmp(&b.colour)).then(a.to_s.total_cmp(&b.to_s)));
    let mut lane_end: Vec<f64> = Vec::new();
    let mut colour_lane: BTreeMap<usize, usize> = BTreeMap::new();
    let mut out: Vec<PlacedBar> = Vec::with_capacity(bars.len());
    let mut i = 0;
    while i < bars.len() {
        let from = bars[i].from_s;
        let same: Vec<Bar> = bars[i..].iter().take_while(|b| b.from_s == from).cloned().collect();
        i += same.len();
        let mut lanes: Vec<Option<usize>> = vec![None; same.len()];
        // first pass: bars whose colour's lane is free (each lane taken once)
        for (k, bar) in same.iter().enumerate() {
            if let Some(&l) = colour_lane.get(&bar.colour)
                && lane_end[l] <= from
            {
                lanes[k] = Some(l);
                lane_end[l] = bar.to_s;
            }
        }
        for (k, bar) in same.into_iter().enumerate() {
            let lane = match lanes[k] {
                Some(l) => l,
                None => match (0..lane_end.len()).find(|&l| lane_end[l] <= from) {
                    Some(l) => l,
                    None => {
                        lane_end.push(f64::NEG_INFINITY);
                        lane_end.len() - 1
                    }
                },
            };
            lane_end[lane] = bar.to_s;
            colour_lane.insert(bar.colour, lane);
            out.push(PlacedBar { bar, lane });
        }
    }
    let lanes = lane_end.len().max(1);
    (out, lanes)
}

/// The data the timeline draws, as text with 3 decimals, for snapshot tests:
///
/// ```text
/// # row billing-0
/// 6.004 20.105 lane 0 orders-0 · gen 1
/// # strip partitions without an owner
/// 0.000 12.000
/// # marker rebalance 6.004 gen 1
/// # band rebalance 0.003 6.004 billing-0 joined
/// ```
pub fn timeline_as_text(t: &Timeline) -> String {
    let data = Prepared::new(t);
    let mut out = String::new();
    for (row, (bars, _)) in t.rows.iter().zip(&data.rows) {
        out.push_str(&format!("# row {}\n", one_line(&row.label)));
        for p in bars {
            out.push_str(&format!(
                "{} {} lane {} {}\n",
                fixed3(p.bar.from_s),
                fixed3(p.bar.to_s),
                p.lane,
                one_line(&p.bar.label)
            ));
        }
    }
    if let Some(s) = &t.strip {
        out.push_str(&format!("# strip {} (0 to {})\n", one_line(&s.label), fixed3(s.y_max)));
        for &(x, y) in &data.strip {
            out.push_str(&format!("{} {}\n", fixed3(x), fixed3(y)));
        }
        for (x, y, text) in &s.notes {
            out.push_str(&format!("# strip note {} {} {}\n", fixed3(*x), fixed3(*y), one_line(text)));
        }
    }
    for m in &data.markers {
        out.push_str(&format!("# marker {} {} {}\n", m.kind.legend_name(), fixed3(m.at_s), one_line(&m.label)));
    }
    for b in &data.bands {
        out.push_str(&format!("# band {} {} {}", b.kind.legend_name(), fixed3(b.from_s), fixed3(b.to_s)));
        if !b.label.is_empty() {
            out.push(' ');
            out.push_str(&one_line(&b.label));
        }
        out.push('\n');
    }
    out
}

/// Draws `t` at [`CHART_SIZE`] and returns the PNG file's bytes.
pub fn render_timeline_png(t: &Timeline) -> Result<Vec<u8>, RenderError> {
    register_fonts()?;
    let (w, h) = CHART_SIZE;
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw_timeline(&root, t)?;
        root.present().map_err(err("presenting the bitmap"))?;
    }
    encode_rgb_png(&buf, w, h)
}

/// Draws `t` at [`CHART_SIZE`] as SVG (text as `<text>`, see `render_line_chart_svg`).
pub fn render_timeline_svg(t: &Timeline) -> Result<String, RenderError> {
    register_fonts()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, CHART_SIZE).into_drawing_area();
        draw_timeline(&root, t)?;
        root.present().map_err(|e| RenderError::new(format!("finishing the SVG: {e:?}")))?;
    }
    Ok(out)
}

/// An entry of the legend line.
enum Sample {
    Bar,
    Band(RGBColor),
    Marker(RGBColor),
    Strip,
}

fn draw_timeline<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &Timeline) -> Result<(), RenderError> {
    root.fill(&WHITE).map_err(err("filling the background"))?;
    let data = Prepared::new(t);
    let (width, height) = (CHART_SIZE.0 as i32, CHART_SIZE.1 as i32);

    // Header.
    let header = draw_header(root, &t.title, t.subtitle.as_deref())?;

    // X axis: 0 to the end of the run (or the last thing drawn), on "nice" ticks.
    let x_hi = data
        .rows
        .iter()
        .flat_map(|(bars, _)| bars.iter().map(|p| p.bar.to_s))
        .chain(data.markers.iter().map(|m| m.at_s))
        .chain(data.bands.iter().map(|b| b.to_s))
        .fold(data.x_end, f64::max);
    let (step, exp) = nice_step(x_hi / 10.0);
    let range = 0.0..x_hi;
    let ticks = ticks_in(&range, step);
    let tick_format = TickFormat::plain(exp);

    // Left: the rotated axis title, then the row labels (and the strip's tick labels).
    let row_style = font(ROW_LABEL_SIZE);
    let mut widest = 0;
    for r in &t.rows {
        widest = widest.max(text_width(root, &r.label, &row_style)?);
    }
    if let Some(s) = &t.strip {
        widest = widest.max(text_width(root, &tick_format_strip(s.y_max), &font(TICK_SIZE))?);
    }
    let plot_left = MARGIN_LEFT as i32 + AXIS_TITLE_SIZE as i32 + 14 + widest + 10;
    let plot_right = width - MARGIN_RIGHT as i32;
    let to_px = |v: f64| -> i32 {
        let f = (v / x_hi).clamp(-0.01, 1.01);
        plot_left + (f * (plot_right - plot_left) as f64).round() as i32
    };

    // Marker and band labels above the plot.
    let (strip_labels, strip_height) = layout_strip(root, &data.markers, &data.bands, to_px, plot_left, plot_right)?;
    let plot_top = header + strip_height + 10;

    // Legend entries, laid out in lines under the axis.
    let mut legend: Vec<(String, Sample)> = Vec::new();
    if data.rows.iter().any(|(bars, _)| !bars.is_empty()) && !t.bar_legend.is_empty() {
        legend.push((t.bar_legend.clone(), Sample::Bar));
    }
    let mut band_kinds: Vec<MarkerKind> = data.bands.iter().map(|b| b.kind).collect();
    band_kinds.sort();
    band_kinds.dedup();
    for k in band_kinds {
        let name = t.band_names.iter().find(|(kind, _)| *kind == k).map_or(k.legend_name(), |(_, n)| n.as_str());
        legend.push((name.to_string(), Sample::Band(kind_colour(k))));
    }
    let mut marker_kinds: Vec<MarkerKind> = data.markers.iter().map(|m| m.kind).collect();
    marker_kinds.sort();
    marker_kinds.dedup();
    for k in marker_kinds {
        let name = t.marker_names.iter().find(|(kind, _)| *kind == k).map_or(k.legend_name(), |(_, n)| n.as_str());
        legend.push((name.to_string(), Sample::Marker(kind_colour(k))));
    }
    if let Some(s) = &t.strip {
        legend.push((s.label.clone(), Sample::Strip));
    }
    let legend_style = font(LEGEND_SIZE);
    let mut lines: Vec<Vec<(i32, usize)>> = vec![Vec::new()];
    let mut line_w = 0;
    for (i, (label, _)) in legend.iter().enumerate() {
        let w = LEGEND_SAMPLE + 6 + text_width(root, label, &legend_style)?;
        let used = if line_w == 0 { w } else { line_w + LEGEND_GAP + w };
        if line_w > 0 && used > plot_right - plot_left {
            lines.push(Vec::new());
            line_w = w;
        } else {
            line_w = used;
        }
        lines.last_mut().expect("a line").push((w, i));
    }
    let legend_height = if legend.is_empty() { 0 } else { lines.len() as i32 * LEGEND_ROW + 4 };

    let plot_bottom = height - MARGIN_BOTTOM as i32 - legend_height - X_LABEL_AREA as i32;
    let rows_bottom = if t.strip.is_some() { plot_bottom - STRIP_HEIGHT - STRIP_GAP } else { plot_bottom };
    let n_rows = t.rows.len().max(1) as i32;
    let row_h = ((rows_bottom - plot_top) / n_rows).max(4);
    let rows_bottom = plot_top + row_h * n_rows;

    // Row backgrounds, then the time grid.
    for i in (0..n_rows).step_by(2) {
        let top = plot_top + i * row_h;
        root.draw(&Rectangle::new([(plot_left, top), (plot_right, top + row_h)], ROW_SHADE.filled()))
            .map_err(err("drawing a row"))?;
    }
    let strip_top = rows_bottom + STRIP_GAP;
    for &x in &ticks {
        let px = to_px(x);
        root.draw(&PathElement::new(vec![(px, plot_top), (px, rows_bottom)], GRID.stroke_width(1)))
            .map_err(err("drawing the grid"))?;
        if t.strip.is_some() {
            root.draw(&PathElement::new(vec![(px, strip_top), (px, plot_bottom)], GRID.stroke_width(1)))
                .map_err(err("drawing the grid"))?;
        }
    }

    // Bars.
    let bar_font = font(BAR_LABEL_SIZE);
    for (i, (bars, lanes)) in data.rows.iter().enumerate() {
        let top = plot_top + i as i32 * row_h + ROW_PAD;
        let lane_h = ((row_h - 2 * ROW_PAD) / *lanes as i32).max(1);
        for p in bars {
            let colour = BAR_PALETTE[p.bar.colour % BAR_PALETTE.len()];
            let (x0, x1) = (to_px(p.bar.from_s), to_px(p.bar.to_s).max(to_px(p.bar.from_s) + 1));
            let y0 = top + p.lane as i32 * lane_h + 1;
            let y1 = y0 + lane_h - 2;
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], colour.filled())).map_err(err("drawing a bar"))?;
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], darker(colour).stroke_width(1)))
                .map_err(err("drawing a bar"))?;
            if y1 - y0 > BAR_LABEL_SIZE as i32 {
                let room = x1 - x0 - 8;
                let mut text = None;
                for candidate in [&p.bar.label, &p.bar.short_label] {
                    if !candidate.is_empty() && text_width(root, candidate, &bar_font)? <= room {
                        text = Some(candidate.clone());
                        break;
                    }
                }
                if let Some(text) = text {
                    root.draw(&Text::new(
                        text,
                        (x0 + 5, (y0 + y1) / 2),
                        bar_font.clone().pos(Pos::new(HPos::Left, VPos::Center)),
                    ))
                    .map_err(err("drawing a bar label"))?;
                }
            }
        }
    }

    // The strip: a filled staircase from 0 to its maximum.
    if let Some(s) = &t.strip {
        let y_max = if s.y_max > 0.0 { s.y_max } else { 1.0 };
        let to_py = |v: f64| plot_bottom - ((v / y_max).clamp(0.0, 1.0) * STRIP_HEIGHT as f64).round() as i32;
        let mut path: Vec<(i32, i32)> = Vec::new();
        for (i, &(x, y)) in data.strip.iter().enumerate() {
            if i > 0 {
                path.push((to_px(x), path[path.len() - 1].1));
            }
            path.push((to_px(x), to_py(y)));
        }
        if let Some(&(_, last_y)) = path.last() {
            path.push((to_px(x_hi), last_y));
            let mut area = path.clone();
            area.push((to_px(x_hi), plot_bottom));
            area.push((path[0].0, plot_bottom));
            root.draw(&Polygon::new(area, STRIP_COLOUR.mix(0.22).filled())).map_err(err("drawing the strip"))?;
            root.draw(&PathElement::new(path, STRIP_COLOUR.stroke_width(2))).map_err(err("drawing the strip"))?;
        }
        let tick_font = font(TICK_SIZE).pos(Pos::new(HPos::Right, VPos::Center));
        for (v, py) in [(0.0, plot_bottom), (y_max, strip_top)] {
            root.draw(&PathElement::new(vec![(plot_left - 5, py), (plot_left, py)], AXIS.stroke_width(1)))
                .map_err(err("drawing the strip axis"))?;
            root.draw(&Text::new(tick_format_strip(v), (plot_left - 8, py), tick_font.clone()))
                .map_err(err("drawing the strip axis"))?;
        }
        root.draw(&PathElement::new(vec![(plot_left, strip_top), (plot_right, strip_top)], GRID.stroke_width(1)))
            .map_err(err("drawing the strip axis"))?;
        root.draw(&PathElement::new(vec![(plot_left, strip_top), (plot_left, plot_bottom)], AXIS.stroke_width(1)))
            .map_err(err("drawing the strip axis"))?;
        let note_font = font(BAR_LABEL_SIZE).color(&TEXT).pos(Pos::new(HPos::Left, VPos::Bottom));
        let mut taken: Vec<(i32, i32)> = Vec::new();
        for (x, y, text) in &s.notes {
            if !(x.is_finite() && y.is_finite()) {
                continue;
            }
            let w = text_width(root, text, &note_font)?;
            let left = (to_px(*x) + 4).min(plot_right - w - 2);
            if taken.iter().any(|&(a, b)| left < b + 6 && a < left + w + 6) {
                continue;
            }
            taken.push((left, left + w));
            let bottom = (to_py(*y) - 2).max(strip_top + BAR_LABEL_SIZE as i32 + 2);
            root.draw(&Text::new(text.clone(), (left, bottom), note_font.clone())).map_err(err("drawing a note"))?;
        }
    }

    // Bands over the bars (translucent), spanning rows and strip.
    for b in &data.bands {
        let (x0, x1) = (to_px(b.from_s), to_px(b.to_s).max(to_px(b.from_s) + 2));
        let fill = kind_colour(b.kind).mix(0.16).filled();
        root.draw(&Rectangle::new([(x0, plot_top), (x1, rows_bottom)], fill)).map_err(err("drawing a band"))?;
        if t.strip.is_some() {
            root.draw(&Rectangle::new([(x0, strip_top), (x1, plot_bottom)], fill)).map_err(err("drawing a band"))?;
        }
    }

    if let Some(s) = &t.strip {
        root.draw(&Text::new(
            s.axis_label.clone(),
            (MARGIN_LEFT as i32, (strip_top + plot_bottom) / 2),
            font(AXIS_TITLE_SIZE).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err("drawing the strip's axis title"))?;
    }

    draw_marker_lines(root, &strip_labels, header + 2, plot_top, plot_bottom)?;

    // Axes: the row axis with its labels, the time axis with its ticks.
    root.draw(&PathElement::new(vec![(plot_left, plot_top), (plot_left, rows_bottom)], AXIS.stroke_width(1)))
        .map_err(err("drawing the axes"))?;
    root.draw(&PathElement::new(vec![(plot_left, plot_bottom), (plot_right, plot_bottom)], AXIS.stroke_width(1)))
        .map_err(err("drawing the axes"))?;
    for (i, r) in t.rows.iter().enumerate() {
        let cy = plot_top + i as i32 * row_h + row_h / 2;
        root.draw(&Text::new(
            r.label.clone(),
            (plot_left - 8, cy),
            row_style.clone().pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err("drawing a row label"))?;
    }
    let tick_font = font(TICK_SIZE).pos(Pos::new(HPos::Center, VPos::Top));
    for &x in &ticks {
        let px = to_px(x);
        root.draw(&PathElement::new(vec![(px, plot_bottom), (px, plot_bottom + 5)], AXIS.stroke_width(1)))
            .map_err(err("drawing a tick"))?;
        root.draw(&Text::new(tick_format.format(x), (px, plot_bottom + 8), tick_font.clone()))
            .map_err(err("drawing a tick"))?;
    }
    root.draw(&Text::new(
        t.x_label.clone(),
        ((plot_left + plot_right) / 2, plot_bottom + 8 + TICK_SIZE as i32 + 10),
        font(AXIS_TITLE_SIZE).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err("drawing the x axis title"))?;
    root.draw(&Text::new(
        t.y_label.clone(),
        (MARGIN_LEFT as i32, (plot_top + rows_bottom) / 2),
        font(AXIS_TITLE_SIZE).transform(FontTransform::Rotate270).pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(err("drawing the row axis title"))?;

    // Legend lines, centred under the time axis.
    let legend_top = height - MARGIN_BOTTOM as i32 - legend_height + 4;
    for (l, line) in lines.iter().enumerate() {
        let total: i32 = line.iter().map(|(w, _)| w).sum::<i32>() + LEGEND_GAP * (line.len() as i32 - 1).max(0);
        let mut x = (plot_left + plot_right - total) / 2;
        let cy = legend_top + l as i32 * LEGEND_ROW + LEGEND_ROW / 2;
        for &(w, i) in line {
            let (label, sample) = &legend[i];
            let s = x;
            match *sample {
                Sample::Bar => root
                    .draw(&Rectangle::new([(s, cy - 6), (s + LEGEND_SAMPLE, cy + 6)], BAR_PALETTE[0].filled()))
                    .and_then(|_| {
                        root.draw(&Rectangle::new(
                            [(s, cy - 6), (s + LEGEND_SAMPLE, cy + 6)],
                            darker(BAR_PALETTE[0]).stroke_width(1),
                        ))
                    }),
                Sample::Band(c) => {
                    root.draw(&Rectangle::new([(s + 3, cy - 8), (s + LEGEND_SAMPLE - 3, cy + 8)], c.mix(0.25).filled()))
                }
                Sample::Marker(c) => root
                    .draw(&PathElement::new(
                        vec![(s + LEGEND_SAMPLE / 2, cy - 8), (s + LEGEND_SAMPLE / 2, cy - 2)],
                        c.stroke_width(2),
                    ))
                    .and_then(|_| {
                        root.draw(&PathElement::new(
                            vec![(s + LEGEND_SAMPLE / 2, cy + 2), (s + LEGEND_SAMPLE / 2, cy + 8)],
                            c.stroke_width(2),
                        ))
                    }),
                Sample::Strip => root
                    .draw(&Rectangle::new([(s, cy - 2), (s + LEGEND_SAMPLE, cy + 7)], STRIP_COLOUR.mix(0.22).filled()))
                    .and_then(|_| {
                        root.draw(&PathElement::new(
                            vec![(s, cy + 4), (s + 8, cy + 4), (s + 8, cy - 3), (s + LEGEND_SAMPLE, cy - 3)],
                            STRIP_COLOUR.stroke_width(2),
                        ))
                    }),
            }
            .map_err(err("drawing a legend sample"))?;
            root.draw(&Text::new(
                label.clone(),
                (s + LEGEND_SAMPLE + 6, cy),
                legend_style.clone().pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err("drawing a legend label"))?;
            x += w + LEGEND_GAP;
        }
    }

    draw_strip_labels(root, &strip_labels, header + 2)
}

/// The strip's tick text: whole numbers plainly, others with up to 2 decimals.
fn tick_format_strip(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(from_s: f64, to_s: f64, colour: usize) -> Bar {
        Bar { from_s, to_s, label: format!("p{colour}"), short_label: String::new(), colour }
    }

    #[test]
    fn overlapping_bars_get_lanes_and_a_partition_keeps_its_lane() {
        let (placed, lanes) = place(vec![bar(0.0, 10.0, 1), bar(0.0, 10.0, 0), bar(11.0, 20.0, 1), bar(12.0, 20.0, 0)]);
        assert_eq!(lanes, 2);
        let lanes: Vec<(usize, usize)> = placed.iter().map(|p| (p.bar.colour, p.lane)).collect();
        assert_eq!(lanes, vec![(0, 0), (1, 1), (1, 1), (0, 0)]);
        // a bar that starts when another ends shares its lane
        let (_, lanes) = place(vec![bar(0.0, 5.0, 0), bar(5.0, 9.0, 3)]);
        assert_eq!(lanes, 1);
        // after a rebalance, 4 and 5 stay in their lanes and the newcomer 3 takes a free one
        let (placed, _) = place(vec![
            bar(0.0, 10.0, 4),
            bar(0.0, 10.0, 5),
            bar(0.0, 10.0, 6),
            bar(11.0, 20.0, 3),
            bar(11.0, 20.0, 4),
            bar(11.0, 20.0, 5),
        ]);
        let lanes: Vec<(usize, usize)> = placed.iter().skip(3).map(|p| (p.bar.colour, p.lane)).collect();
        assert_eq!(lanes, vec![(3, 2), (4, 0), (5, 1)]);
    }

    #[test]
    fn timelines_render_deterministically_even_when_degenerate() {
        let t = Timeline {
            title: "t".into(),
            x_label: "time (s)".into(),
            y_label: "member".into(),
            x_end: 10.0,
            rows: vec![
                super::super::TimelineRow { label: "a-0".into(), bars: vec![bar(0.0, 4.0, 0), bar(f64::NAN, 1.0, 2)] },
                super::super::TimelineRow { label: "a-1".into(), bars: vec![bar(4.0, 10.0, 0)] },
            ],
            bar_legend: "owned".into(),
            strip: Some(super::super::TimelineStrip {
                label: "unowned partitions".into(),
                axis_label: "unowned".into(),
                points: vec![(0.0, 1.0), (4.0, 0.0)],
                y_max: 1.0,
                notes: vec![(0.0, 1.0, "1 unowned".into())],
            }),
            markers: vec![Marker { at_s: 4.0, label: "gen 2".into(), kind: MarkerKind::Rebalance }],
            bands: vec![Band { from_s: 3.5, to_s: 4.0, label: "a-1 joined".into(), kind: MarkerKind::Rebalance }],
            ..Timeline::default()
        };
        let a = render_timeline_png(&t).expect("renders");
        assert_eq!(a, render_timeline_png(&t).expect("renders"));
        assert!(render_timeline_svg(&t).expect("renders").contains("a-1"));
        assert!(timeline_as_text(&t).contains("# row a-0\n0.000 4.000 lane 0 p0\n# row a-1"));
        render_timeline_png(&Timeline::default()).expect("an empty timeline renders");
    }
}
