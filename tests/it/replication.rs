//! Replication: Kafka's invariants hold after every event of every bundled scenario (and the
//! pre-0.11 protocol visibly breaks one), and random fault schedules never lose an acknowledged
//! record under acks=all, min.insync.replicas=2, RF 3 and clean elections.

use kafkasim::Simulation;
use kafkasim::report::RunOptions;
use proptest::prelude::*;

use crate::support::{files, root};

fn bundled(name: &str) -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios").join(format!("{name}.ron")))
}

/// Runs a scenario event by event, checking invariants after each; returns the violations.
fn violations(scenario: &kafkasim::Scenario) -> Vec<String> {
    let mut sim = Simulation::new(scenario);
    let mut found = Vec::new();
    while let Some(step) = sim.step() {
        for v in sim.check_invariants() {
            if found.len() < 5 {
                found.push(format!("{} after {} at {}: {v}", scenario.name, step.event, step.time));
            }
        }
    }
    found
}

#[test]
fn invariants_hold_after_every_event_of_every_bundled_scenario() {
    for path in files("scenarios", "ron") {
        let scenario = crate::support::load_bundled(&path);
        use kafkasim::scenario::Truncation;
        if matches!(
            scenario.cluster.replication.truncation,
            Truncation::HighWatermark | Truncation::LeaderEpochBeforeKip279
        ) {
            continue; // the old protocols are there to break them: see the next tests
        }
        let found = violations(&scenario);
        assert!(found.is_empty(), "{found:#?}");
    }
}

#[test]
fn the_pre_kip_101_protocol_breaks_the_committed_prefix_invariant() {
    // KIP-101 scenario 2: the returning replica rejoins the ISR holding m2 where the leader has m3.
    let path = root().join("scenarios/kip101-scenario2-hw-truncation.ron");
    let scenario = kafkasim::scenario::load(&path, &[]).unwrap();
    let found = violations(&scenario);
    assert!(found.iter().any(|v| v.contains("differs from leader")), "expected a divergence, got {found:?}");
    // The same schedule with leader epochs keeps every invariant.
    let fixed = kafkasim::scenario::load(&root().join("scenarios/kip101-scenario2-leader-epoch.ron"), &[]).unwrap();
    assert_eq!(violations(&fixed), Vec::<String>::new());
}

#[test]
fn kip_101_without_kip_279_breaks_the_committed_prefix_invariant_after_fast_failovers() {
    // The returning replica truncates to the end of the wrong epoch and rejoins the ISR holding
    // its own epoch-1 records where the leader has epoch-0 ones.
    let broken = kafkasim::scenario::load(&root().join("scenarios/kip279-fast-failover-kip101-only.ron"), &[]).unwrap();
    let found = violations(&broken);
    assert!(found.iter().any(|v| v.contains("differs from leader")), "expected a divergence, got {found:?}");
    let fixed = kafkasim::scenario::load(&root().join("scenarios/kip279-fast-failover-leader-epoch.ron"), &[]).unwrap();
    assert_eq!(violations(&fixed), Vec::<String>::new());
}

#[test]
fn the_3_7_min_isr_rule_is_what_freezes_the_high_watermark() {
    // KAFKA-15583 (3.7+): while the ISR is below min.insync.replicas the HW does not move, so even
    // acks=1 records stay invisible. Switched off (earlier versions), the leader alone moves it.
    let path = root().join("scenarios/min-isr-not-met.ron");
    let on = kafkasim::run(&kafkasim::scenario::load(&path, &[]).unwrap(), &Default::default()).unwrap();
    let set = vec![("cluster.replication.high_watermark_waits_for_min_isr".to_string(), "false".to_string())];
    let off = kafkasim::run(&kafkasim::scenario::load(&path, &set).unwrap(), &Default::default()).unwrap();
    assert!(on.figures["unreplicated_records"] >= 2000.0);
    assert_eq!(off.figures["unreplicated_records"], 0.0, "before 3.7 the leader alone moves the HW");
    assert!(off.figures["records_consumed"] > on.figures["records_consumed"]);
}

