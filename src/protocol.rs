//! The Kafka requests and responses that travel between nodes, reduced to what the model needs.
//!
//! Real Kafka frames these as versioned binary RPCs (Produce, Fetch, Metadata, BrokerHeartbeat,
//! AlterPartition, ...). Here a request is a Rust value delivered whole after the network's
//! latency; batches are shared by reference (`Rc`), so a fetch response costs the same whether it
//! carries ten records or ten thousand. Follower fetches carry `lastFetchedEpoch` and responses a
//! diverging epoch, as Fetch v12+ does (KIP-595 style truncation detection replacing the separate
//! OffsetsForLeaderEpoch round trip; same rule, kafka-reference §3.6).

use std::rc::Rc;

use crate::group::assignor::Strategy;
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
    /// Written in a transaction (`isTransactional` in the batch attributes): its records count
    /// only once a COMMIT marker of its producer follows.
    pub transactional: bool,
    /// A control batch (`isControlBatch`): one marker record that ends its producer's open
    /// transaction in this partition. Consumers never return it to the application.
    pub control: Option<ControlMarker>,
    /// What only some batches carry: a consume-transform-produce output's input records, a
    /// compacted topic's keys. Boxed: every other batch carries one word for it, and stays
    /// small enough to move without a `memcpy` call.
    pub extra: Option<Box<BatchExtra>>,
}

/// The parts of a [`RecordBatch`] only some batches have ([`RecordBatch::extra`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchExtra {
    /// For a consume-transform-produce output: each record's input record
    /// ([`ForwardedRecord::source`]), else empty.
    pub sources: Vec<u64>,
    /// For a compacted topic: each record's key ([`record_key`]: a hash of its bytes, with [`TOMBSTONE`] set for a null
    /// value).
    pub keys: Vec<u64>,
    /// Set once the log cleaner has removed records from the batch (or stamped its delete
    /// horizon): which offsets it still holds. `None`: every offset of the batch, in order.
    pub compacted: Option<Compacted>,
}

/// A batch the log cleaner rewrote (`MemoryRecords.filterTo`): it keeps its base offset and its
/// last offset (`lastOffsetDelta`), so it covers the same offsets with fewer records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compacted {
    /// Each remaining record's offset minus the batch's base offset, increasing.
    pub offset_deltas: Vec<u32>,
    /// Offsets the batch covers (`lastOffsetDelta` + 1), as when it was written.
    pub offset_count: u64,
    /// KIP-534's `deleteHorizonMs`: set the first time a cleaning keeps a tombstone in the batch,
    /// `delete.retention.ms` after that cleaning; a later cleaning drops the batch's tombstones
    /// once it has passed.
    pub delete_horizon: Option<SimTime>,
}

/// The bit of a [`RecordBatch::keys`] entry that marks a tombstone (a null value).
pub const TOMBSTONE: u64 = 1 << 63;

/// A record's entry in [`RecordBatch::keys`]: its key bytes hashed (64-bit FNV-1a, the top bit
/// cleared; Kafka's cleaner keys its offset map by an MD5 digest of the key, likewise trusting
/// that distinct keys do not collide), with [`TOMBSTONE`] for a null value.
pub fn record_key(key: &[u8], tombstone: bool) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h & !TOMBSTONE) | if tombstone { TOMBSTONE } else { 0 }
}

/// A record a consume-transform-produce member processed, handed to its producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardedRecord {
    /// The input record: its global partition and offset, [`source_id`].
    pub source: u64,
    /// Its value, when the input carries values.
    pub value: Option<i64>,
}

/// Identifies an input record: global partition (high 24 bits) and offset (low 40 bits).
pub fn source_id(partition: u32, offset: u64) -> u64 {
    (u64::from(partition) << 40) | (offset & ((1 << 40) - 1))
}

/// The global partition of a [`source_id`].
pub fn source_partition(source: u64) -> u32 {
    (source >> 40) as u32
}

/// The offset of a [`source_id`].
pub fn source_offset(source: u64) -> u64 {
    source & ((1 << 40) - 1)
}

/// A transaction marker (`ControlRecordType`), written by the partition leader when the
/// transaction coordinator asks (`WriteTxnMarkers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlMarker {
    Commit,
    Abort,
}

/// Control batches carry no sequence in Kafka (-1); here they get one from this range, one per
/// transaction of the producer, so that each marker batch has an identity of its own.
pub const CONTROL_SEQUENCE_BASE: u64 = 1 << 62;

impl RecordBatch {
    pub fn record_count(&self) -> u64 {
        self.record_times.len() as u64
    }

