//! A/B comparison of two runs: the same seed for both (common random numbers, so the difference
//! is the settings' doing, not luck), a table of every figure (A, B, B − A) and, for each line
//! chart both runs draw, one chart with both runs' series on the same axes. Rebalance timelines
//! do not overlay; each run's own are in its folder (`a/`, `b/`).
//!
//! The table is generated from [`FIGURES`], so a new figure appears in it without a change here.
//! This module never prints or writes; the CLI writes [`Comparison::artifacts`].

use crate::render::{LineChart, RenderError, Series, SeriesStyle};
use crate::scenario::{FIGURES, Scenario};

use super::{Report, RunOptions};

/// What is compared with what, for titles and folder names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sides {
    /// Short names, e.g. `quickstart` and `quickstart-acks-One`.
    pub a: String,
    pub b: String,
    /// One line each saying where the scenario came from, e.g. `scenarios/quickstart.ron with
    /// --set producers.checkout.acks=One`.
    pub a_origin: String,
    pub b_origin: String,
}

impl Sides {
    /// Names for `A` vs `B`: their scenario names, or, when those are equal, A's name and A's
    /// name with the overrides that make B (`quickstart-acks=One`).
    pub fn new(a: &Scenario, b: &Scenario, a_origin: &str, b_origin: &str, b_overrides: &[(String, String)]) -> Sides {
        let b_name = if a.name != b.name {
            b.name.clone()
        } else if b_overrides.is_empty() {
            format!("{}-b", b.name)
        } else {
            let mut name = a.name.clone();
            for (path, value) in b_overrides {
                let short = path.rsplit('.').next().unwrap_or(path);
                name.push_str(&format!("-{short}={value}"));
            }
            name
        };
        Sides { a: a.name.clone(), b: b_name, a_origin: a_origin.to_string(), b_origin: b_origin.to_string() }
    }
}

/// Both runs and what sets them apart.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub sides: Sides,
    /// The seed both ran with.
    pub seed: u64,
    pub a: Report,
    pub b: Report,
    /// The markdown table of every figure: A, B, B − A.
    pub table: String,
    /// `compare.md`: what was compared, the seed, the table.
    pub markdown: String,
    /// `(file name, PNG)` of the side-by-side charts.
    pub charts: Vec<(String, Vec<u8>)>,
    /// `(file name, series as text)` of the side-by-side charts, for snapshots.
    pub chart_data: Vec<(String, String)>,
}

/// Runs `a` and `b` (in parallel) with `a`'s seed and compares them.
pub fn compare(a: &Scenario, b: &Scenario, sides: Sides, options: &RunOptions) -> Result<Comparison, RenderError> {
    let seed = a.seed;
    let mut b = b.clone();
    b.seed = seed;
    let (ra, rb) = rayon::join(|| super::run_with_charts(a, options), || super::run_with_charts(&b, options));
    let (ra, a_charts) = ra?;
    let (rb, b_charts) = rb?;

    let mut charts = Vec::new();
    let mut chart_data = Vec::new();
    for (kind, ca) in &a_charts {
        let Some((_, cb)) = b_charts.iter().find(|(k, _)| k == kind) else {
            continue;
        };
        let chart = side_by_side(ca, cb, &sides, seed);
        chart_data.push((kind.file_name().to_string(), crate::render::series_as_text(&chart)));
        charts.push((kind.file_name().to_string(), crate::render::render_line_chart_png(&chart)?));
    }
    let table = table(&ra, &rb);
    let markdown = format!(
        "# {} vs {}\n\n\
         - A: {} ({})\n\
         - B: {} ({})\n\
         - Both ran with seed {seed}: they share their random draws (common random numbers), so the \
         differences below come from the settings, not from chance.\n\n\
         {table}\n\
         Each run's own outputs are in `a/` and `b/`; the charts here draw both runs on the same axes \
         (A solid, B dashed).\n",
        sides.a, sides.b, sides.a, sides.a_origin, sides.b, sides.b_origin,
    );
    Ok(Comparison { sides, seed, a: ra, b: rb, table, markdown, charts, chart_data })
}

