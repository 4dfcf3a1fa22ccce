//! `kafkasim::report::sweep` and the trade-off chart: grid order, common random numbers (rows
//! equal plain runs of the same overrides), sharding, determinism, bad input.

use kafkasim::report::sweep::{self, Shard, SweepError, SweepPlan, SweepResult, SweepSpec, Vary};
use kafkasim::report::{RunOptions, tradeoff_chart};
use kafkasim::scenario::FIGURES;

use crate::support::{root, with_snapshots};

const QUICKSTART: &str = "scenarios/quickstart.ron";

fn source() -> String {
    std::fs::read_to_string(root().join(QUICKSTART)).unwrap()
}

fn short() -> Vec<(String, String)> {
    vec![("duration_ms".to_string(), "3000".to_string())]
}

fn spec(vary: &[&str], seeds: u64, shard: Option<&str>) -> SweepSpec {
    SweepSpec {
        vary: vary.iter().map(|v| Vary::parse(v).unwrap()).collect(),
        seeds,
        shard: shard.map(|s| Shard::parse(s).unwrap()),
        latency: Default::default(),
    }
}

fn plan(spec: &SweepSpec) -> Result<SweepPlan, SweepError> {
    sweep::plan(QUICKSTART, &source(), &short(), spec)
}

fn run(spec: &SweepSpec) -> SweepResult {
    let plan = plan(spec).unwrap_or_else(|e| panic!("{e}"));
    sweep::run(&plan, &|| {}).unwrap()
}

const LINGER: &str = "producers.checkout.linger_ms=0,5,50";

#[test]
fn rows_are_in_grid_order_and_equal_plain_runs_of_the_same_settings() {
    let result = run(&spec(&[LINGER], 1, None));
    let values: Vec<&str> = result.rows.iter().map(|r| r.values[0].as_str()).collect();
    assert_eq!(values, ["0", "5", "50"]);
    assert_eq!(result.rows.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 2]);

    // Longer linger.ms, fuller batches, fewer produce requests.
    let rate: Vec<f64> = result.rows.iter().map(|r| r.figures["produce_requests_per_sec"]).collect();
    assert!(rate[0] > rate[1] && rate[1] > rate[2], "{rate:?}");

    // Each row is exactly what a plain run of the same overridden scenario gives.
    for row in &result.rows {
        let mut overrides = short();
        overrides.push(("producers.checkout.linger_ms".into(), row.values[0].clone()));
        let scenario = kafkasim::scenario::parse(QUICKSTART, &source(), &overrides).unwrap();
        assert_eq!(row.seed, scenario.seed);
        let report = kafkasim::run(&scenario, &RunOptions::default()).unwrap();
        assert_eq!(row.figures, report.figures, "linger_ms={}", row.values[0]);
    }
    // Common random numbers: every setting saw the same arrivals.
    let produced: Vec<f64> = result.rows.iter().map(|r| r.figures["records_produced"]).collect();
    assert!(produced.iter().all(|&p| p == produced[0] && p > 0.0), "{produced:?}");

    // The CSV: header, then one row per run in grid order, fixed precision.
    let csv = result.csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[..2], ["producers.checkout.linger_ms", "seed"]);
    assert_eq!(header[2..], FIGURES.iter().map(|(n, _)| *n).collect::<Vec<_>>()[..]);
    for (line, value) in lines[1..].iter().zip(["0", "5", "50"]) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len());
        assert_eq!(fields[0], value);
        assert_eq!(fields[1], "7");
        assert!(fields[2..].iter().all(|f| f.split_once('.').is_some_and(|(_, d)| d.len() == 3)));
    }
}

#[test]
fn seeds_follow_the_scenario_seed_and_are_shared_by_every_grid_point() {
    let result = run(&spec(&["producers.checkout.linger_ms=0,50"], 2, None));
    let seeds: Vec<u64> = result.rows.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, [7, 8, 7, 8]);
    let produced = |i: usize| result.rows[i].figures["records_produced"];
    assert_eq!(produced(0), produced(2), "seed 7 draws the same arrivals at every setting");
    assert_eq!(produced(1), produced(3));
    assert_ne!(produced(0), produced(1), "another seed, other arrivals");
}

