//! `summary.md` and the run header: settings, counts, latency percentiles, partitions, groups and
//! expectation verdicts, as Markdown with fixed precision.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::Verdict;
use crate::cluster::ClusterEvent;
use crate::metrics::Percentiles;
use crate::scenario::{Arrival, Key, Scenario, Truncation, ValueSize};
use crate::sim::Finished;

/// The header `run` prints first: version, scenario, seed, and the derived settings.
pub fn header(s: &Scenario) -> String {
    let mut h = String::new();
    let _ = writeln!(h, "kafkasim {} · scenario {} · seed {}", env!("CARGO_PKG_VERSION"), s.name, s.seed);
    let _ = writeln!(h, "{}", s.description.trim());
    let net = &s.cluster.network;
    let speeds: String = [(net.bandwidth_mbps, "links"), (net.nic_mbps, "network interfaces")]
        .iter()
        .filter_map(|(mbps, what)| mbps.map(|m| format!(" · {what} {m} Mbit/s")))
        .collect();
    let _ = writeln!(
        h,
        "duration {} ms · {} brokers · network latency {} µs + jitter 0..={} µs{speeds} · metrics every {} ms",
        s.duration_ms, s.cluster.brokers, net.latency_us, net.jitter_us, s.sample_interval_ms
    );
    for f in &s.faults {
        let _ = writeln!(h, "fault at {} ms: {:?}", f.at_ms, f.fault);
    }
    for l in &s.cluster.links {
        let _ = writeln!(
            h,
            "link {} ↔ {}: latency {} µs + jitter 0..={} µs",
            l.between.0, l.between.1, l.latency_us, l.jitter_us
        );
    }
    let r = &s.cluster.replication;
    let k = &s.cluster.controller;
    let _ = writeln!(
        h,
        "replication: truncation={} replica_lag_time_max_ms={} replica_fetch_wait_max_ms={} hw_checkpoint_ms={} page_cache_writeback_ms={} log_flush_interval_ms={} hw_waits_for_min_isr={}{}",
        match r.truncation {
            Truncation::LeaderEpoch => "leader-epoch (KIP-101/279)",
            Truncation::HighWatermark => "high-watermark (pre-0.11)",
            Truncation::LeaderEpochBeforeKip279 => "leader-epoch without KIP-279 (0.11-1.1)",
        },
        r.replica_lag_time_max_ms,
        r.replica_fetch_wait_max_ms,
        r.replica_high_watermark_checkpoint_interval_ms,
        r.page_cache_writeback_ms,
        r.log_flush_interval_ms.map_or("none".to_string(), |v| v.to_string()),
        r.high_watermark_waits_for_min_isr,
        [("leader", r.leader_replication_throttled_rate), ("follower", r.follower_replication_throttled_rate)]
            .iter()
            .filter_map(|(side, rate)| rate
                .map(|t| format!(" {side}_replication_throttled_rate={t} B/s (reassigning partitions)")))
            .collect::<String>()
    );
    let _ = writeln!(
        h,
        "controller: heartbeat_ms={} session_timeout_ms={} auto_leader_rebalance={} imbalance_check_ms={} restart_fences_broker={} eligible_leader_replicas={}{}",
        k.broker_heartbeat_interval_ms,
        k.broker_session_timeout_ms,
        k.auto_leader_rebalance_enable,
        k.leader_imbalance_check_interval_ms,
        k.restart_fences_broker,
        k.eligible_leader_replicas,
        match k.quorum_voters {
            0 | 1 => String::new(),
            n => format!(
                " quorum_voters={n} quorum_fetch_timeout_ms={} quorum_election_timeout_ms={} quorum_election_backoff_max_ms={}",
                k.quorum_fetch_timeout_ms, k.quorum_election_timeout_ms, k.quorum_election_backoff_max_ms
            ),
        }
    );
    for t in &s.topics {
        let _ = writeln!(
            h,
            "topic {}: partitions={} replication_factor={} min_insync_replicas={} unclean_leader_election_enable={}{}",
            t.name,
            t.partitions,
            t.replication_factor,
            t.min_insync_replicas,
            t.unclean_leader_election_enable,
            retention_text(t, s)
        );
    }
    for p in &s.producers {
        let arrival = match p.output_of {
            Some((g, m)) => format!("none (writes what {}-{m} processes)", s.consumer_groups[g as usize].name),
            None => arrival_text(&p.arrival),
        };
        let key = match &p.key {
            _ if p.output_of.is_some() => "none (each record to the partition numbered as its input's)".to_string(),
            Key::Null => "null (uniform sticky partitioner)".to_string(),
            Key::Fixed(k) => format!("fixed {k:?}"),
            Key::Uniform { keys, prefix } => format!("uniform over {keys} keys \"{prefix}0\".. (murmur2)"),
            Key::OneOf(list) => format!("one of {} keys (murmur2)", list.len()),
            Key::Zipf { keys, s, prefix } => {
                format!("Zipf s={s} over {keys} keys \"{prefix}0\" (most frequent).. (murmur2)")
            }
        };
        let value = match p.value_size {
            None => format!("value_bytes={}", p.value_bytes),
            Some(ValueSize::Fixed(b)) => format!("value_size=Fixed({b} bytes)"),
            Some(ValueSize::Uniform { min_bytes, max_bytes }) => {
                format!("value_size=Uniform({min_bytes}..={max_bytes} bytes)")
            }
            Some(ValueSize::LogNormal { median_bytes, sigma }) => {
                format!("value_size=LogNormal(median {median_bytes} bytes, sigma {sigma}, at most 1048576)")
            }
        };
        let mut stop = p.stop_ms.map_or(String::new(), |ms| format!(" stop_ms={ms}"));
        if let Some(crate::scenario::Payload::UniformInt { min, max }) = &p.payload {
            stop.push_str(&format!(" payload=UniformInt({min}..={max})"));
        }
        if !p.flush_at_ms.is_empty() {
            let times: Vec<String> = p.flush_at_ms.iter().map(u64::to_string).collect();
            stop.push_str(&format!(" flush_at_ms=[{}]", times.join(", ")));
        }
        if let Some(rate) = p.producer_byte_rate {
            stop.push_str(&format!(" producer_byte_rate={rate} (quota per broker)"));
        }
        if p.tombstone_fraction > 0.0 {
            stop.push_str(&format!(" tombstone_fraction={}", p.tombstone_fraction));
        }
        if let Some(t) = &p.transactions {
            stop.push_str(&format!(
                " transactional.id={} commit_interval_ms={} abort_probability={} transaction.timeout.ms={}",
                p.name, t.commit_interval_ms, t.abort_probability, t.transaction_timeout_ms
            ));
        }
        if let Some(c) = &p.cpu {
            stop.push_str(&format!(
                " cpu=(cores={} per_record_ns={} compression_per_kib_ns={} request_us={} per_batch_us={} per_kib_ns={})",
                c.cores,
                c.per_record_ns,
                c.compression_per_kib_ns.unwrap_or_else(|| p.compression_type.cpu_per_kib_ns()),
                c.request_us,
                c.per_batch_us,
                c.per_kib_ns
            ));
        }
        let _ = writeln!(
            h,
            "producer {} → {}: arrival={arrival} key={key} {value} acks={} idempotent={} compression_type={} linger_ms={} batch_size={} max_in_flight_requests_per_connection={} max_request_size={} retries={} request_timeout_ms={} delivery_timeout_ms={} start_ms={}{stop}",
            p.name,
            p.topic,
            p.acks.kafka_name(),
            crate::client::idempotent(p),
            p.compression_type.kafka_name(),
            p.linger_ms,
            p.batch_size,
            p.max_in_flight_requests_per_connection,
            p.max_request_size,
            p.retries,
            p.request_timeout_ms,
            p.delivery_timeout_ms,
            p.start_ms
        );
    }
    for g in &s.consumer_groups {
        let strategies: Vec<&str> = g.partition_assignment_strategy.iter().map(|s| s.strategy().name()).collect();
        let gc = &s.cluster.group_coordinator;
        // Under KIP-848 the assignor, session timeout and heartbeat interval are the brokers'.
        let membership = match g.group_protocol {
            crate::scenario::GroupProtocol::Classic => format!(
                "partition.assignment.strategy=[{}] static_membership={} session_timeout_ms={} heartbeat_interval_ms={}",
                strategies.join(", "),
                g.static_membership,
                g.session_timeout_ms,
                g.heartbeat_interval_ms
            ),
            crate::scenario::GroupProtocol::Consumer => format!(
                "group.protocol=consumer group.remote.assignor={} group.consumer.session.timeout.ms={} group.consumer.heartbeat.interval.ms={}",
                g.group_remote_assignor.kafka_name(),
                gc.group_consumer_session_timeout_ms,
                gc.group_consumer_heartbeat_interval_ms
            ),
        };
        let _ = writeln!(
            h,
            "group {}: members={} topics=[{}] {} max_poll_interval_ms={} max_poll_records={} {} auto_offset_reset={} detect_truncation={} processing_us={} fetch_min_bytes={} fetch_max_wait_ms={} max_partition_fetch_bytes={}{}",
            g.name,
            g.members,
            g.topics.join(", "),
            membership,
            g.max_poll_interval_ms,
            g.max_poll_records,
            match &g.output {
                Some(_) => "commit=through its output (below)".to_string(),
                None => format!("commit={:?} auto_commit_interval_ms={}", g.commit, g.auto_commit_interval_ms),
            },
            g.auto_offset_reset,
            g.detect_truncation,
            g.processing_us,
            g.fetch_min_bytes,
            g.fetch_max_wait_ms,
            g.max_partition_fetch_bytes,
            g.consumer_byte_rate
                .map_or(String::new(), |r| format!(" consumer_byte_rate={r} (quota per member and broker)"))
                + match g.isolation_level {
                    crate::scenario::IsolationLevel::ReadUncommitted => "",
                    crate::scenario::IsolationLevel::ReadCommitted => " isolation.level=read_committed",
                }
        );
        if let Some(o) = &g.output {
            // Kafka Streams commits every commit.interval.ms, whatever commit and
            // auto_commit_interval_ms say.
            let _ = writeln!(
                h,
                "output of {} → {}: processing.guarantee={} commit.interval.ms={}{} (each member writes through its own producer, and commits through it every interval, before each rebalance and on close)",
                g.name,
                o.topic,
                o.processing_guarantee.kafka_name(),
                o.commit_interval_ms(),
                if o.exactly_once() {
                    " isolation.level=read_committed, offsets committed in each transaction (sendOffsetsToTransaction)"
                } else {
                    ", flush() then commitSync()"
                }
            );
        }
        if let Some(q) = &g.stream {
            // What the query runs with (its member commits after each batch and reads up to
            // maxOffsetsPerTrigger, whatever commit and max_poll_records say).
            let _ = writeln!(
                h,
                "stream query {}: trigger_ms={} window_ms={} watermark_delay_ms={} max_offsets_per_trigger={} batch cost={} ms + {} µs per row, checkpoint=state and offsets at the end of each batch, then a commit to the group",
                g.name,
                q.trigger_ms,
                q.window_ms,
                q.watermark_delay_ms,
                q.max_offsets_per_trigger.map_or("none".to_string(), |m| m.to_string()),
                g.poll_processing_ms,
                g.processing_us
            );
        }
    }
    h
}

