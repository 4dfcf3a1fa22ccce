//! A consumer group member: Kafka's `KafkaConsumer` with its application poll loop.
//!
//! Three parts run side by side, as in the Java client:
//! * the **application thread** ([`App`]): `poll()` returns up to `max.poll.records` buffered
//!   records, the application processes them one after another (`processing_us` each, plus
//!   `poll_processing_ms` per poll) and commits as its [`CommitMode`] says, then polls again.
//!   Rebalances happen inside `poll()`: an eager member revokes everything and waits for the new
//!   assignment there; a cooperative member keeps processing what it still owns.
//! * the **heartbeat thread** ([`membership`]): a heartbeat every `heartbeat.interval.ms`, and
//!   the `max.poll.interval.ms` check that makes a member whose processing overran leave the
//!   group (KIP-62);
//! * the **fetcher** ([`fetcher`]): one fetch per leader broker for owned partitions with
//!   nothing buffered, reading only below the high watermark.
//!
//! A member of a group with `output` also writes a record for each one it processes, through a
//! producer of its own, and commits through that producer ([`pipeline`]).
//!
//! A record's end-to-end latency runs from its intended send time to the end of its
//! processing. Simplified: `fetch.max.bytes` is not modelled (only the per-partition cap); a
//! member's requests to a broker that is down are dropped (no connection errors), so they end by
//! timing out; `close()` takes no time.

mod consumer_protocol;
mod fetcher;
mod membership;
mod pipeline;
mod validation;

use std::collections::VecDeque;
use std::rc::Rc;

use crate::cluster::Metadata;
use crate::group::assignor::Strategy;
use crate::metrics::{Latency, ProcessingRun, Recorder, StreamSample};
use crate::protocol::{KafkaError, Message, RecordBatch};
use crate::scenario::{CommitMode, ConsumerGroup};
use crate::sim::{Ctx, NodeId, RandomStream, SimDuration, SimTime, Timer};
use crate::stream::MicroBatchQuery;

/// What the application thread is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    /// Not started, closed, or crashed.
    Stopped,
    /// Inside `poll()`: waiting for records or for the group.
    Polling,
    /// Processing the records the last poll returned.
    Processing,
    /// Blocked in `commitSync()`.
    Committing,
}

/// The group membership as the member sees it (`MemberState` of `AbstractCoordinator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Membership {
    Unjoined,
    Joining(u64),
    Syncing(u64),
    Stable,
}

/// A partition the member owns.
#[derive(Debug)]
struct Owned {
    partition: u32,
    /// The next offset `poll()` returns (`None` until the committed offset or a reset gives it).
    position: Option<u64>,
    /// The next offset to fetch.
    fetch_position: u64,
    /// The leader epoch of the record before `position` (`FetchPosition.offsetEpoch`, KIP-320):
    /// the epoch its batch was written in. `None` when unknown (a position from `ListOffsets`, or
    /// a committed offset without one).
    offset_epoch: Option<u32>,
    /// `AWAITING_VALIDATION`: after a leader change, or a position from a committed offset, the
    /// position waits for `OffsetsForLeaderEpoch` before fetching (KIP-320).
    awaiting_validation: bool,
    /// The `OffsetsForLeaderEpoch` request out for it.
    validation_request: Option<u64>,
    /// Fetched batches not yet returned by `poll()`: `(base offset, leader epoch, batch, of an
    /// aborted transaction)`.
    buffer: VecDeque<(u64, u32, Rc<RecordBatch>, bool)>,
    /// An OffsetFetch or ListOffsets is out for it.
    positioning: bool,
    /// `auto.offset.reset=none` and no committed offset: it cannot be consumed.
    no_offset: bool,
    /// A fetch for it has been answered since it was assigned (a stream query plans its first
    /// batch only then, as Spark first asks for the latest offsets).
    answered: bool,
    /// A restarted stream query replays its unfinished batch up to here (its offset log).
    replay_end: Option<u64>,
}

impl Owned {
    /// What a commit sends for it: `(partition, position, committed_leader_epoch)` (the epoch
    /// only with KIP-320, `detect`).
    fn commit_entry(&self, detect: bool) -> Option<(u32, u64, Option<u32>)> {
        self.position.map(|p| (self.partition, p, self.offset_epoch.filter(|_| detect)))
    }
}

/// Records one poll returned from one batch of one partition: `count` offsets from
/// `first_offset`.
#[derive(Debug)]
struct Polled {
    partition: u32,
    /// The leader epoch its batch was written in (with the offset, the records' identity).
    epoch: u32,
    first_offset: u64,
    count: usize,
}

/// The records being processed, and when each is done (empty: none are).
///
/// A member polls every few records, so the consumer keeps one `Work` and clears it when the
/// records are done: the next poll reuses its buffers instead of allocating them again. The poll
/// copies what processing needs of its records out of their batches (a few records each), so
/// the work holds no batch.
#[derive(Debug, Default)]
struct Work {
    polled: Vec<Polled>,
    /// How many records `polled` holds.
    records: usize,
    /// Per record (in order): its intended send time.
    created: Vec<SimTime>,
    /// Per record (in order), when any record carries its key: `(producer, key)`, or
    /// `(u32::MAX, 0)` for one without. Empty otherwise.
    keys: Vec<(u32, u64)>,
    /// The records carrying a value (only when producers draw values): `(record, producer,
    /// value)`, in order.
    values: Vec<(usize, u32, i64)>,
    /// When processing the first record starts (after `poll_processing_ms`).
    start: SimTime,
    /// The fixed processing time of every record: record `r` is done at `start + (r + 1) * each`.
    /// `None` with jitter: the drawn end times are in `done`.
    each: Option<SimDuration>,
    /// With jitter only, per record (in order): when its processing ends.
    done: Vec<SimTime>,
    /// Records already recorded as processed.
    recorded: usize,
    /// Positions to commit, with their leader epochs (after the poll; kept only for
    /// `CommitMode::BeforeProcessing`).
    positions: Vec<(u32, u64, Option<u32>)>,
    /// The generation the member was in when it polled them.
    generation: i32,
}

