//! Kafka's partitioners: where a producer puts each record.
//!
//! Keyed records go to `toPositive(murmur2(key)) % numPartitions`, exactly as
//! `BuiltInPartitioner.partitionForKey` does (kafka-reference §2.2.1). Records without a key use one
//! of the null-key strategies Kafka has shipped over the years (§2.2.2, §2.2.3).
//!
//! Simplification: none for keyed records (the hash is bit-exact). Randomness for the null-key
//! strategies comes from the caller's seeded stream instead of `ThreadLocalRandom`.

mod murmur2;

pub use murmur2::{murmur2, partition_for_key, to_positive};
mod round_robin;
mod sticky_cache;
mod uniform_sticky;

pub use round_robin::RoundRobinPartitioner;
pub use sticky_cache::{MAX_REDRAWS, StickyPartitionCache};
pub use uniform_sticky::{
    BuiltInPartitioner, InvalidBatchSize, NodeLatencyStats, PartitionLoadStats, PartitionQueue, StickyPartitionInfo,
};
