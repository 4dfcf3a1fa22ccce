//! The figures of a run: the named numbers that the summary shows and `expect` blocks bound.

use std::collections::BTreeMap;

use crate::cluster::{ClusterEvent, Election};
use crate::metrics::Percentiles;
use crate::sim::Finished;

/// Every figure listed in [`crate::scenario::FIGURES`], computed from a finished run.
pub(crate) fn figures(run: &Finished) -> BTreeMap<&'static str, f64> {
    let r = &run.recorder;
    let t = &r.totals;
    let secs = run.scenario.duration_ms as f64 / 1000.0;
    let mut f = BTreeMap::new();
    f.insert("records_produced", t.produced as f64);
    f.insert("records_acked", t.acked as f64);
    f.insert("records_failed", t.failed as f64);
    f.insert("records_consumed", t.consumed as f64);
    f.insert("produce_requests", t.produce_requests as f64);
    f.insert("records_per_batch_mean", if t.batches == 0 { 0.0 } else { t.batched_records as f64 / t.batches as f64 });
    f.insert("accumulator_wait_mean_ms", r.accumulator_wait_mean_ms());
    f.insert("acked_per_sec", t.acked as f64 / secs);
    f.insert("consumed_per_sec", t.consumed as f64 / secs);
    f.insert("produce_requests_per_sec", t.produce_requests as f64 / secs);
    let ms = |us: u64| us as f64 / 1000.0;
    let p = Percentiles::of(&r.produce_latency.total);
    f.insert("produce_latency_p50_ms", ms(p.p50));
    f.insert("produce_latency_p90_ms", ms(p.p90));
    f.insert("produce_latency_p99_ms", ms(p.p99));
    f.insert("produce_latency_p999_ms", ms(p.p999));
    f.insert("produce_latency_max_ms", ms(p.max));
    let e = Percentiles::of(&r.e2e_latency.total);
    f.insert("e2e_latency_p50_ms", ms(e.p50));
    f.insert("e2e_latency_p90_ms", ms(e.p90));
    f.insert("e2e_latency_p99_ms", ms(e.p99));
    f.insert("e2e_latency_p999_ms", ms(e.p999));
    f.insert("e2e_latency_max_ms", ms(e.max));
    f.insert("consumer_lag_max_records", t.lag_max_records as f64);
    let ends = run.partitions.iter().map(|p| p.log_end_offset);
    f.insert("partition_records_max", ends.clone().max().unwrap_or(0) as f64);
    f.insert("partition_records_min", ends.min().unwrap_or(0) as f64);
    let v = &run.verdicts;
    f.insert("lost_records", v.lost_records as f64);
    f.insert("unavailable_records", v.unavailable_records as f64);
    f.insert("duplicate_records", v.duplicate_records as f64);
    f.insert("reordered_records", v.reordered_records as f64);
    f.insert("diverged_offsets", v.diverged_offsets as f64);
    f.insert("inconsistent_offsets", v.inconsistent_offsets as f64);
    f.insert("unobserved_records", unobserved(run).unwrap_or(0) as f64);
    f.insert("truncated_records", run.truncations.iter().map(|t| t.records_removed).sum::<u64>() as f64);
    let deletions = &r.retention_deletions;
    f.insert("records_deleted_by_retention", deletions.iter().map(|d| d.to - d.from).sum::<u64>() as f64);
    f.insert("retention_segments_deleted", deletions.iter().map(|d| d.segments as u64).sum::<u64>() as f64);
    let cleanings = r.compactions.iter().filter(|c| c.leader);
    f.insert("compaction_cleanings", cleanings.clone().count() as f64);
    f.insert("records_removed_by_compaction", cleanings.clone().map(|c| c.stats.records_removed).sum::<u64>() as f64);
    f.insert("tombstones_removed_by_compaction", cleanings.map(|c| c.stats.tombstones_removed).sum::<u64>() as f64);
    let last = super::compaction::last_log_sizes(run);
    f.insert("compacted_log_records", last.iter().map(|s| s.records).sum::<u64>() as f64);
    f.insert("compacted_log_keys", last.iter().map(|s| s.keys).sum::<u64>() as f64);
    f.insert("compacted_log_tombstones", last.iter().map(|s| s.tombstones).sum::<u64>() as f64);
    let mut largest: BTreeMap<u32, u64> = BTreeMap::new();
    for s in &r.log_sizes {
        let m = largest.entry(s.partition).or_default();
        *m = (*m).max(s.records);
    }
    f.insert("compacted_log_records_max", largest.values().sum::<u64>() as f64);
    f.insert("compacted_keys_missing", v.compacted_keys_missing as f64);
    let created = run.cluster_events.iter().filter(|e| matches!(e, ClusterEvent::PartitionCreated { .. }));
    f.insert("partitions_created", created.count() as f64);
    let (reassigned, longest_ms, copied_bytes) = super::reassignments::figures(run);
    f.insert("reassignments_completed", reassigned as f64);
    f.insert("reassignment_time_max_ms", longest_ms);
    f.insert("reassignment_bytes_copied", copied_bytes as f64);
    let (nic_busy_max, nic_wait_max_ms) = super::network::figures(run);
    f.insert("nic_busy_max_pct", nic_busy_max);
    f.insert("controller_elections", super::quorum::elections(run) as f64);
    f.insert("controller_unavailable_ms", super::quorum::unavailable_ms(run));
    f.insert("nic_wait_max_ms", nic_wait_max_ms);
    f.insert("keys_moved_partition", super::partitions_added::keys_moved(run) as f64);
    let missed = super::partitions_added::new_partition_records_missed(run);
    f.insert("new_partition_records_missed", missed.iter().sum::<u64>() as f64);
    let groups = run.scenario.consumer_groups.len() as u32;
    f.insert("key_order_violations", (0..groups).map(|g| r.key_order.inversions(g)).sum::<u64>() as f64);
    f.insert("deletes_missed_by_groups", super::compaction::missed_deletes(run).iter().sum::<u64>() as f64);
    f.insert(
        "unreplicated_records",
        run.partitions.iter().map(|p| p.log_end_offset.saturating_sub(p.high_watermark)).sum::<u64>() as f64,
    );
    f.insert(
        "offline_partition_seconds",
        run.offline.iter().map(|(_, from, to)| to.since(*from).as_nanos() as f64 / 1e9).sum(),
    );
    let mut elections = 0;
    let mut unclean = 0;
    let mut from_elr = 0;
    let mut shrinks = 0;
    let mut expansions = 0;
    for e in &run.cluster_events {
        match e {
            ClusterEvent::Leader { election, .. } => {
                elections += 1;
                unclean += u64::from(*election == Election::Unclean);
                from_elr += u64::from(*election == Election::Elr);
            }
            ClusterEvent::Isr { from, to, .. } => {
                shrinks += u64::from(to.len() < from.len());
                expansions += u64::from(to.len() > from.len());
            }
            _ => {}
        }
    }
    f.insert("leader_elections", elections as f64);
    f.insert("unclean_elections", unclean as f64);
    f.insert("elr_elections", from_elr as f64);
    f.insert("isr_shrinks", shrinks as f64);
    f.insert("isr_expansions", expansions as f64);
    f.insert("produce_errors", r.errors.values().sum::<u64>() as f64);
    f.insert("not_enough_replicas_errors", r.errors.get("NOT_ENOUGH_REPLICAS").copied().unwrap_or(0) as f64);
    f.insert("producer_retries", t.retries as f64);
    let responses = t.produce_responses.max(1) as f64;
    f.insert("produce_throttle_time_avg_ms", t.throttle_ms_total as f64 / responses);
    f.insert("produce_throttle_time_max_ms", t.throttle_ms_max as f64);
    f.insert("throttled_produce_responses", t.throttled_responses as f64);
    f.insert("throttled_fetch_responses", t.throttled_fetch_responses as f64);
    f.insert("fetch_throttle_time_max_ms", t.fetch_throttle_ms_max as f64);
    let g = &r.groups;
    let groups = 0..run.group_states.len() as u32;
    f.insert("rebalances", run.group_states.iter().map(|g| g.rebalances.len()).sum::<usize>() as f64);
    f.insert("processed_twice_records", groups.clone().map(|i| g.duplicates(i)).sum::<u64>() as f64);
    f.insert("skipped_records", groups.clone().map(|i| g.skipped(i, &run.verdicts.final_epochs)).sum::<u64>() as f64);
    f.insert("paused_partition_seconds", groups.map(|i| paused_partition_seconds(run, i)).sum::<f64>());
    f.insert("commit_failures", g.commits.iter().filter(|c| c.error.is_some()).count() as f64);
    f.insert(
        "offsets_expired",
        run.group_states.iter().flat_map(|g| &g.expirations).map(|e| e.1).sum::<usize>() as f64,
    );
    f.insert("offset_resets", g.resets.len() as f64);
    f.insert("truncations_detected", g.truncations_detected.len() as f64);
    let batches: Vec<_> = g.stream_batches.iter().filter(|b| stream_batch_done(run, b)).collect();
    f.insert("stream_batches", batches.len() as f64);
    f.insert("stream_batches_behind", batches.iter().filter(|b| stream_batch_behind(run, b)).count() as f64);
    f.insert("stream_query_failures", g.stream_failures.len() as f64);
    f.insert("stream_late_rows", batches.iter().map(|b| b.late_rows).sum::<u64>() as f64);
    f.insert(
        "stream_window_delay_max_ms",
        batches.iter().flat_map(|b| b.emitted.iter().map(|w| b.end.since(w.1).as_nanos())).max().unwrap_or(0) as f64
            / 1e6,
    );
    f.insert("producer_app_cpu_ms", t.producer_app_cpu_ns as f64 / 1e6);
    f.insert("producer_sender_cpu_ms", t.producer_sender_cpu_ns as f64 / 1e6);
    f.insert("flushes", t.flushes as f64);
    f.insert("flush_time_max_ms", t.flush_max_ns as f64 / 1e6);
    let txns = &r.transactions;
    f.insert("transactions_committed", txns.iter().filter(|t| t.committed).count() as f64);
    f.insert("transactions_aborted", txns.iter().filter(|t| !t.committed).count() as f64);
    f.insert("transactions_timed_out", txns.iter().filter(|t| t.timed_out).count() as f64);
    f.insert("transaction_end_time_max_ms", t.transaction_end_max_ns as f64 / 1e6);
    f.insert("aborted_records_produced", t.aborted_records_produced as f64);
    f.insert("aborted_records_skipped", t.aborted_records_skipped as f64);
    f.insert("producers_fenced", t.producers_fenced as f64);
    f.insert("output_records", run.pipelines.iter().map(|p| p.visible_records).sum::<u64>() as f64);
    f.insert("output_duplicates", run.pipelines.iter().map(|p| p.duplicates).sum::<u64>() as f64);
    f.insert("output_missing", run.pipelines.iter().map(|p| p.missing).sum::<u64>() as f64);
    // Rounded so that a figure prints the same everywhere it appears.
    for v in f.values_mut() {
        *v = (*v * 1000.0).round() / 1000.0 + 0.0; // + 0.0 turns -0.0 into 0.0
    }
    f
}