    /// Offsets the batch covers: its record count, unless the log cleaner removed records (the
    /// batch then still covers its original offsets).
    #[inline]
    pub fn offset_count(&self) -> u64 {
        match self.compacted() {
            None => self.record_times.len() as u64,
            Some(c) => c.offset_count,
        }
    }

    /// Record `i`'s offset minus the base offset.
    #[inline]
    pub fn offset_delta(&self, i: usize) -> u64 {
        match self.compacted() {
            None => i as u64,
            Some(c) => u64::from(c.offset_deltas[i]),
        }
    }

    /// Each record's key entry on a compacted topic (else empty).
    #[inline]
    pub fn keys(&self) -> &[u64] {
        self.extra.as_ref().map_or(&[], |x| &x.keys)
    }

    /// Each record's input record, for a consume-transform-produce output (else empty).
    #[inline]
    pub fn sources(&self) -> &[u64] {
        self.extra.as_ref().map_or(&[], |x| &x.sources)
    }

    /// What the log cleaner did to the batch, if anything.
    #[inline]
    pub fn compacted(&self) -> Option<&Compacted> {
        self.extra.as_ref().and_then(|x| x.compacted.as_ref())
    }

    /// Whether `a` and `b` are the same batch: the same one shared, or one a cleaner rewrote
    /// from the other (replicas clean their copies on their own).
    pub fn same_batch(a: &Rc<RecordBatch>, b: &Rc<RecordBatch>) -> bool {
        Rc::ptr_eq(a, b)
            || ((a.compacted().is_some() || b.compacted().is_some())
                && (a.producer, a.producer_epoch, a.base_sequence, a.created)
                    == (b.producer, b.producer_epoch, b.base_sequence, b.created))
    }