impl Work {
    /// When processing record `r` ends.
    fn done_at(&self, r: usize) -> SimTime {
        match self.each {
            // The same saturating sum as adding `each` record after record.
            Some(each) => SimTime(self.start.0.saturating_add(each.0.saturating_mul(r as u64 + 1))),
            None => self.done[r],
        }
    }

    /// How many records (from the first) are done by `t`; at least the ones already recorded.
    fn done_by(&self, t: SimTime) -> usize {
        let done = match self.each {
            Some(_) if t < self.start => 0,
            Some(SimDuration(0)) => self.records,
            Some(each) => (((t.0 - self.start.0) / each.0).min(self.records as u64)) as usize,
            None => {
                let mut k = self.recorded;
                while k < self.records && self.done[k] <= t {
                    k += 1;
                }
                k
            }
        };
        done.max(self.recorded)
    }

    fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The chunks holding records `[from, to)`, each as `(chunk, lo, a, b)`: the chunk starts
    /// at record `lo` and holds records `[a, b)` of the range.
    fn chunks(&self, from: usize, to: usize) -> impl Iterator<Item = (&Polled, usize, usize, usize)> {
        let mut next = 0;
        self.polled
            .iter()
            .map_while(move |chunk| {
                let lo = next;
                next += chunk.count;
                (lo < to).then_some((chunk, lo, from.max(lo), to.min(next)))
            })
            .filter(|&(_, _, a, b)| a < b)
    }

    /// Empties it for reuse.
    fn clear(&mut self) {
        self.polled.clear();
        self.created.clear();
        self.keys.clear();
        self.values.clear();
        self.done.clear();
        self.positions.clear();
        self.records = 0;
        self.recorded = 0;
    }
}

/// The key order of records `[start, k)` of `work`, which the member just finished (before
/// they are recorded as processed, so a redelivery is known as one).
#[cold]
#[inline(never)]
fn key_order(work: &Work, start: usize, k: usize, group: u32, metrics: &mut crate::metrics::Recorder) {
    for (chunk, lo, a, b) in work.chunks(start, k) {
        for r in a..b {
            let (producer, key) = work.keys[r];
            if producer == u32::MAX {
                continue;
            }
            let offset = chunk.first_offset + (r - lo) as u64;
            let again = metrics.groups.was_processed(group, chunk.partition, chunk.epoch, offset);
            let at = work.done_at(r);
            metrics.key_order.processed(group, producer, key, work.created[r], again, at, chunk.partition, offset);
        }
    }
}

/// One member of a consumer group.
#[derive(Debug)]
pub struct Consumer {
    /// Its `client.id`, e.g. `billing-2`.
    pub name: String,
    pub group: u32,
    /// Index in its group.
    pub member: u32,
    config: ConsumerGroup,
    metadata: Rc<Metadata>,
    end: SimTime,
    processing_rng: RandomStream,
    /// `partition.assignment.strategy` and whether they all support COOPERATIVE.
    strategies: Vec<Strategy>,
    cooperative: bool,
    /// `group.protocol=consumer` (KIP-848, see `consumer_protocol.rs`).
    kip848: bool,
    /// Draws each new consumer instance's member id (KIP-848 members make their own).
    member_ids: RandomStream,
    /// KIP-848: how often to heartbeat, as the coordinator last said.
    heartbeat_interval: SimDuration,
    /// KIP-848: the next heartbeat is due then (an interval after the last answer), and the
    /// time the heartbeat timer is armed for.
    next_heartbeat_at: SimTime,
    heartbeat_timer_at: Option<SimTime>,
    /// KIP-848: a reconciled assignment to acknowledge with a heartbeat as soon as possible.
    ack_needed: bool,
    /// KIP-848: the commit before a revocation, whose answer the acknowledgement waits for.
    ack_after_commit: Option<u64>,
    /// When it starts and, if scaled down, closes.
    starts: Vec<SimTime>,
    closes: Vec<SimTime>,

    pub app: App,
    last_poll: SimTime,
    last_auto_commit: SimTime,
    work: Work,
    /// The next poll starts with this owned partition (the fetch buffer's round robin).
    poll_rotation: usize,
    /// Whether a positioned owned partition may have buffered batches (false: it is sure that
    /// none has, and `take_records` has nothing to look at). Only a fetch response buffers
    /// batches; a partition gets a position with its buffer emptied.
    buffered: bool,
    /// Whether an owned partition may have no position, no request out for one, and an offset
    /// to look for (false: it is sure that none has, and `ensure_positions` has nothing to ask).
    /// Set wherever a partition may become one: assigned, or its OffsetFetch or ListOffsets
    /// failed or timed out.
    unpositioned: bool,