#[test]
fn shards_together_give_exactly_the_unsharded_rows() {
    let vary = ["producers.checkout.linger_ms=0,5,50", "producers.checkout.arrival.per_sec=1000,3000"];
    let whole = run(&spec(&vary, 1, None));
    assert_eq!(whole.rows.len(), 6);
    assert_eq!(whole.rows[1].values, ["0", "3000"], "the first --vary changes slowest");
    let whole_csv = whole.csv();
    let whole_lines: Vec<&str> = whole_csv.lines().collect();
    let mut joined: Vec<sweep::SweepRow> = Vec::new();
    let mut joined_lines: Vec<String> = Vec::new();
    for shard in ["1/2", "2/2"] {
        let part = run(&spec(&vary, 1, Some(shard)));
        assert_eq!(part.rows.len(), 3, "{shard}");
        let n = if shard == "1/2" { 0 } else { 1 };
        assert!(part.rows.iter().all(|r| r.index % 2 == n), "{shard}");
        let csv = part.csv();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(whole_lines[0]), "every shard writes the header");
        joined_lines.extend(lines.map(str::to_string));
        assert!(part.folder_name().ends_with(&format!("-sweep-shard-{}-of-2", n + 1)));
        joined.extend(part.rows);
    }
    joined.sort_by_key(|r| r.index);
    assert_eq!(joined, whole.rows);
    let mut a: Vec<&str> = joined_lines.iter().map(String::as_str).collect();
    let mut b = whole_lines[1..].to_vec();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "the shards' CSV rows are the unsharded CSV rows");
}

#[test]
fn a_sweep_run_twice_gives_identical_bytes() {
    let s = spec(&[LINGER, "producers.checkout.arrival.per_sec=1000,4000"], 1, None);
    let a = run(&s).artifacts().unwrap();
    let b = run(&s).artifacts().unwrap();
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["sweep.csv", "tradeoff.png"]);
    assert_eq!(a, b);
    assert!(a[1].1.starts_with(b"\x89PNG"));
}

#[test]
fn the_tradeoff_chart_is_snapshotted() {
    with_snapshots(|| {
        let one = tradeoff_chart(&run(&spec(&[LINGER], 1, None)));
        assert_eq!(one.series.len(), 3, "p50, p99, p99.9");
        insta::assert_snapshot!("quickstart-sweep-tradeoff-linger", kafkasim::render::series_as_text(&one));
        let two = tradeoff_chart(&run(&spec(&[LINGER, "producers.checkout.arrival.per_sec=1000,4000"], 1, None)));
        assert_eq!(two.series.len(), 6, "3 percentiles for each of 2 rates");
        assert!(two.title.contains("linger_ms × per_sec"), "{}", two.title);
        insta::assert_snapshot!("quickstart-sweep-tradeoff-linger-by-rate", kafkasim::render::series_as_text(&two));
    });
}

#[test]
fn bad_sweeps_are_refused_before_anything_runs() {
    let message = |vary: &[&str]| plan(&spec(vary, 1, None)).unwrap_err().to_string();
    let unknown = message(&["producers.checkout.lingr_ms=0,5"]);
    assert!(unknown.contains("--vary producers.checkout.lingr_ms=0"), "{unknown}");
    assert!(unknown.contains("expected one of") && unknown.contains("`linger_ms`"), "{unknown}");
    let no_producer = message(&["producers.chekout.linger_ms=0,5"]);
    assert!(no_producer.contains("no producer named \"chekout\""), "{no_producer}");
    assert!(no_producer.contains("available: checkout"), "{no_producer}");
    let invalid = message(&["producers.checkout.linger_ms=0,-5"]);
    assert!(invalid.contains("--vary producers.checkout.linger_ms=-5"), "{invalid}");
    assert!(invalid.contains("allowed:"), "{invalid}");
    let twice = message(&[LINGER, "producers.checkout.linger_ms=1"]);
    assert!(twice.contains("varied twice"), "{twice}");
    assert!(plan(&spec(&[LINGER], 0, None)).unwrap_err().to_string().contains("--seeds 0"));
    assert!(plan(&spec(&[], 1, None)).is_err());
    for bad in ["0/3", "4/3", "1/0", "a/b", "3"] {
        let e = Shard::parse(bad).unwrap_err().to_string();
        assert!(e.contains("1 ≤ I ≤ N"), "{bad}: {e}");
    }
    for bad in ["producers.checkout.linger_ms", "x=", "x=1,,2"] {
        let e = Vary::parse(bad).unwrap_err().to_string();
        assert!(e.contains("PATH=V1,V2"), "{bad}: {e}");
    }
}

