//! Kafka ≥ 3.3 null-key partitioning: the built-in "uniform sticky" partitioner with adaptive
//! partitioning (KIP-794).
//!
//! Follows `clients/src/main/java/org/apache/kafka/clients/producer/internals/BuiltInPartitioner.java`
//! (`nextPartition`, `peekCurrentPartitionInfo`, `updatePartitionInfo`, `updatePartitionLoadStats`)
//! and the parts of `RecordAccumulator.java` that feed it (`append`/`partitionChanged`/
//! `allBatchesFull`, `partitionReady`, `updateNodeLatencyStats`), kafka-reference §2.2.3.
//!
//! Per topic, records without a key go to the current sticky partition. After each append the
//! accumulator adds the appended bytes to `producedBytes`; the partitioner switches to
//! `nextPartition()` once `producedBytes >= batch.size` and the partition's last batch is full
//! (`enableSwitch`), or unconditionally at `2 * batch.size`. `nextPartition()` draws one random
//! number: without load stats it is uniform over the available partitions; with load stats
//! (`partitioner.adaptive.partitioning.enable`, refreshed on every `ready()` pass) it picks
//! partition `i` with weight `(max(q) + 1) - q[i]`, `q` being the per-partition deque lengths
//! of the partitions with a known leader, optionally without the partitions whose leader has not
//! been drainable for `partitioner.availability.timeout.ms`.
//!
//! Simplifications: single-threaded, so Kafka's `AtomicReference`/`isPartitionChanged` race
//! handling reduces to "did `update_partition_info` install a new sticky partition". One
//! `BuiltInPartitioner` per topic, as in Kafka's `TopicInfo`. Randomness comes from the caller:
//! each `ThreadLocalRandom.current().nextInt()` (`randomPartition()`) is one call of the caller's
//! `random` source, which returns the raw 32 bits of a Java `int`; `Utils.toPositive` is applied
//! here. `producedBytes` and `2 * batch.size` use Java `int` (wrapping) arithmetic like Kafka; the
//! cumulative frequency table uses `u64` (Kafka's `int` cannot overflow for realistic queues).
//! Inputs that would trip Kafka's `assert`s are clamped instead of panicking, and a topic with
//! zero partitions yields `None` where Kafka would throw `ArithmeticException`.
//!
//! How the simulator's accumulator drives one topic's partitioner, for a record without a key
//! (`RecordAccumulator.append`):
//! 1. `p = peek_current_partition(..)` (chooses one on first use).
//! 2. "partitionChanged": if the deque of `p` is empty or its last batch is full
//!    (`allBatchesFull`), call `update_partition_info(0, true, ..)`; if it returns `true`, go
//!    back to 1 (this completes a switch postponed by an incomplete batch).
//! 3. Append the record to `p` (into the last batch, or a new batch after closing the last one;
//!    before creating a new batch Kafka repeats step 2, where the closed batch now counts as full).
//! 4. `update_partition_info(appended_bytes, all_batches_full_after_append, ..)`, where
//!    `appended_bytes` is the growth of the last batch's estimated size, or the new batch's whole
//!    estimated size (header included) when the record opened a batch.
//!
//! And on every `ready()` pass, for each topic:
//! `update_partition_load_stats_from_queues(enable_adaptive, num_partitions, &deques)`.

use std::fmt;

use super::murmur2::to_positive;

/// `BuiltInPartitioner`'s constructor rejects a sticky batch size (= `batch.size`) below 1
/// (`IllegalArgumentException`); values above Java's `Integer.MAX_VALUE` cannot be a Kafka
/// `batch.size` either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidBatchSize(pub u32);

impl fmt::Display for InvalidBatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stickyBatchSize must be >= 1 and <= {} but got {}", i32::MAX, self.0)
    }
}

impl std::error::Error for InvalidBatchSize {}

/// `BuiltInPartitioner.StickyPartitionInfo`: the current sticky partition and how many bytes
/// were produced to it since it was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StickyPartitionInfo {
    index: u32,
    /// Java `AtomicInteger producedBytes` (wrapping `int`).
    produced_bytes: i32,
}

impl StickyPartitionInfo {
    /// `StickyPartitionInfo.partition()`.
    pub fn partition(&self) -> u32 {
        self.index
    }

    /// Bytes appended to this partition since it became sticky (Java `int`).
    pub fn produced_bytes(&self) -> i32 {
        self.produced_bytes
    }
}

/// `BuiltInPartitioner.PartitionLoadStats`: the cumulative frequency table (CFT) and the
/// partition id of each of its entries (Kafka's logical `length` is the vectors' length here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLoadStats {
    cumulative_frequency_table: Vec<u64>,
    partition_ids: Vec<u32>,
}

impl PartitionLoadStats {
    /// `CFT[i] = w[0] + ... + w[i]`, strictly increasing.
    pub fn cumulative_frequency_table(&self) -> &[u64] {
        &self.cumulative_frequency_table
    }

    /// The partition of each CFT entry.
    pub fn partition_ids(&self) -> &[u32] {
        &self.partition_ids
    }
}