    /// A marker batch: one record at `at`, ending `producer`'s transaction number `txn`.
    pub fn marker(producer: u32, producer_epoch: u16, txn: u64, marker: ControlMarker, at: SimTime) -> RecordBatch {
        RecordBatch {
            producer,
            producer_epoch,
            base_sequence: CONTROL_SEQUENCE_BASE + txn,
            idempotent: true,
            record_times: vec![at],
            values: Vec::new(),
            // The batch header and one `EndTransactionMarker` record.
            size_bytes: 61 + 14,
            created: at,
            allocated_bytes: 0,
            transactional: true,
            control: Some(marker),
            extra: None,
        }
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
    /// `NOT_COORDINATOR`: this broker is not the group's coordinator (find it again).
    NotCoordinator,
    /// `COORDINATOR_NOT_AVAILABLE`: the group's coordinator is not known (e.g. every replica of
    /// its offsets partition is fenced).
    CoordinatorNotAvailable,
    /// `MEMBER_ID_REQUIRED`: a new dynamic member must rejoin with the member id given (KIP-394).
    MemberIdRequired,
    /// `UNKNOWN_MEMBER_ID`: the member is not in the group (removed, or the group is empty).
    UnknownMemberId,
    /// `ILLEGAL_GENERATION`: the member's generation is not the group's.
    IllegalGeneration,
    /// `REBALANCE_IN_PROGRESS`: the group is rebalancing; rejoin.
    RebalanceInProgress,
    /// `INVALID_SESSION_TIMEOUT`: outside `group.min/max.session.timeout.ms`.
    InvalidSessionTimeout,
    /// `FENCED_INSTANCE_ID`: another member now holds this `group.instance.id` (KIP-345).
    FencedInstanceId,
    /// `NETWORK_EXCEPTION`: the connection closed before a response came (retriable).
    NetworkException,
    /// `NO_OFFSET` (the client's `NoOffsetForPartitionException`): no committed offset and
    /// `auto.offset.reset=none`.
    NoOffsetForPartition,
    /// `PRODUCER_FENCED`: a newer epoch of this transactional id exists (the coordinator bumped
    /// it when it aborted a timed-out transaction); the old producer must close.
    ProducerFenced,
    /// `INVALID_PRODUCER_EPOCH`: a batch of a transactional producer with an epoch older than
    /// the partition's (a fenced zombie's write).
    InvalidProducerEpoch,
    /// `CONCURRENT_TRANSACTIONS`: the coordinator is still completing the previous transaction
    /// (retriable).
    ConcurrentTransactions,
    /// `UNSTABLE_OFFSET_COMMIT`: a transaction that sent offsets for the partition is not
    /// complete yet; a consumer that requires stable offsets (KIP-447) asks again later.
    UnstableOffsetCommit,
    /// `FENCED_MEMBER_EPOCH` (KIP-848): the member's epoch is not the one the coordinator has
    /// for it; it must give up its partitions and join again with epoch 0.
    FencedMemberEpoch,
    /// `STALE_MEMBER_EPOCH` (KIP-848): an offset commit carries an older member epoch than the
    /// member's current one.
    StaleMemberEpoch,
    /// `UNRELEASED_INSTANCE_ID` (KIP-848): a static member joined with a `group.instance.id`
    /// that a member still holds (it never left with epoch -2). Fatal for the consumer.
    UnreleasedInstanceId,
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
            KafkaError::NotCoordinator => "NOT_COORDINATOR",
            KafkaError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            KafkaError::MemberIdRequired => "MEMBER_ID_REQUIRED",
            KafkaError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            KafkaError::IllegalGeneration => "ILLEGAL_GENERATION",
            KafkaError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            KafkaError::InvalidSessionTimeout => "INVALID_SESSION_TIMEOUT",
            KafkaError::FencedInstanceId => "FENCED_INSTANCE_ID",
            KafkaError::NoOffsetForPartition => "NO_OFFSET_FOR_PARTITION",
            KafkaError::NetworkException => "NETWORK_EXCEPTION",
            KafkaError::ProducerFenced => "PRODUCER_FENCED",
            KafkaError::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            KafkaError::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            KafkaError::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
            KafkaError::FencedMemberEpoch => "FENCED_MEMBER_EPOCH",
            KafkaError::StaleMemberEpoch => "STALE_MEMBER_EPOCH",
            KafkaError::UnreleasedInstanceId => "UNRELEASED_INSTANCE_ID",
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
    /// Replicas a reassignment in progress adds (`PartitionRegistration.addingReplicas`): the
    /// ones a replication throttle applies to.
    pub adding_replicas: Vec<u32>,
}

impl PartitionState {
    /// Whether the partition exists yet: one a `CreatePartitions` fault has still to create has
    /// no replicas.
    pub fn exists(&self) -> bool {
        !self.replicas.is_empty()
    }
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
    /// In a `read_committed` fetch: the batch belongs to an aborted transaction, and the
    /// consumer skips it. (Kafka's leader sends the partition's `aborted_transactions` with the
    /// batches and the consumer works out which batches they cover, `CompletedFetch`; here the
    /// leader works it out with the same rule and marks them. Fits in the padding: no batch
    /// grows.)
    pub aborted: bool,
    pub batch: Rc<RecordBatch>,
}

/// One partition's part of a fetch response.
#[derive(Debug)]
pub struct FetchedPartition {
    pub partition: u32,
    pub error: Option<KafkaError>,
    pub high_watermark: u64,
    pub log_start_offset: u64,
    /// The leader's log end offset. (On `OFFSET_OUT_OF_RANGE` a Kafka follower asks for it with
    /// `ListOffsets`; here it comes with the response.)
    pub log_end_offset: u64,
    /// Set when the fetcher's log diverges: `(epoch, end offset)` to truncate to (§3.6).
    pub diverging_epoch: Option<(u32, u64)>,
    /// How many of the response's batches are this partition's: they follow those of the
    /// partitions before it.
    pub batch_count: u32,
}

/// Emptied vectors of one kind, kept for their allocations: giving a vector back here rather
/// than freeing it, and taking it again for the next request, saves an allocation and a free
/// per vector (a fetch's vectors are built on one node and emptied on another, hence the pool
/// the engine shares). A capacity never reaches an output, so which vector a request gets
/// changes nothing else.
#[derive(Debug)]
pub struct Spares<T>(Vec<Vec<T>>);

impl<T> Default for Spares<T> {
    fn default() -> Self {
        Spares(Vec::new())
    }
}

impl<T> Spares<T> {
    /// At most this many are kept (as many as fetches are in flight, in practice).
    const MAX: usize = 64;

    /// An empty vector, with the capacity of one given back if there is one.
    pub fn take(&mut self) -> Vec<T> {
        self.0.pop().unwrap_or_default()
    }

