//! Metrics: counters per time interval and latency histograms.
//!
//! Counters live in fixed-width intervals (`sample_interval_ms`), so memory grows with the run's
//! duration, not with its record count. Latencies go into HdrHistograms (3 significant digits,
//! microseconds): one for the whole run, and for the over-time charts the open interval's samples
//! in the same bins (kept by [`IntervalBins`], whose cost per interval follows what it recorded;
//! the closed intervals' counts are summed bin by bin and go into the whole-run histogram when
//! the run finishes).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

mod groups;
mod key_order;
pub use groups::{
    CommitRecord, GroupOffsetSample, GroupRecords, OwnershipSpan, Processed, ProcessingRun, RangeSet, StreamBatch,
    record_key, split_key, split_range,
};
pub use key_order::KeyOrder;

use crate::sim::SimTime;

/// Counts and gauges of one interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interval {
    pub produced: u64,
    pub acked: u64,
    pub failed: u64,
    pub consumed: u64,
    pub produce_requests: u64,
    /// Total consumer lag (log end offset − position, over every group's partitions) at the
    /// interval's end.
    pub lag_records: u64,
    /// Produce latency percentiles of records acknowledged in this interval, in µs.
    pub produce_latency_us: Percentiles,
    /// End-to-end latency percentiles of records consumed in this interval, in µs.
    pub e2e_latency_us: Percentiles,
}

/// Latency percentiles in µs (0 when there were no samples).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// A latency histogram for one measurement, whole-run and per interval. Samples go into the
/// interval's bins only; when the interval closes, its percentiles are taken and its counts are
/// added to the run's, bin by bin; [`Recorder::finish`] records those into the whole-run
/// histogram (once per non-empty bin instead of once per sample).
#[derive(Debug)]
pub struct LatencyRecorder {
    /// The whole run: empty until [`Recorder::finish`], complete after it.
    pub total: Histogram<u64>,
    interval: IntervalBins,
    /// Counts of the closed intervals, by bin (`total`'s layout).
    run_counts: Vec<u64>,
    interval_index: usize,
}

impl LatencyRecorder {
    fn new() -> LatencyRecorder {
        let total = histogram();
        let interval = IntervalBins::new(&total);
        let run_counts = vec![0; total.distinct_values()];
        LatencyRecorder { total, interval, run_counts, interval_index: 0 }
    }

    /// Closes the open interval: its percentiles, its counts added to the run's, then emptied.
    fn close_interval(&mut self) -> Percentiles {
        let p = self.interval.percentiles(&self.total);
        self.interval.drain_into(&mut self.run_counts);
        p
    }

    /// Closes the last interval and records the run's counts into `total` (each bin's lowest
    /// value lands in that bin; the histogram reports its min and max per bin).
    fn finish(&mut self) -> Percentiles {
        let p = self.close_interval();
        for (i, &n) in self.run_counts.iter().enumerate() {
            if n > 0 {
                self.total.record_n(bin_value(i), n).expect("a bin of the total's own layout");
            }
        }
        self.run_counts.fill(0);
        p
    }
}

/// The open interval's samples, counted in the bins of the whole-run histogram: HdrHistogram's
/// layout for [`histogram`]'s bounds (unit resolution below 2,048 µs, then 1,024 bins per power
/// of two). The percentiles come out exactly as `Histogram::value_at_quantile` gives them.
///
/// Why not a second `Histogram`: closing one (percentiles, `add`, `reset`) walks and clears all
/// of its ~28,700 bins, every `sample_interval_ms`, however few samples it holds. These bins
/// remember the range they touched, so closing costs that range (the spread of the interval's
/// latencies).
#[derive(Debug)]
struct IntervalBins {
    /// Counts by HdrHistogram bin index (as many bins as the whole-run histogram).
    counts: Vec<u64>,
    /// The touched bins are within `lo..=hi` (`lo > hi` while empty).
    lo: usize,
    hi: usize,
    len: u64,
    /// The bin of what `Histogram::saturating_record` clamps a value beyond the last bin to
    /// (the highest trackable value).
    clamped: usize,
}

