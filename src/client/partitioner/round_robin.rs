//! Kafka ≤ 2.3 null-key partitioning: the per-topic round-robin counter of `DefaultPartitioner`.
//!
//! Follows `clients/src/main/java/org/apache/kafka/clients/producer/internals/DefaultPartitioner.java`
//! at 2.3.0 (`partition` + `nextValue`), kafka-reference §2.2.2. Every record without a key takes
//! `toPositive(counter++) % available.size()` over the topic's *available* partitions (those with a
//! known leader, `Cluster.availablePartitionsForTopic`), or `% numPartitions` when none is available.
//!
//! Simplifications: one `RoundRobinPartitioner` per topic replaces Kafka's
//! `ConcurrentMap<String, AtomicInteger> topicCounterMap`; the counter's initial value
//! (`ThreadLocalRandom.current().nextInt()` in Kafka) is given by the caller, so nothing here is random.
//! Keyed records are not handled here (see `partition_for_key`).

use super::murmur2::to_positive;

/// Kafka ≤ 2.3 `DefaultPartitioner` for records without a key, for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRobinPartitioner {
    /// Kafka's per-topic `AtomicInteger` counter, as its 32 raw bits (Java `int` wraps on overflow).
    counter: u32,
}

impl RoundRobinPartitioner {
    /// `initial_counter` is the raw 32 bits Kafka draws with `ThreadLocalRandom.current().nextInt()`
    /// when the topic is first seen (`DefaultPartitioner.nextValue`); the simulator passes a draw
    /// from its seeded stream.
    pub fn new(initial_counter: u32) -> Self {
        Self { counter: initial_counter }
    }

    /// The counter value the next record will use (Java `counter.get()`).
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// `DefaultPartitioner.partition` for a null key.
    ///
    /// `num_partitions` is `cluster.partitionsForTopic(topic).size()`; `available` is
    /// `cluster.availablePartitionsForTopic(topic)` (partition ids with a known leader, in metadata
    /// order). Returns `None` only when the topic has no partition at all and none is available
    /// (Kafka would throw `ArithmeticException` on `% 0`); the counter still advances, as in Kafka.
    pub fn partition(&mut self, num_partitions: u32, available: &[u32]) -> Option<u32> {
        // DefaultPartitioner.nextValue: `counter.getAndIncrement()` happens before anything else.
        let next_value = self.counter;
        self.counter = self.counter.wrapping_add(1);
        // `Utils.toPositive(nextValue)`: clear the sign bit of the Java int (not `Math.abs`).
        let positive = to_positive(next_value as i32);
        if !available.is_empty() {
            // `availablePartitions.get(toPositive(nextValue) % availablePartitions.size())`.
            // `available.len()` fits a Java `int` list size; compute in u64 so nothing truncates.
            let index = u64::from(positive) % available.len() as u64;
            Some(available[index as usize])
        } else if num_partitions > 0 {
            // "no partitions are available, give a non-available partition".
            Some(positive % num_partitions)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_over_all_partitions_when_all_are_available() {
        let mut p = RoundRobinPartitioner::new(0);
        let got: Vec<u32> = (0..7).map(|_| p.partition(3, &[0, 1, 2]).unwrap()).collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(p.counter(), 7);
    }

    #[test]
    fn starts_at_the_initial_counter() {
        let mut p = RoundRobinPartitioner::new(5);
        let got: Vec<u32> = (0..4).map(|_| p.partition(4, &[0, 1, 2, 3]).unwrap()).collect();
        assert_eq!(got, [1, 2, 3, 0]);
    }

    #[test]
    fn only_available_partitions_are_used() {
        // Partition 1 has no leader: cycle over [0, 2] only.
        let mut p = RoundRobinPartitioner::new(0);
        let got: Vec<u32> = (0..5).map(|_| p.partition(3, &[0, 2]).unwrap()).collect();
        assert_eq!(got, [0, 2, 0, 2, 0]);
    }

    #[test]
    fn falls_back_to_all_partitions_when_none_is_available() {
        let mut p = RoundRobinPartitioner::new(1);
        let got: Vec<u32> = (0..4).map(|_| p.partition(3, &[]).unwrap()).collect();
        assert_eq!(got, [1, 2, 0, 1]);
    }

    #[test]
    fn to_positive_is_a_sign_mask_so_the_cycle_jumps_at_the_int_overflow() {
        // Java int counter 0x7fffffff (Integer.MAX_VALUE) then wraps to Integer.MIN_VALUE.
        // toPositive(MAX) = 2147483647 % 3 = 1; toPositive(MIN) = 0 → 0; then -2147483647 → 1.
        let mut p = RoundRobinPartitioner::new(0x7fff_ffff);
        let got: Vec<u32> = (0..4).map(|_| p.partition(3, &[0, 1, 2]).unwrap()).collect();
        assert_eq!(got, [1, 0, 1, 2]);
        // A negative initial counter (-1 = 0xffffffff): toPositive(-1) = Integer.MAX_VALUE, not 1.
        let mut q = RoundRobinPartitioner::new(u32::MAX);
        assert_eq!(q.partition(3, &[0, 1, 2]), Some(1));
        assert_eq!(q.counter(), 0, "the counter wraps like a Java int");
        assert_eq!(q.partition(3, &[0, 1, 2]), Some(0));
    }

    #[test]
    fn zero_partitions_yields_none_without_panicking() {
        let mut p = RoundRobinPartitioner::new(42);
        assert_eq!(p.partition(0, &[]), None);
        assert_eq!(p.counter(), 43, "Kafka increments before failing");
    }

    #[test]
    fn each_available_partition_gets_an_equal_share() {
        let mut p = RoundRobinPartitioner::new(0xdead_beef);
        let available = [1, 3, 4, 7];
        let mut counts = [0u32; 8];
        for _ in 0..400 {
            counts[p.partition(8, &available).unwrap() as usize] += 1;
        }
        assert_eq!(counts, [0, 100, 0, 100, 100, 0, 0, 100]);
    }
}
