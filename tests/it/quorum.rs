//! A KRaft controller quorum (`cluster.controller.quorum_voters`, KIP-595): losing the active
//! controller elects another within the fetch timeout and an election or two; a broker that dies
//! meanwhile is fenced a whole session after the new controller takes over; a controller cut off
//! from the others resigns and, thanks to the pre-vote (KIP-996), does not disrupt the quorum when
//! it is back; a broker that was down during the election finds the new controller; without a
//! majority nothing the controller decides happens; and under random
//! crashes of controllers and brokers there is never more than one leader per epoch.

use proptest::prelude::*;

use crate::support::{bundled_with, first_line_at, proptest_config, run, run_checking_invariants};

fn failover(set: &[(&str, &str)]) -> kafkasim::Scenario {
    bundled_with("controller-failover.ron", set)
}

/// When the trace says a controller became the active one (after the start), with its name.
fn activations(report: &kafkasim::Report) -> Vec<(f64, String)> {
    report
        .trace
        .lines()
        .filter(|l| l.contains("controller_active"))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].parse().unwrap(), f[1].to_string())
        })
        .collect()
}

#[test]
fn losing_the_active_controller_elects_another_after_the_fetch_timeout() {
    let report = run(&failover(&[]));
    assert_eq!(report.figures["lost_records"], 0.0);
    let active = activations(&report);
    assert_eq!(active.len(), 1, "one new active controller: {active:?}");
    let (at, who) = &active[0];
    assert_ne!(who, "controller-0", "the crashed controller cannot be elected");
    // The followers notice only once the fetch timeout (2 s) has passed since the leader's last
    // append (at most 500 ms before the crash at 10 s); a pre-vote and a vote take round trips,
    // a split vote an election timeout (1-2 s) and a backoff (at most 1 s) more.
    assert!((11.5..=15.0).contains(at), "new active controller at {at} s");
    let gap = report.figures["controller_unavailable_ms"];
    assert!((*at - 10.0) * 1000.0 - gap < 1.0, "the gap runs from the crash to the activation: {gap} ms");
    // controller-0 comes back at 30 s and follows the new leader without an election.
    let follows = first_line_at(&report, &["controller-0", "controller_follower"]).expect("controller-0 follows");
    assert!((30.0..31.0).contains(&follows), "controller-0 follows at {follows} s");
    assert_eq!(report.figures["controller_elections"], 1.0);
    assert!(report.summary.contains("## Controller quorum"), "{}", report.summary);
    let row = format!("controller_active,,{who},epoch");
    assert!(report.events_csv.lines().any(|l| l.contains(&row)), "{}", report.events_csv);
}

#[test]
fn a_broker_that_dies_during_the_election_is_fenced_a_session_after_the_new_controller_takes_over() {
    let with = run(&failover(&[]));
    let without = run(&failover(&[("faults[0].at_ms", "39000")]));
    let session_s = 9.0;
    let fenced = |r: &kafkasim::Report| first_line_at(r, &["fence", "broker-1: session timed out"]).unwrap();
    // The only controller: the session counts from broker-1's last heartbeat (before 10.5 s),
    // checked every 500 ms.
    assert!((10.5 + session_s - 2.0..=10.5 + session_s + 0.5).contains(&fenced(&without)), "{}", fenced(&without));
    // The new controller starts every broker's session afresh when it takes over.
    let (active_at, _) = activations(&with)[0].clone();
    assert!(fenced(&with) >= active_at + session_s, "fenced at {} s, active at {active_at} s", fenced(&with));
    assert!(fenced(&with) <= active_at + session_s + 0.5);
    // Until then acks=all produce requests wait for broker-1 in every ISR: longer here.
    assert!(
        with.figures["produce_latency_max_ms"] > without.figures["produce_latency_max_ms"] + 1000.0,
        "{} vs {}",
        with.figures["produce_latency_max_ms"],
        without.figures["produce_latency_max_ms"]
    );
}

