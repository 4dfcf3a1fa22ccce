//! Network interfaces of limited speed (`cluster.network.nic_mbps`): a broker sends everything
//! through one interface, so a reassignment's copy crowds out its clients; per-pair links do not
//! share; smaller replica fetches bound the wait; a throttle (KIP-73) spreads the copy into
//! bursts; an interface never sends faster than its speed; a `SlowNic` fault backs a broker up
//! until it is restored.

use crate::support::{bundled_with, proptest_config, root, run};

fn bundled(set: &[(&str, &str)]) -> kafkasim::Scenario {
    bundled_with("reassign-saturates-leader-nic.ron", set)
}

/// `network.csv` as `(time_s, broker, sent MB/s, busy %)`.
fn nic_rows(report: &kafkasim::Report) -> Vec<(f64, String, f64, f64)> {
    report
        .network_csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1].to_string(), f[2].parse().unwrap(), f[3].parse().unwrap())
        })
        .collect()
}

/// `metrics.csv`'s end-to-end latency maximum per interval: `(time_s, ms)`.
fn e2e_max_per_interval(report: &kafkasim::Report) -> Vec<(f64, f64)> {
    let mut lines = report.metrics_csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "e2e_latency_max_ms").unwrap();
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[col].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_reassignment_fills_the_leaders_interface_and_its_clients_wait() {
    let report = run(&bundled(&[]));
    let rows = nic_rows(&report);
    let broker0 = |from: f64, to: f64| rows.iter().filter(move |r| r.1 == "broker-0" && r.0 > from && r.0 <= to);
    // Before the move, no interface is more than a third busy.
    assert!(rows.iter().filter(|r| r.0 <= 40.0).all(|r| r.3 < 35.0), "{:?}", rows.iter().find(|r| r.3 >= 35.0));
    // While broker-3 copies (40 s to about 41.6 s), broker-0's is full.
    // (Not quite 100%: between two chunks, broker-3's next fetch takes a millisecond to come.)
    assert!(broker0(40.1, 41.6).all(|r| r.3 > 99.0), "{:?}", broker0(40.0, 42.0).collect::<Vec<_>>());
    assert!(broker0(40.1, 41.6).all(|r| r.2 > 12.3 && r.2 <= 12.5), "12.5 MB/s, never more");
    // broker-0 leads nothing afterwards and sends almost nothing.
    assert!(broker0(43.0, 60.0).all(|r| r.3 < 1.0));
    // Its clients wait behind the copy: the worst record of each interval before the move stays
    // within a few ms, during it reaches hundreds.
    let e2e = e2e_max_per_interval(&report);
    let before = e2e.iter().filter(|r| r.0 > 10.0 && r.0 <= 40.0).map(|r| r.1).fold(0.0, f64::max);
    let during = e2e.iter().filter(|r| r.0 > 40.0 && r.0 <= 42.0).map(|r| r.1).fold(0.0, f64::max);
    assert!(before < 20.0 && during > 200.0, "before {before} ms, during {during} ms");
    assert!(
        report.summary.contains("| broker-0 | 100 | 56.8 | 0.95 | 7.6 | 100.0% ending at 40.2 s |"),
        "{}",
        report.summary
    );
}

#[test]
fn with_a_link_per_pair_of_nodes_the_copy_crowds_out_nobody() {
    // The same move over 100 Mbit/s links, one per pair: broker-3's copy has the 0 → 3 link to
    // itself, and broker-0's clients never wait behind it.
    let s = bundled(&[
        ("cluster.network.nic_mbps", "None"),
        ("cluster.network.bandwidth_mbps", "100"),
        ("charts", "[Latency]"),
        ("expect", "{}"),
    ]);
    let report = run(&s);
    assert_eq!(report.figures["reassignments_completed"], 1.0);
    assert!(report.figures["e2e_latency_max_ms"] < 150.0, "{}", report.figures["e2e_latency_max_ms"]);
    assert_eq!((report.figures["nic_busy_max_pct"], report.figures["nic_wait_max_ms"]), (0.0, 0.0));
    assert!(report.network_csv.is_empty() && !report.summary.contains("## Network interfaces"));
    assert!(report.artifacts().iter().all(|(name, _)| name != "network.csv"));
}

#[test]
fn smaller_replica_fetches_keep_the_interface_full_but_bound_the_wait() {
    // 128 KiB per replica fetch instead of 1 MiB: the copy still fills broker-0's interface, but a
    // message waits behind at most one 128 KiB chunk (10.5 ms at 100 Mbit/s), not 84 ms.
    let s = bundled(&[("cluster.replication.replica_fetch_max_bytes", "131072"), ("expect", "{}")]);
    let report = run(&s);
    let f = &report.figures;
    assert!(f["nic_busy_max_pct"] > 95.0, "{}", f["nic_busy_max_pct"]);
    assert!(f["nic_wait_max_ms"] > 10.0 && f["nic_wait_max_ms"] < 12.0, "{}", f["nic_wait_max_ms"]);
    assert!(f["reassignment_time_max_ms"] < 2500.0, "as fast: {}", f["reassignment_time_max_ms"]);
    let full = run(&bundled(&[]));
    assert!(f["e2e_latency_p999_ms"] < full.figures["e2e_latency_p999_ms"] / 4.0);
}

