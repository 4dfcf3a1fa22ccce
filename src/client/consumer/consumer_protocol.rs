//! The member's side of the consumer rebalance protocol (KIP-848, `group.protocol=consumer`;
//! the Java client's `ConsumerMembershipManager` and `ConsumerHeartbeatRequestManager`).
//!
//! The member generates its own member id (KIP-1082) and joins with a `ConsumerGroupHeartbeat`
//! at epoch 0. From then on it heartbeats every `group.consumer.heartbeat.interval.ms` (the
//! coordinator says how often) with the partitions it holds. When a response brings a new
//! assignment, the member reconciles it: the partitions that moved stop being fetched, the
//! consumed positions are committed (`autoCommitSyncBeforeRevocation` under auto-commit; the
//! `commitSync` of the application's `onPartitionsRevoked` with `commit_on_revoke`), they are
//! revoked, the new ones are assigned, and once the commit is answered a heartbeat at once tells
//! the coordinator (the acknowledgement that lets the partitions move on). Partitions it keeps
//! are never paused.
//!
//! Who reconciles: the Java client's background thread, at once, when the application has no
//! rebalance listener; with one (`commit_on_revoke`), its callbacks run in the application
//! thread, so the reconciliation waits for the next `poll()`, after the batch in hand. Without a
//! listener, the records the application is still processing when their partition moves are
//! finished by the old owner: their positions were committed when `poll()` returned them.
//!
//! `FENCED_MEMBER_EPOCH` or `UNKNOWN_MEMBER_ID` make the member lose its partitions (no commit)
//! and join again at epoch 0 with the same id. A poll timeout or `close()` leaves with epoch -1,
//! or -2 for a static member (`group.instance.id`), whose next process then takes its place and
//! its assignment. A static member that joins while its instance id is still held (it crashed,
//! and its session has not expired) gets `UNRELEASED_INSTANCE_ID`, which is fatal.
//!
//! Simplified: the owned partitions go in every heartbeat (the Java client sends them only when
//! they changed); a `commit_on_revoke` commit does not block the application thread.

use super::{Consumer, Membership};
use crate::cluster::Metadata;
use crate::group::consumer_protocol::{LEAVE_EPOCH, STATIC_LEAVE_EPOCH};
use crate::protocol::{ConsumerHeartbeatResult, GroupRequest, KafkaError, Message};
use crate::scenario::CommitMode;
use crate::sim::{Ctx, SimDuration, SimTime, Timer};

impl Consumer {
    /// A new `KafkaConsumer` instance: a fresh member id, a UUID as the Java client makes
    /// (`Uuid.randomUuid()`; kafkasim prefixes the client id so traces stay readable).
    pub(super) fn new_member_id(&mut self) {
        let a = self.member_ids.next_u64();
        let b = self.member_ids.next_u64();
        self.member_id = format!("{}-{}", self.name, crate::group::uuid_v4(a, b));
    }

    fn consumer_heartbeat(&mut self, member_epoch: i32, ctx: &mut Ctx) -> Option<u64> {
        let c = self.coordinator?;
        let owned: Vec<u32> =
            if member_epoch == 0 { Vec::new() } else { self.owned.iter().map(|o| o.partition).collect() };
        let body = GroupRequest::ConsumerGroupHeartbeat {
            member_id: self.member_id.clone(),
            instance_id: self.instance_id(),
            member_epoch,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            owned,
        };
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        ctx.send(
            Metadata::broker_node(c),
            Message::GroupRequest { request_id, group: self.group, body: Box::new(body) },
        );
        Some(request_id)
    }

    /// Joins (or joins again) at epoch 0.
    pub(super) fn consumer_join(&mut self, ctx: &mut Ctx) {
        if self.coordinator.is_none() {
            self.find_coordinator(ctx);
            return;
        }
        let Some(id) = self.consumer_heartbeat(0, ctx) else { return };
        self.membership = Membership::Joining(id);
        self.membership_sent = ctx.now();
        self.heartbeat_pending = None;
        self.ack_needed = false;
        self.rejoin_needed = false;
        self.left_on_poll_timeout = false;
    }

    /// A heartbeat now, with the partitions held (the regular one, or an acknowledgement).
    pub(super) fn send_consumer_heartbeat(&mut self, ctx: &mut Ctx) {
        if self.membership != Membership::Stable || self.heartbeat_pending.is_some() {
            return;
        }
        if self.coordinator.is_none() {
            self.find_coordinator(ctx);
            return;
        }
        if let Some(id) = self.consumer_heartbeat(self.generation, ctx) {
            self.heartbeat_pending = Some((id, ctx.now()));
            self.ack_needed = false;
        }
    }

    /// Leaves with epoch -1 (`close()`, or the poll timeout): the coordinator frees the
    /// partitions at once. The member keeps its id.
    pub(super) fn consumer_leave(&mut self, why: &str, ctx: &mut Ctx) {
        if self.generation >= 0 && self.coordinator.is_some() {
            // `leaveGroupEpoch`: a static member leaves for now (-2), keeping its assignment
            // at the coordinator until its session expires.
            let epoch = if self.instance_id().is_some() { STATIC_LEAVE_EPOCH } else { LEAVE_EPOCH };
            ctx.notable("leave group", || format!("group={} ({why}): heartbeat with epoch {epoch}", self.config.name));
            self.consumer_heartbeat(epoch, ctx);
        }
        self.generation = -1;
        self.membership = Membership::Unjoined;
        self.pending_assignment = None;
        self.heartbeat_pending = None;
        self.ack_needed = false;
    }

