//! Every bundled scenario: it runs, meets its expectations, is deterministic, and is snapshotted.

use kafkasim::report::{ChartSelection, RunOptions};
use kafkasim::sim::TraceLevel;

use crate::support::{files, root, with_snapshots};

fn load(path: &std::path::Path) -> kafkasim::Scenario {
    crate::support::load_bundled(path)
}

/// Everything a run can write: the full trace, every chart, PNG and SVG.
const FULL: RunOptions = RunOptions { trace: TraceLevel::All, charts: ChartSelection::All, svg: true };

#[test]
fn bundled_list_matches_the_scenarios_folder() {
    let on_disk: Vec<String> =
        files("scenarios", "ron").iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let bundled: Vec<String> = kafkasim::bundled::SCENARIOS.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(bundled, on_disk, "src/bundled.rs must list every file in scenarios/");
    for (file, src) in kafkasim::bundled::SCENARIOS {
        let disk = std::fs::read_to_string(root().join("scenarios").join(file)).unwrap();
        assert_eq!(*src, disk, "{file}");
    }
}

#[test]
fn every_scenario_meets_its_expectations_and_is_snapshotted() {
    with_snapshots(|| {
        for path in files("scenarios", "ron") {
            let scenario = load(&path);
            assert!(!scenario.expect.is_empty(), "{}: a bundled scenario states what it shows", path.display());
            let report = kafkasim::run(&scenario, &RunOptions::default()).unwrap();
            let failed: Vec<String> = report
                .verdicts
                .iter()
                .filter(|v| !v.holds)
                .map(|v| format!("{} expected {} got {}", v.figure, v.bound, v.actual))
                .collect();
            assert!(failed.is_empty(), "{}: {failed:?}", scenario.name);
            insta::assert_snapshot!(format!("{}-summary", scenario.name), report.summary);
            insta::assert_snapshot!(format!("{}-trace", scenario.name), report.trace);
            for (chart, data) in &report.chart_data {
                insta::assert_snapshot!(format!("{}-chart-{chart}", scenario.name), data);
            }
        }
    });
}

/// SHA-256 of `bytes` as hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_scenario_gives_identical_bytes_twice() {
    let mut hashes = String::new();
    for path in files("scenarios", "ron") {
        let scenario = load(&path);
        let first = kafkasim::run(&scenario, &FULL).unwrap();
        // The full trace (every event) is pinned by its hash: any change in behaviour shows.
        hashes.push_str(&format!(
            "{} {} ({} lines)\n",
            scenario.name,
            sha256_hex(first.trace.as_bytes()),
            first.trace.lines().count()
        ));
        let a = first.artifacts();
        let b = kafkasim::run(&scenario, &FULL).unwrap().artifacts();
        assert_eq!(a.len(), b.len());
        assert!(a.iter().any(|(f, _)| f.ends_with(".png")), "charts are part of the comparison");
        for ((fa, ba), (fb, bb)) in a.iter().zip(&b) {
            assert_eq!(fa, fb);
            assert!(ba == bb, "{}: {fa} differs between two runs", scenario.name);
            assert!(!ba.is_empty(), "{}: {fa} is empty", scenario.name);
        }
    }
    with_snapshots(|| insta::assert_snapshot!("full-trace-hashes", hashes));
}

#[test]
fn another_seed_gives_another_trace() {
    let mut scenario = load(&root().join("scenarios/quickstart.ron"));
    let a = kafkasim::run(&scenario, &FULL).unwrap();
    scenario.seed += 1;
    let b = kafkasim::run(&scenario, &FULL).unwrap();
    assert_ne!(a.trace, b.trace);
    assert_ne!(a.metrics_csv, b.metrics_csv);
}

#[test]
fn stepping_reaches_the_same_state_as_running() {
    let scenario = load(&root().join("scenarios/quickstart.ron"));
    let mut stepped = kafkasim::Simulation::new(&scenario);
    let mut steps = 0u64;
    let mut last = kafkasim::sim::SimTime::ZERO;
    while let Some(step) = stepped.step() {
        assert!(step.time >= last, "time never goes backwards");
        last = step.time;
        steps += 1;
    }
    let mut ran = kafkasim::Simulation::new(&scenario);
    ran.run_until(kafkasim::sim::SimTime::from_ms(2500));
    ran.run();
    assert_eq!(steps, ran.events());
    assert_eq!(stepped.partitions(), ran.partitions());
    assert_eq!(stepped.groups(), ran.groups());
    assert_eq!(stepped.producers(), ran.producers());
}

#[test]
fn keyed_records_land_where_kafka_puts_them() {
    // kafkasim partition --partitions 6 user-1 user-2 user-3 user-4 → 2 2 5 1 (murmur2).
    let scenario = load(&root().join("scenarios/keyed-partitions.ron"));
    let mut sim = kafkasim::Simulation::new(&scenario);
    sim.run();
    let filled: Vec<bool> = sim.partitions().iter().map(|p| p.log_end_offset > 0).collect();
    assert_eq!(filled, [false, true, true, false, false, true]);
}