/// HdrHistogram's layout for 3 significant digits and a lowest discernible value of 1: 2,048
/// sub-buckets per bucket (the power of two covering 2 × 10³), half of them new per bucket.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 10;
const SUB_BUCKET_MASK: u64 = (1 << (SUB_BUCKET_HALF_MAGNITUDE + 1)) - 1;

/// `Histogram::index_for`: the bin of `value`.
fn bin_index(value: u64) -> usize {
    // bucket_for: how many powers of two `value` is beyond what bucket 0 holds.
    let bucket = 64 - SUB_BUCKET_HALF_MAGNITUDE - 1 - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub_bucket = value >> bucket;
    (((bucket + 1) as u64) << SUB_BUCKET_HALF_MAGNITUDE) as usize + sub_bucket as usize
        - (1 << SUB_BUCKET_HALF_MAGNITUDE)
}

/// `Histogram::value_for`: the lowest value of bin `index`.
fn bin_value(index: usize) -> u64 {
    let half = 1usize << SUB_BUCKET_HALF_MAGNITUDE;
    let bucket = (index >> SUB_BUCKET_HALF_MAGNITUDE) as i64 - 1;
    let sub_bucket = (index & (half - 1)) + half;
    if bucket < 0 { (sub_bucket - half) as u64 } else { (sub_bucket as u64) << bucket }
}

impl IntervalBins {
    fn new(total: &Histogram<u64>) -> IntervalBins {
        let clamped = bin_index(total.high());
        IntervalBins { counts: vec![0; total.distinct_values()], lo: usize::MAX, hi: 0, len: 0, clamped }
    }

    /// `Histogram::saturating_record`: a value beyond the last bin counts as the highest
    /// trackable value.
    fn record(&mut self, value: u64) {
        let i = match bin_index(value) {
            i if i < self.counts.len() => i,
            _ => self.clamped,
        };
        self.counts[i] += 1;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
        self.len += 1;
    }

    /// [`IntervalBins::record`] for each value, with the touched range and the count kept in
    /// locals until the end (a batch's records are acknowledged together).
    fn record_all(&mut self, values: impl IntoIterator<Item = u64>) {
        let mut sink = LatencySink::new(self);
        for value in values {
            sink.record_us(value);
        }
    }

    /// What [`Percentiles::of`] gives for a `Histogram` holding these samples (`total` only
    /// converts bins to values: it has the same layout).
    fn percentiles(&self, total: &Histogram<u64>) -> Percentiles {
        if self.len == 0 {
            return Percentiles::default();
        }
        // Histogram::value_at_quantile: the first bin where the running count reaches
        // ceil(quantile × count) (at least 1), reported as that bin's highest equivalent value.
        let counts = &self.counts[self.lo..=self.hi];
        let mut values = [0u64; 4];
        // `running` counts the samples in counts[..=i]; the quantiles ascend, so each search
        // goes on from the previous one's bin.
        let (mut i, mut running) = (0, counts[0]);
        for (value, quantile) in values.iter_mut().zip([0.5, 0.9, 0.99, 0.999]) {
            let target = ((quantile * self.len as f64).ceil() as u64).max(1);
            while running < target {
                // Whole chunks of bins that stay below the target at once, then bin by bin.
                while let Some(chunk) = counts.get(i + 1..i + 9)
                    && running + chunk.iter().sum::<u64>() < target
                {
                    running += chunk.iter().sum::<u64>();
                    i += 8;
                }
                i += 1;
                running += counts[i];
            }
            *value = total.highest_equivalent(bin_value(self.lo + i));
        }
        Percentiles {
            count: self.len,
            p50: values[0],
            p90: values[1],
            p99: values[2],
            p999: values[3],
            // `Histogram::max`: the highest equivalent of the largest value, which is in bin `hi`.
            max: total.highest_equivalent(bin_value(self.hi)),
        }
    }

    /// Adds the counts to `run_counts` (same bins) and empties these bins.
    fn drain_into(&mut self, run_counts: &mut [u64]) {
        if self.len == 0 {
            return;
        }
        let range = self.lo..=self.hi;
        for (run, count) in run_counts[range.clone()].iter_mut().zip(&self.counts[range.clone()]) {
            *run += count;
        }
        self.counts[range].fill(0);
        (self.lo, self.hi, self.len) = (usize::MAX, 0, 0);
    }
}

