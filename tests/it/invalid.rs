//! Invalid scenarios: each is rejected with a message naming the file, line:column, the field and
//! what is allowed. The messages are snapshotted so a worse message shows up in review.

use crate::support::{files, root, with_snapshots};

#[test]
fn every_invalid_scenario_is_rejected_with_a_located_message() {
    let paths = files("tests/invalid", "ron");
    assert!(paths.len() >= 15, "keep at least 15 invalid scenarios, found {}", paths.len());
    with_snapshots(|| {
        for path in paths {
            let rel = path.strip_prefix(root()).unwrap().display().to_string();
            let src = std::fs::read_to_string(&path).unwrap();
            let err = match kafkasim::scenario::parse(&rel, &src, &[]) {
                Ok(_) => panic!("{rel} was accepted but is invalid"),
                Err(e) => e,
            };
            let text = err.to_string();
            assert!(text.starts_with(&format!("error: {rel}:")), "{rel}: the message names the file: {text}");
            for p in &err.problems {
                assert!(p.line_col.is_some(), "{rel}: every problem has a line and column: {p:?}");
            }
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            insta::assert_snapshot!(format!("invalid-{stem}"), text);
        }
    });
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let path = root().join("tests/invalid/many-problems.ron");
    let err = kafkasim::scenario::load(&path, &[]).unwrap_err();
    let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "name",
        "topics[0].partitions",
        "topics[0].replication_factor",
        "producers[0].topic",
        "producers[0].max_in_flight_requests_per_connection",
        "consumer_groups[0].topics",
        "consumer_groups[0].members",
    ] {
        assert!(paths.contains(&expected), "missing a problem at {expected}: {paths:?}");
    }
}

#[test]
fn overrides_go_through_the_same_validation() {
    let path = root().join("scenarios/quickstart.ron");
    let set = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    // A valid override changes the scenario.
    let s = kafkasim::scenario::load(&path, &set("producers.checkout.linger_ms", "20")).unwrap();
    assert_eq!(s.producers[0].linger_ms, 20);
    // A field the file leaves at its default can be set too.
    let s = kafkasim::scenario::load(&path, &set("producers[0].max_in_flight_requests_per_connection", "1")).unwrap();
    assert_eq!(s.producers[0].max_in_flight_requests_per_connection, 1);
    // An invalid value is rejected by validation, with its path.
    let err = kafkasim::scenario::load(&path, &set("topics[0].replication_factor", "9")).unwrap_err();
    assert_eq!(err.problems[0].path, "topics[0].replication_factor");
    // A wrong type is rejected by the parser.
    let err = kafkasim::scenario::load(&path, &set("seed", "\"seven\"")).unwrap_err();
    assert!(err.to_string().contains("Expected"), "{err}");
    // A field inside a struct the file leaves out creates that struct.
    let s = kafkasim::scenario::load(&path, &set("cluster.replication.truncation", "HighWatermark")).unwrap();
    assert_eq!(s.cluster.replication.truncation, kafkasim::scenario::Truncation::HighWatermark);
    assert_eq!(s.cluster.brokers, 3, "the rest of the cluster is untouched");
    // An unknown name in the path says what exists.
    let err = kafkasim::scenario::load(&path, &set("producers.chekout.linger_ms", "1")).unwrap_err();
    assert!(err.to_string().contains("available: checkout"), "{err}");
}
