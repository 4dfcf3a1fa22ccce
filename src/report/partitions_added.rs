//! The summary's "Partitions added" section: what a `CreatePartitions` fault changed, when each
//! client learned of it, the keys that moved, what each group missed on the new partitions, and
//! the records it processed out of their key's order.

use std::fmt::Write;

use super::figures::partition_created_at;
use crate::cluster::ClusterEvent;
use crate::sim::{Finished, SimTime};

/// Per consumer group: records on partitions created during the run that lie below the group's
/// first position there, and so were never read by it (it noticed the partition late and
/// started at its end, as `auto.offset.reset=latest` does; or retention had deleted them).
pub(crate) fn new_partition_records_missed(run: &Finished) -> Vec<u64> {
    let mut missed = vec![0; run.scenario.consumer_groups.len()];
    for p in &run.recorder.groups.processed {
        if !run.metadata.exists_initially(p.partition) {
            missed[p.group as usize] += p.first_position.unwrap_or(0);
        }
    }
    missed
}

/// Keys whose partition changed, summed over producers and the changes each saw.
pub(crate) fn keys_moved(run: &Finished) -> u64 {
    run.recorder.partition_discoveries.iter().filter_map(|d| d.keys_moved).map(|(moved, _)| moved).sum()
}

/// When a group first owned partition `p` (any member), if it did.
fn first_owned(run: &Finished, group: u32, p: u32) -> Option<SimTime> {
    run.recorder.groups.spans.iter().filter(|s| s.group == group && s.partition == p).map(|s| s.from).min()
}

pub(crate) fn write_partitions_added(out: &mut String, run: &Finished) {
    let m = &run.metadata;
    let _ = writeln!(out, "## Partitions added\n");
    let _ = writeln!(
        out,
        "The controller creates the partitions at once; clients see them when their metadata next refreshes \
         (`metadata.max.age.ms`, or an error). A producer then spreads over them, and a keyed record goes to \
         `murmur2(key) % partitions`: keys move, and their earlier records stay where they were. A classic \
         group's leader rejoins when its metadata shows counts other than those it assigned; a `Consumer` \
         (KIP-848) group's coordinator bumps the group epoch itself. A new partition without a committed \
         offset starts where `auto.offset.reset` says: with `Latest`, at its end.\n"
    );
    for t in m.topics.iter().filter(|t| t.initial_partitions < t.partitions) {
        let created: Vec<(u32, SimTime)> = (t.first + t.initial_partitions..t.first + t.partitions)
            .filter_map(|p| partition_created_at(run, p).map(|at| (p - t.first, at)))
            .collect();
        let when: Vec<String> = run
            .cluster_events
            .iter()
            .filter_map(|e| match e {
                ClusterEvent::PartitionCreated { at, partition, replicas } if m.topic_of(*partition).name == t.name => {
                    Some(format!("{}-{} at {at} s (replicas {replicas:?})", t.name, partition - t.first))
                }
                _ => None,
            })
            .collect();
        let now = t.initial_partitions + created.len() as u32;
        let _ = writeln!(
            out,
            "**{}**: {} partitions at the start, {now} at the end. Created: {}.\n",
            t.name,
            t.initial_partitions,
            if when.is_empty() { "none (the request did not fire)".to_string() } else { when.join(", ") }
        );
        let seen: Vec<_> = run.recorder.partition_discoveries.iter().filter(|d| d.topic == t.name).collect();
        if !seen.is_empty() {
            let _ =
                writeln!(out, "| client | saw the new count at | partitions | keys that now go to another partition |");
            let _ = writeln!(out, "|---|---:|---|---|");
            for d in seen {
                let keys = d.keys_moved.map_or("—".to_string(), |(moved, of)| format!("{moved} of {of}"));
                let _ = writeln!(out, "| {} | {} s | {} → {} | {keys} |", d.client, d.at, d.from, d.to);
            }
            out.push('\n');
        }
    }
    let missed = new_partition_records_missed(run);
    for (g, group) in run.scenario.consumer_groups.iter().enumerate() {
        let g32 = g as u32;
        let grew: Vec<u32> = group
            .topics
            .iter()
            .filter_map(|name| m.topic_index(name).map(|i| &m.topics[i]))
            .flat_map(|t| t.first + t.initial_partitions..t.first + t.partitions)
            .filter(|&p| partition_created_at(run, p).is_some())
            .collect();
        if grew.is_empty() {
            continue;
        }
        let owned: Vec<String> = grew
            .iter()
            .map(|&p| {
                let created = partition_created_at(run, p).unwrap_or(SimTime::ZERO);
                match first_owned(run, g32, p) {
                    Some(at) => format!(
                        "{} {:.3} s after its creation",
                        m.partition_name(p),
                        at.since(created).as_nanos() as f64 / 1e9
                    ),
                    None => format!("{} never", m.partition_name(p)),
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "- group **{}** (`auto.offset.reset={}`, {} protocol) was first assigned {}; records written there before \
             its first position, never read: **{}**.",
            group.name,
            group.auto_offset_reset,
            if group.group_protocol == crate::scenario::GroupProtocol::Consumer { "KIP-848" } else { "classic" },
            owned.join(", "),
            missed[g]
        );
        match run.recorder.key_order.inversions.get(&g32) {
            Some(&(count, first)) => {
                let producer = run.scenario.producers.get(first.producer as usize).map_or("?", |p| p.name.as_str());
                let _ = writeln!(
                    out,
                    "  Records processed after a later record of their key (same producer): **{count}**. The first: \
                     {}@{} sent by {producer} at {} s, processed at {} s, after one sent at {} s.",
                    m.partition_name(first.partition),
                    first.offset,
                    first.created,
                    first.at,
                    first.after
                );
            }
            None => {
                let _ = writeln!(out, "  Every key's records were processed in the order their producer sent them.");
            }
        }
    }
    out.push('\n');
}
