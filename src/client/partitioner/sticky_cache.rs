//! Kafka 2.4 – 3.2 null-key partitioning: the "sticky partitioner" cache of KIP-480.
//!
//! Follows `clients/src/main/java/org/apache/kafka/clients/producer/internals/StickyPartitionCache.java`
//! (unchanged from 2.4.0 to 3.2.x), used by `DefaultPartitioner.partition` (null key →
//! `stickyPartitionCache.partition`) and `DefaultPartitioner.onNewBatch` (→ `nextPartition`),
//! kafka-reference §2.2.2. Records without a key stick to one random available partition; when a
//! record would open a new batch on that partition, `KafkaProducer.doSend` aborts the append
//! (`abortOnNewBatch`), calls `onNewBatch(prevPartition)`, which picks a *different* random
//! available partition when more than one is available, and re-partitions the record.
//!
//! Simplifications: one `StickyPartitionCache` per topic replaces Kafka's
//! `ConcurrentMap<String, Integer> indexCache` (single-threaded, so `putIfAbsent`/`replace` are
//! plain writes). Randomness comes from the caller: every `ThreadLocalRandom.current().nextInt()`
//! is one call of the caller's `random` source, which returns the raw 32 bits of a Java `int`
//! (the module applies `Utils.toPositive` itself). The `while newPart == oldPart` redraw loop is
//! capped at [`MAX_REDRAWS`] draws so that a degenerate source cannot hang the simulator; with
//! ≥ 2 distinct available partitions and a uniform source the cap is never reached in practice
//! (probability ≤ 2^-1024).

use super::murmur2::to_positive;

/// Cap on the `while (newPart == null || newPart.equals(oldPart))` redraws in
/// `StickyPartitionCache.nextPartition`. Kafka loops forever; past the cap this module takes the
/// first available partition that differs from the old one (see [`StickyPartitionCache::on_new_batch`]).
pub const MAX_REDRAWS: u32 = 1024;

/// KIP-480 `StickyPartitionCache` for one topic: the topic's current sticky partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StickyPartitionCache {
    /// `indexCache.get(topic)`: `None` until the first null-key record of the topic.
    sticky_partition: Option<u32>,
}

impl StickyPartitionCache {
    /// An empty cache (no sticky partition yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// The current sticky partition, if one was chosen (`indexCache.get(topic)`).
    pub fn current(&self) -> Option<u32> {
        self.sticky_partition
    }

    /// `StickyPartitionCache.partition(topic, cluster)`: the sticky partition for a record without
    /// a key, choosing one (`nextPartition(topic, cluster, -1)`) on the topic's first such record.
    ///
    /// `num_partitions` is `cluster.partitionsForTopic(topic).size()`; `available` is
    /// `cluster.availablePartitionsForTopic(topic)` (ids of partitions with a known leader, in
    /// metadata order); `random` yields raw `nextInt()` bits. `None` only if the topic has no
    /// partition and none is available (Kafka: `ArithmeticException`).
    pub fn partition(
        &mut self,
        num_partitions: u32,
        available: &[u32],
        random: &mut impl FnMut() -> u32,
    ) -> Option<u32> {
        match self.sticky_partition {
            Some(part) => Some(part),
            None => self.next_partition(num_partitions, available, None, random),
        }
    }

    /// `DefaultPartitioner.onNewBatch(topic, cluster, prevPartition)` →
    /// `StickyPartitionCache.nextPartition`: a record was about to open a new batch on
    /// `prev_partition`; if that is the current sticky partition, switch to another one.
    /// Returns the (possibly unchanged) sticky partition; it stays unchanged (no draw) if the
    /// topic has no partition and none is available (Kafka: `ArithmeticException`).
    ///
    /// Kafka 2.4–3.2 `KafkaProducer.doSend` calls this for *every* record whose append was aborted
    /// for a new batch (keyed records too), with the partition that record was going to; the
    /// record is then re-partitioned (`partition`) and appended without aborting.
    pub fn on_new_batch(
        &mut self,
        num_partitions: u32,
        available: &[u32],
        prev_partition: u32,
        random: &mut impl FnMut() -> u32,
    ) -> Option<u32> {
        self.next_partition(num_partitions, available, Some(prev_partition), random)
    }

