//! KIP-320 in the consumer: a position remembers the leader epoch of the record before it, and
//! after a leader change (or when it comes from a committed offset) it is validated before the
//! member fetches again. The member asks the partition's leader where that epoch ended
//! (`OffsetsForLeaderEpoch`); an end below the position means the log was truncated under it (an
//! unclean election), and the position moves back to the first offset known to diverge.
//!
//! Follows `SubscriptionState.maybeValidatePositionForCurrentLeader` and
//! `maybeCompleteValidation` of the Java client (clients 2.3+): with `auto.offset.reset` other
//! than `none`, an undefined answer resets the position and a lower end offset seeks to it; with
//! `none` the partition stops (`LogTruncationException`). Simplified: one request per leader at a
//! time, retried after the next metadata answer when it fails; positions from `ListOffsets` carry
//! no epoch and are not validated; a consumer's fetch is not fenced by its `current_leader_epoch`
//! (followers' fetches are), so only new metadata starts a validation.

use super::Consumer;
use crate::cluster::Metadata;
use crate::protocol::{EpochEndOffset, EpochQuery, Message};
use crate::scenario::AutoOffsetReset;
use crate::sim::{Ctx, NodeId};

impl Consumer {
    /// `validatePositionsIfNeeded`: one `OffsetsForLeaderEpoch` per leader for the owned
    /// partitions awaiting validation with no request out.
    pub(super) fn validate_positions(&mut self, ctx: &mut Ctx) {
        self.validation_needed = false;
        for b in 0..self.metadata.brokers {
            if self.validations_pending[b as usize].is_some() {
                // Its answer (or its timeout) brings the next round.
                self.validation_needed |= self.owned.iter().any(|o| {
                    o.awaiting_validation
                        && o.validation_request.is_none()
                        && self.leaders[o.partition as usize] == Some(b)
                });
                continue;
            }
            let partitions: Vec<EpochQuery> = self
                .owned
                .iter()
                .filter(|o| o.awaiting_validation && o.validation_request.is_none())
                .filter(|o| self.leaders[o.partition as usize] == Some(b))
                .filter_map(|o| {
                    o.offset_epoch.map(|leader_epoch| EpochQuery {
                        partition: o.partition,
                        current_leader_epoch: self.leader_epochs[o.partition as usize],
                        leader_epoch,
                    })
                })
                .collect();
            if partitions.is_empty() {
                continue;
            }
            let request_id = self.next_request_id;
            self.next_request_id += 1;
            for o in &mut self.owned {
                if partitions.iter().any(|q| q.partition == o.partition) {
                    o.validation_request = Some(request_id);
                }
            }
            self.validations_pending[b as usize] = Some((request_id, ctx.now()));
            ctx.send(Metadata::broker_node(b), Message::OffsetsForLeaderEpochRequest { request_id, partitions });
        }
    }

    /// The leader's answer: per partition, where the position's epoch ended.
    pub(super) fn on_epoch_end_offsets(
        &mut self,
        from: NodeId,
        request_id: u64,
        partitions: Vec<(u32, EpochEndOffset)>,
        ctx: &mut Ctx,
    ) {
        let b = from.0 as usize;
        if !super::answered(&mut self.validations_pending, b, request_id) {
            return;
        }
        let mut refresh = false;
        let mut reset = Vec::new();
        for (p, result) in partitions {
            // Skipped if the position moved since the request (a reset, a new assignment).
            let Some(o) = self.owned.iter_mut().find(|o| o.partition == p && o.validation_request == Some(request_id))
            else {
                continue;
            };
            o.validation_request = None;
            let Some(position) = o.position else { continue };
            match result {
                Err(_) => refresh = true, // stale metadata: validated again after the refresh
                Ok(None) if self.config.auto_offset_reset != AutoOffsetReset::None => {
                    // "Truncation detected ..., resetting offset": auto.offset.reset.
                    o.position = None;
                    o.awaiting_validation = false;
                    reset.push(p);
                }
                Ok(Some((epoch, end))) if end < position && self.config.auto_offset_reset != AutoOffsetReset::None => {
                    // "resetting offset to the first offset known to diverge".
                    o.awaiting_validation = false;
                    self.truncation_detected(p, position, end, epoch, ctx);
                }
                Ok(answer) if answer.is_none_or(|(_, end)| end < position) => {
                    // auto.offset.reset=none: LogTruncationException; the partition stops.
                    o.awaiting_validation = false;
                    o.position = None;
                    o.no_offset = true;
                    let name = self.metadata.partition_name(p);
                    ctx.notable("log truncation", || {
                        format!(
                            "group={} {name} position {position}: LogTruncationException (the leader's log ends at {} for epoch {:?}; auto.offset.reset=none)",
                            self.config.name,
                            answer.map_or("an undefined offset".to_string(), |(_, end)| end.to_string()),
                            o.offset_epoch
                        )
                    });
                }
                Ok(_) => o.awaiting_validation = false, // `completeValidation`
            }
        }
        if !reset.is_empty() {
            self.reset_positions(&reset, ctx);
        }
        if refresh {
            self.refresh_metadata(ctx);
        }
    }

    /// The position of `p` was past the end of its epoch on the leader: it moves back there.
    fn truncation_detected(&mut self, p: u32, position: u64, end: u64, epoch: u32, ctx: &mut Ctx) {
        let (group, now) = (self.group, ctx.now());
        let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) else { return };
        let last_epoch = o.offset_epoch;
        o.position = Some(end);
        o.fetch_position = end;
        o.offset_epoch = Some(epoch);
        o.buffer.clear();
        self.truncations_detected += 1;
        ctx.metrics().groups.truncations_detected.push((now, group, p, position, end, epoch));
        let name = self.metadata.partition_name(p);
        ctx.notable("truncation detected", || {
            format!(
                "group={} {name} position {position} (epoch {}) → {end}: the leader's epoch {epoch} ends at {end} (KIP-320)",
                self.config.name,
                last_epoch.map_or("?".to_string(), |e| e.to_string())
            )
        });
    }

    /// A validation request failed (timed out or disconnected): its partitions ask again after
    /// the next metadata answer.
    pub(super) fn validation_failed(owned: &mut [super::Owned], request_id: u64) {
        for o in owned.iter_mut().filter(|o| o.validation_request == Some(request_id)) {
            o.validation_request = None;
        }
    }
}
