//! The producer (Kafka's `KafkaProducer` + `RecordAccumulator` + `Sender`), kafka-reference §2.
//!
//! Each record arrives at its intended send time, gets a partition (keyed: murmur2; null key: the
//! 3.3+ built-in uniform sticky partitioner with adaptive partitioning, KIP-794) and is appended
//! to that partition's batch in the accumulator. The sender sends to a broker when one of the
//! partitions it leads has a sendable batch (full, lingered, or a retry whose backoff passed) and
//! fewer than `max.in.flight.requests.per.connection` requests are unanswered; the request then
//! carries the first batch of *every* partition of that broker, up to `max.request.size`, from a
//! rotating start (`RecordAccumulator.drainBatchesForOneNode`).
//!
//! Failures (§2.5): a retriable error puts the batch back at the front of its partition, in
//! sequence order, after an exponential backoff with ±20% jitter (3.7+); `NOT_LEADER_OR_FOLLOWER`
//! and timeouts also refresh metadata from a broker. A request unanswered for
//! `request.timeout.ms` fails; a batch not acknowledged `delivery.timeout.ms` after it opened
//! fails for good. Idempotence (§2.6, §6.1): batches carry the producer id and per-partition
//! sequences so brokers drop duplicates; as in Kafka 4.x it is on by default unless acks≠all.
//!
//! After an unrecoverable sequence gap (`OUT_OF_ORDER_SEQUENCE_NUMBER` with nothing earlier
//! pending, e.g. after the leader's log was truncated) the producer bumps its epoch and restarts
//! that partition's sequences (KIP-360, Kafka ≥ 2.5).
//!
//! CPU (kafkasim's [`scenario::ProducerCpu`], off by default): the application thread's
//! `send()` costs time per record (and compression per KiB), the `Sender` thread per request,
//! batch and KiB. Records wait for the application thread in `pending`; the sender builds one
//! request per ready broker in a pass (`Sender.sendProducerData`) and each request leaves when it
//! is built. On one shared core the sender runs first whenever it has a request to build (it is
//! woken by new and full batches, linger deadlines and responses); a `send()` is never
//! interrupted. Work that costs nothing takes no turn on the core.
//!
//! `flush()` (`KafkaProducer.flush`): at each of `flush_at_ms` every batch becomes sendable
//! (`RecordAccumulator.beginFlush`) and the application thread blocks until every record it
//! appended before is done (`awaitFlushCompletion`); records created meanwhile wait.
//!
//! A producer a consume-transform-produce member owns has no arrivals: its member hands it the
//! records it processed and commits through it (see [`pipeline`]).
//!
//! Simplified: metadata only on errors (no `metadata.max.age.ms` refresh).

mod pipeline;
mod transactional;

use std::rc::Rc;

use super::accumulator::{Accumulator, Placement, record_fields};
use super::partitioner::{
    BuiltInPartitioner, PartitionQueue, RoundRobinPartitioner, StickyPartitionCache, partition_for_key,
};
use crate::check::AckedBatch;
use crate::cluster::Metadata;
use crate::metrics::Latency;
use crate::protocol::{KafkaError, Message, RecordBatch};
use crate::scenario::Partitioner;
use crate::scenario::{self, Acks};
use crate::sim::{Ctx, NodeId, RandomStream, SimDuration, SimTime, Timer};
use crate::workload::{ArrivalProcess, KeyGenerator, ValueSizeGenerator};

/// A record drawn at its arrival, waiting to be appended (while `send()` blocks on memory, the
/// application thread is busy, or a `flush()` blocks it).
#[derive(Clone, Copy, Debug)]
struct PendingRecord {
    created: SimTime,
    /// When the application calls `send()` for it (`max.block.ms` counts from here): its
    /// creation, or the end of the `flush()` it waited for.
    send_called: SimTime,
    key: Option<usize>,
    value: u32,
    /// A null value (a delete of its key: `tombstone_fraction`).
    tombstone: bool,
    payload: Option<i64>,
    /// A consume-transform-produce output record: its input record and the local partition it
    /// goes to.
    forwarded: Option<(u64, u32)>,
}

/// The CPU costs of [`scenario::ProducerCpu`], in ns.
#[derive(Clone, Copy, Debug)]
struct CpuCosts {
    /// One core for both threads.
    shared: bool,
    per_record_ns: u64,
    compression_per_kib_ns: u64,
    request_ns: u64,
    per_batch_ns: u64,
    per_kib_ns: u64,
}

/// A request the sender is building: it leaves at `at`.
#[derive(Debug)]
struct Building {
    at: SimTime,
    broker: usize,
    msg: Message,
}

/// A produce request waiting for its response.
#[derive(Debug)]
struct InFlight {
    request_id: u64,
    broker: u32,
    sent: SimTime,
    /// `(local partition, batch, attempts so far)`
    batches: Vec<(u32, Rc<RecordBatch>, u32)>,
}

/// Whether Kafka 4.x would run this producer idempotent (`postProcessAndValidateIdempotenceConfigs`:
/// on by default, silently off when acks≠all or retries=0 unless set explicitly; validation
/// rejects the explicit conflicts).
pub fn idempotent(config: &scenario::Producer) -> bool {
    config.enable_idempotence.unwrap_or(config.acks == Acks::All && config.retries > 0)
}

