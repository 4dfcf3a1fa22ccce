//! A Spark-like stream processor: Spark Structured Streaming's *micro-batch* execution of a
//! windowed count over a Kafka source (`spark.readStream.format("kafka")` →
//! `withWatermark("timestamp", delay)` → `groupBy(window("timestamp", size)).count()` →
//! `writeStream.outputMode("append").trigger(Trigger.ProcessingTime(interval))`).
//!
//! What it keeps of Spark (`MicroBatchExecution`, `ProcessingTimeExecutor`,
//! `EventTimeWatermarkExec`, `StateStoreSaveExec`):
//! - **The trigger.** A batch starts at the next multiple of the interval after the previous
//!   batch *started*; a batch that takes longer than the interval makes the next one start as
//!   soon as it ends ("falling behind"). Interval 0 runs batches back to back. No new data, no
//!   batch, unless the watermark has moved on (a *no-data batch*, which only emits windows).
//! - **The watermark.** Batch N runs with the watermark computed after batch N − 1: the largest
//!   event time seen so far minus the delay (it never goes back). Rows at or below it are late and
//!   dropped; windows whose end is at or below it are final, emitted once (append mode) and
//!   evicted from the state.
//! - **The checkpoint.** Before a batch runs, the range it reads goes into the offset log; when
//!   it ends, the query checkpoints its state (open windows, watermark, next batch id) together
//!   with the offsets it read up to, in one write (Spark's commit log and state store). A
//!   restarted query recovers the last checkpoint, reads on from *its* offsets (not from the
//!   group's committed offsets: those are written at another moment, and a crash in between
//!   would leave state and offsets from different batches), and first replays the batch the
//!   offset log holds beyond it, over exactly the same range.
//! - **Data loss.** When the offsets the query reads next are out of range (retention deleted
//!   them, e.g. while it was down), the Kafka source's `failOnDataLoss` (default true) fails the
//!   query; with it off, the query reads on from the earliest offset left (here by
//!   `auto.offset.reset`).
//!
//! Simplified: the query runs in one consumer-group member (the driver and its executors are
//! one node) that reads what its consumer has fetched when the batch starts, capped by
//! `maxOffsetsPerTrigger` across partitions (Spark asks for the latest offsets and then fetches
//! the range). The member still commits its offsets to the group after each batch, which shows
//! the group's lag as Spark's progress reporting does. The event time is the record's creation time at
//! the producer. The sink is not a Kafka topic: emitted rows are recorded with their batch.

use std::collections::BTreeMap;

use crate::protocol::CommittedOffset;
use crate::scenario::StreamQuery;
use crate::sim::SimTime;

/// The query's state: what a checkpoint holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryState {
    /// The id of the next batch.
    pub batch_id: u64,
    /// The largest event time seen so far.
    pub max_event_time: Option<SimTime>,
    /// The watermark the last batch ran with (`None` before any event time was seen).
    pub watermark: Option<SimTime>,
    /// Open windows: start (ns) → rows counted.
    pub windows: BTreeMap<u64, u64>,
}

/// What one batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub id: u64,
    /// The watermark it ran with.
    pub watermark: Option<SimTime>,
    pub input_rows: u64,
    /// Rows at or below the watermark: dropped.
    pub late_rows: u64,
    /// Windows final in this batch: `(start, end, count)`, in time order.
    pub emitted: Vec<(SimTime, SimTime, u64)>,
}

/// The query's driver loop: when batches run and what each one does to the state.
#[derive(Clone, Debug)]
pub struct MicroBatchQuery {
    trigger_ns: u64,
    window_ns: u64,
    delay_ns: u64,
    /// The live state.
    pub state: QueryState,
    /// The state as of the last batch that ended.
    pub checkpoint: QueryState,
    /// The offsets that batch read up to: `(partition, next offset, leader epoch of the record
    /// before it)`.
    pub checkpoint_offsets: Vec<(u32, u64, Option<u32>)>,
    /// The offset log: the last batch planned, with the offsets it reads up to. Written before
    /// the batch runs, so a restart replays exactly that range.
    pub offset_log: Option<(u64, Vec<(u32, u64)>)>,
    /// The earliest time the next batch may start.
    next_trigger: SimTime,
}

