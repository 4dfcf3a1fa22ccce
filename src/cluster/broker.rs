//! A broker: leads some partitions, follows others, and talks to the controller.
//!
//! As leader (`Partition.scala`, kafka-reference §3.2–3.5) it appends produce requests in its
//! leader epoch, rejects `acks=all` when the ISR is below `min.insync.replicas`
//! (`NOT_ENOUGH_REPLICAS`), tracks each follower's log end offset and `lastCaughtUpTime`, moves
//! the high watermark by Kafka's rule (not while the ISR is below min ISR, since 3.7), completes
//! `acks=all` requests once the high watermark covers them (`DelayedProduce`), proposes ISR shrinks
//! every `replica.lag.time.max.ms / 2` and expansions on fetch (`AlterPartition`), and answers
//! fetches from followers (up to its log end) and consumers (up to the high watermark).
//!
//! As follower (`AbstractFetcherThread`, §3.6) it fetches from each leader in one loop, appends
//! what it gets, sets its high watermark to `min(leader's, own LEO)`, and truncates where its log
//! diverges: by leader epoch (KIP-101/279, via the fetch's `lastFetchedEpoch`) or, in the pre-0.11
//! protocol, to its high watermark whenever it starts following.
//!
//! Idempotent producers (KIP-98): per partition and producer the broker keeps the last five
//! batches' sequences; a retried duplicate is answered with its original offset and not appended,
//! a gap is `OUT_OF_ORDER_SEQUENCE_NUMBER`, and followers rebuild the same state as they replicate.
//!
//! Retention (`LogManager.cleanupLogs`): on a topic with `retention.ms` or `retention.bytes`
//! that can act within the run, every `log.retention.check.interval.ms` the leader deletes the
//! oldest whole segments retention no longer keeps, never past the high watermark; followers
//! follow its log start offset. On other topics the simulator drops, to save memory, what every
//! replica and every subscribed group has committed (Kafka would keep it for 7 days), except on a
//! topic a reassignment moves, whose new replicas copy the whole log.
//!
//! Reassignment (KIP-455): a broker hosts the partitions its metadata names it a replica of; one
//! newly named starts from an empty log and fetches from the leader's log start, one no longer
//! named stops and deletes its copy (`stopPartitions`). A leader that loses a partition answers the
//! fetches parked on it at once. With `leader.replication.throttled.rate` (KIP-73), a leader leaves
//! a partition being reassigned out of its answers to out-of-sync replicas while the rate of such
//! partitions' follower fetches is over the bound; with `follower.replication.throttled.rate`, a
//! replica being added leaves its partition out of its own fetch requests while what it received
//! of it is over the bound (and waits `replica.fetch.backoff.ms` when that leaves nothing to fetch).
//!
//! Simplified: request handling costs no CPU time; one fetch session per leader; the partitions
//! of a request are answered together; producer state is rebuilt from the retained log only.

mod cleaning;

use std::collections::BTreeMap;
use std::rc::Rc;

use super::quota::ByteRateQuota;
use crate::check::TruncationEvent;
use crate::cluster::{Log, Metadata};
use crate::protocol::{
    EpochEndOffset, EpochQuery, FetchPartition, FetchedPartition, KafkaError, Message, OffsetSpec, PartitionState,
    RecordBatch, ReplicatedBatch, Spares, TxnMarkers, each_fetched_partition,
};
use crate::scenario::{Acks, Replication, Truncation};
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};

/// `UNDEFINED_EPOCH` in a diverging-epoch answer: the leader has no epoch that old.
const UNDEFINED_EPOCH: u32 = u32::MAX;

/// The leader's view of one follower (`Replica.scala`).
#[derive(Clone, Debug)]
struct FollowerView {
    broker: u32,
    /// Whether the follower is in the ISR of the partition state the leader holds (kept with
    /// `Replica::state`, so that the high watermark's hot path need not search the ISR).
    in_isr: bool,
    log_end_offset: u64,
    last_caught_up: SimTime,
    /// Leader LEO and time at this follower's previous fetch (`lastFetchLeaderLogEndOffset`).
    last_fetch_leader_leo: u64,
    last_fetch_time: SimTime,
}

/// This broker's replica of one partition.
#[derive(Debug, Default)]
pub struct Replica {
    pub log: Log,
    pub high_watermark: u64,
    /// Last checkpointed high watermark (what a restart starts from).
    hw_checkpoint: u64,
    /// The partition as the controller last published it.
    pub state: Option<PartitionState>,
    /// Leader side: followers, the epoch start offset, an ISR change in flight.
    followers: Vec<FollowerView>,
    epoch_start_offset: u64,
    alter_in_flight: bool,
    /// When the `AlterPartition` in flight was sent.
    alter_sent_at: SimTime,
    /// Follower side: fetching from this broker (`None`: not fetching).
    fetching_from: Option<u32>,
    /// `Partition.effectiveMinIsr` (topic metadata, fixed for the run; kept here for the
    /// produce and high-watermark paths).
    min_isr: usize,
    /// Follower side, pre-0.11 protocol: truncate to the high watermark before the next fetch.
    truncate_to_hw_pending: bool,
    /// Follower side, 0.11-1.1 protocol: the next fetch asks about the latest epoch (once).
    epoch_lookup_pending: bool,
    /// Follower side: the leader knows no epoch as old as our last one, and truncating to our
    /// high watermark changed nothing (our log is committed, or empty after retention or a
    /// reset): fetch without a last fetched epoch until we append the leader's batches (asking
    /// again would loop on the same answer).
    last_epoch_unknown_to_leader: bool,
    /// Idempotence state per producer, indexed by producer (`None`: none of its batches seen):
    /// (producer epoch, last sequence, last 5 batches).
    producers: Vec<Option<ProducerEntry>>,
    /// A compacted partition: where the log cleaner's last cleaning ended (the
    /// `cleaner-offset-checkpoint` file's entry), `None` before the first.
    cleaner_checkpoint: Option<u64>,
}

#[derive(Clone, Debug, Default)]
struct ProducerEntry {
    epoch: u16,
    last_sequence: u64,
    /// `(base sequence, offset)` of the last five batches (`NUM_BATCHES_TO_RETAIN`).
    recent: RecentBatches,
}

/// `NUM_BATCHES_TO_RETAIN` in `ProducerStateManager`.
const NUM_BATCHES_TO_RETAIN: usize = 5;

/// The last [`NUM_BATCHES_TO_RETAIN`] `(base sequence, offset)` pairs of a producer, oldest
/// first: inline in the entry (every append updates it, so no heap queue per producer). The
/// newest is always last; a push shifts the older ones down by one (a few vector moves, no
/// branch and no wrap-around index).
#[derive(Clone, Debug, Default)]
struct RecentBatches {
    slots: [(u64, u64); NUM_BATCHES_TO_RETAIN],
    /// How many are held: `slots[NUM_BATCHES_TO_RETAIN - len..]`.
    len: usize,
}

impl RecentBatches {
    /// Adds the newest, dropping the oldest once full.
    fn push(&mut self, entry: (u64, u64)) {
        self.slots.copy_within(1.., 0);
        self.slots[NUM_BATCHES_TO_RETAIN - 1] = entry;
        self.len = (self.len + 1).min(NUM_BATCHES_TO_RETAIN);
    }

    /// Oldest first.
    fn iter(&self) -> impl Iterator<Item = &(u64, u64)> {
        self.slots[NUM_BATCHES_TO_RETAIN - self.len..].iter()
    }
}

impl Replica {
    /// A compacted partition: where the log cleaner's last cleaning ended.
    pub fn cleaner_checkpoint(&self) -> Option<u64> {
        self.cleaner_checkpoint
    }

    fn is_leader(&self, me: u32) -> bool {
        self.state.as_ref().is_some_and(|s| s.leader == Some(me)) && self.fetching_from.is_none()
    }
}

/// A produce request waiting for the high watermark (`DelayedProduce`).
#[derive(Debug)]
struct DelayedProduce {
    from: NodeId,
    request_id: u64,
    /// The request's size (what a quota counts).
    size_bytes: u64,
    deadline: SimTime,
    /// Per partition: the result so far, or the offset the high watermark must reach.
    parts: Vec<ProducePart>,
    /// A coordinator's `WriteTxnMarkers` (answered with `WriteTxnMarkersResponse`), not a
    /// client's produce.
    markers: bool,
}

/// A delayed produce's partition, its result so far and the offset the high watermark must reach.
type ProducePart = (u32, Result<u64, KafkaError>, Option<u64>);

/// A fetch waiting in purgatory for data or for its timeout (`DelayedFetch`).
#[derive(Debug)]
struct ParkedFetch {
    deadline: SimTime,
    from: NodeId,
    request_id: u64,
    replica: Option<u32>,
    partitions: Vec<FetchPartition>,
    min_bytes: u32,
    max_partition_bytes: u32,
    /// A consumer's `isolation.level=read_committed`: reads stop at the last stable offset.
    read_committed: bool,
}

/// What a leader makes of one partition of a follower's fetch: `Err` for an error,
/// `Ok(Some((epoch, end offset)))` for a diverging epoch, `Ok(None)` to read.
type FollowerCheck = Result<Option<(u32, u64)>, KafkaError>;

/// A follower's fetch session with one leader.
#[derive(Clone, Debug, Default)]
struct Fetcher {
    outstanding: Option<(u64, SimTime)>,
    backoff_until: SimTime,
}

/// Counters for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerStats {
    pub produce_requests: u64,
    pub fetch_requests: u64,
    pub errors: BTreeMap<&'static str, u64>,
}

/// One broker.
#[derive(Debug)]
pub struct Broker {
    pub id: u32,
    metadata: Rc<Metadata>,
    settings: Replication,
    heartbeat_ms: u64,
    request_timeout: SimDuration,
    pub incarnation: u32,
    metadata_version: u64,
    /// The active controller as this broker knows it, and the quorum epoch it learned it in.
    controller: (NodeId, u32),
    /// Whether the controller answered the last heartbeat (or said who leads).
    heartbeat_answered: bool,
    /// The broker is stopping gracefully and waits for the controller's go-ahead
    /// (`BrokerState.PENDING_CONTROLLED_SHUTDOWN`).
    controlled_shutdown: bool,
    /// The controller has answered "not yet" once in this controlled shutdown.
    shutdown_answered: bool,
    /// The last stop was a clean shutdown (it registers with its previous broker epoch).
    stopped_cleanly: bool,
    pub replicas: Vec<Replica>,
    /// Partition states of the whole cluster, as this broker last heard them.
    states: Vec<PartitionState>,
    /// Brokers the controller has fenced, as this broker last heard (not ISR-eligible).
    fenced: Vec<bool>,
    delayed: Vec<DelayedProduce>,
    produce_expiry_at: Option<SimTime>,
    parked: Vec<ParkedFetch>,
    fetch_expiry_at: Option<SimTime>,
    fetchers: Vec<Fetcher>,
    next_request_id: u64,
    /// Scratch for a follower fetch's per-partition checks (kept for its allocation).
    checks_scratch: Vec<FollowerCheck>,
    /// Scratch for the partitions a produce request appended to (kept for its allocation).
    appended_scratch: Vec<u32>,
    /// Delayed produces' emptied `parts`, kept for their allocations (one per produce request).
    spare_parts: Spares<ProducePart>,
    /// Last fetch offset of each subscribed group per partition (drives retention).
    group_offsets: Vec<Vec<u64>>,
    pub stats: BrokerStats,
    /// The group coordinator role (for the groups whose offsets partition this broker leads).
    pub coordinator: crate::group::CoordinatorHost,
    /// The transaction coordinator role (for the transactional ids whose `__transaction_state`
    /// partition this broker leads).
    pub txn: crate::transaction::TxnCoordinatorHost,
    /// Per client node: its `producer_byte_rate` quota as this broker measures it (in memory:
    /// a restart starts the measurement over).
    produce_quotas: Vec<Option<ByteRateQuota>>,
    /// Per client node: its `consumer_byte_rate` quota.
    fetch_quotas: Vec<Option<ByteRateQuota>>,
    /// `leader.replication.throttled.rate` (KIP-73), over the follower fetches of partitions
    /// being reassigned; `None` without a throttle.
    replication_quota: Option<ByteRateQuota>,
    /// Whether that rate was over its bound when last measured (a parked follower fetch does not
    /// count bytes the throttle withholds).
    replication_throttled: bool,
    /// `follower.replication.throttled.rate` (KIP-73), over what this broker fetches of the
    /// partitions a reassignment adds it to; `None` without a throttle.
    follower_quota: Option<ByteRateQuota>,
}

