//! A broker's transaction coordinator role (`TransactionCoordinator` and its
//! `TransactionMarkerChannelManager`): `FindCoordinator` for transactional ids,
//! `AddPartitionsToTxn`, `EndTxn`, the `WriteTxnMarkers` requests to partition leaders, and the
//! periodic abort of transactions open past their timeout (kafka-reference §6.2).
//!
//! A transactional id's coordinator is the leader of its `__transaction_state` partition
//! (`abs(hashCode) % transaction.state.log.num.partitions`), placed as any topic's partition and
//! led, as the group coordinator's, by the first replica the controller has not fenced.
//!
//! Simplified: the coordinator answers `EndTxn` once every marker is written, where Kafka answers
//! once `PREPARE_COMMIT` is in its log and makes the next transaction's `AddPartitionsToTxn` wait
//! (`CONCURRENT_TRANSACTIONS`) until the markers are written; either way the producer's next
//! transaction starts after the markers. A coordinator that takes over a transaction in a
//! `Prepare*` phase (its predecessor failed) sends its markers again, as Kafka's does when it
//! loads the log.

use super::TxnState;
use super::{TxnOutcome, TxnPhase, TxnStates};
use crate::cluster::placement::assign_replicas;
use crate::group::Groups;
use crate::protocol::{KafkaError, Message, PartitionState, TxnMarkers, TxnRequest, TxnResponse};
use crate::scenario::{Scenario, TransactionCoordinatorSettings};
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};

/// `retry.backoff.ms` of the coordinator's inter-broker client, before markers are sent again to
/// a partition whose leader refused them or is unknown.
const MARKER_RETRY_MS: u64 = 100;

/// A coordinator's `WriteTxnMarkers` requests get ids from here on (apart from the broker's own).
const FIRST_MARKER_REQUEST_ID: u64 = 1 << 40;

/// A `WriteTxnMarkers` request waiting for its answer.
#[derive(Debug)]
struct MarkerRequest {
    request_id: u64,
    producer: u32,
    sent: SimTime,
}

/// The transaction coordinator role of one broker.
#[derive(Debug)]
pub struct TxnCoordinatorHost {
    states: TxnStates,
    settings: TransactionCoordinatorSettings,
    /// Per producer: the replicas of its `__transaction_state` partition, preferred first.
    log_replicas: Vec<Vec<u32>>,
    in_flight: Vec<MarkerRequest>,
    next_request_id: u64,
    /// Per producer: a marker retry timer is set.
    retry_armed: Vec<bool>,
    /// The inter-broker request timeout of the marker channel.
    request_timeout: SimDuration,
    /// The consumer groups (whose offsets a transaction may carry).
    groups: Groups,
}

impl TxnCoordinatorHost {
    pub fn new(scenario: &Scenario, states: TxnStates, groups: Groups) -> TxnCoordinatorHost {
        let settings = scenario.cluster.transaction_coordinator;
        let brokers = scenario.cluster.brokers;
        let rf = settings.transaction_state_log_replication_factor.clamp(1, brokers.max(1));
        let partitions = settings.transaction_state_log_num_partitions;
        let placement = assign_replicas(partitions, rf, brokers);
        let log_replicas = scenario
            .producers
            .iter()
            .map(|p| {
                // `TransactionStateManager.partitionFor`: `Utils.abs(transactionalId.hashCode) % n`.
                let i = crate::group::coordinator::offsets_partition_for(&p.name, partitions);
                placement[i as usize].clone()
            })
            .collect();
        let n = scenario.producers.len();
        TxnCoordinatorHost {
            states,
            settings,
            log_replicas,
            in_flight: Vec::new(),
            next_request_id: FIRST_MARKER_REQUEST_ID,
            retry_armed: vec![false; n],
            // Kafka's marker channel uses the broker's `request.timeout.ms` (30 s); kafkasim
            // has the inter-broker `replica.socket.timeout.ms` (also 30 s by default).
            request_timeout: SimDuration::from_ms(scenario.cluster.replication.replica_socket_timeout_ms),
            groups,
        }
    }