    /// Gives back a vector (emptied here) for a later `take`.
    pub fn give_back(&mut self, mut v: Vec<T>) {
        if v.capacity() > 0 && self.0.len() < Self::MAX {
            v.clear();
            self.0.push(v);
        }
    }
}

/// The spare vectors of fetch requests and responses, shared by every node (see [`Spares`]).
#[derive(Debug, Default)]
pub struct FetchBuffers {
    /// A `FetchRequest`'s partitions.
    pub requests: Spares<FetchPartition>,
    /// A `FetchResponse`'s partitions.
    pub responses: Spares<FetchedPartition>,
    /// A `FetchResponse`'s batches.
    pub batches: Spares<ReplicatedBatch>,
}

impl FetchBuffers {
    /// A fetch response's two vectors, emptied by [`each_fetched_partition`], back to the pool.
    pub fn give_back_response(&mut self, partitions: Vec<FetchedPartition>, batches: Vec<ReplicatedBatch>) {
        self.responses.give_back(partitions);
        self.batches.give_back(batches);
    }
}

/// A partition's own batches in a fetch response: the next `batch_count` of the shared list.
pub type PartitionBatches<'a, 'b> = std::iter::Take<&'a mut std::vec::Drain<'b, ReplicatedBatch>>;

/// Hands each partition of a fetch response, in order, to `each` with its own batches, and
/// leaves both vectors empty (for [`FetchBuffers::give_back_response`]). Batches `each` does not
/// take are dropped, so that the next partition starts at its own.
pub fn each_fetched_partition(
    partitions: &mut Vec<FetchedPartition>,
    batches: &mut Vec<ReplicatedBatch>,
    mut each: impl FnMut(FetchedPartition, &mut PartitionBatches<'_, '_>),
) {
    let mut all = batches.drain(..);
    for fetched in partitions.drain(..) {
        let mut own = all.by_ref().take(fetched.batch_count as usize);
        each(fetched, &mut own);
        own.for_each(drop);
    }
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
        /// `throttle_time_ms`: the client's quota was exceeded; it waits this long before its
        /// next request to this broker (0: not throttled).
        throttle_ms: u64,
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
        /// `isolation_level=read_committed`: read up to the last stable offset, not the high
        /// watermark (consumers only).
        read_committed: bool,
    },
    FetchResponse {
        request_id: u64,
        partitions: Vec<FetchedPartition>,
        /// Every partition's batches, partition after partition in the order of `partitions`
        /// (one list per response rather than one per partition: one allocation, not one per
        /// partition read).
        batches: Vec<ReplicatedBatch>,
    },
    /// A consumer's fetch answered empty because the member exceeded its `consumer_byte_rate`
    /// quota (Kafka's `FetchContext.getThrottledResponse`: a `FetchResponse` with no data and
    /// `throttle_time_ms`).
    ThrottledFetchResponse {
        request_id: u64,
        throttle_ms: u64,
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
        /// `wantShutDown`: the broker is stopping and asks for a controlled shutdown.
        want_shut_down: bool,
        /// On registration: the broker's last stop was a clean shutdown (Kafka sends
        /// `previousBrokerEpoch` then, KIP-966; after a crash it sends -1).
        clean_shutdown: bool,
    },
    /// The controller's answer: the partitions that changed since the broker's version.
    BrokerHeartbeatResponse {
        metadata_version: u64,
        changes: Vec<PartitionState>,
        fenced_brokers: Vec<u32>,
        /// `shouldShutDown`: the controlled shutdown is done (the broker leads nothing and has
        /// seen the changes that moved its leaderships); the broker may exit.
        should_shut_down: bool,
    },
    /// The controller publishes partition changes and the fenced brokers (the KRaft metadata log).
    MetadataUpdate {
        metadata_version: u64,
        changes: Vec<PartitionState>,
        fenced_brokers: Vec<u32>,
    },
    /// The active controller's metadata log to a follower controller (KIP-595; Kafka's followers
    /// fetch it): the newest version, written in `version_epoch`, and, when the follower may lack
    /// it, the whole image.
    QuorumAppend {
        epoch: u32,
        version: u64,
        version_epoch: u32,
        committed: u64,
        image: Option<Box<crate::cluster::MetadataImage>>,
    },
    /// `current`: the follower now holds exactly the leader's `version`.
    QuorumAppendResponse {
        epoch: u32,
        version: u64,
        current: bool,
    },
    /// A controller asks for a vote for `epoch` (`Vote`), with how up to date its log is;
    /// `pre_vote`: only whether the voter would grant it (KIP-996).
    QuorumVote {
        epoch: u32,
        last_epoch: u32,
        version: u64,
        pre_vote: bool,
    },
    QuorumVoteResponse {
        epoch: u32,
        granted: bool,
        pre_vote: bool,
    },
    /// A new active controller to every broker, with the whole metadata state (brokers learn the
    /// leader and catch up from the metadata log they fetch).
    ControllerChange {
        epoch: u32,
        metadata_version: u64,
        states: Vec<PartitionState>,
        fenced_brokers: Vec<u32>,
    },
    /// A controller that is not the active one answers a broker (`NOT_CONTROLLER`), naming the
    /// leader it knows.
    NotController {
        epoch: u32,
        leader: Option<crate::sim::NodeId>,
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
        /// Boxed, as it is rare and the largest body: every message takes the size of the
        /// largest variant, and the engine moves every message a few times.
        result: Result<Box<PartitionState>, ()>,
    },
    /// A consumer's request to a group coordinator (or, `FindCoordinator`, to any broker).
    GroupRequest {
        request_id: u64,
        /// The group's index in the scenario.
        group: u32,
        /// Boxed, as it is rare and large: every message takes the size of the largest variant,
        /// and the engine moves every message a few times.
        body: Box<GroupRequest>,
    },
    GroupResponse {
        request_id: u64,
        group: u32,
        body: Box<GroupResponse>,
    },
    /// `ListOffsets` to a partition's leader: the offset `auto.offset.reset` resets to.
    ListOffsetsRequest {
        request_id: u64,
        partitions: Vec<(u32, OffsetSpec)>,
    },
    ListOffsetsResponse {
        request_id: u64,
        offsets: Vec<(u32, Result<u64, KafkaError>)>,
    },
    /// `OffsetsForLeaderEpoch` from a consumer (KIP-320) to a partition's leader: per partition,
    /// the epoch the consumer believes current (for fencing) and the epoch of the record before
    /// its position.
    OffsetsForLeaderEpochRequest {
        request_id: u64,
        partitions: Vec<EpochQuery>,
    },
    /// Per partition: the largest epoch at or below the asked one and where it ended
    /// (`None`: `UNDEFINED_EPOCH_OFFSET`, every epoch the leader knows is later), or an error.
    OffsetsForLeaderEpochResponse {
        request_id: u64,
        partitions: Vec<(u32, EpochEndOffset)>,
    },
    /// A transactional producer's request to its transaction coordinator (or,
    /// `FindCoordinator`, to any broker).
    TxnRequest {
        request_id: u64,
        /// The producer (its index is its producer id; its name the `transactional.id`).
        producer: u32,
        body: Box<TxnRequest>,
    },
    TxnResponse {
        request_id: u64,
        body: Box<TxnResponse>,
    },
    /// `WriteTxnMarkers`: a transaction coordinator asks a partition leader to write a marker
    /// ending `producer`'s transaction in these partitions.
    WriteTxnMarkers {
        request_id: u64,
        body: Box<TxnMarkers>,
    },
    /// Per partition: written, or an error (`NOT_LEADER_OR_FOLLOWER`: ask the new leader).
    WriteTxnMarkersResponse {
        request_id: u64,
        results: Vec<(u32, Option<KafkaError>)>,
    },
    /// Within one application process (never on the network): a consume-transform-produce
    /// member hands the records it processed to its producer (`context.forward` → `send()`).
    Forward {
        records: Vec<ForwardedRecord>,
    },
    /// Within one application process: a consume-transform-produce member commits through its
    /// producer (Kafka Streams' `TaskManager.commit`): at-least-once, the producer flushes and
    /// then commits the offsets to the group coordinator; exactly-once, it sends them to its
    /// transaction and commits it. The answer is the `OffsetCommit` response, with the same id.
    PipelineCommit {
        request_id: u64,
        group: u32,
        /// The group coordinator the member knows.
        coordinator: u32,
        member_id: String,
        generation: i32,
        offsets: Vec<(u32, u64, Option<u32>)>,
    },
    /// Within one application process: a consume-transform-produce member under exactly-once
    /// lost its partitions (`onPartitionsLost`: its generation is over). Its producer aborts the
    /// open transaction (Kafka Streams closes the tasks dirty), so nothing the member wrote
    /// since its last commit becomes visible.
    PipelineAbort,
    /// The connection a request went out on was closed: its peer's process crashed, and the
    /// host's kernel reset the connection (`NetworkClient` fails the request with a disconnect,
    /// `NETWORK_EXCEPTION`). Sent by the engine, never by a node.
    Disconnected {
        request_id: u64,
    },
}