impl MicroBatchQuery {
    pub fn new(q: &StreamQuery) -> MicroBatchQuery {
        MicroBatchQuery {
            trigger_ns: q.trigger_ms * 1_000_000,
            window_ns: q.window_ms.max(1) * 1_000_000,
            delay_ns: q.watermark_delay_ms * 1_000_000,
            state: QueryState::default(),
            checkpoint: QueryState::default(),
            checkpoint_offsets: Vec::new(),
            offset_log: None,
            next_trigger: SimTime::ZERO,
        }
    }

    /// The earliest time the next batch may start.
    pub fn next_trigger(&self) -> SimTime {
        self.next_trigger
    }

    /// The watermark the next batch would run with.
    pub fn watermark_for_next_batch(&self) -> Option<SimTime> {
        self.next_watermark()
    }

    /// `None` if a batch may start at `now`, else the trigger time to wait for.
    pub fn wait_until(&self, now: SimTime) -> Option<SimTime> {
        (now < self.next_trigger).then_some(self.next_trigger)
    }

    /// A batch (or a check that found no data) started at `now`: the next may start at the next
    /// multiple of the interval (`ProcessingTimeExecutor.nextBatchTime`), or at once when it ran
    /// longer than that.
    pub fn triggered(&mut self, now: SimTime) {
        self.next_trigger = match self.trigger_ns {
            0 => now,
            t => SimTime((now.0 / t + 1) * t),
        };
    }

    /// The watermark the next batch runs with.
    fn next_watermark(&self) -> Option<SimTime> {
        let from_data = self.state.max_event_time.map(|t| SimTime(t.0.saturating_sub(self.delay_ns)));
        self.state.watermark.max(from_data)
    }

    /// Whether a batch without new data would run (`shouldRunAnotherBatch`): the watermark would
    /// move on and there is state it could evict.
    pub fn wants_no_data_batch(&self) -> bool {
        !self.state.windows.is_empty() && self.next_watermark() > self.state.watermark
    }

    /// Runs the next batch over these rows (their event times): late rows dropped, the rest
    /// counted in their windows, final windows emitted and evicted.
    pub fn run_batch(&mut self, event_times: &[SimTime]) -> BatchOutcome {
        let watermark = self.next_watermark();
        let id = self.state.batch_id;
        self.state.batch_id += 1;
        self.state.watermark = watermark;
        let mut late = 0;
        for &t in event_times {
            if watermark.is_some_and(|w| t <= w) {
                late += 1;
            } else {
                *self.state.windows.entry(t.0 / self.window_ns * self.window_ns).or_insert(0) += 1;
            }
        }
        // The watermark for the next batch sees every row, late ones included
        // (`EventTimeWatermarkExec` collects it before the aggregation filters).
        self.state.max_event_time = self.state.max_event_time.max(event_times.iter().copied().max());
        let mut emitted = Vec::new();
        if let Some(w) = watermark {
            while let Some((&start, &count)) = self.state.windows.first_key_value() {
                let end = start + self.window_ns;
                if end > w.0 {
                    break;
                }
                emitted.push((SimTime(start), SimTime(end), count));
                self.state.windows.remove(&start);
            }
        }
        BatchOutcome { id, watermark, input_rows: event_times.len() as u64, late_rows: late, emitted }
    }

    /// A batch ended, having read up to `offsets`: checkpoint the state with them.
    pub fn checkpoint(&mut self, offsets: Vec<(u32, u64, Option<u32>)>) {
        self.checkpoint = self.state.clone();
        if !offsets.is_empty() {
            self.checkpoint_offsets = offsets;
        }
    }

    /// Batch `id` is planned to read up to `ends`: the offset log's entry for it.
    pub fn planned(&mut self, id: u64, ends: Vec<(u32, u64)>) {
        self.offset_log = Some((id, ends));
    }

    /// Where the batch to replay ends in each partition: the offset log's entry when it is for
    /// the batch after the checkpoint (planned, never finished), else nothing.
    pub fn replay_ends(&self) -> Vec<(u32, u64)> {
        match &self.offset_log {
            Some((id, ends)) if *id == self.state.batch_id => ends.clone(),
            _ => Vec::new(),
        }
    }

    /// Where a restarted query reads from: the checkpoint's offset for each partition it has
    /// one for, else what the group had committed (nothing, for a query never checkpointed).
    pub fn starting_offsets(&self, committed: Vec<(u32, CommittedOffset)>) -> Vec<(u32, CommittedOffset)> {
        committed
            .into_iter()
            .map(|(p, c)| match self.checkpoint_offsets.iter().find(|o| o.0 == p) {
                Some(&(_, offset, epoch)) => (p, Some((offset, epoch))),
                None => (p, c),
            })
            .collect()
    }