/// Samples going into one [`IntervalBins`] (see [`Recorder::latency_sink`]): the touched range
/// and the count stay in locals until it is dropped, so that a caller recording many samples in
/// several runs (a poll's records, batch after batch) pays for the bookkeeping once.
pub struct LatencySink<'a> {
    bins: &'a mut IntervalBins,
    lo: usize,
    hi: usize,
    len: u64,
}

impl<'a> LatencySink<'a> {
    fn new(bins: &'a mut IntervalBins) -> LatencySink<'a> {
        let (lo, hi, len) = (bins.lo, bins.hi, bins.len);
        LatencySink { bins, lo, hi, len }
    }

    /// [`IntervalBins::record`] of `value` µs.
    #[inline]
    fn record_us(&mut self, value: u64) {
        let mut i = bin_index(value);
        match self.bins.counts.get_mut(i) {
            Some(count) => *count += 1,
            None => {
                i = self.bins.clamped;
                self.bins.counts[i] += 1;
            }
        }
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
        self.len += 1;
    }

    /// Records one latency sample of `latency_ns`.
    #[inline]
    pub fn record_ns(&mut self, latency_ns: u64) {
        self.record_us(latency_ns / 1_000);
    }
}

impl Drop for LatencySink<'_> {
    fn drop(&mut self) {
        (self.bins.lo, self.bins.hi, self.bins.len) = (self.lo, self.hi, self.len);
    }
}

/// Latencies from 1 µs to one day, at 3 significant digits; larger values are clamped.
const LATENCY_US_MAX: u64 = 86_400_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("valid HdrHistogram bounds")
}

/// Which latency a sample belongs to.
#[derive(Clone, Copy, Debug)]
pub enum Latency {
    /// Intended send time → acknowledgement.
    Produce,
    /// Intended send time → processed by a consumer.
    EndToEnd,
}

/// A broker's network interface at the end of an interval (`nic_mbps`, `SlowNic`): the time
/// it has spent sending since the start, and the bytes it has sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NicSample {
    /// Interval index.
    pub interval: u32,
    pub broker: u32,
    pub busy_ns: u64,
    pub bytes_sent: u64,
}

/// One replica's offsets at the end of an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaSample {
    /// Interval index.
    pub interval: u32,
    pub partition: u32,
    pub broker: u32,
    pub alive: bool,
    pub leader: bool,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    /// The last stable offset this replica would serve `read_committed` readers (its high
    /// watermark unless a transaction is open in it).
    pub last_stable_offset: u64,
    pub isr_size: u32,
}

/// A record with a value, as a consumer received it (the streaming charts' data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamSample {
    /// When the consumer's poll returned it.
    pub arrived: SimTime,
    /// Its intended send time at the producer.
    pub created: SimTime,
    pub producer: u32,
    pub value: i64,
}

/// At most this many stream samples are kept (the streaming charts are for small lab runs).
pub const STREAM_SAMPLES_MAX: usize = 200_000;

/// Everything the model records while it runs.
#[derive(Debug)]
pub struct Recorder {
    interval_ns: u64,
    /// The interval of the last lookup and its `[start, end)` in ns: events come in time order,
    /// so most lookups hit it without a division.
    cached: (usize, u64, u64),
    pub intervals: Vec<Interval>,
    pub produce_latency: LatencyRecorder,
    pub e2e_latency: LatencyRecorder,
    pub totals: Totals,
    /// Records affected by each produce error, by Kafka's error name.
    pub errors: BTreeMap<&'static str, u64>,
    /// Every replica's LEO and HW at every interval end (intervals × replicas entries).
    pub replicas: Vec<ReplicaSample>,
    /// Consumed records with values, in consumption order (capped at `STREAM_SAMPLES_MAX`).
    pub stream: Vec<StreamSample>,
    /// Consumer groups: ownership, processing, commits, offsets over time.
    pub groups: GroupRecords,
    /// Segments retention deleted, in time order.
    pub retention_deletions: Vec<RetentionDeletion>,
    /// Every log cleaning of a compacted partition, on every replica, in time order.
    pub compactions: Vec<CompactionRun>,
    /// Each compacted partition's leader log at every interval end.
    pub log_sizes: Vec<LogSizeSample>,
    /// Every broker's network interface at every interval end, when interfaces are limited.
    pub nics: Vec<NicSample>,
    /// Transactions completed (every marker written), in time order.
    pub transactions: Vec<crate::transaction::TxnOutcome>,
    /// End-to-end latency (µs) per consumer group, kept when a run has more than one group
    /// (with one, it is `e2e_latency`).
    pub group_e2e_latency: Vec<Histogram<u64>>,
    /// Clients that learned a topic has more partitions (`CreatePartitions`), in time order.
    pub partition_discoveries: Vec<PartitionDiscovery>,
    /// Each group's order of every key's records, on topics that gain partitions.
    pub key_order: KeyOrder,
}