    /// Whether any producer is transactional (the broker then runs the timeout check).
    pub fn active(&self) -> bool {
        self.states.borrow().iter().any(Option::is_some)
    }

    pub fn cleanup_interval(&self) -> SimDuration {
        SimDuration::from_ms(self.settings.transaction_abort_timed_out_transaction_cleanup_interval_ms)
    }

    /// The producer's coordinator as a broker with this view of the fenced brokers sees it.
    pub fn coordinator_for(&self, producer: u32, fenced: &[bool]) -> Option<u32> {
        self.log_replicas[producer as usize].iter().copied().find(|&b| !fenced[b as usize])
    }

    /// The broker crashed: its requests are gone, and the transactions it was completing wait
    /// for the next coordinator.
    pub fn crash(&mut self, me: u32) {
        self.in_flight.clear();
        self.retry_armed.iter_mut().for_each(|r| *r = false);
        for s in self.states.borrow_mut().iter_mut().flatten() {
            if s.driver == Some(me) {
                s.driver = None;
            }
        }
    }

    /// `EndTxn` and `InitProducerId` requests waiting for transactions this broker is completing
    /// (a crash resets their connections).
    pub fn held_requests(&self, me: u32) -> Vec<(NodeId, u64)> {
        let states = self.states.borrow();
        let driven = states.iter().flatten().filter(|s| s.driver == Some(me));
        driven.flat_map(|s| s.waiting.iter().map(|&(to, request_id, _)| (to, request_id))).collect()
    }

    /// Whether `request_id` is one of this coordinator's marker requests.
    pub fn owns_request(&self, request_id: u64) -> bool {
        request_id >= FIRST_MARKER_REQUEST_ID
    }

