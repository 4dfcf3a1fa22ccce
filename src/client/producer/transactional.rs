//! The transactional producer (`TransactionManager`, kafka-reference §6.2), with the
//! application loop that Kafka Streams runs under exactly-once: a transaction begins with the
//! first record appended after the previous one ended, and every `commit_interval_ms` the
//! application calls `commitTransaction()` (or, drawn with `abort_probability`,
//! `abortTransaction()`).
//!
//! The coordinator is found with `FindCoordinator`; each partition the open transaction first
//! writes to is announced with `AddPartitionsToTxn`. Ending a transaction flushes: every batch of
//! it is sent and acknowledged (`TransactionManager` sends `EndTxn` only once no batch is
//! in flight), then `EndTxn` goes to the coordinator, which writes the markers and answers. The
//! application thread is blocked from the call to the answer: records created meanwhile wait
//! and go into the next transaction. A batch that fails for good makes the transaction abortable:
//! the next end is an abort. `PRODUCER_FENCED` or `INVALID_PRODUCER_EPOCH` (the coordinator
//! aborted a transaction open past `transaction.timeout.ms` and bumped the epoch) is fatal: the
//! producer stops, as `ProducerFencedException` makes an application close it.
//!
//! A partition's batches are sent only once the coordinator has added the partition to the
//! transaction (transaction version 1: the sender waits for `AddPartitionsToTxn`; version 2 has
//! the leader check with the coordinator instead, for the same effect): a coordinator that never
//! heard of a partition could never end its transaction there. The coordinator bumps the
//! producer epoch at every end (version 2), so the next transaction's sequences start at 0.
//!
//! Simplified: `abortTransaction()` flushes too (Kafka drops the batches not yet sent).

use super::Producer;
use crate::cluster::Metadata;
use crate::protocol::{KafkaError, Message, TxnRequest, TxnResponse};
use crate::scenario;
use crate::sim::{Ctx, RandomStream, SimDuration, SimTime, Timer};

/// `retry.backoff.ms` for `CONCURRENT_TRANSACTIONS` (Kafka retries these after 20 ms).
const CONCURRENT_TRANSACTIONS_BACKOFF_MS: u64 = 20;

/// Where a transaction's consumer offsets are (`sendOffsetsToTransaction`, before `EndTxn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OffsetsStage {
    /// `AddOffsetsToTxn` goes next.
    Add,
    /// `TxnOffsetCommit` is out to the group coordinator.
    Sending,
    /// Sent (or refused): `EndTxn` goes next.
    Sent,
}

/// Where the application is in ending a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Not ending one.
    No,
    /// `commitTransaction()`/`abortTransaction()` was called at `called`: flushing.
    Flushing { commit: bool, called: SimTime },
    /// Every batch is done; `EndTxn` is out (or waits for the coordinator to be found).
    Requested { commit: bool, called: SimTime },
}

/// A transactional producer's state.
#[derive(Debug)]
pub(super) struct TxnClient {
    settings: scenario::Transactions,
    /// Draws whether each transaction aborts.
    rng: RandomStream,
    coordinator: Option<u32>,
    /// The broker the next `FindCoordinator` goes to (the next one after a failure).
    find_broker: u32,
    /// The request out to the coordinator (or to find it), and when it was sent.
    request: Option<(u64, SimTime)>,
    /// The number of the open (or last) transaction; the first is 1.
    number: u64,
    /// When the open transaction began (`None`: none is open).
    open_since: Option<SimTime>,
    /// Global partitions the open transaction wrote to, and per local partition whether it did.
    partitions: Vec<u32>,
    in_txn: Vec<bool>,
    /// Partitions added and not yet announced to the coordinator.
    unannounced: Vec<u32>,
    /// Per local partition: the coordinator has it in the open transaction, so its batches may
    /// be sent (`TransactionManager.isSendToPartitionAllowed`).
    added: Vec<bool>,
    /// The partitions of the `AddPartitionsToTxn` out.
    adding: Vec<u32>,
    /// Records appended in the open transaction.
    records: u64,
    /// A batch of the open transaction failed for good: it can only abort.
    must_abort: bool,
    ending: Ending,
    /// A commit interval passed while the previous end was still in progress.
    end_due: bool,
    fenced: bool,
    /// The consumer group whose offsets the ending transaction carries, and how far they are.
    offsets: Option<(u32, OffsetsStage)>,
    /// A group whose offsets the next transaction end carries (asked while one was ending).
    offsets_next: Option<u32>,
    /// A re-created producer asks for its epoch (`InitProducerId`) before anything else.
    init_pending: bool,
}