/// Whether a micro-batch completed: not aborted by a crash, and ended by the end of the run.
pub(crate) fn stream_batch_done(run: &Finished, b: &crate::metrics::StreamBatch) -> bool {
    !b.aborted && b.end <= crate::sim::SimTime::from_ms(run.scenario.duration_ms)
}

/// Whether a micro-batch ran longer than its query's trigger interval (Spark's "Current batch is
/// falling behind"; never with interval 0, which runs batches back to back).
pub(crate) fn stream_batch_behind(run: &Finished, b: &crate::metrics::StreamBatch) -> bool {
    let trigger_ms = run.scenario.consumer_groups[b.group as usize].stream.as_ref().map_or(0, |q| q.trigger_ms);
    trigger_ms > 0 && b.end.since(b.start) > crate::sim::SimDuration::from_ms(trigger_ms)
}

/// Partition-seconds during which a partition of group `g`'s topics had no owner, from the
/// group's first assignment to the end of the run (rebalances, dead members not yet expired).
pub(crate) fn paused_partition_seconds(run: &Finished, g: u32) -> f64 {
    let records = &run.recorder.groups;
    let Some(first) = records.spans.iter().filter(|s| s.group == g).map(|s| s.from).min() else {
        return 0.0;
    };
    let end = crate::sim::SimTime::from_ms(run.scenario.duration_ms);
    let mut total = 0.0;
    for p in group_partitions(run, g) {
        // A partition created during the run counts from its creation (the window before the
        // group learns of it is unowned time), one never created not at all.
        let from = match run.metadata.exists_initially(p) {
            true => first,
            false => match partition_created_at(run, p) {
                Some(at) => at.max(first),
                None => continue,
            },
        };
        total += records.unowned_seconds(g, &[p], from, end);
    }
    total
}