    // Membership (see `membership.rs`).
    coordinator: Option<u32>,
    find_pending: Option<(u64, SimTime)>,
    find_broker: u32,
    /// No `FindCoordinator` before this (the backoff after losing the coordinator).
    find_backoff_until: SimTime,
    member_id: String,
    pub generation: i32,
    membership: Membership,
    membership_sent: SimTime,
    /// The assignment SyncGroup returned, applied at the next poll().
    pending_assignment: Option<Vec<u32>>,
    rejoin_needed: bool,
    /// Left the group because `max.poll.interval.ms` passed.
    left_on_poll_timeout: bool,
    heartbeat_pending: Option<(u64, SimTime)>,
    last_heartbeat_ok: SimTime,
    /// Outstanding commits: `(request id, sync, sent)`.
    commits: Vec<(u64, bool, SimTime)>,
    offset_fetch_pending: Option<(u64, SimTime)>,
    /// The application will close at its next poll (it is finishing a batch).
    close_requested: bool,
    /// The process exits once `close()` is done (a graceful `Shutdown`).
    exit_on_close: bool,
    /// `close()` has sent its synchronous commit (it finishes when the answer comes).
    close_committed: bool,
    /// A fatal error stopped the member (e.g. FENCED_INSTANCE_ID).
    failed: Option<KafkaError>,
    /// The stream query this member runs (a group with `stream`; see `crate::stream`).
    stream: Option<MicroBatchQuery>,
    /// The trigger time a `StreamTrigger` timer is set for.
    trigger_armed: Option<SimTime>,
    /// A consume-transform-produce member (a group with `output`): the producer it owns, which
    /// writes a record for each record processed and carries its commits (see `pipeline.rs`).
    output_producer: Option<NodeId>,
    /// A consume-transform-produce member about to rejoin has committed (it joins next).
    committed_before_join: bool,
    /// Since when its committed offsets have been unstable (KIP-447), while it asks again.
    unstable_since: Option<SimTime>,

    // Fetching (see `fetcher.rs`).
    owned: Vec<Owned>,
    leaders: Vec<Option<u32>>,
    leader_epochs: Vec<u32>,
    /// Per topic (in the scenario's order): its partition count as this member's metadata knows
    /// it.
    partition_counts: Vec<u32>,
    /// The classic leader's `assignmentSnapshot`: the partition counts of every topic when it
    /// last assigned. Metadata that differs makes it rejoin.
    assignment_snapshot: Option<Vec<u32>>,
    /// Per broker, the fetch out to it, or [`RECONNECTING`] while the client waits to reconnect.
    outstanding: Vec<Option<(u64, SimTime)>>,
    /// Per broker, connections lost in a row (for the reconnect backoff).
    reconnect_failures: Vec<u32>,
    list_offsets_pending: Vec<Option<(u64, SimTime)>>,
    /// Per broker, the `OffsetsForLeaderEpoch` request out to it (KIP-320).
    validations_pending: Vec<Option<(u64, SimTime)>>,
    /// Whether an owned partition may await validation with no request out (false: none does).
    validation_needed: bool,
    metadata_requests: super::MetadataRequests,
    next_request_id: u64,

    pub records_consumed: u64,
    pub position_resets: u64,
    /// Positions moved back by KIP-320 truncation detection.
    pub truncations_detected: u64,
    pub commit_failures: u64,
    /// Fetched batches that ended above the serving leader's high watermark:
    /// `(partition, batch end, high watermark)` (an invariant violation; always empty).
    pub read_past_high_watermark: Vec<(u32, u64, u64)>,
}