/// A client's metadata showed more partitions of a topic than it knew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionDiscovery {
    pub at: SimTime,
    /// The producer, or the group member, that learned it.
    pub client: String,
    pub topic: String,
    pub from: u32,
    pub to: u32,
    /// A producer: how many of its keys now go to another partition, of how many.
    pub keys_moved: Option<(u64, u64)>,
}

/// A leader's retention pass deleted segments of a partition (`UnifiedLog.deleteOldSegments`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionDeletion {
    pub at: SimTime,
    pub partition: u32,
    pub broker: u32,
    /// The log start offset before and after.
    pub from: u64,
    pub to: u64,
    pub segments: usize,
    /// `retention.bytes` or `retention.ms`.
    pub reason: &'static str,
}

/// One replica's log cleaner compacted a partition (`Cleaner.doClean`).
#[derive(Clone, Debug, PartialEq)]
pub struct CompactionRun {
    pub at: SimTime,
    pub partition: u32,
    pub broker: u32,
    /// The broker led the partition then.
    pub leader: bool,
    /// The dirty part cleaned: `first_dirty..end` (the new checkpoint).
    pub first_dirty: u64,
    pub end: u64,
    /// The dirty ratio that got it cleaned.
    pub dirty_ratio: f64,
    pub stats: crate::cluster::cleaner::CleanerStats,
}

/// A compacted partition's leader log at a sample: what compaction keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogSizeSample {
    pub at: SimTime,
    pub partition: u32,
    /// Records the log holds, and the offsets it spans (log start to log end).
    pub records: u64,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub size_bytes: u64,
    /// Distinct keys among the records, and the records that are tombstones.
    pub keys: u64,
    pub tombstones: u64,
}

/// Whole-run counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    pub produced: u64,
    pub acked: u64,
    pub failed: u64,
    pub consumed: u64,
    pub produce_requests: u64,
    pub batches: u64,
    pub batched_records: u64,
    /// Batches sent again after an error.
    pub retries: u64,
    /// Sum over drained records of (drain time − intended send time), in ns: the time records
    /// wait in the producer's accumulator.
    pub accumulator_wait_ns: u128,
    /// Records counted in `accumulator_wait_ns`.
    pub accumulator_drained: u64,
    pub lag_max_records: u64,
    /// Producer `flush()` calls that completed, and their longest duration in ns.
    pub flushes: u64,
    pub flush_max_ns: u64,
    /// CPU time producers spent, in ns: application threads (`send()`, compression) and senders.
    pub producer_app_cpu_ns: u64,
    pub producer_sender_cpu_ns: u64,
    /// Produce responses producers received, how many of them said "throttled" (a quota), and
    /// their throttle times in ms: sum and longest (`produce-throttle-time-avg`/`-max`).
    pub produce_responses: u64,
    pub throttled_responses: u64,
    pub throttle_ms_total: u64,
    pub throttle_ms_max: u64,
    /// Consumer fetches answered empty for a `consumer_byte_rate` quota, and the longest
    /// throttle time in ms (`fetch-throttle-time-max`).
    pub throttled_fetch_responses: u64,
    pub fetch_throttle_ms_max: u64,
    /// Transactional producers' `commitTransaction()`/`abortTransaction()` calls that returned,
    /// and the longest, in ns (from the call to the coordinator's answer).
    pub transaction_ends: u64,
    pub transaction_end_max_ns: u64,
    /// Records producers appended in transactions they aborted (or that were aborted when they
    /// were fenced), and records of aborted transactions `read_committed` members skipped.
    pub aborted_records_produced: u64,
    pub aborted_records_skipped: u64,
    /// Transactional producers fenced (`PRODUCER_FENCED`/`INVALID_PRODUCER_EPOCH`).
    pub producers_fenced: u64,
}

