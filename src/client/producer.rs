//! The producer (Kafka's `KafkaProducer` + `RecordAccumulator` + `Sender`), kafka-reference §2.
//!
//! Each record arrives at its intended send time, gets a partition (keyed: murmur2; null key: the
//! 3.3+ built-in uniform sticky partitioner with adaptive partitioning, KIP-794) and is appended
//! to that partition's batch in the accumulator. The sender sends to a broker when one of the
//! partitions it leads has a sendable batch (full, or `linger.ms` passed) and fewer than
//! `max.in.flight.requests.per.connection` requests are unanswered; the request then carries the
//! first batch of *every* partition of that broker, up to `max.request.size`, starting at a
//! rotating index (`RecordAccumulator.drainBatchesForOneNode`).
//!
//! Simplified for now: no retries, idempotence, buffer.memory or metadata refresh (leaders never
//! move yet); sending costs no CPU time.

use std::rc::Rc;

use super::accumulator::Accumulator;
use super::partitioner::{BuiltInPartitioner, PartitionQueue, partition_for_key};
use crate::cluster::Metadata;
use crate::metrics::Latency;
use crate::protocol::{Message, RecordBatch};
use crate::scenario::{self, Acks};
use crate::sim::{Ctx, NodeId, RandomStream, SimTime, Timer};
use crate::workload::{ArrivalProcess, KeyGenerator};

/// A produce request waiting for its response.
#[derive(Debug)]
struct InFlight {
    request_id: u64,
    broker: u32,
    batches: Vec<(u32, Rc<RecordBatch>)>,
}

/// One producer client.
#[derive(Debug)]
pub struct Producer {
    pub name: String,
    index: u32,
    config: scenario::Producer,
    /// Global index of the topic's partition 0, and the partition count.
    first_partition: u32,
    num_partitions: u32,
    leaders: Vec<NodeId>,
    /// Local partitions led by each broker.
    partitions_by_broker: Vec<Vec<u32>>,
    drain_index: Vec<usize>,
    arrival: ArrivalProcess,
    keys: KeyGenerator,
    /// Partition and length of each key (hashing once per key, not per record).
    key_info: Vec<(u32, u32)>,
    stop_at: SimTime,
    accumulator: Accumulator,
    /// Whether the accumulator ever made a deque for the partition (Kafka's batches map entry).
    deque_exists: Vec<bool>,
    builtin: BuiltInPartitioner,
    partitioner_rng: RandomStream,
    available: Vec<u32>,
    linger_timer_at: Option<SimTime>,
    in_flight: Vec<InFlight>,
    in_flight_per_broker: Vec<u32>,
    next_request_id: u64,
    sequences: Vec<u64>,
    pub records_sent: u64,
    pub requests_sent: u64,
}

