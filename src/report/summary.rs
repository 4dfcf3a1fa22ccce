//! `summary.md` and the run header: settings, counts, latency percentiles, partitions, groups and
//! expectation verdicts, as Markdown with fixed precision.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Verdict;
use crate::metrics::{Percentiles, Recorder};
use crate::scenario::{Arrival, Key, Scenario};
use crate::sim::{GroupView, PartitionView};

/// The header `run` prints first: version, scenario, seed, and the derived settings.
pub fn header(s: &Scenario) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "kafkasim {} · scenario {} · seed {}",
        env!("CARGO_PKG_VERSION"),
        s.name,
        s.seed
    );
    let _ = writeln!(h, "{}", s.description.trim());
    let net = &s.cluster.network;
    let _ = writeln!(
        h,
        "duration {} ms · {} brokers · network latency {} µs + jitter 0..={} µs · metrics every {} ms",
        s.duration_ms, s.cluster.brokers, net.latency_us, net.jitter_us, s.sample_interval_ms
    );
    for l in &s.cluster.links {
        let _ = writeln!(
            h,
            "link {} ↔ {}: latency {} µs + jitter 0..={} µs",
            l.between.0, l.between.1, l.latency_us, l.jitter_us
        );
    }
    for t in &s.topics {
        let _ = writeln!(
            h,
            "topic {}: partitions={} replication_factor={} min_insync_replicas={} (replication is not modelled yet: the leader alone holds the log)",
            t.name, t.partitions, t.replication_factor, t.min_insync_replicas
        );
    }
    for p in &s.producers {
        let arrival = match &p.arrival {
            Arrival::Constant { per_sec } => format!("Constant({per_sec}/s)"),
            Arrival::Poisson { per_sec } => format!("Poisson({per_sec}/s)"),
        };
        let key = match &p.key {
            Key::Null => "null (uniform sticky partitioner)".to_string(),
            Key::Fixed(k) => format!("fixed {k:?}"),
            Key::Uniform { keys, prefix } => format!("uniform over {keys} keys \"{prefix}0\".. (murmur2)"),
            Key::OneOf(list) => format!("one of {} keys (murmur2)", list.len()),
        };
        let stop = p.stop_ms.map_or(String::new(), |ms| format!(" stop_ms={ms}"));
        let _ = writeln!(
            h,
            "producer {} → {}: arrival={arrival} key={key} value_bytes={} acks={} linger_ms={} batch_size={} max_in_flight_requests_per_connection={} max_request_size={} start_ms={}{stop}",
            p.name,
            p.topic,
            p.value_bytes,
            p.acks.kafka_name(),
            p.linger_ms,
            p.batch_size,
            p.max_in_flight_requests_per_connection,
            p.max_request_size,
            p.start_ms
        );
    }
    for g in &s.consumer_groups {
        let _ = writeln!(
            h,
            "group {}: members={} topics=[{}] processing_us={} fetch_min_bytes={} fetch_max_wait_ms={} max_partition_fetch_bytes={} (static even split)",
            g.name,
            g.members,
            g.topics.join(", "),
            g.processing_us,
            g.fetch_min_bytes,
            g.fetch_max_wait_ms,
            g.max_partition_fetch_bytes
        );
    }
    h
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

fn latency_row(name: &str, p: &Percentiles) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} |\n",
        p.count,
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max)
    )
}

/// The whole `summary.md`.
#[allow(clippy::too_many_arguments)]
pub fn summary(
    s: &Scenario,
    header: &str,
    r: &Recorder,
    figures: &BTreeMap<&'static str, f64>,
    verdicts: &[Verdict],
    partitions: &[PartitionView],
    groups: &[GroupView],
    events: u64,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", s.name);
    let _ = writeln!(out, "{}\n", s.description.trim());
    let _ = writeln!(out, "## Settings\n\n```text\n{header}```\n");
    let t = &r.totals;
    let _ = writeln!(out, "## Records\n");
    let _ = writeln!(
        out,
        "| produced | acknowledged | failed | consumed | produce requests | records per batch |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {:.3} |\n",
        t.produced, t.acked, t.failed, t.consumed, t.produce_requests, figures["records_per_batch_mean"]
    );
    let _ = writeln!(out, "## Latency (ms, from each record's intended send time)\n");
    let _ = writeln!(out, "| | records | p50 | p90 | p99 | p99.9 | max |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    out.push_str(&latency_row(
        "produce (to acknowledgement)",
        &Percentiles::of(&r.produce_latency.total),
    ));
    out.push_str(&latency_row(
        "end-to-end (to processed)",
        &Percentiles::of(&r.e2e_latency.total),
    ));
    out.push('\n');
    let _ = writeln!(out, "## Partitions at the end\n");
    let _ = writeln!(out, "| partition | leader | log start | high watermark | log end |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|");
    for p in partitions {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            p.name, p.leader, p.log_start_offset, p.high_watermark, p.log_end_offset
        );
    }
    out.push('\n');
    if !groups.is_empty() {
        let _ = writeln!(out, "## Consumer groups at the end\n");
        let _ = writeln!(out, "| group | member | partitions (position) | records consumed |");
        let _ = writeln!(out, "|---|---|---|---:|");
        for g in groups {
            for m in &g.members {
                let parts: Vec<String> = m.positions.iter().map(|(p, pos)| format!("{p} ({pos})")).collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    g.name,
                    m.name,
                    parts.join(", "),
                    m.records_consumed
                );
            }
            let _ = writeln!(out, "| {} | *lag* | {} records | |", g.name, g.lag_records);
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Figures\n");
    let _ = writeln!(out, "| figure | value |");
    let _ = writeln!(out, "|---|---:|");
    for (name, v) in figures {
        let _ = writeln!(out, "| {name} | {v:.3} |");
    }
    out.push('\n');
    let _ = writeln!(out, "## Expectations\n");
    if verdicts.is_empty() {
        let _ = writeln!(out, "None stated.");
    } else {
        let _ = writeln!(out, "| figure | expected | actual | verdict |");
        let _ = writeln!(out, "|---|---|---:|---|");
        for v in verdicts {
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} | {} |",
                v.figure,
                v.bound,
                v.actual,
                if v.holds { "ok" } else { "FAILED" }
            );
        }
    }
    let _ = writeln!(out, "\n{events} events simulated.");
    out
}