/// An arrival process with its parameters, e.g. `Poisson(1000/s)`.
/// A topic's retention settings, when any differs from Kafka's defaults (else nothing: the
/// header of a run without retention stays as it was).
fn retention_text(t: &crate::scenario::Topic, s: &Scenario) -> String {
    use crate::scenario::{DEFAULT_RETENTION_MS, DEFAULT_SEGMENT_BYTES};
    let defaults = t.retention_ms == DEFAULT_RETENTION_MS
        && t.retention_bytes == -1
        && t.segment_bytes == DEFAULT_SEGMENT_BYTES
        && t.segment_ms == DEFAULT_RETENTION_MS;
    if t.cleanup_policy.compacts() {
        let retention = match t.cleanup_policy {
            crate::scenario::CleanupPolicy::CompactDelete => format!(
                " retention_ms={} retention_bytes={} (log_retention_check_interval_ms={})",
                t.retention_ms, t.retention_bytes, s.cluster.replication.log_retention_check_interval_ms
            ),
            _ => String::new(),
        };
        let max_lag = if t.max_compaction_lag_ms < crate::scenario::DEFAULT_MAX_COMPACTION_LAG_MS {
            format!(" max_compaction_lag_ms={}", t.max_compaction_lag_ms)
        } else {
            String::new()
        };
        return format!(
            " cleanup_policy={:?} min_cleanable_dirty_ratio={} min_compaction_lag_ms={}{max_lag} delete_retention_ms={} segment_bytes={} segment_ms={}{retention} (log_cleaner_backoff_ms={})",
            t.cleanup_policy,
            t.min_cleanable_dirty_ratio,
            t.min_compaction_lag_ms,
            t.delete_retention_ms,
            t.segment_bytes,
            t.segment_ms,
            s.cluster.replication.log_cleaner_backoff_ms
        );
    }
    if defaults {
        return String::new();
    }
    format!(
        " retention_ms={} retention_bytes={} segment_bytes={} segment_ms={} (log_retention_check_interval_ms={})",
        t.retention_ms,
        t.retention_bytes,
        t.segment_bytes,
        t.segment_ms,
        s.cluster.replication.log_retention_check_interval_ms
    )
}

