//! Consume-transform-produce groups (`output`, Kafka Streams' processing guarantees): a crash or
//! a zombie under at-least-once duplicates the output, never under exactly-once v2; a random
//! fault schedule never makes exactly-once write an input twice or skip one.

use kafkasim::Simulation;
use proptest::prelude::*;

use crate::support::{load_bundled, root};

fn bundled(name: &str, set: &[(&str, &str)]) -> kafkasim::Report {
    let path = root().join("scenarios").join(name);
    let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let s = if set.is_empty() { load_bundled(&path) } else { kafkasim::scenario::load(&path, &set).unwrap() };
    kafkasim::run(&s, &Default::default()).unwrap()
}

const AT_LEAST_ONCE: (&str, &str) = ("consumer_groups[0].output.processing_guarantee", "AtLeastOnce");

#[test]
fn a_crashed_instance_duplicates_the_output_under_at_least_once_only() {
    let alo = bundled("pipeline-exactly-once.ron", &[AT_LEAST_ONCE]);
    let eos = bundled("pipeline-exactly-once.ron", &[]);
    // The same input, processed by the same members, crashing at the same moment.
    assert!(alo.figures["output_duplicates"] > 1000.0, "{}", alo.figures["output_duplicates"]);
    assert_eq!(eos.figures["output_duplicates"], 0.0);
    for r in [&alo, &eos] {
        assert_eq!(r.figures["output_missing"], 0.0);
        // Every input record reached the output: visible records minus duplicates.
        assert_eq!(r.figures["output_records"] - r.figures["output_duplicates"], 16023.0);
    }
    // The crashed instance's transaction was left open until the coordinator aborted it.
    assert_eq!(eos.figures["transactions_timed_out"], 1.0);
    assert_eq!(alo.figures["transactions_committed"], 0.0);
}

#[test]
fn a_shorter_commit_interval_duplicates_less_under_at_least_once() {
    let every_30s = bundled("pipeline-at-least-once.ron", &[]);
    let every_1s = bundled("pipeline-at-least-once.ron", &[("consumer_groups[0].output.commit_interval_ms", "1000")]);
    let d30 = every_30s.figures["output_duplicates"];
    let d1 = every_1s.figures["output_duplicates"];
    // Everything since the last commit is processed again: up to 4 s of enricher-0's input
    // without a commit, up to 1 s with one every second.
    assert!(d30 > 1500.0, "{d30}");
    assert!(d1 > 0.0 && d1 < 700.0, "{d1}");
}

#[test]
fn a_zombie_is_fenced_by_its_generation_under_exactly_once() {
    let eos = bundled("pipeline-zombie-fenced.ron", &[]);
    // Its TxnOffsetCommit named a generation that was over: refused, and its transaction, with
    // the records it wrote after waking up, aborted.
    assert_eq!(eos.figures["output_duplicates"], 0.0);
    assert_eq!(eos.figures["output_missing"], 0.0);
    assert!(eos.figures["aborted_records_produced"] > 0.0);
    assert!(eos.figures["commit_failures"] >= 1.0);
    assert!(eos.summary.contains("TxnOffsetCommit refused") || eos.trace.contains("TxnOffsetCommit refused"));
    let alo = bundled(
        "pipeline-zombie-fenced.ron",
        &[AT_LEAST_ONCE, ("consumer_groups[0].output.commit_interval_ms", "100")],
    );
    // Committing as often, at-least-once still writes what the zombie processed after the group
    // moved on.
    assert!(alo.figures["output_duplicates"] > 0.0, "{}", alo.summary);
    assert_eq!(alo.figures["output_missing"], 0.0);
}

