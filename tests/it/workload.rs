//! Workloads end to end: the accumulator against queueing theory, common random numbers across
//! key and value settings, bursty against Poisson arrivals, and replayed records.

use kafkasim::sim::{SimTime, TraceLevel};

use crate::support::{root, temp_dir};

fn parse(src: &str) -> kafkasim::Scenario {
    kafkasim::scenario::parse("inline.ron", src, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The issue's must-show. Poisson arrivals at λ = 1000/s into one partition with linger.ms
/// T = 5 and a batch that never fills: a batch opens with a record, collects the Poisson(λT)
/// records of the next T and leaves at exactly T (the network is fast and max.in.flight 5, so
/// the sender never blocks). Renewal-reward over batches:
///   records per batch  = 1 + λT = 6
///   mean wait          = (T + λT·T/2) / (1 + λT) = T(1 + λT/2)/(1 + λT) = 5 × 3.5 / 6 ≈ 2.917 ms
/// (the first record waits T, each later one T/2 on average).
#[test]
fn the_accumulator_matches_theory_for_poisson_arrivals() {
    let scenario = parse(
        r#"Scenario(
            name: "theory", description: "Poisson into one lingering partition", seed: 42,
            duration_ms: 200000,
            cluster: (brokers: 1, network: (latency_us: 50)),
            topics: [(name: "t", partitions: 1)],
            producers: [(name: "p", topic: "t", arrival: Poisson(per_sec: 1000.0), acks: One,
                linger_ms: 5, batch_size: 1048576, max_in_flight_requests_per_connection: 5)],
        )"#,
    );
    let mut sim = kafkasim::Simulation::new(&scenario);
    sim.run();
    let r = sim.recorder();
    let (lambda, t) = (1.0, 5.0); // per ms, ms
    let per_batch = r.totals.batched_records as f64 / r.totals.batches as f64;
    let wait = r.accumulator_wait_mean_ms();
    let expected_batch = 1.0 + lambda * t;
    let expected_wait = t * (1.0 + lambda * t / 2.0) / (1.0 + lambda * t);
    eprintln!(
        "records per batch {per_batch:.4} (theory {expected_batch:.4}), accumulator wait {wait:.4} ms (theory {expected_wait:.4}) over {} batches",
        r.totals.batches
    );
    assert!(r.totals.batches > 30_000, "{} batches", r.totals.batches);
    assert!(
        (per_batch - expected_batch).abs() <= 0.02 * expected_batch,
        "records per batch {per_batch}, theory {expected_batch}"
    );
    assert!(
        (wait - expected_wait).abs() <= 0.02 * expected_wait,
        "accumulator wait {wait} ms, theory {expected_wait} ms"
    );
    // One batch per request and no request ever waits for an in-flight slot.
    assert_eq!(r.totals.batches, r.totals.produce_requests);
}

/// Times of the producer's `record` trace lines.
fn record_times(scenario: &kafkasim::Scenario) -> Vec<String> {
    let mut sim = kafkasim::Simulation::with_trace(scenario, TraceLevel::All);
    sim.run();
    sim.trace()
        .text()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (time, node, event) = (w.next()?, w.next()?, w.next()?);
            (node == "p" && event == "record").then(|| time.to_string())
        })
        .collect()
}

#[test]
fn changing_keys_or_value_sizes_leaves_arrival_times_alone() {
    let base = |arrival: &str, key: &str, value: &str| {
        parse(&format!(
            r#"Scenario(name: "crn", description: "d", seed: 5, duration_ms: 3000,
                topics: [(name: "t", partitions: 6)],
                producers: [(name: "p", topic: "t", arrival: {arrival}, key: {key}{value})])"#
        ))
    };
    for arrival in [
        "Poisson(per_sec: 2000.0)",
        "OnOff(on_ms: 20, off_ms: 30, per_sec: 4000.0, exponential_periods: true)",
        "Mmpp(rates: [500.0, 5000.0], mean_dwell_ms: [100.0, 20.0])",
    ] {
        let reference = record_times(&base(arrival, "Null", ""));
        assert!(reference.len() > 1000, "{arrival}: {} records", reference.len());
        for (key, value) in [
            ("Uniform(keys: 100)", ""),
            ("Zipf(keys: 1000, s: 1.1)", ""),
            ("Null", ", value_size: LogNormal(median_bytes: 500, sigma: 1.0)"),
            ("Zipf(keys: 10, s: 2.0)", ", value_size: Uniform(min_bytes: 1, max_bytes: 9000)"),
        ] {
            assert_eq!(
                record_times(&base(arrival, key, value)),
                reference,
                "{arrival} with key {key}{value}: the arrival times moved"
            );
        }
    }
}