#[test]
fn a_controller_cut_off_from_the_quorum_resigns_and_does_not_disrupt_it_when_it_is_back() {
    let s = failover(&[
        ("faults[0].fault", "CutOff(Controller, [Node(\"controller-1\"), Node(\"controller-2\")])"),
        ("faults[1].at_ms", "39000"),
        ("faults[2].fault", "Heal"),
    ]);
    let report = run_checking_invariants(&s).unwrap_or_else(|e| panic!("{e}"));
    // Check quorum: no answer from a majority for 1.5 x the fetch timeout (3 s).
    let resigned = first_line_at(&report, &["controller-0", "controller_resigned"]).expect("controller-0 resigns");
    assert!((12.5..=13.5).contains(&resigned), "resigned at {resigned} s");
    // Its pre-votes fail while it is cut off, so its epoch stays; once healed it follows.
    assert!(first_line_at(&report, &["controller-0", "controller_candidate"]).is_none(), "{}", report.trace);
    let follows = first_line_at(&report, &["controller-0", "controller_follower"]).expect("controller-0 follows");
    assert!(follows >= 30.0, "follows at {follows} s");
    assert_eq!(report.figures["controller_elections"], 1.0, "no election after the heal");
    assert_eq!(report.figures["lost_records"], 0.0);
}

#[test]
fn a_broker_that_missed_the_election_finds_the_new_controller() {
    // broker-1 is down while controller-1 takes over; back at 20 s, it heartbeats to the dead
    // controller-0, gets no answer, and asks the next controller at its next heartbeat.
    let s = failover(&[(
        "faults",
        "[(at_ms: 8000, fault: Crash(Broker(1))), (at_ms: 10000, fault: Crash(Controller)), \
         (at_ms: 20000, fault: Restart(Broker(1)))]",
    )]);
    let report = run(&s);
    let registered = first_line_at(&report, &["unfence", "broker-1 registered"]).expect("broker-1 registers");
    let heartbeat_s = 2.0;
    assert!((20.0..=20.0 + heartbeat_s + 0.01).contains(&registered), "registered at {registered} s");
    assert_eq!(report.figures["lost_records"], 0.0);
}

#[test]
fn without_a_majority_of_controllers_no_broker_is_fenced() {
    // Two of three controllers crash: the active one has no majority, resigns, and no one can be
    // elected. broker-1's death then goes unnoticed: it is never fenced, its partitions keep it as
    // leader, and nothing acknowledged is lost.
    let s = failover(&[
        ("faults[0].fault", "Crash(Node(\"controller-1\"))"),
        ("faults[2].at_ms", "10000"),
        ("faults[2].fault", "Crash(Node(\"controller-2\"))"),
        ("expect", "{}"),
    ]);
    let report = run(&s);
    assert!(first_line_at(&report, &["controller_resigned"]).is_some(), "{}", report.trace);
    assert!(first_line_at(&report, &["fence"]).is_none(), "{}", report.trace);
    assert_eq!(report.figures["controller_elections"], 0.0);
    assert!(report.figures["controller_unavailable_ms"] > 25_000.0);
    assert_eq!(report.figures["isr_shrinks"], 0.0);
    assert_eq!(report.figures["lost_records"], 0.0);
}

#[test]
fn a_single_controller_does_not_crash() {
    let report =
        run(&failover(&[("cluster.controller.quorum_voters", "1"), ("faults[2].fault", "Heal"), ("expect", "{}")]));
    let line = report.trace.lines().find(|l| l.contains("Crash(Controller)") || l.contains("crash controller"));
    let line = line.expect("the fault is in the trace");
    assert!(line.contains("quorum_voters"), "{line}");
    assert!(!report.summary.contains("## Controller quorum"));
}

proptest! {
    #![proptest_config(proptest_config(6))]

    /// Controllers and brokers crash and restart at random: one leader per epoch at every event
    /// (checked with Kafka's other invariants), and nothing acknowledged is lost.
    #[test]
    fn random_controller_crashes_keep_one_leader_per_epoch(
        seed in 0u64..1000,
        voters in prop::sample::select(vec![3u32, 5]),
        faults in prop::collection::vec((1_000u64..25_000, 0u32..5, any::<bool>(), 500u64..6_000), 1..4),
    ) {
        let faults: Vec<String> = faults
            .iter()
            .flat_map(|&(at, who, broker, down_ms)| {
                let target = if broker { format!("Broker({})", who % 3) } else { format!("Node(\"controller-{}\")", who % voters) };
                [
                    format!("(at_ms: {at}, fault: Crash({target}))"),
                    format!("(at_ms: {}, fault: Restart({target}))", at + down_ms),
                ]
            })
            .collect();
        let s = failover(&[
            ("seed", &seed.to_string()),
            ("duration_ms", "32000"),
            ("cluster.controller.quorum_voters", &voters.to_string()),
            ("faults", &format!("[{}]", faults.join(", "))),
            ("expect", "{}"),
        ]);
        let report = run_checking_invariants(&s).map_err(TestCaseError::fail)?;
        prop_assert_eq!(report.figures["lost_records"], 0.0);
    }
}
