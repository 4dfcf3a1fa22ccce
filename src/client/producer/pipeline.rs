//! The producer a consume-transform-produce member owns (a group with `output`): Kafka Streams'
//! `RecordCollector` and the producer half of `TaskManager.commit`.
//!
//! It has no arrivals of its own: its member hands it each processed record
//! ([`Message::Forward`]), which it sends to the output partition numbered as the record's
//! input partition. The member's commits come to it ([`Message::PipelineCommit`]):
//! - **at-least-once**: `flush()` (every output record so far acknowledged), then `OffsetCommit`
//!   to the group coordinator for the member;
//! - **exactly-once v2**: `sendOffsetsToTransaction` (`AddOffsetsToTxn` to the transaction
//!   coordinator, then `TxnOffsetCommit` to the group coordinator with the member's generation)
//!   and `commitTransaction()`. A `TxnOffsetCommit` the group refuses (a zombie's: its
//!   generation is over) aborts the transaction instead.
//!
//! Either way the member gets the answer as an `OffsetCommit` response.

use super::{PendingRecord, Producer};
use crate::cluster::Metadata;
use crate::protocol::{ForwardedRecord, GroupRequest, GroupResponse, KafkaError, Message, source_partition};
use crate::sim::{Ctx, NodeId, SimDuration, SimTime};

/// A commit the member asked for and waits on.
#[derive(Debug)]
pub(super) struct OutputCommit {
    member: NodeId,
    /// The member's request id (the answer carries it).
    member_request: u64,
    pub(super) group: u32,
    coordinator: u32,
    member_id: String,
    generation: i32,
    offsets: Vec<(u32, u64, Option<u32>)>,
    /// The request out to the group coordinator (`OffsetCommit` or `TxnOffsetCommit`).
    request: Option<(u64, SimTime)>,
    /// Exactly-once: why the transaction aborts instead of committing.
    error: Option<KafkaError>,
}

impl Producer {
    /// Whether this producer writes a consume-transform-produce member's output.
    pub(super) fn is_output(&self) -> bool {
        self.config.output_of.is_some()
    }

    /// The member processed these records: one output record each.
    #[inline(never)] // out of the producer's response path
    pub(super) fn on_forward(&mut self, records: Vec<ForwardedRecord>, ctx: &mut Ctx) {
        let now = ctx.now();
        ctx.metrics().produced(now, records.len() as u64);
        for r in records {
            let input = source_partition(r.source);
            let local = (input - self.metadata.topic_of(input).first) % self.num_partitions;
            let value = self.values.next_bytes();
            let record = PendingRecord {
                created: now,
                send_called: now,
                key: None,
                value,
                tombstone: false,
                payload: r.value,
                forwarded: Some((r.source, local)),
            };
            self.send_record(record, ctx);
        }
    }

    /// The member commits: see the module documentation.
    #[allow(clippy::too_many_arguments)] // the request's fields, as the member sent them
    #[cold]
    #[inline(never)]
    pub(super) fn on_pipeline_commit(
        &mut self,
        member: NodeId,
        member_request: u64,
        group: u32,
        coordinator: u32,
        member_id: String,
        generation: i32,
        offsets: Vec<(u32, u64, Option<u32>)>,
        ctx: &mut Ctx,
    ) {
        let commit = OutputCommit {
            member,
            member_request,
            group,
            coordinator,
            member_id,
            generation,
            offsets,
            request: None,
            error: None,
        };
        if self.txn.is_some() && self.output_commit.is_some() {
            // The member gave up on the commit in progress (its request timed out, and it
            // started again from the committed offsets): that transaction ends as it ends, and
            // this commit's transaction comes after it.
            self.output_commit_next = Some(commit);
            return;
        }
        if self.txn.is_none() {
            self.output_commit = Some(commit);
            // At-least-once: flush first; the offsets go when the flush ends.
            self.begin_flush(ctx);
            return;
        }
        if self.txn_fenced() {
            self.reply_to_member(&commit, Err(KafkaError::ProducerFenced), ctx);
            return;
        }
        if commit.offsets.is_empty() && !self.txn_open() {
            // Nothing processed, nothing to commit (Kafka Streams commits only what changed).
            self.reply_to_member(&commit, Ok(()), ctx);
            return;
        }
        self.output_commit = Some(commit);
        self.commit_with_offsets(group, ctx);
    }

    /// At-least-once: a flush ended; a commit waiting for it sends its offsets now.
    pub(super) fn output_flushed(&mut self, ctx: &mut Ctx) {
        if self.txn.is_some() {
            return;
        }
        let Some(c) = &self.output_commit else { return };
        if c.request.is_some() {
            return;
        }
        let body = GroupRequest::OffsetCommit {
            member_id: c.member_id.clone(),
            generation: c.generation,
            offsets: c.offsets.clone(),
        };
        self.send_group_request(body, ctx);
    }

