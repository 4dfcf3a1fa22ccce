//! Client quotas (`producer_byte_rate`): each broker throttles a producer above its quota, the
//! producer waits out the throttle time, and what gets acknowledged settles at the quota times
//! the brokers it writes to.

use kafkasim::report::RunOptions;

use crate::support::root;

fn bundled() -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios/quota-throttled-producer.ron"))
}

fn run(s: &kafkasim::Scenario) -> kafkasim::Report {
    kafkasim::run(s, &RunOptions::default()).unwrap()
}

/// Records acknowledged per second between `from_s` and the end, from `metrics.csv`.
fn acked_rate_from(report: &kafkasim::Report, from_s: f64) -> f64 {
    let mut lines = report.metrics_csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (t, acked) = (0, header.iter().position(|h| *h == "acked_per_sec").unwrap());
    let rows: Vec<(f64, f64)> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .map(|f| (f[t].parse().unwrap(), f[acked].parse().unwrap()))
        .filter(|&(time, _)| time > from_s)
        .collect();
    rows.iter().map(|r| r.1).sum::<f64>() / rows.len() as f64
}

/// Bytes a record of the bundled producer takes in a produce request: a `DefaultRecord` of about
/// 1,016 bytes (1,000-byte value, a 5- to 7-byte key, varints) plus its share of the 61-byte batch
/// header and the request header.
const RECORD_BYTES: f64 = 1024.0;

#[test]
fn acknowledged_throughput_settles_at_the_quota_of_each_broker_it_writes_to() {
    let s = bundled();
    let report = run(&s);
    // Three partitions led by three brokers: 3 × 500,000 B/s.
    let expected = 3.0 * 500_000.0 / RECORD_BYTES;
    // Measured from the first throttle on (at about 7 s). The rate swings with the 11 s window
    // (a throttled stretch, then a burst as old samples leave it); over the 33 s it averages out.
    let rate = acked_rate_from(&report, 7.0);
    assert!((rate - expected).abs() < 0.05 * expected, "{rate} records/s acknowledged against {expected}");
    assert!(report.figures["throttled_produce_responses"] > 100.0);
    // Before the first throttle the producer was not held back: for the first 6 s every record
    // is acknowledged within milliseconds.
    let early =
        report.metrics_csv.lines().skip(1).take(60).map(|l| l.split(',').nth(8).unwrap().parse::<f64>().unwrap());
    assert!(early.fold(0.0, f64::max) < 20.0, "the first seconds are within the quota's 10 s window");

    // A quota is per broker: the same producer on a topic with one partition (one leader) gets
    // a third as much through.
    let mut one = s.clone();
    one.topics[0].partitions = 1;
    one.expect.clear();
    let one = run(&one);
    let rate_one = acked_rate_from(&one, 7.0);
    assert!((rate_one - expected / 3.0).abs() < 0.05 * expected / 3.0, "{rate_one} with one leader");
}

#[test]
fn within_the_quota_or_without_one_nothing_is_throttled() {
    for quota in [None, Some(1_000_000)] {
        let mut s = bundled();
        s.producers[0].producer_byte_rate = quota;
        s.expect.clear();
        let report = run(&s);
        assert_eq!(report.figures["throttled_produce_responses"], 0.0, "quota {quota:?}");
        assert_eq!(report.figures["produce_throttle_time_max_ms"], 0.0);
        assert!(report.figures["produce_latency_p99_ms"] < 20.0, "quota {quota:?}");
        assert!(report.figures["acked_per_sec"] > 1990.0);
    }
}
