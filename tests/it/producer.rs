//! The producer's CPU model and `flush()` end to end: what one shared core does to linger.ms 0,
//! what a core per thread does instead, what each codec costs, and when a flush returns.

fn run(src: &str) -> kafkasim::Report {
    let scenario = kafkasim::scenario::parse("inline.ron", src, &[]).unwrap_or_else(|e| panic!("{e}"));
    kafkasim::run(&scenario, &kafkasim::RunOptions::default()).unwrap()
}

/// One partition, linger.ms 0, 20,000 records/s and a sender that needs 100 µs per request.
fn saturating(cores: u32, cpu_extra: &str) -> String {
    format!(
        r#"Scenario(name: "cpu", description: "d", seed: 4, duration_ms: 1000,
            cluster: (brokers: 1, network: (latency_us: 100)), topics: [(name: "t")],
            producers: [(name: "p", topic: "t", arrival: Poisson(per_sec: 20000.0), acks: One, linger_ms: 0,
                cpu: (cores: {cores}, per_record_ns: 2000, request_us: 100{cpu_extra}))])"#
    )
}

/// linger.ms 0 on one shared core: every record wakes the sender, which ships it alone before
/// the next send(), so each record pays a whole request (102 µs: at most ~9,800/s). With a core
/// per thread, records that arrive while the sender builds a request batch by themselves and the
/// offered rate gets through (Kafka's LINGER_MS_DOC: batching happens anyway under load).
#[test]
fn one_shared_core_caps_linger_zero_and_a_core_per_thread_batches_under_load() {
    let shared = run(&saturating(1, ""));
    let own = run(&saturating(2, ""));
    let f = |r: &kafkasim::Report, name: &str| r.figures[name];
    let offered = f(&shared, "records_produced");
    assert_eq!(offered, f(&own, "records_produced"), "common random numbers");
    let capacity = 1e9 / (2000.0 + 100_000.0); // records per second of one core
    assert!(f(&shared, "acked_per_sec") <= capacity * 1.01, "{} > {capacity}", f(&shared, "acked_per_sec"));
    assert!(f(&shared, "acked_per_sec") > 0.9 * capacity, "the core is kept busy: {}", f(&shared, "acked_per_sec"));
    assert_eq!(f(&shared, "records_per_batch_mean"), 1.0, "one record per request");
    assert!(f(&own, "acked_per_sec") > 0.98 * offered, "{} of {offered}", f(&own, "acked_per_sec"));
    assert!(f(&own, "records_per_batch_mean") > 1.5, "batching under load: {}", f(&own, "records_per_batch_mean"));
    // The sender's time is its requests' cost; send()'s time is the records appended.
    for r in [&shared, &own] {
        assert!((f(r, "producer_sender_cpu_ms") - f(r, "produce_requests") * 0.1).abs() < 0.01);
        assert!(f(r, "producer_app_cpu_ms") >= f(r, "records_acked") * 0.002);
    }
}

/// Each codec costs the application thread its documented time per KiB of records, gzip the
/// most and lz4 the least; `compression_per_kib_ns` replaces the codec's figure.
#[test]
fn each_codec_costs_its_cpu_per_kib() {
    let per_record_us = |codec: &str, extra: &str| {
        let r = run(&format!(
            r#"Scenario(name: "codec", description: "d", seed: 4, duration_ms: 500,
                cluster: (brokers: 1), topics: [(name: "t")],
                producers: [(name: "p", topic: "t", arrival: Constant(per_sec: 1000.0), acks: One,
                    value_bytes: 1000, compression_type: {codec}, cpu: ({extra}))])"#
        ));
        r.figures["producer_app_cpu_ms"] * 1000.0 / r.figures["records_produced"]
    };
    let none = per_record_us("None", "");
    let costs: Vec<f64> = ["Lz4", "Snappy", "Zstd", "Gzip"].iter().map(|c| per_record_us(c, "")).collect();
    assert_eq!(none, 0.0, "no compression, no send() cost: no CPU");
    assert!(costs.windows(2).all(|w| w[0] < w[1]), "lz4 < snappy < zstd < gzip: {costs:?}");
    // A ~1 KiB record: about one KiB's worth of the codec's cost.
    for (codec, cost) in ["Lz4", "Snappy", "Zstd", "Gzip"].iter().zip(&costs) {
        let c: kafkasim::scenario::Compression = ron::from_str(codec).unwrap();
        let per_kib_us = c.cpu_per_kib_ns() as f64 / 1000.0;
        assert!((0.9 * per_kib_us..1.1 * per_kib_us).contains(cost), "{codec}: {cost} µs per record");
    }
    assert_eq!(per_record_us("Gzip", "compression_per_kib_ns: 0"), 0.0);
}

/// A `cpu` block of zeros changes nothing: the same trace as without one (the start line aside).
#[test]
fn zero_costs_are_the_same_as_no_cpu_model() {
    let src = |cpu: &str| {
        format!(
            r#"Scenario(name: "zero", description: "d", seed: 9, duration_ms: 1000,
                topics: [(name: "t", partitions: 3, replication_factor: 3)],
                producers: [(name: "p", topic: "t", arrival: Poisson(per_sec: 3000.0), key: Uniform(keys: 50){cpu})])"#
        )
    };
    let figures = |s: String| {
        let mut f = run(&s).figures;
        f.remove("producer_app_cpu_ms");
        f.remove("producer_sender_cpu_ms");
        f
    };
    assert_eq!(figures(src("")), figures(src(", cpu: ()")));
}

/// linger.ms far beyond the run and batches that never fill: nothing leaves until the
/// application flushes. Each flush sends
/// every batch at once and returns when every record appended before it is acknowledged; the
/// records created during a flush wait for it to return.
#[test]
fn flush_sends_everything_and_returns_when_it_is_acknowledged() {
    let src = |flush: &str| {
        format!(
            r#"Scenario(name: "flush", description: "d", seed: 2, duration_ms: 3000,
                cluster: (brokers: 3, network: (latency_us: 500)),
                topics: [(name: "t", partitions: 3, replication_factor: 3, min_insync_replicas: 2)],
                producers: [(name: "p", topic: "t", arrival: Constant(per_sec: 100.0), linger_ms: 10000,
                    batch_size: 1048576{flush})])"#
        )
    };
    let none = run(&src(""));
    assert_eq!(none.figures["records_acked"], 0.0, "nothing lingered out");
    assert_eq!(none.figures["flushes"], 0.0);
    let report = run(&src(", flush_at_ms: [1000, 2000]"));
    assert_eq!(report.figures["flushes"], 2.0);
    // Records created before 2000 ms (one every 10 ms, the first at 0) are all acknowledged;
    // later ones wait for linger.ms.
    assert_eq!(report.figures["records_acked"], 200.0);
    // acks=all: a flush takes at least the produce round trip plus a follower fetch.
    let flush_ms = report.figures["flush_time_max_ms"];
    assert!((2.0..100.0).contains(&flush_ms), "{flush_ms} ms");
    let lines: Vec<&str> =
        report.trace.lines().filter(|l| matches!(l.split_whitespace().nth(2), Some("flush" | "flush_done"))).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].contains("flush() called with 100 records unfinished"), "{lines:?}");
}