impl Consumer {
    /// Member `member` of group `group` (index `group_index`).
    pub fn new(
        group_index: u32,
        group: &ConsumerGroup,
        member: u32,
        metadata: &Rc<Metadata>,
        seed: u64,
        end: SimTime,
    ) -> Consumer {
        let n = metadata.partition_count() as u32;
        let name = format!("{}-{member}", group.name);
        let strategies: Vec<Strategy> = group.partition_assignment_strategy.iter().map(|s| s.strategy()).collect();
        // `ConsumerCoordinator`: COOPERATIVE only if every configured assignor supports it.
        let kip848 = group.group_protocol == crate::scenario::GroupProtocol::Consumer;
        // A KIP-848 member never stops the world either: it keeps what it is not told to give up.
        let cooperative = kip848 || (!strategies.is_empty() && strategies.iter().all(|s| s.is_cooperative()));
        // Start and close times from the member count over time.
        let (mut starts, mut closes) = (Vec::new(), Vec::new());
        let mut active = member < group.members;
        if active {
            starts.push(SimTime::ZERO + SimDuration::from_ms(group.start_ms));
        }
        for s in &group.scale {
            let now_active = member < s.members;
            let at = SimTime::ZERO + SimDuration::from_ms(s.at_ms.max(group.start_ms));
            if now_active && !active {
                starts.push(at);
            } else if !now_active && active {
                closes.push(at);
            }
            active = now_active;
        }
        // A stream query commits its offsets after each batch (after its checkpoint), and a batch
        // takes what was fetched up to `maxOffsetsPerTrigger`.
        let mut config = group.clone();
        if let Some(o) = &group.output {
            // Kafka Streams commits every `commit.interval.ms` (through the producer), and reads
            // `read_committed` under exactly-once (`StreamsConfig.CONSUMER_EOS_OVERRIDES`).
            config.commit = CommitMode::Auto;
            config.auto_commit_interval_ms = o.commit_interval_ms();
            if o.exactly_once() {
                config.isolation_level = crate::scenario::IsolationLevel::ReadCommitted;
            }
        }
        if let Some(q) = &group.stream {
            config.commit = CommitMode::AfterProcessing;
            config.max_poll_records = q.max_offsets_per_trigger.map_or(u32::MAX, |m| m.min(u64::from(u32::MAX)) as u32);
        }
        Consumer {
            processing_rng: RandomStream::new(seed, &format!("consumer/{name}/processing")),
            member_ids: RandomStream::new(seed, &format!("consumer/{name}/member-id")),
            name,
            group: group_index,
            member,
            stream: group.stream.as_ref().map(MicroBatchQuery::new),
            trigger_armed: None,
            output_producer: None,
            committed_before_join: false,
            unstable_since: None,
            config,
            end,
            strategies,
            cooperative,
            kip848,
            heartbeat_interval: SimDuration::from_ms(CONSUMER_HEARTBEAT_INTERVAL_MS),
            next_heartbeat_at: SimTime::ZERO,
            heartbeat_timer_at: None,
            ack_needed: false,
            ack_after_commit: None,
            starts,
            closes,
            app: App::Stopped,
            last_poll: SimTime::ZERO,
            last_auto_commit: SimTime::ZERO,
            work: Work::default(),
            poll_rotation: 0,
            buffered: false,
            unpositioned: false,
            coordinator: None,
            find_pending: None,
            find_broker: member % metadata.brokers.max(1),
            find_backoff_until: SimTime::ZERO,
            member_id: String::new(),
            generation: -1,
            membership: Membership::Unjoined,
            membership_sent: SimTime::ZERO,
            pending_assignment: None,
            rejoin_needed: false,
            left_on_poll_timeout: false,
            heartbeat_pending: None,
            last_heartbeat_ok: SimTime::ZERO,
            commits: Vec::new(),
            offset_fetch_pending: None,
            close_requested: false,
            exit_on_close: false,
            close_committed: false,
            failed: None,
            owned: Vec::new(),
            leaders: (0..n).map(|p| metadata.initial_state(p).leader).collect(),
            leader_epochs: vec![0; n as usize],
            partition_counts: metadata.topics.iter().map(|t| t.initial_partitions).collect(),
            assignment_snapshot: None,
            outstanding: vec![None; metadata.brokers as usize],
            reconnect_failures: vec![0; metadata.brokers as usize],
            list_offsets_pending: vec![None; metadata.brokers as usize],
            validations_pending: vec![None; metadata.brokers as usize],
            validation_needed: false,
            metadata_requests: super::MetadataRequests::new(member, metadata.brokers),
            next_request_id: 0,
            records_consumed: 0,
            position_resets: 0,
            truncations_detected: 0,
            commit_failures: 0,
            read_past_high_watermark: Vec::new(),
            metadata: metadata.clone(),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx) {
        for &t in &self.starts {
            ctx.set_timer_at(t, Timer::MemberStart);
        }
        for &t in &self.closes {
            ctx.set_timer_at(t, Timer::MemberClose);
        }
    }

    /// A slow-processing fault: every record from now on takes `us` (no more jitter).
    pub fn set_processing_us(&mut self, us: u64) {
        self.config.processing_us = us;
        self.config.processing_us_max = None;
    }

    /// Whether the member runs now.
    pub fn is_running(&self) -> bool {
        self.app != App::Stopped
    }

    /// The stream query this member runs, if its group has `stream`.
    pub fn stream_query(&self) -> Option<&MicroBatchQuery> {
        self.stream.as_ref()
    }

    /// The owned partitions and their positions.
    pub fn positions(&self) -> impl Iterator<Item = (u32, Option<u64>)> + '_ {
        self.owned.iter().map(|o| (o.partition, o.position))
    }

    /// The leader of global partition `p` as this member knows it.
    pub fn leader_of(&self, p: u32) -> Option<u32> {
        self.leaders[p as usize]
    }

    fn start(&mut self, ctx: &mut Ctx) {
        if self.app != App::Stopped {
            return;
        }
        if self.kip848 {
            self.new_member_id();
            ctx.notable("consumer start", || {
                format!("group={} group.protocol=consumer member id {}", self.config.name, self.member_id)
            });
        } else {
            ctx.notable("consumer start", || {
                format!(
                    "group={} strategies=[{}] ({})",
                    self.config.name,
                    self.strategies.iter().map(|s| s.name()).collect::<Vec<_>>().join(","),
                    if self.cooperative { "cooperative" } else { "eager" }
                )
            });
        }
        self.app = App::Polling;
        self.last_poll = ctx.now();
        self.last_auto_commit = ctx.now();
        self.rejoin_needed = true;
        if self.kip848 {
            self.heartbeat_timer_at = None;
            self.arm_consumer_heartbeat(ctx.now() + self.heartbeat_interval, ctx);
        } else {
            ctx.set_timer(SimDuration::from_ms(self.config.heartbeat_interval_ms), Timer::Heartbeat);
        }
        ctx.set_timer(SimDuration::from_ms(WATCHDOG_MS), Timer::RequestTimeouts);
        self.metadata_requests.start_max_age(self.config.metadata_max_age_ms, self.end, ctx);
        if self.metadata.topics.iter().any(|t| t.initial_partitions < t.partitions) {
            // The member knows the metadata of the run's start; where topics may have grown
            // since, it asks, as a new consumer does before its first fetch.
            self.refresh_metadata(ctx);
        }
        self.poll(ctx);
    }

    /// `KafkaConsumer.close()`: auto-commit, revoke, LeaveGroup (dynamic members only). The
    /// application calls it from its poll loop, so a batch being processed is finished first.
    ///
    /// As `ConsumerCoordinator.close()` does, the commit is synchronous
    /// (`maybeAutoCommitOffsetsSync`, or the `commitSync` of an `onPartitionsRevoked`): the member
    /// keeps its partitions until the coordinator answers, then revokes them and leaves
    /// (`AbstractCoordinator.close` → `maybeLeaveGroup`). A failed commit does not stop the close.
    fn close(&mut self, ctx: &mut Ctx) {
        if self.app == App::Stopped {
            return;
        }
        if matches!(self.app, App::Processing | App::Committing) {
            self.close_requested = true;
            return;
        }
        let commits = self.config.commit == CommitMode::Auto || self.config.commit_on_revoke;
        if commits && !self.close_committed && !self.owned.is_empty() {
            self.close_committed = true;
            self.commit_positions(true, ctx);
            if self.app == App::Committing {
                // `after_sync_commit` polls again, and that poll finishes the close.
                self.close_requested = true;
                return;
            }
        }
        self.close_requested = false;
        self.close_committed = false;
        self.revoke_all("close", ctx);
        self.leave_group("closing", ctx);
        self.app = App::Stopped;
        ctx.notable("consumer close", || format!("group={}", self.config.name));
        if self.exit_on_close {
            ctx.exit();
        }
    }

