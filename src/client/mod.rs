//! Kafka clients: the producer (partitioner, RecordAccumulator, sender) and the consumer, which
//! a consume-transform-produce member runs side by side (`consumer/pipeline.rs` and
//! `producer/pipeline.rs`).

mod accumulator;
mod consumer;
mod metadata;
pub mod partitioner;
mod producer;

pub use accumulator::{Accumulator, OpenBatch, RECORD_BATCH_OVERHEAD, record_size_bytes};
pub use consumer::Consumer;
pub use metadata::MetadataRequests;
pub use producer::{Producer, idempotent};
