//! The Kafka requests and responses that travel between nodes, reduced to what the model needs.
//!
//! Real Kafka frames these as versioned binary RPCs (Produce v11, Fetch v16, ...). Here a request
//! is a Rust value delivered whole after the network's latency; batches are shared by reference
//! (`Rc`), so a fetch response costs the same whether it carries ten records or ten thousand.

use std::rc::Rc;

use crate::scenario::Acks;
use crate::sim::SimTime;

/// A producer batch (Kafka's `ProducerBatch` / `RecordBatch`): records of one partition sent
/// together. It keeps every record's intended send time so latency is measured from it.
#[derive(Debug)]
pub struct RecordBatch {
    /// Index of the producer that made it.
    pub producer: u32,
    /// Sequence number of its first record in its partition (per producer, as in KIP-98).
    pub base_sequence: u64,
    /// Intended send time of each record, in order.
    pub record_times: Vec<SimTime>,
    /// Size on the wire: the 61-byte batch header plus every record's `DefaultRecord` size.
    pub size_bytes: u32,
    /// When the batch was opened in the accumulator.
    pub created: SimTime,
}

impl RecordBatch {
    pub fn record_count(&self) -> u64 {
        self.record_times.len() as u64
    }
}

/// Why a partition's part of a produce request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProduceError {
    /// `NOT_LEADER_OR_FOLLOWER`: the broker does not lead that partition.
    NotLeaderOrFollower,
}

/// A message between two nodes.
#[derive(Debug)]
pub enum Message {
    ProduceRequest {
        request_id: u64,
        acks: Acks,
        batches: Vec<(u32, Rc<RecordBatch>)>,
    },
    /// One result per partition: the base offset given to the batch, or an error.
    ProduceResponse {
        request_id: u64,
        results: Vec<(u32, Result<u64, ProduceError>)>,
    },
    /// A consumer's fetch: for each partition, the offset to read from.
    FetchRequest {
        request_id: u64,
        group: u32,
        partitions: Vec<(u32, u64)>,
        min_bytes: u32,
        max_wait_ms: u64,
        max_partition_bytes: u32,
    },
    /// Batches per partition with their base offsets, and each partition's high watermark.
    FetchResponse {
        request_id: u64,
        partitions: Vec<FetchedPartition>,
    },
}

/// One partition's part of a fetch response.
#[derive(Debug)]
pub struct FetchedPartition {
    pub partition: u32,
    pub high_watermark: u64,
    pub batches: Vec<(u64, Rc<RecordBatch>)>,
}

impl Message {
    /// The Kafka API name, for the trace.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::ProduceRequest { .. } => "ProduceRequest",
            Message::ProduceResponse { .. } => "ProduceResponse",
            Message::FetchRequest { .. } => "FetchRequest",
            Message::FetchResponse { .. } => "FetchResponse",
        }
    }
}