impl TxnClient {
    pub(super) fn new(settings: scenario::Transactions, partitions: u32, index: u32, rng: RandomStream) -> TxnClient {
        TxnClient {
            settings,
            rng,
            coordinator: None,
            find_broker: index,
            request: None,
            number: 0,
            open_since: None,
            partitions: Vec::new(),
            in_txn: vec![false; partitions as usize],
            unannounced: Vec::new(),
            added: vec![false; partitions as usize],
            adding: Vec::new(),
            records: 0,
            must_abort: false,
            ending: Ending::No,
            end_due: false,
            fenced: false,
            offsets: None,
            offsets_next: None,
            init_pending: false,
        }
    }
}

impl Producer {
    /// At start: the commit timer, and `FindCoordinator`.
    pub(super) fn start_transactions(&mut self, ctx: &mut Ctx) {
        let Some(t) = &self.txn else { return };
        let interval = t.settings.commit_interval_ms;
        if !self.is_output() {
            // (An output producer's member decides when to commit.)
            ctx.set_timer_at(SimTime::from_ms(self.config.start_ms + interval), Timer::TxnCommit);
        }
        self.send_txn_request(ctx);
    }

    /// A record of local partition `p` was appended: it belongs to the open transaction (which
    /// it begins, if none is open).
    #[inline]
    pub(super) fn txn_record_appended(&mut self, p: usize, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.open_since.is_none() {
            t.number += 1;
            t.open_since = Some(ctx.now());
        }
        t.records += 1;
        if !t.in_txn[p] {
            t.in_txn[p] = true;
            let global = self.first_partition + p as u32;
            t.partitions.push(global);
            t.unannounced.push(global);
            if t.request.is_none() {
                self.send_txn_request(ctx);
            }
        }
    }

    /// Whether the application thread is ending a transaction (its flush is not a `flush()`).
    pub(super) fn txn_ending(&self) -> bool {
        self.txn.as_ref().is_some_and(|t| t.ending != Ending::No)
    }

    /// Whether local partition `p`'s batches may be sent: not transactional, or the coordinator
    /// has added `p` to the open transaction.
    #[inline]
    pub(super) fn txn_allows_send(&self, p: usize) -> bool {
        self.txn.as_ref().is_none_or(|t| t.added[p])
    }

    /// A batch failed for good: the open transaction can only abort now.
    pub(super) fn txn_batch_failed(&mut self) {
        if let Some(t) = &mut self.txn
            && t.open_since.is_some()
        {
            t.must_abort = true;
        }
    }

    /// The commit interval passed: the application ends the open transaction.
    pub(super) fn on_commit_timer(&mut self, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.fenced {
            return;
        }
        ctx.set_timer(SimDuration::from_ms(t.settings.commit_interval_ms), Timer::TxnCommit);
        if t.ending != Ending::No || self.flushing.is_some() {
            t.end_due = true;
            return;
        }
        self.end_transaction(ctx);
    }

    /// `commitTransaction()` or `abortTransaction()`, if a transaction is open.
    fn end_transaction(&mut self, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.open_since.is_none() {
            if t.offsets.is_none() {
                return; // nothing was sent since the last one ended
            }
            // Offsets alone: a transaction begins for them.
            t.number += 1;
            t.open_since = Some(ctx.now());
        }
        let draw = t.rng.unit_f64();
        let commit = !t.must_abort && draw >= t.settings.abort_probability;
        let now = ctx.now();
        t.ending = Ending::Flushing { commit, called: now };
        let (number, parts) = (t.number, t.partitions.len());
        ctx.detail("txn_end", || {
            format!(
                "{}Transaction() of transaction {number} ({parts} partitions)",
                if commit { "commit" } else { "abort" }
            )
        });
        self.begin_flush(ctx);
    }

    /// The flush of an ending transaction finished: every batch is done; `EndTxn` goes out.
    /// Returns whether the flush was a transaction's (the application thread stays blocked).
    pub(super) fn txn_flush_done(&mut self, ctx: &mut Ctx) -> bool {
        let Some(t) = &mut self.txn else { return false };
        let (commit, called) = match t.ending {
            Ending::No => return false,
            Ending::Requested { .. } => return true, // waiting for the coordinator already
            Ending::Flushing { commit, called } => (commit, called),
        };
        // A batch may have failed during the flush.
        let commit = commit && !t.must_abort;
        t.ending = Ending::Requested { commit, called };
        if t.request.is_none() {
            self.send_txn_request(ctx);
        }
        true
    }

