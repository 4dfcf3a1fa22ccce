//! Tests of the public rendering API: deterministic bytes, PNG header, degenerate inputs,
//! the text dump and downsampling.

use super::*;

fn decode_header(png_bytes: &[u8]) -> (u32, u32, png::ColorType) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let reader = decoder.read_info().expect("valid PNG header");
    let info = reader.info();
    (info.width, info.height, info.color_type)
}

/// A small deterministic pseudo-random sequence (no `rand` needed in tests).
fn noise(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
}

pub(super) fn quickstart_chart() -> LineChart {
    let mut seed = 7u64;
    let mut produced = Vec::new();
    let mut acked = Vec::new();
    let mut consumed = Vec::new();
    for i in 0..=200 {
        let t = i as f64 * 0.1;
        let offline = (8.0..10.0).contains(&t);
        let base = 2000.0 + 150.0 * noise(&mut seed);
        produced.push((t, base));
        let a = if offline {
            0.0
        } else if (10.0..11.0).contains(&t) {
            2600.0
        } else {
            base - 20.0
        };
        acked.push((t, (a + 60.0 * noise(&mut seed)).max(0.0)));
        let c = if offline { 300.0 } else { base - 60.0 };
        consumed.push((t, c + 80.0 * noise(&mut seed)));
    }
    LineChart {
        title: "Records per second — quickstart".into(),
        subtitle: Some("seed 7 · 3 brokers · acks=all · 1 s windows".into()),
        x_label: "simulated time (s)".into(),
        y_label: "records/s".into(),
        series: vec![
            Series::new("produced", SeriesStyle::Line, produced),
            Series::new("acknowledged", SeriesStyle::Line, acked),
            Series::new("consumed", SeriesStyle::Dashed, consumed),
        ],
        markers: vec![Marker { at_s: 8.0, label: "broker-1 crashes".into(), kind: MarkerKind::Fault }],
        bands: vec![Band { from_s: 8.0, to_s: 10.0, label: "offline".into(), kind: MarkerKind::Fault }],
        y_min_zero: true,
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    let chart = quickstart_chart();
    let a = render_line_chart_png(&chart).expect("renders");
    let b = render_line_chart_png(&chart).expect("renders");
    assert_eq!(a, b);
    use sha2::Digest;
    assert_eq!(sha2::Sha256::digest(&a), sha2::Sha256::digest(&b));
}

#[test]
fn output_is_a_png_of_the_chart_size() {
    let bytes = render_line_chart_png(&quickstart_chart()).expect("renders");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(decode_header(&bytes), (CHART_SIZE.0, CHART_SIZE.1, png::ColorType::Rgb));
}

fn renders(chart: &LineChart) {
    let bytes = render_line_chart_png(chart).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decode_header(&bytes).0, CHART_SIZE.0);
}

#[test]
fn degenerate_charts_render() {
    // nothing at all
    renders(&LineChart::default());
    // a series with no points, plus a marker and a band
    renders(&LineChart {
        series: vec![Series::new("empty", SeriesStyle::Line, vec![])],
        markers: vec![Marker { at_s: 3.0, label: "crash".into(), kind: MarkerKind::Fault }],
        bands: vec![Band { from_s: 5.0, to_s: 4.0, label: "reversed".into(), kind: MarkerKind::Info }],
        ..LineChart::default()
    });
    // one point, every style
    for style in [SeriesStyle::Line, SeriesStyle::Dashed, SeriesStyle::Points, SeriesStyle::Step] {
        renders(&LineChart {
            title: "one point".into(),
            series: vec![Series::new("p", style, vec![(0.0, 5.0)])],
            ..LineChart::default()
        });
    }
    // all-equal values, zero values, negative values
    for v in [0.0, 42.0, -3.0] {
        for y_min_zero in [false, true] {
            renders(&LineChart {
                series: vec![Series::new("flat", SeriesStyle::Line, vec![(0.0, v), (5.0, v), (9.0, v)])],
                y_min_zero,
                ..LineChart::default()
            });
        }
    }
    // non-finite and absurd values only
    renders(&LineChart {
        series: vec![Series::new(
            "junk",
            SeriesStyle::Line,
            vec![(f64::NAN, 1.0), (1.0, f64::INFINITY), (f64::NEG_INFINITY, 2.0), (1.0, 1e300)],
        )],
        markers: vec![Marker { at_s: f64::NAN, label: "nan".into(), kind: MarkerKind::Info }],
        ..LineChart::default()
    });
    // many overlapping markers (label rows run out)
    renders(&LineChart {
        series: vec![Series::new("x", SeriesStyle::Step, vec![(0.0, 1.0), (1.0, 2.0)])],
        markers: (0..20)
            .map(|i| Marker {
                at_s: i as f64 * 0.05,
                label: format!("marker {i}"),
                kind: MarkerKind::ALL[i % MarkerKind::ALL.len()],
            })
            .collect(),
        ..LineChart::default()
    });
}

#[test]
fn hostile_inputs_render() {
    let long = "very long label ".repeat(40);
    renders(&LineChart {
        title: long.clone(),
        subtitle: Some("emoji 🦀 and\nnewline".into()),
        x_label: long.clone(),
        y_label: long.clone(),
        series: (0..12)
            .map(|i| {
                Series::new(
                    format!("{long}{i}"),
                    SeriesStyle::ALL[i % 4],
                    vec![(-5.0, -1e30), (1e30, 1e30), (3.0, f64::MIN_POSITIVE), (-0.0, -0.0)],
                )
            })
            .collect(),
        markers: vec![Marker { at_s: -1e30, label: long.clone(), kind: MarkerKind::Leader }],
        bands: vec![Band { from_s: -1e30, to_s: 1e30, label: long, kind: MarkerKind::Rebalance }],
        y_min_zero: true,
    });
    // tiny spans and tiny values
    renders(&LineChart {
        series: vec![Series::new("tiny", SeriesStyle::Line, vec![(0.0, 1e-12), (1e-9, 2e-12), (2e-9, 1.5e-12)])],
        ..LineChart::default()
    });
}

