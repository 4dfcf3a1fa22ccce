//! A consume-transform-produce member (a group with `output`): Kafka Streams' `StreamThread`
//! with one task per partition and a `mapValues(..).to(topic)` topology.
//!
//! Each record it processes becomes one output record: when its processing ends, the member
//! hands it to the producer it owns (`RecordCollector.send`), which runs in the same process.
//! Commits go through that producer too ([`Message::PipelineCommit`]): under at-least-once it
//! flushes and then commits the offsets; under exactly-once v2 it sends them to its transaction
//! and commits the transaction. The member waits for the answer, as `TaskManager.commit` blocks
//! the stream thread.
//!
//! Simplified: one output record per input record, no state stores; a commit covers every
//! owned partition.

use super::Consumer;
use crate::protocol::{ForwardedRecord, Message, source_id};
use crate::sim::{Ctx, NodeId};

impl Consumer {
    /// Makes this member a consume-transform-produce member whose output producer is `producer`.
    pub fn set_output_producer(&mut self, producer: NodeId) {
        self.output_producer = Some(producer);
    }

    /// Whether this member writes an output under `exactly_once_v2`.
    pub(super) fn exactly_once(&self) -> bool {
        self.config.output.as_ref().is_some_and(|o| o.exactly_once())
    }

    /// The producer this member owns (a group with `output`).
    pub fn output_producer(&self) -> Option<NodeId> {
        self.output_producer
    }

    /// Hands records `[start, end)` of the current work, just processed, to the producer.
    pub(super) fn forward(&mut self, producer: NodeId, start: usize, end: usize, ctx: &mut Ctx) {
        let work = &self.work;
        let mut records = Vec::with_capacity(end - start);
        let mut values = work.values.iter().skip_while(|v| v.0 < start).peekable();
        for (chunk, lo, a, b) in work.chunks(start, end) {
            for r in a..b {
                let offset = chunk.first_offset + (r - lo) as u64;
                let value = values.next_if(|v| v.0 == r).map(|v| v.2);
                records.push(ForwardedRecord { source: source_id(chunk.partition, offset), value });
            }
        }
        ctx.send_local(producer, Message::Forward { records });
    }

    /// Sends a commit of `offsets` to the output producer instead of the coordinator; the answer
    /// is the coordinator's `OffsetCommit` response, relayed. Returns the request id.
    pub(super) fn send_pipeline_commit(
        &mut self,
        producer: NodeId,
        coordinator: u32,
        offsets: Vec<(u32, u64, Option<u32>)>,
        ctx: &mut Ctx,
    ) -> u64 {
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        let commit = Message::PipelineCommit {
            request_id,
            group: self.group,
            coordinator,
            member_id: self.member_id.clone(),
            generation: self.generation,
            offsets,
        };
        ctx.send_local(producer, commit);
        request_id
    }
}
