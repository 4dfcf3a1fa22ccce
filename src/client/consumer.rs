//! A consumer group member: fetches its partitions from their leaders and processes the records.
//!
//! The member keeps one fetch outstanding per leader broker (as the Java consumer's `Fetcher`
//! does), reads only below the high watermark, and processes records one after another in a
//! single application thread (`processing_us` each); it fetches from a broker again once it has
//! processed that broker's last response. A record's end-to-end latency runs from its intended
//! send time to the end of its processing. On `NOT_LEADER_OR_FOLLOWER` or a fetch unanswered for
//! `request.timeout.ms` it refreshes metadata and fetches from the new leader; on
//! `OFFSET_OUT_OF_RANGE` it resets its position (`auto.offset.reset=latest`: the high watermark).
//!
//! Simplified for now: partitions are split evenly and statically (per topic, in ranges, like the
//! range assignor over members in index order); no group coordinator, heartbeats, rebalances or
//! offset commits yet (kafka-reference §4 arrives with the consumer-group model).

use std::rc::Rc;

use crate::cluster::Metadata;
use crate::metrics::Latency;
use crate::protocol::{FetchPartition, KafkaError, Message};
use crate::scenario::ConsumerGroup;
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};

/// One member of a consumer group.
#[derive(Debug)]
pub struct Consumer {
    pub name: String,
    pub group: u32,
    config: ConsumerGroup,
    metadata: Rc<Metadata>,
    /// Assigned global partitions and the position (next offset to read) of each.
    pub assigned: Vec<u32>,
    pub positions: Vec<u64>,
    /// Leader of every global partition as this member knows it, and its epoch.
    leaders: Vec<Option<u32>>,
    leader_epochs: Vec<u32>,
    /// Outstanding fetch per broker: `(request id, sent)`.
    outstanding: Vec<Option<(u64, SimTime)>>,
    metadata_requests: super::MetadataRequests,
    busy_until: SimTime,
    end: SimTime,
    next_request_id: u64,
    pub records_consumed: u64,
    pub position_resets: u64,
}

impl Consumer {
    /// Member `member` of group `group` (index `group_index`), with its static share of partitions.
    pub fn new(
        group_index: u32,
        group: &ConsumerGroup,
        member: u32,
        metadata: &Rc<Metadata>,
        end: SimTime,
    ) -> Consumer {
        let mut assigned = Vec::new();
        for name in &group.topics {
            let t = &metadata.topics[metadata.topic_index(name).expect("validated: subscribed topics exist")];
            // RangeAssignor's split: member i gets q + (i < extra) partitions from q*i + min(i, extra).
            let (n, m) = (t.partitions, group.members);
            let (q, extra) = (n / m, n % m);
            let start = q * member + member.min(extra);
            let len = q + u32::from(member < extra);
            assigned.extend((start..start + len).map(|p| t.first + p));
        }
        let n = metadata.partition_count() as u32;
        Consumer {
            name: format!("{}-{member}", group.name),
            group: group_index,
            config: group.clone(),
            positions: vec![0; assigned.len()],
            assigned,
            leaders: (0..n).map(|p| metadata.initial_state(p).leader).collect(),
            leader_epochs: vec![0; n as usize],
            outstanding: vec![None; metadata.brokers as usize],
            metadata_requests: super::MetadataRequests::new(member, metadata.brokers),
            busy_until: SimTime::ZERO,
            end,
            next_request_id: 0,
            records_consumed: 0,
            position_resets: 0,
            metadata: metadata.clone(),
        }
    }

    pub fn on_start(&mut self, ctx: &mut Ctx) {
        let partitions: Vec<String> = self.assigned.iter().map(|&p| self.metadata.partition_name(p)).collect();
        ctx.notable("assigned", || {
            format!("group={} partitions=[{}] (static even split)", self.config.name, partitions.join(" "))
        });
        self.fetch_all(ctx);
        ctx.set_timer(SimDuration::from_ms(WATCHDOG_MS), Timer::RequestTimeouts);
    }

    /// The leader of global partition `p` as this member knows it.
    pub fn leader_of(&self, p: u32) -> Option<u32> {
        self.leaders[p as usize]
    }

    fn fetch_all(&mut self, ctx: &mut Ctx) {
        for b in 0..self.outstanding.len() as u32 {
            self.fetch(b, ctx);
        }
    }