/// Every figure of [`FIGURES`]: A, B and B − A with 3 decimals.
fn table(a: &Report, b: &Report) -> String {
    let mut out = String::from("| figure | A | B | B − A |\n|---|---:|---:|---:|\n");
    for (name, _) in FIGURES {
        let va = a.figures.get(name).copied().unwrap_or(f64::NAN);
        let vb = b.figures.get(name).copied().unwrap_or(f64::NAN);
        let d = vb - va;
        let diff = if d.is_finite() && d.abs() >= 0.0005 { format!("{d:+.3}") } else { fixed3(d) };
        out.push_str(&format!("| {name} | {} | {} | {diff} |\n", fixed3(va), fixed3(vb)));
    }
    out
}

fn fixed3(v: f64) -> String {
    let s = format!("{v:.3}");
    if s == "-0.000" { "0.000".to_string() } else { s }
}

/// One chart with A's series (solid) and B's (dashed) on the same axes, a metric in the same
/// colour on both sides.
fn side_by_side(a: &LineChart, b: &LineChart, sides: &Sides, seed: u64) -> LineChart {
    let mut series = Vec::new();
    for (side, chart, solid) in [("A", a, true), ("B", b, false)] {
        for (i, s) in chart.series.iter().enumerate() {
            let style = match (solid, s.style) {
                (true, SeriesStyle::Step) => SeriesStyle::Step,
                (true, SeriesStyle::Points) | (false, SeriesStyle::Points) => SeriesStyle::Points,
                (true, _) => SeriesStyle::Line,
                (false, _) => SeriesStyle::Dashed,
            };
            let mut copy =
                Series::new(format!("{side}: {}", s.label), style, s.points.clone()).with_colour(s.colour.unwrap_or(i));
            copy.point_labels = s.point_labels.clone();
            copy.in_legend = s.in_legend;
            series.push(copy);
        }
    }
    let mut markers = Vec::new();
    let mut bands = Vec::new();
    for (side, chart) in [("A", a), ("B", b)] {
        markers.extend(
            chart.markers.iter().map(|m| crate::render::Marker { label: format!("{side}: {}", m.label), ..m.clone() }),
        );
        bands.extend(
            chart.bands.iter().map(|x| crate::render::Band { label: format!("{side}: {}", x.label), ..x.clone() }),
        );
    }
    let base = a.title.strip_suffix(&format!(" — {}", sides.a)).unwrap_or(&a.title);
    LineChart {
        title: format!("{base} — A: {} vs B: {}", sides.a, sides.b),
        subtitle: Some(format!("both with seed {seed} · A solid, B dashed")),
        x_label: a.x_label.clone(),
        y_label: a.y_label.clone(),
        series,
        markers,
        bands,
        y_min_zero: a.y_min_zero || b.y_min_zero,
    }
}

impl Comparison {
    /// The folder name: `compare-<a>-vs-<b>`, with characters other than letters, digits, `_`,
    /// `.` and `-` turned into `-`.
    pub fn folder_name(&self) -> String {
        format!("compare-{}-vs-{}", slug(&self.sides.a), slug(&self.sides.b))
    }

    /// Every output file, in a fixed order: `compare.md`, the side-by-side charts, then `a/...`
    /// and `b/...` (each what `kafkasim run` writes).
    pub fn artifacts(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![("compare.md".to_string(), self.markdown.clone().into_bytes())];
        out.extend(self.charts.iter().cloned());
        for (side, report) in [("a", &self.a), ("b", &self.b)] {
            out.extend(report.artifacts().into_iter().map(|(name, bytes)| (format!("{side}/{name}"), bytes)));
        }
        out
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.chars().all(|c| c == '.') { "run".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_folder_safe() {
        assert_eq!(slug("quickstart-acks=One"), "quickstart-acks-One");
        assert_eq!(slug("a b/c"), "a-b-c");
        assert_eq!(slug("../.."), "..-..");
        assert_eq!(slug("//"), "run");
        assert_eq!(slug(".."), "run");
    }
}