    /// Arms the heartbeat timer for `at`, unless it is armed earlier.
    pub(super) fn arm_consumer_heartbeat(&mut self, at: SimTime, ctx: &mut Ctx) {
        if self.heartbeat_timer_at.is_none_or(|t| t <= ctx.now() || at < t) {
            self.heartbeat_timer_at = Some(at);
            ctx.set_timer_at(at, Timer::Heartbeat);
        }
    }

    /// The heartbeat timer: the poll-timeout check, then a heartbeat once the interval since the
    /// last answer has passed (`ConsumerHeartbeatRequestManager`).
    pub(super) fn on_consumer_heartbeat_timer(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        if self.heartbeat_timer_at.is_some_and(|t| t > now) {
            return; // a timer replaced by an earlier one (a paused process's fire late: not this)
        }
        self.heartbeat_timer_at = None;
        let next = if self.next_heartbeat_at > now { self.next_heartbeat_at } else { now + self.heartbeat_interval };
        self.arm_consumer_heartbeat(next, ctx);
        if self.leave_on_poll_timeout(self.generation >= 0, ctx) {
            return;
        }
        if now >= self.next_heartbeat_at {
            self.send_consumer_heartbeat(ctx);
        }
    }

    pub(super) fn on_consumer_heartbeat_response(
        &mut self,
        request_id: u64,
        result: Result<ConsumerHeartbeatResult, KafkaError>,
        ctx: &mut Ctx,
    ) {
        let joining = self.membership == Membership::Joining(request_id);
        if !joining && self.heartbeat_pending.map(|p| p.0) != Some(request_id) {
            return; // a leave's answer, or one overtaken by a rejoin
        }
        self.heartbeat_pending = None;
        match result {
            Ok(r) if r.member_epoch >= 0 => {
                self.last_heartbeat_ok = ctx.now();
                self.heartbeat_interval = SimDuration::from_ms(r.heartbeat_interval_ms.max(1));
                self.next_heartbeat_at = ctx.now() + self.heartbeat_interval;
                self.arm_consumer_heartbeat(self.next_heartbeat_at, ctx);
                if joining {
                    self.membership = Membership::Stable;
                }
                if r.member_epoch != self.generation {
                    let (name, epoch) = (&self.config.name, r.member_epoch);
                    ctx.detail("member epoch", || format!("group={name} epoch={epoch}"));
                }
                self.generation = r.member_epoch;
                if let Some(assignment) = r.assignment {
                    if self.config.commit_on_revoke {
                        // A rebalance listener runs in the application thread: the
                        // reconciliation waits for its next poll().
                        self.pending_assignment = Some(assignment);
                    } else {
                        // No listener: the background thread reconciles at once.
                        self.reconcile_consumer_assignment(assignment, ctx);
                    }
                }
                if self.ack_needed {
                    self.send_consumer_heartbeat(ctx);
                }
            }
            Ok(_) => {}
            Err(e @ (KafkaError::FencedMemberEpoch | KafkaError::UnknownMemberId)) => {
                // `transitionToFenced`: onPartitionsLost, then join again at epoch 0.
                ctx.notable("fenced", || format!("group={} {}: rejoining at epoch 0", self.config.name, e.name()));
                self.lose_all(e, ctx);
            }
            Err(e @ (KafkaError::NotCoordinator | KafkaError::CoordinatorNotAvailable)) => {
                if joining {
                    self.membership = Membership::Unjoined;
                    self.rejoin_needed = true;
                }
                self.coordinator_unknown(e.name(), ctx);
            }
            Err(e) => self.fail(e, ctx),
        }
    }

    /// Reconciles the assignment a heartbeat brought (`ConsumerMembershipManager.reconcile`):
    /// revoke what moved (after committing), assign what is new, then acknowledge.
    pub(super) fn reconcile_consumer_assignment(&mut self, mut assignment: Vec<u32>, ctx: &mut Ctx) {
        assignment.sort_unstable();
        let revoked = self.moved_away(&assignment);
        let mut commit = None;
        if !revoked.is_empty() {
            if self.config.commit == CommitMode::Auto || self.config.commit_on_revoke {
                // `autoCommitSyncBeforeRevocation`: every consumed position.
                let detect = self.config.detect_truncation;
                let offsets: Vec<(u32, u64, Option<u32>)> =
                    self.owned.iter().filter_map(|o| o.commit_entry(detect)).collect();
                if !offsets.is_empty() {
                    self.send_commit(offsets, false, ctx);
                    commit = self.commits.last().map(|c| c.0);
                }
            }
            self.revoke_moved(&revoked, "moving to another member", ctx);
        }
        self.take_assignment(&assignment, "epoch", ctx);
        // The acknowledgement: at once, or once the commit before the revocation is answered.
        match commit {
            Some(id) => self.ack_after_commit = Some(id),
            None => {
                self.ack_needed = true;
                self.send_consumer_heartbeat(ctx);
            }
        }
    }

    /// A commit was answered (or failed): the acknowledgement that waited for it goes now.
    pub(super) fn on_commit_done(&mut self, request_id: u64, ctx: &mut Ctx) {
        if self.ack_after_commit == Some(request_id) {
            self.ack_after_commit = None;
            self.ack_needed = true;
            self.send_consumer_heartbeat(ctx);
        }
    }
}