    /// A transactional producer's request arrives at broker `me`.
    #[allow(clippy::too_many_arguments)] // a request's fields, as the broker received them
    pub fn on_request(
        &mut self,
        me: u32,
        fenced: &[bool],
        leaders: &[PartitionState],
        from: NodeId,
        request_id: u64,
        producer: u32,
        body: TxnRequest,
        ctx: &mut Ctx,
    ) {
        let coordinator = self.coordinator_for(producer, fenced);
        let respond = |ctx: &mut Ctx, body: TxnResponse| {
            ctx.send(from, Message::TxnResponse { request_id, body: Box::new(body) });
        };
        let not_coordinator = |body: &TxnRequest| match body {
            TxnRequest::FindCoordinator => TxnResponse::FindCoordinator(Err(KafkaError::CoordinatorNotAvailable)),
            TxnRequest::AddPartitions { .. } => TxnResponse::AddPartitions(Err(KafkaError::NotCoordinator)),
            TxnRequest::EndTxn { .. } => TxnResponse::EndTxn(Err(KafkaError::NotCoordinator)),
            TxnRequest::AddOffsets { .. } => TxnResponse::AddOffsets(Err(KafkaError::NotCoordinator)),
            TxnRequest::InitProducerId => TxnResponse::InitProducerId(Err(KafkaError::NotCoordinator)),
        };
        if let TxnRequest::FindCoordinator = body {
            let found = coordinator.ok_or(KafkaError::CoordinatorNotAvailable);
            respond(ctx, TxnResponse::FindCoordinator(found));
            return;
        }
        if coordinator != Some(me) {
            respond(ctx, not_coordinator(&body));
            return;
        }
        let now = ctx.now();
        let mut states = self.states.borrow_mut();
        let Some(s) = states.get_mut(producer as usize).and_then(Option::as_mut) else {
            respond(ctx, not_coordinator(&body));
            return;
        };
        match body {
            TxnRequest::FindCoordinator => {}
            TxnRequest::AddPartitions { producer_epoch, txn, partitions } => {
                match s.add_to(producer_epoch, txn, now, ctx) {
                    Ok(()) => {
                        merge(&mut s.partitions, &partitions);
                        respond(ctx, TxnResponse::AddPartitions(Ok(())));
                    }
                    Err(e) => respond(ctx, TxnResponse::AddPartitions(Err(e))),
                }
            }
            TxnRequest::InitProducerId => {
                match s.phase {
                    TxnPhase::Ongoing => {
                        // `handleInitProducerId` with an ongoing transaction: abort it first
                        // (with a bumped epoch, which fences its producer), answer once done.
                        s.producer_epoch += 1;
                        s.phase = TxnPhase::PrepareAbort;
                        s.pending = s.partitions.clone();
                        s.waiting.push((from, request_id, true));
                        ctx.notable("txn_init_abort", || {
                            format!("{} InitProducerId: aborting its open transaction {}", s.transactional_id, s.txn)
                        });
                    }
                    TxnPhase::PrepareCommit | TxnPhase::PrepareAbort => {
                        s.waiting.push((from, request_id, true));
                        if s.driver == Some(me) {
                            return; // the markers are on their way
                        }
                    }
                    _ => {
                        s.producer_epoch += 1;
                        respond(ctx, TxnResponse::InitProducerId(Ok(s.producer_epoch)));
                        return;
                    }
                }
                drop(states);
                self.drive(me, producer, leaders, ctx);
            }
            TxnRequest::AddOffsets { producer_epoch, txn, group } => match s.add_to(producer_epoch, txn, now, ctx) {
                Ok(()) => {
                    merge(&mut s.groups, &[group]);
                    respond(ctx, TxnResponse::AddOffsets(Ok(())));
                }
                Err(e) => respond(ctx, TxnResponse::AddOffsets(Err(e))),
            },
            TxnRequest::EndTxn { producer_epoch, commit, txn, partitions } => {
                if producer_epoch < s.producer_epoch {
                    respond(ctx, TxnResponse::EndTxn(Err(KafkaError::ProducerFenced)));
                    return;
                }
                match s.phase {
                    TxnPhase::CompleteCommit | TxnPhase::CompleteAbort if s.txn == txn && !s.timed_out => {
                        // A retry of an EndTxn whose answer was lost.
                        respond(ctx, TxnResponse::EndTxn(Ok(s.producer_epoch)));
                        return;
                    }
                    TxnPhase::PrepareCommit | TxnPhase::PrepareAbort if s.txn == txn => {
                        s.waiting.push((from, request_id, false));
                        if s.driver == Some(me) {
                            return; // the markers are on their way
                        }
                    }
                    _ => {
                        // Transaction version 2 (KIP-890, Kafka 4.0): every end bumps the
                        // epoch; the markers carry the new one, which fences any write of the
                        // ended transaction still on its way.
                        s.producer_epoch = producer_epoch + 1;
                        if s.txn != txn {
                            s.partitions.clear();
                            s.groups.clear();
                            s.started = now;
                        }
                        s.txn = txn;
                        s.timed_out = false;
                        merge(&mut s.partitions, &partitions);
                        s.phase = if commit { TxnPhase::PrepareCommit } else { TxnPhase::PrepareAbort };
                        s.pending = s.partitions.clone();
                        s.waiting.push((from, request_id, false));
                        ctx.detail("txn_prepare", || {
                            format!(
                                "{} transaction {txn} {} ({} partitions)",
                                s.transactional_id,
                                s.phase.name(),
                                s.partitions.len()
                            )
                        });
                    }
                }
                drop(states);
                self.drive(me, producer, leaders, ctx);
            }
        }
    }

    /// Sends the pending markers of `producer`'s transaction to their leaders (this broker drives
    /// the completion now); completes it if none is pending.
    fn drive(&mut self, me: u32, producer: u32, leaders: &[PartitionState], ctx: &mut Ctx) {
        let now = ctx.now();
        // Requests already out for this producer are superseded (their answers are ignored).
        self.in_flight.retain(|r| r.producer != producer);
        let mut states = self.states.borrow_mut();
        let s = states[producer as usize].as_mut().expect("a transactional producer");
        let Some(marker) = s.phase.marker() else { return };
        s.driver = Some(me);
        if s.pending.is_empty() {
            drop(states);
            self.complete(producer, ctx);
            return;
        }
        let mut by_leader: Vec<(u32, Vec<u32>)> = Vec::new();
        let mut leaderless = false;
        for &p in &s.pending {
            match leaders[p as usize].leader {
                Some(l) => match by_leader.iter_mut().find(|(b, _)| *b == l) {
                    Some((_, ps)) => ps.push(p),
                    None => by_leader.push((l, vec![p])),
                },
                None => leaderless = true,
            }
        }
        let (epoch, txn) = (s.producer_epoch, s.txn);
        drop(states);
        for (leader, partitions) in by_leader {
            let request_id = self.next_request_id;
            self.next_request_id += 1;
            self.in_flight.push(MarkerRequest { request_id, producer, sent: now });
            let body = TxnMarkers { producer, producer_epoch: epoch, txn, marker, partitions };
            ctx.send(NodeId(leader), Message::WriteTxnMarkers { request_id, body: Box::new(body) });
        }
        if leaderless {
            self.arm_retry(producer, ctx);
        }
    }

