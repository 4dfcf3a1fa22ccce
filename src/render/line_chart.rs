//! Draws a [`LineChart`] into an RGB buffer with plotters.
//!
//! Layout, top to bottom: bold title, optional grey subtitle, a strip with the marker and band
//! labels (only when there are any), then the plot with a light grid, translucent bands behind
//! the series, dashed vertical markers, the series, and a legend box in the emptiest corner.
//!
//! Everything is computed from the input alone: data cleaning (non-finite values dropped,
//! long series downsampled to min/max per bucket), axis ranges and "nice" ticks (1, 2 or 5 × 10ⁿ),
//! tick text (k/M/G/T suffixes for big values, never scientific notation), label rows and legend
//! placement. Drawing cost depends on the number of points, never on their values.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::{FONT_FAMILY, register_fonts};
use super::{Band, CHART_SIZE, LineChart, Marker, MarkerKind, RenderError, SeriesStyle};

/// Series with more points than this are downsampled before drawing.
pub const MAX_POINTS_PER_SERIES: usize = 4000;
/// Number of x buckets used when downsampling; each keeps at most 4 points (first, min, max, last).
pub const DOWNSAMPLE_BUCKETS: usize = 1000;
/// Values with a larger magnitude are treated like NaN (skipped): nothing sensible is that big.
const MAX_ABS_VALUE: f64 = 1e30;

// Okabe–Ito palette (colour-blind safe), ordered so the first series get the strongest colours.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x99, 0x99, 0x99), // grey
];

pub(super) fn kind_colour(kind: MarkerKind) -> RGBColor {
    match kind {
        MarkerKind::Fault => RGBColor(0xD5, 0x5E, 0x00),     // vermillion
        MarkerKind::Rebalance => RGBColor(0x88, 0x3E, 0x8F), // dark purple
        MarkerKind::Leader => RGBColor(0x8A, 0x74, 0x00),    // dark yellow
        MarkerKind::Cleaning => RGBColor(0x00, 0x79, 0x6B),  // teal
        MarkerKind::Info => RGBColor(0x66, 0x66, 0x66),      // grey
    }
}

pub(super) const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(super) const SUBTLE_TEXT: RGBColor = RGBColor(0x55, 0x55, 0x55);
pub(super) const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
pub(super) const AXIS: RGBColor = RGBColor(0x88, 0x88, 0x88);

pub(super) const TITLE_SIZE: u32 = 22;
pub(super) const SUBTITLE_SIZE: u32 = 14;
pub(super) const TICK_SIZE: u32 = 13;
pub(super) const AXIS_TITLE_SIZE: u32 = 15;
pub(super) const LEGEND_SIZE: u32 = 13;
const STRIP_SIZE: u32 = 12;

pub(super) const MARGIN_LEFT: u32 = 14;
pub(super) const MARGIN_RIGHT: u32 = 28;
pub(super) const MARGIN_BOTTOM: u32 = 8;
pub(super) const X_LABEL_AREA: u32 = 50;
const STRIP_ROW: i32 = 16;
const MAX_STRIP_ROWS: usize = 3;
const STRIP_GAP: i32 = 10;

/// One series after cleaning, ready to draw.
pub(crate) struct PreparedSeries {
    pub label: String,
    pub style: SeriesStyle,
    pub points: Vec<(f64, f64)>,
    /// One per point, or empty (no labels, or dropped by downsampling).
    pub point_labels: Vec<String>,
    pub colour: Option<usize>,
    pub in_legend: bool,
    pub max_gap: Option<f64>,
}

/// The chart's data after cleaning: finite values only, long series downsampled, markers and
/// bands sorted by time.
pub(crate) struct Prepared {
    pub series: Vec<PreparedSeries>,
    pub markers: Vec<Marker>,
    pub bands: Vec<Band>,
}

fn usable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_ABS_VALUE
}

impl Prepared {
    pub fn new(chart: &LineChart) -> Self {
        let series = chart
            .series
            .iter()
            .map(|s| {
                let mut labels = Vec::new();
                let mut clean: Vec<(f64, f64)> = Vec::with_capacity(s.points.len());
                for (i, &(x, y)) in s.points.iter().enumerate() {
                    if usable(x) && usable(y) {
                        clean.push((x, y));
                        labels.push(s.point_labels.get(i).cloned().unwrap_or_default());
                    }
                }
                if labels.iter().all(|l| l.is_empty()) {
                    labels.clear();
                }
                let (points, point_labels) = if clean.len() > MAX_POINTS_PER_SERIES {
                    // labels belong to measured points; a series this long has none worth reading
                    (downsample(&clean, DOWNSAMPLE_BUCKETS), Vec::new())
                } else {
                    (clean, labels)
                };
                PreparedSeries {
                    label: s.label.clone(),
                    style: s.style,
                    points,
                    point_labels,
                    colour: s.colour,
                    in_legend: s.in_legend,
                    max_gap: s.max_gap,
                }
            })
            .collect();
        let mut markers: Vec<Marker> = chart.markers.iter().filter(|m| usable(m.at_s)).cloned().collect();
        markers.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let mut bands: Vec<Band> = chart
            .bands
            .iter()
            .filter(|b| usable(b.from_s) && usable(b.to_s))
            .map(|b| Band { from_s: b.from_s.min(b.to_s), to_s: b.from_s.max(b.to_s), ..b.clone() })
            .collect();
        bands.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
        Prepared { series, markers, bands }
    }