/// One entry of the accumulator's per-topic deque map (`TopicInfo.batches`), as read by
/// `RecordAccumulator.partitionReady` to build the queue sizes for adaptive partitioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionQueue {
    /// The partition id (`entry.getKey()`).
    pub partition: u32,
    /// `metadataSnapshot.cluster().leaderFor(part) != null`.
    pub leader_known: bool,
    /// `deque.size()`: number of batches queued (0 for an empty deque).
    pub queue_size: u32,
    /// The leader's `NodeLatencyStats` exist and exclude it
    /// (see [`NodeLatencyStats::excludes_partitions`]); always `false` when
    /// `partitioner.availability.timeout.ms` is 0.
    pub leader_unavailable: bool,
}

/// `RecordAccumulator.NodeLatencyStats` for one broker: when the sender last found the node with
/// data ready (`readyTimeMs`) and last could drain it (`drainTimeMs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLatencyStats {
    /// `readyTimeMs`.
    pub ready_time_ms: i64,
    /// `drainTimeMs`.
    pub drain_time_ms: i64,
}

impl NodeLatencyStats {
    /// `new NodeLatencyStats(nowMs)`: created on the node's first `updateNodeLatencyStats`.
    pub fn new(now_ms: i64) -> Self {
        Self { ready_time_ms: now_ms, drain_time_ms: now_ms }
    }

    /// `RecordAccumulator.updateNodeLatencyStats(nodeId, nowMs, canDrain)`, called by
    /// `Sender.sendProducerData` for each node returned by `ready()`: `can_drain` is whether the
    /// network client could send to it now. (Kafka skips this when
    /// `partitioner.availability.timeout.ms` is 0.)
    pub fn update(&mut self, now_ms: i64, can_drain: bool) {
        if can_drain {
            self.drain_time_ms = now_ms;
        }
        self.ready_time_ms = now_ms;
    }

    /// `partitionReady`: `partitionAvailabilityTimeoutMs > 0 &&
    /// readyTimeMs - drainTimeMs > partitionAvailabilityTimeoutMs` — the partitions this node
    /// leads are left out of the load stats.
    pub fn excludes_partitions(&self, partition_availability_timeout_ms: i64) -> bool {
        partition_availability_timeout_ms > 0
            && self.ready_time_ms.saturating_sub(self.drain_time_ms) > partition_availability_timeout_ms
    }
}

/// Kafka's `BuiltInPartitioner` for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltInPartitioner {
    /// `stickyBatchSize` = the producer's `batch.size` (bytes), 1..=`i32::MAX`.
    sticky_batch_size: u32,
    partition_load_stats: Option<PartitionLoadStats>,
    sticky_partition_info: Option<StickyPartitionInfo>,
}

impl BuiltInPartitioner {
    /// `new BuiltInPartitioner(logContext, topic, stickyBatchSize)`; the accumulator passes
    /// `batch.size` (`RecordAccumulator.createBuiltInPartitioner`).
    pub fn new(batch_size: u32) -> Result<Self, InvalidBatchSize> {
        // "stickyBatchSize must be >= 1"; a Java int cannot exceed i32::MAX.
        if batch_size < 1 || batch_size > i32::MAX as u32 {
            return Err(InvalidBatchSize(batch_size));
        }
        Ok(Self { sticky_batch_size: batch_size, partition_load_stats: None, sticky_partition_info: None })
    }

    /// `stickyBatchSize` in bytes.
    pub fn sticky_batch_size(&self) -> u32 {
        self.sticky_batch_size
    }

    /// The current sticky partition info, if one was chosen.
    pub fn sticky_partition_info(&self) -> Option<&StickyPartitionInfo> {
        self.sticky_partition_info.as_ref()
    }

    /// The current load stats; `None` means uniform (non-adaptive) switching.
    pub fn partition_load_stats(&self) -> Option<&PartitionLoadStats> {
        self.partition_load_stats.as_ref()
    }

    /// `loadStatsRangeEnd()`: the last CFT entry (sum of weights), if load stats exist.
    pub fn load_stats_range_end(&self) -> Option<u64> {
        self.partition_load_stats.as_ref().and_then(|s| s.cumulative_frequency_table.last().copied())
    }

    /// `peekCurrentPartitionInfo(cluster).partition()`: the partition the next null-key record
    /// goes to, choosing one with `nextPartition` (one random draw) if there is none yet.
    ///
    /// `num_partitions` = `cluster.partitionsForTopic(topic).size()`; `available` =
    /// `cluster.availablePartitionsForTopic(topic)` (partition ids with a known leader, in
    /// metadata order); `random` yields raw `nextInt()` bits. `None` only if no partition can be
    /// chosen (zero partitions, nothing available, no load stats).
    pub fn peek_current_partition(
        &mut self,
        num_partitions: u32,
        available: &[u32],
        random: &mut impl FnMut() -> u32,
    ) -> Option<u32> {
        if let Some(info) = &self.sticky_partition_info {
            return Some(info.index);
        }
        // "We're the first to create it."
        let index = self.next_partition(num_partitions, available, random)?;
        self.sticky_partition_info = Some(StickyPartitionInfo { index, produced_bytes: 0 });
        Some(index)
    }