/// One partition's `OffsetsForLeaderEpoch` answer: the largest epoch at or below the asked one
/// and its end offset (`None`: `UNDEFINED_EPOCH_OFFSET`), or an error.
pub type EpochEndOffset = Result<Option<(u32, u64)>, KafkaError>;

/// An offset a commit sends: `(global partition, next offset, committed leader epoch)`.
pub type OffsetToCommit = (u32, u64, Option<u32>);

/// A committed offset and its `committed_leader_epoch` (`None`: no committed offset).
pub type CommittedOffset = Option<(u64, Option<u32>)>;

/// One partition of an `OffsetsForLeaderEpoch` request (`OffsetForLeaderPartition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpochQuery {
    pub partition: u32,
    /// `current_leader_epoch`: the leader epoch the client knows (fenced if stale).
    pub current_leader_epoch: u32,
    /// `leader_epoch`: the epoch whose end offset the client asks for.
    pub leader_epoch: u32,
}

/// What `ListOffsets` asks for: the log start offset or, for `read_uncommitted`, the high
/// watermark (kafka-reference §4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    Earliest,
    Latest,
    /// The first offset whose record's timestamp is at or after this time (KIP-79).
    Timestamp(SimTime),
}

/// The classic group protocol's requests (kafka-reference §4.3) plus the offset requests.
#[derive(Debug)]
pub enum GroupRequest {
    FindCoordinator,
    JoinGroup {
        /// Empty for a new member.
        member_id: String,
        group_instance_id: Option<String>,
        session_timeout_ms: u64,
        /// `max.poll.interval.ms` for consumers.
        rebalance_timeout_ms: u64,
        /// `partition.assignment.strategy` in preference order, with the subscription they all carry.
        protocols: Vec<Strategy>,
        subscription: MemberSubscription,
    },
    SyncGroup {
        member_id: String,
        generation: i32,
        /// Only the leader's carries assignments: member id → global partitions.
        assignments: Vec<(String, Vec<u32>)>,
    },
    Heartbeat {
        member_id: String,
        generation: i32,
    },
    LeaveGroup {
        member_id: String,
    },
    OffsetCommit {
        member_id: String,
        generation: i32,
        /// `(global partition, offset, leader epoch)`: the next offset to consume and the epoch of
        /// the record before it (`committed_leader_epoch`, KIP-320; `None`: unknown).
        offsets: Vec<(u32, u64, Option<u32>)>,
    },
    OffsetFetch {
        partitions: Vec<u32>,
        /// `require_stable` (KIP-447, sent by `read_committed` consumers): a partition with
        /// offsets in a transaction not yet complete fails the request with
        /// `UNSTABLE_OFFSET_COMMIT`.
        require_stable: bool,
    },
    /// `TxnOffsetCommit`, from a transactional producer (`sendOffsetsToTransaction`): offsets
    /// that become the group's committed offsets when the producer's transaction commits, and
    /// are dropped if it aborts. Checked against the group's generation and member id, as the
    /// consumer group metadata carries them (KIP-447), which fences a zombie member.
    TxnOffsetCommit {
        producer: u32,
        /// Checked against the epoch of the producer's last marker in `__consumer_offsets`: a
        /// fenced producer's offsets are refused (`PRODUCER_FENCED`).
        producer_epoch: u16,
        member_id: String,
        generation: i32,
        offsets: Vec<(u32, u64, Option<u32>)>,
    },
    /// `ConsumerGroupHeartbeat` (KIP-848, `group.protocol=consumer`): joins (epoch 0), leaves
    /// (epoch -1), or reports the partitions the member holds at its epoch; the answer carries
    /// the member's epoch and, when it changed, its assignment. (The Java client sends its
    /// owned partitions only when they changed; kafkasim sends them every time.)
    ConsumerGroupHeartbeat {
        member_id: String,
        /// `group.instance.id` of a static member.
        instance_id: Option<String>,
        /// 0 to join; -1 to leave; -2 for a static member to leave for now, keeping its
        /// assignment for `group.consumer.session.timeout.ms`.
        member_epoch: i32,
        /// `max.poll.interval.ms`: how long the member has to revoke partitions.
        rebalance_timeout_ms: u64,
        /// Global partitions it holds now, sorted.
        owned: Vec<u32>,
    },
}