    /// `StickyPartitionCache.nextPartition(topic, cluster, prevPartition)`; `prev_partition` `None`
    /// stands for Kafka's `-1` (from `partition`).
    fn next_partition(
        &mut self,
        num_partitions: u32,
        available: &[u32],
        prev_partition: Option<u32>,
        random: &mut impl FnMut() -> u32,
    ) -> Option<u32> {
        let old_part = self.sticky_partition;
        // "Check that the current sticky partition for the topic is either not set or that the
        // partition that triggered the new batch matches the sticky partition that needs to be
        // changed." Otherwise keep the current one.
        if old_part.is_some() && old_part != prev_partition {
            return old_part;
        }
        let new_part = if available.is_empty() {
            // `availablePartitions.size() < 1`: `toPositive(nextInt()) % partitions.size()`
            // (may pick the old partition again).
            if num_partitions == 0 {
                return old_part;
            }
            to_positive(random() as i32) % num_partitions
        } else if available.len() == 1 {
            // `availablePartitions.size() == 1`: that partition, no draw.
            available[0]
        } else {
            // `while (newPart == null || newPart.equals(oldPart))`: redraw until different.
            let mut chosen = None;
            for _ in 0..MAX_REDRAWS {
                let r = u64::from(to_positive(random() as i32));
                let candidate = available[(r % available.len() as u64) as usize];
                if Some(candidate) != old_part {
                    chosen = Some(candidate);
                    break;
                }
            }
            // Not Kafka (which would keep looping): after MAX_REDRAWS, the first available
            // partition that differs from the old one, or the old one if the list holds nothing else.
            match chosen {
                Some(part) => part,
                None => available.iter().copied().find(|&p| Some(p) != old_part).unwrap_or(available[0]),
            }
        };
        // `putIfAbsent` when unset, else `replace(topic, prevPartition, newPart)` (prevPartition
        // equals the old value here, so the replace succeeds).
        self.sticky_partition = Some(new_part);
        self.sticky_partition
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

    /// Port of `StickyPartitionCacheTest.testStickyPartitionCache`.
    #[test]
    fn kafka_test_sticky_partition_cache() {
        let mut rng = splitmix(1);
        let mut topic_a = StickyPartitionCache::new();
        let mut topic_b = StickyPartitionCache::new();
        let (a_parts, b_parts) = ([0, 1, 2], [0]);

        let part_a = topic_a.partition(3, &a_parts, &mut rng).unwrap();
        assert_eq!(topic_a.partition(3, &a_parts, &mut rng), Some(part_a));
        let part_b = topic_b.partition(1, &b_parts, &mut rng).unwrap();
        assert_eq!(topic_b.partition(1, &b_parts, &mut rng), Some(part_b));

        let changed_a = topic_a.on_new_batch(3, &a_parts, part_a, &mut rng).unwrap();
        assert_eq!(topic_a.partition(3, &a_parts, &mut rng), Some(changed_a));
        assert_ne!(part_a, changed_a);

        // No change: the previous partition does not match the current sticky one.
        let changed_a3 = topic_a.on_new_batch(3, &a_parts, part_a, &mut rng).unwrap();
        assert_eq!(changed_a3, changed_a);

        // Still works with only one partition.
        let changed_b = topic_b.on_new_batch(1, &b_parts, part_b, &mut rng).unwrap();
        assert_eq!(changed_b, 0);
        assert_eq!(topic_b.current(), Some(0));
    }

    /// Port of `StickyPartitionCacheTest.unavailablePartitionsTest`: topic A's partition 1 and
    /// topic B's partition 0 have no leader; topic C's only partition has no leader.
    #[test]
    fn kafka_unavailable_partitions_test() {
        let mut rng = splitmix(7);
        let mut a = StickyPartitionCache::new();
        let mut part_a = a.partition(3, &[0, 2], &mut rng).unwrap();
        assert_ne!(part_a, 1);
        for _ in 0..100 {
            part_a = a.on_new_batch(3, &[0, 2], part_a, &mut rng).unwrap();
            assert_ne!(a.current(), Some(1));
        }

        let mut b = StickyPartitionCache::new();
        let mut part_b = b.partition(2, &[1], &mut rng).unwrap();
        assert_eq!(part_b, 1);
        for _ in 0..100 {
            part_b = b.on_new_batch(2, &[1], part_b, &mut rng).unwrap();
            assert_eq!(b.current(), Some(1));
        }

        let mut c = StickyPartitionCache::new();
        let part_c = c.partition(1, &[], &mut rng).unwrap();
        assert_eq!(part_c, 0);
        assert_eq!(c.on_new_batch(1, &[], part_c, &mut rng), Some(0));
    }

    #[test]
    fn never_picks_the_same_partition_when_more_than_one_is_available() {
        let mut rng = splitmix(42);
        for available in [&[0u32, 1][..], &[0, 1, 2], &[3, 5, 6, 9]] {
            let mut cache = StickyPartitionCache::new();
            let mut part = cache.partition(10, available, &mut rng).unwrap();
            for _ in 0..2000 {
                let next = cache.on_new_batch(10, available, part, &mut rng).unwrap();
                assert_ne!(next, part);
                assert!(available.contains(&next));
                part = next;
            }
        }
    }

    #[test]
    fn redraws_exactly_like_the_kafka_while_loop() {
        let mut cache = StickyPartitionCache::new();
        // First choice: one draw, 4 % 3 = 1.
        assert_eq!(cache.partition(3, &[0, 1, 2], &mut scripted(&[4])), Some(1));
        // Switch: 1 % 3 = 1 (same) → 7 % 3 = 1 (same) → 0xffffffff: toPositive(-1) = 2^31-1,
        // % 3 = 1 (same) → 5 % 3 = 2. Exactly four draws.
        let draws = [1, 7, u32::MAX, 5];
        assert_eq!(cache.on_new_batch(3, &[0, 1, 2], 1, &mut scripted(&draws)), Some(2));
        // Index into the *available* list, not the partition id: 3 % 2 = 1 → available[1] = 4.
        assert_eq!(cache.on_new_batch(5, &[0, 4], 2, &mut scripted(&[3])), Some(4));
    }

    #[test]
    fn no_draw_with_a_single_available_partition_and_no_switch_for_a_stale_prev() {
        let mut cache = StickyPartitionCache::new();
        let mut no_draws = scripted(&[]);
        assert_eq!(cache.partition(4, &[3], &mut no_draws), Some(3));
        assert_eq!(cache.on_new_batch(4, &[3], 3, &mut no_draws), Some(3));
        // prev (2) is not the sticky partition (3): nothing changes, nothing is drawn.
        assert_eq!(cache.on_new_batch(4, &[0, 1, 2, 3], 2, &mut no_draws), Some(3));
    }

    #[test]
    fn without_available_partitions_the_new_one_may_equal_the_old_one() {
        let mut cache = StickyPartitionCache::new();
        assert_eq!(cache.partition(3, &[], &mut scripted(&[5])), Some(2));
        // `random % partitions.size()` with no "different" requirement: 8 % 3 = 2 again.
        assert_eq!(cache.on_new_batch(3, &[], 2, &mut scripted(&[8])), Some(2));
    }

    #[test]
    fn degenerate_sources_and_zero_partitions_do_not_hang_or_panic() {
        let mut cache = StickyPartitionCache::new();
        assert_eq!(cache.partition(0, &[], &mut scripted(&[])), None);
        assert_eq!(cache.current(), None);
        assert_eq!(cache.partition(3, &[0, 1, 2], &mut || 0), Some(0));
        // A constant source always hits the old partition: capped, then the first other one.
        let mut draws = 0;
        let mut constant = || {
            draws += 1;
            0
        };
        assert_eq!(cache.on_new_batch(3, &[0, 1, 2], 0, &mut constant), Some(1));
        assert_eq!(draws, MAX_REDRAWS);
        // Malformed list whose entries all equal the old partition: keep it.
        assert_eq!(cache.on_new_batch(3, &[1, 1], 1, &mut || 0), Some(1));
    }

    #[test]
    fn switches_spread_uniformly_over_the_other_available_partitions() {
        let mut rng = splitmix(3);
        let mut cache = StickyPartitionCache::new();
        let available = [0, 1, 2, 3];
        let mut part = cache.partition(4, &available, &mut rng).unwrap();
        let mut from_0 = [0u32; 4];
        let mut total = [0u32; 4];
        for _ in 0..40_000 {
            let next = cache.on_new_batch(4, &available, part, &mut rng).unwrap();
            total[next as usize] += 1;
            if part == 0 {
                from_0[next as usize] += 1;
            }
            part = next;
        }
        assert_eq!(from_0[0], 0);
        let n0: u32 = from_0.iter().sum();
        for &c in &from_0[1..] {
            // Each of the 3 others ≈ n0 / 3.
            assert!((c as f64 - n0 as f64 / 3.0).abs() < n0 as f64 * 0.05, "{from_0:?}");
        }
        for &c in &total {
            assert!((c as f64 - 10_000.0).abs() < 600.0, "{total:?}");
        }
    }
}