    /// Sends what the transaction needs next from the coordinator: finding it, announcing new
    /// partitions, or `EndTxn`.
    fn send_txn_request(&mut self, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.fenced {
            return;
        }
        let request_id = self.next_request_id;
        let (to, body) = match t.coordinator {
            None => {
                let broker = t.find_broker % self.metadata.brokers;
                (broker, TxnRequest::FindCoordinator)
            }
            Some(c) if t.init_pending => (c, TxnRequest::InitProducerId),
            Some(c) => {
                if let (Ending::Requested { commit: true, .. }, Some((group, stage))) = (t.ending, t.offsets)
                    && stage != OffsetsStage::Sent
                {
                    if stage == OffsetsStage::Sending {
                        return; // the group coordinator has the offsets; EndTxn follows its answer
                    }
                    (c, TxnRequest::AddOffsets { producer_epoch: self.producer_epoch, txn: t.number, group })
                } else if let Ending::Requested { commit, .. } = t.ending {
                    t.unannounced.clear();
                    let partitions = t.partitions.clone();
                    (c, TxnRequest::EndTxn { producer_epoch: self.producer_epoch, commit, txn: t.number, partitions })
                } else if !t.unannounced.is_empty() {
                    let partitions = std::mem::take(&mut t.unannounced);
                    t.adding = partitions.clone();
                    (c, TxnRequest::AddPartitions { producer_epoch: self.producer_epoch, txn: t.number, partitions })
                } else {
                    return;
                }
            }
        };
        self.next_request_id += 1;
        t.request = Some((request_id, ctx.now()));
        let producer = self.index;
        ctx.send(Metadata::broker_node(to), Message::TxnRequest { request_id, producer, body: Box::new(body) });
    }

    /// Whether `request_id` is the transactional request out (a disconnect of it is handled
    /// here).
    pub(super) fn txn_disconnected(&mut self, request_id: u64, ctx: &mut Ctx) -> bool {
        let Some(t) = &mut self.txn else { return false };
        if t.request.map(|r| r.0) != Some(request_id) {
            return false;
        }
        self.txn_lost_coordinator(ctx);
        true
    }

    /// The coordinator is gone or moved: find it again, and send what was out again.
    fn txn_lost_coordinator(&mut self, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        t.request = None;
        if t.coordinator.take().is_none() {
            t.find_broker += 1; // the broker asked did not answer: ask another
        }
        // Announce every partition again to the new coordinator (it has them if the state
        // survived; adding them twice changes nothing).
        t.unannounced = t.partitions.clone();
        self.send_txn_request(ctx);
    }

    /// Transactional requests unanswered for `request.timeout.ms` are sent again.
    pub(super) fn expire_txn_request(&mut self, ctx: &mut Ctx) {
        let timeout = SimDuration::from_ms(self.config.request_timeout_ms);
        let Some(t) = &mut self.txn else { return };
        if let Some((_, sent)) = t.request
            && ctx.now().since(sent) >= timeout
        {
            self.txn_lost_coordinator(ctx);
        }
    }

    pub(super) fn on_txn_response(&mut self, request_id: u64, body: TxnResponse, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.request.map(|r| r.0) != Some(request_id) {
            return; // superseded
        }
        t.request = None;
        match body {
            TxnResponse::FindCoordinator(Ok(b)) => {
                t.coordinator = Some(b);
                ctx.detail("txn_coordinator", || format!("transaction coordinator is broker-{b}"));
                self.send_txn_request(ctx);
            }
            TxnResponse::FindCoordinator(Err(_)) => {
                t.find_broker += 1;
                ctx.set_timer(SimDuration::from_ms(self.config.retry_backoff_ms.max(1)), Timer::TxnRetry);
            }
            TxnResponse::AddPartitions(Ok(())) => {
                for g in std::mem::take(&mut t.adding) {
                    t.added[(g - self.first_partition) as usize] = true;
                }
                self.send_txn_request(ctx);
                // Batches held for these partitions may go now.
                self.send_all(ctx);
                self.arm_linger_timer(ctx);
            }
            TxnResponse::EndTxn(Ok(epoch)) => self.transaction_ended(epoch, ctx),
            TxnResponse::InitProducerId(Ok(epoch)) => {
                t.init_pending = false;
                self.producer_epoch = epoch;
                self.sequences.iter_mut().for_each(|s| *s = 0);
                ctx.notable("init_producer_id", || format!("InitProducerId: producer epoch {epoch}"));
                self.send_txn_request(ctx);
                self.send_all(ctx);
                self.arm_linger_timer(ctx);
            }
            TxnResponse::AddOffsets(Ok(())) => {
                if let Some((_, stage)) = &mut t.offsets {
                    *stage = OffsetsStage::Sending;
                }
                self.send_txn_offset_commit(ctx);
            }
            TxnResponse::AddPartitions(Err(e))
            | TxnResponse::EndTxn(Err(e))
            | TxnResponse::AddOffsets(Err(e))
            | TxnResponse::InitProducerId(Err(e)) => match e {
                KafkaError::ProducerFenced | KafkaError::InvalidProducerEpoch => self.fence(e, ctx),
                KafkaError::ConcurrentTransactions => {
                    ctx.set_timer(SimDuration::from_ms(CONCURRENT_TRANSACTIONS_BACKOFF_MS), Timer::TxnRetry);
                }
                _ => {
                    t.coordinator = None;
                    self.txn_lost_coordinator(ctx);
                }
            },
        }
    }