    fn arm_retry(&mut self, producer: u32, ctx: &mut Ctx) {
        if !std::mem::replace(&mut self.retry_armed[producer as usize], true) {
            ctx.set_timer(SimDuration::from_ms(MARKER_RETRY_MS), Timer::TxnMarkerRetry { producer });
        }
    }

    /// Every marker is written: the transaction is complete, and waiting `EndTxn`s are answered.
    fn complete(&mut self, producer: u32, ctx: &mut Ctx) {
        let mut states = self.states.borrow_mut();
        let s = states[producer as usize].as_mut().expect("a transactional producer");
        let committed = s.phase == TxnPhase::PrepareCommit;
        s.phase = if committed { TxnPhase::CompleteCommit } else { TxnPhase::CompleteAbort };
        s.driver = None;
        let outcome = TxnOutcome {
            at: ctx.now(),
            producer,
            txn: s.txn,
            committed,
            timed_out: s.timed_out,
            partitions: s.partitions.len(),
        };
        ctx.detail("txn_complete", || format!("{} transaction {} {}", s.transactional_id, s.txn, s.phase.name()));
        let now = ctx.now();
        let mut groups = self.groups.borrow_mut();
        for &g in &s.groups {
            groups[g as usize].end_txn_offsets(producer, committed, s.producer_epoch, now);
        }
        drop(groups);
        let epoch = s.producer_epoch;
        if s.waiting.iter().any(|w| w.2) {
            // InitProducerId: one more bump past the aborted transaction's markers.
            s.producer_epoch += 1;
        }
        let init_epoch = s.producer_epoch;
        for (to, request_id, init) in s.waiting.drain(..) {
            let body = if init { TxnResponse::InitProducerId(Ok(init_epoch)) } else { TxnResponse::EndTxn(Ok(epoch)) };
            ctx.send(to, Message::TxnResponse { request_id, body: Box::new(body) });
        }
        ctx.metrics().transaction_ended(outcome);
    }

    /// A leader's answer to markers: written ones are done; the others go again after a backoff.
    pub fn on_markers_response(&mut self, request_id: u64, results: &[(u32, Option<KafkaError>)], ctx: &mut Ctx) {
        let Some(i) = self.in_flight.iter().position(|r| r.request_id == request_id) else { return };
        let request = self.in_flight.swap_remove(i);
        let producer = request.producer;
        let mut retry = false;
        {
            let mut states = self.states.borrow_mut();
            let s = states[producer as usize].as_mut().expect("a transactional producer");
            for &(p, error) in results {
                match error {
                    None => s.pending.retain(|&q| q != p),
                    Some(_) => retry = true,
                }
            }
        }
        if retry {
            self.arm_retry(producer, ctx);
        } else if !self.in_flight.iter().any(|r| r.producer == producer) {
            let done = self.states.borrow()[producer as usize].as_ref().is_some_and(|s| s.pending.is_empty());
            if done {
                self.complete(producer, ctx);
            }
        }
    }

    /// The marker retry timer fired.
    pub fn on_retry(&mut self, me: u32, producer: u32, leaders: &[PartitionState], ctx: &mut Ctx) {
        self.retry_armed[producer as usize] = false;
        let drives = self.states.borrow()[producer as usize].as_ref().is_some_and(|s| s.driver == Some(me));
        if drives {
            self.drive(me, producer, leaders, ctx);
        }
    }