    fn has_points(&self) -> bool {
        self.series.iter().any(|s| !s.points.is_empty())
    }

    /// Whether the chart shows measured points (dots joined by lines, or labelled points) rather
    /// than time series: such charts get room around the outermost points for dots and labels.
    fn is_point_chart(&self) -> bool {
        self.series.iter().any(|s| (s.style.has_dots() && s.style != SeriesStyle::Points) || !s.point_labels.is_empty())
    }
}

/// Reduces `points` to at most 4 per x bucket: the first, the minimum, the maximum and the last
/// point of each run of consecutive points that fall in the same bucket, in their original order.
/// Extremes are always kept, so spikes stay visible. Deterministic; `points` should be finite.
pub fn downsample(points: &[(f64, f64)], buckets: usize) -> Vec<(f64, f64)> {
    let buckets = buckets.max(1);
    if points.len() <= buckets.saturating_mul(4) {
        return points.to_vec();
    }
    let x_min = points.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_max = points.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let width = x_max - x_min;
    let bucket_of = |x: f64| -> usize {
        if width.is_nan() || width <= 0.0 {
            return 0;
        }
        let b = ((x - x_min) / width * buckets as f64).floor();
        if b.is_nan() || b < 0.0 { 0 } else { (b as usize).min(buckets - 1) }
    };
    let mut out = Vec::with_capacity(buckets * 4);
    let flush = |out: &mut Vec<(f64, f64)>, idx: [usize; 4]| {
        let mut idx = idx;
        idx.sort_unstable();
        let mut last = usize::MAX;
        for i in idx {
            if i != last {
                out.push(points[i]);
                last = i;
            }
        }
    };
    let mut current = bucket_of(points[0].0);
    // first, min, max, last indices of the current run
    let mut run = [0usize; 4];
    for (i, &(x, y)) in points.iter().enumerate().skip(1) {
        let b = bucket_of(x);
        if b != current {
            flush(&mut out, run);
            current = b;
            run = [i; 4];
            continue;
        }
        if y < points[run[1]].1 {
            run[1] = i;
        }
        if y > points[run[2]].1 {
            run[2] = i;
        }
        run[3] = i;
    }
    flush(&mut out, run);
    out
}

/// A "nice" tick step (1, 2 or 5 × 10ⁿ) near `raw`, with its exponent n.
pub(super) fn nice_step(raw: f64) -> (f64, i32) {
    let raw = if raw > 0.0 && raw.is_finite() { raw } else { 1.0 };
    let exp = raw.log10().floor() as i32;
    let mag = 10f64.powi(exp);
    let norm = raw / mag;
    let (m, exp) = if norm <= 1.5 {
        (1.0, exp)
    } else if norm <= 3.0 {
        (2.0, exp)
    } else if norm <= 7.0 {
        (5.0, exp)
    } else {
        (1.0, exp + 1)
    };
    (m * 10f64.powi(exp), exp)
}