impl Recorder {
    pub fn new(interval_ms: u64, duration_ms: u64) -> Recorder {
        let n = duration_ms.div_ceil(interval_ms.max(1)) as usize;
        Recorder {
            interval_ns: interval_ms.max(1) * 1_000_000,
            cached: (0, 0, interval_ms.max(1) * 1_000_000),
            intervals: vec![Interval::default(); n.max(1)],
            produce_latency: LatencyRecorder::new(),
            e2e_latency: LatencyRecorder::new(),
            totals: Totals::default(),
            errors: BTreeMap::new(),
            replicas: Vec::new(),
            stream: Vec::new(),
            groups: GroupRecords::default(),
            retention_deletions: Vec::new(),
            compactions: Vec::new(),
            log_sizes: Vec::new(),
            nics: Vec::new(),
            transactions: Vec::new(),
            group_e2e_latency: Vec::new(),
            partition_discoveries: Vec::new(),
            key_order: KeyOrder::default(),
        }
    }

    /// The interval that time `t` falls in (the last one for the run's final instant).
    fn index(&mut self, t: SimTime) -> usize {
        let (i, start, end) = self.cached;
        if start <= t.0 && t.0 < end {
            return i;
        }
        let i = ((t.0 / self.interval_ns) as usize).min(self.intervals.len() - 1);
        let start = i as u64 * self.interval_ns;
        self.cached = (i, start, start + self.interval_ns);
        i
    }

    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    pub fn produced(&mut self, t: SimTime, n: u64) {
        let i = self.index(t);
        self.intervals[i].produced += n;
        self.totals.produced += n;
    }

    pub fn acked(&mut self, t: SimTime, n: u64) {
        let i = self.index(t);
        self.intervals[i].acked += n;
        self.totals.acked += n;
    }

    pub fn failed(&mut self, t: SimTime, n: u64) {
        let i = self.index(t);
        self.intervals[i].failed += n;
        self.totals.failed += n;
    }

    pub fn consumed(&mut self, t: SimTime, n: u64) {
        let i = self.index(t);
        self.intervals[i].consumed += n;
        self.totals.consumed += n;
    }

    /// A batch is sent again.
    /// Keeps end-to-end latencies per group too (for runs with several groups).
    pub fn track_group_latency(&mut self, groups: usize) {
        self.group_e2e_latency = (0..groups).map(|_| histogram()).collect();
    }

    /// End-to-end latencies of records group `group` processed, if kept per group.
    #[inline]
    pub fn group_latencies(&mut self, group: u32, latencies_ns: impl Iterator<Item = u64>) {
        if let Some(h) = self.group_e2e_latency.get_mut(group as usize) {
            for ns in latencies_ns {
                h.saturating_record((ns / 1_000).max(1));
            }
        }
    }

    /// The coordinator completed a transaction.
    pub fn transaction_ended(&mut self, outcome: crate::transaction::TxnOutcome) {
        self.transactions.push(outcome);
    }

    /// A producer's `commitTransaction()` or `abortTransaction()` returned after `duration_ns`.
    pub fn transaction_end_returned(&mut self, duration_ns: u64) {
        self.totals.transaction_ends += 1;
        self.totals.transaction_end_max_ns = self.totals.transaction_end_max_ns.max(duration_ns);
    }

    /// A `read_committed` member skipped `records` records of aborted transactions.
    pub fn aborted_records_skipped(&mut self, records: u64) {
        self.totals.aborted_records_skipped += records;
    }

    /// A transactional producer's transaction with `records` records was aborted.
    pub fn aborted_records_produced(&mut self, records: u64) {
        self.totals.aborted_records_produced += records;
    }

