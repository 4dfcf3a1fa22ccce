//! `kafkasim::report::compare`: same seed for both runs, a table of every figure, charts with both
//! runs on the same axes.

use kafkasim::report::RunOptions;
use kafkasim::report::compare::{Sides, compare};
use kafkasim::scenario::FIGURES;

use crate::support::root;

const QUICKSTART: &str = "scenarios/quickstart.ron";

fn quickstart(extra: &[(&str, &str)]) -> kafkasim::Scenario {
    let src = std::fs::read_to_string(root().join(QUICKSTART)).unwrap();
    let mut overrides = vec![("duration_ms".to_string(), "3000".to_string())];
    overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    kafkasim::scenario::parse(QUICKSTART, &src, &overrides).unwrap()
}

#[test]
fn acks_one_vs_all_same_arrivals_other_latency() {
    let a = quickstart(&[]);
    let set = [("producers.checkout.acks", "One")];
    let b = quickstart(&set);
    let b_overrides = vec![("producers.checkout.acks".to_string(), "One".to_string())];
    let sides = Sides::new(&a, &b, QUICKSTART, "with acks=One", &b_overrides);
    assert_eq!(sides.b, "quickstart-acks=One");
    let c = compare(&a, &b, sides, &RunOptions::default()).unwrap();
    assert_eq!(c.folder_name(), "compare-quickstart-vs-quickstart-acks-One");

    // Same seed, same arrivals; acks=1 answers before the followers would.
    let fa = &c.a.figures;
    let fb = &c.b.figures;
    assert!(fa["records_produced"] > 0.0);
    assert_eq!(fa["records_produced"], fb["records_produced"]);
    // acks=1 answers after the leader's append; acks=all waits for the followers' fetch too.
    assert!(fb["produce_latency_p50_ms"] + 0.5 < fa["produce_latency_p50_ms"], "{fa:?} {fb:?}");

    // The table has every figure, with A, B and B − A.
    for (name, _) in FIGURES {
        let line = c
            .table
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("{name} missing from\n{}", c.table));
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let (va, vb, d): (f64, f64, f64) =
            (cells[1].parse().unwrap(), cells[2].parse().unwrap(), cells[3].parse().unwrap());
        assert_eq!(va, fa[name], "{name}");
        assert_eq!(vb, fb[name], "{name}");
        assert!((d - (vb - va)).abs() < 0.0011, "{name}: {line}");
    }
    assert!(c.table.contains("| records_produced |") && c.table.contains("| records_failed |"));
    assert!(c.markdown.contains("seed 7") && c.markdown.contains(&c.table));

    // Side-by-side charts: both runs' series on one chart per chart kind.
    let names: Vec<&str> = c.charts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["throughput.png", "latency.png", "lag.png"], "every chart quickstart draws");
    let (_, throughput) = &c.chart_data[0];
    assert!(throughput.contains("# series A: produced") && throughput.contains("# series B: produced"));
    let files: Vec<String> = c.artifacts().into_iter().map(|(n, _)| n).collect();
    for f in ["compare.md", "throughput.png", "a/summary.md", "a/trace.log", "b/metrics.csv", "b/latency.png"] {
        assert!(files.iter().any(|n| n == f), "{f} in {files:?}");
    }
}

#[test]
fn acks_zero_answers_sooner_from_the_same_arrivals() {
    let a = quickstart(&[]);
    let b = quickstart(&[("producers.checkout.acks", "Zero")]);
    let sides = Sides::new(&a, &b, "a", "b", &[("producers.checkout.acks".into(), "Zero".into())]);
    let c = compare(&a, &b, sides, &RunOptions::default()).unwrap();
    assert_eq!(c.a.figures["records_produced"], c.b.figures["records_produced"]);
    let (pa, pb) = (c.a.figures["produce_latency_p50_ms"], c.b.figures["produce_latency_p50_ms"]);
    assert!(pb < pa, "acks=0 is done once sent: p50 {pb} vs {pa}");
    let line = c.table.lines().find(|l| l.starts_with("| produce_latency_p50_ms |")).unwrap();
    assert!(line.ends_with(&format!("| {:+.3} |", pb - pa)), "{line}");
}

#[test]
fn b_runs_with_as_seed_and_comparing_twice_gives_identical_bytes() {
    let a = quickstart(&[]);
    let mut b = quickstart(&[("producers.checkout.linger_ms", "0")]);
    b.seed = 99;
    let sides = || Sides::new(&a, &b, "a", "b", &[("producers.checkout.linger_ms".into(), "0".into())]);
    let c = compare(&a, &b, sides(), &RunOptions::default()).unwrap();
    assert_eq!(c.seed, 7);
    assert_eq!(c.b.scenario.seed, 7);
    assert_eq!(c.a.figures["records_produced"], c.b.figures["records_produced"]);
    let again = compare(&a, &b, sides(), &RunOptions::default()).unwrap();
    assert_eq!(c.artifacts(), again.artifacts());
}

/// The produced-records column of metrics.csv: the arrivals, interval by interval.
fn produced_series(csv: &str) -> Vec<String> {
    csv.lines().skip(1).map(|l| l.split(',').take(2).collect::<Vec<_>>().join(",")).collect()
}

#[test]
fn acks_one_loses_records_under_a_leader_crash_and_acks_all_does_not() {
    let path = root().join("scenarios/acks1-leader-crash.ron");
    let a = kafkasim::scenario::load(&path, &[]).unwrap();
    let b_overrides = vec![("producers.checkout.acks".to_string(), "All".to_string())];
    let b = kafkasim::scenario::load(&path, &b_overrides).unwrap();
    let sides = Sides::new(&a, &b, "scenarios/acks1-leader-crash.ron", "with acks=All", &b_overrides);
    let c = compare(&a, &b, sides, &RunOptions::default()).unwrap();
    let (fa, fb) = (&c.a.figures, &c.b.figures);
    // Lost records on one side only.
    assert!(fa["lost_records"] >= 100.0, "acks=1 loses what the leader alone had: {}", fa["lost_records"]);
    assert_eq!(fb["lost_records"], 0.0, "acks=all loses nothing");
    // Identical produced-record sequences on both sides: the same arrivals, interval by interval.
    assert_eq!(fa["records_produced"], fb["records_produced"]);
    assert_eq!(produced_series(&c.a.metrics_csv), produced_series(&c.b.metrics_csv));
    assert!(c.table.contains("| lost_records |"));
}