#[test]
fn a_throttle_spreads_the_copy_into_bursts_eleven_seconds_apart() {
    // leader.replication.throttled.rate bounds the rate averaged over 11 one-second samples (at
    // least 10 s while the measurement is young): the first 15 MB or so go through at full
    // speed, then nothing until that burst leaves the window, then the rest.
    let s = bundled(&[("cluster.replication.leader_replication_throttled_rate", "1500000"), ("expect", "{}")]);
    let report = run(&s);
    assert!(report.figures["reassignment_time_max_ms"] > 10_000.0, "{}", report.figures["reassignment_time_max_ms"]);
    let full: Vec<f64> =
        nic_rows(&report).into_iter().filter(|r| r.1 == "broker-0" && r.3 > 99.0).map(|r| r.0).collect();
    let gaps: Vec<f64> = full.windows(2).map(|w| w[1] - w[0]).filter(|&g| g > 1.0).collect();
    assert_eq!(gaps.len(), 1, "two bursts: {full:?}");
    assert!(gaps[0] > 8.0 && gaps[0] < 12.0, "{gaps:?}");
}

proptest::proptest! {
    #![proptest_config(proptest_config(6))]

    /// Whatever the speed and the load, an interface never spends more than the whole interval
    /// sending, and what it sent, per interval and over the run, is what its time spent sending
    /// carries at its speed.
    #[test]
    fn an_interface_never_sends_faster_than_its_speed(
        seed in 0u64..1000,
        nic_mbps in proptest::sample::select(vec![5u64, 20, 100]),
        per_sec in 200u32..3000,
    ) {
        let path = root().join("scenarios/quickstart.ron");
        let set: Vec<(String, String)> = [
            ("seed", seed.to_string()),
            ("duration_ms", "5000".to_string()),
            ("cluster.network.nic_mbps", nic_mbps.to_string()),
            ("producers.checkout.arrival.per_sec", format!("{per_sec}.0")),
            ("expect", "{}".to_string()),
            ("charts", "[Network]".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let s = kafkasim::scenario::load(&path, &set).unwrap_or_else(|e| panic!("{e}"));
        let report = run(&s);
        let rows = nic_rows(&report);
        proptest::prop_assert!(!rows.is_empty());
        let speed_mb_per_s = nic_mbps as f64 / 8.0;
        for (t, broker, _, busy) in &rows {
            proptest::prop_assert!(*busy <= 100.0 + 1e-9, "{broker} at {t}: {busy}%");
        }
        for b in 0..3 {
            let name = format!("broker-{b}");
            let busy_s: f64 = rows.iter().filter(|r| r.1 == name).map(|r| r.3 / 100.0 * 0.1).sum();
            // The summary's "sent (MB)" by the end (to 0.1 MB), against the time spent sending.
            let row = report.summary.lines().find(|l| l.starts_with(&format!("| {name} |"))).unwrap();
            let sent_mb: f64 = row.split('|').nth(3).unwrap().trim().parse().unwrap();
            let rounding_s = 0.05 / speed_mb_per_s + 0.001;
            proptest::prop_assert!((busy_s - sent_mb / speed_mb_per_s).abs() <= rounding_s, "{name}: {busy_s} s busy for {sent_mb} MB");
            // And per interval: what it sent is what its busy time carries at its speed.
            for r in rows.iter().filter(|r| r.1 == name) {
                proptest::prop_assert!((r.2 - r.3 / 100.0 * speed_mb_per_s).abs() < 1e-3 + speed_mb_per_s * 1e-4, "{r:?}");
            }
        }
    }
}

#[test]
fn a_slowed_interface_backs_up_until_restored_and_the_broker_stays_in_every_isr() {
    // broker-1's interface drops to 10 Mbit/s (1.25 MB/s) at 10 s: it leads 2 of 6 partitions
    // of 2 MB/s, so it must send about 2 MB/s (to the consumer and to two followers) and falls
    // further behind every second. It stays up and keeps fetching, so no ISR shrinks: acks=all
    // waits for it. Restored at 20 s, what queued drains at once.
    let report = crate::support::run_inline(
        "slow-nic.ron",
        r#"Scenario(
    name: "slow-nic", description: "test", seed: 11, duration_ms: 30000,
    cluster: (brokers: 3, network: (latency_us: 500)),
    topics: [(name: "orders", partitions: 6, replication_factor: 3, min_insync_replicas: 2)],
    producers: [(name: "checkout", topic: "orders", arrival: Poisson(per_sec: 2000.0), value_bytes: 1000, acks: All)],
    consumer_groups: [(name: "billing", topics: ["orders"], members: 2)],
    faults: [(at_ms: 10000, fault: SlowNic(Broker(1), 10)), (at_ms: 20000, fault: SlowNic(Broker(1), 0))],
    charts: [Network],
)"#,
    );
    let rows = nic_rows(&report);
    assert!(rows.iter().all(|r| r.1 == "broker-1" && r.0 >= 10.0), "only broker-1, from the fault on");
    let slowed: Vec<_> = rows.iter().filter(|r| r.0 > 10.5 && r.0 <= 20.0).collect();
    assert!(slowed.iter().all(|r| r.2 <= 1.25 + 1e-9), "never more than 1.25 MB/s");
    assert!(slowed.iter().filter(|r| r.3 > 99.0).count() >= slowed.len() * 9 / 10, "{slowed:?}");
    let e2e = e2e_max_per_interval(&report);
    let worst = |from: f64, to: f64| e2e.iter().filter(|r| r.0 > from && r.0 <= to).map(|r| r.1).fold(0.0, f64::max);
    assert!(worst(6.0, 10.0) < 20.0, "{}", worst(6.0, 10.0));
    assert!(worst(18.0, 20.0) > 1000.0, "backed up: {}", worst(18.0, 20.0));
    assert!(worst(22.0, 30.0) < 20.0, "drained: {}", worst(22.0, 30.0));
    let f = &report.figures;
    assert_eq!((f["isr_shrinks"], f["lost_records"], f["records_failed"]), (0.0, 0.0, 0.0));
    assert!(report.summary.contains("| broker-1 | unlimited |"), "{}", report.summary);
}
