//! A broker's log cleaner thread (`LogCleaner.CleanerThread`): on every wake-up it cleans the
//! compacted logs of the partitions this broker holds, leader or follower, whose dirty ratio is
//! above `min.cleanable.dirty.ratio`, filthiest first; then it sleeps `log.cleaner.backoff.ms`.
//! The cleaning itself is [`crate::cluster::cleaner`].

use super::Broker;
use crate::cluster::cleaner::{self, LogToClean};
use crate::sim::{Ctx, SimDuration, Timer};

impl Broker {
    /// `LogCleaner.startup`, when any topic is compacted.
    pub(super) fn start_log_cleaner(&self, ctx: &mut Ctx) {
        if self.metadata.topics.iter().any(|t| t.compaction.is_some()) {
            ctx.set_timer(SimDuration::from_ms(self.settings.log_cleaner_backoff_ms.max(1)), Timer::LogCleaner);
        }
    }

    /// One wake-up of the cleaner thread (`CleanerThread.doWork`).
    pub(super) fn run_log_cleaner(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let mut cleaned: Vec<u32> = Vec::new();
        loop {
            // `grabFilthiestCompactedLog`: the highest ratio above its topic's minimum (the lowest
            // partition on a tie), each log once per wake-up.
            let mut filthiest: Option<(u32, LogToClean)> = None;
            for p in 0..self.replicas.len() as u32 {
                let Some(c) = self.metadata.topic_of(p).compaction else { continue };
                if !self.is_replica(p) || cleaned.contains(&p) {
                    continue;
                }
                let r = &self.replicas[p as usize];
                let plan = cleaner::log_to_clean(&r.log, r.cleaner_checkpoint, r.high_watermark, now, &c);
                if plan.is_cleanable(&c)
                    && filthiest.is_none_or(|(_, best)| plan.cleanable_ratio() > best.cleanable_ratio())
                {
                    filthiest = Some((p, plan));
                }
            }
            let Some((p, plan)) = filthiest else { break };
            cleaned.push(p);
            let c = self.metadata.topic_of(p).compaction.expect("a compacted topic");
            let leader = self.leads(p);
            let r = &mut self.replicas[p as usize];
            let (stats, removed) = cleaner::clean(&mut r.log, &plan, now, &c);
            r.cleaner_checkpoint = Some(stats.end_offset);
            if !removed.is_empty() {
                // Committed records the cleaner dropped leave the ledger, as retention's do.
                ctx.history().deleted_by_retention(p, removed.iter().map(|b| (b.base_offset, &*b.batch)), now);
            }
            let line = || {
                let why = if plan.cleanable_ratio() > c.min_cleanable_dirty_ratio {
                    ""
                } else {
                    ", max.compaction.lag.ms passed"
                };
                let aborted = match (stats.aborted_records_removed, stats.markers_removed) {
                    (0, 0) => String::new(),
                    (n, 0) => format!(", {n} of aborted transactions"),
                    (n, m) => format!(", {n} of aborted transactions, {m} transaction markers"),
                };
                format!(
                    "{} cleaned offsets {}..{} (dirty ratio {:.2}{why}): {} of {} records removed ({} tombstones{aborted}), {} → {} bytes",
                    self.metadata.partition_name(p),
                    plan.first_dirty_offset,
                    stats.end_offset,
                    plan.cleanable_ratio(),
                    stats.records_removed,
                    stats.records_read,
                    stats.tombstones_removed,
                    stats.bytes_before,
                    stats.bytes_after
                )
            };
            if leader {
                ctx.notable("log cleaner", line);
            } else {
                ctx.detail("log cleaner", line);
            }
            ctx.metrics().compactions.push(crate::metrics::CompactionRun {
                at: now,
                partition: p,
                broker: self.id,
                leader,
                first_dirty: plan.first_dirty_offset,
                end: stats.end_offset,
                dirty_ratio: plan.cleanable_ratio(),
                stats,
            });
        }
        ctx.set_timer(SimDuration::from_ms(self.settings.log_cleaner_backoff_ms.max(1)), Timer::LogCleaner);
    }
}