/// What a `ConsumerGroupHeartbeat` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerHeartbeatResult {
    pub member_id: String,
    /// -1 after a leave.
    pub member_epoch: i32,
    /// `group.consumer.heartbeat.interval.ms`: when to heartbeat next.
    pub heartbeat_interval_ms: u64,
    /// The member's whole assignment (global partitions, sorted), when it changed.
    pub assignment: Option<Vec<u32>>,
}

/// A transactional producer's requests (kafka-reference §6.2).
#[derive(Debug)]
pub enum TxnRequest {
    /// `FindCoordinator` with `key_type=TRANSACTION`.
    FindCoordinator,
    /// `EndTxn`: commit or abort the open transaction, which wrote to `partitions` (global).
    /// (With the `AddPartitionsToTxn` calls Kafka makes before the first write to each
    /// partition, the coordinator already knows them; here the request carries them.)
    EndTxn {
        producer_epoch: u16,
        commit: bool,
        /// The producer's transaction number (which marker this is).
        txn: u64,
        partitions: Vec<u32>,
    },
    /// `AddPartitionsToTxn`: the open transaction writes to these partitions too (the first
    /// one begins it at the coordinator, which starts its timeout).
    AddPartitions { producer_epoch: u16, txn: u64, partitions: Vec<u32> },
    /// `AddOffsetsToTxn`: the open transaction sends offsets of consumer group `group` (its
    /// `__consumer_offsets` partition joins the transaction, so the transaction's end commits or
    /// drops them).
    AddOffsets { producer_epoch: u16, txn: u64, group: u32 },
    /// `InitProducerId` from a producer that starts again under its `transactional.id` (here:
    /// a consume-transform-produce member's producer re-created after it was fenced, as Kafka
    /// Streams re-creates its thread producer): the coordinator aborts the transaction left
    /// open, if any, and answers with a new epoch, which fences every older one.
    InitProducerId,
}

