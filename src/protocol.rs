//! The Kafka requests and responses that travel between nodes, reduced to what the model needs.
//!
//! Real Kafka frames these as versioned binary RPCs (Produce, Fetch, Metadata, BrokerHeartbeat,
//! AlterPartition, ...). Here a request is a Rust value delivered whole after the network's
//! latency; batches are shared by reference (`Rc`), so a fetch response costs the same whether it
//! carries ten records or ten thousand. Follower fetches carry `lastFetchedEpoch` and responses a
//! diverging epoch, as Fetch v12+ does (KIP-595 style truncation detection replacing the separate
//! OffsetsForLeaderEpoch round trip; same rule, kafka-reference §3.6).

use std::rc::Rc;

use crate::scenario::Acks;
use crate::sim::SimTime;

/// A producer batch (Kafka's `ProducerBatch` / `RecordBatch`): records of one partition sent
/// together. It keeps every record's intended send time so latency is measured from it.
#[derive(Debug)]
pub struct RecordBatch {
    /// Index of the producer that made it (its producer id).
    pub producer: u32,
    /// The producer epoch (bumped when an idempotent producer resets its sequences).
    pub producer_epoch: u16,
    /// Sequence number of its first record in its partition (per producer, KIP-98).
    pub base_sequence: u64,
    /// Whether the producer is idempotent (the broker then de-duplicates by sequence).
    pub idempotent: bool,
    /// Intended send time of each record, in order.
    pub record_times: Vec<SimTime>,
    /// Each record's value when the producer draws values (`payload`), else empty.
    pub values: Vec<i64>,
    /// Size on the wire: the 61-byte batch header plus every record's `DefaultRecord` size.
    pub size_bytes: u32,
    /// When the batch was opened in the accumulator.
    pub created: SimTime,
    /// Bytes it holds in the producer's `buffer.memory` until it is acknowledged or fails.
    pub allocated_bytes: u32,
}

impl RecordBatch {
    pub fn record_count(&self) -> u64 {
        self.record_times.len() as u64
    }
}