    /// Exactly-once: the transaction added the group's offsets; `TxnOffsetCommit` goes to the
    /// group coordinator.
    pub(super) fn send_txn_offset_commit(&mut self, ctx: &mut Ctx) {
        let Some(c) = &self.output_commit else { return };
        let body = GroupRequest::TxnOffsetCommit {
            producer: self.index,
            producer_epoch: self.producer_epoch,
            member_id: c.member_id.clone(),
            generation: c.generation,
            offsets: c.offsets.clone(),
        };
        self.send_group_request(body, ctx);
    }

    fn send_group_request(&mut self, body: GroupRequest, ctx: &mut Ctx) {
        let Some(c) = &mut self.output_commit else { return };
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        c.request = Some((request_id, ctx.now()));
        let message = Message::GroupRequest { request_id, group: c.group, body: Box::new(body) };
        ctx.send(Metadata::broker_node(c.coordinator), message);
    }

    /// The group coordinator answered (or the request failed: disconnected, timed out).
    pub(super) fn on_output_group_answer(&mut self, request_id: u64, result: Result<(), KafkaError>, ctx: &mut Ctx) {
        let Some(c) = &mut self.output_commit else { return };
        if c.request.map(|r| r.0) != Some(request_id) {
            return;
        }
        c.request = None;
        if self.txn.is_none() {
            let c = self.output_commit.take().expect("checked above");
            self.reply_to_member(&c, result, ctx);
            return;
        }
        if let Err(e) = result {
            c.error = Some(e);
            ctx.notable("txn_offsets_refused", || {
                format!("TxnOffsetCommit refused ({}): the transaction aborts", e.name())
            });
        }
        self.txn_offsets_sent(result.is_ok(), ctx);
    }

    /// A group response came to this producer: its commit's answer.
    #[cold]
    #[inline(never)]
    pub(super) fn on_group_response(&mut self, request_id: u64, body: GroupResponse, ctx: &mut Ctx) {
        match body {
            GroupResponse::OffsetCommit(result) | GroupResponse::TxnOffsetCommit(result) => {
                self.on_output_group_answer(request_id, result, ctx)
            }
            _ => {}
        }
    }

    /// Whether `request_id` is the commit's request to the group coordinator (a disconnect of
    /// it is handled here).
    #[cold]
    #[inline(never)]
    pub(super) fn output_disconnected(&mut self, request_id: u64, ctx: &mut Ctx) -> bool {
        let ours = self.output_commit.as_ref().and_then(|c| c.request).is_some_and(|r| r.0 == request_id);
        if ours {
            self.on_output_group_answer(request_id, Err(KafkaError::NetworkException), ctx);
        }
        ours
    }

    /// The commit's request to the group coordinator unanswered for `request.timeout.ms` fails.
    #[inline(never)]
    pub(super) fn expire_output_request(&mut self, ctx: &mut Ctx) {
        let timeout = SimDuration::from_ms(self.config.request_timeout_ms);
        let Some((request_id, sent)) = self.output_commit.as_ref().and_then(|c| c.request) else { return };
        if ctx.now().since(sent) >= timeout {
            self.on_output_group_answer(request_id, Err(KafkaError::RequestTimedOut), ctx);
        }
    }

    /// Exactly-once: the transaction carrying the commit's offsets ended; the member gets the
    /// answer.
    /// A commit that waited for it goes next (the caller ends the next transaction).
    pub(super) fn output_transaction_ended(&mut self, committed: bool, ctx: &mut Ctx) {
        let Some(c) = self.output_commit.take() else { return };
        if let Some(next) = self.output_commit_next.take() {
            self.queue_commit_with_offsets(next.group);
            self.output_commit = Some(next);
        }
        let result = match (committed, c.error) {
            (true, _) => Ok(()),
            (false, Some(e)) => Err(e),
            // A batch of it failed for good: the transaction could only abort.
            (false, None) => Err(KafkaError::RequestTimedOut),
        };
        self.reply_to_member(&c, result, ctx);
    }

    /// The producer was fenced: a waiting commit fails.
    pub(super) fn output_fenced(&mut self, ctx: &mut Ctx) {
        for c in [self.output_commit.take(), self.output_commit_next.take()].into_iter().flatten() {
            self.reply_to_member(&c, Err(KafkaError::ProducerFenced), ctx);
        }
    }

    fn reply_to_member(&self, c: &OutputCommit, result: Result<(), KafkaError>, ctx: &mut Ctx) {
        let body = Box::new(GroupResponse::OffsetCommit(result));
        ctx.send_local(c.member, Message::GroupResponse { request_id: c.member_request, group: c.group, body });
    }
}