/// The bundled bursty-arrivals scenario, one producer at a time: the on/off producer's p99 is far
/// above the Poisson producer's at the same mean rate.
#[test]
fn a_bursty_producer_has_a_higher_p99_than_poisson_at_the_same_mean_rate() {
    let scenario = kafkasim::scenario::load(&root().join("scenarios/bursty-arrivals.ron"), &[]).unwrap();
    let alone = |name: &str| {
        let mut s = scenario.clone();
        s.producers.retain(|p| p.name == name);
        s.consumer_groups.clear();
        let report = kafkasim::run(&s, &kafkasim::RunOptions::default()).unwrap();
        (report.figures["produce_latency_p99_ms"], report.figures["records_produced"])
    };
    let (bursty_p99, bursty_records) = alone("bursty");
    let (poisson_p99, poisson_records) = alone("poisson");
    eprintln!("p99 bursty {bursty_p99} ms ({bursty_records} records), Poisson {poisson_p99} ms ({poisson_records})");
    let rate_ratio = bursty_records / poisson_records;
    assert!((0.95..=1.05).contains(&rate_ratio), "same mean rate: {rate_ratio}");
    assert!(bursty_p99 > 3.0 * poisson_p99, "bursty {bursty_p99} ms vs Poisson {poisson_p99} ms");
}

#[test]
fn replayed_records_keep_their_times_keys_and_value_sizes() {
    let dir = temp_dir("replay");
    // user-1 → partition 2, user-3 → 5, user-4 → 1 (murmur2, 6 partitions); rows without a key
    // use the producer's Fixed("user-3"); rows without a size its value_bytes (10).
    std::fs::write(
        dir.join("trace.csv"),
        "time_ms,key,value_bytes\n0,user-1,1000\n20,,\n40.5,user-4,10\n60.5,user-1,\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("s.ron"),
        r#"Scenario(name: "replay", description: "d", seed: 1, duration_ms: 1000,
            cluster: (brokers: 1), topics: [(name: "t", partitions: 6)],
            producers: [(name: "p", topic: "t", arrival: Replay(file: "trace.csv"),
                key: Fixed("user-3"), value_bytes: 10, acks: One, start_ms: 100)])"#,
    )
    .unwrap();
    // Loaded from elsewhere: the CSV is found next to the scenario, not in the working directory.
    let scenario = kafkasim::scenario::load(&dir.join("s.ron"), &[]).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = kafkasim::Simulation::with_trace(&scenario, TraceLevel::All);
    sim.run();
    let ends: Vec<u64> = sim.partitions().iter().map(|p| p.log_end_offset).collect();
    assert_eq!(ends, [0, 1, 2, 0, 0, 1]);
    let lines = |event: &str| -> Vec<String> {
        sim.trace().text().lines().filter(|l| l.split_whitespace().nth(2) == Some(event)).map(str::to_string).collect()
    };
    let times: Vec<String> = lines("record").iter().map(|l| l.split_whitespace().next().unwrap().to_string()).collect();
    assert_eq!(times, ["0.100000", "0.120000", "0.140500", "0.160500"]);
    // The first record, alone in its batch: 61-byte header + DefaultRecord of a 6-byte key and a
    // 1000-byte value: body 1 + 1 + 1 + (1 + 6) + (2 + 1000) + 1 = 1013, plus a 2-byte length.
    assert!(lines("send")[0].contains("bytes=1076"), "{:?}", lines("send"));
    assert_eq!(sim.recorder().totals.produced, 4);
    assert!(sim.now() <= SimTime::from_ms(1000));
}

/// One producer of null-key records over 6 partitions with the given partitioner.
fn partitioned(partitioner: &str) -> kafkasim::Report {
    let src = format!(
        r#"Scenario(
            name: "partitioners", description: "null keys", seed: 9, duration_ms: 5000,
            cluster: (brokers: 3),
            topics: [(name: "t", partitions: 6)],
            producers: [(name: "p", topic: "t", arrival: Poisson(per_sec: 3000.0), acks: One, linger_ms: 5,
                batch_size: 2048, partitioner: {partitioner})],
        )"#
    );
    crate::support::run_inline("partitioners.ron", &src)
}

#[test]
fn each_partitioner_places_null_key_records_as_its_kafka_version_does() {
    let ends = |r: &kafkasim::Report| r.partitions.iter().map(|p| p.log_end_offset).collect::<Vec<u64>>();
    // An explicit partition takes everything.
    let explicit = partitioned("Explicit(4)");
    let e = ends(&explicit);
    assert_eq!(e.iter().sum::<u64>(), e[4], "{e:?}");
    // Kafka ≤ 2.3 round-robin: counts differ by at most one; one record per batch per partition
    // visit, so batches are small.
    let rr = partitioned("RoundRobin");
    let r = ends(&rr);
    assert!(r.iter().max().unwrap() - r.iter().min().unwrap() <= 1, "{r:?}");
    // The sticky partitioners (2.4–3.2 and 3.3+) fill one partition's batch at a time: many
    // more records per batch than round-robin at the same rate and linger.ms.
    for sticky in ["StickyCache", "UniformSticky"] {
        let s = partitioned(sticky);
        assert!(
            s.figures["records_per_batch_mean"] > 2.0 * rr.figures["records_per_batch_mean"],
            "{sticky}: {} vs round-robin {}",
            s.figures["records_per_batch_mean"],
            rr.figures["records_per_batch_mean"]
        );
        // Every partition still gets records over the run.
        assert!(ends(&s).iter().all(|&n| n > 0), "{sticky}: {:?}", ends(&s));
    }
}