    /// SIGTERM: the application's shutdown hook calls `close()` (after the batch in hand is
    /// processed), and the process exits when it returns. `Restart` starts it again.
    pub fn shutdown(&mut self, ctx: &mut Ctx) {
        self.exit_on_close = true;
        if self.app == App::Stopped {
            ctx.exit();
        } else {
            self.close(ctx);
        }
    }

    /// The process dies: what was processed by now counts, the rest of its work is lost.
    pub fn crash(&mut self, ctx: &mut Ctx) {
        if self.app == App::Stopped {
            return;
        }
        self.finish_work_until(ctx.now(), ctx);
        self.end_work();
        let now = ctx.now();
        for o in self.owned.drain(..) {
            ctx.metrics().groups.release(self.group, self.member, o.partition, now);
        }
        self.app = App::Stopped;
        if let Some(q) = &mut self.stream {
            // The batch under way writes nothing; the query restarts from its checkpoint.
            q.recover();
            let group = self.group;
            if let Some(b) = ctx.metrics().groups.stream_batches.iter_mut().rev().find(|b| b.group == group)
                && b.end > now
            {
                b.aborted = true;
                let id = b.id;
                ctx.notable("batch aborted", || {
                    format!("group={} batch={id}: nothing written or checkpointed; it runs again", self.config.name)
                });
            }
        }
    }