/// One producer client.
#[derive(Debug)]
pub struct Producer {
    pub name: String,
    index: u32,
    config: scenario::Producer,
    idempotent: bool,
    metadata: Rc<Metadata>,
    /// Global index of the topic's partition 0, and the partition count as this producer's
    /// metadata knows it (`cluster.partitionsForTopic(topic).size()`).
    first_partition: u32,
    num_partitions: u32,
    /// The most partitions the topic has in the run (the size of the per-partition arrays).
    max_partitions: u32,
    /// The leader of each local partition as this producer knows it, and its epoch.
    leaders: Vec<Option<u32>>,
    leader_epochs: Vec<u32>,
    /// Local partitions led by each broker (from `leaders`).
    partitions_by_broker: Vec<Vec<u32>>,
    drain_index: Vec<usize>,
    metadata_requests: super::MetadataRequests,
    arrival: ArrivalProcess,
    keys: KeyGenerator,
    values: ValueSizeGenerator,
    /// Draws each record's value (`payload`), from its own stream.
    payload: Option<(crate::scenario::Payload, RandomStream)>,
    /// Partition and length of each key (hashing once per key, not per record).
    key_info: Vec<(u32, u32)>,
    /// For a compacted topic, or one that gains partitions during the run: each key's
    /// [`crate::protocol::record_key`], which batches carry (for the log cleaner, and for the
    /// check of each key's order at the consumers).
    batch_keys: Option<Vec<u64>>,
    /// `tombstone_fraction` and the stream that draws which records are tombstones.
    tombstones: Option<(f64, RandomStream)>,
    stop_at: SimTime,
    accumulator: Accumulator,
    /// Whether the accumulator ever made a deque for the partition (Kafka's batches map entry).
    deque_exists: Vec<bool>,
    builtin: BuiltInPartitioner,
    /// The legacy null-key partitioners (`partitioner: StickyCache` or `RoundRobin`).
    sticky_cache: StickyPartitionCache,
    round_robin: RoundRobinPartitioner,
    partitioner_rng: RandomStream,
    retry_rng: RandomStream,
    available: Vec<u32>,
    linger_timer_at: Option<SimTime>,
    in_flight: Vec<InFlight>,
    /// Emptied `InFlight::batches` lists, reused for the next requests (one allocation fewer
    /// per request).
    spare_batch_lists: Vec<Vec<(u32, Rc<RecordBatch>, u32)>>,
    /// Scratch for `update_load_stats` (refilled on every call).
    load_queues: Vec<PartitionQueue>,
    in_flight_per_broker: Vec<u32>,
    /// Per broker: no request goes there before this time (its last throttle time, KIP-219's
    /// `ClusterConnectionStates.throttle`).
    throttled_until: Vec<SimTime>,
    next_request_id: u64,
    sequences: Vec<u64>,
    /// The producer epoch (bumped after an unrecoverable sequence gap, KIP-360).
    producer_epoch: u16,
    /// Bytes of `buffer.memory` held by batches not yet done.
    pool_used: u64,
    /// Records whose `send()` is blocked waiting for memory, in order.
    blocked: std::collections::VecDeque<PendingRecord>,
    /// Draining `blocked`: append without sending until the backlog is in.
    appending_backlog: bool,
    /// CPU costs (`None`: producing costs no time).
    cpu: Option<CpuCosts>,
    /// When the application thread and the sender are free (with one core, both wait for it).
    app_free_at: SimTime,
    sender_free_at: SimTime,
    /// `send()` was first called for the record at the front of `blocked` (with CPU costs).
    front_send_called: Option<SimTime>,
    /// Requests being built, in the order they leave.
    building: std::collections::VecDeque<Building>,
    /// Times a `Timer::ProducerCpu` is armed for.
    cpu_timers: std::collections::BTreeSet<SimTime>,
    /// Inside the CPU scheduler (wake-ups from within it are picked up by its loop).
    scheduling: bool,
    /// Records appended and not yet acknowledged or failed.
    unfinished_records: u64,
    /// The `flush()` in progress: when it was called.
    flushing: Option<SimTime>,
    /// `flush()` calls due while another was in progress.
    flushes_due: u32,
    /// Transactions (`None`: not a transactional producer).
    txn: Option<transactional::TxnClient>,
    /// A consume-transform-produce member's commit in progress (an output producer only).
    output_commit: Option<pipeline::OutputCommit>,
    /// A commit that arrived while `output_commit`'s transaction was still ending.
    output_commit_next: Option<pipeline::OutputCommit>,
    pub records_sent: u64,
    pub requests_sent: u64,
    pub retries_sent: u64,
    /// What it was made with (to make it again, see `reinitialize`).
    seed: u64,
    end: SimTime,
}

impl Producer {
    pub fn new(index: u32, config: &scenario::Producer, metadata: &Rc<Metadata>, seed: u64, end: SimTime) -> Producer {
        let t = metadata.topic_index(&config.topic).expect("validated: the producer's topic exists");
        let topic = &metadata.topics[t];
        let (n, max) = (topic.initial_partitions, topic.partitions);
        let stream = |what: &str| RandomStream::new(seed, &format!("producer/{}/{what}", config.name));
        let start = SimTime::from_ms(config.start_ms);
        let arrival = ArrivalProcess::new(&config.arrival, start, stream("arrival"), stream("arrival-state"));
        let keys = KeyGenerator::new(&config.key, stream("key")).with_extra_keys(arrival.replay_keys());
        let key_info =
            (0..keys.key_count()).map(|k| (partition_for_key(keys.key(k), n), keys.key(k).len() as u32)).collect();
        let stop_at = config.stop_ms.map_or(end, |ms| SimTime::from_ms(ms).min(end));
        let leaders = (0..max).map(|p| metadata.initial_state(topic.first + p).leader).collect();
        let mut producer = Producer {
            name: config.name.clone(),
            index,
            idempotent: idempotent(config),
            first_partition: topic.first,
            num_partitions: n,
            max_partitions: max,
            leaders,
            leader_epochs: vec![0; max as usize],
            partitions_by_broker: Vec::new(),
            drain_index: vec![0; metadata.brokers as usize],
            metadata_requests: super::MetadataRequests::new(0, metadata.brokers),
            arrival,
            payload: config.payload.clone().map(|p| (p, stream("payload"))),
            values: ValueSizeGenerator::new(config.value_bytes, config.value_size, stream("value")),
            key_info,
            batch_keys: (topic.compaction.is_some() || topic.initial_partitions < topic.partitions)
                .then(|| (0..keys.key_count()).map(|k| crate::protocol::record_key(keys.key(k), false)).collect()),
            tombstones: (config.tombstone_fraction > 0.0).then(|| (config.tombstone_fraction, stream("tombstones"))),
            keys,
            stop_at,
            accumulator: Accumulator::new(max as usize, config.batch_size, config.linger_ms),
            deque_exists: vec![false; max as usize],
            builtin: BuiltInPartitioner::new(config.batch_size.max(1)).expect("validated: batch_size fits a Java int"),
            sticky_cache: StickyPartitionCache::new(),
            round_robin: RoundRobinPartitioner::new(stream("partitioner/round-robin").next_u32()),
            partitioner_rng: stream("partitioner"),
            retry_rng: stream("retry"),
            available: Vec::new(),
            linger_timer_at: None,
            in_flight: Vec::new(),
            spare_batch_lists: Vec::new(),
            load_queues: Vec::new(),
            in_flight_per_broker: vec![0; metadata.brokers as usize],
            throttled_until: vec![SimTime::ZERO; metadata.brokers as usize],
            next_request_id: 0,
            sequences: vec![0; max as usize],
            producer_epoch: 0,
            pool_used: 0,
            blocked: std::collections::VecDeque::new(),
            appending_backlog: false,
            cpu: config.cpu.map(|c| CpuCosts {
                shared: c.cores <= 1,
                per_record_ns: c.per_record_ns,
                compression_per_kib_ns: c
                    .compression_per_kib_ns
                    .unwrap_or_else(|| config.compression_type.cpu_per_kib_ns()),
                request_ns: c.request_us * 1000,
                per_batch_ns: c.per_batch_us * 1000,
                per_kib_ns: c.per_kib_ns,
            }),
            app_free_at: SimTime::ZERO,
            sender_free_at: SimTime::ZERO,
            front_send_called: None,
            building: std::collections::VecDeque::new(),
            cpu_timers: std::collections::BTreeSet::new(),
            scheduling: false,
            unfinished_records: 0,
            flushing: None,
            flushes_due: 0,
            txn: config.transactions.map(|t| transactional::TxnClient::new(t, max, index, stream("transactions"))),
            output_commit: None,
            output_commit_next: None,
            records_sent: 0,
            requests_sent: 0,
            retries_sent: 0,
            seed,
            end,
            config: config.clone(),
            metadata: metadata.clone(),
        };
        producer.index_leaders();
        producer
    }