/// When a `CreatePartitions` fault created partition `p`, if one did.
pub(crate) fn partition_created_at(run: &Finished, p: u32) -> Option<crate::sim::SimTime> {
    run.cluster_events.iter().find_map(|e| match e {
        ClusterEvent::PartitionCreated { at, partition, .. } if *partition == p => Some(*at),
        _ => None,
    })
}

/// The global partitions of group `g`'s topics.
pub(crate) fn group_partitions(run: &Finished, g: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for t in &run.scenario.consumer_groups[g as usize].topics {
        if let Some(i) = run.metadata.topic_index(t) {
            let m = &run.metadata.topics[i];
            out.extend(m.first..m.first + m.partitions);
        }
    }
    out
}

/// Jepsen's *unobserved*, over the partitions of topics some consumer group reads: acknowledged
/// records still in the final log beyond the furthest position any of those groups reached.
/// `None` when no group reads any topic (not applicable). A record at an offset a consumer had
/// passed before a truncation made another record take it counts as observed (consumers' reads
/// are not recorded one by one; the inconsistent offset shows there).
pub(crate) fn unobserved(run: &Finished) -> Option<u64> {
    let groups = &run.scenario.consumer_groups;
    if groups.is_empty() {
        return None;
    }
    let m = &run.metadata;
    let mut total = 0;
    for p in 0..m.partition_count() as u32 {
        let topic = &m.topic_of(p).name;
        let name = m.partition_name(p);
        let readers: Vec<&str> = groups.iter().filter(|g| g.topics.contains(topic)).map(|g| g.name.as_str()).collect();
        if readers.is_empty() {
            continue;
        }
        let position = run
            .groups
            .iter()
            .filter(|g| readers.contains(&g.name.as_str()))
            .flat_map(|g| &g.members)
            .flat_map(|m| &m.positions)
            .filter(|(partition, _)| *partition == name)
            .map(|(_, position)| *position)
            .max()
            .unwrap_or(0);
        // Or the furthest offset a reading group processed (its partition may be unowned at the end).
        let processed = run
            .recorder
            .groups
            .processed
            .iter()
            .filter(|x| x.partition == p && readers.contains(&groups[x.group as usize].name.as_str()))
            .filter_map(|x| x.furthest())
            .max()
            .unwrap_or(0);
        total += run.verdicts.unobserved_from(p, position.max(processed));
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use crate::scenario::FIGURES;

    #[test]
    fn every_documented_figure_is_computed_and_nothing_else() {
        let s: crate::scenario::Scenario = crate::scenario::parse(
            "t.ron",
            r#"Scenario(name: "t", description: "d", seed: 1, duration_ms: 100, topics: [(name: "a")])"#,
            &[],
        )
        .unwrap();
        let run = crate::sim::Simulation::new(&s).finish();
        let f = super::figures(&run);
        let computed: Vec<&str> = f.keys().copied().collect();
        let mut documented: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
        documented.sort();
        assert_eq!(computed, documented);
    }

    #[test]
    fn accumulator_wait_is_measured_from_intended_send_to_drain() {
        // Evenly spaced records 1 ms apart, linger 5 ms, a batch that never fills: a batch opens
        // at t, takes the records at t .. t+4 ms and leaves at t+5 ms (the linger timer was
        // scheduled before the record at t+5 ms, which opens the next batch). Waits 5, 4, 3, 2,
        // 1 ms: mean 3 ms, 5 records per batch.
        let s = crate::scenario::parse(
            "t.ron",
            r#"Scenario(name: "t", description: "d", seed: 1, duration_ms: 1000,
                cluster: (brokers: 1, network: (latency_us: 50)), topics: [(name: "a")],
                producers: [(name: "p", topic: "a", arrival: Constant(per_sec: 1000.0), acks: One,
                    linger_ms: 5, batch_size: 1048576)])"#,
            &[],
        )
        .unwrap();
        let report = crate::run(&s, &crate::RunOptions::default()).unwrap();
        assert_eq!(report.figures["accumulator_wait_mean_ms"], 3.0);
        assert_eq!(report.figures["records_per_batch_mean"], 5.0);
    }
}