impl Broker {
    pub fn new(
        id: u32,
        metadata: Rc<Metadata>,
        settings: &Replication,
        heartbeat_ms: u64,
        coordinator: crate::group::CoordinatorHost,
        txn: crate::transaction::TxnCoordinatorHost,
    ) -> Broker {
        let socket_timeout_ms = settings.replica_socket_timeout_ms;
        let n = metadata.partition_count();
        let group_offsets = (0..n).map(|p| vec![0; metadata.topic_of(p as u32).groups.len()]).collect();
        let states = (0..n as u32).map(|p| metadata.initial_state(p)).collect();
        Broker {
            id,
            settings: settings.clone(),
            heartbeat_ms,
            request_timeout: SimDuration::from_ms(socket_timeout_ms),
            incarnation: 0,
            metadata_version: 0,
            controller: (metadata.controller_node(), 1),
            heartbeat_answered: true,
            controlled_shutdown: false,
            shutdown_answered: false,
            stopped_cleanly: false,
            replicas: (0..n as u32).map(|p| Self::empty_replica(&metadata, p)).collect(),
            states,
            fenced: vec![false; metadata.brokers as usize],
            delayed: Vec::new(),
            produce_expiry_at: None,
            parked: Vec::new(),
            fetch_expiry_at: None,
            fetchers: vec![Fetcher::default(); metadata.brokers as usize],
            next_request_id: 0,
            checks_scratch: Vec::new(),
            appended_scratch: Vec::new(),
            spare_parts: Spares::default(),
            group_offsets,
            metadata,
            stats: BrokerStats::default(),
            coordinator,
            txn,
            produce_quotas: Vec::new(),
            fetch_quotas: Vec::new(),
            replication_quota: settings.leader_replication_throttled_rate.map(ByteRateQuota::new),
            replication_throttled: false,
            follower_quota: settings.follower_replication_throttled_rate.map(ByteRateQuota::new),
        }
    }

    /// The `producer_byte_rate` quotas, by client node index (`None`: no quota).
    pub fn set_produce_quotas(&mut self, quotas: &[Option<u64>]) {
        self.produce_quotas = quotas.iter().map(|q| q.map(ByteRateQuota::new)).collect();
    }

    /// The `consumer_byte_rate` quotas, by client node index (`None`: no quota).
    pub fn set_fetch_quotas(&mut self, quotas: &[Option<u64>]) {
        self.fetch_quotas = quotas.iter().map(|q| q.map(ByteRateQuota::new)).collect();
    }

    /// Whether this broker leads partition `p` now.
    pub fn leads(&self, p: u32) -> bool {
        self.replicas[p as usize].is_leader(self.id)
    }

    /// The partition's state as this broker knows it.
    pub fn state(&self, p: u32) -> &PartitionState {
        &self.states[p as usize]
    }

    /// Whether this broker holds a replica of `p` in its metadata now (a reassignment changes
    /// that during the run).
    fn is_replica(&self, p: u32) -> bool {
        self.states[p as usize].replicas.contains(&self.id)
    }

    /// A replica of `p` as a broker that never hosted it has one: an empty log.
    fn empty_replica(metadata: &Metadata, p: u32) -> Replica {
        let mut r = Replica { min_isr: metadata.effective_min_isr(p), ..Replica::default() };
        if let Some(c) = metadata.topic_of(p).compaction {
            r.log.keep_segments(c.segment_bytes, c.segment_ms);
        }
        r
    }

    fn error(&mut self, e: KafkaError) {
        *self.stats.errors.entry(e.name()).or_default() += 1;
    }

    // ----- lifecycle -------------------------------------------------------------------------

    /// First start: take the initial partition states and start the periodic tasks.
    pub fn on_start(&mut self, ctx: &mut Ctx) {
        let states = self.states.clone();
        self.apply_states(&states, ctx);
        self.start_timers(ctx);
    }

    fn start_timers(&mut self, ctx: &mut Ctx) {
        self.send_heartbeat(ctx);
        ctx.set_timer(SimDuration::from_ms(self.heartbeat_ms), Timer::Heartbeat);
        ctx.set_timer(SimDuration::from_ms((self.settings.replica_lag_time_max_ms / 2).max(1)), Timer::IsrExpiration);
        ctx.set_timer(
            SimDuration::from_ms(self.settings.replica_high_watermark_checkpoint_interval_ms.max(1)),
            Timer::HighWatermarkCheckpoint,
        );
        ctx.set_timer(SimDuration::from_ms(1000), Timer::RequestTimeouts);
        // `LogManager` schedules its retention task on every broker; only a topic retention can
        // act on within the run needs it here (the others would never delete a thing).
        if self.metadata.topics.iter().any(|t| t.retention.is_some()) {
            ctx.set_timer(SimDuration::from_ms(self.settings.log_retention_check_interval_ms), Timer::LogRetention);
        }
        if self.txn.active() {
            ctx.set_timer(self.txn.cleanup_interval(), Timer::TxnTimeoutCheck);
        }
        self.start_log_cleaner(ctx);
    }

    /// The process dies: everything in memory is gone. The logs stay (the page cache survives a
    /// process crash); `power_loss` also drops what was never written back or flushed.
    pub fn crash(&mut self, power_loss: bool, now: SimTime) -> Vec<TruncationEvent> {
        let mut lost = Vec::new();
        for q in self
            .produce_quotas
            .iter_mut()
            .chain(self.fetch_quotas.iter_mut())
            .flatten()
            .chain(&mut self.replication_quota)
        {
            q.restart();
        }
        let writeback = SimDuration::from_ms(self.settings.page_cache_writeback_ms);
        for (p, r) in self.replicas.iter_mut().enumerate() {
            if power_loss {
                let removed = r.log.lose_unwritten(now, writeback, self.settings.log_flush_interval_ms);
                if !removed.is_empty() {
                    lost.push(TruncationEvent {
                        at: now,
                        partition: p as u32,
                        broker: self.id,
                        to_offset: r.log.log_end_offset(),
                        records_removed: removed.iter().map(|b| b.batch.record_count()).sum(),
                        reason: "power loss: not yet on disk",
                        batches: removed.iter().map(|b| crate::check::History::id(&b.batch)).collect(),
                        ranges: removed.iter().map(|b| (b.base_offset, b.batch.offset_count())).collect(),
                    });
                }
            }
            r.state = None;
            r.followers.clear();
            r.fetching_from = None;
            r.alter_in_flight = false;
            r.high_watermark = r.hw_checkpoint.min(r.log.log_end_offset());
        }
        self.delayed.clear();
        self.parked.clear();
        self.produce_expiry_at = None;
        self.fetch_expiry_at = None;
        self.fetchers.iter_mut().for_each(|f| *f = Fetcher::default());
        self.metadata_version = 0;
        self.incarnation += 1;
        self.coordinator.crash();
        self.txn.crash(self.id);
        self.controlled_shutdown = false;
        self.shutdown_answered = false;
        self.stopped_cleanly = false;
        lost
    }

    /// The requests this broker holds unanswered, in its produce and fetch purgatories and as a
    /// group or transaction coordinator: when its process ends, their connections close and
    /// their senders learn of it.
    pub fn held_requests(&self) -> Vec<(NodeId, u64)> {
        let produces = self.delayed.iter().map(|d| (d.from, d.request_id));
        let mut held: Vec<(NodeId, u64)> = produces.chain(self.parked.iter().map(|f| (f.from, f.request_id))).collect();
        held.extend(self.coordinator.held_requests(self.id));
        held.extend(self.txn.held_requests(self.id));
        held
    }

    /// SIGTERM: the broker asks the controller for a controlled shutdown at once
    /// (`BrokerLifecycleManager.beginControlledShutdown`) and keeps serving until the controller
    /// has moved its leaderships away and says it may go.
    pub fn begin_controlled_shutdown(&mut self, ctx: &mut Ctx) {
        if self.controlled_shutdown {
            return;
        }
        self.controlled_shutdown = true;
        self.shutdown_answered = false;
        ctx.notable("controlled_shutdown", || "asking the controller to move this broker's leaderships".into());
        self.send_heartbeat(ctx);
    }

    /// The process exits at the end of a controlled shutdown. Its memory goes as in a crash;
    /// the logs were flushed (`LogManager.shutdown`), so nothing is lost, and the next
    /// registration says the shutdown was clean.
    pub fn shut_down_cleanly(&mut self) {
        self.crash(false, SimTime::ZERO);
        self.stopped_cleanly = true;
    }