    /// `updatePartitionInfo(partitionInfo, appendedBytes, cluster, enableSwitch)`: count
    /// `appended_bytes` towards the sticky partition and maybe switch (one random draw).
    ///
    /// `enable_switch` is `allBatchesFull(deque)` of the sticky partition after the append (its
    /// deque is empty or its last batch is full). Returns `true` when a new sticky partition was
    /// installed (Kafka's `isPartitionChanged`; the new partition may have the same id as the
    /// old one). No-op returning `false` if there is no sticky partition yet.
    pub fn update_partition_info(
        &mut self,
        appended_bytes: u32,
        enable_switch: bool,
        num_partitions: u32,
        available: &[u32],
        random: &mut impl FnMut() -> u32,
    ) -> bool {
        let sticky_batch_size = self.sticky_batch_size as i32;
        let Some(info) = self.sticky_partition_info.as_mut() else {
            // "partitionInfo may be null if the caller didn't use built-in partitioner."
            return false;
        };
        // `partitionInfo.producedBytes.addAndGet(appendedBytes)` (Java int).
        info.produced_bytes = info.produced_bytes.wrapping_add(appended_bytes as i32);
        let produced_bytes = info.produced_bytes;
        // `producedBytes >= stickyBatchSize && enableSwitch || producedBytes >= stickyBatchSize * 2`
        // (`stickyBatchSize * 2` is Java int arithmetic: it wraps for batch.size >= 2^30).
        if produced_bytes >= sticky_batch_size && enable_switch || produced_bytes >= sticky_batch_size.wrapping_mul(2) {
            // "We've produced enough to this partition, switch to next."
            self.sticky_partition_info = self
                .next_partition(num_partitions, available, random)
                .map(|index| StickyPartitionInfo { index, produced_bytes: 0 });
            return true;
        }
        false
    }

    /// `BuiltInPartitioner.nextPartition(cluster)`: exactly one random draw, then either uniform
    /// over the available partitions or weighted by the load stats' CFT.
    fn next_partition(&self, num_partitions: u32, available: &[u32], random: &mut impl FnMut() -> u32) -> Option<u32> {
        // `randomPartition()` = `Utils.toPositive(ThreadLocalRandom.current().nextInt())`.
        let random = u64::from(to_positive(random() as i32));
        match &self.partition_load_stats {
            None => {
                // "We don't have stats to do adaptive partitioning (or it's disabled), just switch
                // to the next partition based on uniform distribution."
                if !available.is_empty() {
                    Some(available[(random % available.len() as u64) as usize])
                } else if num_partitions > 0 {
                    // "We don't have available partitions, just pick one among all partitions."
                    Some((random % u64::from(num_partitions)) as u32)
                } else {
                    None
                }
            }
            Some(stats) => {
                // "Calculate next partition based on load distribution. Note that partitions
                // without leader are excluded from the partitionLoadStats."
                let cft = &stats.cumulative_frequency_table;
                let range_end = *cft.last()?;
                if range_end == 0 {
                    return None; // unreachable: every weight is >= 1
                }
                let weighted_random = random % range_end;
                // `Math.abs(Arrays.binarySearch(cft, 0, length, weightedRandom) + 1)`: the index
                // of the first CFT value strictly greater than weightedRandom.
                let partition_index = cft.partition_point(|&c| c <= weighted_random);
                stats.partition_ids.get(partition_index).copied()
            }
        }
    }

    /// `updatePartitionLoadStats(queueSizes, partitionIds, length)`: rebuild (or drop) the CFT.
    ///
    /// `queue_sizes` `None` is Kafka's `null` (adaptive disabled or not all partitions have a
    /// deque yet). Otherwise `queue_sizes[..length]`/`partition_ids[..length]` are the partitions
    /// with a known leader that were not excluded, while `queue_sizes.len()` is the number of
    /// deques of the topic. Prefer [`Self::update_partition_load_stats_from_queues`], which
    /// builds these arrays exactly as `RecordAccumulator.partitionReady` does. Mismatched lengths
    /// (Kafka `assert`s) are clamped to the shortest.
    pub fn update_partition_load_stats(&mut self, queue_sizes: Option<&[u32]>, partition_ids: &[u32], length: usize) {
        let Some(queue_sizes) = queue_sizes else {
            // "No load stats for topic {}, not using adaptive".
            self.partition_load_stats = None;
            return;
        };
        let length = length.min(queue_sizes.len()).min(partition_ids.len());

        // "The queueSizes.length represents the number of all partitions in the topic and if we
        // have less than 2 partitions, there is no need to do adaptive logic. [...] If some
        // partitions were excluded, we'd still want to go through adaptive logic, even if we
        // have one partition."
        if length < 1 || queue_sizes.len() < 2 {
            self.partition_load_stats = None;
            return;
        }

        // "Calculate max queue size + 1 and check if all sizes are the same."
        let mut max_size_plus1 = u64::from(queue_sizes[0]);
        let mut all_equal = true;
        for &q in &queue_sizes[1..length] {
            let q = u64::from(q);
            if q != max_size_plus1 {
                all_equal = false;
            }
            if q > max_size_plus1 {
                max_size_plus1 = q;
            }
        }
        max_size_plus1 += 1;

        if all_equal && length == queue_sizes.len() {
            // "No need to have complex probability logic when all queue sizes are the same, and
            // we didn't exclude partitions that experience high latencies."
            self.partition_load_stats = None;
            return;
        }

        // "Invert and fold the queue size, so that they become separator values in the CFT."
        // Example from the source: queue sizes 0 3 1 → weights 4 1 3 → CFT 4 5 8.
        let mut cumulative_frequency_table = Vec::with_capacity(length);
        let mut running = 0u64;
        for &q in &queue_sizes[..length] {
            running += max_size_plus1 - u64::from(q);
            cumulative_frequency_table.push(running);
        }
        self.partition_load_stats =
            Some(PartitionLoadStats { cumulative_frequency_table, partition_ids: partition_ids[..length].to_vec() });
    }