    /// A restart: the state goes back to the last checkpoint, and a batch may start at once.
    pub fn recover(&mut self) {
        self.state = self.checkpoint.clone();
        self.next_trigger = SimTime::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(trigger_ms: u64, window_ms: u64, watermark_delay_ms: u64) -> MicroBatchQuery {
        MicroBatchQuery::new(&StreamQuery {
            trigger_ms,
            window_ms,
            watermark_delay_ms,
            max_offsets_per_trigger: None,
            fail_on_data_loss: true,
        })
    }

    fn ms(v: u64) -> SimTime {
        SimTime::from_ms(v)
    }

    #[test]
    fn the_trigger_waits_for_the_next_multiple_of_the_interval_unless_the_batch_overran() {
        let mut q = query(1000, 1000, 0);
        assert_eq!(q.wait_until(ms(0)), None);
        q.triggered(ms(0));
        assert_eq!(q.wait_until(ms(300)), Some(ms(1000)));
        // A batch started at 1 s that ends at 2.5 s: the 2 s trigger has passed, go at once.
        q.triggered(ms(1000));
        assert_eq!(q.wait_until(ms(2500)), None);
        // A batch started late (at 2.5 s) waits for 3 s, not 3.5 s.
        q.triggered(ms(2500));
        assert_eq!(q.wait_until(ms(2600)), Some(ms(3000)));
        // Interval 0: back to back.
        let mut q = query(0, 1000, 0);
        q.triggered(ms(700));
        assert_eq!(q.wait_until(ms(700)), None);
    }

    #[test]
    fn a_batch_runs_with_the_watermark_of_the_batches_before_it() {
        let mut q = query(1000, 1000, 500);
        // Batch 0: no watermark yet; rows in windows [0, 1 s) and [1 s, 2 s).
        let b = q.run_batch(&[ms(100), ms(900), ms(1200)]);
        assert_eq!((b.id, b.watermark, b.late_rows, b.emitted.len()), (0, None, 0, 0));
        // Batch 1 runs with 1.2 s − 0.5 s = 0.7 s: a row at 0.6 s is late, nothing is final yet.
        let b = q.run_batch(&[ms(600), ms(2300)]);
        assert_eq!((b.watermark, b.late_rows), (Some(ms(700)), 1));
        assert!(b.emitted.is_empty());
        // Batch 2 runs with 2.3 − 0.5 = 1.8 s: window [0, 1 s) is final, with its 2 rows.
        let b = q.run_batch(&[ms(2600)]);
        assert_eq!(b.watermark, Some(ms(1800)));
        assert_eq!(b.emitted, vec![(ms(0), ms(1000), 2)]);
        // Without new data the watermark would move to 2.1 s and close [1 s, 2 s): a no-data batch.
        assert!(q.wants_no_data_batch());
        let b = q.run_batch(&[]);
        assert_eq!(b.emitted, vec![(ms(1000), ms(2000), 1)]);
        assert!(!q.wants_no_data_batch(), "the watermark cannot move without new data");
    }

    #[test]
    fn a_restart_recovers_the_last_checkpoint() {
        let mut q = query(0, 1000, 0);
        q.run_batch(&[ms(100)]);
        q.checkpoint(vec![(0, 1, Some(0))]);
        let before = q.state.clone();
        q.run_batch(&[ms(1500), ms(2500)]);
        q.planned(1, vec![(0, 3)]);
        assert_ne!(q.state, before);
        q.recover();
        assert_eq!(q.replay_ends(), vec![(0, 3)], "batch 1 was planned, never checkpointed: replay it");
        assert_eq!(q.state, before);
        assert_eq!(q.state.batch_id, 1, "the uncommitted batch runs again with its id");
        // It reads on from the checkpoint's offsets, whatever the group committed.
        let from = q.starting_offsets(vec![(0, Some((3, Some(0)))), (1, None)]);
        assert_eq!(from, vec![(0, Some((1, Some(0)))), (1, None)]);
        // Once batch 1 is checkpointed, nothing is left to replay.
        q.run_batch(&[ms(1500)]);
        q.checkpoint(vec![(0, 3, Some(0))]);
        q.recover();
        assert!(q.replay_ends().is_empty());
    }
}