/// A random small cluster with acks=all, min.insync.replicas=2, RF 3, clean elections (with or
/// without eligible leader replicas), and a schedule of process crashes, restarts and network
/// faults that ends with everything healed and running.
/// With `retention`, leaders also delete segments (1 s each) once their records are 3 s old,
/// checking every 500 ms: logs shrink from the front while faults truncate and restart them.
/// With `quota`, the brokers throttle the producer to 8,000 bytes/s each (about a third of
/// what it sends).
/// With `transactions`, the producer is transactional (a transaction every 200 ms, a fifth
/// aborted, a 5 s timeout the coordinator checks every second).
fn scenario(
    partitions: u32,
    faults: &[(u64, u8, u32)],
    elr: bool,
    retention: bool,
    quota: bool,
    transactions: bool,
) -> kafkasim::Scenario {
    let mut list = Vec::new();
    for &(at_ms, kind, broker) in faults {
        let b = broker % 3;
        let fault = match kind % 6 {
            0 => format!("Crash(Broker({b}))"),
            1 => format!("Restart(Broker({b}))"),
            2 => format!("Isolate(Broker({b}))"),
            3 => format!("CutOff(Broker({b}), [Broker({})])", (b + 1) % 3),
            4 => format!("Shutdown(Broker({b}))"),
            _ => "Heal".to_string(),
        };
        list.push(format!("(at_ms: {at_ms}, fault: {fault})"));
    }
    // Recovery: heal, restart everyone, let replication converge.
    list.push("(at_ms: 14000, fault: Heal)".into());
    for b in 0..3 {
        list.push(format!("(at_ms: 14000, fault: Restart(Broker({b})))"));
        // A controlled shutdown that waited for the controller (an isolated broker) ends
        // after the heal: restart that broker too.
        list.push(format!("(at_ms: 16000, fault: Restart(Broker({b})))"));
    }
    let (check_ms, topic_retention) =
        if retention { (500, ", retention_ms: 3000, segment_ms: 1000") } else { (300_000, "") };
    let mut producer_extra = if quota { ", producer_byte_rate: Some(8000)".to_string() } else { String::new() };
    if transactions {
        producer_extra.push_str(
            ", transactions: Some((commit_interval_ms: 200, abort_probability: 0.2, transaction_timeout_ms: 5000))",
        );
    }
    let src = format!(
        r#"Scenario(
            name: "property", description: "random faults", seed: 1, duration_ms: 30000,
            cluster: (brokers: 3, replication: (replica_lag_time_max_ms: 3000, replica_socket_timeout_ms: 3000,
                                                log_retention_check_interval_ms: {check_ms}),
                      controller: (broker_heartbeat_interval_ms: 500, broker_session_timeout_ms: 2000,
                                   eligible_leader_replicas: {elr}),
                      transaction_coordinator: (transaction_abort_timed_out_transaction_cleanup_interval_ms: 1000)),
            topics: [(name: "t", partitions: {partitions}, replication_factor: 3, min_insync_replicas: 2{topic_retention})],
            producers: [(name: "p", topic: "t", arrival: Poisson(per_sec: 200.0), acks: All,
                         request_timeout_ms: 1000, delivery_timeout_ms: 20000, stop_ms: 13000{producer_extra})],
            faults: [{}],
        )"#,
        list.join(", ")
    );
    kafkasim::scenario::parse("property.ron", &src, &[]).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

proptest! {
    // 24 cases in CI; PROPTEST_CASES=500 for a longer search.
    #![proptest_config(crate::support::proptest_config(24))]

    #[test]
    fn random_faults_never_lose_an_acknowledged_record(
        partitions in 1u32..3,
        faults in proptest::collection::vec((500u64..13000, 0u8..6, 0u32..3), 1..7),
        elr in proptest::bool::ANY,
        retention in proptest::bool::ANY,
        quota in proptest::bool::ANY,
        transactions in proptest::bool::ANY,
    ) {
        let s = scenario(partitions, &faults, elr, retention, quota, transactions);
        let mut sim = Simulation::new(&s);
        while sim.step().is_some() {
            let v = sim.check_invariants();
            prop_assert!(v.is_empty(), "{v:?} with faults {faults:?}");
        }
        let report = kafkasim::report::report_of(sim, &Default::default()).unwrap();
        prop_assert_eq!(report.figures["lost_records"], 0.0, "faults {:?}\n{}", faults, report.summary);
        prop_assert_eq!(report.figures["diverged_offsets"], 0.0, "faults {:?}\n{}", faults, report.summary);
        // After healing, every replica converges on the same log.
        for p in &report.partitions {
            let ends: Vec<u64> = p.replica_offsets.iter().map(|r| r.2).collect();
            prop_assert!(ends.iter().all(|&e| e == ends[0]), "{} replicas at {:?} after healing, faults {:?}", p.name, ends, faults);
            prop_assert!(p.leader != "none", "{} offline at the end, faults {:?}", p.name, faults);
            // Every transaction ended: by its producer, or aborted by the coordinator on its
            // timeout, whichever broker coordinated it by then.
            prop_assert_eq!(p.open_transactions, 0, "{} has a transaction open at the end, faults {:?}", p.name, faults);
            prop_assert_eq!(p.last_stable_offset, p.high_watermark);
        }
    }
}