#[test]
fn huge_offsets_render() {
    let base = (1u64 << 40) as f64;
    let leo: Vec<(f64, f64)> = (0..100).map(|i| (i as f64 * 0.2, base + i as f64 * 1000.0)).collect();
    let hw: Vec<(f64, f64)> = leo.iter().map(|&(t, v)| (t, v - 500.0)).collect();
    renders(&LineChart {
        title: "Offsets near 2^40".into(),
        y_label: "offset".into(),
        series: vec![
            Series::new("log end offset", SeriesStyle::Step, leo.clone()),
            Series::new("high watermark", SeriesStyle::Step, hw),
        ],
        ..LineChart::default()
    });
    renders(&LineChart {
        series: vec![Series::new("from zero", SeriesStyle::Line, vec![(0.0, 0.0), (10.0, base)])],
        y_min_zero: true,
        ..LineChart::default()
    });
}

#[test]
fn long_series_render_quickly_and_deterministically() {
    let mut seed = 1u64;
    let points: Vec<(f64, f64)> = (0..200_000).map(|i| (i as f64 * 1e-4, 1000.0 * noise(&mut seed))).collect();
    let chart = LineChart { series: vec![Series::new("noisy", SeriesStyle::Line, points)], ..LineChart::default() };
    let a = render_line_chart_png(&chart).expect("renders");
    assert_eq!(a, render_line_chart_png(&chart).expect("renders"));
}

#[test]
fn series_as_text_format() {
    let chart = LineChart {
        title: "t".into(),
        series: vec![
            Series::new("produced", SeriesStyle::Line, vec![(0.0, 12.0), (0.5, f64::NAN), (1.0, 13.25)]),
            Series::new("two\nlines", SeriesStyle::Step, vec![(-0.0001, 1.0 / 3.0)]),
        ],
        markers: vec![Marker { at_s: 8.0, label: "broker-1 crash".into(), kind: MarkerKind::Fault }],
        bands: vec![Band { from_s: 10.0, to_s: 8.0, label: "offline".into(), kind: MarkerKind::Fault }],
        ..LineChart::default()
    };
    assert_eq!(
        series_as_text(&chart),
        "# series produced\n0.000 12.000\n1.000 13.250\n\
         # series two lines\n0.000 0.333\n\
         # marker fault 8.000 broker-1 crash\n\
         # band fault 8.000 10.000 offline\n"
    );
}

#[test]
fn downsampling_keeps_extremes_and_bounds_the_size() {
    let mut points: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, (i % 7) as f64)).collect();
    points[12_345].1 = 1e6;
    points[98_765].1 = -1e6;
    let small = downsample(&points, DOWNSAMPLE_BUCKETS);
    assert!(small.len() <= DOWNSAMPLE_BUCKETS * 4, "{}", small.len());
    assert!(small.contains(&(12_345.0, 1e6)));
    assert!(small.contains(&(98_765.0, -1e6)));
    assert_eq!(small.first(), points.first());
    assert_eq!(small.last(), points.last());
    assert!(small.windows(2).all(|w| w[0].0 < w[1].0), "order kept");
    // short series are untouched, and the chart text shows the downsampled data
    assert_eq!(downsample(&points[..10], DOWNSAMPLE_BUCKETS), points[..10].to_vec());
    let chart =
        LineChart { series: vec![Series::new("long", SeriesStyle::Line, points.clone())], ..LineChart::default() };
    let text = series_as_text(&chart);
    assert_eq!(text.lines().count(), 1 + small.len());
    assert!(text.contains("12345.000 1000000.000"));
}

#[test]
fn labelled_points_render_deterministically_and_show_in_the_text() {
    let labels = |n: usize| (0..n).map(|i| format!("linger_ms={i}")).collect::<Vec<_>>();
    let mut series = Vec::new();
    for (slot, style) in [(0, SeriesStyle::LinePoints), (0, SeriesStyle::DashedPoints), (1, SeriesStyle::DottedPoints)]
    {
        // crowded points: most labels cannot all fit, and must not be overprinted
        let points: Vec<(f64, f64)> = (0..12).map(|i| (1000.0 + i as f64, 5.0 + i as f64 * 0.01)).collect();
        let s = Series::new(format!("{style:?}"), style, points).with_colour(slot);
        series.push(if style == SeriesStyle::LinePoints {
            s.with_point_labels(labels(12))
        } else {
            s.without_legend()
        });
    }
    let chart = LineChart {
        title: "trade-off".into(),
        x_label: "throughput (records/s)".into(),
        y_label: "latency (ms)".into(),
        series,
        y_min_zero: true,
        ..LineChart::default()
    };
    let a = render_line_chart_png(&chart).expect("renders");
    assert_eq!(a, render_line_chart_png(&chart).expect("renders"));
    let text = series_as_text(&chart);
    assert!(text.contains("1000.000 5.000 linger_ms=0\n"), "{text}");
    assert!(text.contains("# series DashedPoints\n1000.000 5.000\n"), "{text}");
    // a point dropped as non-finite takes its label with it
    let chart = LineChart {
        series: vec![
            Series::new("p", SeriesStyle::LinePoints, vec![(f64::NAN, 1.0), (2.0, 3.0)])
                .with_point_labels(vec!["gone".into(), "kept".into()]),
        ],
        ..LineChart::default()
    };
    assert_eq!(series_as_text(&chart), "# series p\n2.000 3.000 kept\n");
    renders(&chart);
}