    fn index_leaders(&mut self) {
        self.partitions_by_broker = vec![Vec::new(); self.metadata.brokers as usize];
        self.available.clear();
        for (p, leader) in self.leaders.iter().enumerate().take(self.num_partitions as usize) {
            if let Some(b) = leader {
                self.partitions_by_broker[*b as usize].push(p as u32);
                self.available.push(p as u32);
            }
        }
    }

    /// Requests sent and not yet answered.
    pub fn in_flight_requests(&self) -> usize {
        self.in_flight.len()
    }

    pub fn on_start(&mut self, ctx: &mut Ctx) {
        let first = self.arrival.next_arrival();
        ctx.notable("start", || {
            format!(
                "topic={} partitions={} acks={} idempotent={} linger_ms={} batch_size={} max_in_flight={}{}",
                self.config.topic,
                self.num_partitions,
                self.config.acks.kafka_name(),
                self.idempotent,
                self.config.linger_ms,
                self.config.batch_size,
                self.config.max_in_flight_requests_per_connection,
                if self.txn.is_some() { format!(" transactional.id={}", self.name) } else { String::new() }
            )
        });
        if let Some(c) = self.cpu {
            ctx.notable("cpu", || {
                format!(
                    "cores={} per_record_ns={} compression_per_kib_ns={} request_ns={} per_batch_ns={} per_kib_ns={}",
                    if c.shared { 1 } else { 2 },
                    c.per_record_ns,
                    c.compression_per_kib_ns,
                    c.request_ns,
                    c.per_batch_ns,
                    c.per_kib_ns
                )
            });
        }
        if first < self.stop_at && !self.is_output() {
            ctx.set_timer_at(first, Timer::Arrival);
        }
        ctx.set_timer(SimDuration::from_ms(WATCHDOG_MS), Timer::RequestTimeouts);
        self.metadata_requests.start_max_age(self.config.metadata_max_age_ms, self.end, ctx);
        for &ms in &self.config.flush_at_ms {
            ctx.set_timer_at(SimTime::from_ms(ms), Timer::Flush);
        }
        self.start_transactions(ctx);
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        match timer {
            Timer::Arrival => {
                if ctx.now() >= self.stop_at {
                    return; // fenced since the timer was set
                }
                self.on_arrival(ctx);
                let next = self.arrival.next_arrival();
                if next < self.stop_at {
                    ctx.set_timer_at(next, Timer::Arrival);
                }
            }
            Timer::Linger => {
                if self.linger_timer_at != Some(ctx.now()) {
                    return; // superseded by an earlier deadline
                }
                self.linger_timer_at = None;
                self.send_all(ctx);
                self.arm_linger_timer(ctx);
            }
            Timer::RequestTimeouts => {
                self.expire(ctx);
                ctx.set_timer(SimDuration::from_ms(WATCHDOG_MS), Timer::RequestTimeouts);
            }
            Timer::MetadataRefresh => self.refresh_metadata(ctx),
            Timer::MetadataMaxAge => self.metadata_requests.on_max_age(
                self.config.metadata_max_age_ms,
                self.end,
                &mut self.next_request_id,
                ctx,
            ),
            Timer::ProducerCpu => {
                self.cpu_timers.remove(&ctx.now());
                self.run_threads(ctx);
            }
            Timer::Flush => self.begin_flush(ctx),
            Timer::TxnCommit => self.on_commit_timer(ctx),
            Timer::TxnRetry => self.on_txn_retry(ctx),
            Timer::Throttled { broker } if self.throttled_until[broker.index()] == ctx.now() => {
                self.send_to(broker.index(), ctx);
                self.arm_linger_timer(ctx);
            }
            _ => {}
        }
    }

    /// `KafkaProducer.flush`: every batch becomes sendable and the application thread waits for
    /// every record appended so far.
    fn begin_flush(&mut self, ctx: &mut Ctx) {
        if self.flushing.is_some() {
            // The application thread is still in the previous flush(): it calls this one as
            // soon as that one returns.
            self.flushes_due += 1;
            return;
        }
        let now = ctx.now();
        let records = self.unfinished_records;
        let text = || format!("flush() called with {records} records unfinished");
        if self.is_output() {
            ctx.detail("flush", text); // every commit of its member flushes
        } else if !self.txn_ending() {
            ctx.notable("flush", text);
        }
        self.flushing = Some(now);
        self.accumulator.flushing = true;
        if records == 0 {
            self.end_flush(ctx);
        } else {
            self.send_all(ctx);
        }
    }

    /// Records are done (acknowledged or failed for good); a flush waiting for them ends.
    fn finished(&mut self, records: u64, ctx: &mut Ctx) {
        self.unfinished_records = self.unfinished_records.saturating_sub(records);
        if self.unfinished_records == 0 && self.flushing.is_some() {
            self.end_flush(ctx);
        }
    }

    fn end_flush(&mut self, ctx: &mut Ctx) {
        if self.flushing.is_none() {
            return;
        }
        if self.txn_flush_done(ctx) {
            return; // commitTransaction() goes on: the coordinator must end the transaction
        }
        self.output_flushed(ctx);
        let Some(started) = self.flushing else { return };
        let now = ctx.now();
        let took = now.since(started);
        ctx.metrics().flushed(took.as_nanos());
        let text = || format!("flush() returned after {:.3} ms", took.as_nanos() as f64 / 1e6);
        if self.is_output() {
            ctx.detail("flush_done", text);
        } else {
            ctx.notable("flush_done", text);
        }
        self.return_from_flush(now, ctx);
    }

