//! Kafka clients: the producer (partitioner, RecordAccumulator, sender) and the consumer.

mod accumulator;
mod consumer;
mod metadata;
pub mod partitioner;
mod producer;

pub use accumulator::{Accumulator, OpenBatch, RECORD_BATCH_OVERHEAD, record_size_bytes};
pub use consumer::Consumer;
pub use metadata::MetadataRequests;
pub use producer::{Producer, idempotent};