    /// The load-stats half of `RecordAccumulator.partitionReady` for this topic, to call on
    /// every `ready()` pass.
    ///
    /// `enable_adaptive_partitioning` = `partitioner.adaptive.partitioning.enable` (default
    /// `true`; Kafka forces it off when a custom `partitioner.class` is set). `num_partitions` =
    /// `cluster.partitionsForTopic(topic).size()`. `queues` has one entry per deque the
    /// accumulator holds for the topic (a deque exists once any record, keyed or not, was
    /// appended to that partition, and is never removed); it is visited in ascending partition
    /// order, which is the iteration order of Kafka's `ConcurrentHashMap<Integer, Deque>` for
    /// partition ids below its table size.
    ///
    /// Exact to Kafka, quirks included: adaptive stays off until every partition has a deque;
    /// leaderless partitions are left out; an *empty* deque is never excluded for latency (Kafka
    /// `continue`s before that check) and keeps whatever value its `queueSizes` slot already
    /// holds (0, or the size of an excluded partition it replaces).
    pub fn update_partition_load_stats_from_queues(
        &mut self,
        enable_adaptive_partitioning: bool,
        num_partitions: u32,
        queues: &[PartitionQueue],
    ) {
        // "We don't do adaptive partitioning until we scheduled at least a batch for all
        // partitions (i.e. we have the corresponding entries in the batches map)".
        if !enable_adaptive_partitioning || (queues.len() as u64) < u64::from(num_partitions) {
            self.update_partition_load_stats(None, &[], 0);
            return;
        }
        let mut ordered: Vec<&PartitionQueue> = queues.iter().collect();
        ordered.sort_by_key(|q| q.partition);

        let mut queue_sizes = vec![0u32; ordered.len()];
        let mut partition_ids = vec![0u32; ordered.len()];
        // `int queueSizesIndex = -1`, kept as "index + 1" so it never goes negative.
        let mut next_index = 0usize;
        for queue in ordered {
            // "Advance queueSizesIndex so that we properly index available partitions."
            if queue.leader_known {
                partition_ids[next_index] = queue.partition;
                next_index += 1;
            }
            // `deque.peekFirst() == null` → `continue`.
            if queue.queue_size == 0 {
                continue;
            }
            // `leader == null` → unknownLeaderTopics, not counted.
            if !queue.leader_known {
                continue;
            }
            // `queueSizes[queueSizesIndex] = dequeSize` (next_index >= 1 here).
            queue_sizes[next_index - 1] = queue.queue_size;
            // `readyTimeMs - drainTimeMs > partitionAvailabilityTimeoutMs` → `--queueSizesIndex`.
            if queue.leader_unavailable {
                next_index -= 1;
            }
        }
        // `updatePartitionLoadStats(queueSizes, partitionIds, queueSizesIndex + 1)`.
        self.update_partition_load_stats(Some(&queue_sizes), &partition_ids, next_index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted `nextInt()` source; panics (test failure) if drawn more often than scripted.
    fn scripted(draws: &[u32]) -> impl FnMut() -> u32 + '_ {
        let mut it = draws.iter();
        move || *it.next().expect("drew more random numbers than scripted")
    }

    /// Kafka tests' `mockRandom = () -> mockRandom.getAndAdd(1)`: 0, 1, 2, ...
    fn sequential() -> impl FnMut() -> u32 {
        let mut next = 0u32;
        move || {
            next += 1;
            next - 1
        }
    }

    /// SplitMix64, for distribution tests (the simulator uses its own ChaCha8 stream).
    fn splitmix(seed: u64) -> impl FnMut() -> u32 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 32) as u32
        }
    }

    fn queue(partition: u32, queue_size: u32) -> PartitionQueue {
        PartitionQueue { partition, leader_known: true, queue_size, leader_unavailable: false }
    }

    const ALL3: [u32; 3] = [0, 1, 2];

    #[test]
    fn cft_example_from_the_kafka_source_comment() {
        // "queue sizes 0 3 1 → invert with max+1 = 4 → 4 1 3 → running sum 4 5 8".
        let mut p = BuiltInPartitioner::new(1).unwrap();
        p.update_partition_load_stats(Some(&[0, 3, 1]), &ALL3, 3);
        let stats = p.partition_load_stats().unwrap();
        assert_eq!(stats.cumulative_frequency_table(), [4, 5, 8]);
        assert_eq!(stats.partition_ids(), ALL3);
        assert_eq!(p.load_stats_range_end(), Some(8));
        // "random numbers 0, 1, 2, 3 would map to partition[0], 4 would map to partition[1]
        // and 5, 6, 7 would map to partition[2]" — and x is taken modulo 8.
        let expected = [0, 0, 0, 0, 1, 2, 2, 2, 0, 0];
        for (x, want) in expected.into_iter().enumerate() {
            let mut fresh = p.clone();
            let got = fresh.peek_current_partition(3, &ALL3, &mut scripted(&[x as u32]));
            assert_eq!(got, Some(want), "x = {x}");
        }
    }

    #[test]
    fn cft_maps_to_partition_ids_not_indices() {
        let mut p = BuiltInPartitioner::new(1).unwrap();
        // Partition 1 has no leader: stats cover partitions 0 and 2 only.
        p.update_partition_load_stats(Some(&[2, 0, 7]), &[0, 2, 7], 2);
        assert_eq!(p.partition_load_stats().unwrap().cumulative_frequency_table(), [1, 4]);
        let got = p.peek_current_partition(3, &[0, 2], &mut scripted(&[1]));
        assert_eq!(got, Some(2));
    }

    /// Port of `BuiltInPartitionerTest.adaptivePartitionsTest`.
    #[test]
    fn kafka_adaptive_partitions_test() {
        let mut rng = sequential();
        let mut p = BuiltInPartitioner::new(1).unwrap();
        let queue_sizes = [5, 0, 3, 0, 1];
        let ids = [0, 1, 2, 3, 4];
        p.update_partition_load_stats(Some(&queue_sizes), &ids, 5);
        let cycles = 2;
        let iterations = p.load_stats_range_end().unwrap() * cycles;
        let mut frequencies = [0u64; 5];
        for _ in 0..iterations {
            let part = p.peek_current_partition(5, &ids, &mut rng).unwrap();
            frequencies[part as usize] += 1;
            p.update_partition_info(1, true, 5, &ids, &mut rng);
        }
        for (i, &q) in queue_sizes.iter().enumerate() {
            // 6 is max(queueSizes) + 1.
            assert_eq!(frequencies[i], (6 - u64::from(q)) * cycles, "partition {i}");
        }
    }

    /// Port of `BuiltInPartitionerTest.testStickyPartitioning`.
    #[test]
    fn kafka_test_sticky_partitioning() {
        let mut rng = sequential();
        // "sticky" batch size to accommodate 3 records of 1 byte.
        let mut a = BuiltInPartitioner::new(3).unwrap();
        let part_a = a.peek_current_partition(3, &ALL3, &mut rng).unwrap();
        assert!(!a.update_partition_info(1, true, 3, &ALL3, &mut rng));
        assert_eq!(a.peek_current_partition(3, &ALL3, &mut rng), Some(part_a));
        assert!(!a.update_partition_info(1, true, 3, &ALL3, &mut rng));
        assert_eq!(a.peek_current_partition(3, &ALL3, &mut rng), Some(part_a));
        assert!(a.update_partition_info(1, true, 3, &ALL3, &mut rng));
        // "After producing 3 records, partition must've switched."
        assert_ne!(a.peek_current_partition(3, &ALL3, &mut rng), Some(part_a));

        // "Check that switching works even when there is one partition."
        let mut b = BuiltInPartitioner::new(1).unwrap();
        for _ in 0..10 {
            assert_eq!(b.peek_current_partition(1, &[0], &mut rng), Some(0));
            assert!(b.update_partition_info(1, true, 1, &[0], &mut rng));
        }
    }

    /// Port of `BuiltInPartitionerTest.unavailablePartitionsTest`.
    #[test]
    fn kafka_unavailable_partitions_test() {
        let mut rng = splitmix(11);
        // Topic A: partition 1 has no leader.
        let mut a = BuiltInPartitioner::new(1).unwrap();
        let part_a = a.peek_current_partition(3, &[0, 2], &mut rng).unwrap();
        a.update_partition_info(1, true, 3, &[0, 2], &mut rng);
        assert_ne!(part_a, 1);
        let mut found_another = false;
        for _ in 0..100 {
            let another = a.peek_current_partition(3, &[0, 2], &mut rng).unwrap();
            a.update_partition_info(1, true, 3, &[0, 2], &mut rng);
            assert_ne!(another, 1);
            found_another |= another != part_a;
        }
        assert!(found_another, "expected a partition other than {part_a}");

        // Topic B: partition 0 has no leader → always partition 1.
        let mut b = BuiltInPartitioner::new(1).unwrap();
        for _ in 0..100 {
            assert_eq!(b.peek_current_partition(2, &[1], &mut rng), Some(1));
            b.update_partition_info(1, true, 2, &[1], &mut rng);
        }

        // Topic C: its only partition has no leader → still partition 0.
        let mut c = BuiltInPartitioner::new(1).unwrap();
        assert_eq!(c.peek_current_partition(1, &[], &mut rng), Some(0));
        c.update_partition_info(1, true, 1, &[], &mut rng);
        assert_eq!(c.peek_current_partition(1, &[], &mut rng), Some(0));
    }

    /// Port of `RecordAccumulatorTest.testAdaptiveBuiltInPartitioner` at the partitioner level:
    /// partitions 0, 1 are led by node 0 and partition 2 by node 1; every record fills a batch.
    #[test]
    fn kafka_test_adaptive_built_in_partitioner() {
        let mut rng = sequential();
        let batch_size = 128;
        let record_batch_bytes = 61 + batch_size + 10; // a whole batch per record
        let mut p = BuiltInPartitioner::new(batch_size).unwrap();
        let queue_sizes = [1, 7, 2];
        let mut queues: Vec<PartitionQueue> = (0..3).map(|i| queue(i, queue_sizes[i as usize])).collect();
        p.update_partition_load_stats_from_queues(true, 3, &queues);

        // "Prime built-in partitioner so that it'd switch on every record".
        p.peek_current_partition(3, &ALL3, &mut rng).unwrap();
        p.update_partition_info(record_batch_bytes, true, 3, &ALL3, &mut rng);

        let cycles = 2;
        let iterations = p.load_stats_range_end().unwrap() * cycles;
        assert_eq!(iterations, 28); // weights 7 1 6
        let mut frequencies = [0u64; 3];
        for _ in 0..iterations {
            let part = p.peek_current_partition(3, &ALL3, &mut rng).unwrap();
            frequencies[part as usize] += 1;
            p.update_partition_info(record_batch_bytes, true, 3, &ALL3, &mut rng);
        }
        for (i, &q) in queue_sizes.iter().enumerate() {
            // 8 is max(queueSizes) + 1.
            assert_eq!(frequencies[i], (8 - u64::from(q)) * cycles, "partition {i}");
        }

        // "Test that partitions residing on high-latency nodes don't get switched to."
        // updateNodeLatencyStats(0, now - 200, true); updateNodeLatencyStats(0, now, false).
        let now = 10_000;
        let mut node0 = NodeLatencyStats::new(now - 200);
        node0.update(now - 200, true);
        node0.update(now, false);
        assert!(node0.excludes_partitions(100));
        for q in &mut queues[..2] {
            q.leader_unavailable = node0.excludes_partitions(100);
        }
        p.update_partition_load_stats_from_queues(true, 3, &queues);
        assert_eq!(p.partition_load_stats().unwrap().partition_ids(), [2]);
        // "Do one append, because partition gets switched after append."
        p.peek_current_partition(3, &ALL3, &mut rng).unwrap();
        p.update_partition_info(record_batch_bytes, true, 3, &ALL3, &mut rng);
        for _ in 0..10 {
            assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(2));
            p.update_partition_info(record_batch_bytes, true, 3, &ALL3, &mut rng);
        }
    }

    /// `RecordAccumulatorTest.testUniformBuiltInPartitioner`, replayed as the calls
    /// `RecordAccumulator.append` makes (batch.size 1024, sequential random).
    #[test]
    fn kafka_test_uniform_built_in_partitioner_call_sequence() {
        let mut draws = 0u32;
        let mut rng = || {
            draws += 1;
            draws - 1
        };
        let mut p = BuiltInPartitioner::new(1024).unwrap();
        let small = 80; // small record opening a batch (header included)
        let large = 1024 + 61 + 12; // large record opening its own, not full, batch

        // Small record: first partition, one draw.
        assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(0));
        assert!(!p.update_partition_info(0, true, 3, &ALL3, &mut rng)); // empty deque
        assert!(!p.update_partition_info(small, false, 3, &ALL3, &mut rng));
        // Large record: no room in the last batch → closed (counts as full) → step 2 again:
        // 80 < 1024, no switch; new batch; 1177 >= 1024 but the batch is not full → stay.
        assert!(!p.update_partition_info(0, true, 3, &ALL3, &mut rng));
        assert!(!p.update_partition_info(large, false, 3, &ALL3, &mut rng));
        assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(0));
        // Each further large record: the closed batch completes the postponed switch.
        for want in [1, 2, 0] {
            assert!(p.update_partition_info(0, true, 3, &ALL3, &mut rng));
            assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(want));
            assert!(!p.update_partition_info(0, true, 3, &ALL3, &mut rng)); // new, empty deque
            assert!(!p.update_partition_info(large, false, 3, &ALL3, &mut rng));
        }
        assert_eq!(draws, 4);
    }

    #[test]
    fn switches_only_after_batch_size_bytes_when_the_batch_is_full() {
        let mut p = BuiltInPartitioner::new(100).unwrap();
        let mut rng = sequential();
        assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(0));
        assert!(!p.update_partition_info(40, true, 3, &ALL3, &mut rng));
        assert!(!p.update_partition_info(59, true, 3, &ALL3, &mut rng));
        assert_eq!(p.sticky_partition_info().unwrap().produced_bytes(), 99);
        // 100 >= batch.size and enableSwitch: switch (draw 1 → partition 1), counter reset.
        assert!(p.update_partition_info(1, true, 3, &ALL3, &mut rng));
        let info = p.sticky_partition_info().unwrap();
        assert_eq!((info.partition(), info.produced_bytes()), (1, 0));
    }

    #[test]
    fn incomplete_batch_postpones_the_switch_until_full_or_twice_batch_size() {
        let mut p = BuiltInPartitioner::new(100).unwrap();
        let mut rng = sequential();
        p.peek_current_partition(3, &ALL3, &mut rng);
        // Past batch.size, but the last batch is not full: stay.
        assert!(!p.update_partition_info(150, false, 3, &ALL3, &mut rng));
        assert!(!p.update_partition_info(49, false, 3, &ALL3, &mut rng));
        assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(0));
        // 199 + 1 = 200 = 2 * batch.size: forced even though the batch is incomplete.
        assert!(p.update_partition_info(1, false, 3, &ALL3, &mut rng));
        assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(1));

        // Postponed at 150, completed by the next append's allBatchesFull check (0 bytes).
        assert!(!p.update_partition_info(150, false, 3, &ALL3, &mut rng));
        assert!(p.update_partition_info(0, true, 3, &ALL3, &mut rng));
        assert_eq!(p.peek_current_partition(3, &ALL3, &mut rng), Some(2));
        // Below batch.size nothing switches, full batch or not.
        assert!(!p.update_partition_info(99, true, 3, &ALL3, &mut rng));
    }

    #[test]
    fn twice_batch_size_uses_java_int_arithmetic() {
        // stickyBatchSize * 2 overflows a Java int for batch.size >= 2^30 and becomes negative,
        // so Kafka switches after every append; reproduced here.
        let mut p = BuiltInPartitioner::new(1 << 30).unwrap();
        let mut rng = sequential();
        p.peek_current_partition(3, &ALL3, &mut rng);
        assert!(p.update_partition_info(1, false, 3, &ALL3, &mut rng));
    }

    #[test]
    fn without_stats_the_choice_is_uniform_over_available_and_may_repeat() {
        let mut p = BuiltInPartitioner::new(1).unwrap();
        // Index into the available list: 5 % 2 = 1 → partition 6.
        assert_eq!(p.peek_current_partition(8, &[3, 6], &mut scripted(&[5])), Some(6));
        // Switch may pick the same partition: 7 % 2 = 1 → 6 again (Kafka has no "different" rule).
        assert!(p.update_partition_info(1, true, 8, &[3, 6], &mut scripted(&[7])));
        assert_eq!(p.sticky_partition_info().unwrap().partition(), 6);
        // Nothing available: among all partitions; toPositive(0xffffffff) = 2^31 - 1, % 8 = 7.
        assert!(p.update_partition_info(1, true, 8, &[], &mut scripted(&[u32::MAX])));
        assert_eq!(p.sticky_partition_info().unwrap().partition(), 7);
    }

    #[test]
    fn zero_partitions_and_bad_batch_size_do_not_panic() {
        assert_eq!(BuiltInPartitioner::new(0), Err(InvalidBatchSize(0)));
        assert!(BuiltInPartitioner::new(1u32 << 31).is_err());
        let mut p = BuiltInPartitioner::new(10).unwrap();
        assert_eq!(p.peek_current_partition(0, &[], &mut || 3), None);
        assert!(p.sticky_partition_info().is_none());
        assert!(!p.update_partition_info(100, true, 0, &[], &mut || 3));
        assert_eq!(p.peek_current_partition(2, &[], &mut || 3), Some(1));
        // A switch when the topic has no partition drops the sticky partition; the next peek
        // retries.
        assert!(p.update_partition_info(100, true, 0, &[], &mut || 3));
        assert!(p.sticky_partition_info().is_none());
        // Malformed stats input is clamped rather than asserted.
        p.update_partition_load_stats(Some(&[1, 2, 3]), &[0], 3);
        // Length clamped to 1 (< 3 deques, so a 1-entry CFT is kept): partition 0, weight 1.
        assert_eq!(p.load_stats_range_end(), Some(1));
        assert_eq!(p.peek_current_partition(3, &[], &mut || 5), Some(0));
    }

    #[test]
    fn load_stats_are_dropped_when_kafka_drops_them() {
        let mut p = BuiltInPartitioner::new(1).unwrap();
        p.update_partition_load_stats(None, &[], 0);
        assert!(p.partition_load_stats().is_none());
        // Fewer than 2 deques.
        p.update_partition_load_stats(Some(&[4]), &[0], 1);
        assert!(p.partition_load_stats().is_none());
        // Nothing left after exclusions.
        p.update_partition_load_stats(Some(&[4, 1]), &[0, 1], 0);
        assert!(p.partition_load_stats().is_none());
        // All equal and nothing excluded.
        p.update_partition_load_stats(Some(&[2, 2, 2]), &ALL3, 3);
        assert!(p.partition_load_stats().is_none());
        // All equal but one excluded: adaptive still on (uniform over the remaining two).
        p.update_partition_load_stats(Some(&[2, 2, 2]), &ALL3, 2);
        let stats = p.partition_load_stats().unwrap();
        assert_eq!(stats.cumulative_frequency_table(), [1, 2]);
        assert_eq!(stats.partition_ids(), [0, 1]);
        // A later null resets to uniform.
        p.update_partition_load_stats(None, &[], 0);
        assert!(p.partition_load_stats().is_none());
    }

    #[test]
    fn queue_helper_gates_adaptive_on_config_and_deque_count() {
        let mut p = BuiltInPartitioner::new(1).unwrap();
        let queues = [queue(0, 0), queue(1, 3), queue(2, 1)];
        p.update_partition_load_stats_from_queues(false, 3, &queues);
        assert!(p.partition_load_stats().is_none(), "adaptive disabled");
        // Partition 3 of 4 has never had a deque: uniform until it does.
        p.update_partition_load_stats_from_queues(true, 4, &queues);
        assert!(p.partition_load_stats().is_none());
        p.update_partition_load_stats_from_queues(true, 3, &queues);
        assert_eq!(p.partition_load_stats().unwrap().cumulative_frequency_table(), [4, 5, 8]);
        // Input order does not matter (Kafka visits ascending partition ids).
        let shuffled = [queue(2, 1), queue(0, 0), queue(1, 3)];
        let mut q = BuiltInPartitioner::new(1).unwrap();
        q.update_partition_load_stats_from_queues(true, 3, &shuffled);
        assert_eq!(p, q);
    }

    #[test]
    fn queue_helper_leaves_out_leaderless_partitions() {
        let mut p = BuiltInPartitioner::new(1).unwrap();
        let mut leaderless = queue(1, 9);
        leaderless.leader_known = false;
        // Equal sizes among the leader-known ones, but length 2 < 3 deques → stats kept.
        p.update_partition_load_stats_from_queues(true, 3, &[queue(0, 2), leaderless, queue(2, 2)]);
        let stats = p.partition_load_stats().unwrap();
        assert_eq!(stats.partition_ids(), [0, 2]);
        assert_eq!(stats.cumulative_frequency_table(), [1, 2]);
    }

    #[test]
    fn queue_helper_latency_exclusion_quirks_match_partition_ready() {
        let unavailable =
            |partition, queue_size| PartitionQueue { leader_unavailable: true, ..queue(partition, queue_size) };
        // A non-empty deque on an unavailable leader is excluded.
        let mut p = BuiltInPartitioner::new(1).unwrap();
        p.update_partition_load_stats_from_queues(true, 3, &[queue(0, 1), unavailable(1, 4), queue(2, 3)]);
        let stats = p.partition_load_stats().unwrap();
        assert_eq!(stats.partition_ids(), [0, 2]);
        assert_eq!(stats.cumulative_frequency_table(), [3, 4]); // max+1 = 4: weights 3, 1
        // An empty deque is never excluded (Kafka `continue`s before the latency check).
        p.update_partition_load_stats_from_queues(true, 3, &[queue(0, 1), unavailable(1, 0), queue(2, 3)]);
        let stats = p.partition_load_stats().unwrap();
        assert_eq!(stats.partition_ids(), ALL3);
        assert_eq!(stats.cumulative_frequency_table(), [3, 7, 8]);
        // An empty deque right after an excluded one inherits the excluded queue size (its
        // `queueSizes` slot is not rewritten): partition 1 gets weight 6-5 = 1, not 6-0 = 6.
        p.update_partition_load_stats_from_queues(true, 3, &[unavailable(0, 5), queue(1, 0), queue(2, 2)]);
        let stats = p.partition_load_stats().unwrap();
        assert_eq!(stats.partition_ids(), [1, 2]);
        assert_eq!(stats.cumulative_frequency_table(), [1, 5]);
    }

    #[test]
    fn node_latency_stats_exclusion_threshold() {
        let mut s = NodeLatencyStats::new(1_000);
        assert!(!s.excludes_partitions(100));
        s.update(1_100, false);
        assert!(!s.excludes_partitions(100), "strictly greater than the timeout");
        s.update(1_101, false);
        assert!(s.excludes_partitions(100));
        assert!(!s.excludes_partitions(0), "feature off");
        s.update(1_102, true);
        assert!(!s.excludes_partitions(100), "a drain resets the latency");
    }

    #[test]
    fn adaptive_picks_less_loaded_partitions_in_the_ratio_of_the_weights() {
        let mut rng = splitmix(2024);
        let mut p = BuiltInPartitioner::new(1).unwrap();
        p.update_partition_load_stats(Some(&[0, 3, 1]), &ALL3, 3); // weights 4 1 3
        let n = 80_000u32;
        let mut counts = [0u32; 3];
        p.peek_current_partition(3, &ALL3, &mut rng);
        for _ in 0..n {
            p.update_partition_info(1, true, 3, &ALL3, &mut rng);
            counts[p.sticky_partition_info().unwrap().partition() as usize] += 1;
        }
        for (i, w) in [4.0, 1.0, 3.0].into_iter().enumerate() {
            let expected = f64::from(n) * w / 8.0;
            let got = f64::from(counts[i]);
            assert!((got - expected).abs() < expected * 0.03, "{counts:?}");
        }
        assert!(counts[0] > counts[2] && counts[2] > counts[1]);
    }

    #[test]
    fn uniform_switching_spreads_evenly_over_available_partitions() {
        let mut rng = splitmix(9);
        let mut p = BuiltInPartitioner::new(1).unwrap();
        let available = [0, 1, 3];
        let mut counts = [0u32; 4];
        p.peek_current_partition(4, &available, &mut rng);
        for _ in 0..30_000 {
            p.update_partition_info(1, true, 4, &available, &mut rng);
            counts[p.sticky_partition_info().unwrap().partition() as usize] += 1;
        }
        assert_eq!(counts[2], 0);
        for &c in &[counts[0], counts[1], counts[3]] {
            assert!((f64::from(c) - 10_000.0).abs() < 500.0, "{counts:?}");
        }
    }
}