/// A two-member pipeline over 2 partitions with random crashes, pauses and broker failures.
fn scenario(guarantee: &str, faults: &[(u64, u8, u32)]) -> kafkasim::Scenario {
    let mut list = Vec::new();
    let mut crashed_member = None;
    for &(at_ms, kind, target) in faults {
        let fault = match kind % 5 {
            0 => format!("Crash(Broker({}))", target % 3),
            1 => format!("Isolate(Broker({}))", target % 3),
            2 if crashed_member.is_none() => {
                crashed_member = Some(target % 2);
                format!("Crash(Node(\"enricher-{}\"))", target % 2)
            }
            3 => format!("Pause(Node(\"enricher-{}\"), {})", target % 2, 2000 + 1000 * (target % 6)),
            _ => "Heal".to_string(),
        };
        list.push(format!("(at_ms: {at_ms}, fault: {fault})"));
    }
    list.push("(at_ms: 12000, fault: Heal)".into());
    for b in 0..3 {
        list.push(format!("(at_ms: 12000, fault: Restart(Broker({b})))"));
    }
    // A crashed instance comes back too, a new process with its old transactional.id.
    if let Some(m) = crashed_member {
        list.push(format!("(at_ms: 12000, fault: Restart(Node(\"enricher-{m}\")))"));
    }
    let src = format!(
        r#"Scenario(
            name: "pipeline-property", description: "random faults under a pipeline", seed: 5, duration_ms: 60000,
            cluster: (brokers: 3, group_coordinator: (group_initial_rebalance_delay_ms: 0),
                      replication: (replica_lag_time_max_ms: 3000, replica_socket_timeout_ms: 3000),
                      controller: (broker_heartbeat_interval_ms: 500, broker_session_timeout_ms: 2000),
                      transaction_coordinator: (transaction_abort_timed_out_transaction_cleanup_interval_ms: 1000)),
            topics: [
                (name: "in", partitions: 2, replication_factor: 3, min_insync_replicas: 2),
                (name: "out", partitions: 2, replication_factor: 3, min_insync_replicas: 2),
            ],
            producers: [(name: "p", topic: "in", arrival: Poisson(per_sec: 300.0), request_timeout_ms: 1000, stop_ms: 10000)],
            consumer_groups: [(
                name: "enricher", topics: ["in"], members: 2, auto_offset_reset: Earliest,
                session_timeout_ms: 6000, heartbeat_interval_ms: 2000, max_poll_interval_ms: 10000, processing_us: 300,
                output: Some((topic: "out", processing_guarantee: {guarantee}, commit_interval_ms: 200,
                              transaction_timeout_ms: 3000)),
            )],
            faults: [{}],
        )"#,
        list.join(", ")
    );
    kafkasim::scenario::parse("pipeline-property.ron", &src, &[]).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

proptest! {
    // 12 cases in CI; PROPTEST_CASES=500 for a longer search.
    #![proptest_config(crate::support::proptest_config(12))]

    #[test]
    fn random_faults_never_duplicate_or_drop_an_exactly_once_output(
        faults in proptest::collection::vec((500u64..11000, 0u8..5, 0u32..6), 1..6),
        exactly_once in proptest::bool::ANY,
    ) {
        let guarantee = if exactly_once { "ExactlyOnceV2" } else { "AtLeastOnce" };
        let s = scenario(guarantee, &faults);
        let mut sim = Simulation::new(&s);
        while sim.step().is_some() {
            let v = sim.check_invariants();
            prop_assert!(v.is_empty(), "{v:?} with faults {faults:?}");
        }
        let report = kafkasim::report::report_of(sim, &Default::default()).unwrap();
        prop_assert_eq!(report.figures["output_missing"], 0.0, "{} faults {:?}\n{}", guarantee, faults, report.summary);
        if exactly_once {
            prop_assert_eq!(report.figures["output_duplicates"], 0.0, "faults {:?}\n{}", faults, report.summary);
        }
        prop_assert_eq!(report.figures["lost_records"], 0.0, "faults {:?}\n{}", faults, report.summary);
        // Healed at 12 s, the group catches up (after 30 s request timeouts at worst): every
        // input record has an output record.
        let inputs: u64 = report.partitions.iter().filter(|p| p.topic == "in").map(|p| p.high_watermark).sum();
        let outputs = report.figures["output_records"] - report.figures["output_duplicates"];
        prop_assert_eq!(outputs, inputs as f64, "{} faults {:?}\n{}", guarantee, faults, report.summary);
    }
}

/// Runs the property test's scenario once and checks what it checks.
fn assert_complete(guarantee: &str, faults: &[(u64, u8, u32)]) -> kafkasim::Report {
    let report = kafkasim::run(&scenario(guarantee, faults), &Default::default()).unwrap();
    let inputs: u64 = report.partitions.iter().filter(|p| p.topic == "in").map(|p| p.high_watermark).sum();
    assert_eq!(report.figures["output_missing"], 0.0, "{}", report.summary);
    if guarantee == "ExactlyOnceV2" {
        assert_eq!(report.figures["output_duplicates"], 0.0, "{}", report.summary);
    }
    let outputs = report.figures["output_records"] - report.figures["output_duplicates"];
    assert_eq!(outputs, inputs as f64, "{}", report.summary);
    report
}

// Schedules the property test found failing, kept as plain tests.

#[test]
fn a_fenced_producers_late_offsets_never_commit_with_its_next_transaction() {
    // enricher-0 pauses between AddOffsetsToTxn and TxnOffsetCommit; its transaction times out
    // and is aborted meanwhile. When it wakes, its TxnOffsetCommit (of the fenced epoch) reached
    // the group and waited there, and the producer's next transaction used to commit those
    // offsets, skipping the aborted records. The group now refuses offsets of an epoch older
    // than the producer's last marker.
    assert_complete("ExactlyOnceV2", &[(3094, 3, 2)]);
}

