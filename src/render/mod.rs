//! Charts as PNG bytes: what a chart shows ([`LineChart`]) and the function that draws it.
//!
//! This module is pure: it takes data and returns bytes, and never writes files, prints, reads a
//! clock or a system font. The same [`LineChart`] always gives byte-identical PNG output, so
//! charts can be checked in tests by hash and reproduced from a seed.
//!
//! * `font` embeds DejaVu Sans and registers it with plotters under `"sans-serif"`.
//! * `line_chart` cleans the data (drops NaN/∞, downsamples long series), picks axis ranges and
//!   ticks, and draws title, grid, bands, markers, series and legend.
//! * `timeline` draws a [`Timeline`]: rows of bars over time (who held what when, e.g. which
//!   consumer owned which partition), with an optional step strip under them.
//! * `encode` turns the RGB buffer into PNG bytes with the `png` crate.
//!
//! Conventions (DESIGN.md §6): fixed size [`CHART_SIZE`], a fixed colour-blind-friendly palette
//! (Okabe–Ito), x in seconds of simulated time, y in the unit named by the chart's `y_label`.

mod encode;
mod font;
mod line_chart;
mod timeline;

pub use encode::encode_rgb_png;
pub use font::{FONT_FAMILY, register_fonts};
pub use line_chart::{DOWNSAMPLE_BUCKETS, MAX_POINTS_PER_SERIES, downsample};
pub use timeline::{render_timeline_png, render_timeline_svg, timeline_as_text};

use std::fmt;

/// Width and height of every chart, in pixels.
pub const CHART_SIZE: (u32, u32) = (1000, 560);

/// One named line (or set of points) on a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Shown in the legend.
    pub label: String,
    /// `(x, y)`: x in seconds of simulated time (or the chart's x unit), y in the chart's unit.
    /// Non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    pub style: SeriesStyle,
    /// A short text beside each point (same length as `points`; empty strings and an empty list
    /// mean no labels). Labels that would overlap another label, a point or the legend are left
    /// out of the picture (`series_as_text` still lists them).
    pub point_labels: Vec<String>,
    /// Palette slot; `None` uses the series' position. Series that share a slot share a colour
    /// (e.g. p50, p99 and p99.9 of one setting, told apart by their style).
    pub colour: Option<usize>,
    /// Whether the legend lists this series (e.g. `false` for the p50 and p99.9 companions of a
    /// p99 curve whose styles the subtitle explains).
    pub in_legend: bool,
    /// Lines join consecutive points at most this far apart in x: a wider gap means no data in
    /// between (e.g. intervals without a sample), and the line breaks there. `None`: always join.
    pub max_gap: Option<f64>,
}

impl Series {
    pub fn new(label: impl Into<String>, style: SeriesStyle, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
            style,
            point_labels: Vec::new(),
            colour: None,
            in_legend: true,
            max_gap: None,
        }
    }

    /// The same series, its line broken between points more than `max_gap` apart in x.
    pub fn with_max_gap(mut self, max_gap: f64) -> Self {
        self.max_gap = Some(max_gap);
        self
    }

    /// The same series with a label beside each point (in point order).
    pub fn with_point_labels(mut self, labels: Vec<String>) -> Self {
        self.point_labels = labels;
        self
    }

    /// The same series, left out of the legend.
    pub fn without_legend(mut self) -> Self {
        self.in_legend = false;
        self
    }

    /// The same series drawn in palette slot `slot`.
    pub fn with_colour(mut self, slot: usize) -> Self {
        self.colour = Some(slot);
        self
    }
}

/// How a series is drawn. Colours come from the fixed palette, in series order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SeriesStyle {
    /// Solid line through the points.
    Line,
    /// Dashed line, for secondary or reference lines.
    Dashed,
    /// Unconnected dots.
    Points,
    /// Staircase: each value holds until the next point (offsets, counters).
    Step,
    /// Solid line with a dot on every point (measured points joined, e.g. a sweep's runs).
    LinePoints,
    /// Dashed line with a dot on every point.
    DashedPoints,
    /// Dotted line with a dot on every point.
    DottedPoints,
}