/// Schedules the property test once found failing, kept as plain tests.
#[test]
fn a_follower_whose_last_epoch_the_new_leader_never_knew_catches_up() {
    // Retention empties t-0 on the leader of epoch 1 (its followers follow its log start), the
    // leader crashes, and the new leader's epoch cache starts at epoch 2 (it reset its log
    // earlier): the follower's last epoch, 1, is unknown to it. The follower used to ask again
    // and again (a fetch every millisecond) and never rejoined the ISR.
    let s = scenario(2, &[(1404, 2, 0), (9002, 0, 1), (5001, 5, 0)], false, true, true, false);
    let report = kafkasim::run(&s, &Default::default()).unwrap();
    for p in &report.partitions {
        let ends: Vec<u64> = p.replica_offsets.iter().map(|r| r.2).collect();
        assert!(ends.iter().all(|&e| e == ends[0]), "{} replicas at {ends:?}", p.name);
        assert_eq!(p.isr.len(), 3, "{} ISR {:?}", p.name, p.isr);
    }
}

#[test]
fn a_transaction_whose_coordinator_was_cut_off_still_ends() {
    // Broker-0, coordinator and leader, is isolated mid-transaction. Another broker takes over
    // the coordinator role and completes the transaction. The producer's requests to the old
    // coordinator go unanswered: after `request.timeout.ms` it finds the new one (it used to wait
    // 30 s, past the end of the run, with its next transaction open and the partition's last
    // stable offset stuck behind it).
    let s = scenario(1, &[(5801, 2, 0)], false, false, false, true);
    let report = kafkasim::run(&s, &Default::default()).unwrap();
    for p in &report.partitions {
        assert_eq!(p.open_transactions, 0, "{} has a transaction open at the end", p.name);
        assert_eq!(p.last_stable_offset, p.high_watermark);
    }
    assert!(report.figures["transactions_committed"] > 20.0);
    assert_eq!(report.figures["lost_records"], 0.0);
}

fn quick(extra: &str) -> kafkasim::Report {
    let src = format!(
        r#"Scenario(
            name: "disk", description: "one producer, one partition", seed: 3, duration_ms: 4000,
            cluster: (brokers: 3{extra}),
            topics: [(name: "t", partitions: 1, replication_factor: 3, min_insync_replicas: 2)],
            producers: [(name: "p", topic: "t", arrival: Constant(per_sec: 200.0), acks: One, linger_ms: 0, value_bytes: 1000)],
            faults: [(at_ms: 2000, fault: SlowDisk(LeaderOf("t", 0), 20))],
        )"#
    );
    crate::support::run_inline("disk.ron", &src)
}

#[test]
fn a_slow_disk_delays_every_append_on_that_broker() {
    let r = quick("");
    // Before the fault an acks=1 produce takes one round trip (1 ms); after it, 20 ms more.
    assert!(r.figures["produce_latency_p50_ms"] < 2.0, "{}", r.figures["produce_latency_p50_ms"]);
    assert!(r.figures["produce_latency_p99_ms"] >= 20.0, "{}", r.figures["produce_latency_p99_ms"]);
    assert!(r.faults[0].fired && r.faults[0].touched.contains("every append takes 20 ms more"), "{:?}", r.faults);
}

#[test]
fn bandwidth_adds_serialization_time() {
    // 1 Mbit/s: a ~1.1 KB request takes ~9 ms to send.
    let slow = quick(", network: (latency_us: 500, bandwidth_mbps: 1)");
    let fast = quick("");
    assert!(
        slow.figures["produce_latency_p50_ms"] > fast.figures["produce_latency_p50_ms"] + 8.0,
        "{} vs {}",
        slow.figures["produce_latency_p50_ms"],
        fast.figures["produce_latency_p50_ms"]
    );
}

#[test]
fn broker_cpu_costs_queue_requests_and_batching_absorbs_them() {
    let run = |cpu: &str, linger: u64| {
        let src = format!(
            r#"Scenario(
                name: "cpu", description: "request handler costs", seed: 2, duration_ms: 4000,
                cluster: (brokers: 1, broker_cpu: ({cpu})),
                topics: [(name: "t", partitions: 1)],
                producers: [(name: "p", topic: "t", arrival: Poisson(per_sec: 2000.0), acks: One, linger_ms: {linger})],
            )"#
        );
        crate::support::run_inline("cpu.ron", &src).figures
    };
    let free = run("", 0);
    let costly = run("request_us: 1500", 0);
    // 1.5 ms per request caps a broker at ~667 requests/s: requests queue, latency grows, and the
    // producer's batches grow while it waits (Kafka's batching under backpressure).
    assert!(costly["produce_latency_p50_ms"] > free["produce_latency_p50_ms"] + 1.0, "{costly:?}");
    assert!(costly["produce_requests_per_sec"] < 700.0, "{}", costly["produce_requests_per_sec"]);
    assert!(costly["records_per_batch_mean"] > 2.5 * free["records_per_batch_mean"]);
    // The same records get through (but for the few still queued when the run ends).
    assert!((costly["records_acked"] - free["records_acked"]).abs() < 0.01 * free["records_acked"]);
}

