//! The member's fetcher (`Fetcher`/`FetchCollector` of the Java client, kafka-reference §4.4):
//! one fetch per leader broker for the owned partitions that have a position and nothing
//! buffered, a buffer `poll()` drains up to `max.poll.records`, metadata refresh on
//! `NOT_LEADER_OR_FOLLOWER` or a timeout, and position resets (`auto.offset.reset`) through
//! ListOffsets or on `OFFSET_OUT_OF_RANGE`.

use super::{Consumer, Owned, Polled, REQUEST_TIMEOUT_MS};
use crate::cluster::Metadata;
use crate::metrics::Recorder;
use crate::protocol::{
    FetchPartition, FetchedPartition, KafkaError, Message, OffsetSpec, ReplicatedBatch, each_fetched_partition,
};
use crate::scenario::{AutoOffsetReset, IsolationLevel};
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};

impl Consumer {
    /// Takes up to `max.poll.records` buffered records into the (empty) work's `polled`,
    /// partition after partition, starting with a different partition each time; returns how
    /// many.
    pub(super) fn take_records(&mut self, metrics: &mut Recorder) -> usize {
        let n = self.owned.len();
        if n == 0 {
            return 0;
        }
        if !self.buffered {
            // Most polls: the last one took everything, the next fetch is still out.
            self.advance_poll_rotation();
            return 0;
        }
        let max = self.config.max_poll_records as usize;
        let mut left = max;
        // A partition stopped at its replay end with records still buffered past it.
        let mut held_back = false;
        let work = &mut self.work;
        // Owned partitions from `poll_rotation` on, then the ones before it (the rotation may be
        // past the end after a revocation: it counts modulo the owned partitions).
        let rotation = self.poll_rotation % n;
        let (before, from) = self.owned.split_at_mut(rotation);
        for o in from.iter_mut().chain(before) {
            if left == 0 {
                break;
            }
            if o.buffer.is_empty() {
                continue;
            }
            let Some(mut position) = o.position else { continue };
            // A stream query replaying a batch reads exactly that batch's range.
            let limit = o.replay_end.unwrap_or(u64::MAX);
            while left > 0 {
                let Some((base, epoch, batch, aborted)) = o.buffer.front() else { break };
                let (base, epoch, end, aborted) = (*base, *epoch, *base + batch.offset_count(), *aborted);
                if end <= position {
                    o.buffer.pop_front();
                    continue;
                }
                if position >= limit {
                    held_back = true;
                    break;
                }
                if base > position {
                    // A compacted topic: the log cleaner removed the offsets before this batch.
                    metrics.groups.compacted_away(self.group, o.partition, position, base);
                    position = base;
                    continue;
                }
                let read_committed = self.config.isolation_level == IsolationLevel::ReadCommitted;
                if batch.transactional && (batch.control.is_some() || (aborted && read_committed)) {
                    // `CompletedFetch.nextFetchedRecord`: control records are never returned,
                    // and `read_committed` skips the records of aborted transactions; the
                    // position moves past them.
                    let to = end.min(limit);
                    if batch.control.is_none() {
                        metrics.aborted_records_skipped(to - position);
                    }
                    metrics.groups.passed_over(self.group, o.partition, epoch, position, to);
                    o.offset_epoch = Some(epoch);
                    position = to;
                    if position >= end {
                        o.buffer.pop_front();
                    }
                    continue;
                }
                // The records to hand over: `count` of them from record `from` of the batch, at
                // consecutive offsets from `position`.
                let (from, count) = match batch.compacted() {
                    None => (position.saturating_sub(base) as usize, ((end.min(limit) - position) as usize).min(left)),
                    Some(c) => {
                        // A batch the cleaner rewrote: its records at `position` on, which may
                        // have gaps between them (passed over as above).
                        let deltas = &c.offset_deltas;
                        let from = deltas.partition_point(|&d| base + u64::from(d) < position);
                        let next = deltas.get(from).map_or(end, |&d| base + u64::from(d));
                        if next > position {
                            let to = next.min(limit);
                            metrics.groups.compacted_away(self.group, o.partition, position, to);
                            position = to;
                            if position >= end {
                                o.buffer.pop_front();
                            }
                            continue;
                        }
                        // The run of consecutive offsets from `position`.
                        let mut count = 1;
                        while count < left
                            && from + count < deltas.len()
                            && deltas[from + count] == deltas[from + count - 1] + 1
                            && base + u64::from(deltas[from + count]) < limit
                        {
                            count += 1;
                        }
                        (from, count)
                    }
                };
                // What processing needs of the records: their intended send times (and values).
                if !batch.values.is_empty() {
                    let first = max - left;
                    work.values.extend(
                        (from..from + count)
                            .filter_map(|i| batch.values.get(i).map(|&v| (first + (i - from), batch.producer, v))),
                    );
                }
                let keys = batch.keys();
                if !keys.is_empty() || !work.keys.is_empty() {
                    // Records carrying their keys (for the key-order check); the others get none.
                    work.keys.resize(work.created.len(), (u32::MAX, 0));
                    match keys.get(from..from + count) {
                        Some(keys) => {
                            work.keys.extend(keys.iter().map(|&k| (batch.producer, k & !crate::protocol::TOMBSTONE)))
                        }
                        None => work.keys.resize(work.created.len() + count, (u32::MAX, 0)),
                    }
                }
                work.created.extend_from_slice(&batch.record_times[from..from + count]);
                work.polled.push(Polled { partition: o.partition, epoch, first_offset: position, count });
                o.offset_epoch = Some(epoch);
                position += count as u64;
                left -= count;
                if position >= end {
                    o.buffer.pop_front(); // returned to its end
                }
            }
            o.position = Some(position);
        }
        // `(poll_rotation + 1) % n` without a second division.
        self.poll_rotation = if rotation + 1 == n { 0 } else { rotation + 1 };
        if left > 0 && !held_back {
            // It went through every partition and took all that the positioned ones had.
            self.buffered = false;
        }
        max - left
    }