    /// The application thread returns from `flush()` (or from ending a transaction) and calls
    /// `send()` for the records that waited.
    fn return_from_flush(&mut self, now: SimTime, ctx: &mut Ctx) {
        self.flushing = None;
        self.accumulator.flushing = false;
        if self.flushes_due > 0 {
            self.flushes_due -= 1;
            self.begin_flush(ctx);
            return;
        }
        for r in self.blocked.iter_mut() {
            r.send_called = r.send_called.max(now);
        }
        if !self.blocked.is_empty() {
            self.unblock(ctx);
        }
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::Forward { records } => self.on_forward(records, ctx),
            Message::PipelineCommit { request_id, group, coordinator, member_id, generation, offsets } => {
                self.on_pipeline_commit(from, request_id, group, coordinator, member_id, generation, offsets, ctx)
            }
            Message::GroupResponse { request_id, body, .. } => self.on_group_response(request_id, *body, ctx),
            Message::PipelineAbort => self.abort_transaction(ctx),
            Message::Disconnected { request_id } => {
                if self.txn_disconnected(request_id, ctx) || self.output_disconnected(request_id, ctx) {
                    return;
                }
                if let Some(i) = self.in_flight.iter().position(|r| r.request_id == request_id) {
                    // The broker's process is gone: the request fails with NETWORK_EXCEPTION
                    // and its batches are retried (after a metadata refresh).
                    let request = self.in_flight.swap_remove(i);
                    self.in_flight_per_broker[request.broker as usize] -= 1;
                    ctx.detail("disconnected", || format!("request {request_id} to broker-{}", request.broker));
                    for (p, batch, attempts) in request.batches {
                        self.failed(p, batch, attempts, KafkaError::NetworkException, ctx);
                    }
                    self.send_all(ctx);
                    self.arm_linger_timer(ctx);
                } else if self.metadata_requests.disconnected(request_id) {
                    self.refresh_metadata(ctx);
                }
            }
            Message::ProduceResponse { request_id, results, throttle_ms } => {
                let Some(i) = self.in_flight.iter().position(|r| r.request_id == request_id) else {
                    return; // timed out earlier
                };
                let mut request = self.in_flight.swap_remove(i);
                self.note_throttle(request.broker as usize, throttle_ms, ctx);
                self.in_flight_per_broker[request.broker as usize] -= 1;
                for ((p, batch, attempts), (_, result)) in request.batches.drain(..).zip(results) {
                    match result {
                        Ok(offset) => self.complete(p, &batch, Some(offset), request.broker, ctx),
                        Err(e) => self.failed(p, batch, attempts, e, ctx),
                    }
                }
                request.batches.clear();
                self.spare_batch_lists.push(request.batches);
                self.send_to(from.index(), ctx);
                self.arm_linger_timer(ctx);
            }
            Message::TxnResponse { request_id, body } => self.on_txn_response(request_id, *body, ctx),
            Message::MetadataResponse { request_id, leaders } => {
                if !self.metadata_requests.answered(request_id, ctx.now()) {
                    return;
                }
                let range = self.first_partition..self.first_partition + self.max_partitions;
                let count = leaders.iter().filter(|l| range.contains(&l.0)).count() as u32;
                if count > self.num_partitions {
                    self.partitions_grew(count, ctx);
                }
                let mut changed = false;
                for (global, leader, epoch) in leaders {
                    if !range.contains(&global) {
                        continue;
                    }
                    let p = (global - self.first_partition) as usize;
                    if epoch >= self.leader_epochs[p] && (self.leaders[p] != leader || epoch != self.leader_epochs[p]) {
                        self.leaders[p] = leader;
                        self.leader_epochs[p] = epoch;
                        changed = true;
                    }
                }
                if changed {
                    self.index_leaders();
                    ctx.detail("metadata", || format!("leaders {:?}", self.leaders));
                }
                if self.leaders[..self.num_partitions as usize].iter().any(Option::is_none) {
                    // Keep asking while a partition has no leader (Kafka's metadata refresh on
                    // an unknown leader, every retry.backoff.ms).
                    ctx.set_timer(SimDuration::from_ms(self.config.retry_backoff_ms.max(1)), Timer::MetadataRefresh);
                }
                self.send_all(ctx);
                self.arm_linger_timer(ctx);
            }
            _ => {}
        }
    }

    /// The watchdog: request timeouts, delivery timeouts, stuck metadata requests.
    fn expire(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let request_timeout = SimDuration::from_ms(self.config.request_timeout_ms);
        let mut timed_out = Vec::new();
        let mut i = 0;
        while i < self.in_flight.len() {
            if now.since(self.in_flight[i].sent) >= request_timeout {
                timed_out.push(self.in_flight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        for request in timed_out {
            self.in_flight_per_broker[request.broker as usize] -= 1;
            ctx.detail("request_timeout", || format!("request {} to broker-{}", request.request_id, request.broker));
            for (p, batch, attempts) in request.batches {
                self.failed(p, batch, attempts, KafkaError::RequestTimedOut, ctx);
            }
        }
        if self.metadata_requests.expire(now, SimDuration::from_ms(METADATA_TIMEOUT_MS)) {
            self.refresh_metadata(ctx);
        }
        let delivery = SimDuration::from_ms(self.config.delivery_timeout_ms);
        if now.0 >= delivery.0 {
            for (p, batch) in self.accumulator.expire(now - delivery) {
                let records = batch.sealed.as_ref().map_or(batch.record_times.len() as u64, |b| b.record_count());
                let bytes = batch.sealed.as_ref().map_or(batch.write_limit, |b| b.allocated_bytes);
                self.release(bytes, ctx);
                ctx.metrics().failed(now, records);
                ctx.metrics().error("delivery timeout (TimeoutException)", records);
                ctx.detail("expired", || format!("{} records of {}", records, self.partition_name(p as u32)));
                self.txn_batch_failed();
                self.finished(records, ctx);
            }
        }
        self.expire_txn_request(ctx);
        self.expire_output_request(ctx);
        if !self.blocked.is_empty() {
            self.unblock(ctx);
        }
        self.send_all(ctx);
        self.arm_linger_timer(ctx);
    }

    fn refresh_metadata(&mut self, ctx: &mut Ctx) {
        self.metadata_requests.send(&mut self.next_request_id, ctx);
    }

    /// Metadata shows more partitions of the topic than the producer knew: the partitioners
    /// spread over them from now on, and keyed records go by `murmur2(key) % count`, so keys
    /// move (records already sent stay where they are).
    #[cold]
    #[inline(never)]
    fn partitions_grew(&mut self, count: u32, ctx: &mut Ctx) {
        let was = self.num_partitions;
        self.num_partitions = count;
        let mut moved = 0;
        for k in 0..self.key_info.len() {
            let p = partition_for_key(self.keys.key(k), count);
            moved += u64::from(p != self.key_info[k].0);
            self.key_info[k].0 = p;
        }
        let keys = self.key_info.len() as u64;
        ctx.notable("metadata", || {
            format!(
                "{} now has {count} partitions (was {was}): {moved} of {keys} keys go to another partition",
                self.config.topic
            )
        });
        let (client, at) = (self.name.clone(), ctx.now());
        ctx.metrics().partition_discoveries.push(crate::metrics::PartitionDiscovery {
            at,
            client,
            topic: self.config.topic.clone(),
            from: was,
            to: count,
            keys_moved: Some((moved, keys)),
        });
    }

    fn partition_name(&self, local: u32) -> String {
        format!("{}-{}", self.config.topic, local)
    }

    fn complete(&mut self, p: u32, batch: &RecordBatch, offset: Option<u64>, broker: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        if let Some(offset) = offset {
            let ack = AckedBatch {
                offset,
                records: batch.record_count(),
                acked_at: now,
                leader: broker,
                leader_epoch: self.leader_epochs[p as usize],
                acks: self.config.acks.kafka_name(),
            };
            ctx.history().acked(self.first_partition + p, batch, ack);
        }
        self.release(batch.allocated_bytes, ctx);
        let metrics = ctx.metrics();
        metrics.acked(now, batch.record_count());
        metrics.latencies(Latency::Produce, now, batch.record_times.iter().map(|&t| now.since(t).as_nanos()));
        self.finished(batch.record_count(), ctx);
    }

    /// A batch failed: retry it if Kafka would (`Sender.canRetry`), else count it failed.
    fn failed(&mut self, p: u32, batch: Rc<RecordBatch>, attempts: u32, e: KafkaError, ctx: &mut Ctx) {
        let now = ctx.now();
        ctx.metrics().error(e.name(), batch.record_count());
        if matches!(e, KafkaError::NotLeaderOrFollower | KafkaError::RequestTimedOut | KafkaError::NetworkException) {
            self.refresh_metadata(ctx);
        }
        // In a transaction a lost sequence is an abortable error (`TransactionManager`): the batch
        // fails, the transaction aborts, and the abort's epoch bump restarts the sequences.
        let abortable = self.txn.is_some() && e == KafkaError::OutOfOrderSequenceNumber;
        let batch = if !self.idempotent || abortable {
            batch
        } else if batch.producer_epoch < self.producer_epoch {
            // Sent before an epoch bump: it continues under the new epoch.
            self.renumber(p, &batch)
        } else if e == KafkaError::OutOfOrderSequenceNumber && !self.earlier_batch_pending(p, &batch) {
            // KIP-360 (Kafka ≥ 2.5): the broker lost the sequence this batch follows (a truncated
            // log). With nothing earlier still on its way, bump the producer epoch and restart
            // this partition's sequence from this batch; the broker accepts a new epoch afresh.
            self.producer_epoch += 1;
            self.sequences[p as usize] = 0;
            let epoch = self.producer_epoch;
            ctx.notable("epoch_bump", || {
                format!(
                    "{} producer epoch {epoch}: sequences restart after OUT_OF_ORDER_SEQUENCE_NUMBER",
                    self.partition_name(p)
                )
            });
            let first = self.renumber(p, &batch);
            for (queued, attempts, retry_at) in self.accumulator.take_sealed(p as usize) {
                let renumbered = self.renumber(p, &queued);
                self.accumulator.reenqueue(p as usize, renumbered, attempts, retry_at);
            }
            first
        } else {
            batch
        };
        let delivery_expired = now.since(batch.created) >= SimDuration::from_ms(self.config.delivery_timeout_ms);
        // A fenced producer's writes are refused for good (`ProducerFencedException` is fatal).
        let fatal = matches!(e, KafkaError::InvalidProducerEpoch | KafkaError::ProducerFenced);
        if fatal {
            self.fence(e, ctx);
        }
        if attempts < self.config.retries && !delivery_expired && !fatal && !abortable {
            let backoff = self.backoff(attempts + 1);
            ctx.detail("retry", || {
                format!(
                    "{} seq {} after {} ({} ms backoff)",
                    self.partition_name(p),
                    batch.base_sequence,
                    e.name(),
                    backoff.0 / 1_000_000
                )
            });
            self.accumulator.reenqueue(p as usize, batch, attempts + 1, now + backoff);
        } else {
            ctx.metrics().failed(now, batch.record_count());
            self.txn_batch_failed();
            self.release(batch.allocated_bytes, ctx);
            self.finished(batch.record_count(), ctx);
        }
    }

    /// The same records as a new batch under the current epoch, at this partition's next sequence.
    fn renumber(&mut self, p: u32, batch: &RecordBatch) -> Rc<RecordBatch> {
        let base_sequence = self.sequences[p as usize];
        self.sequences[p as usize] += batch.record_count();
        Rc::new(RecordBatch {
            producer: batch.producer,
            producer_epoch: self.producer_epoch,
            base_sequence,
            idempotent: batch.idempotent,
            record_times: batch.record_times.clone(),
            values: batch.values.clone(),
            extra: batch.extra.clone(),
            allocated_bytes: batch.allocated_bytes,
            size_bytes: batch.size_bytes,
            created: batch.created,
            transactional: batch.transactional,
            control: None,
        })
    }

    /// Whether a batch of `p` with a lower sequence in the same epoch is still in flight or
    /// waiting to be retried (then this batch's gap is that one's, not the broker's).
    fn earlier_batch_pending(&self, p: u32, batch: &RecordBatch) -> bool {
        let in_flight = self.in_flight.iter().flat_map(|r| &r.batches).any(|(q, b, _)| {
            *q == p && b.producer_epoch == batch.producer_epoch && b.base_sequence < batch.base_sequence
        });
        in_flight || self.accumulator.has_earlier_retry(p as usize, batch.producer_epoch, batch.base_sequence)
    }

    /// `ExponentialBackoff.backoff(attempts)` (3.7+): `retry.backoff.ms · 2^(attempts-1)` capped
    /// at `retry.backoff.max.ms`, with ±20% jitter; constant when max ≤ initial.
    fn backoff(&mut self, attempts: u32) -> SimDuration {
        let (initial, max) = (self.config.retry_backoff_ms, self.config.retry_backoff_max_ms);
        if max <= initial {
            return SimDuration::from_ms(max);
        }
        let exp = (attempts.saturating_sub(1)).min(30);
        let term = (initial as f64 * 2f64.powi(exp as i32)).min(max as f64);
        let jitter = 0.8 + 0.4 * self.retry_rng.unit_f64();
        SimDuration(((term * jitter).min(max as f64) * 1e6) as u64)
    }

    /// One record arrives now: choose its partition, append it, maybe send.
    fn on_arrival(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        // Everything random about the record is drawn now, at its intended send time, so the
        // streams stay the same whether or not the producer blocks (common random numbers).
        let row = self.arrival.replay_row().copied();
        let value = match row.and_then(|r| r.value_bytes) {
            Some(bytes) => bytes,
            None => self.values.next_bytes(),
        };
        let key = match row.and_then(|r| r.key) {
            Some(k) => Some(self.keys.extra_key(k as usize)),
            None => self.keys.next_key(),
        };
        let payload = self.payload.as_mut().map(|(crate::scenario::Payload::UniformInt { min, max }, rng)| {
            *min + rng.below((*max - *min) as u64 + 1) as i64
        });
        ctx.metrics().produced(now, 1);
        // Drawn after the others: a scenario without tombstones keeps its streams.
        let tombstone = self.tombstones.is_some() && self.draw_tombstone();
        let record = PendingRecord { created: now, send_called: now, key, value, tombstone, payload, forwarded: None };
        self.send_record(record, ctx);
    }

    /// A compacted or growing topic's record: its key goes into its batch.
    #[cold]
    #[inline(never)]
    fn push_batch_key(&mut self, p: usize, record: &PendingRecord) {
        if let (Some(keys), Some(k)) = (&self.batch_keys, record.key) {
            let tombstone = if record.tombstone { crate::protocol::TOMBSTONE } else { 0 };
            self.accumulator.push_key(p, keys[k] | tombstone);
        }
    }

    /// Whether the next record is a tombstone (`tombstone_fraction`), from its own stream.
    #[cold]
    #[inline(never)]
    fn draw_tombstone(&mut self) -> bool {
        self.tombstones.as_mut().is_some_and(|(fraction, rng)| rng.unit_f64() < *fraction)
    }

    /// The application calls `send()` for `record`: it is appended, or waits behind the
    /// application thread (CPU costs, `flush()`, `buffer.memory`).
    #[inline(always)] // on every arrival: as a call it cost 0.4% of the benchmark's instructions
    fn send_record(&mut self, record: PendingRecord, ctx: &mut Ctx) {
        if self.cpu.is_some() {
            // The application thread takes records in order, one send() at a time.
            self.blocked.push_back(record);
            self.run_threads(ctx);
        } else if self.flushing.is_some() {
            // flush() blocks the application thread: the record waits for it to return.
            self.blocked.push_back(record);
        } else if !self.blocked.is_empty() || self.try_append(&record, ctx).is_none() {
            // send() blocks the application thread: this record and every later one wait.
            self.blocked.push_back(record);
            self.accumulator.exhausted = true;
        }
    }

    /// Records waiting for `buffer.memory` go in, in order, while it allows; those that waited
    /// `max.block.ms` fail (`TimeoutException`).
    fn unblock(&mut self, ctx: &mut Ctx) {
        if self.cpu.is_some() {
            self.run_threads(ctx);
            return;
        }
        if self.flushing.is_some() {
            return; // the application thread is inside flush()
        }
        let now = ctx.now();
        let max_block = SimDuration::from_ms(self.config.max_block_ms);
        // The woken application thread appends what fits before the sender drains anything
        // (appends take microseconds; the sender runs after).
        self.appending_backlog = true;
        while let Some(record) = self.blocked.front() {
            if now.since(record.send_called) >= max_block {
                ctx.metrics().failed(now, 1);
                ctx.metrics().error("buffer.memory exhausted for max.block.ms (TimeoutException)", 1);
                self.blocked.pop_front();
                continue;
            }
            let record = *record;
            if self.try_append(&record, ctx).is_none() {
                break;
            }
            self.blocked.pop_front();
        }
        self.appending_backlog = false;
        self.accumulator.exhausted = !self.blocked.is_empty();
        self.send_all(ctx);
        self.arm_linger_timer(ctx);
    }

    /// Appends a record unless it needs a new batch and `buffer.memory` cannot hold one; returns
    /// the bytes it added to its batch.
    fn try_append(&mut self, record: &PendingRecord, ctx: &mut Ctx) -> Option<u32> {
        let now = ctx.now();
        let value = record.value;
        // The key's partition and length, looked up once.
        let key_info = record.key.map(|k| self.key_info[k]);
        let key_len = key_info.map(|(_, len)| len);
        let p = match (self.config.partitioner, key_info) {
            _ if record.forwarded.is_some() => record.forwarded.map_or(0, |(_, p)| p as usize),
            (Partitioner::Explicit(p), _) => p as usize,
            (Partitioner::StickyCache, _) => self.sticky_cache_partition(now, record.key, value),
            (_, Some((p, _))) => p as usize,
            (Partitioner::RoundRobin, None) => {
                self.round_robin.partition(self.num_partitions, &self.available).unwrap_or(0) as usize
            }
            (Partitioner::UniformSticky, None) => self.null_key_partition(now, value),
        };
        // A null value takes one byte (the varint -1), as an empty one does.
        let fields = record_fields(key_len, if record.tombstone { 0 } else { value });
        let placement = self.accumulator.place(p, now, fields);
        if let Placement::New { record_bytes } = placement {
            let bytes = self.accumulator.new_batch_bytes(record_bytes) as u64;
            if self.pool_used + bytes > self.config.buffer_memory {
                return None;
            }
            self.pool_used += bytes;
        }
        // A batch opens when send() appends to it. Records appended at their creation (or after
        // blocking on buffer.memory) date the batch from their creation, as before the CPU model.
        let at = if self.cpu.is_some() || record.send_called > record.created { now } else { record.created };
        // Placed at `now` above (for buffer.memory); a record appended at its earlier creation
        // time is placed again, as its timestamp delta may be smaller.
        let placement = if at == now { placement } else { self.accumulator.place(p, at, fields) };
        let appended = self.accumulator.append_placed(p, at, record.created, placement);
        self.unfinished_records += 1;
        self.txn_record_appended(p, ctx);
        if let Some(v) = record.payload {
            self.accumulator.push_value(p, v);
        }
        if let Some((source, _)) = record.forwarded {
            self.accumulator.push_source(p, source);
        }
        if self.batch_keys.is_some() {
            self.push_batch_key(p, record);
        }
        if appended.new_batch {
            // (A partition's first append always opens a batch.)
            self.deque_exists[p] = true;
        }
        if key_len.is_none() && self.config.partitioner == Partitioner::UniformSticky {
            // RecordAccumulator.append → builtInPartitioner.updatePartitionInfo(appendedBytes,
            // enableSwitch = allBatchesFull(deque))
            let enable_switch = self.accumulator.last_batch_full(p);
            let rng = &mut self.partitioner_rng;
            self.builtin.update_partition_info(
                appended.bytes,
                enable_switch,
                self.num_partitions,
                &self.available,
                &mut || rng.next_u32(),
            );
        }
        ctx.detail("record", || format!("{} new_batch={}", self.partition_name(p as u32), appended.new_batch));
        if !self.appending_backlog
            && self.accumulator.sendable(p, now)
            && let Some(broker) = self.leaders[p]
        {
            self.send_to(broker as usize, ctx);
        }
        // A new batch's linger deadline is later than every older batch's, so an armed timer
        // already fires first; otherwise this batch's deadline is the earliest one.
        if appended.new_batch && self.linger_timer_at.is_none() && self.accumulator.has_batch(p) {
            let deadline = now + self.accumulator.linger();
            self.linger_timer_at = Some(deadline);
            ctx.set_timer_at(deadline, Timer::Linger);
        }
        Some(appended.bytes)
    }

    /// A batch is done (acknowledged or failed for good): its `buffer.memory` comes back, and
    /// blocked records may go in.
    fn release(&mut self, batch_bytes: u32, ctx: &mut Ctx) {
        self.pool_used = self.pool_used.saturating_sub(batch_bytes as u64);
        if !self.blocked.is_empty() {
            self.unblock(ctx);
        }
    }

    /// The built-in partitioner's choice for a null-key record (`RecordAccumulator.append`):
    /// peek the sticky partition; if the record would open a new batch there, give the
    /// partitioner the chance to switch first (`updatePartitionInfo(0, enableSwitch=true)`).
    fn null_key_partition(&mut self, now: SimTime, value: u32) -> usize {
        let rng = &mut self.partitioner_rng;
        let mut random = || rng.next_u32();
        let mut p = self.builtin.peek_current_partition(self.num_partitions, &self.available, &mut random).unwrap_or(0);
        if !self.accumulator.fits(p as usize, now, None, value)
            && self.builtin.update_partition_info(0, true, self.num_partitions, &self.available, &mut random)
        {
            p = self.builtin.peek_current_partition(self.num_partitions, &self.available, &mut random).unwrap_or(0);
        }
        p as usize
    }

    /// Kafka 2.4–3.2 (`KafkaProducer.doSend` with `DefaultPartitioner`): a keyed record goes to
    /// its murmur2 partition, a null-key record to the sticky partition; if the record would open
    /// a new batch there, the append is aborted (`abortOnNewBatch`), `onNewBatch` may switch the
    /// sticky partition (for keyed records too, when theirs is the sticky one), and the record is
    /// partitioned again.
    fn sticky_cache_partition(&mut self, now: SimTime, key: Option<usize>, value: u32) -> usize {
        let rng = &mut self.partitioner_rng;
        let mut random = || rng.next_u32();
        let key_len = key.map(|k| self.key_info[k].1);
        let first = match key {
            Some(k) => self.key_info[k].0,
            None => self.sticky_cache.partition(self.num_partitions, &self.available, &mut random).unwrap_or(0),
        };
        if self.accumulator.fits(first as usize, now, key_len, value) {
            return first as usize;
        }
        self.sticky_cache.on_new_batch(self.num_partitions, &self.available, first, &mut random);
        match key {
            Some(_) => first as usize,
            None => {
                self.sticky_cache.partition(self.num_partitions, &self.available, &mut random).unwrap_or(0) as usize
            }
        }
    }

    /// Sets the linger timer for the earliest deadline still ahead (the accumulator keeps each
    /// partition's, so this reads one value per partition), if earlier than the armed one.
    #[inline]
    fn arm_linger_timer(&mut self, ctx: &mut Ctx) {
        // While that timer is armed, a deadline ahead earlier than it can only be one a first
        // batch got since the last look (time only moved on): without one, nothing to do.
        if let Some(armed) = self.linger_timer_at
            && self.accumulator.earliest_new_deadline() >= armed
        {
            return;
        }
        self.rearm_linger_timer(ctx);
    }

    /// [`Producer::arm_linger_timer`] when a deadline may be earlier than the armed timer.
    #[inline(never)]
    fn rearm_linger_timer(&mut self, ctx: &mut Ctx) {
        if let Some(deadline) = self.accumulator.next_linger_deadline(ctx.now())
            && self.linger_timer_at.is_none_or(|armed| deadline < armed)
        {
            self.linger_timer_at = Some(deadline);
            ctx.set_timer_at(deadline, Timer::Linger);
        }
    }

    /// A produce response's `throttle_time_ms` (the client's measure, `produce-throttle-time`):
    /// above zero the broker's quota was exceeded, and the producer sends nothing to it until
    /// the time has passed (KIP-219: `NetworkClient` marks the connection throttled).
    fn note_throttle(&mut self, broker: usize, throttle_ms: u64, ctx: &mut Ctx) {
        let totals = &mut ctx.metrics().totals;
        totals.produce_responses += 1;
        if throttle_ms == 0 {
            return;
        }
        totals.throttled_responses += 1;
        totals.throttle_ms_total += throttle_ms;
        totals.throttle_ms_max = totals.throttle_ms_max.max(throttle_ms);
        let until = ctx.now() + SimDuration::from_ms(throttle_ms);
        if until > self.throttled_until[broker] {
            self.throttled_until[broker] = until;
            ctx.set_timer_at(until, Timer::Throttled { broker: NodeId(broker as u32) });
        }
        ctx.detail("throttled", || format!("broker-{broker} throttles this client for {throttle_ms} ms"));
    }

    fn send_all(&mut self, ctx: &mut Ctx) {
        if self.cpu.is_some() {
            self.run_threads(ctx);
            return;
        }
        for b in 0..self.partitions_by_broker.len() {
            self.send_to(b, ctx);
        }
    }

    /// The sender for one broker: while it has a sendable batch and a free in-flight slot, drain
    /// one batch per partition into a request. With CPU costs the sender's own loop decides.
    fn send_to(&mut self, broker: usize, ctx: &mut Ctx) {
        if self.cpu.is_some() {
            self.run_threads(ctx);
            return;
        }
        if !self.keys.is_keyed() {
            self.update_load_stats();
        }
        while let Some((msg, _)) = self.drain_request(broker, ctx) {
            self.dispatch(broker, msg, ctx);
        }
    }

    /// The CPU scheduler (with [`CpuCosts`]): while a thread is free and has work, it does one
    /// unit of it, the sender first (a pass building one request per ready broker), then the
    /// application thread (one `send()`); on one core each waits for the other. Requests whose
    /// building is over leave. Arms a timer for when a busy thread frees up.
    fn run_threads(&mut self, ctx: &mut Ctx) {
        let Some(cpu) = self.cpu else { return };
        if self.scheduling {
            return; // a wake-up from inside the loop below: it looks again anyway
        }
        self.scheduling = true;
        let now = ctx.now();
        while self.building.front().is_some_and(|b| b.at <= now) {
            let b = self.building.pop_front().expect("front");
            self.dispatch(b.broker, b.msg, ctx);
        }
        loop {
            if self.sender_free_at <= now {
                if !self.keys.is_keyed() {
                    self.update_load_stats();
                }
                let mut busy = 0u64;
                for broker in 0..self.partitions_by_broker.len() {
                    if let Some((msg, cost)) = self.drain_request(broker, ctx) {
                        busy += cost;
                        self.building.push_back(Building { at: now + SimDuration(busy), broker, msg });
                    }
                }
                if busy > 0 {
                    ctx.metrics().producer_cpu(true, busy);
                    self.sender_free_at = now + SimDuration(busy);
                    if cpu.shared {
                        self.app_free_at = self.app_free_at.max(self.sender_free_at);
                    }
                    if let Some(first) = self.building.front() {
                        let at = first.at;
                        self.arm_cpu_timer(at, ctx);
                    }
                    self.arm_cpu_timer(self.sender_free_at, ctx);
                    continue;
                }
                // Requests that cost nothing went out at once.
                while let Some(b) = self.building.pop_front() {
                    self.dispatch(b.broker, b.msg, ctx);
                }
            }
            if self.app_free_at <= now && self.flushing.is_none() && !self.blocked.is_empty() {
                match self.app_send(cpu, ctx) {
                    Some(0) => continue,
                    Some(cost) => {
                        ctx.metrics().producer_cpu(false, cost);
                        self.app_free_at = now + SimDuration(cost);
                        if cpu.shared {
                            self.sender_free_at = self.sender_free_at.max(self.app_free_at);
                        }
                        self.arm_cpu_timer(self.app_free_at, ctx);
                        continue;
                    }
                    None => {} // blocked on buffer.memory
                }
            }
            break;
        }
        self.scheduling = false;
        self.arm_linger_timer(ctx);
    }

    fn arm_cpu_timer(&mut self, at: SimTime, ctx: &mut Ctx) {
        if at > ctx.now() && self.cpu_timers.insert(at) {
            ctx.set_timer_at(at, Timer::ProducerCpu);
        }
    }

    /// The application thread's next `send()`: appends the first waiting record and returns its
    /// CPU time; `None` while `buffer.memory` has no room for it (after `max.block.ms` it fails).
    fn app_send(&mut self, cpu: CpuCosts, ctx: &mut Ctx) -> Option<u64> {
        let now = ctx.now();
        let record = *self.blocked.front()?;
        let called = *self.front_send_called.get_or_insert(record.send_called.max(now));
        match self.try_append(&record, ctx) {
            Some(bytes) => {
                self.blocked.pop_front();
                self.front_send_called = None;
                self.accumulator.exhausted = false;
                Some(cpu.per_record_ns + cpu.compression_per_kib_ns * bytes as u64 / 1024)
            }
            None if now.since(called) >= SimDuration::from_ms(self.config.max_block_ms) => {
                ctx.metrics().failed(now, 1);
                ctx.metrics().error("buffer.memory exhausted for max.block.ms (TimeoutException)", 1);
                self.blocked.pop_front();
                self.front_send_called = None;
                Some(0)
            }
            None => {
                self.accumulator.exhausted = true;
                None
            }
        }
    }

    /// Drains one request for `broker` if one of its partitions has a sendable batch and it has
    /// a free in-flight slot (`drainBatchesForOneNode`: one batch per partition from a rotating
    /// start, skipping retries still backing off). Returns the request and the sender's CPU time
    /// to build it (0 without CPU costs). The request counts as in flight from now.
    // Inline: the sender asks for every broker on each pass, and most have nothing sendable;
    // only a request that goes out pays for the call to `build_request`.
    #[inline(always)]
    fn drain_request(&mut self, broker: usize, ctx: &mut Ctx) -> Option<(Message, u64)> {
        let now = ctx.now();
        let max_in_flight = self.config.max_in_flight_requests_per_connection;
        if self.in_flight_per_broker[broker] >= max_in_flight
            || self.throttled_until[broker] > now
            || !self.partitions_by_broker[broker].iter().any(|&p| self.accumulator.sendable(p as usize, now))
        {
            return None;
        }
        self.build_request(broker, ctx)
    }

    /// [`Producer::drain_request`] once `broker` has a free slot and a sendable batch.
    #[inline(never)]
    fn build_request(&mut self, broker: usize, ctx: &mut Ctx) -> Option<(Message, u64)> {
        let now = ctx.now();
        let parts = &self.partitions_by_broker[broker];
        let mut batches = self.spare_batch_lists.pop().unwrap_or_else(|| Vec::with_capacity(parts.len()));
        // The request's own list (the in-flight entry keeps `batches`), filled in the same pass.
        let mut wire: Vec<(u32, Rc<RecordBatch>)> = Vec::with_capacity(parts.len());
        let mut size = 0u32;
        let mut records = 0u64;
        let start = self.drain_index[broker] % parts.len();
        // parts[start..], then parts[..start]; `next` is the index after `p` (without a
        // division per partition).
        for k in 0..parts.len() {
            let i = if start + k < parts.len() { start + k } else { start + k - parts.len() };
            let next = if i + 1 < parts.len() { i + 1 } else { 0 };
            let p = parts[i] as usize;
            if !self.txn_allows_send(p) {
                continue;
            }
            let Some(first_size) = self.accumulator.drainable_size(p, now) else { continue };
            if !batches.is_empty() && size + first_size > self.config.max_request_size {
                break;
            }
            let open = self.accumulator.take_first(p).expect("drainable_size saw a batch");
            size += open.size_bytes;
            let (batch, attempts) = match open.sealed {
                Some(b) => {
                    self.retries_sent += 1;
                    ctx.metrics().retry();
                    (b, open.attempts)
                }
                None => {
                    let count = open.record_times.len() as u64;
                    // The records' wait in the accumulator (first attempts only).
                    ctx.metrics().drained(now, &open.record_times);
                    // compression.type: the records shrink, the batch header does not.
                    let ratio = self.config.compression_type.ratio();
                    let records_bytes = open.size_bytes.saturating_sub(super::RECORD_BATCH_OVERHEAD);
                    // Uncompressed, the float round trip is exact: skip it.
                    let compressed =
                        if ratio == 1.0 { records_bytes } else { (records_bytes as f64 * ratio).ceil() as u32 };
                    let wire_bytes = super::RECORD_BATCH_OVERHEAD + compressed;
                    let batch = RecordBatch {
                        producer: self.index,
                        producer_epoch: self.producer_epoch,
                        base_sequence: self.sequences[p],
                        idempotent: self.idempotent,
                        record_times: open.record_times,
                        values: open.values,
                        extra: (!open.sources.is_empty() || open.keys.is_some()).then(|| {
                            Box::new(crate::protocol::BatchExtra {
                                sources: open.sources,
                                keys: open.keys.map_or_else(Vec::new, |keys| *keys),
                                compacted: None,
                            })
                        }),
                        allocated_bytes: open.write_limit,
                        size_bytes: wire_bytes,
                        created: open.created,
                        transactional: self.txn.is_some(),
                        control: None,
                    };
                    self.sequences[p] += count;
                    (Rc::new(batch), 0)
                }
            };
            records += batch.record_count();
            wire.push((self.first_partition + p as u32, batch.clone()));
            batches.push((p as u32, batch, attempts));
            self.drain_index[broker] = next;
        }
        if batches.is_empty() {
            self.spare_batch_lists.push(batches);
            return None;
        }
        self.records_sent += records;
        self.requests_sent += 1;
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        ctx.metrics().produce_request(now, batches.len() as u64, records);
        ctx.detail("send", || {
            format!("request={request_id} to broker-{broker} batches={} records={records} bytes={size}", batches.len())
        });
        let cost = self.cpu.map_or(0, |c| {
            let wire: u64 = batches.iter().map(|(_, b, _)| b.size_bytes as u64).sum();
            c.request_ns + c.per_batch_ns * batches.len() as u64 + c.per_kib_ns * wire / 1024
        });
        let msg = Message::ProduceRequest {
            request_id,
            acks: self.config.acks,
            timeout_ms: self.config.request_timeout_ms,
            batches: wire,
        };
        if self.config.acks != Acks::Zero {
            self.in_flight_per_broker[broker] += 1;
            self.in_flight.push(InFlight { request_id, broker: broker as u32, sent: now, batches });
        } else {
            batches.clear();
            self.spare_batch_lists.push(batches);
        }
        Some((msg, cost))
    }

    /// A built request leaves for its broker. With `acks=0` its records are done once sent (no
    /// response; no offset is known).
    fn dispatch(&mut self, broker: usize, msg: Message, ctx: &mut Ctx) {
        let acks_zero: Vec<(u32, Rc<RecordBatch>)> = match (&msg, self.config.acks) {
            (Message::ProduceRequest { batches, .. }, Acks::Zero) => {
                batches.iter().map(|(g, b)| (g - self.first_partition, b.clone())).collect()
            }
            _ => Vec::new(),
        };
        ctx.send(Metadata::broker_node(broker as u32), msg);
        for (p, b) in acks_zero {
            self.complete(p, &b, None, broker as u32, ctx);
        }
    }

    /// `RecordAccumulator.ready` → `updatePartitionLoadStats`: queue sizes for adaptive partitioning.
    fn update_load_stats(&mut self) {
        let mut queues = std::mem::take(&mut self.load_queues);
        queues.clear();
        queues.extend((0..self.num_partitions).filter(|&p| self.deque_exists[p as usize]).map(|p| PartitionQueue {
            partition: p,
            leader_known: self.leaders[p as usize].is_some(),
            queue_size: self.accumulator.queue_len(p as usize) as u32,
            leader_unavailable: false,
        }));
        self.builtin.update_partition_load_stats_from_queues(true, self.num_partitions, &queues);
        self.load_queues = queues;
    }
}

/// How often the producer checks request and delivery timeouts, in ms.
const WATCHDOG_MS: u64 = 100;
/// A metadata request unanswered this long goes to the next broker.
const METADATA_TIMEOUT_MS: u64 = 1000;
