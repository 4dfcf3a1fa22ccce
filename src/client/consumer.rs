//! A consumer group member: fetches its partitions from their leaders and processes the records.
//!
//! The member keeps one fetch outstanding per broker (as the Java consumer's `Fetcher` does),
//! reads only below the high watermark, and processes records one after another in a single
//! application thread (`processing_us` each); it fetches from a broker again once it has
//! processed that broker's last response. A record's end-to-end latency runs from its intended
//! send time to the end of its processing.
//!
//! Simplified for now: partitions are split evenly and statically (per topic, in ranges, like the
//! range assignor over members in index order); no group coordinator, heartbeats, rebalances or
//! offset commits yet (kafka-reference §4 arrives with the consumer-group model).

use crate::cluster::Metadata;
use crate::metrics::Latency;
use crate::protocol::Message;
use crate::scenario::ConsumerGroup;
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};

/// One member of a consumer group.
#[derive(Debug)]
pub struct Consumer {
    pub name: String,
    pub group: u32,
    config: ConsumerGroup,
    /// Assigned global partitions and the position (next offset to read) of each.
    pub assigned: Vec<u32>,
    pub positions: Vec<u64>,
    leaders: Vec<NodeId>,
    /// Brokers this member fetches from, with the indices of `assigned` each leads.
    fetch_sessions: Vec<(NodeId, Vec<usize>)>,
    /// Request id of the fetch outstanding per session (`None`: none).
    outstanding: Vec<Option<u64>>,
    busy_until: SimTime,
    end: SimTime,
    next_request_id: u64,
    pub records_consumed: u64,
}

impl Consumer {
    /// Member `member` of group `group` (index `group_index`), with its static share of partitions.
    pub fn new(group_index: u32, group: &ConsumerGroup, member: u32, metadata: &Metadata, end: SimTime) -> Consumer {
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
        let leaders = metadata.leaders.clone();
        let mut fetch_sessions: Vec<(NodeId, Vec<usize>)> = Vec::new();
        for (i, &p) in assigned.iter().enumerate() {
            let leader = leaders[p as usize];
            match fetch_sessions.iter_mut().find(|(b, _)| *b == leader) {
                Some((_, list)) => list.push(i),
                None => fetch_sessions.push((leader, vec![i])),
            }
        }
        fetch_sessions.sort_by_key(|(b, _)| *b);
        Consumer {
            name: format!("{}-{member}", group.name),
            group: group_index,
            config: group.clone(),
            positions: vec![0; assigned.len()],
            assigned,
            leaders,
            outstanding: vec![None; fetch_sessions.len()],
            fetch_sessions,
            busy_until: SimTime::ZERO,
            end,
            next_request_id: 0,
            records_consumed: 0,
        }
    }

    pub fn on_start(&mut self, metadata: &Metadata, ctx: &mut Ctx) {
        let partitions: Vec<String> = self.assigned.iter().map(|&p| metadata.partition_name(p)).collect();
        ctx.notable("assigned", || {
            format!(
                "group={} partitions=[{}] (static even split)",
                self.config.name,
                partitions.join(" ")
            )
        });
        for s in 0..self.fetch_sessions.len() {
            self.fetch(s, ctx);
        }
    }

    fn fetch(&mut self, session: usize, ctx: &mut Ctx) {
        let (broker, indices) = &self.fetch_sessions[session];
        let partitions = indices.iter().map(|&i| (self.assigned[i], self.positions[i])).collect();
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        self.outstanding[session] = Some(request_id);
        let broker = *broker;
        ctx.send(
            broker,
            Message::FetchRequest {
                request_id,
                group: self.group,
                partitions,
                min_bytes: self.config.fetch_min_bytes,
                max_wait_ms: self.config.fetch_max_wait_ms,
                max_partition_bytes: self.config.max_partition_fetch_bytes,
            },
        );
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        let Message::FetchResponse { request_id, partitions } = msg else {
            return;
        };
        let Some(session) = self.fetch_sessions.iter().position(|(b, _)| *b == from) else {
            return;
        };
        if self.outstanding[session] != Some(request_id) {
            return;
        }
        self.outstanding[session] = None;
        let now = ctx.now();
        let per_record = SimDuration::from_us(self.config.processing_us);
        let mut done = self.busy_until.max(now);
        let mut consumed = 0u64;
        for fetched in &partitions {
            let Some(i) = self.assigned.iter().position(|&p| p == fetched.partition) else {
                continue;
            };
            for (base, batch) in &fetched.batches {
                let skip = self.positions[i].saturating_sub(*base) as usize;
                for &t in batch.record_times.iter().skip(skip) {
                    done = done + per_record;
                    if done <= self.end {
                        // Filed under the interval the poll returned in (metrics run in event
                        // order); the latency itself runs to the end of processing.
                        let metrics = ctx.metrics();
                        metrics.consumed(now, 1);
                        metrics.latency(Latency::EndToEnd, now, done.since(t).as_nanos());
                        consumed += 1;
                    }
                }
                self.positions[i] = self.positions[i].max(base + batch.record_count());
            }
        }
        self.records_consumed += consumed;
        self.busy_until = done;
        if consumed > 0 {
            ctx.detail("poll", || format!("records={consumed} processed_by={done}"));
        }
        if done > now {
            ctx.set_timer_at(done, Timer::FetchAgain { broker: from });
        } else {
            self.fetch(session, ctx);
        }
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        if let Timer::FetchAgain { broker } = timer
            && let Some(session) = self.fetch_sessions.iter().position(|(b, _)| *b == broker)
            && self.outstanding[session].is_none()
        {
            self.fetch(session, ctx);
        }
    }

    /// The leader of global partition `p` as this member knows it.
    pub fn leader_of(&self, p: u32) -> NodeId {
        self.leaders[p as usize]
    }
}