#[test]
fn a_member_assigned_a_partition_with_no_known_leader_asks_for_metadata() {
    // Two brokers crash and the third is cut off: the members last heard that in-1 had no
    // leader. Assigned it again after the heal, one of them never fetched (it never asked
    // for metadata again).
    assert_complete("AtLeastOnce", &[(638, 1, 0), (2501, 4, 0), (520, 0, 2), (520, 0, 1)]);
}

#[test]
fn an_alter_partition_lost_on_a_cut_link_is_proposed_again() {
    // broker-0's ISR shrink was sent while it was still cut off; it waited for the answer
    // forever, so in-0's ISR never grew back and its high watermark stayed below
    // min.insync.replicas.
    let r = assert_complete("AtLeastOnce", &[(3001, 1, 0), (1426, 2, 0), (4501, 2, 0), (1324, 0, 2), (1324, 0, 4)]);
    for p in &r.partitions {
        assert_eq!(p.isr.len(), 3, "{} ISR {:?}", p.name, p.isr);
    }
}

#[test]
fn a_read_committed_member_waits_for_offsets_a_pending_transaction_holds() {
    // KIP-447: enricher-0 crashes after its TxnOffsetCommit reached the group and before it
    // committed its transaction. enricher-1, assigned its partitions at 10 s, gets
    // UNSTABLE_OFFSET_COMMIT until the coordinator aborts the transaction on its timeout (checked
    // every 10 s: at 20 s), and only then reads from the last committed offsets.
    let r = bundled("pipeline-unstable-offsets.ron", &[]);
    let unstable = crate::transactions::traced_at(&r, "offsets unstable").expect("the offsets were unstable");
    let aborted = crate::transactions::traced_at(&r, "txn_timeout").expect("the transaction timed out");
    let stable = crate::transactions::traced_at(&r, "offsets stable").expect("the offsets became stable");
    assert!(unstable > 10.0 && unstable < 10.1, "{unstable}");
    assert!(stable > aborted && stable - aborted < 0.1, "stable at {stable}, aborted at {aborted}");
    assert_eq!(r.figures["output_duplicates"], 0.0);
    assert_eq!(r.figures["output_missing"], 0.0);
    // Without the slow link the crash leaves no offsets pending: no wait.
    let plain = bundled("pipeline-exactly-once.ron", &[]);
    assert!(crate::transactions::traced_at(&plain, "offsets unstable").is_none());
}

#[test]
fn a_restarted_instance_aborts_its_crashed_transaction_at_once_and_nobody_waits_for_stable_offsets() {
    let run = |name: &str| {
        let s = kafkasim::scenario::load(&crate::support::root().join(format!("scenarios/{name}.ron")), &[]).unwrap();
        kafkasim::run(&s, &Default::default()).unwrap()
    };
    let waited = run("pipeline-unstable-offsets");
    let restarted = run("pipeline-exactly-once-restart");
    let at = |r: &kafkasim::Report, needle: &str| {
        r.trace
            .lines()
            .find(|l| l.contains(needle))
            .map(|l| l.split_whitespace().next().unwrap().parse::<f64>().unwrap())
    };
    // Without a restart, the crashed transaction holds the offsets until its timeout, and the
    // instance that takes over waits on UNSTABLE_OFFSET_COMMIT.
    assert_eq!(waited.figures["transactions_timed_out"], 1.0);
    assert!(at(&waited, "offsets unstable").is_some());
    // Restarted at 7 s with the same transactional.id: its InitProducerId aborts the transaction
    // at once, before the rebalance at 10 s, so the offsets are stable when anyone asks.
    let aborted = at(&restarted, "InitProducerId: aborting its open transaction").expect("an abort at restart");
    assert!((7.0..7.1).contains(&aborted), "aborted at {aborted} s");
    assert_eq!(restarted.figures["transactions_timed_out"], 0.0);
    assert!(at(&restarted, "offsets unstable").is_none());
    assert_eq!(restarted.figures["output_duplicates"], 0.0);
    assert_eq!(restarted.figures["output_missing"], 0.0);
    // The input records wait less: the worst end-to-end latency falls by more than half.
    let max = |r: &kafkasim::Report| r.figures["e2e_latency_max_ms"];
    assert!(max(&restarted) * 2.0 < max(&waited), "{} vs {}", max(&restarted), max(&waited));
}

#[test]
fn a_restarted_idempotent_instance_does_not_reuse_its_old_sequences() {
    // Found by the property test once crashed instances restart: the restarted at-least-once
    // producer numbered its batches from 0 again under the old producer id and epoch; the
    // broker refused them as out of order, and one output record went missing. A new producer
    // instance gets a new producer id in Kafka (a new epoch here).
    assert_complete("AtLeastOnce", &[(633, 0, 1), (634, 2, 1), (1001, 0, 2)]);
}
