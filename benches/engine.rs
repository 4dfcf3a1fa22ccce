//! `cargo bench`: the event queue against a plain `BinaryHeap`, and the whole model on a
//! scaled-up quickstart. Prints numbers; asserts nothing (speed is measured here, never in tests).
#![allow(clippy::disallowed_types)] // a benchmark reads the wall clock

/// The allocator the `kafkasim` binary uses (see `src/main.rs`), so the numbers are the CLI's.
#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

#[path = "../src/allocator.rs"]
mod allocator;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Instant;

use kafkasim::sim::{EventQueue, SimTime};

/// An inline payload about the size of the engine's events.
type Payload = [u64; 5];

const PENDING: usize = 1_000;
const OPS: u64 = 20_000_000;

/// xorshift: cheap deterministic delays so both queues see the same workload.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn bench_queue() -> f64 {
    let mut q: EventQueue<Payload> = EventQueue::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..PENDING as u64 {
        q.push(SimTime(next(&mut x) % 1_000_000), [i; 5]);
    }
    let start = Instant::now();
    for _ in 0..OPS {
        let (t, _, p) = q.pop().expect("pending events");
        q.push(SimTime(t.0 + next(&mut x) % 1_000_000), black_box(p));
    }
    black_box(q.len());
    start.elapsed().as_nanos() as f64 / OPS as f64
}

fn bench_binary_heap() -> f64 {
    // The usual pattern: Reverse((time, seq)) with the payload alongside.
    let mut q: BinaryHeap<Reverse<(u64, u64, Payload)>> = BinaryHeap::with_capacity(1024);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut seq = 0u64;
    for i in 0..PENDING as u64 {
        q.push(Reverse((next(&mut x) % 1_000_000, seq, [i; 5])));
        seq += 1;
    }
    let start = Instant::now();
    for _ in 0..OPS {
        let Reverse((t, _, p)) = q.pop().expect("pending events");
        q.push(Reverse((t + next(&mut x) % 1_000_000, seq, black_box(p))));
        seq += 1;
    }
    black_box(q.len());
    start.elapsed().as_nanos() as f64 / OPS as f64
}

/// The quickstart cluster scaled up: 10 producers at 5,000 records/s each (50,000/s), 12
/// partitions, a group of 4 consumers at 10 µs per record, 60 simulated seconds.
fn scaled_quickstart() -> kafkasim::Scenario {
    let src = include_str!("../scenarios/quickstart.ron");
    let mut set: Vec<(String, String)> = vec![
        ("duration_ms".into(), "60000".into()),
        ("topics[0].partitions".into(), "12".into()),
        ("consumer_groups[0].members".into(), "4".into()),
        ("consumer_groups[0].processing_us".into(), "10".into()),
        ("expect".into(), "{}".into()),
        ("charts".into(), "[]".into()),
    ];
    let producers: Vec<String> = (0..10)
        .map(|i| {
            format!(
                "(name: \"p{i}\", topic: \"orders\", arrival: Poisson(per_sec: 5000.0), key: Uniform(keys: 1000), value_bytes: 200)"
            )
        })
        .collect();
    set.push(("producers".into(), format!("[{}]", producers.join(", "))));
    kafkasim::scenario::parse("quickstart-scaled.ron", src, &set).expect("valid scaled scenario")
}

fn bench_model() {
    let scenario = scaled_quickstart();
    let virtual_s = scenario.duration_ms as f64 / 1000.0;
    // Three runs: the machine may be shared, so report the best and the median.
    let mut walls = Vec::new();
    let (mut events, mut records) = (0, 0);
    for _ in 0..3 {
        let start = Instant::now();
        let mut sim = kafkasim::Simulation::new(&scenario);
        sim.run();
        walls.push(start.elapsed().as_secs_f64());
        events = sim.events();
        records = sim.producers().iter().map(|p| p.records_sent).sum::<u64>();
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "model (quickstart ×25: 10 producers × 5,000 records/s, 12 partitions, {virtual_s:.0} s): {events} events, {records} records"
    );
    for (what, wall) in [("best", walls[0]), ("median", walls[1])] {
        println!(
            "  {what} of 3: {wall:.3} s wall · {:.2} M events/s · {:.1} virtual s per wall s · {:.2} M records/s",
            events as f64 / wall / 1e6,
            virtual_s / wall,
            records as f64 / wall / 1e6
        );
    }
}

