//! `metrics.csv`: one row per metrics interval, fixed precision, fixed column order.

use std::fmt::Write;

use crate::cluster::ClusterEvent;
use crate::metrics::Recorder;
use crate::sim::Finished;

/// The CSV's columns, in order.
pub const COLUMNS: &str = "time_s,produced_per_sec,acked_per_sec,failed_per_sec,consumed_per_sec,produce_requests_per_sec,consumer_lag_records,produce_latency_p50_ms,produce_latency_p99_ms,produce_latency_max_ms,e2e_latency_p50_ms,e2e_latency_p99_ms,e2e_latency_max_ms";

/// The time series of a run as CSV (time is the end of each interval).
pub fn metrics_csv(r: &Recorder) -> String {
    let mut out = String::with_capacity(64 * (r.intervals.len() + 1));
    out.push_str(COLUMNS);
    out.push('\n');
    let secs = r.interval_ns() as f64 / 1e9;
    let ms = |us: u64| us as f64 / 1000.0;
    for (i, iv) in r.intervals.iter().enumerate() {
        let rate = |n: u64| n as f64 / secs;
        let _ = writeln!(
            out,
            "{:.3},{:.1},{:.1},{:.1},{:.1},{:.1},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            (i + 1) as f64 * secs,
            rate(iv.produced),
            rate(iv.acked),
            rate(iv.failed),
            rate(iv.consumed),
            rate(iv.produce_requests),
            iv.lag_records,
            ms(iv.produce_latency_us.p50),
            ms(iv.produce_latency_us.p99),
            ms(iv.produce_latency_us.max),
            ms(iv.e2e_latency_us.p50),
            ms(iv.e2e_latency_us.p99),
            ms(iv.e2e_latency_us.max),
        );
    }
    out
}

/// `events.csv`: faults, elections, ISR changes, fencing, active-controller changes and
/// truncations, in time order.
pub fn events_csv(run: &Finished) -> String {
    let m = &run.metadata;
    let mut rows: Vec<(u64, String)> = Vec::new();
    for f in &run.faults {
        let what = if f.fired { "fault" } else { "fault_not_fired" };
        rows.push((f.at.0, format!("{what},,\"{}\",\"{}\"", f.fault, f.touched.replace('"', "'"))));
    }
    for e in &run.cluster_events {
        let (at, row) = match e {
            ClusterEvent::Leader { at, partition, from, to, epoch, election } => {
                let b = |x: &Option<u32>| x.map_or("none".to_string(), |b| format!("broker-{b}"));
                (
                    at,
                    format!(
                        "election,{},{election:?} epoch {epoch},{} -> {}",
                        m.partition_name(*partition),
                        b(from),
                        b(to)
                    ),
                )
            }
            ClusterEvent::Isr { at, partition, from, to } => {
                let kind = if to.len() < from.len() { "isr_shrink" } else { "isr_expand" };
                (at, format!("{kind},{},{from:?} -> {to:?},", m.partition_name(*partition)).replace(", ", " "))
            }
            ClusterEvent::Fenced { at, broker } => (at, format!("fenced,,broker-{broker},")),
            ClusterEvent::Unfenced { at, broker } => (at, format!("unfenced,,broker-{broker},")),
            ClusterEvent::ControlledShutdown { at, broker } => (at, format!("controlled_shutdown,,broker-{broker},")),
            ClusterEvent::PartitionCreated { at, partition, replicas } => (
                at,
                format!("partition_created,{},replicas {replicas:?},", m.partition_name(*partition)).replace(", ", " "),
            ),
            ClusterEvent::ReassignmentStarted { at, partition, from, to, .. } => (
                at,
                format!("reassignment_started,{},{from:?} -> {to:?},", m.partition_name(*partition)).replace(", ", " "),
            ),
            ClusterEvent::ReassignmentCancelled { at, partition, replicas } => (
                at,
                format!("reassignment_cancelled,{},replicas {replicas:?},", m.partition_name(*partition))
                    .replace(", ", " "),
            ),
            ClusterEvent::ReassignmentCompleted { at, partition, replicas } => (
                at,
                format!("reassignment_completed,{},replicas {replicas:?},", m.partition_name(*partition))
                    .replace(", ", " "),
            ),
            ClusterEvent::Elr { at, partition, from, to } => {
                (at, format!("elr_change,{},{from:?} -> {to:?},", m.partition_name(*partition)).replace(", ", " "))
            }
        };
        rows.push((at.0, row));
    }
    // A controller quorum: which controller was active from when to when.
    for c in &run.controller_periods {
        if c.from > crate::sim::SimTime::ZERO {
            rows.push((c.from.0, format!("controller_active,,controller-{},epoch {}", c.controller, c.epoch)));
        }
        if let Some(until) = c.until {
            rows.push((until.0, format!("controller_inactive,,controller-{},epoch {}", c.controller, c.epoch)));
        }
    }
    for t in &run.truncations {
        rows.push((
            t.at.0,
            format!(
                "truncation,{},broker-{} to offset {},{} records removed ({})",
                m.partition_name(t.partition),
                t.broker,
                t.to_offset,
                t.records_removed,
                t.reason
            ),
        ));
    }
    // Consumer groups: rebalances (start and completion), refused commits, offset expiry.
    let csv_text = |s: &str| format!("\"{}\"", s.replace('"', "'"));
    for g in &run.group_states {
        for r in &g.rebalances {
            rows.push((r.started.0, format!("rebalance_start,,group {},{}", g.name, csv_text(&r.reason))));
            if let (Some(generation), Some(at)) = (r.generation, r.stable.or(r.joined)) {
                let members = csv_text(&format!("members [{}]", r.members.join(" ")));
                rows.push((at.0, format!("rebalance_done,,group {} generation {generation},{members}", g.name)));
            }
        }
        for (at, n) in &g.expirations {
            rows.push((at.0, format!("offsets_expired,,group {},{n} committed offsets deleted", g.name)));
        }
    }
    for c in run.recorder.groups.commits.iter().filter(|c| c.error.is_some()) {
        let group = &run.scenario.consumer_groups[c.group as usize].name;
        rows.push((c.at.0, format!("commit_failed,,{group}-{},{}", c.member, c.error.unwrap_or(""))));
    }
    rows.sort_by_key(|(t, _)| *t); // stable: same-instant rows keep their order
    let mut out = String::from("time_s,event,partition,what,detail\n");
    for (t, row) in rows {
        let _ = writeln!(out, "{}.{:06},{row}", t / 1_000_000_000, (t / 1_000) % 1_000_000);
    }
    out
}