    /// `Timer::TxnRetry`: send again what waits (after `CONCURRENT_TRANSACTIONS`, every
    /// partition is announced again: the refused request's are not known to the coordinator).
    pub(super) fn on_txn_retry(&mut self, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.request.is_some() {
            return;
        }
        if t.coordinator.is_some() && !matches!(t.ending, Ending::Requested { .. }) && t.unannounced.is_empty() {
            t.unannounced = t.partitions.clone();
        }
        self.send_txn_request(ctx);
    }

    /// The coordinator answered `EndTxn`: the transaction is over; the application thread
    /// returns from the call and goes on with the records that waited.
    fn transaction_ended(&mut self, epoch: u16, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        let Ending::Requested { commit, called } = t.ending else { return };
        let now = ctx.now();
        t.ending = Ending::No;
        t.open_since = None;
        let records = std::mem::take(&mut t.records);
        // The coordinator bumped the epoch: the next transaction's sequences start again at 0.
        if epoch != self.producer_epoch {
            self.producer_epoch = epoch;
            self.sequences.iter_mut().for_each(|s| *s = 0);
        }
        t.must_abort = false;
        t.in_txn.iter_mut().for_each(|x| *x = false);
        t.added.iter_mut().for_each(|x| *x = false);
        t.partitions.clear();
        t.unannounced.clear();
        let number = t.number;
        let took = now.since(called);
        ctx.metrics().transaction_end_returned(took.as_nanos());
        if !commit {
            ctx.metrics().aborted_records_produced(records);
        }
        let text = || {
            format!(
                "transaction {number} {} after {:.3} ms ({records} records)",
                if commit { "committed" } else { "aborted" },
                took.as_nanos() as f64 / 1e6
            )
        };
        if commit {
            ctx.detail("txn_done", text);
        } else {
            ctx.notable("txn_aborted", text);
        }
        if t.offsets.take().is_some() {
            self.output_transaction_ended(commit, ctx);
        }
        let Some(t) = &mut self.txn else { return };
        if let Some(group) = t.offsets_next.take() {
            t.offsets = Some((group, OffsetsStage::Add));
        }
        let end_due = std::mem::take(&mut t.end_due);
        self.return_from_flush(now, ctx);
        if end_due && self.flushing.is_none() {
            self.end_transaction(ctx);
        }
    }

    /// `ProducerFencedException`: a newer epoch of this transactional id exists. The producer
    /// can do nothing more: it stops, and everything it still holds fails.
    pub(super) fn fence(&mut self, e: KafkaError, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.fenced {
            return;
        }
        t.fenced = true;
        t.request = None;
        let now = ctx.now();
        ctx.notable("fenced", || {
            format!(
                "{}: ProducerFencedException, the producer closes (its transactional id has a newer epoch)",
                e.name()
            )
        });
        ctx.metrics().producer_fenced();
        if t.open_since.is_some() {
            // The open transaction is aborted (the coordinator's timeout abort fenced us).
            let records = std::mem::take(&mut t.records);
            ctx.metrics().aborted_records_produced(records);
        }
        self.stop_at = self.stop_at.min(now);
        let blocked = self.blocked.len() as u64;
        self.blocked.clear();
        if blocked > 0 {
            ctx.metrics().failed(now, blocked);
            ctx.metrics().error("ProducerFencedException", blocked);
        }
        self.flushing = None;
        self.accumulator.flushing = false;
        self.output_fenced(ctx);
    }