    /// A transactional producer was fenced.
    pub fn producer_fenced(&mut self) {
        self.totals.producers_fenced += 1;
    }

    /// A producer's `flush()` completed after `duration_ns`.
    pub fn flushed(&mut self, duration_ns: u64) {
        self.totals.flushes += 1;
        self.totals.flush_max_ns = self.totals.flush_max_ns.max(duration_ns);
    }

    /// A producer thread spent `ns` of CPU time (`sender`: the Sender thread, else `send()`).
    pub fn producer_cpu(&mut self, sender: bool, ns: u64) {
        if sender {
            self.totals.producer_sender_cpu_ns += ns;
        } else {
            self.totals.producer_app_cpu_ns += ns;
        }
    }

    pub fn retry(&mut self) {
        self.totals.retries += 1;
    }

    pub fn produce_request(&mut self, t: SimTime, batches: u64, records: u64) {
        let i = self.index(t);
        self.intervals[i].produce_requests += 1;
        self.totals.produce_requests += 1;
        self.totals.batches += batches;
        self.totals.batched_records += records;
    }

    /// Records drained from the accumulator into a request at `t`, created at `record_times`.
    pub fn drained<'a>(&mut self, t: SimTime, record_times: impl IntoIterator<Item = &'a SimTime>) {
        for &created in record_times {
            self.totals.accumulator_wait_ns += t.since(created).as_nanos() as u128;
            self.totals.accumulator_drained += 1;
        }
    }

    /// Mean accumulator wait in ms (0 before any drain), unrounded.
    pub fn accumulator_wait_mean_ms(&self) -> f64 {
        match self.totals.accumulator_drained {
            0 => 0.0,
            n => self.totals.accumulator_wait_ns as f64 / n as f64 / 1e6,
        }
    }

    /// Records one latency sample of `latency_ns` observed at `t`.
    pub fn latency(&mut self, which: Latency, t: SimTime, latency_ns: u64) {
        self.interval_bins(which, t).record(latency_ns / 1_000);
    }

    /// Records latency samples (in ns) all observed at `t` (e.g. a batch's records, acknowledged
    /// together): the same as one [`Recorder::latency`] call each.
    pub fn latencies(&mut self, which: Latency, t: SimTime, latencies_ns: impl IntoIterator<Item = u64>) {
        self.interval_bins(which, t).record_all(latencies_ns.into_iter().map(|ns| ns / 1_000));
    }

    /// A sink for latency samples all observed at `t` (e.g. the records a poll returned,
    /// processed by `t`): the same as one [`Recorder::latency`] call per sample.
    pub fn latency_sink(&mut self, which: Latency, t: SimTime) -> LatencySink<'_> {
        LatencySink::new(self.interval_bins(which, t))
    }

    /// The open interval's bins of `which` for a sample at `t`, closing the previous interval
    /// first if `t` is past it.
    fn interval_bins(&mut self, which: Latency, t: SimTime) -> &mut IntervalBins {
        let i = self.index(t);
        let (rec, slot) = match which {
            Latency::Produce => (&mut self.produce_latency, 0),
            Latency::EndToEnd => (&mut self.e2e_latency, 1),
        };
        if i != rec.interval_index {
            let p = rec.close_interval();
            let target = &mut self.intervals[rec.interval_index];
            if slot == 0 {
                target.produce_latency_us = p
            } else {
                target.e2e_latency_us = p
            }
            rec.interval_index = i;
        }
        &mut rec.interval
    }

    /// A consumer received a record carrying a value.
    pub fn stream_sample(&mut self, sample: StreamSample) {
        if self.stream.len() < STREAM_SAMPLES_MAX {
            self.stream.push(sample);
        }
    }

    /// `records` met produce error `name` (each attempt counts).
    pub fn error(&mut self, name: &'static str, records: u64) {
        *self.errors.entry(name).or_default() += records;
    }

    /// The interval that ends at `t` (for gauges sampled at interval ends).
    pub fn interval_ending(&mut self, t: SimTime) -> u32 {
        self.index(SimTime(t.0.saturating_sub(1))) as u32
    }

    /// Stores the lag gauge for the interval ending at `t`.
    pub fn lag(&mut self, t: SimTime, lag_records: u64) {
        let i = self.index(SimTime(t.0.saturating_sub(1)));
        self.intervals[i].lag_records = lag_records;
        self.totals.lag_max_records = self.totals.lag_max_records.max(lag_records);
    }

    /// Closes the last open interval histograms (call once at the end of the run).
    pub fn finish(&mut self) {
        for (rec, slot) in [(&mut self.produce_latency, 0), (&mut self.e2e_latency, 1)] {
            let p = rec.finish();
            let target = &mut self.intervals[rec.interval_index];
            if slot == 0 { target.produce_latency_us = p } else { target.e2e_latency_us = p }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_interval() {
        let mut r = Recorder::new(100, 1000);
        r.produced(SimTime::from_ms(50), 1);
        r.produced(SimTime::from_ms(150), 2);
        r.produced(SimTime::from_ms(1000), 4); // the final instant belongs to the last interval
        assert_eq!(r.intervals[0].produced, 1);
        assert_eq!(r.intervals[1].produced, 2);
        assert_eq!(r.intervals[9].produced, 4);
        assert_eq!(r.totals.produced, 7);
    }

    #[test]
    fn accumulator_wait_is_the_mean_from_creation_to_drain() {
        let mut r = Recorder::new(100, 1000);
        assert_eq!(r.accumulator_wait_mean_ms(), 0.0);
        r.drained(SimTime::from_ms(10), &[SimTime::from_ms(5), SimTime::from_ms(8)]);
        r.drained(SimTime::from_ms(20), &[SimTime::from_ms(19)]);
        // (5 + 2 + 1) / 3 ms
        assert!((r.accumulator_wait_mean_ms() - 8.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn interval_bins_follow_the_histogram_layout() {
        let h = histogram();
        let mut v = 0u64;
        while v < 4 * LATENCY_US_MAX {
            let i = bin_index(v);
            if i < h.distinct_values() {
                assert_eq!(bin_value(i), h.lowest_equivalent(v), "bin of {v}");
            }
            v = v * 9 / 8 + 1;
        }
    }

    #[test]
    fn interval_bins_give_the_histograms_percentiles() {
        // xorshift: spreads of values from a few µs to beyond the histogram's range
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut recorder = LatencyRecorder::new();
        let mut reference_total = histogram();
        let rounds = 40u32;
        for round in 0..rounds {
            let mut reference = histogram();
            let n = next() % 3000;
            let spread = 1u64 << round;
            for k in 0..n {
                let value = if k % 997 == 3 { LATENCY_US_MAX + next() % (4 * LATENCY_US_MAX) } else { next() % spread };
                reference.saturating_record(value);
                recorder.interval.record(value);
            }
            assert_eq!(recorder.interval.percentiles(&recorder.total), Percentiles::of(&reference), "round {round}");
            reference_total.add(&reference).unwrap();
            if round + 1 < rounds {
                recorder.close_interval();
            }
        }
        recorder.finish();
        assert_eq!(Percentiles::of(&recorder.total), Percentiles::of(&reference_total));
        assert_eq!(recorder.total.min(), reference_total.min());
        assert_eq!(recorder.interval.len, 0);
    }

    #[test]
    fn interval_percentiles_are_per_interval() {
        let mut r = Recorder::new(100, 300);
        for _ in 0..10 {
            r.latency(Latency::Produce, SimTime::from_ms(10), 1_000_000); // 1 ms
        }
        r.latency(Latency::Produce, SimTime::from_ms(150), 9_000_000); // 9 ms
        r.finish();
        // HdrHistogram reports the highest value equivalent at 3 significant digits.
        let close = |a: u64, b: u64| a.abs_diff(b) * 1000 <= b;
        assert!(close(r.intervals[0].produce_latency_us.max, 1000));
        assert!(close(r.intervals[1].produce_latency_us.p50, 9000));
        assert_eq!(r.intervals[2].produce_latency_us.count, 0);
        assert_eq!(r.produce_latency.total.len(), 11);
    }
}