    /// A marker request's connection closed (its leader crashed): retry after the backoff.
    pub fn on_disconnected(&mut self, request_id: u64, ctx: &mut Ctx) {
        if let Some(i) = self.in_flight.iter().position(|r| r.request_id == request_id) {
            let request = self.in_flight.swap_remove(i);
            self.arm_retry(request.producer, ctx);
        }
    }

    /// Marker requests unanswered for the request timeout are sent again.
    pub fn expire(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let timeout = self.request_timeout;
        let expired: Vec<u32> =
            self.in_flight.iter().filter(|r| now.since(r.sent) >= timeout).map(|r| r.producer).collect();
        self.in_flight.retain(|r| now.since(r.sent) < timeout);
        for producer in expired {
            self.arm_retry(producer, ctx);
        }
    }

    /// `TransactionCoordinator.abortTimedOutTransactions`: transactions this broker coordinates
    /// that are open longer than their timeout are aborted, with the producer epoch bumped so
    /// the producer is fenced. Completions nobody drives (their coordinator failed) are taken
    /// over.
    pub fn on_timeout_check(&mut self, me: u32, fenced: &[bool], leaders: &[PartitionState], ctx: &mut Ctx) {
        let now = ctx.now();
        let n = self.log_replicas.len() as u32;
        for producer in 0..n {
            if self.coordinator_for(producer, fenced) != Some(me) {
                continue;
            }
            let action = {
                let mut states = self.states.borrow_mut();
                let Some(s) = states[producer as usize].as_mut() else { continue };
                match s.phase {
                    TxnPhase::Ongoing if now.since(s.started) > s.timeout => {
                        s.producer_epoch += 1;
                        s.timed_out = true;
                        s.phase = TxnPhase::PrepareAbort;
                        s.pending = s.partitions.clone();
                        let (id, txn, open) = (&s.transactional_id, s.txn, now.since(s.started));
                        ctx.notable("txn_timeout", || {
                            format!(
                                "{id} transaction {txn} open {:.1} s > transaction.timeout.ms: aborting, producer epoch bumped to {} (fenced)",
                                open.as_nanos() as f64 / 1e9,
                                s.producer_epoch
                            )
                        });
                        true
                    }
                    TxnPhase::PrepareCommit | TxnPhase::PrepareAbort if s.driver != Some(me) => {
                        ctx.notable("txn_takeover", || {
                            format!(
                                "{} transaction {} {}: sending its markers",
                                s.transactional_id,
                                s.txn,
                                s.phase.name()
                            )
                        });
                        true
                    }
                    _ => false,
                }
            };
            if action {
                self.drive(me, producer, leaders, ctx);
            }
        }
    }
}

/// Adds `more` to the sorted `partitions`.
impl TxnState {
    /// `AddPartitionsToTxn` or `AddOffsetsToTxn` for transaction `txn`: checks the epoch and
    /// phase, and makes the transaction `Ongoing` (it begins with the first of them).
    fn add_to(&mut self, producer_epoch: u16, txn: u64, now: SimTime, ctx: &mut Ctx) -> Result<(), KafkaError> {
        if producer_epoch < self.producer_epoch {
            return Err(KafkaError::ProducerFenced);
        }
        if matches!(self.phase, TxnPhase::PrepareCommit | TxnPhase::PrepareAbort) {
            return Err(KafkaError::ConcurrentTransactions);
        }
        self.producer_epoch = producer_epoch;
        if self.phase != TxnPhase::Ongoing || self.txn != txn {
            self.phase = TxnPhase::Ongoing;
            self.txn = txn;
            self.started = now;
            self.partitions.clear();
            self.groups.clear();
            self.timed_out = false;
            ctx.detail("txn_begin", || format!("{} transaction {txn} ongoing", self.transactional_id));
        }
        Ok(())
    }
}

fn merge(partitions: &mut Vec<u32>, more: &[u32]) {
    partitions.extend_from_slice(more);
    partitions.sort_unstable();
    partitions.dedup();
}
