//! The throughput–latency trade-off chart of a sweep: acknowledged records per second (x)
//! against produce latency p50, p99 and p99.9 (y, ms), one point per grid point; or, with
//! `--latency end-to-end`, consumed records per second against end-to-end latency.
//!
//! - One varied setting: one curve per percentile; each point is labelled with the setting's
//!   value (`linger_ms=5`) on the p99.9 curve, the top one, where labels have room.
//! - Two or more: points run along the first setting; one colour per combination of the others
//!   (e.g. per arrival rate), p99 solid and labelled, p50 dashed, p99.9 dotted; the legend lists
//!   the p99 curves and the subtitle says which style is which.
//!
//! With several seeds a point is the mean of its seeds' figures (the seeds are shared by every
//! grid point, so the means compare like with like).

use crate::render::{LineChart, Series, SeriesStyle};

use super::sweep::{SweepResult, TradeoffLatency};

const PERCENTILES: [&str; 3] = ["p50", "p99", "p99.9"];

/// One grid point: its values and the mean of its seeds' figures.
struct Point {
    values: Vec<String>,
    x: f64,
    y: [f64; 3],
}

/// The trade-off chart of `sweep` (of the rows it has: a shard's chart shows its own runs).
pub fn tradeoff_chart(sweep: &SweepResult) -> LineChart {
    let names = short_names(sweep);
    let points = points(sweep);
    let label = |i: usize, value: &str| format!("{}={value}", names[i]);
    let mut series = Vec::new();
    if sweep.vary.len() == 1 {
        for (k, pct) in PERCENTILES.iter().enumerate() {
            let s = Series::new(
                format!("{} {pct}", sweep.latency.name()),
                SeriesStyle::LinePoints,
                points.iter().map(|p| (p.x, p.y[k])).collect(),
            );
            series.push(if k == PERCENTILES.len() - 1 {
                s.with_point_labels(points.iter().map(|p| label(0, &p.values[0])).collect())
            } else {
                s
            });
        }
    } else {
        // Groups: the combinations of settings 2.. in the order they first appear (grid order).
        let mut groups: Vec<Vec<String>> = Vec::new();
        for p in &points {
            if !groups.contains(&p.values[1..].to_vec()) {
                groups.push(p.values[1..].to_vec());
            }
        }
        for (g, key) in groups.iter().enumerate() {
            let members: Vec<&Point> = points.iter().filter(|p| p.values[1..] == key[..]).collect();
            let name = key.iter().enumerate().map(|(i, v)| label(i + 1, v)).collect::<Vec<_>>().join(" · ");
            for (k, style) in
                [(1, SeriesStyle::LinePoints), (0, SeriesStyle::DashedPoints), (2, SeriesStyle::DottedPoints)]
            {
                let mut s = Series::new(
                    format!("{name}: {}", PERCENTILES[k]),
                    style,
                    members.iter().map(|p| (p.x, p.y[k])).collect(),
                )
                .with_colour(g);
                if k == 1 {
                    s = s.with_point_labels(members.iter().map(|p| label(0, &p.values[0])).collect());
                } else {
                    s = s.without_legend();
                }
                series.push(s);
            }
        }
    }
    let swept = names.join(" × ");
    let seeds = match sweep.rows.first() {
        Some(r) if sweep.seeds > 1 => {
            let first = r.seed - (r.index as u64 % sweep.seeds);
            format!("mean of seeds {first}–{}", first + sweep.seeds - 1)
        }
        Some(r) => format!("seed {}", r.seed),
        None => "no runs".to_string(),
    };
    let key = if sweep.vary.len() == 1 {
        "points labelled by setting".to_string()
    } else {
        format!("points along {}; p99 solid, p50 dashed, p99.9 dotted", names[0])
    };
    let (x_label, latency) = match sweep.latency {
        TradeoffLatency::Produce => ("throughput (acknowledged records/s)", "produce latency"),
        TradeoffLatency::EndToEnd => ("throughput (consumed records/s)", "end-to-end latency"),
    };
    LineChart {
        title: format!("Throughput vs {latency} — {}, sweeping {swept}", sweep.name),
        subtitle: Some(format!("one point per setting · {seeds} · {key}")),
        x_label: x_label.into(),
        y_label: format!("{latency} (ms)"),
        series,
        markers: Vec::new(),
        bands: Vec::new(),
        y_min_zero: true,
    }
}

/// `linger_ms` for `producers.checkout.linger_ms`; the whole path where two would read the same.
fn short_names(sweep: &SweepResult) -> Vec<String> {
    let shorts: Vec<&str> = sweep.vary.iter().map(|v| v.short_name()).collect();
    sweep
        .vary
        .iter()
        .zip(&shorts)
        .map(|(v, s)| if shorts.iter().filter(|t| *t == s).count() > 1 { v.path.clone() } else { s.to_string() })
        .collect()
}

/// The grid points present in the rows, in grid order, each the mean over its seeds.
fn points(sweep: &SweepResult) -> Vec<Point> {
    let seeds = sweep.seeds.max(1) as usize;
    let (throughput, percentiles) = sweep.latency.figures();
    let mut out: Vec<(usize, Point, usize)> = Vec::new();
    for row in &sweep.rows {
        let grid_point = row.index / seeds;
        let get = |name: &str| row.figures.get(name).copied().unwrap_or(f64::NAN);
        let x = get(throughput);
        let y = percentiles.map(get);
        match out.last_mut() {
            Some((g, p, n)) if *g == grid_point => {
                p.x += x;
                for (sum, v) in p.y.iter_mut().zip(y) {
                    *sum += v;
                }
                *n += 1;
            }
            _ => out.push((grid_point, Point { values: row.values.clone(), x, y }, 1)),
        }
    }
    out.into_iter()
        .map(|(_, mut p, n)| {
            p.x /= n as f64;
            for y in &mut p.y {
                *y /= n as f64;
            }
            p
        })
        .collect()
}