    /// Fetches from every leader of owned, positioned partitions with nothing buffered.
    pub(super) fn fetch_all(&mut self, ctx: &mut Ctx) {
        // Called after every event the member handles, and most of the time every broker has a
        // fetch out: only the others are looked at further.
        for b in 0..self.outstanding.len() {
            if self.outstanding[b].is_none() {
                self.fetch(b as u32, ctx);
            }
        }
    }

    /// Whether [`Consumer::fetch_all`] would send a fetch now (a debug check).
    pub(super) fn would_fetch(&self) -> bool {
        self.outstanding.iter().enumerate().any(|(b, out)| {
            out.is_none()
                && self.owned.iter().any(|o| self.fetchable(o) && self.leaders[o.partition as usize] == Some(b as u32))
        })
    }

    /// Whether an owned partition is fetched: positioned, not awaiting validation, and nothing
    /// buffered (a `KafkaConsumer` fetches a partition again only once `poll()` has returned what
    /// it buffered). A stream query fetches ahead whatever is buffered: a micro-batch reads up
    /// to the latest offsets when it starts, as Spark plans a batch up to them.
    fn fetchable(&self, o: &Owned) -> bool {
        o.position.is_some() && (o.buffer.is_empty() || self.stream.is_some()) && !o.awaiting_validation
    }