/// Errors a broker returns, with Kafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KafkaError {
    /// `NOT_LEADER_OR_FOLLOWER`: this broker does not lead the partition (retriable).
    NotLeaderOrFollower,
    /// `NOT_ENOUGH_REPLICAS`: acks=all and the ISR is below min.insync.replicas; nothing written.
    NotEnoughReplicas,
    /// `NOT_ENOUGH_REPLICAS_AFTER_APPEND`: written, but the ISR shrank below min.insync.replicas.
    NotEnoughReplicasAfterAppend,
    /// `REQUEST_TIMED_OUT`: the acks=all wait exceeded the request timeout.
    RequestTimedOut,
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER`: an idempotent batch skipped a sequence.
    OutOfOrderSequenceNumber,
    /// `FENCED_LEADER_EPOCH`: the fetcher's leader epoch is older than the leader's.
    FencedLeaderEpoch,
    /// `UNKNOWN_LEADER_EPOCH`: the fetcher's leader epoch is newer than this broker knows.
    UnknownLeaderEpoch,
    /// `OFFSET_OUT_OF_RANGE`: the fetch offset is outside the log.
    OffsetOutOfRange,
}

impl KafkaError {
    /// Kafka's wire name.
    pub fn name(self) -> &'static str {
        match self {
            KafkaError::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            KafkaError::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            KafkaError::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            KafkaError::RequestTimedOut => "REQUEST_TIMED_OUT",
            KafkaError::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            KafkaError::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            KafkaError::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            KafkaError::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
        }
    }
}

/// A partition's state as the controller publishes it (KRaft `PartitionRecord`/`PartitionChangeRecord`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionState {
    pub partition: u32,
    /// Assigned replicas in preference order (`replicas[0]` is the preferred leader).
    pub replicas: Vec<u32>,
    /// In-sync replicas.
    pub isr: Vec<u32>,
    /// The leader's broker id; `None` while offline.
    pub leader: Option<u32>,
    pub leader_epoch: u32,
    /// Bumped on every change (ISR or leader).
    pub partition_epoch: u32,
}

/// One partition of a follower's fetch.
#[derive(Clone, Debug)]
pub struct FetchPartition {
    pub partition: u32,
    pub fetch_offset: u64,
    /// The leader epoch the fetcher believes current (fencing).
    pub current_leader_epoch: u32,
    /// Epoch of the last batch in the fetcher's log (`None`: empty log or truncation by high
    /// watermark, the pre-0.11 protocol).
    pub last_fetched_epoch: Option<u32>,
}

/// A batch as replicated: its offset, the leader epoch it was written in, the records.
#[derive(Clone, Debug)]
pub struct ReplicatedBatch {
    pub base_offset: u64,
    pub epoch: u32,
    pub batch: Rc<RecordBatch>,
}

/// One partition's part of a fetch response.
#[derive(Debug)]
pub struct FetchedPartition {
    pub partition: u32,
    pub error: Option<KafkaError>,
    pub high_watermark: u64,
    pub log_start_offset: u64,
    /// Set when the fetcher's log diverges: `(epoch, end offset)` to truncate to (§3.6).
    pub diverging_epoch: Option<(u32, u64)>,
    pub batches: Vec<ReplicatedBatch>,
}

/// A message between two nodes.
#[derive(Debug)]
pub enum Message {
    ProduceRequest {
        request_id: u64,
        acks: Acks,
        timeout_ms: u64,
        batches: Vec<(u32, Rc<RecordBatch>)>,
    },
    /// One result per partition: the base offset given to the batch, or an error.
    ProduceResponse {
        request_id: u64,
        results: Vec<(u32, Result<u64, KafkaError>)>,
    },
    /// A fetch by a consumer (`replica: None`, reads below the high watermark) or by a follower.
    FetchRequest {
        request_id: u64,
        replica: Option<u32>,
        /// The consumer's group (for retention); unused for followers.
        group: u32,
        partitions: Vec<FetchPartition>,
        min_bytes: u32,
        max_wait_ms: u64,
        max_partition_bytes: u32,
    },
    FetchResponse {
        request_id: u64,
        partitions: Vec<FetchedPartition>,
    },
    /// A client asks a broker for the leaders of every partition.
    MetadataRequest {
        request_id: u64,
    },
    /// `(partition, leader, leader epoch)` as the answering broker knows them.
    MetadataResponse {
        request_id: u64,
        leaders: Vec<(u32, Option<u32>, u32)>,
    },
    /// A broker's heartbeat (and, with a new incarnation, its registration).
    BrokerHeartbeat {
        broker: u32,
        incarnation: u32,
        metadata_version: u64,
    },
    /// The controller's answer: the partitions that changed since the broker's version.
    BrokerHeartbeatResponse {
        metadata_version: u64,
        changes: Vec<PartitionState>,
        fenced_brokers: Vec<u32>,
    },
    /// The controller publishes partition changes and the fenced brokers (the KRaft metadata log).
    MetadataUpdate {
        metadata_version: u64,
        changes: Vec<PartitionState>,
        fenced_brokers: Vec<u32>,
    },
    /// A leader proposes a new ISR (KIP-497).
    AlterPartition {
        broker: u32,
        partition: u32,
        leader_epoch: u32,
        partition_epoch: u32,
        new_isr: Vec<u32>,
    },
    AlterPartitionResponse {
        partition: u32,
        result: Result<PartitionState, ()>,
    },
}

impl Message {
    /// Approximate bytes on the wire: the batches carried plus a fixed header (for bandwidth).
    pub fn size_bytes(&self) -> u64 {
        const HEADER: u64 = 64;
        HEADER
            + match self {
                Message::ProduceRequest { batches, .. } => batches.iter().map(|(_, b)| b.size_bytes as u64).sum(),
                Message::FetchResponse { partitions, .. } => {
                    partitions.iter().flat_map(|p| &p.batches).map(|b| b.batch.size_bytes as u64).sum()
                }
                _ => 0,
            }
    }

    /// The Kafka API name, for the trace.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::ProduceRequest { .. } => "ProduceRequest",
            Message::ProduceResponse { .. } => "ProduceResponse",
            Message::FetchRequest { replica: None, .. } => "FetchRequest",
            Message::FetchRequest { replica: Some(_), .. } => "ReplicaFetchRequest",
            Message::FetchResponse { .. } => "FetchResponse",
            Message::MetadataRequest { .. } => "MetadataRequest",
            Message::MetadataResponse { .. } => "MetadataResponse",
            Message::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            Message::BrokerHeartbeatResponse { .. } => "BrokerHeartbeatResponse",
            Message::MetadataUpdate { .. } => "MetadataUpdate",
            Message::AlterPartition { .. } => "AlterPartition",
            Message::AlterPartitionResponse { .. } => "AlterPartitionResponse",
        }
    }
}
