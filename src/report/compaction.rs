//! The summary's "Log compaction" section: what each compacted partition's log cleaner did, what
//! the log holds at the end, and whether every key kept its latest value.

use std::fmt::Write;

use crate::metrics::LogSizeSample;
use crate::sim::Finished;

/// The last sample of each compacted partition's leader log, in partition order.
pub(crate) fn last_log_sizes(run: &Finished) -> Vec<LogSizeSample> {
    let mut last: std::collections::BTreeMap<u32, LogSizeSample> = std::collections::BTreeMap::new();
    for s in &run.recorder.log_sizes {
        last.insert(s.partition, *s);
    }
    last.into_values().collect()
}

/// Per consumer group: deletes it never saw. A leader's cleaner removed a tombstone (its
/// `delete.retention.ms` over) at an offset the group had not yet reached, by its position at
/// the last sample before. A group that had read an earlier value of the key keeps it: its copy
/// of the table still holds a deleted key. (Groups without a position then, not yet reading the
/// partition, are not counted: the key's older values were gone before its tombstone.)
pub(crate) fn missed_deletes(run: &Finished) -> Vec<u64> {
    let r = &run.recorder;
    let interval_ns = r.interval_ns().max(1);
    let mut missed = vec![0; run.scenario.consumer_groups.len()];
    for c in r.compactions.iter().filter(|c| c.leader && !c.stats.tombstones_removed_at.is_empty()) {
        // The last sample at or before the cleaning (interval i ends at (i + 1) × interval).
        let Some(last) = (c.at.0 / interval_ns).checked_sub(1) else { continue };
        for (g, count) in missed.iter_mut().enumerate() {
            let position = r
                .groups
                .offsets
                .iter()
                .rev()
                .find(|o| o.group == g as u32 && o.partition == c.partition && u64::from(o.interval) <= last)
                .and_then(|o| o.position);
            if let Some(position) = position {
                *count += c.stats.tombstones_removed_at.iter().filter(|&&o| o >= position).count() as u64;
            }
        }
    }
    missed
}

pub(crate) fn write_compaction(out: &mut String, run: &Finished) {
    let _ = writeln!(out, "## Log compaction\n");
    let _ = writeln!(
        out,
        "Each broker's log cleaner wakes every {} ms (`log.cleaner.backoff.ms`) and cleans the compacted \
         logs it holds whose dirty part (records written since the last cleaning, up to the active segment) \
         is more than `min.cleanable.dirty.ratio` of the log: it keeps the latest record of every key, and a \
         tombstone until `delete.retention.ms` after the cleaning that first kept it. Offsets never change: \
         readers pass over the gaps. Counts are the leaders' (followers clean their own copies too).\n",
        run.scenario.cluster.replication.log_cleaner_backoff_ms
    );
    let _ = writeln!(
        out,
        "| partition | cleanings | records removed | tombstones removed | records in the log at the end | offsets it spans | keys | tombstones | bytes |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let last = last_log_sizes(run);
    for t in run.metadata.topics.iter().filter(|t| t.compaction.is_some()) {
        for p in t.first..t.first + t.partitions {
            let cleanings: Vec<_> = run.recorder.compactions.iter().filter(|c| c.partition == p && c.leader).collect();
            let end = last.iter().find(|s| s.partition == p);
            let (records, span, keys, tombstones, bytes) = end.map_or((0, 0, 0, 0, 0), |s| {
                (s.records, s.log_end_offset - s.log_start_offset, s.keys, s.tombstones, s.size_bytes)
            });
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {records} | {span} | {keys} | {tombstones} | {bytes} |",
                run.metadata.partition_name(p),
                cleanings.len(),
                cleanings.iter().map(|c| c.stats.records_removed).sum::<u64>(),
                cleanings.iter().map(|c| c.stats.tombstones_removed).sum::<u64>(),
            );
        }
    }
    let v = &run.verdicts;
    if v.compacted_keys_missing == 0 {
        let _ = writeln!(
            out,
            "\nThe latest value of every key is in the final log: {} keys checked (keys whose latest record is a tombstone excepted).",
            v.compacted_keys_checked
        );
    } else {
        let examples: Vec<String> = v
            .compacted_missing_examples
            .iter()
            .map(|&(p, _, offset)| format!("{} offset {offset}", run.metadata.partition_name(p)))
            .collect();
        let _ = writeln!(
            out,
            "\n**{} of {} keys lost their latest value** (compaction must keep it): {}.",
            v.compacted_keys_missing,
            v.compacted_keys_checked,
            examples.join(", ")
        );
    }
    // What reading a compacted log cost each group: the records it processed there against the
    // offsets it passed over because the cleaner had removed them.
    let compacted: Vec<u32> = run
        .metadata
        .topics
        .iter()
        .filter(|t| t.compaction.is_some())
        .flat_map(|t| t.first..t.first + t.partitions)
        .collect();
    for (g, group) in run.scenario.consumer_groups.iter().enumerate() {
        let mine =
            run.recorder.groups.processed.iter().filter(|p| p.group == g as u32 && compacted.contains(&p.partition));
        let (mut records, mut passed) = (0, 0);
        for p in mine {
            records += p.offsets().covered(0, u64::MAX);
            passed += p.compacted_away.covered(0, u64::MAX);
        }
        if passed > 0 {
            let _ = writeln!(
                out,
                "\nGroup {} processed {records} records of compacted partitions and passed over {passed} offsets the cleaner had emptied.",
                group.name
            );
        }
    }
    for (g, missed) in missed_deletes(run).into_iter().enumerate().filter(|&(_, m)| m > 0) {
        let _ = writeln!(
            out,
            "\nGroup {} was behind when {missed} tombstones went (`delete.retention.ms` = {} ms): it never saw those \
             deletes, and where it had read an earlier value of the key, its table still holds the deleted key.",
            run.scenario.consumer_groups[g].name,
            run.scenario
                .topics
                .iter()
                .filter(|t| t.cleanup_policy.compacts())
                .map(|t| t.delete_retention_ms)
                .min()
                .unwrap_or(0)
        );
    }
    out.push('\n');
}