impl SeriesStyle {
    /// Every style.
    pub const ALL: [SeriesStyle; 7] = [
        SeriesStyle::Line,
        SeriesStyle::Dashed,
        SeriesStyle::Points,
        SeriesStyle::Step,
        SeriesStyle::LinePoints,
        SeriesStyle::DashedPoints,
        SeriesStyle::DottedPoints,
    ];

    /// Whether points are drawn as dots.
    pub fn has_dots(self) -> bool {
        matches!(
            self,
            SeriesStyle::Points | SeriesStyle::LinePoints | SeriesStyle::DashedPoints | SeriesStyle::DottedPoints
        )
    }
}

/// What a marker or band stands for; each kind has its own fixed colour and legend entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkerKind {
    Fault,
    Rebalance,
    Leader,
    /// A log cleaner's cleaning of a compacted log.
    Cleaning,
    Info,
}

impl MarkerKind {
    /// Every kind, in legend order.
    pub const ALL: [MarkerKind; 5] =
        [MarkerKind::Fault, MarkerKind::Rebalance, MarkerKind::Leader, MarkerKind::Cleaning, MarkerKind::Info];

    /// The legend text for this kind.
    pub fn legend_name(self) -> &'static str {
        match self {
            MarkerKind::Fault => "fault",
            MarkerKind::Rebalance => "rebalance",
            MarkerKind::Leader => "leader change",
            MarkerKind::Cleaning => "log cleaning",
            MarkerKind::Info => "event",
        }
    }

    fn text_name(self) -> &'static str {
        match self {
            MarkerKind::Fault => "fault",
            MarkerKind::Rebalance => "rebalance",
            MarkerKind::Leader => "leader",
            MarkerKind::Cleaning => "cleaning",
            MarkerKind::Info => "info",
        }
    }
}

/// A vertical dashed line at one instant, with a short label above the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub at_s: f64,
    pub label: String,
    pub kind: MarkerKind,
}

/// A shaded vertical band over an interval (e.g. a broker offline), drawn behind the series.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from_s: f64,
    pub to_s: f64,
    pub label: String,
    pub kind: MarkerKind,
}

/// A line chart over simulated time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    pub title: String,
    /// A second, smaller line under the title, e.g. "seed 7 · 3 brokers · acks=all".
    pub subtitle: Option<String>,
    /// X axis title with its unit, e.g. "simulated time (s)".
    pub x_label: String,
    /// Y axis title with its unit, e.g. "records/s".
    pub y_label: String,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    pub bands: Vec<Band>,
    /// Start the y axis at 0 (or lower, if some value is negative).
    pub y_min_zero: bool,
}

/// One bar of a [`Timeline`]: something held over an interval (a partition owned by a member).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub from_s: f64,
    /// End of the interval; bars still open at the end of the run end at [`Timeline::x_end`].
    pub to_s: f64,
    /// Written inside the bar when it fits, e.g. `orders-3 · gen 1`.
    pub label: String,
    /// Written instead when `label` does not fit, e.g. `3`; nothing when neither fits.
    pub short_label: String,
    /// Slot in the timeline's palette of 12 light colours (bars of one partition share a slot).
    pub colour: usize,
}

/// One row of a [`Timeline`] (a member). Bars of a row that overlap in time are stacked in lanes,
/// assigned in order of start time; a bar keeps the lane its colour last had when that lane is free.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimelineRow {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// A small step chart under a timeline's rows, on the same time axis (e.g. how many partitions
/// have no owner). Each value holds until the next point.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimelineStrip {
    /// The legend's text for the strip.
    pub label: String,
    /// The strip's axis title, short enough to fit its height when rotated (e.g. "unowned").
    pub axis_label: String,
    pub points: Vec<(f64, f64)>,
    /// Top of the strip's y axis (e.g. the number of partitions).
    pub y_max: f64,
    /// `(x, y, text)`: short notes drawn just above a point of the strip (e.g. each peak's
    /// height); a note that would overlap an earlier one is left out of the picture.
    pub notes: Vec<(f64, f64, String)>,
}