/// One axis: its range, tick positions and how to print them. It is its own plotters coordinate
/// (linear, like `RangedCoordf64`), so the grid lines sit exactly on our ticks and the tick text
/// comes from [`TickFormat`].
#[derive(Clone)]
struct Axis {
    range: Range<f64>,
    ticks: Vec<f64>,
    format: TickFormat,
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let f = if span > 0.0 { (value - self.range.start) / span } else { 0.5 };
        let f = if f.is_finite() { f.clamp(-4.0, 5.0) } else { 0.0 };
        limit.0 + ((limit.1 - limit.0) as f64 * f).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for Axis {
    fn format(value: &f64) -> String {
        TickFormat::plain(0).format(*value)
    }

    fn format_ext(&self, value: &f64) -> String {
        self.format.format(*value)
    }
}

pub(super) fn ticks_in(range: &Range<f64>, step: f64) -> Vec<f64> {
    let first = (range.start / step - 1e-9).ceil();
    let last = (range.end / step + 1e-9).floor();
    let mut ticks = Vec::new();
    let mut k = first;
    while k <= last && ticks.len() < 100 {
        let v = k * step;
        ticks.push(if v == 0.0 { 0.0 } else { v });
        k += 1.0;
    }
    ticks
}

/// X axis: from 0 (or the smallest x, if negative) to the largest x, including markers and bands.
fn x_axis(data: &Prepared) -> Axis {
    let xs = data
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(data.markers.iter().map(|m| m.at_s))
        .chain(data.bands.iter().flat_map(|b| [b.from_s, b.to_s]));
    let (mut lo, mut hi) = (0.0f64, f64::NEG_INFINITY);
    for x in xs {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let min_span = (lo.abs().max(hi.abs()) * 1e-6).max(1e-6);
    if hi - lo < min_span {
        hi = lo + min_span;
    }
    if data.is_point_chart() {
        // room right of the last point for its dot and label, on a whole tick step
        let (step, _) = nice_step((hi - lo) / 10.0);
        hi = ((hi + (hi - lo) * 0.08) / step).ceil() * step;
    }
    let (step, exp) = nice_step((hi - lo) / 10.0);
    let range = lo..hi;
    Axis { ticks: ticks_in(&range, step), range, format: TickFormat::plain(exp) }
}

/// Y axis: the data's range with a little headroom, widened to whole tick steps.
fn y_axis(data: &Prepared, min_zero: bool) -> Axis {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in &data.series {
        for &(_, y) in &s.points {
            lo = lo.min(y);
            hi = hi.max(y);
        }
    }
    if lo > hi {
        // no data: a plain 0..1 frame
        let range = 0.0..1.0;
        return Axis { ticks: ticks_in(&range, 0.2), format: TickFormat::plain(-1), range };
    }
    let data_non_negative = lo >= 0.0;
    if min_zero {
        lo = lo.min(0.0);
    }
    let magnitude = lo.abs().max(hi.abs());
    // Below this span the values count as equal (f64 still resolves ~1e-15 relative).
    let min_span = (magnitude * 1e-9).max(1e-9);
    if hi - lo < min_span {
        let pad = if magnitude == 0.0 { 1.0 } else { (magnitude * 0.1).max(min_span) };
        if min_zero && lo == 0.0 {
            hi = lo + 2.0 * pad;
        } else {
            lo -= pad;
            hi += pad;
        }
    } else {
        let pad = (hi - lo) * 0.05;
        hi += pad;
        if !(min_zero && lo == 0.0) {
            lo -= pad;
        }
    }
    if data_non_negative && lo < 0.0 {
        lo = 0.0;
    }
    let (step, exp) = nice_step((hi - lo) / 6.0);
    lo = (lo / step).floor() * step;
    hi = (hi / step).ceil() * step;
    if hi <= lo {
        hi = lo + step;
    }
    let range = lo..hi;
    Axis { ticks: ticks_in(&range, step), format: TickFormat::with_suffix(exp, lo.abs().max(hi.abs())), range }
}

/// How tick values are printed: divided by a power of 1000 with a suffix, and a fixed number of
/// decimals chosen from the tick step so neighbouring ticks never print the same.
#[derive(Clone, Copy)]
pub(super) struct TickFormat {
    divisor: f64,
    suffix: &'static str,
    decimals: usize,
}

impl TickFormat {
    pub(super) fn plain(step_exp: i32) -> Self {
        TickFormat { divisor: 1.0, suffix: "", decimals: (-step_exp).clamp(0, 12) as usize }
    }

    fn with_suffix(step_exp: i32, magnitude: f64) -> Self {
        const UNITS: [(i32, &str); 6] = [(18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k")];
        for (unit_exp, suffix) in UNITS {
            let unit = 10f64.powi(unit_exp);
            // plain numbers up to 9999 read better than "5k"
            let threshold = if unit_exp == 3 { 1e4 } else { unit };
            let decimals = unit_exp - step_exp;
            // at most 2 decimals and 4 integer digits ("1099.52G"), else plain digits below
            if magnitude >= threshold && decimals <= 2 && magnitude / unit < 1e4 {
                return TickFormat { divisor: unit, suffix, decimals: decimals.max(0) as usize };
            }
        }
        TickFormat::plain(step_exp)
    }

    pub(super) fn format(&self, v: f64) -> String {
        if v == 0.0 {
            return "0".to_string();
        }
        let s = format!("{:.*}", self.decimals, v / self.divisor);
        if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
            return "0".to_string();
        }
        format!("{}{}", group_thousands(&s), self.suffix)
    }
}

/// Groups integer digits by three with a thin space (U+2009, the SI style: a comma looks like a
/// decimal point at tick-label size) once the integer part has five or more digits:
/// "1099511627776" → "1 099 511 627 776", "5000" stays "5000".
fn group_thousands(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if int.len() < 5 {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out.push_str(frac);
    out
}

/// Width of `text` in pixels, as plotters lays it out.
pub(super) fn text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
) -> Result<i32, RenderError> {
    area.estimate_text_size(text, style).map(|(w, _)| w as i32).map_err(err("measuring text"))
}

pub(super) fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FONT_FAMILY, size).into_font()).color(&TEXT)
}

/// Draws a chart's title and (if any) subtitle at the top left; returns the y below them.
pub(super) fn draw_header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: Option<&str>,
) -> Result<i32, RenderError> {
    let title_style = TextStyle::from((FONT_FAMILY, TITLE_SIZE, FontStyle::Bold).into_font())
        .color(&TEXT)
        .pos(Pos::new(HPos::Left, VPos::Top));
    root.draw(&Text::new(title.to_string(), (MARGIN_LEFT as i32 + 4, 12), title_style))
        .map_err(err("drawing the title"))?;
    let mut header = 12 + TITLE_SIZE as i32 + 8;
    if let Some(sub) = subtitle.filter(|s| !s.is_empty()) {
        let style = font(SUBTITLE_SIZE).color(&SUBTLE_TEXT).pos(Pos::new(HPos::Left, VPos::Top));
        root.draw(&Text::new(sub.to_string(), (MARGIN_LEFT as i32 + 4, header), style))
            .map_err(err("drawing the subtitle"))?;
        header += SUBTITLE_SIZE as i32 + 8;
    }
    Ok(header)
}

pub(super) fn err<E: std::fmt::Debug>(what: &'static str) -> impl FnOnce(E) -> RenderError {
    move |e| RenderError::new(format!("{what}: {e:?}"))
}

/// Renders `chart` into a `CHART_SIZE` RGB buffer.
pub(crate) fn render_rgb(chart: &LineChart) -> Result<Vec<u8>, RenderError> {
    register_fonts()?;
    let (w, h) = CHART_SIZE;
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw_chart(&root, chart)?;
        root.present().map_err(err("presenting the bitmap"))?;
    }
    Ok(buf)
}

