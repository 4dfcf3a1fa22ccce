//! The summary's "Reassignments" section and its figures: what each `Reassign` fault (KIP-455,
//! `kafka-reassign-partitions.sh --execute`) did to its partition. When it started, what the new
//! replicas copied and how long that took, when the controller completed it (every target replica
//! in the ISR) and whether the leader moved. A reassignment still running at the end says how far
//! its new replicas got.

use std::fmt::Write;

use crate::cluster::{ClusterEvent, Log};
use crate::sim::{Finished, SimTime};

/// One reassignment, as the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReassignmentOutcome {
    pub partition: u32,
    pub from: Vec<u32>,
    pub to: Vec<u32>,
    pub started: SimTime,
    /// When every target replica was in the ISR and the controller dropped the removed ones.
    pub completed: Option<SimTime>,
    /// When an operator cancelled it (`CancelReassignment`), if it was not completed first.
    pub cancelled: Option<SimTime>,
    /// When a new `Reassign` of the partition replaced it, if it was still running.
    pub replaced: Option<SimTime>,
    /// The leader before and after the completion, when it moved.
    pub leader_moved: Option<(Option<u32>, Option<u32>)>,
    /// Per replica it added: `(broker, records, bytes)` that replica appended from the start to
    /// the completion (or the end of the run): the leader's log, then what arrived meanwhile.
    pub copied: Vec<(u32, u64, u64)>,
    /// Per replica it added, if it had not completed: `(broker, its log end offset, the
    /// leader's)` at the end.
    pub behind: Vec<(u32, u64, u64)>,
}

/// How a reassignment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Completed,
    Cancelled,
    Replaced,
}

/// Every reassignment of the run, in the order they started. `log(broker, partition)` is that
/// broker's replica log at the end; `leader_end(partition)` the partition leader's log end offset.
pub(crate) fn outcomes<'a>(
    events: &[ClusterEvent],
    log: impl Fn(u32, u32) -> &'a Log,
    leader_end: impl Fn(u32) -> Option<u64>,
) -> Vec<ReassignmentOutcome> {
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let ClusterEvent::ReassignmentStarted { at, partition, from, to, adding, .. } = e else { continue };
        let p = *partition;
        // Its end: the first completion, cancellation or replacement (a later start) of the
        // partition after its start.
        let end = events[i + 1..].iter().find_map(|e| match e {
            ClusterEvent::ReassignmentCompleted { at, partition, .. } if *partition == p => Some((*at, End::Completed)),
            ClusterEvent::ReassignmentCancelled { at, partition, .. } if *partition == p => Some((*at, End::Cancelled)),
            ClusterEvent::ReassignmentStarted { at, partition, .. } if *partition == p => Some((*at, End::Replaced)),
            _ => None,
        });
        let ended = |how: End| end.filter(|e| e.1 == how).map(|e| e.0);
        let (completed, cancelled, replaced) = (ended(End::Completed), ended(End::Cancelled), ended(End::Replaced));
        let leader_moved = completed.and_then(|done| {
            events.iter().find_map(|e| match e {
                ClusterEvent::Leader { at, partition, from, to, .. } if *partition == p && *at == done => {
                    Some((*from, *to))
                }
                _ => None,
            })
        });
        let copied = adding
            .iter()
            .map(|&b| {
                let appended = log(b, p)
                    .batches()
                    .filter(|x| x.appended_at >= *at && end.is_none_or(|(done, _)| x.appended_at <= done));
                let (records, bytes) =
                    appended.fold((0, 0), |(r, s), x| (r + x.batch.record_count(), s + x.size_bytes() as u64));
                (b, records, bytes)
            })
            .collect();
        let behind = match end {
            Some(_) => Vec::new(),
            None => adding.iter().map(|&b| (b, log(b, p).log_end_offset(), leader_end(p).unwrap_or(0))).collect(),
        };
        out.push(ReassignmentOutcome {
            partition: p,
            from: from.clone(),
            to: to.clone(),
            started: *at,
            completed,
            cancelled,
            replaced,
            leader_moved,
            copied,
            behind,
        });
    }
    out
}

/// The figures: reassignments completed, the longest one (ms), bytes the new replicas copied.
pub(crate) fn figures(run: &Finished) -> (u64, f64, u64) {
    let done = run.reassignments.iter().filter(|r| r.completed.is_some()).count() as u64;
    let longest = run
        .reassignments
        .iter()
        .filter_map(|r| r.completed.map(|c| c.since(r.started).as_nanos() as f64 / 1e6))
        .fold(0.0, f64::max);
    let bytes = run.reassignments.iter().flat_map(|r| &r.copied).map(|c| c.2).sum();
    (done, longest, bytes)
}

pub(crate) fn write_reassignments(out: &mut String, run: &Finished) {
    let m = &run.metadata;
    let _ = writeln!(out, "## Reassignments\n");
    let _ = writeln!(
        out,
        "The controller adds the target replicas at once; each copies the leader's log as a follower \
         (`replica.fetch.max.bytes` per fetch), and once every target replica is in the ISR it drops the \
         replicas being removed, which delete their copy. Clients notice only if the leader moves.\n"
    );
    let _ = writeln!(out, "| partition | replicas | started (s) | completed (s) | took (ms) | leader | copied |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---|---|");
    let broker = |b: Option<u32>| b.map_or("none".to_string(), |b| format!("broker-{b}"));
    for r in &run.reassignments {
        let (completed, took) = match (r.completed, r.cancelled, r.replaced) {
            (Some(c), _, _) => (format!("{c}"), format!("{:.1}", c.since(r.started).as_nanos() as f64 / 1e6)),
            (None, Some(c), _) => (format!("cancelled at {c}"), "–".to_string()),
            (None, None, Some(c)) => (format!("replaced at {c}"), "–".to_string()),
            (None, None, None) => ("not by the end".to_string(), "–".to_string()),
        };
        let leader = match (r.leader_moved, r.completed) {
            (Some((from, to)), _) => format!("{} → {}", broker(from), broker(to)),
            (None, Some(_)) => "stayed".to_string(),
            (None, None) => "–".to_string(),
        };
        let copied: Vec<String> = r
            .copied
            .iter()
            .map(|(b, records, bytes)| match (r.cancelled, r.replaced) {
                (Some(_), _) => format!("broker-{b}: deleted its copy when cancelled"),
                (None, Some(_)) => {
                    format!("broker-{b}: {records} records, {:.1} MB before the replacement", *bytes as f64 / 1e6)
                }
                (None, None) => format!("broker-{b}: {records} records, {:.1} MB", *bytes as f64 / 1e6),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {:?} → {:?} | {} | {completed} | {took} | {leader} | {} |",
            m.partition_name(r.partition),
            r.from,
            r.to,
            r.started,
            if copied.is_empty() { "nothing (no replica added)".to_string() } else { copied.join("; ") }
        );
    }
    out.push('\n');
    let running = |r: &&ReassignmentOutcome| r.completed.is_none() && r.cancelled.is_none() && r.replaced.is_none();
    for r in run.reassignments.iter().filter(running) {
        for (b, end, leader_end) in &r.behind {
            let _ = writeln!(
                out,
                "- {} still reassigning at the end: broker-{b} had copied up to offset {end} of the leader's {leader_end}.",
                m.partition_name(r.partition)
            );
        }
    }
    if run.reassignments.iter().any(|r| running(&r)) {
        out.push('\n');
    }
}
