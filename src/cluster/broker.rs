//! A broker: appends produce requests to the logs of the partitions it leads and answers fetches.
//!
//! Produce (`Partition.appendRecordsToLeader`, simplified): a batch for a partition this broker
//! leads is appended at the log end and the producer is answered with its base offset (`acks=0`
//! gets no answer). A batch for a partition it does not lead gets `NOT_LEADER_OR_FOLLOWER`.
//!
//! Fetch (`DelayedFetch`): the broker answers once `fetch.min.bytes` are available below the high
//! watermark, or when `fetch.max.wait.ms` runs out, whichever is first; each partition returns up
//! to `max.partition.fetch.bytes` (the first batch always).
//!
//! Simplified until the replication model lands: the high watermark is the leader's log end
//! offset, and request handling takes no CPU time.

use std::rc::Rc;

use crate::cluster::{Log, Metadata};
use crate::protocol::{FetchedPartition, Message, ProduceError};
use crate::scenario::Acks;
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};

/// A fetch waiting in purgatory for data or for its timeout.
#[derive(Debug)]
struct ParkedFetch {
    /// When `fetch.max.wait.ms` runs out.
    deadline: SimTime,
    from: NodeId,
    request_id: u64,
    partitions: Vec<(u32, u64)>,
    min_bytes: u32,
    max_partition_bytes: u32,
}

/// One broker.
#[derive(Debug)]
pub struct Broker {
    pub id: u32,
    metadata: Rc<Metadata>,
    /// Logs by global partition index (only the partitions this broker leads are ever written).
    logs: Vec<Log>,
    /// Last fetch offset of each subscribed group per partition (drives retention).
    group_offsets: Vec<Vec<u64>>,
    /// Parked fetches in the order they arrived.
    parked: Vec<ParkedFetch>,
    /// The armed expiry timer: one for the earliest deadline, not one per fetch, so that fetches
    /// answered early leave nothing behind in the event queue.
    expiry_armed_at: Option<SimTime>,
    pub produce_requests: u64,
    pub fetch_requests: u64,
}

impl Broker {
    pub fn new(id: u32, metadata: Rc<Metadata>) -> Broker {
        let n = metadata.partition_count();
        let group_offsets = (0..n)
            .map(|p| vec![0; metadata.topics[metadata.partition_topic[p] as usize].groups.len()])
            .collect();
        Broker {
            id,
            logs: (0..n).map(|_| Log::default()).collect(),
            metadata,
            group_offsets,
            parked: Vec::new(),
            expiry_armed_at: None,
            produce_requests: 0,
            fetch_requests: 0,
        }
    }

    /// Whether this broker leads the global partition `p`.
    pub fn leads(&self, p: u32) -> bool {
        self.metadata.leaders[p as usize] == NodeId(self.id)
    }

    /// The log of global partition `p` on this broker.
    pub fn log(&self, p: u32) -> &Log {
        &self.logs[p as usize]
    }