/// A label in the strip above the plot, tied to an x position.
pub(super) struct StripLabel {
    text: String,
    colour: RGBColor,
    /// Pixel x where the label starts (after clamping into the plot).
    left: i32,
    width: i32,
    row: usize,
    /// Marker x in pixels: a marker's line is drawn from its label down to the plot's bottom.
    line_x: Option<i32>,
}

/// An entry of the legend box.
enum LegendSample {
    Series(RGBColor, SeriesStyle),
    Marker(RGBColor),
    Band(RGBColor),
}

pub(crate) fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> Result<(), RenderError> {
    root.fill(&WHITE).map_err(err("filling the background"))?;
    let data = Prepared::new(chart);
    let x = x_axis(&data);
    let y = y_axis(&data, chart.y_min_zero);

    // Header: title and subtitle.
    let header = draw_header(root, &chart.title, chart.subtitle.as_deref())?;

    // Y label area wide enough for the widest tick label plus the rotated axis title.
    let tick_style = font(TICK_SIZE);
    let mut widest = 0;
    for t in &y.ticks {
        widest = widest.max(text_width(root, &y.format.format(*t), &tick_style)?);
    }
    let y_label_area = (widest + 14 + AXIS_TITLE_SIZE as i32 + 14) as u32;

    // Plot x pixel range, known before building: margins and the y label area fix it.
    let plot_left = (MARGIN_LEFT + y_label_area) as i32;
    let plot_right = CHART_SIZE.0 as i32 - MARGIN_RIGHT as i32;
    let to_px = |v: f64| -> i32 {
        let f = (v - x.range.start) / (x.range.end - x.range.start);
        plot_left + (f * (plot_right - plot_left) as f64).round() as i32
    };

    let (strip, strip_height) = layout_strip(root, &data.markers, &data.bands, to_px, plot_left, plot_right)?;
    let plot_top = header + strip_height + 10;

    let mut cc = ChartBuilder::on(root)
        .margin_top(plot_top as u32)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .margin_bottom(MARGIN_BOTTOM)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x.clone(), y.clone())
        .map_err(err("building the chart"))?;

    cc.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .label_style(tick_style.clone())
        .axis_desc_style(font(AXIS_TITLE_SIZE))
        .draw()
        .map_err(err("drawing the grid"))?;

    let (y_lo, y_hi) = (y.range.start, y.range.end);
    let (x_lo, x_hi) = (x.range.start, x.range.end);

    // Bands, behind everything else.
    for b in &data.bands {
        let (from, to) = (b.from_s.max(x_lo), b.to_s.min(x_hi));
        cc.draw_series(std::iter::once(Rectangle::new(
            [(from, y_lo), (to, y_hi)],
            kind_colour(b.kind).mix(0.14).filled(),
        )))
        .map_err(err("drawing a band"))?;
    }

    // Marker lines: dashed, from the label in the strip down to the x axis.
    let plot_bottom = cc.backend_coord(&(x_lo, y_lo)).1;
    let strip_top = header + 2;
    draw_marker_lines(root, &strip, strip_top, plot_top, plot_bottom)?;

    // Series.
    let plot_area = cc.plotting_area().strip_coord_spec();
    let mut legend: Vec<(String, LegendSample)> = Vec::new();
    let mut obstacles: Vec<Obstacle> = Vec::new();
    // dots (plot pixels) and the labels to place beside them
    let mut dots: Vec<(i32, i32)> = Vec::new();
    let mut point_labels: Vec<((i32, i32), &str, RGBColor)> = Vec::new();
    for (i, s) in data.series.iter().enumerate() {
        let colour = PALETTE[s.colour.unwrap_or(i) % PALETTE.len()];
        if s.in_legend {
            legend.push((s.label.clone(), LegendSample::Series(colour, s.style)));
        }
        if s.points.is_empty() {
            continue;
        }
        let path: Vec<(f64, f64)> = match s.style {
            SeriesStyle::Step => staircase(&s.points),
            _ => s.points.clone(),
        };
        let style = colour.stroke_width(2);
        match s.style {
            SeriesStyle::Line | SeriesStyle::Step | SeriesStyle::Dashed if s.max_gap.is_some() => {
                // Broken where there is no data: each run drawn alone, a lone point as a dot.
                for run in runs(&path, s.max_gap.unwrap_or(f64::INFINITY)) {
                    match (run.len(), s.style) {
                        (1, _) => cc.draw_series(std::iter::once(Circle::new(run[0], 2, colour.filled()))),
                        (_, SeriesStyle::Dashed) => {
                            cc.draw_series(DashedLineSeries::new(run.iter().copied(), 9, 6, style))
                        }
                        _ => cc.draw_series(LineSeries::new(run.iter().copied(), style)),
                    }
                    .map_err(err("drawing a line"))?;
                }
            }
            SeriesStyle::Line | SeriesStyle::Step => {
                cc.draw_series(LineSeries::new(path.iter().copied(), style)).map_err(err("drawing a line"))?;
            }
            SeriesStyle::Dashed => {
                cc.draw_series(DashedLineSeries::new(path.iter().copied(), 9, 6, style))
                    .map_err(err("drawing a dashed line"))?;
            }
            SeriesStyle::Points => {
                cc.draw_series(path.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                    .map_err(err("drawing points"))?;
            }
            SeriesStyle::LinePoints | SeriesStyle::DashedPoints | SeriesStyle::DottedPoints => {
                match s.style {
                    SeriesStyle::LinePoints => cc.draw_series(LineSeries::new(path.iter().copied(), style)),
                    SeriesStyle::DashedPoints => {
                        cc.draw_series(DashedLineSeries::new(path.iter().copied(), 9, 6, style))
                    }
                    _ => cc.draw_series(DashedLineSeries::new(path.iter().copied(), 2, 5, style)),
                }
                .map_err(err("drawing a line"))?;
                cc.draw_series(path.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                    .map_err(err("drawing points"))?;
            }
        }
        let (ox, oy) = plot_origin(&cc);
        let px: Vec<(i32, i32)> = path
            .iter()
            .map(|p| {
                let (a, b) = cc.backend_coord(p);
                (a - ox, b - oy)
            })
            .collect();
        if s.style.has_dots() {
            dots.extend(px.iter().copied());
            for (j, label) in s.point_labels.iter().enumerate() {
                if !label.is_empty() {
                    point_labels.push((px[j], label.as_str(), darker(colour)));
                }
            }
        }
        if s.style == SeriesStyle::Points {
            obstacles.extend(px.into_iter().map(|p| Obstacle { path: vec![p], weight: 1.0 }));
        } else {
            obstacles.push(Obstacle { path: px, weight: 1.0 });
        }
    }
    // Marker lines are things the legend should not hide either.
    {
        let (ox, oy) = plot_origin(&cc);
        for m in &data.markers {
            let (top, bottom) = (cc.backend_coord(&(m.at_s, y_hi)), cc.backend_coord(&(m.at_s, y_lo)));
            obstacles
                .push(Obstacle { path: vec![(top.0 - ox, top.1 - oy), (bottom.0 - ox, bottom.1 - oy)], weight: 0.3 });
        }
    }
    let mut kinds: Vec<MarkerKind> = data.markers.iter().map(|m| m.kind).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        legend.push((k.legend_name().to_string(), LegendSample::Marker(kind_colour(k))));
    }
    let mut band_entries: Vec<(MarkerKind, &str)> = data.bands.iter().map(|b| (b.kind, b.label.as_str())).collect();
    band_entries.sort();
    band_entries.dedup();
    for (k, label) in band_entries {
        let text = if label.is_empty() { k.legend_name() } else { label };
        legend.push((text.to_string(), LegendSample::Band(kind_colour(k))));
    }

    if !data.has_points() {
        let (w, h) = plot_area.dim_in_pixel();
        plot_area
            .draw(&Text::new(
                "no data",
                (w as i32 / 2, h as i32 / 2),
                font(20).color(&SUBTLE_TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(err("drawing the no-data text"))?;
    }

    let legend_rect = draw_legend(&plot_area, &legend, &obstacles, data.is_point_chart())?;
    draw_point_labels(&plot_area, &point_labels, &dots, legend_rect)?;

    // Strip labels last, so nothing covers them.
    draw_strip_labels(root, &strip, strip_top)
}

/// Lays out the labels of `bands` (at their start) and `markers` in up to [`MAX_STRIP_ROWS`] rows
/// above a plot spanning `plot_left..plot_right` pixels, in time order; `to_px` maps seconds to
/// pixels. Returns the labels and the strip's height in pixels (0 without labels).
pub(super) fn layout_strip<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    markers: &[Marker],
    bands: &[Band],
    to_px: impl Fn(f64) -> i32,
    plot_left: i32,
    plot_right: i32,
) -> Result<(Vec<StripLabel>, i32), RenderError> {
    let strip_style = font(STRIP_SIZE);
    let mut strip: Vec<StripLabel> = Vec::new();
    let mut items: Vec<(f64, bool, &str, MarkerKind)> = Vec::new();
    for b in bands {
        items.push((b.from_s, false, &b.label, b.kind));
    }
    for m in markers {
        items.push((m.at_s, true, &m.label, m.kind));
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut row_ends: Vec<i32> = Vec::new();
    for (at, is_marker, text, kind) in items {
        let px = to_px(at);
        // the estimate runs a little short of the drawn text: add some slack
        let width = if text.is_empty() {
            0
        } else {
            let w = text_width(root, text, &strip_style)?;
            w + w / 16 + 2
        };
        let left = (px + 3).min(plot_right - width).max(plot_left);
        let row = if width == 0 {
            Some(0)
        } else {
            match row_ends.iter().position(|&end| end + STRIP_GAP <= left) {
                Some(r) => Some(r),
                None if row_ends.len() < MAX_STRIP_ROWS => {
                    row_ends.push(i32::MIN);
                    Some(row_ends.len() - 1)
                }
                // Every row is taken here: leave the text out rather than overprint another
                // label (the line stays, and `series_as_text` still lists it).
                None => None,
            }
        };
        let (row, width) = match row {
            Some(r) => {
                if width > 0 {
                    row_ends[r] = left + width;
                }
                (r, width)
            }
            None => (0, 0),
        };
        strip.push(StripLabel {
            text: text.to_string(),
            colour: kind_colour(kind),
            left,
            width,
            row,
            line_x: is_marker.then_some(px),
        });
    }
    let strip_height = row_ends.len() as i32 * STRIP_ROW + if row_ends.is_empty() { 0 } else { 6 };
    Ok((strip, strip_height))
}

/// Draws each marker's dashed line, from its label in the strip (or `plot_top` when its label
/// was left out) down to `plot_bottom`.
pub(super) fn draw_marker_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    strip: &[StripLabel],
    strip_top: i32,
    plot_top: i32,
    plot_bottom: i32,
) -> Result<(), RenderError> {
    for label in strip {
        if let Some(px) = label.line_x {
            let top =
                if label.width == 0 { plot_top } else { strip_top + label.row as i32 * STRIP_ROW + STRIP_ROW - 2 };
            dashed_vline(root, px, top, plot_bottom, label.colour)?;
        }
    }
    Ok(())
}

/// Draws the strip's labels on an opaque backing (call it last, so nothing covers them).
pub(super) fn draw_strip_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    strip: &[StripLabel],
    strip_top: i32,
) -> Result<(), RenderError> {
    for label in strip {
        if label.width == 0 {
            continue;
        }
        let y_px = strip_top + label.row as i32 * STRIP_ROW;
        // an opaque backing, so lines of markers in upper rows pass behind the text
        root.draw(&Rectangle::new(
            [(label.left - 2, y_px - 1), (label.left + label.width, y_px + STRIP_ROW - 3)],
            WHITE.filled(),
        ))
        .map_err(err("drawing a marker label"))?;
        root.draw(&Text::new(
            label.text.clone(),
            (label.left, y_px),
            font(STRIP_SIZE).color(&label.colour).pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(err("drawing a marker label"))?;
    }
    Ok(())
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// Top-left pixel of the plotting area, in root coordinates.
fn plot_origin<DB: DrawingBackend>(cc: &Chart<'_, DB>) -> (i32, i32) {
    let (xr, yr) = cc.plotting_area().get_pixel_range();
    (xr.start, yr.start)
}

/// `path` split where consecutive points are more than `max_gap` apart in x.
fn runs(path: &[(f64, f64)], max_gap: f64) -> impl Iterator<Item = &[(f64, f64)]> {
    path.chunk_by(move |a, b| b.0 - a.0 <= max_gap)
}

fn staircase(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(p);
    }
    out
}

pub(super) fn dashed_vline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    x: i32,
    top: i32,
    bottom: i32,
    colour: RGBColor,
) -> Result<(), RenderError> {
    let mut y = top;
    while y < bottom {
        let end = (y + 6).min(bottom);
        root.draw(&PathElement::new(vec![(x, y), (x, end)], colour.stroke_width(2)))
            .map_err(err("drawing a marker line"))?;
        y += 10;
    }
    Ok(())
}

const LEGEND_ROW: i32 = 19;
const LEGEND_PAD: i32 = 8;
const LEGEND_SAMPLE: i32 = 26;
const LEGEND_INSET: i32 = 10;

/// Draws the legend box in the plot corner crossed by the fewest series segments
/// (ties: upper left, upper right, lower left, lower right; then the top and bottom centres and
/// the middles of the left and right edges).
/// With `sliding`, spots along the top and bottom edges are tried after those (for point charts,
/// whose curves may stand in every corner). Returns the box it drew, `(x0, y0, x1, y1)` in plot
/// pixels, if any.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(String, LegendSample)],
    obstacles: &[Obstacle],
    sliding: bool,
) -> Result<Option<Rect>, RenderError> {
    if entries.is_empty() {
        return Ok(None);
    }
    let style = font(LEGEND_SIZE);
    let mut text_w = 0;
    for (label, _) in entries {
        text_w = text_w.max(text_width(area, label, &style)?);
    }
    let w = LEGEND_PAD + LEGEND_SAMPLE + 8 + text_w + LEGEND_PAD;
    let h = LEGEND_PAD * 2 + LEGEND_ROW * entries.len() as i32 - 4;
    let (aw, ah) = area.dim_in_pixel();
    let (aw, ah) = (aw as i32, ah as i32);
    // Candidate spots, in order of preference: the four corners, top and bottom centre, then
    // halfway up the left and right edges (between two curves, one high and one low).
    let centre = (aw - w) / 2;
    let middle = (ah - h) / 2;
    let mut spots = vec![
        (LEGEND_INSET, LEGEND_INSET),
        (aw - LEGEND_INSET - w, LEGEND_INSET),
        (LEGEND_INSET, ah - LEGEND_INSET - h),
        (aw - LEGEND_INSET - w, ah - LEGEND_INSET - h),
        (centre, LEGEND_INSET),
        (centre, ah - LEGEND_INSET - h),
        (LEGEND_INSET, middle),
        (aw - LEGEND_INSET - w, middle),
    ];
    if sliding {
        const STEPS: i32 = 16;
        let span = (aw - 2 * LEGEND_INSET - w).max(0);
        for y in [LEGEND_INSET, ah - LEGEND_INSET - h] {
            spots.extend((1..STEPS).map(|k| (LEGEND_INSET + span * k / STEPS, y)));
        }
    }
    let mut best = (f64::INFINITY, 0);
    for (i, &(x0, y0)) in spots.iter().enumerate() {
        let rect = (x0 - 4, y0 - 4, x0 + w + 4, y0 + h + 4);
        let covered: f64 = obstacles.iter().map(|o| o.weight * covered_length(&o.path, rect)).sum();
        if covered < best.0 {
            best = (covered, i);
        }
    }
    let (x0, y0) = spots[best.1];
    area.draw(&Rectangle::new([(x0, y0), (x0 + w, y0 + h)], WHITE.mix(0.88).filled()))
        .map_err(err("drawing the legend"))?;
    area.draw(&Rectangle::new([(x0, y0), (x0 + w, y0 + h)], RGBColor(0xBB, 0xBB, 0xBB).stroke_width(1)))
        .map_err(err("drawing the legend"))?;
    for (i, (label, sample)) in entries.iter().enumerate() {
        let cy = y0 + LEGEND_PAD + i as i32 * LEGEND_ROW + (LEGEND_ROW - 4) / 2;
        let sx = x0 + LEGEND_PAD;
        let result = match *sample {
            LegendSample::Series(c, SeriesStyle::Line) | LegendSample::Series(c, SeriesStyle::Step) => {
                area.draw(&PathElement::new(vec![(sx, cy), (sx + LEGEND_SAMPLE, cy)], c.stroke_width(2)))
            }
            LegendSample::Series(c, SeriesStyle::Dashed) => {
                area.draw(&PathElement::new(vec![(sx, cy), (sx + 9, cy)], c.stroke_width(2))).and_then(|_| {
                    area.draw(&PathElement::new(vec![(sx + 15, cy), (sx + LEGEND_SAMPLE, cy)], c.stroke_width(2)))
                })
            }
            LegendSample::Series(c, SeriesStyle::Points) => {
                area.draw(&Circle::new((sx + LEGEND_SAMPLE / 2, cy), 3, c.filled()))
            }
            LegendSample::Series(c, SeriesStyle::LinePoints) => area
                .draw(&PathElement::new(vec![(sx, cy), (sx + LEGEND_SAMPLE, cy)], c.stroke_width(2)))
                .and_then(|_| area.draw(&Circle::new((sx + LEGEND_SAMPLE / 2, cy), 4, c.filled()))),
            LegendSample::Series(c, SeriesStyle::DashedPoints) => area
                .draw(&PathElement::new(vec![(sx, cy), (sx + 7, cy)], c.stroke_width(2)))
                .and_then(|_| {
                    area.draw(&PathElement::new(
                        vec![(sx + LEGEND_SAMPLE - 7, cy), (sx + LEGEND_SAMPLE, cy)],
                        c.stroke_width(2),
                    ))
                })
                .and_then(|_| area.draw(&Circle::new((sx + LEGEND_SAMPLE / 2, cy), 4, c.filled()))),
            LegendSample::Series(c, SeriesStyle::DottedPoints) => [0, 4, 20, 24]
                .into_iter()
                .try_for_each(|dx| {
                    area.draw(&PathElement::new(vec![(sx + dx, cy), (sx + dx + 2, cy)], c.stroke_width(2)))
                })
                .and_then(|_| area.draw(&Circle::new((sx + LEGEND_SAMPLE / 2, cy), 4, c.filled()))),
            LegendSample::Marker(c) => area
                .draw(&PathElement::new(
                    vec![(sx + LEGEND_SAMPLE / 2, cy - 7), (sx + LEGEND_SAMPLE / 2, cy - 2)],
                    c.stroke_width(2),
                ))
                .and_then(|_| {
                    area.draw(&PathElement::new(
                        vec![(sx + LEGEND_SAMPLE / 2, cy + 2), (sx + LEGEND_SAMPLE / 2, cy + 7)],
                        c.stroke_width(2),
                    ))
                }),
            LegendSample::Band(c) => {
                area.draw(&Rectangle::new([(sx + 4, cy - 7), (sx + LEGEND_SAMPLE - 4, cy + 7)], c.mix(0.25).filled()))
            }
        };
        result.map_err(err("drawing a legend sample"))?;
        area.draw(&Text::new(
            label.clone(),
            (sx + LEGEND_SAMPLE + 8, cy),
            style.clone().pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(err("drawing a legend label"))?;
    }
    Ok(Some((x0 - 2, y0 - 2, x0 + w + 2, y0 + h + 2)))
}

/// `(x0, y0, x1, y1)` in pixels.
type Rect = (i32, i32, i32, i32);

const POINT_LABEL_SIZE: u32 = 12;

/// `c` darkened for text on white (the palette's lighter colours are thin as small text).
pub(super) fn darker(c: RGBColor) -> RGBColor {
    let d = |v: u8| (v as u32 * 7 / 10) as u8;
    RGBColor(d(c.0), d(c.1), d(c.2))
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Draws each point's label at the first of eight spots around it (above, right, left, below,
/// then the diagonals) that stays inside the plot and overlaps no dot, no label placed before
/// it and not the legend. A label with no free spot is left out rather than overprinted.
fn draw_point_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[((i32, i32), &str, RGBColor)],
    dots: &[(i32, i32)],
    legend: Option<Rect>,
) -> Result<(), RenderError> {
    if labels.is_empty() {
        return Ok(());
    }
    let style = font(POINT_LABEL_SIZE);
    let (aw, ah) = area.dim_in_pixel();
    let (aw, ah) = (aw as i32, ah as i32);
    let mut taken: Vec<Rect> = legend.into_iter().collect();
    let dot_rects: Vec<Rect> = dots.iter().map(|&(x, y)| (x - 5, y - 5, x + 5, y + 5)).collect();
    for &((px, py), text, colour) in labels {
        let w = text_width(area, text, &style)?;
        let w = w + w / 16 + 2;
        let h = POINT_LABEL_SIZE as i32 + 2;
        let g = 7;
        let spots = [
            (px - w / 2, py - g - h),
            (px + g, py - h / 2),
            (px - g - w, py - h / 2),
            (px - w / 2, py + g),
            (px + g - 2, py - g - h + 2),
            (px - g - w + 2, py - g - h + 2),
            (px + g - 2, py + g - 2),
            (px - g - w + 2, py + g - 2),
        ];
        let free = spots.into_iter().map(|(x, y)| (x, y, x + w, y + h)).find(|&r| {
            r.0 >= 0
                && r.1 >= 0
                && r.2 <= aw
                && r.3 <= ah
                && !taken.iter().any(|&t| overlaps(r, t))
                && !dot_rects.iter().any(|&d| overlaps(r, d))
        });
        let Some(r) = free else { continue };
        taken.push(r);
        area.draw(&Rectangle::new([(r.0, r.1), (r.2, r.3)], WHITE.mix(0.8).filled()))
            .map_err(err("drawing a point label"))?;
        area.draw(&Text::new(
            text.to_string(),
            (r.0 + 1, r.1 + 1),
            style.clone().color(&colour).pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(err("drawing a point label"))?;
    }
    Ok(())
}

/// Something drawn in the plot that the legend should not cover, in plot pixels.
struct Obstacle {
    /// One point (a dot) or a polyline.
    path: Vec<(i32, i32)>,
    /// How much covering it matters (data 1, marker lines less).
    weight: f64,
}

/// How much of `path` lies inside `rect` = (x0, y0, x1, y1), in pixels of length; a single point
/// counts as 8.
fn covered_length(path: &[(i32, i32)], rect: (i32, i32, i32, i32)) -> f64 {
    let inside = |p: (i32, i32)| p.0 >= rect.0 && p.0 <= rect.2 && p.1 >= rect.1 && p.1 <= rect.3;
    match path {
        [] => 0.0,
        [p] => {
            if inside(*p) {
                8.0
            } else {
                0.0
            }
        }
        _ => path.windows(2).map(|w| clipped_length(w[0], w[1], rect)).sum(),
    }
}

/// Length of the part of segment a–b inside the rectangle (Liang–Barsky clipping). A segment of
/// length zero inside the rectangle counts as 1.
fn clipped_length(a: (i32, i32), b: (i32, i32), rect: (i32, i32, i32, i32)) -> f64 {
    let (x0, y0) = (a.0 as f64, a.1 as f64);
    let (dx, dy) = ((b.0 - a.0) as f64, (b.1 - a.1) as f64);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    let checks =
        [(-dx, x0 - rect.0 as f64), (dx, rect.2 as f64 - x0), (-dy, y0 - rect.1 as f64), (dy, rect.3 as f64 - y0)];
    for (p, q) in checks {
        if p == 0.0 {
            if q < 0.0 {
                return 0.0;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return 0.0;
            }
        }
    }
    ((t1 - t0) * dx.hypot(dy)).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(1.0), (1.0, 0));
        assert_eq!(nice_step(2.3), (2.0, 0));
        assert_eq!(nice_step(4.0), (5.0, 0));
        assert_eq!(nice_step(8.0), (10.0, 1));
        assert_eq!(nice_step(0.03).1, -2);
    }

    #[test]
    fn lines_break_where_points_are_further_apart_than_the_gap() {
        let path = [(0.1, 5.0), (0.2, 5.0), (0.3, 6.0), (1.5, 9.0), (2.9, 1.0), (3.0, 1.0)];
        let runs: Vec<Vec<(f64, f64)>> = runs(&path, 0.15).map(<[_]>::to_vec).collect();
        assert_eq!(runs, vec![path[..3].to_vec(), vec![path[3]], path[4..].to_vec()]);
        assert_eq!(super::runs(&path, f64::INFINITY).count(), 1);
    }

    #[test]
    fn tick_text_is_readable() {
        let offsets = TickFormat::with_suffix(11, 1.2e12);
        assert_eq!(offsets.format(0.0), "0");
        assert_eq!(offsets.format(2e11), "0.2T");
        assert_eq!(offsets.format(1.1e12), "1.1T");
        let narrow = TickFormat::with_suffix(7, 1.0995e12);
        assert_eq!(narrow.format(1_099_520_000_000.0), "1099.52G");
        let narrower = TickFormat::with_suffix(5, 1.0995e12);
        assert_eq!(narrower.format(1_099_511_600_000.0), "1\u{2009}099\u{2009}511\u{2009}600\u{2009}000");
        assert_eq!(TickFormat::with_suffix(3, 2e6).format(1_234_000.0), "1234k");
        assert_eq!(TickFormat::with_suffix(-1, 12345.0).format(-12345.5), "-12\u{2009}345.5");
        let rate = TickFormat::with_suffix(3, 9000.0);
        assert_eq!(rate.format(5000.0), "5000");
        let rate = TickFormat::with_suffix(4, 60000.0);
        assert_eq!(rate.format(20000.0), "20k");
        let small = TickFormat::with_suffix(-1, 1.0);
        assert_eq!(small.format(0.5), "0.5");
        assert_eq!(small.format(-0.5), "-0.5");
        assert_eq!(TickFormat::plain(0).format(12.0), "12");
    }

    #[test]
    fn segment_rect_clipping() {
        let r = (10, 10, 20, 20);
        assert_eq!(clipped_length((0, 15), (30, 15), r), 10.0);
        assert_eq!(clipped_length((0, 0), (30, 5), r), 0.0);
        assert_eq!(clipped_length((12, 12), (12, 12), r), 1.0);
        assert_eq!(covered_length(&[(15, 15)], r), 8.0);
        assert_eq!(covered_length(&[(0, 15), (15, 15), (15, 40)], r), 5.0 + 5.0);
    }
}
