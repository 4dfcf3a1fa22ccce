//! Client quotas (`producer_byte_rate`): each broker throttles a producer above its quota, the
//! producer waits out the throttle time, and what gets acknowledged settles at the quota times
//! the brokers it writes to.

use crate::support::{root, run};

fn bundled() -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios/quota-throttled-producer.ron"))
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

fn consumer_scenario() -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios/quota-throttled-consumer.ron"))
}

/// Records consumed per second between `from_s` and the end, from `metrics.csv`.
fn consumed_rate_from(report: &kafkasim::Report, from_s: f64) -> f64 {
    let mut lines = report.metrics_csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let consumed = header.iter().position(|h| *h == "consumed_per_sec").unwrap();
    let rows: Vec<f64> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f[0].parse::<f64>().unwrap() > from_s)
        .map(|f| f[consumed].parse().unwrap())
        .collect();
    rows.iter().sum::<f64>() / rows.len() as f64
}

#[test]
fn a_consumer_over_its_quota_reads_at_most_the_quota_of_each_broker_and_falls_behind() {
    let s = consumer_scenario();
    let report = run(&s);
    // 1,000-byte values with 5- to 7-byte keys: about 1,020 bytes a record in a response.
    let quota_rate = 3.0 * 200_000.0 / 1020.0;
    let rate = consumed_rate_from(&report, 7.0);
    // Never above the quota; a little below it, as a rejected fetch's throttle time counts the
    // bytes it did not send (`KafkaApis` unrecords them only afterwards).
    assert!(rate < 1.02 * quota_rate && rate > 0.90 * quota_rate, "{rate} records/s against {quota_rate}");
    assert!(report.figures["throttled_fetch_responses"] > 100.0);
    assert!(report.figures["consumer_lag_max_records"] > 12_000.0, "it falls behind");
    assert!(report.figures["records_acked"] > 0.99 * report.figures["records_produced"], "the producer is not held up");

    // Kafka's default max.partition.fetch.bytes (1 MiB, five seconds of this quota): each big
    // response is rejected with a long throttle time, and the member reads less still.
    let mut big = s.clone();
    big.consumer_groups[0].max_partition_fetch_bytes = 1_048_576;
    big.expect.clear();
    let big = run(&big);
    assert!(consumed_rate_from(&big, 7.0) < 0.85 * rate);
    assert!(big.figures["fetch_throttle_time_max_ms"] > 2.0 * report.figures["fetch_throttle_time_max_ms"]);

    // Without the quota it keeps up.
    let mut free = s.clone();
    free.consumer_groups[0].consumer_byte_rate = None;
    free.expect.clear();
    let free = run(&free);
    assert_eq!(free.figures["throttled_fetch_responses"], 0.0);
    assert!(free.figures["consumer_lag_max_records"] < 100.0);
}