    /// `abortTransaction()` of the open transaction, unless one is ending already. A fenced
    /// producer is re-created instead (Kafka Streams' `reInitializeThreadProducer`): a new
    /// producer under the same `transactional.id`, whose `InitProducerId` aborts what the old
    /// one left open and gets a new epoch.
    #[cold]
    #[inline(never)]
    pub(super) fn abort_transaction(&mut self, ctx: &mut Ctx) {
        if self.txn_fenced() {
            self.reinitialize(ctx);
            return;
        }
        let Some(t) = &mut self.txn else { return };
        if t.fenced || t.open_since.is_none() || t.ending != Ending::No || self.flushing.is_some() {
            return;
        }
        t.must_abort = true;
        ctx.notable("txn_abort", || {
            format!("abortTransaction() of transaction {}: the member lost its partitions", t.number)
        });
        self.end_transaction(ctx);
    }

    /// Replaces this producer with a new one of the same configuration (it keeps what it knows
    /// of the leaders, its request ids and its counters), which asks for a new epoch first.
    fn reinitialize(&mut self, ctx: &mut Ctx) {
        let fresh = Producer::new(self.index, &self.config, &self.metadata, self.seed, self.end);
        let old = std::mem::replace(self, fresh);
        self.next_request_id = old.next_request_id;
        (self.leaders, self.leader_epochs) = (old.leaders, old.leader_epochs);
        self.index_leaders();
        (self.records_sent, self.requests_sent, self.retries_sent) =
            (old.records_sent, old.requests_sent, old.retries_sent);
        if let (Some(t), Some(before)) = (&mut self.txn, &old.txn) {
            t.number = before.number;
            t.init_pending = true;
        }
        ctx.notable("reinitialized", || "the fenced producer is replaced: InitProducerId".to_string());
        self.send_txn_request(ctx);
    }

    /// A consume-transform-produce member's process starts again after a crash: a new producer
    /// with the same configuration and `transactional.id` (Kafka Streams keeps its process id in
    /// the state directory, so a restarted instance's thread producers get their old ids). Its
    /// `InitProducerId` bumps the epoch, which fences the crashed process's producer and aborts
    /// the transaction it left open, without waiting for `transaction.timeout.ms`. It keeps its
    /// request ids (answers to the old process are dropped) and its counters.
    pub fn restart(&mut self, ctx: &mut Ctx) {
        let fresh = Producer::new(self.index, &self.config, &self.metadata, self.seed, self.end);
        let old = std::mem::replace(self, fresh);
        self.next_request_id = old.next_request_id;
        (self.records_sent, self.requests_sent, self.retries_sent) =
            (old.records_sent, old.requests_sent, old.retries_sent);
        if let (Some(t), Some(before)) = (&mut self.txn, &old.txn) {
            t.number = before.number;
            t.init_pending = true;
        } else {
            // An idempotent producer's new instance gets a new producer id from InitProducerId,
            // and numbers its batches from 0 again. kafkasim keeps one id per producer: the new
            // instance starts a new epoch instead, which the brokers accept afresh.
            self.producer_epoch = old.producer_epoch + 1;
        }
        self.on_start(ctx);
    }

    /// Whether a transaction is open (or ending).
    pub(super) fn txn_open(&self) -> bool {
        self.txn.as_ref().is_some_and(|t| t.open_since.is_some())
    }

    /// Whether the producer was fenced (it can do nothing more).
    pub(super) fn txn_fenced(&self) -> bool {
        self.txn.as_ref().is_some_and(|t| t.fenced)
    }

    /// `sendOffsetsToTransaction` of consumer group `group`'s offsets, then `commitTransaction()`
    /// (after the end in progress, if any).
    pub(super) fn commit_with_offsets(&mut self, group: u32, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        if t.ending != Ending::No || self.flushing.is_some() {
            self.queue_commit_with_offsets(group);
            return;
        }
        t.offsets = Some((group, OffsetsStage::Add));
        self.end_transaction(ctx);
    }

    /// As [`Producer::commit_with_offsets`], once the transaction ending now has ended.
    pub(super) fn queue_commit_with_offsets(&mut self, group: u32) {
        if let Some(t) = &mut self.txn {
            t.offsets_next = Some(group);
            t.end_due = true;
        }
    }

    /// The group coordinator answered `TxnOffsetCommit`: `EndTxn` goes next, an abort if it
    /// refused the offsets.
    pub(super) fn txn_offsets_sent(&mut self, accepted: bool, ctx: &mut Ctx) {
        let Some(t) = &mut self.txn else { return };
        let Some((_, stage)) = &mut t.offsets else { return };
        *stage = OffsetsStage::Sent;
        if let (false, Ending::Requested { called, .. }) = (accepted, t.ending) {
            t.ending = Ending::Requested { commit: false, called };
        }
        if t.request.is_none() {
            self.send_txn_request(ctx);
        }
    }
}