    /// Fetches from `broker` (which has no fetch out) the owned, positioned partitions it leads
    /// that have nothing buffered.
    #[inline(never)]
    fn fetch(&mut self, broker: u32, ctx: &mut Ctx) {
        let mut partitions = ctx.fetch_buffers().requests.take();
        partitions.extend(
            self.owned.iter().filter(|o| self.fetchable(o) && self.leaders[o.partition as usize] == Some(broker)).map(
                |o| FetchPartition {
                    partition: o.partition,
                    fetch_offset: o.fetch_position,
                    current_leader_epoch: self.leader_epochs[o.partition as usize],
                    last_fetched_epoch: None,
                },
            ),
        );
        if partitions.is_empty() {
            ctx.fetch_buffers().requests.give_back(partitions);
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
                read_committed: self.config.isolation_level == IsolationLevel::ReadCommitted,
            },
        );
    }

    pub(super) fn refresh_metadata(&mut self, ctx: &mut Ctx) {
        self.metadata_requests.send(&mut self.next_request_id, ctx);
    }

    /// A fetch answered empty with a throttle time (the member's `consumer_byte_rate`): nothing
    /// is fetched from that broker until it has passed (KIP-219), then the fetch goes again.
    pub(super) fn on_throttled_fetch(&mut self, from: NodeId, request_id: u64, throttle_ms: u64, ctx: &mut Ctx) {
        let broker = from.0 as usize;
        if !super::answered(&mut self.outstanding, broker, request_id) {
            return;
        }
        let totals = &mut ctx.metrics().totals;
        totals.throttled_fetch_responses += 1;
        totals.fetch_throttle_ms_max = totals.fetch_throttle_ms_max.max(throttle_ms);
        self.outstanding[broker] = Some((super::THROTTLED, ctx.now()));
        ctx.set_timer(SimDuration::from_ms(throttle_ms), Timer::FetchAgain { broker: from });
        ctx.detail("throttled", || format!("broker-{broker} throttles this member's fetches for {throttle_ms} ms"));
    }

    pub(super) fn on_fetch_response(
        &mut self,
        from: NodeId,
        request_id: u64,
        mut partitions: Vec<FetchedPartition>,
        mut batches: Vec<ReplicatedBatch>,
        ctx: &mut Ctx,
    ) {
        let broker = from.0 as usize;
        if !super::answered(&mut self.outstanding, broker, request_id) {
            return;
        }
        self.reconnect_failures[broker] = 0;
        let mut refresh = false;
        let mut reset = Vec::new();
        each_fetched_partition(&mut partitions, &mut batches, |fetched, fetched_batches| {
            let Some(o) = self.owned.iter_mut().find(|o| o.partition == fetched.partition) else { return };
            if o.position.is_none() || o.awaiting_validation {
                return; // a stale answer (from the old leader, while the position is validated)
            }
            o.answered = true;
            // (A partition with an error has no batches.)
            match fetched.error {
                Some(KafkaError::OffsetOutOfRange) => {
                    reset.push((o.partition, fetched.log_start_offset, fetched.high_watermark));
                    return;
                }
                Some(_) => {
                    refresh = true;
                    return;
                }
                None => {}
            }
            for b in fetched_batches {
                let end = b.base_offset + b.batch.offset_count();
                if end > fetched.high_watermark {
                    // Invariant: a consumer (read_uncommitted) never gets records at or above the
                    // high watermark of the leader that served them.
                    self.read_past_high_watermark.push((fetched.partition, end, fetched.high_watermark));
                }
                // (A batch may start past the fetch position on a compacted topic: the cleaner
                // removed the offsets between.)
                if end > o.fetch_position {
                    o.fetch_position = end;
                    o.buffer.push_back((b.base_offset, b.epoch, b.batch, b.aborted));
                    self.buffered = true;
                }
            }
        });
        ctx.fetch_buffers().give_back_response(partitions, batches);
        for (p, log_start, hw) in reset {
            if self.config.stream.as_ref().is_some_and(|q| q.fail_on_data_loss) {
                // Spark's Kafka source with `failOnDataLoss` (its default): the records the
                // query would read next are gone, and the query stops with an error.
                let position = self.owned.iter().find(|o| o.partition == p).and_then(|o| o.position);
                let name = self.metadata.partition_name(p);
                ctx.notable("query failed", || {
                    format!(
                        "group={} {name} offset {} is out of range (log start {log_start}): some data may have been lost because it is not available in Kafka any more (failOnDataLoss=true)",
                        self.config.name,
                        position.map_or("none".to_string(), |o| o.to_string())
                    )
                });
                let now = ctx.now();
                ctx.metrics().groups.stream_failures.push((now, self.group, p));
                self.fail(KafkaError::OffsetOutOfRange, ctx);
                break;
            }
            // `auto.offset.reset` on OFFSET_OUT_OF_RANGE.
            let to = match self.config.auto_offset_reset {
                AutoOffsetReset::Earliest => log_start,
                AutoOffsetReset::Latest => hw.max(log_start),
                AutoOffsetReset::ByDuration { .. } => {
                    // The position by timestamp comes from the leader (`ListOffsets`).
                    if let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) {
                        o.position = None;
                        o.buffer.clear();
                        self.unpositioned = true;
                    }
                    self.reset_positions(&[p], ctx);
                    continue;
                }
                AutoOffsetReset::None => {
                    if let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) {
                        o.no_offset = true;
                        o.position = None;
                    }
                    continue;
                }
            };
            self.set_position(p, to, true, ctx);
        }
        if refresh {
            self.refresh_metadata(ctx);
        }
    }

    /// Gives partition `p` a position (`reset`: by `auto.offset.reset`).
    fn set_position(&mut self, p: u32, offset: u64, reset: bool, ctx: &mut Ctx) {
        let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) else { return };
        let from = o.position;
        o.position = Some(offset);
        o.fetch_position = offset;
        o.buffer.clear();
        o.positioning = false;
        // A reset position has no epoch to validate (ListOffsets' epoch is not modelled).
        o.offset_epoch = None;
        o.awaiting_validation = false;
        o.validation_request = None;
        let group = self.group;
        ctx.metrics().groups.position_known(group, p, offset);
        if reset {
            self.position_resets += 1;
            let now = ctx.now();
            ctx.metrics().groups.resets.push((now, group, p, from, offset));
            let name = self.metadata.partition_name(p);
            ctx.notable("offset reset", || {
                format!(
                    "group={} {name} position {} → {offset} (auto.offset.reset={})",
                    self.config.name,
                    from.map_or("none".to_string(), |f| f.to_string()),
                    self.config.auto_offset_reset
                )
            });
        }
    }

    /// Partitions without a committed offset: `auto.offset.reset` through ListOffsets.
    pub(super) fn reset_positions(&mut self, partitions: &[u32], ctx: &mut Ctx) {
        let spec = match self.config.auto_offset_reset {
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::Latest => OffsetSpec::Latest,
            AutoOffsetReset::ByDuration { ms } => {
                OffsetSpec::Timestamp(SimTime(ctx.now().0.saturating_sub(SimDuration::from_ms(ms).0)))
            }
            AutoOffsetReset::None => {
                for &p in partitions {
                    if let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) {
                        o.no_offset = true;
                    }
                    let name = self.metadata.partition_name(p);
                    ctx.notable("no offset", || {
                        format!(
                            "group={} {name}: NoOffsetForPartitionException (auto.offset.reset=none)",
                            self.config.name
                        )
                    });
                }
                return;
            }
        };
        for b in 0..self.metadata.brokers {
            if self.list_offsets_pending[b as usize].is_some() {
                continue;
            }
            let asked: Vec<(u32, OffsetSpec)> =
                partitions.iter().filter(|&&p| self.leaders[p as usize] == Some(b)).map(|&p| (p, spec)).collect();
            if asked.is_empty() {
                continue;
            }
            for o in &mut self.owned {
                if asked.iter().any(|a| a.0 == o.partition) {
                    o.positioning = true;
                }
            }
            let request_id = self.next_request_id;
            self.next_request_id += 1;
            self.list_offsets_pending[b as usize] = Some((request_id, ctx.now()));
            ctx.send(Metadata::broker_node(b), Message::ListOffsetsRequest { request_id, partitions: asked });
        }
        // Partitions whose leader is unknown (or whose broker has a request out) try again on
        // the next OffsetFetch round.
    }

    pub(super) fn on_list_offsets(
        &mut self,
        from: NodeId,
        request_id: u64,
        offsets: Vec<(u32, Result<u64, KafkaError>)>,
        ctx: &mut Ctx,
    ) {
        let b = from.0 as usize;
        if !super::answered(&mut self.list_offsets_pending, b, request_id) {
            return;
        }
        for (p, result) in offsets {
            match result {
                Ok(offset) => {
                    let unset = self.owned.iter().any(|o| o.partition == p && o.position.is_none());
                    if unset {
                        self.set_position(p, offset, true, ctx);
                    }
                }
                Err(_) => {
                    if let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) {
                        o.positioning = false;
                        self.unpositioned = true;
                    }
                    self.refresh_metadata(ctx);
                }
            }
        }
    }

    pub(super) fn on_metadata(&mut self, request_id: u64, leaders: Vec<(u32, Option<u32>, u32)>, ctx: &mut Ctx) {
        if !self.metadata_requests.answered(request_id, ctx.now()) {
            return;
        }
        let counts: Vec<u32> = self
            .metadata
            .topics
            .iter()
            .map(|t| leaders.iter().filter(|l| (t.first..t.first + t.partitions).contains(&l.0)).count() as u32)
            .collect();
        if counts != self.partition_counts {
            self.partition_counts_changed(counts, ctx);
        }
        for (p, leader, epoch) in leaders {
            let known = self.leader_epochs[p as usize];
            if epoch >= known {
                self.leaders[p as usize] = leader;
                self.leader_epochs[p as usize] = epoch;
            }
            if epoch > known && self.config.detect_truncation {
                // `maybeValidatePositionForCurrentLeader`: a new leader epoch sends a position
                // with an epoch to validation; what was fetched from the old leader is dropped.
                if let Some(o) = self.owned.iter_mut().find(|o| o.partition == p)
                    && let Some(position) = o.position
                    && o.offset_epoch.is_some()
                {
                    o.awaiting_validation = true;
                    o.validation_request = None;
                    o.buffer.clear();
                    o.fetch_position = position;
                    self.validation_needed = true;
                }
            }
        }
        // Validations that failed (an error or a timeout) wait for this: try again.
        self.validation_needed |= self.owned.iter().any(|o| o.awaiting_validation && o.validation_request.is_none());
        if self.owned.iter().any(|o| self.leaders[o.partition as usize].is_none()) {
            ctx.set_timer(SimDuration::from_ms(100), Timer::MetadataRefresh);
        }
    }

    /// Metadata shows topics with more partitions than the member knew. A classic leader whose
    /// last assignment saw other counts rejoins (`ConsumerCoordinator.rejoinNeededOrPending`:
    /// "cached metadata has changed"); only the leader watches, as in Kafka.
    #[cold]
    #[inline(never)]
    fn partition_counts_changed(&mut self, counts: Vec<u32>, ctx: &mut Ctx) {
        let now = ctx.now();
        for (t, (&was, &count)) in self.partition_counts.iter().zip(&counts).enumerate() {
            let topic = &self.metadata.topics[t].name;
            if count <= was || !self.config.topics.contains(topic) {
                continue;
            }
            let client = format!("{}-{}", self.config.name, self.member);
            ctx.notable("metadata", || format!("{topic} now has {count} partitions (was {was})"));
            ctx.metrics().partition_discoveries.push(crate::metrics::PartitionDiscovery {
                at: now,
                client,
                topic: topic.clone(),
                from: was,
                to: count,
                keys_moved: None,
            });
        }
        self.partition_counts = counts;
        if !self.kip848
            && let Some(snapshot) = self.assignment_snapshot.take_if(|s| *s != self.partition_counts)
        {
            self.rejoin_needed = true;
            ctx.notable("rejoin", || {
                format!(
                    "group={}: cached metadata has changed (partition counts {snapshot:?} → {:?}): the leader rejoins",
                    self.config.name, self.partition_counts
                )
            });
        }
    }

    /// Fetches, ListOffsets and metadata requests unanswered for the request timeout.
    pub(super) fn expire_fetches(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let timeout = SimDuration::from_ms(REQUEST_TIMEOUT_MS);
        let mut expired = false;
        let mut validation_expired = false;
        for o in self.validations_pending.iter_mut() {
            if let Some((request_id, sent)) = *o
                && now.since(sent) >= timeout
            {
                *o = None;
                validation_expired = true;
                Self::validation_failed(&mut self.owned, request_id);
            }
        }
        for o in self.outstanding.iter_mut().chain(self.list_offsets_pending.iter_mut()) {
            if o.is_some_and(|(_, sent)| now.since(sent) >= timeout) {
                *o = None;
                expired = true;
            }
        }
        if expired {
            for o in &mut self.owned {
                if o.position.is_none() {
                    o.positioning = false;
                    self.unpositioned = true;
                }
            }
        }
        if self.metadata_requests.expire(now, SimDuration::from_ms(1000)) || validation_expired {
            expired = true;
        }
        if expired {
            self.refresh_metadata(ctx);
        }
    }
}