/// A timeline (Gantt) chart over simulated time: one row per member with its bars, markers and
/// bands as on a [`LineChart`], and an optional strip under the rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    pub title: String,
    pub subtitle: Option<String>,
    /// X axis title with its unit, e.g. "time (s)".
    pub x_label: String,
    /// The rows' axis title, e.g. "member".
    pub y_label: String,
    /// The end of the x axis (the run's duration, in seconds).
    pub x_end: f64,
    /// Top to bottom.
    pub rows: Vec<TimelineRow>,
    /// The legend text for bars, e.g. "owned (partition · generation)".
    pub bar_legend: String,
    pub strip: Option<TimelineStrip>,
    pub markers: Vec<Marker>,
    pub bands: Vec<Band>,
    /// Legend text for markers of a kind, instead of [`MarkerKind::legend_name`].
    pub marker_names: Vec<(MarkerKind, String)>,
    /// Legend text for bands of a kind, instead of [`MarkerKind::legend_name`].
    pub band_names: Vec<(MarkerKind, String)>,
}

/// Why a chart could not be drawn or encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError(String);

impl RenderError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        RenderError(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chart rendering failed: {}", self.0)
    }
}

impl std::error::Error for RenderError {}

/// Draws `chart` at [`CHART_SIZE`] and returns the PNG file's bytes.
///
/// Never panics: empty or degenerate data gives a chart with "no data" or a padded axis.
pub fn render_line_chart_png(chart: &LineChart) -> Result<Vec<u8>, RenderError> {
    let rgb = line_chart::render_rgb(chart)?;
    encode_rgb_png(&rgb, CHART_SIZE.0, CHART_SIZE.1)
}

/// Draws `chart` at [`CHART_SIZE`] as SVG. Text is laid out with the bundled font but emitted as
/// `<text font-family="sans-serif">`, so a viewer draws it with its own sans-serif font; the bytes
/// are still the same on every run.
pub fn render_line_chart_svg(chart: &LineChart) -> Result<String, RenderError> {
    register_fonts()?;
    let mut out = String::new();
    {
        use plotters::prelude::{IntoDrawingArea, SVGBackend};
        let root = SVGBackend::with_string(&mut out, CHART_SIZE).into_drawing_area();
        line_chart::draw_chart(&root, chart)?;
        root.present().map_err(|e| RenderError::new(format!("finishing the SVG: {e:?}")))?;
    }
    Ok(out)
}

/// The data the chart plots, as text with 3 decimals: after dropping non-finite values and
/// downsampling, exactly what [`render_line_chart_png`] draws. For snapshot tests.
///
/// ```text
/// # series produced
/// 0.000 12.000
/// # series p99 (a series with point labels)
/// 1990.000 6.200 linger_ms=5
/// # marker fault 8.000 broker-1 crash
/// # band fault 8.000 10.000 offline
/// ```
pub fn series_as_text(chart: &LineChart) -> String {
    let data = line_chart::Prepared::new(chart);
    let mut out = String::new();
    for s in &data.series {
        out.push_str("# series ");
        out.push_str(&one_line(&s.label));
        out.push('\n');
        for (i, &(x, y)) in s.points.iter().enumerate() {
            out.push_str(&fixed3(x));
            out.push(' ');
            out.push_str(&fixed3(y));
            if let Some(label) = s.point_labels.get(i).filter(|l| !l.is_empty()) {
                out.push(' ');
                out.push_str(&one_line(label));
            }
            out.push('\n');
        }
    }
    for m in &data.markers {
        out.push_str(&format!("# marker {} {} {}\n", m.kind.text_name(), fixed3(m.at_s), one_line(&m.label)));
    }
    for b in &data.bands {
        out.push_str(&format!(
            "# band {} {} {} {}\n",
            b.kind.text_name(),
            fixed3(b.from_s),
            fixed3(b.to_s),
            one_line(&b.label)
        ));
    }
    out
}

/// `v` with 3 decimals, never "-0.000".
fn fixed3(v: f64) -> String {
    let s = format!("{v:.3}");
    if s == "-0.000" { "0.000".to_string() } else { s }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests;