    /// Starts again after a crash: recover, rebuild producer state, register with the controller.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        for p in 0..self.replicas.len() {
            self.rebuild_producer_state(p);
        }
        ctx.notable("restart", || format!("incarnation={} registering with the controller", self.incarnation));
        self.heartbeat_answered = true;
        self.start_timers(ctx);
    }

    fn rebuild_producer_state(&mut self, p: usize) {
        let r = &mut self.replicas[p];
        r.producers.clear();
        let batches: Vec<(u64, Rc<RecordBatch>)> = r.log.batches().map(|b| (b.base_offset, b.batch.clone())).collect();
        for (offset, b) in batches {
            Self::note_producer(r, &b, offset);
        }
    }

    // Always inline: it runs for every batch a leader or follower appends, and its body is a few
    // comparisons and stores (the call itself cost as much).
    #[inline(always)]
    fn note_producer(r: &mut Replica, b: &RecordBatch, offset: u64) {
        if !b.idempotent {
            return;
        }
        let i = b.producer as usize;
        if r.producers.len() <= i {
            r.producers.resize_with(i + 1, || None);
        }
        let e = r.producers[i].get_or_insert_with(ProducerEntry::default);
        if b.producer_epoch != e.epoch {
            *e = ProducerEntry { epoch: b.producer_epoch, ..Default::default() };
        }
        if b.control.is_some() {
            // A marker carries no sequence (`RecordBatch.NO_SEQUENCE`): it only moves the epoch
            // (a marker of a bumped epoch fences the producer's older one).
            return;
        }
        // The batch header's last sequence (`lastOffsetDelta`): a batch the log cleaner emptied
        // keeps it (`RETAIN_EMPTY`), so the producer's state survives cleaning.
        e.last_sequence = b.base_sequence + b.offset_count() - 1;
        e.recent.push((b.base_sequence, offset));
    }

    fn send_heartbeat(&mut self, ctx: &mut Ctx) {
        if !self.heartbeat_answered && self.metadata.controllers > 1 {
            // No answer: the controller may be gone. Ask the next one, which names the leader
            // if it is not (Kafka's brokers find it through the metadata log's quorum).
            let first = self.metadata.controller_node().0;
            let next = first + (self.controller.0.0 - first + 1) % self.metadata.controllers;
            self.controller.0 = NodeId(next);
        }
        self.heartbeat_answered = false;
        ctx.send(
            self.controller.0,
            Message::BrokerHeartbeat {
                broker: self.id,
                incarnation: self.incarnation,
                metadata_version: self.metadata_version,
                want_shut_down: self.controlled_shutdown,
                clean_shutdown: self.stopped_cleanly,
            },
        );
    }

    // ----- metadata and roles ----------------------------------------------------------------

    /// A new active controller (a quorum's election): heartbeats and ISR changes go to it from
    /// now on, and the whole state it sends brings this broker up to date.
    #[cold]
    #[inline(never)]
    fn on_controller_change(
        &mut self,
        from: NodeId,
        epoch: u32,
        metadata_version: u64,
        states: &[PartitionState],
        fenced_brokers: &[u32],
        ctx: &mut Ctx,
    ) {
        if epoch < self.controller.1 {
            return;
        }
        self.controller = (from, epoch);
        self.metadata_version = metadata_version;
        self.set_fenced(fenced_brokers);
        self.apply_states(states, ctx);
        // An ISR change in flight went to the old controller: propose it again now.
        for r in &mut self.replicas {
            r.alter_in_flight = false;
        }
    }

    /// Applies partition states from the controller: become leader, follower, or neither.
    fn apply_states(&mut self, changes: &[PartitionState], ctx: &mut Ctx) {
        // Leaders to fetch from once every change is applied (`ReplicaManager.applyDelta` adds
        // all of a delta's new followers to the fetchers at once): one fetch then carries every
        // partition this broker now follows from that leader.
        let mut fetch_from: Vec<u32> = Vec::new();
        let mut created: Vec<u32> = Vec::new();
        for s in changes {
            let p = s.partition;
            let known = &self.states[p as usize];
            let stale = (s.leader_epoch, s.partition_epoch) < (known.leader_epoch, known.partition_epoch);
            if stale && self.replicas[p as usize].state.is_some() {
                continue;
            }
            if !known.exists() && s.exists() {
                created.push(p);
            }
            self.states[p as usize] = s.clone();
            if self.is_replica(p) {
                if let Some(l) = self.apply_replica_state(s.clone(), ctx)
                    && !fetch_from.contains(&l)
                {
                    fetch_from.push(l);
                }
            } else if self.replicas[p as usize].state.is_some() || self.replicas[p as usize].log.log_end_offset() > 0 {
                self.stop_replica(p, ctx);
            }
        }
        if !created.is_empty() {
            self.partitions_created(&created, ctx);
        }
        for l in fetch_from {
            self.fetch_from(l, ctx);
        }
    }

    /// A reassignment removed this broker from `p`'s replicas (`ReplicaManager.applyDelta` →
    /// `stopPartitions` with `deletePartition`): it stops fetching or leading and deletes its
    /// copy of the log.
    #[cold]
    #[inline(never)]
    fn stop_replica(&mut self, p: u32, ctx: &mut Ctx) {
        if self.replicas[p as usize].is_leader(self.id) {
            self.fail_delayed_for(p, KafkaError::NotLeaderOrFollower, ctx);
        }
        let was_leader = self.replicas[p as usize].is_leader(self.id);
        let old = std::mem::replace(&mut self.replicas[p as usize], Self::empty_replica(&self.metadata, p));
        if was_leader {
            self.complete_parked_for(p, ctx);
        }
        let records: u64 = old.log.batches().map(|b| b.batch.record_count()).sum();
        ctx.notable("stop_replica", || {
            format!(
                "{} no longer hosted here: replica stopped, log deleted ({records} records, offsets {}..{})",
                self.metadata.partition_name(p),
                old.log.log_start_offset(),
                old.log.log_end_offset()
            )
        });
    }

    /// `UnifiedLog.fetchOffsetByTimestamp` for a consumer: the first offset below the high
    /// watermark whose record's timestamp (its creation time, `CreateTime`) is at or after `t`.
    /// With none, Kafka answers `UNKNOWN_OFFSET` and the consumer asks again a request timeout
    /// later; here the answer is the high watermark, where that consumer would start anyway
    /// (every record it would skip is older than its target).
    #[cold]
    #[inline(never)]
    fn offset_for_timestamp(r: &Replica, t: SimTime) -> u64 {
        for b in r.log.batches() {
            if b.base_offset >= r.high_watermark {
                break;
            }
            if let Some(i) = b.batch.record_times.iter().position(|&c| c >= t) {
                return (b.base_offset + b.batch.offset_delta(i)).min(r.high_watermark);
            }
        }
        r.high_watermark
    }

    /// A group request, for the group coordinator role.
    #[inline(never)] // out of the produce and fetch paths
    fn on_group_request(
        &mut self,
        from: NodeId,
        request_id: u64,
        group: u32,
        body: crate::protocol::GroupRequest,
        ctx: &mut Ctx,
    ) {
        let (states, metadata) = (&self.states, &self.metadata);
        // A topic's partition count as this broker's metadata has it (by its first partition).
        let count = |first: u32| {
            let t = metadata.topic_of(first);
            (t.first..t.first + t.partitions).filter(|&q| states[q as usize].exists()).count() as u32
        };
        self.coordinator.on_request(self.id, &self.fenced, &count, from, request_id, group, body, ctx)
    }

    /// A client's metadata request: every partition's leader and epoch, as this broker knows them.
    /// Partitions not created yet are not in the answer.
    #[cold]
    #[inline(never)]
    fn answer_metadata(&mut self, from: NodeId, request_id: u64, ctx: &mut Ctx) {
        let leaders =
            self.states.iter().filter(|s| s.exists()).map(|s| (s.partition, s.leader, s.leader_epoch)).collect();
        ctx.send(from, Message::MetadataResponse { request_id, leaders });
    }

    /// Partitions an operator added now exist in this broker's metadata (one delta): groups of
    /// the consumer protocol that read their topics see the new counts.
    #[cold]
    fn partitions_created(&mut self, created: &[u32], ctx: &mut Ctx) {
        let mut topics: Vec<u32> = created.iter().map(|&p| self.metadata.partition_topic[p as usize]).collect();
        topics.dedup();
        for t in topics {
            let t = &self.metadata.topics[t as usize];
            let count = (t.first..t.first + t.partitions).filter(|&q| self.states[q as usize].exists()).count() as u32;
            self.coordinator.topic_grew(self.id, t.first, count, ctx);
        }
    }

    /// Applies one partition's new state to this broker's replica; returns the leader to fetch
    /// from if it now follows one.
    fn apply_replica_state(&mut self, s: PartitionState, ctx: &mut Ctx) -> Option<u32> {
        let p = s.partition;
        let me = self.id;
        let now = ctx.now();
        let was_leader = self.replicas[p as usize].is_leader(me);
        let old_epoch = self.replicas[p as usize].state.as_ref().map(|o| o.leader_epoch);
        let new_epoch = old_epoch != Some(s.leader_epoch);
        let r = &mut self.replicas[p as usize];
        match s.leader {
            Some(l) if l == me => {
                if new_epoch || !was_leader {
                    // Partition.makeLeader: assign the epoch at our LEO; followers in the ISR
                    // count as caught up now.
                    let leo = r.log.log_end_offset();
                    r.log.assign_epoch(s.leader_epoch, leo);
                    r.epoch_start_offset = leo;
                    r.fetching_from = None;
                    r.truncate_to_hw_pending = false;
                    r.epoch_lookup_pending = false;
                    r.followers = s
                        .replicas
                        .iter()
                        .filter(|&&b| b != me)
                        .map(|&b| FollowerView {
                            broker: b,
                            in_isr: false, // set below, with the state
                            log_end_offset: 0,
                            last_caught_up: if s.isr.contains(&b) { now } else { SimTime::ZERO },
                            last_fetch_leader_leo: 0,
                            last_fetch_time: SimTime::ZERO,
                        })
                        .collect();
                    r.alter_in_flight = false;
                    ctx.notable("become_leader", || {
                        format!(
                            "{} epoch={} isr={:?} leo={leo} hw={}",
                            self.metadata.partition_name(p),
                            s.leader_epoch,
                            s.isr,
                            r.high_watermark
                        )
                    });
                }
                if r.followers.len() + 1 != s.replicas.len()
                    || r.followers.iter().any(|f| !s.replicas.contains(&f.broker))
                {
                    // A reassignment changed the replicas (same epoch): drop the views of removed
                    // ones, start new ones from nothing (`Partition.updateAssignmentAndIsr`).
                    r.followers.retain(|f| s.replicas.contains(&f.broker));
                    for &b in s.replicas.iter().filter(|&&b| b != me) {
                        if !r.followers.iter().any(|f| f.broker == b) {
                            r.followers.push(FollowerView {
                                broker: b,
                                in_isr: false,
                                log_end_offset: 0,
                                last_caught_up: SimTime::ZERO,
                                last_fetch_leader_leo: 0,
                                last_fetch_time: SimTime::ZERO,
                            });
                        }
                    }
                }
                for f in &mut r.followers {
                    f.in_isr = s.isr.contains(&f.broker);
                }
                r.state = Some(s);
            }
            leader => {
                if was_leader {
                    self.fail_delayed_for(p, KafkaError::NotLeaderOrFollower, ctx);
                }
                let r = &mut self.replicas[p as usize];
                let following = r.fetching_from;
                r.followers.clear();
                r.state = Some(s.clone());
                r.fetching_from = leader;
                r.last_epoch_unknown_to_leader = false;
                if leader.is_some() && (new_epoch || following != leader) {
                    match self.settings.truncation {
                        Truncation::HighWatermark => r.truncate_to_hw_pending = true,
                        Truncation::LeaderEpochBeforeKip279 => r.epoch_lookup_pending = true,
                        Truncation::LeaderEpoch => {}
                    }
                    ctx.notable("become_follower", || {
                        format!(
                            "{} leader=broker-{} epoch={}",
                            self.metadata.partition_name(p),
                            leader.unwrap_or(0),
                            s.leader_epoch
                        )
                    });
                }
                self.maybe_increment_hw(p, ctx);
                if was_leader {
                    self.complete_parked_for(p, ctx);
                }
                return leader;
            }
        }
        self.maybe_increment_hw(p, ctx);
        None
    }

    fn set_fenced(&mut self, fenced: &[u32]) {
        for (b, f) in self.fenced.iter_mut().enumerate() {
            *f = fenced.contains(&(b as u32));
        }
    }

    // ----- message handling ------------------------------------------------------------------

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::ProduceRequest { request_id, acks, timeout_ms, batches } => {
                self.on_produce(from, request_id, acks, timeout_ms, batches, ctx)
            }
            Message::FetchRequest {
                request_id,
                replica,
                group,
                partitions,
                min_bytes,
                max_wait_ms,
                max_partition_bytes,
                read_committed,
            } => {
                self.stats.fetch_requests += 1;
                if replica.is_none() {
                    for f in &partitions {
                        self.note_group_offset(f.partition, group, f.fetch_offset);
                    }
                }
                let fetch = ParkedFetch {
                    deadline: ctx.now() + SimDuration::from_ms(max_wait_ms),
                    from,
                    request_id,
                    replica,
                    partitions,
                    min_bytes,
                    max_partition_bytes,
                    read_committed,
                };
                self.on_fetch(fetch, max_wait_ms, ctx);
            }
            Message::FetchResponse { request_id, partitions, batches } => {
                self.on_fetch_response(from, request_id, partitions, batches, ctx)
            }
            Message::Disconnected { request_id } if self.txn.owns_request(request_id) => {
                self.txn.on_disconnected(request_id, ctx);
            }
            Message::Disconnected { request_id } => {
                // The leader's process is gone: back off, then fetch again (from whichever
                // broker leads by then).
                let leader = from.0 as usize;
                if let Some(fetcher) = self.fetchers.get_mut(leader)
                    && fetcher.outstanding.map(|o| o.0) == Some(request_id)
                {
                    fetcher.outstanding = None;
                    fetcher.backoff_until = ctx.now() + SimDuration::from_ms(self.settings.replica_fetch_backoff_ms);
                    self.fetch_from(leader as u32, ctx);
                }
            }
            Message::GroupRequest { request_id, group, body } => {
                self.on_group_request(from, request_id, group, *body, ctx)
            }
            msg @ (Message::TxnRequest { .. }
            | Message::WriteTxnMarkers { .. }
            | Message::WriteTxnMarkersResponse { .. }) => self.on_txn_message(from, msg, ctx),
            Message::ListOffsetsRequest { request_id, partitions } => {
                // `ListOffsets` from the leader: the log start offset, or the high watermark.
                let offsets = partitions
                    .into_iter()
                    .map(|(p, spec)| {
                        let r = &self.replicas[p as usize];
                        let result = match (r.is_leader(self.id), spec) {
                            (false, _) => Err(KafkaError::NotLeaderOrFollower),
                            (true, OffsetSpec::Earliest) => Ok(r.log.log_start_offset()),
                            (true, OffsetSpec::Latest) => Ok(r.high_watermark),
                            (true, OffsetSpec::Timestamp(t)) => Ok(Self::offset_for_timestamp(r, t)),
                        };
                        (p, result)
                    })
                    .collect();
                ctx.send(from, Message::ListOffsetsResponse { request_id, offsets });
            }
            Message::OffsetsForLeaderEpochRequest { request_id, partitions } => {
                let partitions = partitions.iter().map(|q| (q.partition, self.epoch_end_for_consumer(q))).collect();
                ctx.send(from, Message::OffsetsForLeaderEpochResponse { request_id, partitions });
            }
            Message::MetadataRequest { request_id } => self.answer_metadata(from, request_id, ctx),
            Message::MetadataUpdate { metadata_version, changes, fenced_brokers } => {
                // The metadata log in order: a gap (an update lost on a cut link) leaves our
                // version behind, so the next heartbeat response brings the whole state.
                if metadata_version == self.metadata_version + 1 {
                    self.metadata_version = metadata_version;
                }
                self.set_fenced(&fenced_brokers);
                self.apply_states(&changes, ctx);
            }
            Message::BrokerHeartbeatResponse { metadata_version, changes, fenced_brokers, should_shut_down } => {
                self.heartbeat_answered = true;
                if !changes.is_empty() {
                    self.metadata_version = metadata_version;
                }
                self.set_fenced(&fenced_brokers);
                self.apply_states(&changes, ctx);
                if self.controlled_shutdown {
                    if should_shut_down {
                        ctx.exit();
                    } else if !self.shutdown_answered {
                        // `BrokerLifecycleManager`: after the first "not yet", ask again in 50 ms
                        // rather than at the next heartbeat.
                        self.shutdown_answered = true;
                        ctx.set_timer(SimDuration::from_ms(50), Timer::ShutdownHeartbeat);
                    }
                }
            }
            Message::ControllerChange { epoch, metadata_version, states, fenced_brokers } => {
                self.on_controller_change(from, epoch, metadata_version, &states, &fenced_brokers, ctx)
            }
            Message::NotController { epoch, leader } => {
                self.heartbeat_answered = true;
                if let Some(leader) = leader.filter(|&l| epoch >= self.controller.1 && l != self.controller.0) {
                    // `NOT_CONTROLLER` names the leader: ask it at once.
                    self.controller = (leader, epoch);
                    self.send_heartbeat(ctx);
                }
            }
            Message::AlterPartitionResponse { partition, result } => {
                self.replicas[partition as usize].alter_in_flight = false;
                if let Ok(s) = result {
                    self.apply_states(&[*s], ctx);
                }
            }
            other => ctx.notable("unexpected", || format!("{} from node {}", other.kind(), from.0)),
        }
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        let now = ctx.now();
        match timer {
            Timer::Heartbeat => {
                self.send_heartbeat(ctx);
                ctx.set_timer(SimDuration::from_ms(self.heartbeat_ms), Timer::Heartbeat);
            }
            Timer::ShutdownHeartbeat if self.controlled_shutdown => self.send_heartbeat(ctx),
            Timer::GroupDeadline { group } => self.coordinator.on_deadline(self.id, group, ctx),
            Timer::IsrExpiration => {
                self.expire_alter_partitions(ctx);
                self.maybe_shrink_isr(ctx);
                ctx.set_timer(
                    SimDuration::from_ms((self.settings.replica_lag_time_max_ms / 2).max(1)),
                    Timer::IsrExpiration,
                );
            }
            Timer::HighWatermarkCheckpoint => {
                for r in &mut self.replicas {
                    r.hw_checkpoint = r.high_watermark;
                }
                ctx.set_timer(
                    SimDuration::from_ms(self.settings.replica_high_watermark_checkpoint_interval_ms.max(1)),
                    Timer::HighWatermarkCheckpoint,
                );
            }
            Timer::LogCleaner => self.run_log_cleaner(ctx),
            Timer::LogRetention => {
                self.delete_old_segments(ctx);
                ctx.set_timer(SimDuration::from_ms(self.settings.log_retention_check_interval_ms), Timer::LogRetention);
            }
            Timer::RequestTimeouts => {
                // Follower fetches unanswered for the request timeout: give up, back off, retry.
                for l in 0..self.fetchers.len() {
                    if let Some((_, sent)) = self.fetchers[l].outstanding
                        && now.since(sent) >= self.request_timeout
                    {
                        self.fetchers[l].outstanding = None;
                        self.fetchers[l].backoff_until = now;
                        self.fetch_from(l as u32, ctx);
                    }
                }
                self.txn.expire(ctx);
                ctx.set_timer(SimDuration::from_ms(1000), Timer::RequestTimeouts);
            }
            Timer::FetchExpire if self.fetch_expiry_at == Some(now) => {
                self.fetch_expiry_at = None;
                let (due, keep): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut self.parked).into_iter().partition(|f| f.deadline <= now);
                self.parked = keep;
                for f in due {
                    self.respond_fetch(&f, ctx);
                    ctx.fetch_buffers().requests.give_back(f.partitions);
                }
                if let Some(next) = self.parked.iter().map(|f| f.deadline).min() {
                    self.arm_fetch_expiry(next, ctx);
                }
            }
            Timer::ProduceExpire if self.produce_expiry_at == Some(now) => {
                self.produce_expiry_at = None;
                let (due, keep): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut self.delayed).into_iter().partition(|d| d.deadline <= now);
                self.delayed = keep;
                for mut d in due {
                    for part in &mut d.parts {
                        if part.2.is_some() {
                            part.1 = Err(KafkaError::RequestTimedOut);
                            part.2 = None;
                            self.error(KafkaError::RequestTimedOut);
                        }
                    }
                    self.respond_produce(d, ctx);
                }
                if let Some(next) = self.delayed.iter().map(|d| d.deadline).min() {
                    self.arm_produce_expiry(next, ctx);
                }
            }
            Timer::FetchRetry { broker } => self.fetch_from(broker.0, ctx),
            Timer::TxnTimeoutCheck => {
                self.txn.on_timeout_check(self.id, &self.fenced, &self.states, ctx);
                ctx.set_timer(self.txn.cleanup_interval(), Timer::TxnTimeoutCheck);
            }
            Timer::TxnMarkerRetry { producer } => self.txn.on_retry(self.id, producer, &self.states, ctx),
            _ => {}
        }
    }

    // ----- produce ---------------------------------------------------------------------------

    fn on_produce(
        &mut self,
        from: NodeId,
        request_id: u64,
        acks: Acks,
        timeout_ms: u64,
        batches: Vec<(u32, Rc<RecordBatch>)>,
        ctx: &mut Ctx,
    ) {
        self.stats.produce_requests += 1;
        let now = ctx.now();
        // `RequestChannel.Request.sizeInBytes` (as `Message::size_bytes` counts it).
        let size_bytes = 64 + batches.iter().map(|(_, b)| b.size_bytes as u64).sum::<u64>();
        let mut parts = self.spare_parts.take();
        let mut appended = std::mem::take(&mut self.appended_scratch);
        appended.clear();
        for (p, batch) in batches {
            let result = self.append_as_leader(p, &batch, acks, now, ctx);
            if let Err(e) = result {
                self.error(e);
            }
            let wait = match (acks, result) {
                (Acks::All, Ok(base)) => Some(base + batch.record_count()),
                _ => None,
            };
            if result.is_ok() {
                appended.push(p);
            }
            parts.push((p, result, wait));
        }
        for &p in &appended {
            self.maybe_increment_leader_hw(p, ctx);
        }
        let deadline = now + SimDuration::from_ms(timeout_ms);
        let mut d = DelayedProduce { from, request_id, size_bytes, deadline, parts, markers: false };
        self.settle(&mut d);
        if acks == Acks::Zero {
            // no response
        } else if d.parts.iter().all(|part| part.2.is_none()) {
            self.respond_produce(d, ctx);
        } else {
            let deadline = d.deadline;
            self.delayed.push(d);
            self.arm_produce_expiry(deadline, ctx);
        }
        if !self.parked.is_empty() && !appended.is_empty() {
            self.complete_parked(&appended, ctx);
        }
        self.appended_scratch = appended;
    }

    /// `Partition.appendRecordsToLeader` with idempotence checks.
    #[inline(always)]
    fn append_as_leader(
        &mut self,
        p: u32,
        batch: &Rc<RecordBatch>,
        acks: Acks,
        now: SimTime,
        ctx: &mut Ctx,
    ) -> Result<u64, KafkaError> {
        if !self.leads(p) {
            return Err(KafkaError::NotLeaderOrFollower);
        }
        let r = &mut self.replicas[p as usize];
        let state = r.state.as_ref().expect("a leader knows its state");
        if acks == Acks::All && state.isr.len() < r.min_isr {
            return Err(KafkaError::NotEnoughReplicas);
        }
        if batch.transactional
            && let Some(Some(e)) = r.producers.get(batch.producer as usize)
            && batch.producer_epoch < e.epoch
        {
            // `ProducerAppendInfo.checkProducerEpoch`: a write of a fenced (older) epoch.
            return Err(KafkaError::InvalidProducerEpoch);
        }
        if batch.idempotent
            && batch.control.is_none()
            && let Some(Some(e)) = r.producers.get(batch.producer as usize)
            && e.epoch == batch.producer_epoch
            && e.recent.len > 0
        {
            // (An epoch only a marker has shown yet has no sequence: its first batch starts one.)
            if let Some(&(_, offset)) = e.recent.iter().find(|(seq, _)| *seq == batch.base_sequence) {
                ctx.detail("duplicate", || {
                    format!("producer {} seq {} already at offset {offset}", batch.producer, batch.base_sequence)
                });
                return Ok(offset);
            }
            if batch.base_sequence != e.last_sequence + 1 {
                return Err(KafkaError::OutOfOrderSequenceNumber);
            }
        }
        let epoch = state.leader_epoch;
        let base = r.log.append(epoch, batch.clone(), now);
        Self::note_producer(r, batch, base);
        Ok(base)
    }

    /// Resolves the parts of a delayed produce that the high watermark now covers.
    fn settle(&self, d: &mut DelayedProduce) {
        Self::settle_parts(self.id, &self.replicas, &mut d.parts);
    }

    fn settle_parts(me: u32, replicas: &[Replica], parts: &mut [ProducePart]) {
        for part in parts {
            if let Some(required) = part.2 {
                let r = &replicas[part.0 as usize];
                if !r.is_leader(me) {
                    part.1 = Err(KafkaError::NotLeaderOrFollower);
                    part.2 = None;
                } else if r.high_watermark >= required {
                    // Partition.checkEnoughReplicasReachOffset
                    let isr = r.state.as_ref().map_or(0, |s| s.isr.len());
                    if isr < r.min_isr {
                        part.1 = Err(KafkaError::NotEnoughReplicasAfterAppend);
                    }
                    part.2 = None;
                }
            }
        }
    }

    fn respond_produce(&mut self, d: DelayedProduce, ctx: &mut Ctx) {
        if d.markers {
            let results = d.parts.iter().map(|(p, r, _)| (*p, r.err())).collect();
            ctx.send(d.from, Message::WriteTxnMarkersResponse { request_id: d.request_id, results });
            self.spare_parts.give_back(d.parts);
            return;
        }
        let results: Vec<(u32, Result<u64, KafkaError>)> = d.parts.iter().map(|(p, r, _)| (*p, *r)).collect();
        for (p, r) in &results {
            if let Err(e @ KafkaError::NotEnoughReplicasAfterAppend) = r {
                let _ = p;
                self.error(*e);
            }
        }
        // `KafkaApis.handleProduceRequest`'s response callback: the bytes count against the
        // client's quota now, and the response says how long to hold off.
        let throttle_ms = match self.produce_quotas.get_mut(d.from.index()) {
            Some(Some(q)) => {
                let now_ms = (ctx.now().0 / 1_000_000) as i64;
                q.record_and_get_throttle_ms(d.size_bytes, now_ms)
            }
            _ => 0,
        };
        if throttle_ms > 0 {
            ctx.detail("throttle", || format!("node {} throttled for {throttle_ms} ms (producer_byte_rate)", d.from.0));
        }
        ctx.send(d.from, Message::ProduceResponse { request_id: d.request_id, results, throttle_ms });
        self.spare_parts.give_back(d.parts);
    }

    /// Answers the delayed produces that are now complete: those waiting on `partition` (whose
    /// high watermark moved), or all of them (`None`: leadership changed). Answers go out in the
    /// order the requests arrived.
    fn complete_delayed(&mut self, partition: Option<u32>, ctx: &mut Ctx) {
        let Some(p) = partition else {
            let mut delayed = std::mem::take(&mut self.delayed);
            let (me, replicas) = (self.id, &self.replicas);
            let done: Vec<DelayedProduce> = delayed
                .extract_if(.., |d| {
                    Self::settle_parts(me, replicas, &mut d.parts);
                    d.parts.iter().all(|part| part.2.is_none())
                })
                .collect();
            self.delayed = delayed;
            for d in done {
                self.respond_produce(d, ctx);
            }
            return;
        };
        // Only `p`'s parts can settle now: a part on another partition settled when that
        // partition's high watermark last moved (or failed when its leadership went), so what is
        // still waiting there keeps waiting. `p` is led here (the caller checked), so a waiting
        // part of `p` settles exactly when the high watermark covers it (as `settle_parts`).
        let r = &self.replicas[p as usize];
        let hw = r.high_watermark;
        let enough_isr = r.state.as_ref().map_or(0, |s| s.isr.len()) >= r.min_isr;
        // In place, answering as it goes: a plain index walk (requests are few, and answering
        // one does not touch the others).
        let mut i = 0;
        while i < self.delayed.len() {
            let d = &mut self.delayed[i];
            let mut touched = false;
            let mut waiting = false;
            for part in &mut d.parts {
                let Some(required) = part.2 else { continue };
                if part.0 != p {
                    waiting = true;
                    continue;
                }
                touched = true;
                if hw >= required {
                    // Partition.checkEnoughReplicasReachOffset
                    if !enough_isr {
                        part.1 = Err(KafkaError::NotEnoughReplicasAfterAppend);
                    }
                    part.2 = None;
                } else {
                    waiting = true;
                }
            }
            if touched && !waiting {
                let d = self.delayed.remove(i);
                self.respond_produce(d, ctx);
            } else {
                i += 1;
            }
        }
    }

    fn fail_delayed_for(&mut self, p: u32, e: KafkaError, ctx: &mut Ctx) {
        for d in &mut self.delayed {
            for part in &mut d.parts {
                if part.0 == p && part.2.is_some() {
                    part.1 = Err(e);
                    part.2 = None;
                }
            }
        }
        self.complete_delayed(None, ctx);
    }

    fn arm_produce_expiry(&mut self, deadline: SimTime, ctx: &mut Ctx) {
        if self.produce_expiry_at.is_none_or(|armed| deadline < armed) {
            self.produce_expiry_at = Some(deadline);
            ctx.set_timer_at(deadline, Timer::ProduceExpire);
        }
    }

    // ----- high watermark and ISR (leader) ----------------------------------------------------

    /// `Partition.maybeIncrementLeaderHW` (kafka-reference §3.4), if this broker leads `p`.
    fn maybe_increment_hw(&mut self, p: u32, ctx: &mut Ctx) {
        if self.leads(p) {
            self.maybe_increment_leader_hw(p, ctx);
        }
    }

    /// As [`Broker::maybe_increment_hw`] for a partition the caller knows this broker leads (it
    /// just appended to it as leader, or checked a follower's fetch of it).
    fn maybe_increment_leader_hw(&mut self, p: u32, ctx: &mut Ctx) {
        let r = &mut self.replicas[p as usize];
        let leo = r.log.log_end_offset();
        if leo <= r.high_watermark {
            return; // the high watermark is at the log end already: it cannot move
        }
        let now = ctx.now();
        let lag_max = SimDuration::from_ms(self.settings.replica_lag_time_max_ms);
        if self.settings.high_watermark_waits_for_min_isr
            && r.state.as_ref().expect("leader state").isr.len() < r.min_isr
        {
            return; // KAFKA-15583 (3.7+): no progress while the ISR is below min.insync.replicas
        }
        let mut new_hw = leo;
        for f in &r.followers {
            if f.log_end_offset >= new_hw {
                continue; // cannot hold the high watermark back (the cheap test first)
            }
            // An ISR member holds the high watermark back; so does a caught-up follower that
            // could join (isReplicaIsrEligible: a fenced broker cannot join, so it cannot).
            let holds_back = f.in_isr
                || ((f.log_end_offset == leo || now.since(f.last_caught_up) <= lag_max)
                    && !self.fenced[f.broker as usize]
                    && f.log_end_offset >= r.epoch_start_offset
                    && f.last_caught_up > SimTime::ZERO);
            if holds_back {
                new_hw = f.log_end_offset;
            }
        }
        if new_hw > r.high_watermark {
            r.high_watermark = new_hw;
            self.complete_delayed(Some(p), ctx);
            self.trim_committed(p, ctx);
            if !self.parked.is_empty() {
                self.complete_parked(&[p], ctx);
            }
        }
    }

    /// ISR expiration task: propose removing followers that are not caught up (§3.5).
    fn maybe_shrink_isr(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let lag_max = SimDuration::from_ms(self.settings.replica_lag_time_max_ms);
        for p in 0..self.replicas.len() as u32 {
            if !self.leads(p) || self.replicas[p as usize].alter_in_flight {
                continue;
            }
            let r = &self.replicas[p as usize];
            let state = r.state.as_ref().expect("leader state");
            let leo = r.log.log_end_offset();
            let out: Vec<u32> = r
                .followers
                .iter()
                .filter(|f| {
                    state.isr.contains(&f.broker) && f.log_end_offset != leo && now.since(f.last_caught_up) > lag_max
                })
                .map(|f| f.broker)
                .collect();
            if !out.is_empty() {
                let new_isr: Vec<u32> = state.isr.iter().copied().filter(|b| !out.contains(b)).collect();
                ctx.notable("isr_shrink_proposed", || {
                    format!("{} isr {:?} -> {new_isr:?}", self.metadata.partition_name(p), state.isr)
                });
                self.propose_isr(p, new_isr, ctx);
            }
        }
    }

    /// `AlterPartition` requests unanswered for the inter-broker request timeout were lost (a cut
    /// link): the next ISR check proposes again (`AlterPartitionManager` retries them).
    fn expire_alter_partitions(&mut self, ctx: &mut Ctx) {
        let timeout = SimDuration::from_ms(self.settings.replica_socket_timeout_ms);
        let now = ctx.now();
        for (p, r) in self.replicas.iter_mut().enumerate() {
            if r.alter_in_flight && now.since(r.alter_sent_at) >= timeout {
                r.alter_in_flight = false;
                let name = self.metadata.partition_name(p as u32);
                ctx.notable("alter_partition_timeout", || {
                    format!("{name}: AlterPartition unanswered, proposing again")
                });
            }
        }
    }

    fn propose_isr(&mut self, p: u32, new_isr: Vec<u32>, ctx: &mut Ctx) {
        let r = &mut self.replicas[p as usize];
        let state = r.state.as_ref().expect("leader state");
        r.alter_in_flight = true;
        r.alter_sent_at = ctx.now();
        let msg = Message::AlterPartition {
            broker: self.id,
            partition: p,
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            new_isr,
        };
        ctx.send(self.controller.0, msg);
    }

    // ----- transactions ----------------------------------------------------------------------

    /// The transaction coordinator's requests and answers, and markers to write as a leader
    /// (out of line: the produce and fetch paths stay small).
    #[cold]
    #[inline(never)]
    fn on_txn_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::TxnRequest { request_id, producer, body } => {
                self.txn.on_request(self.id, &self.fenced, &self.states, from, request_id, producer, *body, ctx)
            }
            Message::WriteTxnMarkers { request_id, body } => self.write_txn_markers(from, request_id, &body, ctx),
            Message::WriteTxnMarkersResponse { request_id, results } => {
                self.txn.on_markers_response(request_id, &results, ctx)
            }
            _ => {}
        }
    }

    /// `WriteTxnMarkers` (`ReplicaManager.appendRecords` of control records, origin
    /// `Coordinator`, `requiredAcks = -1`): the leader of each partition appends the marker,
    /// which ends the producer's open transaction there, and answers once the high watermark
    /// has passed it, as for an acks=all produce (a marker only the leader had could be truncated
    /// away, and the transaction would stay open). Errors (not the leader, the ISR below
    /// `min.insync.replicas`, a timeout) make the coordinator send the marker again.
    fn write_txn_markers(&mut self, from: NodeId, request_id: u64, m: &TxnMarkers, ctx: &mut Ctx) {
        let now = ctx.now();
        let mut parts = self.spare_parts.take();
        let mut appended = Vec::new();
        for &p in &m.partitions {
            let marker = Rc::new(RecordBatch::marker(m.producer, m.producer_epoch, m.txn, m.marker, now));
            let result = self.append_as_leader(p, &marker, Acks::All, now, ctx);
            match result {
                Ok(base) => {
                    ctx.history().txn_marker(p, m.producer, m.marker == crate::protocol::ControlMarker::Commit);
                    ctx.detail("marker", || {
                        format!(
                            "{} {:?} of producer {} at offset {base}",
                            self.metadata.partition_name(p),
                            m.marker,
                            m.producer
                        )
                    });
                    appended.push(p);
                    parts.push((p, result, Some(base + 1)));
                }
                Err(e) => {
                    self.error(e);
                    parts.push((p, result, None));
                }
            }
        }
        for &p in &appended {
            self.maybe_increment_leader_hw(p, ctx);
        }
        let deadline = now + self.request_timeout;
        let mut d = DelayedProduce { from, request_id, size_bytes: 0, deadline, parts, markers: true };
        self.settle(&mut d);
        if d.parts.iter().all(|part| part.2.is_none()) {
            self.respond_produce(d, ctx);
        } else {
            self.delayed.push(d);
            self.arm_produce_expiry(deadline, ctx);
        }
        if !self.parked.is_empty() && !appended.is_empty() {
            self.complete_parked(&appended, ctx);
        }
    }

    // ----- fetch (leader side) ----------------------------------------------------------------

    fn on_fetch(&mut self, fetch: ParkedFetch, max_wait_ms: u64, ctx: &mut Ctx) {
        // Followers' fetches update the leader's view of them first (Partition.fetchRecords
        // reads the log, then updates follower state).
        let mut errors_or_divergence = false;
        let mut checks = std::mem::take(&mut self.checks_scratch);
        checks.clear();
        if let Some(follower) = fetch.replica {
            for f in &fetch.partitions {
                let check = self.check_follower_fetch(follower, f);
                checks.push(check);
                match check {
                    Ok(None) => self.update_follower(f.partition, follower, f.fetch_offset, ctx),
                    _ => errors_or_divergence = true,
                }
            }
        } else {
            errors_or_divergence = fetch.partitions.iter().any(|f| !self.leads(f.partition));
        }
        if fetch.replica.is_some() && self.replication_quota.is_some() {
            self.measure_replication_quota(ctx.now());
        }
        let ready = max_wait_ms == 0 || errors_or_divergence || self.enough_bytes(&fetch);
        if ready {
            // Answered now: the checks still hold. Updating a follower changes nothing they read
            // but its own partition's log start, which retention keeps at or below the offset
            // the follower fetched from.
            self.respond_fetch_checked(&fetch, fetch.replica.map(|_| &checks[..]), ctx);
            ctx.fetch_buffers().requests.give_back(fetch.partitions);
        } else {
            let deadline = fetch.deadline;
            self.parked.push(fetch);
            self.arm_fetch_expiry(deadline, ctx);
        }
        self.checks_scratch = checks;
    }

    /// A consumer's `OffsetsForLeaderEpoch` (KIP-320), answered by the leader as
    /// `Partition.lastOffsetForLeaderEpoch` does: the current leader epoch is checked as a fetch's
    /// is, then `LeaderEpochFileCache.endOffsetFor` (`None`: UNDEFINED_EPOCH_OFFSET).
    fn epoch_end_for_consumer(&self, q: &EpochQuery) -> EpochEndOffset {
        self.check_leader_epoch(q.partition, q.current_leader_epoch)?;
        Ok(self.replicas[q.partition as usize].log.end_offset_for_epoch(q.leader_epoch))
    }

    /// `Partition.getLocalLog` for a request that must reach the leader: this broker leads `p`
    /// in the epoch the client names (an older one is fenced, a newer one unknown yet).
    #[inline]
    fn check_leader_epoch(&self, p: u32, current_leader_epoch: u32) -> Result<(), KafkaError> {
        let r = &self.replicas[p as usize];
        if !r.is_leader(self.id) {
            return Err(KafkaError::NotLeaderOrFollower);
        }
        let epoch = r.state.as_ref().expect("leader state").leader_epoch;
        if current_leader_epoch < epoch {
            return Err(KafkaError::FencedLeaderEpoch);
        }
        if current_leader_epoch > epoch {
            return Err(KafkaError::UnknownLeaderEpoch);
        }
        Ok(())
    }

    /// Validates a follower's fetch: `Err` for an error, `Ok(Some(..))` for a divergence.
    fn check_follower_fetch(&self, _follower: u32, f: &FetchPartition) -> FollowerCheck {
        self.check_leader_epoch(f.partition, f.current_leader_epoch)?;
        let r = &self.replicas[f.partition as usize];
        if let Some(last) = f.last_fetched_epoch {
            // KIP-101/279 via Fetch: does the follower's last epoch end where it thinks?
            match r.log.end_offset_for_epoch(last) {
                Some((e, end)) if e == last && end >= f.fetch_offset => {}
                Some((e, end)) => return Ok(Some((e, end))),
                None => return Ok(Some((UNDEFINED_EPOCH, 0))),
            }
        }
        if f.fetch_offset > r.log.log_end_offset() || f.fetch_offset < r.log.log_start_offset() {
            return Err(KafkaError::OffsetOutOfRange);
        }
        Ok(None)
    }

    /// `Replica.updateFetchStateOrThrow` + `maybeExpandIsr` + HW, for a fetch of `p` that
    /// `check_follower_fetch` accepted (so this broker leads `p`).
    fn update_follower(&mut self, p: u32, follower: u32, fetch_offset: u64, ctx: &mut Ctx) {
        let now = ctx.now();
        let r = &mut self.replicas[p as usize];
        let leo = r.log.log_end_offset();
        let hw = r.high_watermark;
        let Some(f) = r.followers.iter_mut().find(|f| f.broker == follower) else { return };
        let in_isr = f.in_isr;
        if fetch_offset >= leo {
            f.last_caught_up = f.last_caught_up.max(now);
        } else if fetch_offset >= f.last_fetch_leader_leo {
            f.last_caught_up = f.last_caught_up.max(f.last_fetch_time);
        }
        f.log_end_offset = fetch_offset;
        f.last_fetch_leader_leo = leo;
        f.last_fetch_time = now;
        // `Partition.isReplicaIsrEligible` (KIP-841): a fenced broker, or one in controlled
        // shutdown (both are in `fenced` here), is not proposed.
        let can_expand = !in_isr
            && fetch_offset >= hw
            && fetch_offset >= r.epoch_start_offset
            && !r.alter_in_flight
            && !self.fenced[follower as usize];
        if can_expand {
            let state = r.state.as_ref().expect("leader state");
            let mut new_isr = state.isr.clone();
            new_isr.push(follower);
            new_isr.sort_by_key(|b| state.replicas.iter().position(|x| x == b));
            ctx.notable("isr_expand_proposed", || {
                format!("{} isr {:?} -> {new_isr:?}", self.metadata.partition_name(p), state.isr)
            });
            self.propose_isr(p, new_isr, ctx);
        }
        self.maybe_increment_leader_hw(p, ctx);
    }

    /// Whether the fetch's partitions hold at least `fetch.min.bytes` to return (the count
    /// stops as soon as they do).
    #[inline(always)]
    fn enough_bytes(&self, fetch: &ParkedFetch) -> bool {
        let want = fetch.min_bytes as u64;
        let mut bytes = 0;
        for f in &fetch.partitions {
            if bytes >= want {
                break;
            }
            if self.replication_throttled && fetch.replica.is_some_and(|b| self.throttled_replica(f.partition, b)) {
                continue; // `DelayedFetch.tryComplete` leaves throttled partitions out
            }
            let r = &self.replicas[f.partition as usize];
            let limit = match (fetch.replica, fetch.read_committed) {
                (Some(_), _) => r.log.log_end_offset(),
                (None, false) => r.high_watermark,
                (None, true) => Self::last_stable_offset(r),
            };
            bytes += r.log.bytes_between_up_to(f.fetch_offset, limit, want - bytes);
        }
        bytes >= want
    }

    /// This broker no longer leads `p`: fetches parked on it answer now, with
    /// NOT_LEADER_OR_FOLLOWER for `p` (`ReplicaManager.completeDelayedOperationsWhenNotPartitionLeader`;
    /// `DelayedFetch.tryComplete`'s case A), rather than at `fetch.max.wait.ms`.
    #[cold]
    #[inline(never)]
    fn complete_parked_for(&mut self, p: u32, ctx: &mut Ctx) {
        self.answer_parked(ctx, |_, f| f.partitions.iter().any(|x| x.partition == p));
    }

    /// Whether the leader's `leader.replication.throttled.rate` is exceeded now
    /// (`ReplicationQuotaManager.isQuotaExceeded`), kept in `replication_throttled`.
    #[cold]
    #[inline(never)]
    fn measure_replication_quota(&mut self, now: SimTime) {
        let now_ms = (now.0 / 1_000_000) as i64;
        self.replication_throttled = self.replication_quota.as_mut().is_some_and(|q| q.exceeded(now_ms));
    }

    /// `leader.replication.throttled.rate` on a follower's fetch response, once read
    /// (`ReplicaManager.shouldLeaderThrottle` and `KafkaApis.sizeOfThrottledPartitions`): while
    /// the rate is over the bound, an out-of-sync replica of a partition being reassigned gets
    /// none of that partition's batches; what the response carries of such partitions counts
    /// against the rate. (Kafka leaves them out of the read; here they are read and dropped, which
    /// changes nothing but work.)
    #[cold]
    #[inline(never)]
    fn throttle_replication(
        &mut self,
        follower: u32,
        partitions: &mut [FetchedPartition],
        batches: &mut Vec<ReplicatedBatch>,
        now: SimTime,
    ) {
        self.measure_replication_quota(now);
        let mut next = 0;
        let mut bytes = 0u64;
        for fp in partitions.iter_mut() {
            let range = next..next + fp.batch_count as usize;
            if !self.reassigning(fp.partition) {
                next = range.end;
            } else if self.replication_throttled && self.throttled_replica(fp.partition, follower) {
                batches.drain(range);
                fp.batch_count = 0;
            } else {
                bytes += batches[range.clone()].iter().map(|b| b.batch.size_bytes as u64).sum::<u64>();
                next = range.end;
            }
        }
        if bytes > 0
            && let Some(q) = &mut self.replication_quota
        {
            q.record_bytes(bytes, (now.0 / 1_000_000) as i64);
        }
    }

    /// `ReplicaFetcherThread.shouldFollowerThrottle`: while this broker's
    /// `follower.replication.throttled.rate` is exceeded, a fetch to `leader` leaves out the
    /// partitions it is being added to and not yet in the ISR of. If that leaves nothing
    /// (`AbstractFetcherThread.maybeFetch`), the fetcher waits `replica.fetch.backoff.ms`.
    #[cold]
    #[inline(never)]
    fn withhold_throttled(
        &mut self,
        mut partitions: Vec<FetchPartition>,
        leader: u32,
        ctx: &mut Ctx,
    ) -> Vec<FetchPartition> {
        if partitions.is_empty() || !self.follower_quota_exceeded(ctx.now()) {
            return partitions;
        }
        partitions.retain(|f| !self.follower_throttled(f.partition, true));
        if partitions.is_empty() {
            let at = ctx.now() + SimDuration::from_ms(self.settings.replica_fetch_backoff_ms);
            self.fetchers[leader as usize].backoff_until = at;
            ctx.set_timer_at(at, Timer::FetchRetry { broker: NodeId(leader) });
        }
        partitions
    }

    /// Whether this broker's `follower.replication.throttled.rate` is exceeded now
    /// (`ReplicationQuotaManager.isQuotaExceeded` on the follower's quota).
    #[cold]
    #[inline(never)]
    fn follower_quota_exceeded(&mut self, now: SimTime) -> bool {
        let now_ms = (now.0 / 1_000_000) as i64;
        self.follower_quota.as_mut().is_some_and(|q| q.exceeded(now_ms))
    }

    /// Whether this broker's fetches of `p` are throttled: a reassignment adds this broker to
    /// `p` (`follower.replication.throttled.replicas`, as the tool sets it) and, when
    /// `out_of_isr_only`, it is not in the ISR yet (`fetchState.isReplicaInSync`).
    #[cold]
    #[inline(never)]
    fn follower_throttled(&self, p: u32, out_of_isr_only: bool) -> bool {
        self.replicas[p as usize]
            .state
            .as_ref()
            .is_some_and(|s| s.adding_replicas.contains(&self.id) && !(out_of_isr_only && s.isr.contains(&self.id)))
    }

    /// `ReplicaFetcherThread.processPartitionData`: what a fetch response carries of throttled
    /// partitions counts against the follower's rate (`quota.record`).
    #[cold]
    #[inline(never)]
    fn record_follower_throttled(
        &mut self,
        partitions: &[FetchedPartition],
        batches: &[ReplicatedBatch],
        now: SimTime,
    ) {
        let mut next = 0;
        let mut bytes = 0u64;
        for fp in partitions {
            let range = next..next + fp.batch_count as usize;
            if self.follower_throttled(fp.partition, false) {
                bytes += batches[range.clone()].iter().map(|b| b.batch.size_bytes as u64).sum::<u64>();
            }
            next = range.end;
        }
        if bytes > 0
            && let Some(q) = &mut self.follower_quota
        {
            q.record_bytes(bytes, (now.0 / 1_000_000) as i64);
        }
    }

    /// Whether a reassignment of `p` is in progress (its partition is throttled).
    fn reassigning(&self, p: u32) -> bool {
        self.replicas[p as usize].state.as_ref().is_some_and(|s| !s.adding_replicas.is_empty())
    }

    /// Whether `follower`'s fetches of `p` are throttled when the rate is exceeded: `p` is being
    /// reassigned and `follower` is out of its ISR (`shouldLeaderThrottle`).
    #[cold]
    fn throttled_replica(&self, p: u32, follower: u32) -> bool {
        let r = &self.replicas[p as usize];
        self.reassigning(p) && r.followers.iter().any(|f| f.broker == follower && !f.in_isr)
    }

    fn complete_parked(&mut self, touched: &[u32], ctx: &mut Ctx) {
        self.answer_parked(ctx, |b, f| {
            f.partitions.iter().any(|x| touched.contains(&x.partition)) && b.enough_bytes(f)
        });
    }

    /// Answers the parked fetches `ready` picks, in the order they were parked.
    #[inline(always)]
    fn answer_parked(&mut self, ctx: &mut Ctx, ready: impl Fn(&Self, &ParkedFetch) -> bool) {
        let mut i = 0;
        while i < self.parked.len() {
            if ready(self, &self.parked[i]) {
                let fetch = self.parked.remove(i);
                self.respond_fetch(&fetch, ctx);
                ctx.fetch_buffers().requests.give_back(fetch.partitions);
            } else {
                i += 1;
            }
        }
    }

    /// The replica's last stable offset (out of line: only `read_committed` fetches ask).
    #[cold]
    #[inline(never)]
    fn last_stable_offset(r: &Replica) -> u64 {
        r.log.last_stable_offset(r.high_watermark)
    }

    /// A `read_committed` read of a partition with transactions: up to the last stable offset,
    /// the batches of aborted transactions marked.
    #[cold]
    #[inline(never)]
    fn read_committed(r: &Replica, fetch_offset: u64, max_bytes: u64, batches: &mut Vec<ReplicatedBatch>) -> usize {
        let first = batches.len();
        let read = r.log.read(fetch_offset, Self::last_stable_offset(r), max_bytes, batches);
        if let Some(last) = batches[first..].last() {
            let upper = last.base_offset + last.batch.offset_count();
            let mut aborted = Vec::new();
            r.log.txns().aborted_between(fetch_offset, upper, &mut aborted);
            crate::cluster::txn_index::mark_aborted(&aborted, &mut batches[first..]);
        }
        read
    }

    fn arm_fetch_expiry(&mut self, deadline: SimTime, ctx: &mut Ctx) {
        if self.fetch_expiry_at.is_none_or(|armed| deadline < armed) {
            self.fetch_expiry_at = Some(deadline);
            ctx.set_timer_at(deadline, Timer::FetchExpire);
        }
    }

    fn respond_fetch(&mut self, fetch: &ParkedFetch, ctx: &mut Ctx) {
        self.respond_fetch_checked(fetch, None, ctx);
    }

    /// As `respond_fetch`, with a follower fetch's `check_follower_fetch` results, per partition,
    /// if they are known.
    fn respond_fetch_checked(&mut self, fetch: &ParkedFetch, checks: Option<&[FollowerCheck]>, ctx: &mut Ctx) {
        let mut partitions = ctx.fetch_buffers().responses.take();
        let mut batches = ctx.fetch_buffers().batches.take();
        let max_bytes = fetch.max_partition_bytes as u64;
        for (i, f) in fetch.partitions.iter().enumerate() {
            let r = &self.replicas[f.partition as usize];
            let mut out = FetchedPartition {
                partition: f.partition,
                error: None,
                high_watermark: r.high_watermark,
                log_start_offset: r.log.log_start_offset(),
                log_end_offset: r.log.log_end_offset(),
                diverging_epoch: None,
                batch_count: 0,
            };
            let read = match fetch.replica {
                Some(follower) => match checks.map_or_else(|| self.check_follower_fetch(follower, f), |c| c[i]) {
                    Err(e) => {
                        out.error = Some(e);
                        0
                    }
                    Ok(Some(diverging)) => {
                        out.diverging_epoch = Some(diverging);
                        0
                    }
                    Ok(None) => r.log.read(f.fetch_offset, r.log.log_end_offset(), max_bytes, &mut batches),
                },
                None => {
                    if !r.is_leader(self.id) {
                        out.error = Some(KafkaError::NotLeaderOrFollower);
                        0
                    } else if f.fetch_offset > r.high_watermark.max(r.log.log_end_offset())
                        || f.fetch_offset < r.log.log_start_offset()
                    {
                        out.error = Some(KafkaError::OffsetOutOfRange);
                        0
                    } else if fetch.read_committed && !r.log.txns().is_empty() {
                        Self::read_committed(r, f.fetch_offset, max_bytes, &mut batches)
                    } else {
                        r.log.read(f.fetch_offset, r.high_watermark, max_bytes, &mut batches)
                    }
                }
            };
            out.batch_count = read as u32;
            if let Some(e) = out.error {
                *self.stats.errors.entry(e.name()).or_default() += 1;
            }
            partitions.push(out);
        }
        if let Some(follower) = fetch.replica
            && self.replication_quota.is_some()
        {
            self.throttle_replication(follower, &mut partitions, &mut batches, ctx.now());
        }
        if fetch.replica.is_none()
            && let Some(Some(q)) = self.fetch_quotas.get_mut(fetch.from.index())
        {
            // `KafkaApis.handleFetchRequest`: the response's size counts against the member's
            // quota; over it, the bytes are taken back and the response goes out empty.
            let size = 64 + batches.iter().map(|b| b.batch.size_bytes as u64).sum::<u64>();
            let now_ms = (ctx.now().0 / 1_000_000) as i64;
            let throttle_ms = q.record_and_get_throttle_ms(size, now_ms);
            if throttle_ms > 0 {
                q.unrecord(size, now_ms);
                ctx.fetch_buffers().give_back_response(partitions, batches);
                ctx.detail("throttle", || {
                    format!("node {} throttled for {throttle_ms} ms (consumer_byte_rate)", fetch.from.0)
                });
                ctx.send(fetch.from, Message::ThrottledFetchResponse { request_id: fetch.request_id, throttle_ms });
                return;
            }
        }
        ctx.send(fetch.from, Message::FetchResponse { request_id: fetch.request_id, partitions, batches });
    }

    // ----- fetch (follower side) --------------------------------------------------------------

    /// Sends the next fetch to `leader` for every partition this broker follows from it.
    fn fetch_from(&mut self, leader: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let fetcher = &self.fetchers[leader as usize];
        if fetcher.outstanding.is_some() {
            return;
        }
        if fetcher.backoff_until > now {
            ctx.set_timer_at(fetcher.backoff_until, Timer::FetchRetry { broker: NodeId(leader) });
            return;
        }
        let mut partitions = ctx.fetch_buffers().requests.take();
        for p in 0..self.replicas.len() as u32 {
            let r = &self.replicas[p as usize];
            if r.fetching_from != Some(leader) {
                continue;
            }
            if r.truncate_to_hw_pending {
                // The pre-0.11 protocol: truncate to the high watermark, then fetch from there.
                let hw = r.high_watermark;
                self.truncate(p, hw, "truncate to high watermark (pre-KIP-101)", ctx);
                self.replicas[p as usize].truncate_to_hw_pending = false;
            }
            let r = &self.replicas[p as usize];
            let epoch = r.state.as_ref().map_or(0, |s| s.leader_epoch);
            partitions.push(FetchPartition {
                partition: p,
                fetch_offset: r.log.log_end_offset(),
                current_leader_epoch: epoch,
                last_fetched_epoch: match self.settings.truncation {
                    _ if r.last_epoch_unknown_to_leader => None,
                    Truncation::LeaderEpoch => r.log.last_epoch(),
                    Truncation::LeaderEpochBeforeKip279 if r.epoch_lookup_pending => r.log.last_epoch(),
                    Truncation::LeaderEpochBeforeKip279 | Truncation::HighWatermark => None,
                },
            });
        }
        if self.follower_quota.is_some() {
            partitions = self.withhold_throttled(partitions, leader, ctx);
        }
        if partitions.is_empty() {
            ctx.fetch_buffers().requests.give_back(partitions);
            return;
        }
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        self.fetchers[leader as usize].outstanding = Some((request_id, now));
        ctx.send(
            Metadata::broker_node(leader),
            Message::FetchRequest {
                request_id,
                replica: Some(self.id),
                group: 0,
                partitions,
                min_bytes: self.settings.replica_fetch_min_bytes,
                max_wait_ms: self.settings.replica_fetch_wait_max_ms,
                max_partition_bytes: self.settings.replica_fetch_max_bytes,
                read_committed: false,
            },
        );
    }

    fn on_fetch_response(
        &mut self,
        from: NodeId,
        request_id: u64,
        mut partitions: Vec<FetchedPartition>,
        mut batches: Vec<ReplicatedBatch>,
        ctx: &mut Ctx,
    ) {
        let leader = from.0;
        let Some(fetcher) = self.fetchers.get_mut(leader as usize) else { return };
        if fetcher.outstanding.map(|o| o.0) != Some(request_id) {
            // A consumer-style response to this broker? Not ours; or a stale one.
            return;
        }
        fetcher.outstanding = None;
        let now = ctx.now();
        if self.follower_quota.is_some() {
            self.record_follower_throttled(&partitions, &batches, now);
        }
        let mut failed = false;
        each_fetched_partition(&mut partitions, &mut batches, |fp, fetched| {
            failed |= self.on_fetched_partition(leader, &fp, fetched, now, ctx);
        });
        ctx.fetch_buffers().give_back_response(partitions, batches);
        if failed {
            self.fetchers[leader as usize].backoff_until =
                now + SimDuration::from_ms(self.settings.replica_fetch_backoff_ms);
        }
        self.fetch_from(leader, ctx);
    }

    /// One partition of a fetch response from `leader`, with its batches; returns whether it
    /// failed (the fetcher then backs off).
    fn on_fetched_partition(
        &mut self,
        leader: u32,
        fp: &FetchedPartition,
        batches: impl Iterator<Item = ReplicatedBatch>,
        now: SimTime,
        ctx: &mut Ctx,
    ) -> bool {
        let p = fp.partition;
        if self.replicas[p as usize].fetching_from != Some(leader) {
            return false;
        }
        if let Some(e) = fp.error {
            if e == KafkaError::OffsetOutOfRange {
                // `AbstractFetcherThread.fetchOffsetAndTruncate`.
                let start = fp.log_start_offset;
                let r = &mut self.replicas[p as usize];
                if r.log.log_end_offset() > fp.log_end_offset {
                    // Our log goes past the leader's end (its log lost records its epoch cache
                    // cannot tell us about): truncate to its end.
                    self.truncate(p, fp.log_end_offset, "out of range: the leader's log ends before ours", ctx);
                } else if r.log.log_end_offset() < start {
                    // Our log is behind the leader's start: start over from it.
                    r.log.reset_to(start);
                    r.high_watermark = r.high_watermark.max(start);
                }
            }
            return true;
        }
        if let Some((epoch, leader_end)) = fp.diverging_epoch {
            // AbstractFetcherThread.getOffsetTruncationState (KIP-279 loop: we fetch again
            // with our new last epoch until the epochs match).
            let r = &self.replicas[p as usize];
            let leo = r.log.log_end_offset();
            let before_kip279 = self.settings.truncation == Truncation::LeaderEpochBeforeKip279;
            let to = match r.log.end_offset_for_epoch(epoch) {
                // The leader knows no epoch this old: truncate to the high watermark, and never
                // past the leader's log end (a leader that lost its log and its epoch cache to a
                // power loss: what `fetchOffsetAndTruncate` does on OFFSET_OUT_OF_RANGE, which
                // would otherwise follow).
                _ if epoch == UNDEFINED_EPOCH => r.high_watermark.min(leo).min(fp.log_end_offset),
                // 0.11-1.1 (`ReplicaFetcherThread.maybeTruncate`): the leader's end offset, or
                // our log end, whichever is lower, whatever epoch the leader answered for.
                _ if before_kip279 => leader_end.min(leo),
                Some((mine, my_end)) if mine == epoch => my_end.min(leader_end).min(leo),
                Some((_, my_end)) => my_end.min(leo),
                None => r.high_watermark.min(leo),
            };
            let reason = if before_kip279 {
                "leader epoch lookup (KIP-101, before KIP-279)"
            } else {
                "diverging epoch (KIP-101/279)"
            };
            if epoch == UNDEFINED_EPOCH && to == leo {
                self.replicas[p as usize].last_epoch_unknown_to_leader = true;
            }
            self.truncate(p, to, reason, ctx);
            self.replicas[p as usize].epoch_lookup_pending = false;
            return false;
        }
        let r = &mut self.replicas[p as usize];
        r.epoch_lookup_pending = false;
        // Each batch at our log end goes in (the response is ours: its batches move into the
        // log, no reference count changes hands twice).
        // On a compacted topic the leader's cleaner may have removed the offsets at our log end
        // (whole batches): the next batch it holds starts past it, and goes in at its offset.
        let metadata = &self.metadata;
        for b in batches {
            let leo = r.log.log_end_offset();
            if b.base_offset == leo || (b.base_offset > leo && metadata.topic_of(p).compaction.is_some()) {
                Self::note_producer(r, &b.batch, b.base_offset);
                r.log.append_at(b.base_offset, b.epoch, b.batch, now);
                r.last_epoch_unknown_to_leader = false;
            }
        }
        // Follower HW = min(leader HW, own LEO) (§3.4); it never moves back here.
        r.high_watermark = r.high_watermark.max(fp.high_watermark.min(r.log.log_end_offset()));
        // Retention: follow the leader's log start, but keep what we have not committed.
        // (Mostly the start has not moved: no batch ends at or before ours.)
        let trim = fp.log_start_offset.min(r.high_watermark);
        if trim > r.log.log_start_offset() {
            r.log.trim_before(trim);
        }
        false
    }

    fn truncate(&mut self, p: u32, to: u64, reason: &'static str, ctx: &mut Ctx) {
        let r = &mut self.replicas[p as usize];
        if to > r.log.log_end_offset() {
            return;
        }
        // Even when no batch goes, the epoch cache forgets epochs starting at or after `to`
        // (`LeaderEpochFileCache.truncateFromEnd`); otherwise a follower that once led an empty
        // epoch would ask about it for ever.
        let removed = r.log.truncate_to(to);
        r.high_watermark = r.high_watermark.min(r.log.log_end_offset());
        let records: u64 = removed.iter().map(|b| b.batch.record_count()).sum();
        if records == 0 {
            return;
        }
        let batches = removed.iter().map(|b| crate::check::History::id(&b.batch)).collect();
        let ranges = removed.iter().map(|b| (b.base_offset, b.batch.offset_count())).collect();
        self.rebuild_producer_state(p as usize);
        let broker = self.id;
        let to_offset = self.replicas[p as usize].log.log_end_offset();
        ctx.notable("truncate", || {
            format!("{} to offset {to_offset}: {records} records removed ({reason})", self.metadata.partition_name(p))
        });
        let at = ctx.now();
        ctx.history().truncated(TruncationEvent {
            batches,
            ranges,
            at,
            partition: p,
            broker,
            to_offset,
            records_removed: records,
            reason,
        });
    }

    // ----- retention --------------------------------------------------------------------------

    /// A group read `p` from `offset`. Retention keeps what the group has not committed yet
    /// (a new owner restarts from the committed offset after a rebalance).
    fn note_group_offset(&mut self, p: u32, group: u32, offset: u64) {
        let topic = self.metadata.topic_of(p);
        if let Some(slot) = topic.groups.iter().position(|&g| g == group) {
            let committed = self.coordinator.committed(group, p).unwrap_or(0);
            self.group_offsets[p as usize][slot] = offset.min(committed);
        }
    }

    /// Drops batches below every subscribed group's position, every follower's log end and the
    /// high watermark: nobody needs them any more. A topic no group reads keeps everything (as
    /// Kafka's 7-day `retention.ms` would over a short run), so its history stays checkable.
    fn trim_committed(&mut self, p: u32, ctx: &mut Ctx) {
        let groups = &self.group_offsets[p as usize];
        let Some(&first) = groups.first() else { return };
        let groups_low = groups.iter().fold(first, |low, &g| low.min(g));
        let r = &mut self.replicas[p as usize];
        // Mostly the groups are where the last trim left the log start (their positions move
        // with their commits): nothing can go, whatever the followers and the high watermark.
        if groups_low <= r.log.log_start_offset() {
            return;
        }
        let topic = self.metadata.topic_of(p);
        if topic.retention.is_some() || topic.compaction.is_some() || topic.is_output || topic.reassigned {
            // Retention decides what goes, in whole segments (`delete_old_segments`); an output
            // is kept whole for its end-of-run check, a reassigned topic for its new replicas.
            return;
        }
        let mut low = r.high_watermark.min(groups_low);
        for f in &r.followers {
            low = low.min(f.log_end_offset);
        }
        if low > r.log.log_start_offset() {
            let history = ctx.history();
            for b in r.log.trim_before(low) {
                history.retired(p, std::iter::once((b.base_offset, &*b.batch)));
            }
        }
    }

    /// The retention task (`LogManager.cleanupLogs` → `UnifiedLog.deleteOldSegments`) on the
    /// partitions this broker leads: whole segments go, by `retention.bytes` then `retention.ms`,
    /// never past the high watermark (see [`crate::cluster::Log::retention_deletion`]). A
    /// consumer whose position falls below the new log start then gets `OFFSET_OUT_OF_RANGE` and
    /// resets by `auto.offset.reset`. Followers drop the same records when their fetches bring the
    /// new log start offset (`maybeIncrementLogStartOffset`); they apply no retention of their own
    /// here.
    fn delete_old_segments(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        for p in 0..self.replicas.len() as u32 {
            let Some(retention) = self.metadata.topic_of(p).retention else { continue };
            if !self.leads(p) {
                continue;
            }
            let r = &mut self.replicas[p as usize];
            let Some(d) = r.log.retention_deletion(now, r.high_watermark, &retention) else { continue };
            let from = r.log.log_start_offset();
            let deleted: Vec<_> = r.log.trim_before(d.new_start).collect();
            ctx.history().deleted_by_retention(p, deleted.iter().map(|b| (b.base_offset, &*b.batch)), now);
            let to = r.log.log_start_offset();
            ctx.notable("retention", || {
                format!(
                    "{} deleted {} segment{} (offsets {from}..{}, {} records): {} breached; log start offset {to}",
                    self.metadata.partition_name(p),
                    d.segments,
                    if d.segments == 1 { "" } else { "s" },
                    to - 1,
                    to - from,
                    d.reason
                )
            });
            ctx.metrics().retention_deletions.push(crate::metrics::RetentionDeletion {
                at: now,
                partition: p,
                broker: self.id,
                from,
                to,
                segments: d.segments,
                reason: d.reason,
            });
        }
    }
}