impl Producer {
    pub fn new(index: u32, config: &scenario::Producer, metadata: &Metadata, seed: u64, end: SimTime) -> Producer {
        let t = metadata
            .topic_index(&config.topic)
            .expect("validated: the producer's topic exists");
        let topic = &metadata.topics[t];
        let n = topic.partitions;
        let leaders: Vec<NodeId> = (0..n).map(|p| metadata.leaders[(topic.first + p) as usize]).collect();
        let mut partitions_by_broker = vec![Vec::new(); metadata.brokers as usize];
        for (p, leader) in leaders.iter().enumerate() {
            partitions_by_broker[leader.index()].push(p as u32);
        }
        let stream = |what: &str| RandomStream::new(seed, &format!("producer/{}/{what}", config.name));
        let keys = KeyGenerator::new(&config.key, stream("key"));
        let key_info = (0..keys.key_count())
            .map(|k| (partition_for_key(keys.key(k), n), keys.key(k).len() as u32))
            .collect();
        let start = SimTime::from_ms(config.start_ms);
        let stop_at = config.stop_ms.map_or(end, |ms| SimTime::from_ms(ms).min(end));
        Producer {
            name: config.name.clone(),
            index,
            first_partition: topic.first,
            num_partitions: n,
            leaders,
            drain_index: vec![0; partitions_by_broker.len()],
            partitions_by_broker,
            arrival: ArrivalProcess::new(&config.arrival, start, stream("arrival")),
            keys,
            key_info,
            stop_at,
            accumulator: Accumulator::new(n as usize, config.batch_size, config.linger_ms),
            deque_exists: vec![false; n as usize],
            builtin: BuiltInPartitioner::new(config.batch_size.max(1)).expect("validated: batch_size fits a Java int"),
            partitioner_rng: stream("partitioner"),
            available: (0..n).collect(),
            linger_timer_at: None,
            in_flight: Vec::new(),
            in_flight_per_broker: vec![0; metadata.brokers as usize],
            next_request_id: 0,
            sequences: vec![0; n as usize],
            records_sent: 0,
            requests_sent: 0,
            config: config.clone(),
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
                "topic={} partitions={} acks={} linger_ms={} batch_size={} max_in_flight={}",
                self.config.topic,
                self.num_partitions,
                self.config.acks.kafka_name(),
                self.config.linger_ms,
                self.config.batch_size,
                self.config.max_in_flight_requests_per_connection
            )
        });
        if first < self.stop_at {
            ctx.set_timer_at(first, Timer::Arrival);
        }
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        match timer {
            Timer::Arrival => {
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
                for b in 0..self.partitions_by_broker.len() {
                    self.try_send(b, ctx);
                }
                self.arm_linger_timer(ctx);
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        let Message::ProduceResponse { request_id, results } = msg else {
            return;
        };
        let Some(i) = self.in_flight.iter().position(|r| r.request_id == request_id) else {
            return;
        };
        let request = self.in_flight.swap_remove(i);
        self.in_flight_per_broker[request.broker as usize] -= 1;
        let now = ctx.now();
        for ((p, batch), (_, result)) in request.batches.iter().zip(results) {
            debug_assert_eq!(Some(p), Some(p));
            match result {
                Ok(_) => self.complete(batch, now, ctx),
                Err(e) => {
                    ctx.metrics().failed(now, batch.record_count());
                    ctx.detail("produce_failed", || format!("{} {e:?}", self.partition_name(*p)));
                }
            }
        }
        self.try_send(from.index(), ctx);
    }

    fn partition_name(&self, global: u32) -> String {
        format!("{}-{}", self.config.topic, global - self.first_partition)
    }

    fn complete(&mut self, batch: &RecordBatch, now: SimTime, ctx: &mut Ctx) {
        let metrics = ctx.metrics();
        metrics.acked(now, batch.record_count());
        for &t in &batch.record_times {
            metrics.latency(Latency::Produce, now, now.since(t).as_nanos());
        }
    }

    /// One record arrives now: choose its partition, append it, maybe send.
    fn on_arrival(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let value = self.config.value_bytes;
        let (p, key_len) = match self.keys.next_key() {
            Some(k) => (self.key_info[k].0 as usize, Some(self.key_info[k].1)),
            None => (self.null_key_partition(now, value), None),
        };
        let appended = self.accumulator.append(p, now, key_len, value);
        self.deque_exists[p] = true;
        if key_len.is_none() {
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
        ctx.metrics().produced(now, 1);
        ctx.detail("record", || {
            format!(
                "{} new_batch={}",
                self.partition_name(self.first_partition + p as u32),
                appended.new_batch
            )
        });
        if self.accumulator.sendable(p, now) {
            let broker = self.leaders[p].index();
            self.try_send(broker, ctx);
        }
        // A new batch's linger deadline is later than every older batch's, so an armed timer
        // already fires first; otherwise this batch's deadline is the earliest one.
        if appended.new_batch && self.linger_timer_at.is_none() && self.accumulator.has_batch(p) {
            let deadline = now + self.accumulator.linger();
            self.linger_timer_at = Some(deadline);
            ctx.set_timer_at(deadline, Timer::Linger);
        }
    }

    /// The built-in partitioner's choice for a null-key record (`RecordAccumulator.append`):
    /// peek the sticky partition; if the record would open a new batch there, give the
    /// partitioner the chance to switch first (`updatePartitionInfo(0, enableSwitch=true)`).
    fn null_key_partition(&mut self, now: SimTime, value: u32) -> usize {
        let rng = &mut self.partitioner_rng;
        let mut random = || rng.next_u32();
        let mut p = self
            .builtin
            .peek_current_partition(self.num_partitions, &self.available, &mut random)
            .unwrap_or(0);
        if !self.accumulator.fits(p as usize, now, None, value)
            && self
                .builtin
                .update_partition_info(0, true, self.num_partitions, &self.available, &mut random)
        {
            p = self
                .builtin
                .peek_current_partition(self.num_partitions, &self.available, &mut random)
                .unwrap_or(0);
        }
        p as usize
    }

    /// Sets the linger timer for the earliest batch deadline still ahead (a scan of every
    /// partition, done once per timer fire), if earlier than the armed one.
    fn arm_linger_timer(&mut self, ctx: &mut Ctx) {
        if let Some(deadline) = self.accumulator.next_linger_deadline(ctx.now())
            && self.linger_timer_at.is_none_or(|armed| deadline < armed)
        {
            self.linger_timer_at = Some(deadline);
            ctx.set_timer_at(deadline, Timer::Linger);
        }
    }

    /// The sender for one broker: while it has a sendable batch and a free in-flight slot, drain
    /// one batch per partition into a request.
    fn try_send(&mut self, broker: usize, ctx: &mut Ctx) {
        let now = ctx.now();
        if self.keys.is_keyed() {
            // keyed producers never consult the adaptive partitioner
        } else {
            self.update_load_stats();
        }
        let max_in_flight = self.config.max_in_flight_requests_per_connection;
        loop {
            if self.in_flight_per_broker[broker] >= max_in_flight {
                return;
            }
            let parts = &self.partitions_by_broker[broker];
            if !parts.iter().any(|&p| self.accumulator.sendable(p as usize, now)) {
                return;
            }
            // drainBatchesForOneNode: one batch per partition from a rotating start.
            let mut batches = Vec::new();
            let mut size = 0u32;
            let start = self.drain_index[broker] % parts.len();
            for k in 0..parts.len() {
                let p = parts[(start + k) % parts.len()] as usize;
                let Some(first_size) = self.accumulator.first_size(p) else {
                    continue;
                };
                if !batches.is_empty() && size + first_size > self.config.max_request_size {
                    break;
                }
                let open = self.accumulator.take_first(p).expect("first_size saw a batch");
                size += open.size_bytes;
                let count = open.record_times.len() as u64;
                let batch = RecordBatch {
                    producer: self.index,
                    base_sequence: self.sequences[p],
                    record_times: open.record_times,
                    size_bytes: open.size_bytes,
                    created: open.created,
                };
                self.sequences[p] += count;
                batches.push((self.first_partition + p as u32, Rc::new(batch)));
                self.drain_index[broker] = (start + k + 1) % parts.len();
            }
            if batches.is_empty() {
                return;
            }
            let records: u64 = batches.iter().map(|(_, b)| b.record_count()).sum();
            self.records_sent += records;
            self.requests_sent += 1;
            let request_id = self.next_request_id;
            self.next_request_id += 1;
            ctx.metrics().produce_request(now, batches.len() as u64, records);
            ctx.detail("send", || {
                format!(
                    "request={request_id} batches={} records={records} bytes={size}",
                    batches.len()
                )
            });
            let leader = NodeId(broker as u32);
            if self.config.acks == Acks::Zero {
                // acks=0: no response; the record is done once sent.
                for (_, b) in &batches {
                    self.complete(b, now, ctx);
                }
                ctx.send(
                    leader,
                    Message::ProduceRequest {
                        request_id,
                        acks: self.config.acks,
                        batches,
                    },
                );
            } else {
                self.in_flight_per_broker[broker] += 1;
                self.in_flight.push(InFlight {
                    request_id,
                    broker: broker as u32,
                    batches: batches.clone(),
                });
                ctx.send(
                    leader,
                    Message::ProduceRequest {
                        request_id,
                        acks: self.config.acks,
                        batches,
                    },
                );
            }
        }
    }

    /// `RecordAccumulator.ready` → `updatePartitionLoadStats`: queue sizes for adaptive partitioning.
    fn update_load_stats(&mut self) {
        let queues: Vec<PartitionQueue> = (0..self.num_partitions)
            .filter(|&p| self.deque_exists[p as usize])
            .map(|p| PartitionQueue {
                partition: p,
                leader_known: true,
                queue_size: self.accumulator.queue_len(p as usize) as u32,
                leader_unavailable: false,
            })
            .collect();
        self.builtin
            .update_partition_load_stats_from_queues(true, self.num_partitions, &queues);
    }
}