/// `offsets.csv`: every replica's log start and end offsets, high watermark and last stable
/// offset at every interval end.
pub fn offsets_csv(run: &Finished) -> String {
    let m = &run.metadata;
    let secs = run.recorder.interval_ns() as f64 / 1e9;
    let mut out = String::from(
        "time_s,partition,broker,alive,leader,log_start_offset,log_end_offset,high_watermark,isr_size,last_stable_offset\n",
    );
    for r in &run.recorder.replicas {
        let _ = writeln!(
            out,
            "{:.3},{},broker-{},{},{},{},{},{},{},{}",
            (r.interval + 1) as f64 * secs,
            m.partition_name(r.partition),
            r.broker,
            r.alive,
            r.leader,
            r.log_start_offset,
            r.log_end_offset,
            r.high_watermark,
            r.isr_size,
            r.last_stable_offset
        );
    }
    out
}

/// `ownership.csv`: which member of which group owned which partition when, with the generation
/// it was assigned in (an empty `to_s`: still owned at the end).
pub fn ownership_csv(run: &Finished) -> String {
    let m = &run.metadata;
    let mut out = String::from("group,member,partition,generation,from_s,to_s\n");
    for s in &run.recorder.groups.spans {
        let group = &run.scenario.consumer_groups[s.group as usize].name;
        let _ = writeln!(
            out,
            "{group},{group}-{},{},{},{:.6},{}",
            s.member,
            m.partition_name(s.partition),
            s.generation,
            s.from.as_secs_f64(),
            s.to.map_or(String::new(), |t| format!("{:.6}", t.as_secs_f64()))
        );
    }
    out
}

/// `group_offsets.csv`: per group and partition at every interval end, the committed offset,
/// the owner's position, the high watermark and the lag (HW − position, or − committed when
/// unowned). Empty cells: unknown.
pub fn group_offsets_csv(run: &Finished) -> String {
    let m = &run.metadata;
    let secs = run.recorder.interval_ns() as f64 / 1e9;
    let mut out = String::from("time_s,group,partition,committed_offset,position,high_watermark,lag_records\n");
    let cell = |x: Option<u64>| x.map_or(String::new(), |v| v.to_string());
    for s in &run.recorder.groups.offsets {
        let lag = s.position.or(s.committed).map(|c| s.high_watermark.saturating_sub(c));
        let _ = writeln!(
            out,
            "{:.3},{},{},{},{},{},{}",
            (s.interval + 1) as f64 * secs,
            run.scenario.consumer_groups[s.group as usize].name,
            m.partition_name(s.partition),
            cell(s.committed),
            cell(s.position),
            s.high_watermark,
            cell(lag)
        );
    }
    out
}