fn arrival_text(a: &Arrival) -> String {
    let mean = a.mean_per_sec().map_or(String::new(), |m| format!("; mean {m:.1}/s"));
    match a {
        Arrival::Constant { per_sec } => format!("Constant({per_sec}/s)"),
        Arrival::Poisson { per_sec } => format!("Poisson({per_sec}/s)"),
        Arrival::OnOff { on_ms, off_ms, per_sec, exponential_periods } => format!(
            "OnOff(Poisson {per_sec}/s for {on_ms} ms, silent for {off_ms} ms, {} periods{mean})",
            if *exponential_periods { "exponential" } else { "fixed" }
        ),
        Arrival::Mmpp { rates, mean_dwell_ms } => {
            let list = |v: &[f64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ");
            format!(
                "Mmpp(rates [{}]/s, mean dwell [{}] ms, uniform switch to another state{mean})",
                list(rates),
                list(mean_dwell_ms)
            )
        }
        Arrival::Schedule { steps, ramp } => {
            let mut points: Vec<String> =
                steps.iter().take(8).map(|st| format!("{} ms → {}/s", st.at_ms, st.per_sec)).collect();
            if steps.len() > 8 {
                points.push(format!("… {} steps in all", steps.len()));
            }
            format!("Schedule({}: {})", if *ramp { "linear ramps" } else { "steps" }, points.join(", "))
        }
        Arrival::Replay { file, records } => {
            let keyed = records.rows.iter().filter(|r| r.key.is_some()).count();
            let sized = records.rows.iter().filter(|r| r.value_bytes.is_some()).count();
            format!("Replay({file}: {} records, {keyed} with a key, {sized} with a value size)", records.rows.len())
        }
    }
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
pub fn summary(run: &Finished, header: &str, figures: &BTreeMap<&'static str, f64>, verdicts: &[Verdict]) -> String {
    let s = &run.scenario;
    let r = &run.recorder;
    let m = &run.metadata;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", s.name);
    let _ = writeln!(out, "{}\n", s.description.trim());
    let _ = writeln!(out, "## Settings\n\n```text\n{header}```\n");
    let t = &r.totals;
    let _ = writeln!(out, "## Records\n");
    let _ = writeln!(
        out,
        "| produced | acknowledged | failed | consumed | produce requests | records per batch | retries |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {:.3} | {} |\n",
        t.produced, t.acked, t.failed, t.consumed, t.produce_requests, figures["records_per_batch_mean"], t.retries
    );
    let v = &run.verdicts;
    let _ = writeln!(out, "## What happened to acknowledged records\n");
    let _ = writeln!(out, "Verdicts as Jepsen's Kafka and queue checkers name them.\n");
    let _ = writeln!(out, "| verdict | count | what it means |");
    let _ = writeln!(out, "|---|---:|---|");
    let unobserved = match super::figures::unobserved(run) {
        Some(n) => n.to_string(),
        None => "n/a".to_string(),
    };
    for (name, count, meaning) in [
        ("lost write", v.lost_records.to_string(), "acknowledged records absent from the final log (records)"),
        ("duplicate", v.duplicate_records.to_string(), "records appended twice to the final log (records)"),
        ("reordered", v.reordered_records.to_string(), "records after records their producer sent later (records)"),
        (
            "unobserved",
            unobserved,
            "acknowledged records still in the log that no consumer got to (records; n/a without a consumer group)",
        ),
        (
            "inconsistent offset",
            v.inconsistent_offsets.to_string(),
            "offsets that held two different records over time: truncated and reused, or replicas disagreeing (offsets)",
        ),
        (
            "unavailable",
            v.unavailable_records.to_string(),
            "acknowledged records of partitions without a leader (records)",
        ),
        (
            "diverged",
            v.diverged_offsets.to_string(),
            "offsets where two replicas disagree at the end, per pair (offsets)",
        ),
        (
            "truncated",
            figures["truncated_records"].to_string(),
            "records removed from replicas by truncation or power loss (records)",
        ),
    ] {
        let _ = writeln!(out, "| {name} | {count} | {meaning} |");
    }
    out.push('\n');
    for (cause, records, (p, a)) in &v.lost_by_cause {
        let _ = writeln!(
            out,
            "- lost: {records} records {cause}; the first: {} at offset {}, acknowledged at {} s by broker-{} (epoch {}, acks={})",
            m.partition_name(*p),
            a.offset,
            a.acked_at,
            a.leader,
            a.leader_epoch,
            a.acks
        );
    }
    for tr in &run.truncations {
        let _ = writeln!(
            out,
            "- truncated: {} on broker-{} to offset {} at {} s, {} records removed ({})",
            m.partition_name(tr.partition),
            tr.broker,
            tr.to_offset,
            tr.at,
            tr.records_removed,
            tr.reason
        );
    }
    if !v.lost_examples.is_empty() || !run.truncations.is_empty() {
        out.push('\n');
    }
    if !r.errors.is_empty() {
        let _ = writeln!(out, "## Produce errors (records, each attempt counts)\n");
        let _ = writeln!(out, "| error | records |");
        let _ = writeln!(out, "|---|---:|");
        for (e, n) in &r.errors {
            let _ = writeln!(out, "| {e} | {n} |");
        }
        out.push('\n');
    }
    if !run.faults.is_empty() {
        let _ = writeln!(out, "## Faults\n");
        let _ = writeln!(out, "| at (s) | fault | fired | what it touched | messages dropped |");
        let _ = writeln!(out, "|---:|---|---|---|---:|");
        for f in &run.faults {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.at,
                f.fault,
                if f.fired { "yes" } else { "no" },
                f.touched,
                f.messages_dropped
            );
        }
        out.push('\n');
    }
    let mut changes: Vec<(crate::sim::SimTime, String)> = run
        .cluster_events
        .iter()
        .map(|e| (e.at(), e))
        .map(|(when, e)| (when, match e {
            ClusterEvent::Leader { at, partition, from, to, epoch, election } => format!(
                "- {at} s {}: {election:?} election, leader {} → {} (epoch {epoch})",
                m.partition_name(*partition),
                from.map_or("none".into(), |b| format!("broker-{b}")),
                to.map_or("none (offline)".into(), |b| format!("broker-{b}"))
            ),
            ClusterEvent::Isr { at, partition, from, to } => {
                format!("- {at} s {}: ISR {from:?} → {to:?}", m.partition_name(*partition))
            }
            ClusterEvent::Fenced { at, broker } => format!("- {at} s broker-{broker} fenced by the controller"),
            ClusterEvent::Unfenced { at, broker } => format!("- {at} s broker-{broker} registered (unfenced)"),
            ClusterEvent::ControlledShutdown { at, broker } => {
                format!("- {at} s broker-{broker} in controlled shutdown: its leaderships move, it leaves every ISR")
            }
            ClusterEvent::PartitionCreated { at, partition, replicas } => {
                format!("- {at} s {} created, replicas {replicas:?}", m.partition_name(*partition))
            }
            ClusterEvent::ReassignmentStarted { at, partition, from, to, adding, removing } => format!(
                "- {at} s {}: reassignment {from:?} → {to:?} started (adding {adding:?}, removing {removing:?})",
                m.partition_name(*partition)
            ),
            ClusterEvent::ReassignmentCancelled { at, partition, replicas } => {
                format!("- {at} s {}: reassignment cancelled, replicas {replicas:?}", m.partition_name(*partition))
            }
            ClusterEvent::ReassignmentCompleted { at, partition, replicas } => {
                format!("- {at} s {}: reassignment completed, replicas {replicas:?}", m.partition_name(*partition))
            }
            ClusterEvent::Elr { at, partition, from, to } => {
                format!("- {at} s {}: eligible leader replicas {from:?} → {to:?}", m.partition_name(*partition))
            }
        }))
        .collect();
    // A controller quorum: when another controller took over, and when one stopped.
    for c in &run.controller_periods {
        if c.from > crate::sim::SimTime::ZERO {
            let line =
                format!("- {} s controller-{} became the active controller (epoch {})", c.from, c.controller, c.epoch);
            changes.push((c.from, line));
        }
        if let Some(until) = c.until {
            let line =
                format!("- {until} s controller-{} no longer the active controller (epoch {})", c.controller, c.epoch);
            changes.push((until, line));
        }
    }
    changes.sort_by_key(|c| c.0);
    let changes: Vec<String> = changes.into_iter().map(|c| c.1).collect();
    if !changes.is_empty() {
        let _ = writeln!(out, "## Cluster changes\n");
        for c in changes.iter().take(60) {
            let _ = writeln!(out, "{c}");
        }
        if changes.len() > 60 {
            let _ = writeln!(out, "- … {} more in events.csv", changes.len() - 60);
        }
        out.push('\n');
    }
    if !run.offline.is_empty() {
        let _ = writeln!(out, "## Offline partitions\n");
        for (p, from, to) in &run.offline {
            let _ = writeln!(out, "- {} without a leader from {from} s to {to} s", m.partition_name(*p));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Latency (ms, from each record's intended send time)\n");
    let _ = writeln!(out, "| | records | p50 | p90 | p99 | p99.9 | max |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    out.push_str(&latency_row("produce (to acknowledgement)", &Percentiles::of(&r.produce_latency.total)));
    out.push_str(&latency_row("end-to-end (to processed)", &Percentiles::of(&r.e2e_latency.total)));
    for (g, h) in s.consumer_groups.iter().zip(&r.group_e2e_latency) {
        let isolation = match g.isolation_level {
            crate::scenario::IsolationLevel::ReadUncommitted => String::new(),
            crate::scenario::IsolationLevel::ReadCommitted => ", read_committed".to_string(),
        };
        out.push_str(&latency_row(&format!("end-to-end, group {}{isolation}", g.name), &Percentiles::of(h)));
    }
    out.push('\n');
    let _ = writeln!(out, "## Partitions at the end\n");
    let _ = writeln!(
        out,
        "| partition | leader | epoch | ISR | log start | high watermark | log end | replicas (LEO/HW) |"
    );
    let _ = writeln!(out, "|---|---|---:|---|---:|---:|---:|---|");
    for p in &run.partitions {
        let replicas: Vec<String> = p
            .replica_offsets
            .iter()
            .map(|(b, alive, leo, hw)| format!("{b}{}:{leo}/{hw}", if *alive { "" } else { "(down)" }))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:?} | {} | {} | {} | {} |",
            p.name,
            p.leader,
            p.leader_epoch,
            p.isr,
            p.log_start_offset,
            p.high_watermark,
            p.log_end_offset,
            replicas.join(" ")
        );
    }
    out.push('\n');
    if !run.recorder.retention_deletions.is_empty() {
        write_retention(&mut out, run);
    }
    if run.metadata.topics.iter().any(|t| t.compaction.is_some()) {
        super::compaction::write_compaction(&mut out, run);
    }
    if run.metadata.topics.iter().any(|t| t.initial_partitions < t.partitions) {
        super::partitions_added::write_partitions_added(&mut out, run);
    }
    if !run.reassignments.is_empty() {
        super::reassignments::write_reassignments(&mut out, run);
    }
    super::network::write_network(&mut out, run);
    super::quorum::write_quorum(&mut out, run);
    write_quotas(&mut out, run);
    write_transactions(&mut out, run);
    write_pipelines(&mut out, run);
    if !run.groups.is_empty() {
        write_groups(&mut out, run);
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
    let _ = writeln!(out, "\n{} events simulated.", run.events);
    out
}

/// The consumer-group section: each group's rebalances, what they cost, commits, and its
/// members at the end.
/// How often client quotas throttled producers and consumers (nothing without a quota).
fn write_quotas(out: &mut String, run: &Finished) {
    let t = &run.recorder.totals;
    let produce = run.scenario.producers.iter().any(|p| p.producer_byte_rate.is_some());
    let fetch = run.scenario.consumer_groups.iter().any(|g| g.consumer_byte_rate.is_some());
    if !produce && !fetch {
        return;
    }
    let _ = writeln!(out, "## Client quotas\n");
    if produce {
        let _ = writeln!(
            out,
            "- Produce: {} of {} responses throttled (`producer_byte_rate`), the longest for {} ms; the producer sent nothing to a broker while it throttled it.",
            t.throttled_responses, t.produce_responses, t.throttle_ms_max
        );
    }
    if fetch {
        let _ = writeln!(
            out,
            "- Fetch: {} consumer fetches answered empty (`consumer_byte_rate`), the longest throttle {} ms.",
            t.throttled_fetch_responses, t.fetch_throttle_ms_max
        );
    }
    out.push('\n');
}

/// What transactional producers committed and aborted, and what read_committed groups skipped
/// (nothing without a transactional producer).
fn write_transactions(out: &mut String, run: &Finished) {
    let s = &run.scenario;
    if s.producers.iter().all(|p| p.transactions.is_none()) {
        return;
    }
    let t = &run.recorder.totals;
    let txns = &run.recorder.transactions;
    let _ = writeln!(
        out,
        "## Transactions
"
    );
    let _ = writeln!(
        out,
        "A transaction ends when its coordinator has written a COMMIT or ABORT marker into every \
         partition it wrote to. `read_committed` members read only below the last stable offset \
         (the first offset of the oldest open transaction) and skip aborted records.\n"
    );
    let _ = writeln!(out, "| producer | committed | aborted | aborted on timeout | last ended (s) |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for (i, p) in s.producers.iter().enumerate().filter(|(_, p)| p.transactions.is_some()) {
        let mine: Vec<_> = txns.iter().filter(|x| x.producer == i as u32).collect();
        let committed = mine.iter().filter(|x| x.committed).count();
        let timed_out = mine.iter().filter(|x| x.timed_out).count();
        let last = mine.last().map_or("-".to_string(), |x| format!("{:.3}", x.at.as_secs_f64()));
        let _ = writeln!(out, "| {} | {committed} | {} | {timed_out} | {last} |", p.name, mine.len() - committed);
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "- Records in aborted transactions: {}; `read_committed` members skipped {}.",
        t.aborted_records_produced, t.aborted_records_skipped
    );
    let _ = writeln!(
        out,
        "- The longest `commitTransaction()`/`abortTransaction()` call (flush, then `EndTxn` until every marker was written): {:.3} ms.",
        t.transaction_end_max_ns as f64 / 1e6
    );
    if t.producers_fenced > 0 {
        let _ = writeln!(out, "- Producers fenced (`ProducerFencedException`, then closed): {}.", t.producers_fenced);
    }
    let open: Vec<String> = run
        .partitions
        .iter()
        .filter(|p| p.open_transactions > 0)
        .map(|p| {
            format!("{} (last stable offset {}, high watermark {})", p.name, p.last_stable_offset, p.high_watermark)
        })
        .collect();
    if !open.is_empty() {
        let _ = writeln!(out, "- Still open at the end: {}.", open.join(", "));
    }
    out.push('\n');
}

/// Consume-transform-produce groups: what their outputs hold for a `read_committed` reader.
fn write_pipelines(out: &mut String, run: &Finished) {
    if run.pipelines.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Consume-transform-produce\n");
    let _ = writeln!(
        out,
        "Each output record names its input record. Read in offset order as a `read_committed` \
         consumer reads them, the outputs hold each input record below the group's committed \
         offsets this many times: exactly-once means no duplicate and nothing missing.\n"
    );
    let _ = writeln!(
        out,
        "| group | processing.guarantee | commit.interval.ms | output | visible records | duplicates | missing | aborted records | open at the end |"
    );
    let _ = writeln!(out, "|---|---|---:|---|---:|---:|---:|---:|---:|");
    for p in &run.pipelines {
        let g = &run.scenario.consumer_groups[p.group as usize];
        let Some(o) = &g.output else { continue };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            g.name,
            o.processing_guarantee.kafka_name(),
            o.commit_interval_ms(),
            o.topic,
            p.visible_records,
            p.duplicates,
            p.missing,
            p.aborted_records,
            p.open_records
        );
    }
    out.push('\n');
}

/// What retention deleted, per partition, and what that did to the groups reading it.
fn write_retention(out: &mut String, run: &Finished) {
    let deletions = &run.recorder.retention_deletions;
    let _ = writeln!(out, "## Retention\n");
    let _ = writeln!(
        out,
        "Leaders delete whole segments once `retention.ms` or `retention.bytes` no longer keeps them \
         (checked every {} ms); a consumer whose position falls below the log start offset gets \
         OFFSET_OUT_OF_RANGE and resets by `auto.offset.reset`.\n",
        run.scenario.cluster.replication.log_retention_check_interval_ms
    );
    let _ = writeln!(
        out,
        "| partition | segments deleted | records deleted | first deletion | last deletion | by | log start at the end |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---:|");
    let partitions: std::collections::BTreeSet<u32> = deletions.iter().map(|d| d.partition).collect();
    for p in partitions {
        let mine: Vec<_> = deletions.iter().filter(|d| d.partition == p).collect();
        let reasons: std::collections::BTreeSet<&str> = mine.iter().map(|d| d.reason).collect();
        let end =
            run.partitions.iter().find(|v| v.name == run.metadata.partition_name(p)).map_or(0, |v| v.log_start_offset);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.3} s | {:.3} s | {} | {end} |",
            run.metadata.partition_name(p),
            mine.iter().map(|d| d.segments).sum::<usize>(),
            mine.iter().map(|d| d.to - d.from).sum::<u64>(),
            mine[0].at.as_secs_f64(),
            mine[mine.len() - 1].at.as_secs_f64(),
            reasons.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    // Forward resets on partitions retention deleted from: the records jumped over.
    let resets = &run.recorder.groups.resets;
    for (g, cfg) in run.scenario.consumer_groups.iter().enumerate() {
        let skipped: Vec<_> = resets
            .iter()
            .filter(|r| r.1 == g as u32 && deletions.iter().any(|d| d.partition == r.2))
            .filter_map(|r| r.3.filter(|&from| r.4 > from).map(|from| r.4 - from))
            .collect();
        if !skipped.is_empty() {
            let _ = writeln!(
                out,
                "\nGroup {} fell off the log {} times: auto.offset.reset={} moved it past {} records retention had deleted.",
                cfg.name,
                skipped.len(),
                cfg.auto_offset_reset,
                skipped.iter().sum::<u64>()
            );
        }
    }
    out.push('\n');
}

fn write_groups(out: &mut String, run: &Finished) {
    let records = &run.recorder.groups;
    for (g, (view, state)) in run.groups.iter().zip(&run.group_states).enumerate() {
        let g = g as u32;
        let _ = writeln!(out, "## Consumer group {}\n", view.name);
        let _ = writeln!(
            out,
            "State {} at generation {}, coordinator {}, protocol {}.\n",
            view.state,
            view.generation,
            view.coordinator.as_deref().unwrap_or("never found"),
            match &state.consumer {
                Some(cg) => format!("consumer (KIP-848), assignor {}", cg.assignor.kafka_name()),
                None => state.protocol.map_or("none", |p| p.name()).to_string(),
            }
        );
        let commits = records.commits.iter().filter(|c| c.group == g);
        let failed = commits.clone().filter(|c| c.error.is_some()).count();
        let _ = writeln!(
            out,
            "Rebalances {} · paused partition-seconds {:.3} · processed twice {} · skipped {} · commits {} ({} refused) · lag at the end {} records\n",
            state.rebalances.len(),
            super::figures::paused_partition_seconds(run, g),
            records.duplicates(g),
            records.skipped(g, &run.verdicts.final_epochs),
            commits.count(),
            failed,
            view.lag_records
        );
        if !state.rebalances.is_empty() {
            let _ =
                writeln!(out, "| started (s) | reason | generation | joined (s) | stable (s) | protocol | members |");
            let _ = writeln!(out, "|---:|---|---:|---:|---:|---|---|");
            for r in &state.rebalances {
                let t =
                    |x: Option<crate::sim::SimTime>| x.map_or("-".to_string(), |t| format!("{:.3}", t.as_secs_f64()));
                let _ = writeln!(
                    out,
                    "| {:.3} | {} | {} | {} | {} | {} | {} |",
                    r.started.as_secs_f64(),
                    r.reason,
                    r.generation.map_or("-".to_string(), |g| g.to_string()),
                    t(r.joined),
                    t(r.stable),
                    match &state.consumer {
                        Some(cg) => cg.assignor.kafka_name(),
                        None => r.protocol.map_or("-", |p| p.name()),
                    },
                    r.members.join(" ")
                );
            }
            out.push('\n');
        }
        for (at, n) in &state.expirations {
            let _ = writeln!(
                out,
                "At {:.3} s, {n} committed offsets expired (offsets.retention.minutes).\n",
                at.as_secs_f64()
            );
        }
        explain_processing(out, run, g, state);
        let _ = writeln!(out, "\n| member | running | generation | partitions (position) | records processed |");
        let _ = writeln!(out, "|---|---|---:|---|---:|");
        for m in &view.members {
            let parts: Vec<String> = m.positions.iter().map(|(p, pos)| format!("{p} ({pos})")).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                m.name,
                if m.running { "yes" } else { "no" },
                m.generation,
                parts.join(", "),
                m.records_consumed
            );
        }
        out.push('\n');
        write_stream_query(out, run, g);
    }
}

/// A stream query's micro-batches: totals, then the first and last batches and every batch that
/// was aborted (with its rerun), fell behind or dropped late rows.
fn write_stream_query(out: &mut String, run: &Finished, g: u32) {
    let Some(q) = run.scenario.consumer_groups[g as usize].stream.as_ref() else { return };
    let all: Vec<&crate::metrics::StreamBatch> =
        run.recorder.groups.stream_batches.iter().filter(|b| b.group == g).collect();
    let done: Vec<_> = all.iter().filter(|b| super::figures::stream_batch_done(run, b)).collect();
    let running = all.iter().filter(|b| !b.aborted && !super::figures::stream_batch_done(run, b)).count();
    let _ = writeln!(
        out,
        "### Stream query (micro-batches)
"
    );
    let _ = writeln!(
        out,
        "`withWatermark({} ms)` · `window({} ms)` count · trigger {} · maxOffsetsPerTrigger {}
",
        q.watermark_delay_ms,
        q.window_ms,
        if q.trigger_ms == 0 { "none (back to back)".to_string() } else { format!("{} ms", q.trigger_ms) },
        q.max_offsets_per_trigger.map_or("none".to_string(), |m| m.to_string())
    );
    for &(at, _, p) in run.recorder.groups.stream_failures.iter().filter(|f| f.1 == g) {
        let _ = writeln!(
            out,
            "**The query failed at {:.3} s:** the offsets of {} it would read next were out of range (deleted by retention, or truncated), and `failOnDataLoss` is true. With `fail_on_data_loss: false` it would read on from the earliest offset available and skip what was lost.\n",
            at.as_secs_f64(),
            run.metadata.partition_name(p)
        );
    }
    let ms = |d: crate::sim::SimDuration| d.as_nanos() as f64 / 1e6;
    let durations: Vec<f64> = done.iter().map(|b| ms(b.end.since(b.start))).collect();
    let rows: Vec<u64> = done.iter().map(|b| b.input_rows).collect();
    let delays: Vec<f64> = done.iter().flat_map(|b| b.emitted.iter().map(|w| ms(b.end.since(w.1)))).collect();
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "Batches {} ({} without data, {} aborted by a crash, {} still running at the end) · fell behind {} · duration ms mean {:.1} max {:.1} · rows per batch mean {:.1} max {} · late rows dropped {} · windows written {} ({} rows) · written after the window's end, ms: min {:.1} max {:.1}\n",
        done.len(),
        done.iter().filter(|b| b.input_rows == 0).count(),
        all.iter().filter(|b| b.aborted).count(),
        running,
        done.iter().filter(|b| super::figures::stream_batch_behind(run, b)).count(),
        mean(&durations),
        max(&durations),
        mean(&rows.iter().map(|&r| r as f64).collect::<Vec<_>>()),
        rows.iter().max().unwrap_or(&0),
        done.iter().map(|b| b.late_rows).sum::<u64>(),
        done.iter().map(|b| b.emitted.len()).sum::<usize>(),
        done.iter().flat_map(|b| &b.emitted).map(|w| w.2).sum::<u64>(),
        delays.iter().copied().fold(f64::INFINITY, f64::min).min(max(&delays)),
        max(&delays),
    );
    // The first and last batches, and the remarkable ones in between.
    let n = all.len();
    let rerun = |id: u64| all.iter().any(|b| b.aborted && b.id == id);
    let remarkable =
        |i: usize| rerun(all[i].id) || all[i].late_rows > 0 || super::figures::stream_batch_behind(run, all[i]);
    let mut shown: Vec<usize> = (0..n).filter(|&i| i < 5 || i + 3 >= n).collect();
    shown.extend((0..n).filter(|&i| remarkable(i)).take(12));
    shown.sort_unstable();
    shown.dedup();
    if shown.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| batch | start (s) | end (s) | rows | late | watermark (s) | windows written (start s: count) |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---|");
    let mut last = None;
    for &i in &shown {
        if last.is_some_and(|l: usize| i > l + 1) {
            let _ = writeln!(out, "| … | | | | | | |");
        }
        last = Some(i);
        let b = all[i];
        let windows: Vec<String> = b.emitted.iter().map(|w| format!("{:.3}: {}", w.0.as_secs_f64(), w.2)).collect();
        let _ = writeln!(
            out,
            "| {} | {:.3} | {} | {} | {} | {} | {} |",
            b.id,
            b.start.as_secs_f64(),
            match (b.aborted, super::figures::stream_batch_done(run, b)) {
                (true, _) => "aborted (crash)".to_string(),
                (false, false) => format!("({:.3}, after the end)", b.end.as_secs_f64()),
                (false, true) => format!("{:.3}", b.end.as_secs_f64()),
            },
            b.input_rows,
            b.late_rows,
            b.watermark.map_or("-".to_string(), |w| format!("{:.3}", w.as_secs_f64())),
            if windows.is_empty() { "-".to_string() } else { windows.join(", ") }
        );
    }
    out.push('\n');
}

/// Each stretch of records processed twice or skipped, as the chain of events behind it: who
/// processed what in which generation, and the rebalance or reset in between.
fn explain_processing(out: &mut String, run: &Finished, g: u32, state: &crate::group::Group) {
    let records = &run.recorder.groups;
    let name_of = |m: u32| format!("{}-{m}", state.name);
    let t = |x: crate::sim::SimTime| format!("{:.3} s", x.as_secs_f64());
    // The rebalance that completed between two times, if any.
    let rebalance_between = |a: crate::sim::SimTime, b: crate::sim::SimTime| {
        state.rebalances.iter().rev().find(|r| r.stable.or(r.joined).is_some_and(|s| a <= s && s <= b))
    };
    const SHOWN: usize = 3;
    for &(at, _, p, from, to, epoch) in records.truncations_detected.iter().filter(|x| x.1 == g) {
        let _ = writeln!(
            out,
            "- {}: truncation detected at {} (KIP-320): position {from} was past the end of epoch {epoch} on the leader ({to}); the position went back to {to}",
            run.metadata.partition_name(p),
            t(at)
        );
    }
    for p in records.processed.iter().filter(|p| p.group == g) {
        let name = run.metadata.partition_name(p.partition);
        let runs: Vec<&crate::metrics::ProcessingRun> =
            records.runs.iter().filter(|r| r.group == g && r.partition == p.partition).collect();
        if p.duplicates > 0 {
            let _ = writeln!(out, "- {name}: {} records processed more than once", p.duplicates);
            for &keys in p.again.ranges.iter().take(SHOWN) {
                let (epoch, a, b) = crate::metrics::split_range(keys);
                let mut covering: Vec<&&crate::metrics::ProcessingRun> =
                    runs.iter().filter(|r| r.epoch == epoch && r.from < b && a < r.to).collect();
                covering.sort_by_key(|r| r.first_at);
                let mut chain: Vec<String> = covering
                    .iter()
                    .map(|r| {
                        format!(
                            "{} (generation {}) at {}–{}",
                            name_of(r.member),
                            r.generation,
                            t(r.first_at),
                            t(r.last_at)
                        )
                    })
                    .collect();
                if let (Some(first), Some(last)) = (covering.first(), covering.last())
                    && let Some(r) = rebalance_between(first.first_at, last.first_at)
                {
                    chain.insert(1, format!("rebalance to generation {} ({})", r.generation.unwrap_or(-1), r.reason));
                }
                let _ = writeln!(out, "  - offsets {a}..{}: {}", b - 1, chain.join(" → "));
            }
        }
        let final_epochs = run.verdicts.final_epochs.get(p.partition as usize).map_or(&[][..], Vec::as_slice);
        let (skipped, replaced) = p.skipped(final_epochs);
        if replaced > 0 {
            // Records that took the offsets of records the group processed (a truncation in
            // between), never processed themselves: what it read there, and where it went on.
            let _ = writeln!(
                out,
                "- {name}: {replaced} records skipped: their offsets held other records when the group read them (a truncation replaced those), and it never read these"
            );
            for (a, b, epoch) in p.replaced_stretches(final_epochs).into_iter().take(SHOWN) {
                let mut before: Vec<&&crate::metrics::ProcessingRun> =
                    runs.iter().filter(|r| r.epoch != epoch && r.from < b && a < r.to).collect();
                before.sort_by_key(|r| r.first_at);
                let mut chain: Vec<String> = before
                    .iter()
                    .take(2)
                    .map(|r| {
                        format!(
                            "{} (generation {}) processed the epoch-{} records there at {}–{}",
                            name_of(r.member),
                            r.generation,
                            r.epoch,
                            t(r.first_at),
                            t(r.last_at)
                        )
                    })
                    .collect();
                chain.push(format!("the final log holds epoch-{epoch} records there"));
                if let Some(r) = runs.iter().filter(|r| r.epoch == epoch && r.from >= b).min_by_key(|r| r.first_at) {
                    chain.push(format!(
                        "{} (generation {}) went on at offset {} at {}",
                        name_of(r.member),
                        r.generation,
                        r.from,
                        t(r.first_at)
                    ));
                }
                let _ = writeln!(out, "  - offsets {a}..{}: {}", b - 1, chain.join(" → "));
            }
        }
        let start = p.first_position.unwrap_or(0);
        let offsets = p.offsets();
        if skipped > 0 {
            let _ = writeln!(out, "- {name}: {skipped} records skipped (never processed)");
            let gaps: Vec<(u64, u64)> = offsets
                .ranges
                .windows(2)
                .map(|w| (w[0].1, w[1].0))
                .chain(offsets.ranges.first().filter(|r| r.0 > start).map(|r| (start, r.0)))
                .take(SHOWN)
                .collect();
            for (a, b) in gaps {
                let before = runs.iter().filter(|r| r.to == a).max_by_key(|r| r.last_at);
                let after = runs.iter().filter(|r| r.from == b).min_by_key(|r| r.first_at);
                let mut chain = Vec::new();
                if let Some(r) = before {
                    chain.push(format!(
                        "{} (generation {}) processed up to offset {} by {}",
                        name_of(r.member),
                        r.generation,
                        a.saturating_sub(1),
                        t(r.last_at)
                    ));
                }
                if let Some(x) = after.zip(before).and_then(|(r, x)| rebalance_between(x.last_at, r.first_at)) {
                    chain.push(format!("rebalance to generation {} ({})", x.generation.unwrap_or(-1), x.reason));
                }
                if let Some(&(at, _, _, from, to)) =
                    records.resets.iter().find(|x| x.1 == g && x.2 == p.partition && x.4 == b)
                {
                    let from = from.map_or("no committed offset".to_string(), |f| format!("position {f}"));
                    // Out of range because retention deleted the records at the old position.
                    if let Some(d) = run
                        .recorder
                        .retention_deletions
                        .iter()
                        .rev()
                        .find(|d| d.partition == p.partition && d.at <= at && d.from <= a && a < d.to)
                    {
                        chain.push(format!(
                            "retention ({}) deleted offsets {}..{} at {}",
                            d.reason,
                            d.from,
                            d.to - 1,
                            t(d.at)
                        ));
                    }
                    chain.push(format!("auto.offset.reset at {} moved it from {from} to {to}", t(at)));
                }
                if let Some(r) = after {
                    chain.push(format!(
                        "{} (generation {}) started at offset {b} at {}",
                        name_of(r.member),
                        r.generation,
                        t(r.first_at)
                    ));
                }
                let _ = writeln!(out, "  - offsets {a}..{}: {}", b - 1, chain.join(" → "));
            }
        }
    }
}