/// The bundled batching trade-off, swept as its comment says: linger.ms × arrival rate.
#[test]
fn the_linger_sweep_shows_the_batching_trade_off() {
    let file = "scenarios/linger-tradeoff.ron";
    let src = std::fs::read_to_string(root().join(file)).unwrap();
    let spec = SweepSpec {
        vary: vec![
            Vary::parse("producers.app.arrival=Poisson(per_sec: 200.0),Poisson(per_sec: 150000.0)").unwrap(),
            Vary::parse("producers.app.linger_ms=0,5,50").unwrap(),
        ],
        seeds: 1,
        shard: None,
        latency: Default::default(),
    };
    let plan = sweep::plan(file, &src, &[], &spec).unwrap_or_else(|e| panic!("{e}"));
    let rows = sweep::run(&plan, &|| {}).unwrap().rows;
    assert_eq!(rows.len(), 6);
    let (low, high) = rows.split_at(3);
    let figure = |rows: &[sweep::SweepRow], name: &str| -> Vec<f64> { rows.iter().map(|r| r.figures[name]).collect() };
    // Low rate: linger only adds waiting.
    let p50 = figure(low, "produce_latency_p50_ms");
    assert!(p50[0] < p50[1] && p50[1] < p50[2], "latency rises with linger.ms at a low rate: {p50:?}");
    // High rate: fewer, fuller requests as linger grows...
    let requests = figure(high, "produce_requests_per_sec");
    assert!(requests[0] > requests[1] && requests[1] > requests[2], "requests/s fall with linger.ms: {requests:?}");
    let per_batch = figure(high, "records_per_batch_mean");
    assert!(per_batch[2] > 5.0 * per_batch[0], "batches fill: {per_batch:?}");
    // ...and, the producer's core being the bottleneck, more records get through: each request
    // and batch costs the same CPU however few records it carries.
    let secs = kafkasim::scenario::parse(file, &src, &[]).unwrap().duration_ms as f64 / 1000.0;
    let offered: Vec<f64> = high.iter().map(|r| r.figures["records_produced"] / secs).collect();
    assert!(offered.iter().all(|&o| o == offered[0]), "common random numbers: {offered:?}");
    let acked = figure(high, "acked_per_sec");
    assert!(acked[0] < 0.25 * offered[0], "linger.ms 0 ships one record per request and falls behind: {acked:?}");
    assert!(acked[1] > 2.0 * acked[0], "linger.ms 5 amortises the request cost: {acked:?}");
    assert!(acked[2] > 1.05 * acked[1], "linger.ms 50 amortises the per-batch cost too: {acked:?}");
    assert!(acked[2] > 0.9 * offered[0], "linger.ms 50 carries the offered rate: {acked:?} of {}", offered[0]);
    // The sender spends less of the core as requests fill.
    let sender = figure(high, "producer_sender_cpu_ms");
    assert!(sender[0] > sender[1] && sender[1] > sender[2], "sender CPU falls with linger.ms: {sender:?}");
}

/// `--latency end-to-end`: a stream query's trigger swept against end-to-end latency, which
/// the chart plots (with consumed records/s) and which grows with the interval.
#[test]
fn an_end_to_end_sweep_charts_what_the_trigger_costs() {
    let file = "scenarios/stream-micro-batch-trigger.ron";
    let src = std::fs::read_to_string(root().join(file)).unwrap();
    let spec = SweepSpec {
        vary: vec![Vary::parse("consumer_groups.counts.stream.trigger_ms=100,1000").unwrap()],
        seeds: 1,
        shard: None,
        latency: kafkasim::report::sweep::TradeoffLatency::EndToEnd,
    };
    let result = sweep::run(&sweep::plan(file, &src, &[], &spec).unwrap(), &|| {}).unwrap();
    let p50: Vec<f64> = result.rows.iter().map(|r| r.figures["e2e_latency_p50_ms"]).collect();
    assert!(p50[1] > p50[0] + 300.0, "{p50:?}");
    let chart = tradeoff_chart(&result);
    assert_eq!(chart.y_label, "end-to-end latency (ms)");
    assert!(chart.x_label.contains("consumed"));
    // The p50 curve's points are the runs' medians, in grid order.
    let curve = chart.series.iter().find(|s| s.label == "end-to-end latency p50").unwrap();
    assert_eq!(curve.points.iter().map(|p| p.1).collect::<Vec<_>>(), p50);
}