fn main() {
    allocator::configure();
    // `cargo bench -- model` or `cargo bench -- queue` runs one part.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wants = |part: &str| only.is_empty() || only.iter().any(|a| a == part);
    if wants("queue") {
        queues();
    }
    if wants("model") {
        bench_model();
    }
    if wants("bench100k") {
        bench_100k();
    }
    // Not part of the default run: one short model run to profile (`perf record`, or
    // `valgrind --tool=callgrind`, which is slow but counts instructions exactly).
    if only.iter().any(|a| a == "profile") {
        profile_model();
    }
}

/// One run of the scaled quickstart for `KAFKASIM_PROFILE_MS` simulated ms (default 10,000);
/// with `KAFKASIM_PROFILE_MIX` set, it counts the events by kind and node instead of timing.
fn profile_model() {
    let mut scenario = scaled_quickstart();
    scenario.duration_ms = std::env::var("KAFKASIM_PROFILE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let start = Instant::now();
    let mut sim = kafkasim::Simulation::new(&scenario);
    if std::env::var_os("KAFKASIM_PROFILE_MIX").is_some() {
        // The event mix (slower: every step is described): what kinds of event the run spends.
        let mut mix = std::collections::BTreeMap::<String, u64>::new();
        let (mut pending_sum, mut pending_max, mut steps) = (0, 0, 0);
        while let Some(step) = sim.step() {
            let pending = sim.pending_events();
            (pending_sum, pending_max, steps) = (pending_sum + pending, pending_max.max(pending), steps + 1);
            let kind = step.event.split(" from ").next().unwrap_or_default().to_string();
            *mix.entry(format!("{kind} @ {}", step.node.trim_end_matches(char::is_numeric))).or_default() += 1;
        }
        let mut mix: Vec<(String, u64)> = mix.into_iter().collect();
        mix.sort_by_key(|m| std::cmp::Reverse(m.1));
        for (what, n) in mix {
            println!("{n:>10} {what}");
        }
        println!("pending events: {} on average, {pending_max} at most", pending_sum / steps.max(1));
    } else {
        sim.run();
    }
    let wall = start.elapsed().as_secs_f64();
    println!(
        "profile: scaled quickstart, {} ms simulated: {} events in {wall:.3} s wall",
        scenario.duration_ms,
        sim.events()
    );
    // Leave the simulation to the OS: dropping millions of log batches would dominate a profile.
    std::mem::forget(sim);
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// `scenarios/bench-100k.ron` for 60 s, then for 600 s: speed, and whether memory stays flat.
fn bench_100k() {
    let src = include_str!("../scenarios/bench-100k.ron");
    for duration_ms in [60_000u64, 600_000] {
        let set = vec![("duration_ms".to_string(), duration_ms.to_string())];
        let scenario = kafkasim::scenario::parse("bench-100k.ron", src, &set).expect("valid bench scenario");
        let start = Instant::now();
        let mut sim = kafkasim::Simulation::new(&scenario);
        sim.run();
        let wall = start.elapsed().as_secs_f64();
        let events = sim.events();
        let virtual_s = duration_ms as f64 / 1000.0;
        println!(
            "bench-100k, {virtual_s:.0} s simulated: {events} events in {wall:.2} s wall · {:.2} M events/s · {:.1} virtual s per wall s · peak RSS so far {:.1} MiB",
            events as f64 / wall / 1e6,
            virtual_s / wall,
            peak_rss_mib()
        );
    }
}

fn queues() {
    // Warm up both, then measure each twice and keep the better run.
    bench_queue();
    bench_binary_heap();
    let queue = bench_queue().min(bench_queue());
    let heap = bench_binary_heap().min(bench_binary_heap());
    println!("queue, {PENDING} pending, 40-byte inline payload, {OPS} pop+push pairs:");
    println!("  kafkasim EventQueue (timing wheel + 4-ary heap): {queue:.1} ns per pop+push");
    println!("  std BinaryHeap<Reverse<(time, seq, payload)>>: {heap:.1} ns per pop+push");
    println!("  ratio heap/queue: {:.2}", heap / queue);
}