    /// Fetches every assigned partition led by `broker`, unless a fetch to it is outstanding or
    /// the application is still processing.
    fn fetch(&mut self, broker: u32, ctx: &mut Ctx) {
        if self.outstanding[broker as usize].is_some() || self.busy_until > ctx.now() {
            return;
        }
        let partitions: Vec<FetchPartition> = self
            .assigned
            .iter()
            .zip(&self.positions)
            .filter(|&(&p, _)| self.leaders[p as usize] == Some(broker))
            .map(|(&p, &pos)| FetchPartition {
                partition: p,
                fetch_offset: pos,
                current_leader_epoch: self.leader_epochs[p as usize],
                last_fetched_epoch: None,
            })
            .collect();
        if partitions.is_empty() {
            return;
        }
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        self.outstanding[broker as usize] = Some((request_id, ctx.now()));
        ctx.send(
            Metadata::broker_node(broker),
            Message::FetchRequest {
                request_id,
                replica: None,
                group: self.group,
                partitions,
                min_bytes: self.config.fetch_min_bytes,
                max_wait_ms: self.config.fetch_max_wait_ms,
                max_partition_bytes: self.config.max_partition_fetch_bytes,
            },
        );
    }

    fn refresh_metadata(&mut self, ctx: &mut Ctx) {
        self.metadata_requests.send(&mut self.next_request_id, ctx);
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::FetchResponse { request_id, partitions } => {
                let broker = from.0 as usize;
                if self.outstanding.get(broker).copied().flatten().map(|o| o.0) != Some(request_id) {
                    return;
                }
                self.outstanding[broker] = None;
                let now = ctx.now();
                let per_record = SimDuration::from_us(self.config.processing_us);
                let mut done = self.busy_until.max(now);
                let mut consumed = 0u64;
                let mut refresh = false;
                for fetched in &partitions {
                    let Some(i) = self.assigned.iter().position(|&p| p == fetched.partition) else {
                        continue;
                    };
                    match fetched.error {
                        Some(KafkaError::OffsetOutOfRange) => {
                            // auto.offset.reset=latest
                            self.positions[i] = fetched.high_watermark.max(fetched.log_start_offset);
                            self.position_resets += 1;
                            continue;
                        }
                        Some(_) => {
                            refresh = true;
                            continue;
                        }
                        None => {}
                    }
                    for b in &fetched.batches {
                        let skip = self.positions[i].saturating_sub(b.base_offset) as usize;
                        for (k, &t) in b.batch.record_times.iter().enumerate().skip(skip) {
                            if let Some(&value) = b.batch.values.get(k) {
                                ctx.metrics().stream_sample(crate::metrics::StreamSample {
                                    arrived: now,
                                    created: t,
                                    producer: b.batch.producer,
                                    value,
                                });
                            }
                            done = done + per_record;
                            if done <= self.end {
                                // Filed under the interval the poll returned in (metrics run in
                                // event order); the latency itself runs to the end of processing.
                                let metrics = ctx.metrics();
                                metrics.consumed(now, 1);
                                metrics.latency(Latency::EndToEnd, now, done.since(t).as_nanos());
                                consumed += 1;
                            }
                        }
                        self.positions[i] = self.positions[i].max(b.base_offset + b.batch.record_count());
                    }
                }
                self.records_consumed += consumed;
                self.busy_until = done;
                if consumed > 0 {
                    ctx.detail("poll", || format!("records={consumed} processed_by={done}"));
                }
                if refresh {
                    self.refresh_metadata(ctx);
                }
                if done > now {
                    ctx.set_timer_at(done, Timer::FetchAgain { broker: from });
                } else {
                    self.fetch_all(ctx);
                }
            }
            Message::MetadataResponse { request_id, leaders } => {
                if !self.metadata_requests.answered(request_id) {
                    return;
                }
                for (p, leader, epoch) in leaders {
                    if epoch >= self.leader_epochs[p as usize] {
                        self.leaders[p as usize] = leader;
                        self.leader_epochs[p as usize] = epoch;
                    }
                }
                if self.assigned.iter().any(|&p| self.leaders[p as usize].is_none()) {
                    ctx.set_timer(SimDuration::from_ms(100), Timer::MetadataRefresh);
                }
                self.fetch_all(ctx);
            }
            _ => {}
        }
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        let now = ctx.now();
        match timer {
            Timer::FetchAgain { .. } => self.fetch_all(ctx),
            Timer::MetadataRefresh => self.refresh_metadata(ctx),
            Timer::RequestTimeouts => {
                let timeout = SimDuration::from_ms(REQUEST_TIMEOUT_MS);
                let mut expired = false;
                for o in &mut self.outstanding {
                    if o.is_some_and(|(_, sent)| now.since(sent) >= timeout) {
                        *o = None;
                        expired = true;
                    }
                }
                if self.metadata_requests.expire(now, SimDuration::from_ms(1000)) {
                    expired = true;
                }
                if expired {
                    self.refresh_metadata(ctx);
                    self.fetch_all(ctx);
                }
                ctx.set_timer(SimDuration::from_ms(WATCHDOG_MS), Timer::RequestTimeouts);
            }
            _ => {}
        }
    }
}

/// `request.timeout.ms` for fetches (consumer default 30000).
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// How often the member checks for timed-out requests, in ms.
const WATCHDOG_MS: u64 = 1000;