    /// Starts again after a crash, as a new process: a dynamic member joins with a new member
    /// id, a static one with its `group.instance.id`.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        let fresh = Consumer::new(self.group, &self.config, self.member, &self.metadata, 0, self.end);
        let rng = std::mem::replace(&mut self.processing_rng, fresh.processing_rng.clone());
        let member_ids = std::mem::replace(&mut self.member_ids, fresh.member_ids.clone());
        // The checkpoint is durable storage: a stream query's new process recovers it.
        let mut stream = self.stream.take();
        if let Some(q) = &mut stream {
            q.recover();
            let (name, state) = (&self.config.name, &q.state);
            ctx.notable("checkpoint", || {
                format!(
                    "group={name} recovered: next batch={} watermark={} open windows={}",
                    state.batch_id,
                    state.watermark.map_or("none".to_string(), |w| w.to_string()),
                    state.windows.len()
                )
            });
        }
        *self = Consumer {
            processing_rng: rng,
            member_ids,
            next_request_id: self.next_request_id,
            stream,
            output_producer: self.output_producer,
            ..fresh
        };
        // Timers set before the crash died with it: schedule the later starts and closes again,
        // and start now only if the member count says this member should be running.
        let now = ctx.now();
        for &t in self.starts.iter().filter(|&&t| t > now) {
            ctx.set_timer_at(t, Timer::MemberStart);
        }
        for &t in self.closes.iter().filter(|&&t| t > now) {
            ctx.set_timer_at(t, Timer::MemberClose);
        }
        let started = self.starts.iter().copied().filter(|&t| t <= now).max();
        let closed = self.closes.iter().copied().filter(|&t| t <= now).max();
        if started.is_some_and(|s| closed.is_none_or(|c| c < s)) {
            self.start(ctx);
        }
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        if self.app == App::Stopped {
            return;
        }
        match msg {
            Message::FetchResponse { request_id, partitions, batches } => {
                self.on_fetch_response(from, request_id, partitions, batches, ctx)
            }
            Message::ThrottledFetchResponse { request_id, throttle_ms } => {
                self.on_throttled_fetch(from, request_id, throttle_ms, ctx)
            }
            Message::MetadataResponse { request_id, leaders } => self.on_metadata(request_id, leaders, ctx),
            Message::ListOffsetsResponse { request_id, offsets } => {
                self.on_list_offsets(from, request_id, offsets, ctx)
            }
            Message::OffsetsForLeaderEpochResponse { request_id, partitions } => {
                self.on_epoch_end_offsets(from, request_id, partitions, ctx)
            }
            Message::GroupResponse { request_id, body, .. } => self.on_group_response(from, request_id, *body, ctx),
            Message::Disconnected { request_id } => self.on_disconnected(from, request_id, ctx),
            _ => {}
        }
        self.resume(ctx);
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        match timer {
            Timer::MemberStart => self.start(ctx),
            Timer::MemberClose => self.close(ctx),
            _ if self.app == App::Stopped => {}
            Timer::ProcessingDone => {
                let buffered = self.buffered;
                let quiet = self.on_processing_done(ctx);
                if quiet {
                    // Its poll found nothing and left nothing to do: `resume` would poll again
                    // at once, and that poll would only move the partition rotation on.
                    self.advance_poll_rotation();
                    // Every event the member handles ends with `fetch_all`, and what it looks at
                    // changes only when a poll empties buffers: with nothing buffered it would
                    // find every leader with a fetch out or nothing to fetch, as the last one did.
                    // (Finishing work does not touch fetch state; a quiet poll's assignment only
                    // drops partitions or adds ones without a position.)
                    if buffered {
                        self.fetch_all(ctx);
                    }
                    debug_assert!(!self.would_fetch(), "a quiet poll left something to fetch");
                    return;
                }
            }
            Timer::Heartbeat if self.kip848 => self.on_consumer_heartbeat_timer(ctx),
            Timer::Heartbeat => self.on_heartbeat_timer(ctx),
            Timer::FindCoordinator => self.find_coordinator(ctx),
            Timer::FetchAgain { broker } => {
                if let Some(out) = self.outstanding.get_mut(broker.index())
                    && out.is_some_and(|(id, _)| id == RECONNECTING || id == THROTTLED)
                {
                    *out = None;
                }
                self.fetch_all(ctx)
            }
            Timer::MetadataRefresh => self.refresh_metadata(ctx),
            Timer::MetadataMaxAge => self.metadata_requests.on_max_age(
                self.config.metadata_max_age_ms,
                self.end,
                &mut self.next_request_id,
                ctx,
            ),
            Timer::RequestTimeouts => {
                self.expire_requests(ctx);
                ctx.set_timer(SimDuration::from_ms(WATCHDOG_MS), Timer::RequestTimeouts);
            }
            _ => {}
        }
        self.resume(ctx);
    }

    /// After anything happened: a polling application tries again.
    fn resume(&mut self, ctx: &mut Ctx) {
        if self.app == App::Polling {
            self.poll(ctx);
        }
        if self.app != App::Stopped {
            if self.validation_needed {
                self.validate_positions(ctx);
            }
            self.fetch_all(ctx);
        }
    }

    // ----- the application thread ---------------------------------------------------------------

    /// `KafkaConsumer.poll()`: auto-commit, rebalance if needed, return buffered records.
    ///
    /// Returns whether the poll was *quiet*: it found no records, and polling again now (with
    /// nothing happening in between) would do nothing but move the partition rotation on.
    fn poll(&mut self, ctx: &mut Ctx) -> bool {
        let now = ctx.now();
        if self.close_requested {
            self.app = App::Polling;
            self.close(ctx);
            return false;
        }
        self.app = App::Polling;
        self.last_poll = now;
        if self.failed.is_some() {
            return false;
        }
        // `maybeAutoCommitOffsetsAsync`: the positions of what earlier polls returned. A
        // consume-transform-produce member commits synchronously instead, through its producer
        // (Kafka Streams' `commit.interval.ms`): it polls again once the commit is done.
        if self.auto_commit_due(now) {
            self.last_auto_commit = now;
            self.commit_positions(self.output_producer.is_some(), ctx);
            if self.app == App::Committing {
                return false;
            }
        }
        if let Some(assignment) = self.pending_assignment.take() {
            if self.kip848 {
                self.reconcile_consumer_assignment(assignment, ctx);
            } else {
                self.on_assignment(assignment, ctx);
            }
        }
        if self.rejoin_needed || self.membership == Membership::Unjoined {
            self.join_group(ctx);
            if self.app == App::Committing {
                return false; // it joins once the commit before it is answered
            }
        }
        if self.membership != Membership::Stable && !self.cooperative {
            return false; // an eager member waits for its assignment inside poll()
        }
        self.ensure_positions(ctx);
        debug_assert!(self.work.is_empty(), "the application polls only between works");
        if let Some(q) = &mut self.stream {
            // A stream query plans a batch once it knows where every partition ends (Spark asks
            // for the latest offsets): each has a position and an answered fetch.
            // A batch being replayed also waits until its whole range has been fetched.
            let unready =
                |o: &Owned| o.position.is_none() || !o.answered || o.replay_end.is_some_and(|e| o.fetch_position < e);
            if self.owned.is_empty() || self.owned.iter().any(unready) {
                return false;
            }
            // Its next batch waits for its trigger.
            if let Some(at) = q.wait_until(now) {
                if self.trigger_armed != Some(at) {
                    self.trigger_armed = Some(at);
                    ctx.set_timer_at(at, Timer::StreamTrigger);
                }
                return false;
            }
        }
        let records = self.take_records(ctx.metrics());
        if self.stream.is_some() {
            self.start_micro_batch(records, ctx);
        }
        if records == 0 {
            // A second poll would find the state this one leaves: no assignment to apply, no
            // join, no auto-commit due (at the same instant), positions already asked for,
            // and every positioned buffer emptied by `take_records`.
            return self.pending_assignment.is_none()
                && !self.rejoin_needed
                && self.membership == Membership::Stable
                && !self.auto_commit_due(now);
        }
        // Only an at-most-once member commits these (before processing); the others commit
        // the positions current when they commit.
        if self.config.commit == CommitMode::BeforeProcessing {
            let detect = self.config.detect_truncation;
            self.work.positions.extend(self.owned.iter().filter_map(|o| o.commit_entry(detect)));
        }
        ctx.detail("poll", || format!("records={records} generation={}", self.generation));
        let start = now + SimDuration::from_ms(self.config.poll_processing_ms);
        // Processing times: without jitter every record takes the same time (nothing to draw);
        // with jitter one draw per record, in order.
        let each = match self.config.processing_us_max {
            Some(max) if max > self.config.processing_us => None,
            _ => Some(SimDuration::from_us(self.config.processing_us)),
        };
        if each.is_none() {
            let mut t = start;
            for _ in 0..records {
                t = t + self.record_processing_time();
                self.work.done.push(t);
            }
        }
        let work = &mut self.work;
        (work.records, work.start, work.each, work.generation) = (records, start, each, self.generation);
        if self.stream.is_some() {
            self.run_micro_batch(ctx);
        }
        match self.config.commit {
            CommitMode::BeforeProcessing => {
                // At-most-once: the positions after this poll are committed before processing.
                self.commit_positions(true, ctx);
            }
            _ => self.process_next(ctx),
        }
        false
    }

    /// A stream query's trigger came and its batch took `records` rows: the next trigger counts
    /// from now, and with no rows a no-data batch runs if the watermark would move on (it only
    /// emits windows, and is checkpointed at once: it has no offsets to commit).
    fn start_micro_batch(&mut self, records: usize, ctx: &mut Ctx) {
        let Some(q) = &mut self.stream else { return };
        let now = ctx.now();
        q.triggered(now);
        if records == 0 && q.wants_no_data_batch() {
            let outcome = q.run_batch(&[]);
            q.checkpoint(Vec::new());
            let end = now + SimDuration::from_ms(self.config.poll_processing_ms);
            self.record_micro_batch(outcome, end, ctx);
        }
    }

    /// The records just polled are a stream query's batch: it counts their event times, and ends
    /// (writes its windows) when their processing does.
    fn run_micro_batch(&mut self, ctx: &mut Ctx) {
        let Some(q) = &mut self.stream else { return };
        let work = &self.work;
        let outcome = q.run_batch(&work.created[..work.records]);
        // The offset log: the range this batch reads, written before it runs.
        q.planned(outcome.id, self.owned.iter().filter_map(|o| o.position.map(|p| (o.partition, p))).collect());
        for o in &mut self.owned {
            o.replay_end = None;
        }
        let end = work.done_at(work.records - 1);
        self.record_micro_batch(outcome, end, ctx);
    }

    fn record_micro_batch(&self, o: crate::stream::BatchOutcome, end: SimTime, ctx: &mut Ctx) {
        let start = ctx.now();
        ctx.notable("micro-batch", || {
            let windows: Vec<String> = o.emitted.iter().map(|(from, to, n)| format!("[{from}, {to})={n}")).collect();
            format!(
                "group={} batch={} rows={} late={} watermark={} ends={end} emits {}",
                self.config.name,
                o.id,
                o.input_rows,
                o.late_rows,
                o.watermark.map_or("none".to_string(), |w| w.to_string()),
                if windows.is_empty() { "nothing".to_string() } else { windows.join(" ") }
            )
        });
        ctx.metrics().groups.stream_batches.push(crate::metrics::StreamBatch {
            group: self.group,
            id: o.id,
            start,
            end,
            watermark: o.watermark,
            input_rows: o.input_rows,
            late_rows: o.late_rows,
            emitted: o.emitted,
            aborted: false,
        });
    }

    /// Whether a poll at `now` auto-commits (`maybeAutoCommitOffsetsAsync`).
    fn auto_commit_due(&self, now: SimTime) -> bool {
        self.config.commit == CommitMode::Auto
            && self.membership == Membership::Stable
            && now.since(self.last_auto_commit) >= SimDuration::from_ms(self.config.auto_commit_interval_ms)
    }

    /// What a quiet poll (see [`Consumer::poll`]) repeated does: `take_records` with nothing to
    /// take starts the next poll one owned partition further.
    fn advance_poll_rotation(&mut self) {
        let n = self.owned.len();
        if n > 0 {
            let rotation = self.poll_rotation % n;
            self.poll_rotation = if rotation + 1 == n { 0 } else { rotation + 1 };
        }
    }

    fn record_processing_time(&mut self) -> SimDuration {
        let base = self.config.processing_us;
        let us = match self.config.processing_us_max {
            Some(max) if max > base => base + self.processing_rng.below(max - base + 1),
            _ => base,
        };
        SimDuration::from_us(us)
    }

    /// Processes the current work: to its end, or (per-record commits) its next record.
    fn process_next(&mut self, ctx: &mut Ctx) {
        if self.work.is_empty() {
            self.poll(ctx);
            return;
        }
        let work = &self.work;
        self.app = App::Processing;
        let at = match self.config.commit {
            CommitMode::PerRecord => work.done_at(work.recorded),
            _ => work.done_at(work.records - 1),
        };
        ctx.set_timer_at(at, Timer::ProcessingDone);
    }

    /// Returns whether it ended with a quiet poll (see [`Consumer::poll`]).
    fn on_processing_done(&mut self, ctx: &mut Ctx) -> bool {
        if self.app != App::Processing {
            return false;
        }
        let now = ctx.now();
        self.finish_work_until(now, ctx);
        if self.work.is_empty() {
            return false;
        }
        let work = &self.work;
        match self.config.commit {
            CommitMode::PerRecord => {
                // commitSync(offset + 1) of the record just processed.
                let (p, offset, epoch) = work_record(work, work.recorded - 1);
                let epoch = Some(epoch).filter(|_| self.config.detect_truncation);
                let left = work.recorded < work.records;
                if !left {
                    self.end_work();
                }
                self.send_commit(vec![(p, offset + 1, epoch)], true, ctx);
                if self.app != App::Committing && left {
                    self.process_next(ctx);
                }
                false
            }
            CommitMode::AfterProcessing => {
                self.end_work();
                if let Some(q) = &mut self.stream {
                    // The batch is done: the query checkpoints its state with its offsets.
                    q.checkpoint(self.owned.iter().filter_map(|o| o.commit_entry(true)).collect());
                }
                self.commit_positions(true, ctx);
                self.app != App::Committing && self.poll(ctx)
            }
            _ => {
                self.end_work();
                self.poll(ctx)
            }
        }
    }

    /// Records as processed every record of the current work whose processing has ended by `t`.
    fn finish_work_until(&mut self, t: SimTime, ctx: &mut Ctx) {
        let work = &mut self.work;
        if work.is_empty() {
            return;
        }
        let start = work.recorded;
        let k = work.done_by(t);
        if k == start {
            return;
        }
        work.recorded = k;
        let work = &self.work;
        let (group, member) = (self.group, self.member);
        let metrics = ctx.metrics();
        if !work.keys.is_empty() {
            key_order(work, start, k, group, metrics);
        }
        // Each chunk is a processing step. Consecutive chunks of one partition go on where the
        // previous one ended: they are recorded as one run of steps (the same as one by one).
        let mut run: Option<ProcessingRun> = None;
        for (chunk, lo, a, b) in work.chunks(start, k) {
            let (from, to) = (chunk.first_offset + (a - lo) as u64, chunk.first_offset + (b - lo) as u64);
            let at = work.done_at(b - 1);
            match &mut run {
                Some(r) if r.partition == chunk.partition && r.to == from && r.epoch == chunk.epoch => {
                    (r.to, r.last_at) = (to, at)
                }
                _ => {
                    let (partition, generation, epoch) = (chunk.partition, work.generation, chunk.epoch);
                    let next = ProcessingRun {
                        group,
                        partition,
                        member,
                        generation,
                        epoch,
                        from,
                        to,
                        first_at: at,
                        last_at: at,
                    };
                    if let Some(r) = run.replace(next) {
                        metrics.groups.processed(r);
                    }
                }
            }
        }
        if let Some(r) = run {
            metrics.groups.processed(r);
        }
        if !work.values.is_empty() {
            stream_samples(work, start, k, metrics);
        }
        if let Some(producer) = self.output_producer {
            self.forward(producer, start, k, ctx);
        }
        let work = &self.work;
        let metrics = ctx.metrics();
        // Records processed by the end of the run count as consumed (all at `t`). Records end in
        // order, so those are the first ones: records [start, consumed).
        let consumed = if work.done_at(k - 1) <= self.end {
            k
        } else {
            (start..k).find(|&r| work.done_at(r) > self.end).unwrap_or(k)
        };
        if consumed > start {
            metrics.consumed(t, (consumed - start) as u64);
            // Their end-to-end latencies, all observed at `t`.
            let mut sink = metrics.latency_sink(Latency::EndToEnd, t);
            let created = &work.created[start..consumed];
            match work.each {
                Some(each) => {
                    // `done_at` record after record: the same saturating sum.
                    let mut done = work.done_at(start);
                    for &created in created {
                        sink.record_ns(done.since(created).as_nanos());
                        done = done + each;
                    }
                }
                None => {
                    for (&done, &created) in work.done[start..consumed].iter().zip(created) {
                        sink.record_ns(done.since(created).as_nanos());
                    }
                }
            }
            drop(sink);
            if !metrics.group_e2e_latency.is_empty() {
                let done = (start..consumed).map(|r| work.done_at(r));
                let latencies = done.zip(created).map(|(done, &created)| done.since(created).as_nanos());
                metrics.group_latencies(self.group, latencies);
            }
        }
        self.records_consumed += (k - start) as u64;
    }

    /// Ends the current work, keeping its buffers for the next poll.
    fn end_work(&mut self) {
        self.work.clear();
    }

    /// Called when a synchronous commit has its answer.
    fn after_sync_commit(&mut self, ctx: &mut Ctx) {
        if self.app != App::Committing {
            return;
        }
        match (self.work.is_empty(), self.config.commit) {
            (false, CommitMode::BeforeProcessing | CommitMode::PerRecord) => self.process_next(ctx),
            _ => {
                self.poll(ctx);
            }
        }
    }
}