#[derive(Debug)]
pub enum TxnResponse {
    FindCoordinator(Result<u32, KafkaError>),
    /// The transaction is complete (every marker written), with the producer epoch to use from
    /// now on (bumped by the coordinator at every transaction end, as transaction version 2,
    /// KIP-890, does), or an error.
    EndTxn(Result<u16, KafkaError>),
    AddPartitions(Result<(), KafkaError>),
    AddOffsets(Result<(), KafkaError>),
    /// The producer epoch to use from now on.
    InitProducerId(Result<u16, KafkaError>),
}

/// The markers of one transaction for one leader.
#[derive(Debug)]
pub struct TxnMarkers {
    pub producer: u32,
    pub producer_epoch: u16,
    pub txn: u64,
    pub marker: ControlMarker,
    pub partitions: Vec<u32>,
}

/// The subscription a member sends in JoinGroup (`ConsumerProtocolSubscription`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSubscription {
    pub topics: Vec<String>,
    /// Global partitions the member owns now (empty for eager members, which revoked them).
    pub owned: Vec<u32>,
    /// The generation of `owned` (-1 if none).
    pub generation: i32,
}

/// What a JoinGroup returns when the join completes.
#[derive(Clone, Debug)]
pub struct JoinGroupResult {
    pub generation: i32,
    pub protocol: Strategy,
    pub leader: String,
    pub member_id: String,
    /// For the leader: every member's id, instance id and subscription; empty for followers.
    pub members: Vec<(String, Option<String>, MemberSubscription)>,
}

#[derive(Debug)]
pub enum GroupResponse {
    /// The coordinator's broker, or `COORDINATOR_NOT_AVAILABLE`.
    FindCoordinator(Result<u32, KafkaError>),
    /// On `MEMBER_ID_REQUIRED` the error carries the member id to rejoin with.
    JoinGroup(Result<JoinGroupResult, (KafkaError, String)>),
    /// The member's assignment (global partitions).
    SyncGroup(Result<Vec<u32>, KafkaError>),
    Heartbeat(Result<(), KafkaError>),
    LeaveGroup(Result<(), KafkaError>),
    OffsetCommit(Result<(), KafkaError>),
    /// Committed offset and its leader epoch per asked partition (`None`: no committed offset).
    OffsetFetch(Result<Vec<(u32, CommittedOffset)>, KafkaError>),
    TxnOffsetCommit(Result<(), KafkaError>),
    ConsumerGroupHeartbeat(Result<ConsumerHeartbeatResult, KafkaError>),
}

impl GroupResponse {
    pub fn kind(&self) -> &'static str {
        match self {
            GroupResponse::FindCoordinator(_) => "FindCoordinatorResponse",
            GroupResponse::JoinGroup(_) => "JoinGroupResponse",
            GroupResponse::SyncGroup(_) => "SyncGroupResponse",
            GroupResponse::Heartbeat(_) => "HeartbeatResponse",
            GroupResponse::LeaveGroup(_) => "LeaveGroupResponse",
            GroupResponse::OffsetCommit(_) => "OffsetCommitResponse",
            GroupResponse::OffsetFetch(_) => "OffsetFetchResponse",
            GroupResponse::TxnOffsetCommit(_) => "TxnOffsetCommitResponse",
            GroupResponse::ConsumerGroupHeartbeat(_) => "ConsumerGroupHeartbeatResponse",
        }
    }
}