    /// The high watermark of partition `p` (the log end offset until replication lands).
    pub fn high_watermark(&self, p: u32) -> u64 {
        self.logs[p as usize].log_end_offset()
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::ProduceRequest {
                request_id,
                acks,
                batches,
            } => {
                self.produce_requests += 1;
                let mut results = Vec::with_capacity(batches.len());
                let mut touched = Vec::with_capacity(batches.len());
                for (p, batch) in batches {
                    if !self.leads(p) {
                        results.push((p, Err(ProduceError::NotLeaderOrFollower)));
                        continue;
                    }
                    let log = &mut self.logs[p as usize];
                    let base = log.append(batch);
                    if self.group_offsets[p as usize].is_empty() {
                        // Nobody will ever read this topic: keep nothing (bounded memory).
                        let end = log.log_end_offset();
                        log.trim_before(end);
                    }
                    results.push((p, Ok(base)));
                    touched.push(p);
                }
                if acks != Acks::Zero {
                    ctx.send(from, Message::ProduceResponse { request_id, results });
                }
                if !self.parked.is_empty() {
                    self.complete_parked(&touched, ctx);
                }
            }
            Message::FetchRequest {
                request_id,
                group,
                partitions,
                min_bytes,
                max_wait_ms,
                max_partition_bytes,
            } => {
                self.fetch_requests += 1;
                for &(p, offset) in &partitions {
                    self.note_group_offset(p, group, offset);
                }
                let fetch = ParkedFetch {
                    deadline: ctx.now() + SimDuration::from_ms(max_wait_ms),
                    from,
                    request_id,
                    partitions,
                    min_bytes,
                    max_partition_bytes,
                };
                if max_wait_ms == 0 || self.available_bytes(&fetch) >= min_bytes as u64 {
                    self.respond(&fetch, ctx);
                } else {
                    self.arm_expiry(fetch.deadline, ctx);
                    self.parked.push(fetch);
                }
            }
            other => ctx.notable("unexpected", || format!("{} from node {}", other.kind(), from.0)),
        }
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        if timer != Timer::FetchExpire || self.expiry_armed_at != Some(ctx.now()) {
            return; // superseded by an earlier deadline
        }
        self.expiry_armed_at = None;
        let now = ctx.now();
        let mut i = 0;
        while i < self.parked.len() {
            if self.parked[i].deadline <= now {
                let fetch = self.parked.remove(i);
                self.respond(&fetch, ctx);
            } else {
                i += 1;
            }
        }
        if let Some(next) = self.parked.iter().map(|f| f.deadline).min() {
            self.arm_expiry(next, ctx);
        }
    }

    /// Makes sure a `FetchExpire` fires by `deadline`.
    fn arm_expiry(&mut self, deadline: SimTime, ctx: &mut Ctx) {
        if self.expiry_armed_at.is_none_or(|armed| deadline < armed) {
            self.expiry_armed_at = Some(deadline);
            ctx.set_timer_at(deadline, Timer::FetchExpire);
        }
    }

    fn note_group_offset(&mut self, p: u32, group: u32, offset: u64) {
        let topic = &self.metadata.topics[self.metadata.partition_topic[p as usize] as usize];
        if let Some(slot) = topic.groups.iter().position(|&g| g == group) {
            let offsets = &mut self.group_offsets[p as usize];
            offsets[slot] = offset;
            let low = offsets.iter().copied().min().unwrap_or(0);
            self.logs[p as usize].trim_before(low);
        }
    }

    fn available_bytes(&self, fetch: &ParkedFetch) -> u64 {
        fetch
            .partitions
            .iter()
            .map(|&(p, offset)| self.logs[p as usize].bytes_between(offset, self.high_watermark(p)))
            .sum()
    }

    /// Answers parked fetches that the appends to `touched` partitions satisfied.
    fn complete_parked(&mut self, touched: &[u32], ctx: &mut Ctx) {
        let mut i = 0;
        while i < self.parked.len() {
            let f = &self.parked[i];
            let relevant = f.partitions.iter().any(|(p, _)| touched.contains(p));
            if relevant && self.available_bytes(f) >= f.min_bytes as u64 {
                let fetch = self.parked.remove(i);
                self.respond(&fetch, ctx);
            } else {
                i += 1;
            }
        }
    }

    fn respond(&self, fetch: &ParkedFetch, ctx: &mut Ctx) {
        let partitions = fetch
            .partitions
            .iter()
            .map(|&(p, offset)| {
                let high_watermark = self.high_watermark(p);
                let batches = self.logs[p as usize].read(offset, high_watermark, fetch.max_partition_bytes as u64);
                FetchedPartition {
                    partition: p,
                    high_watermark,
                    batches,
                }
            })
            .collect();
        ctx.send(
            fetch.from,
            Message::FetchResponse {
                request_id: fetch.request_id,
                partitions,
            },
        );
    }
}