/// The partition and offset of record `r` of `work`.
/// Whether `request_id` is the request out to broker `b` in `slots` (one per broker); if it is,
/// the slot is cleared: its answer (or its failure) has come.
fn answered(slots: &mut [Option<(u64, SimTime)>], b: usize, request_id: u64) -> bool {
    let out = slots.get(b).copied().flatten().is_some_and(|(id, _)| id == request_id);
    if out {
        slots[b] = None;
    }
    out
}

fn work_record(work: &Work, r: usize) -> (u32, u64, u32) {
    let mut index = 0;
    for chunk in &work.polled {
        if r < index + chunk.count {
            return (chunk.partition, chunk.first_offset + (r - index) as u64, chunk.epoch);
        }
        index += chunk.count;
    }
    unreachable!("record {r} is in the work")
}

/// The stream samples of records `[a, b)` of `work`.
#[cold]
fn stream_samples(work: &Work, a: usize, b: usize, metrics: &mut Recorder) {
    for &(r, producer, value) in work.values.iter().filter(|v| (a..b).contains(&v.0)) {
        let (arrived, created) = (work.done_at(r), work.created[r]);
        metrics.stream_sample(StreamSample { arrived, created, producer, value });
    }
}

/// How often the member checks for timed-out requests, in ms.
const WATCHDOG_MS: u64 = 1000;
/// `request.timeout.ms` (consumer default 30000).
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// `retry.backoff.ms` (default 100).
const RETRY_BACKOFF_MS: u64 = 100;
/// A KIP-848 member's heartbeat interval until the coordinator's first answer says otherwise
/// (`group.consumer.heartbeat.interval.ms`'s default).
const CONSUMER_HEARTBEAT_INTERVAL_MS: u64 = 5000;
/// `reconnect.backoff.ms` and `reconnect.backoff.max.ms` (`CommonClientConfigs`): after a lost
/// connection the client waits this long before connecting to that broker again, doubling with
/// each failure in a row (Kafka adds ±20% jitter; not modelled).
const RECONNECT_BACKOFF_MS: u64 = 50;
const RECONNECT_BACKOFF_MAX_MS: u64 = 1000;
/// The request id that marks a broker's fetch slot as waiting to reconnect (no fetch goes out).
const RECONNECTING: u64 = u64::MAX;
/// In place of a fetch's request id while the client waits out a broker's throttle time.
const THROTTLED: u64 = u64::MAX - 1;