impl GroupRequest {
    pub fn kind(&self) -> &'static str {
        match self {
            GroupRequest::FindCoordinator => "FindCoordinator",
            GroupRequest::JoinGroup { .. } => "JoinGroup",
            GroupRequest::SyncGroup { .. } => "SyncGroup",
            GroupRequest::Heartbeat { .. } => "Heartbeat",
            GroupRequest::LeaveGroup { .. } => "LeaveGroup",
            GroupRequest::OffsetCommit { .. } => "OffsetCommit",
            GroupRequest::OffsetFetch { .. } => "OffsetFetch",
            GroupRequest::TxnOffsetCommit { .. } => "TxnOffsetCommit",
            GroupRequest::ConsumerGroupHeartbeat { .. } => "ConsumerGroupHeartbeat",
        }
    }
}

impl Message {
    /// The id of a request that expects a response (what a disconnect fails); `None` for
    /// responses and one-way messages.
    pub fn request_id(&self) -> Option<u64> {
        match self {
            Message::ProduceRequest { request_id, .. }
            | Message::FetchRequest { request_id, .. }
            | Message::MetadataRequest { request_id }
            | Message::GroupRequest { request_id, .. }
            | Message::ListOffsetsRequest { request_id, .. }
            | Message::OffsetsForLeaderEpochRequest { request_id, .. }
            | Message::TxnRequest { request_id, .. }
            | Message::WriteTxnMarkers { request_id, .. } => Some(*request_id),
            _ => None,
        }
    }

    /// Approximate bytes on the wire: the batches carried plus a fixed header (for bandwidth).
    pub fn size_bytes(&self) -> u64 {
        const HEADER: u64 = 64;
        HEADER
            + match self {
                Message::ProduceRequest { batches, .. } => batches.iter().map(|(_, b)| b.size_bytes as u64).sum(),
                Message::FetchResponse { batches, .. } => batches.iter().map(|b| b.batch.size_bytes as u64).sum(),
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
            Message::FetchResponse { .. } | Message::ThrottledFetchResponse { .. } => "FetchResponse",
            Message::MetadataRequest { .. } => "MetadataRequest",
            Message::MetadataResponse { .. } => "MetadataResponse",
            Message::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            Message::BrokerHeartbeatResponse { .. } => "BrokerHeartbeatResponse",
            Message::MetadataUpdate { .. } => "MetadataUpdate",
            Message::AlterPartition { .. } => "AlterPartition",
            Message::QuorumAppend { .. } => "QuorumAppend",
            Message::QuorumAppendResponse { .. } => "QuorumAppendResponse",
            Message::QuorumVote { .. } => "QuorumVote",
            Message::QuorumVoteResponse { .. } => "QuorumVoteResponse",
            Message::ControllerChange { .. } => "ControllerChange",
            Message::NotController { .. } => "NotController",
            Message::AlterPartitionResponse { .. } => "AlterPartitionResponse",
            Message::GroupRequest { body, .. } => body.kind(),
            Message::GroupResponse { body, .. } => body.kind(),
            Message::ListOffsetsRequest { .. } => "ListOffsetsRequest",
            Message::ListOffsetsResponse { .. } => "ListOffsetsResponse",
            Message::OffsetsForLeaderEpochRequest { .. } => "OffsetsForLeaderEpochRequest",
            Message::OffsetsForLeaderEpochResponse { .. } => "OffsetsForLeaderEpochResponse",
            Message::TxnRequest { body, .. } => match **body {
                TxnRequest::FindCoordinator => "FindCoordinator",
                TxnRequest::EndTxn { .. } => "EndTxn",
                TxnRequest::AddPartitions { .. } => "AddPartitionsToTxn",
                TxnRequest::AddOffsets { .. } => "AddOffsetsToTxn",
                TxnRequest::InitProducerId => "InitProducerId",
            },
            Message::TxnResponse { body, .. } => match **body {
                TxnResponse::FindCoordinator(_) => "FindCoordinatorResponse",
                TxnResponse::EndTxn(_) => "EndTxnResponse",
                TxnResponse::AddPartitions(_) => "AddPartitionsToTxnResponse",
                TxnResponse::AddOffsets(_) => "AddOffsetsToTxnResponse",
                TxnResponse::InitProducerId(_) => "InitProducerIdResponse",
            },
            Message::WriteTxnMarkers { .. } => "WriteTxnMarkers",
            Message::WriteTxnMarkersResponse { .. } => "WriteTxnMarkersResponse",
            Message::Disconnected { .. } => "Disconnected",
            Message::Forward { .. } => "Forward",
            Message::PipelineCommit { .. } => "Commit",
            Message::PipelineAbort => "AbortTransaction",
        }
    }
}