#[test]
fn compression_shrinks_what_crosses_a_slow_link() {
    let run = |codec: &str| {
        let src = format!(
            r#"Scenario(
                name: "codec", description: "compression on a 2 Mbit/s link", seed: 4, duration_ms: 4000,
                cluster: (brokers: 1, network: (latency_us: 500, bandwidth_mbps: 2)),
                topics: [(name: "t")],
                producers: [(name: "p", topic: "t", arrival: Constant(per_sec: 1000.0), acks: One, compression_type: {codec})],
            )"#
        );
        crate::support::run_inline("codec.ron", &src).figures
    };
    let (none, gzip) = (run("None"), run("Gzip"));
    // 1000 records/s of ~109 bytes is ~0.9 Mbit/s: a 2 Mbit/s link is busy half the time
    // uncompressed, and gzip's ~30% makes each request's send time a third as long.
    assert!(gzip["produce_latency_p50_ms"] < none["produce_latency_p50_ms"], "{gzip:?} vs {none:?}");
    assert_eq!(gzip["records_acked"], none["records_acked"]);
}

/// A crashed process's host resets its connections, so clients fail fast with NETWORK_EXCEPTION;
/// a power loss gives no signal, so they wait for `request.timeout.ms`.
#[test]
fn a_crash_resets_connections_where_a_power_loss_leaves_clients_waiting() {
    let run = |fault: &str| {
        let src = format!(
            r#"Scenario(
                name: "reset", description: "the leader dies", seed: 3, duration_ms: 8000,
                cluster: (brokers: 3),
                topics: [(name: "t", partitions: 1, replication_factor: 3, min_insync_replicas: 2)],
                producers: [(name: "p", topic: "t", arrival: Constant(per_sec: 100.0), acks: All, request_timeout_ms: 30000)],
                faults: [(at_ms: 2000, fault: {fault}(LeaderOf("t", 0)))],
            )"#
        );
        crate::support::run_inline("reset.ron", &src)
    };
    let crash = run("Crash");
    assert!(crash.summary.contains("| NETWORK_EXCEPTION |"), "{}", crash.summary);
    assert!(!crash.summary.contains("| REQUEST_TIMED_OUT |"), "{}", crash.summary);
    let power = run("PowerLoss");
    // Nothing comes back before the 30 s request timeout, which is after the run ends: the
    // requests in flight at the power loss are still waiting, with no error at all.
    assert!(!power.summary.contains("| NETWORK_EXCEPTION |"), "{}", power.summary);
    assert!(!power.summary.contains("| REQUEST_TIMED_OUT |"), "{}", power.summary);
}

/// A rolling restart: with controlled shutdowns the leaderships move before each broker stops,
/// so no request meets a dead leader; killing each broker instead stalls its partitions until
/// the controller notices, and producers see connection errors and seconds of latency.
#[test]
fn controlled_shutdown_moves_leaderships_before_the_broker_stops() {
    let report = |name: &str| kafkasim::report::run(&bundled(name), &RunOptions::default()).expect("run");
    let (controlled, crash) = (report("rolling-restart-controlled"), report("rolling-restart-crash"));
    for r in [&controlled, &crash] {
        assert_eq!(r.figures["lost_records"], 0.0, "{}", r.summary);
        assert_eq!(r.figures["records_failed"], 0.0, "{}", r.summary);
    }
    assert_eq!(controlled.summary.matches("in controlled shutdown").count(), 3, "{}", controlled.summary);
    assert!(!controlled.summary.contains("| NETWORK_EXCEPTION |"), "{}", controlled.summary);
    assert!(crash.summary.contains("| NETWORK_EXCEPTION |"), "{}", crash.summary);
    let p99 = |r: &kafkasim::Report| r.figures["produce_latency_p99_ms"];
    assert!(p99(&crash) > 50.0 * p99(&controlled), "{} vs {}", p99(&crash), p99(&controlled));
    // Each broker exits only after the controller has moved its leaderships.
    let trace = &controlled.trace;
    for b in 0..3 {
        let exit =
            trace.lines().position(|l| l.contains(&format!("broker-{b} ")) && l.contains(" exit ")).expect("exit");
        let asked = trace.lines().position(|l| l.contains(&format!("controlled_shutdown broker-{b}:"))).expect("asked");
        assert!(asked < exit, "broker-{b}: exit before the controller acted");
    }
}

/// KIP-966: a broker that leaves the ISR below min.insync.replicas joins the ELR. Back from a
/// clean (controlled) shutdown it keeps its place; back from a crash it may have lost unflushed
/// records, so the controller takes it out (`handleBrokerUncleanShutdown`).
#[test]
fn only_an_unclean_shutdown_costs_a_broker_its_elr_place() {
    let run = |stop: &str| {
        let src = format!(
            r#"Scenario(
                name: "elr", description: "stop two followers", seed: 5, duration_ms: 14000,
                cluster: (brokers: 3, controller: (eligible_leader_replicas: true,
                          broker_heartbeat_interval_ms: 500, broker_session_timeout_ms: 2000)),
                topics: [(name: "t", partitions: 1, replication_factor: 3, min_insync_replicas: 2)],
                producers: [(name: "p", topic: "t", arrival: Constant(per_sec: 100.0), acks: All)],
                faults: [
                    (at_ms: 2000, fault: {stop}(FollowerOf("t", 0))),
                    (at_ms: 5000, fault: {stop}(FollowerOf("t", 0))),
                    (at_ms: 10000, fault: Restart(Broker(0))),
                    (at_ms: 10000, fault: Restart(Broker(1))),
                    (at_ms: 10000, fault: Restart(Broker(2))),
                ],
            )"#
        );
        crate::support::run_inline("elr.ron", &src).summary
    };
    let elr_lines = |summary: &str| -> Vec<String> {
        summary.lines().filter(|l| l.contains("eligible leader replicas")).map(str::to_string).collect()
    };
    let (clean, crash) = (run("Shutdown"), run("Crash"));
    // Both runs put the second stopped follower into the ELR (the ISR fell below 2)...
    assert!(elr_lines(&clean).first().is_some_and(|l| l.contains("[] → [")), "{clean}");
    assert!(elr_lines(&crash).first().is_some_and(|l| l.contains("[] → [")), "{crash}");
    // ...but only the crashed one loses that place as it registers again (later, both rejoin
    // the ISR, which clears the ELR anyway).
    let dropped_at_registration = |summary: &str| {
        let registered = summary.lines().find(|l| l.contains("broker-2 registered")).expect("registered");
        let at = registered.split(" s ").next().expect("a time");
        elr_lines(summary).iter().any(|l| l.starts_with(&format!("{at} s ")) && l.ends_with("→ []"))
    };
    assert!(dropped_at_registration(&crash), "{crash}");
    assert!(!dropped_at_registration(&clean), "{clean}");
}

/// KIP-320: after an unclean election the new leader's records take offsets below the group's
/// committed offset. A client that validates its position reads them all; one that does not
/// skips exactly the stretch between the truncation point and its committed offset.
#[test]
fn kip320_consumers_detect_truncation_below_their_position() {
    let detected = bundled("kip320-truncation-detected");
    let report = kafkasim::run(&detected, &RunOptions::default()).unwrap();
    let line = report.trace.lines().find(|l| l.contains("truncation detected")).expect("a truncation detected");
    // The position goes back to where the truncation point is: epoch 0 ended at the new leader's
    // log end when it was elected (the unclean election's first epoch-1 offset).
    let back_to: u64 = line.rsplit(" ends at ").next().unwrap().split(' ').next().unwrap().parse().unwrap();
    let from: u64 = line.split(" position ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(back_to < from, "{line}");
    // ... which is where the old leader's log was truncated when it came back.
    let truncated = report.trace.lines().find(|l| l.contains(" to offset ") && l.contains("records removed")).unwrap();
    assert!(truncated.contains(&format!("to offset {back_to}:")), "{truncated} vs {line}");
    assert_eq!(report.figures["skipped_records"], 0.0);
    assert_eq!(report.figures["processed_twice_records"], 0.0, "the new records are not duplicates");

    let mut skipping = detected.clone();
    for g in &mut skipping.consumer_groups {
        g.detect_truncation = false;
    }
    let report = kafkasim::run(&skipping, &RunOptions::default()).unwrap();
    assert_eq!(report.figures["truncations_detected"], 0.0);
    // Exactly the records between the truncation point and the committed offset.
    assert_eq!(report.figures["skipped_records"], (from - back_to) as f64);
}
