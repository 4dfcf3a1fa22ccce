//! The group coordinator's side of the consumer rebalance protocol (KIP-848, GA in Kafka 4.0,
//! `group.protocol=consumer`; kafka-reference §4.8): one `ConsumerGroupHeartbeat` RPC instead of
//! JoinGroup, SyncGroup and Heartbeat, an assignment computed by the coordinator, and no
//! group-wide barrier. Each member converges on its target assignment on its own: it gives up
//! what moved first, and a partition goes to its new owner only once the old owner has said,
//! in a heartbeat, that it no longer holds it.
//!
//! Follows the Java `GroupMetadataManager.consumerGroupHeartbeat` (member epochs, fencing,
//! session and rebalance timeouts), `CurrentAssignmentBuilder` (the member's reconciliation:
//! STABLE, UNREVOKED_PARTITIONS, UNRELEASED_PARTITIONS) and the server-side `uniform` assignor's
//! `UniformHomogeneousAssignmentBuilder` (every member of a kafkasim group subscribes to the
//! group's topics: a homogeneous group).
//!
//! Simplified:
//! * Kafka iterates its members in a hash map's order; kafkasim in member-id order (with random
//!   member ids, just as arbitrary, but deterministic). Topics are taken in the group's order.
//! * The target assignment is computed in the heartbeat that finds the group epoch ahead of it,
//!   at once (no `group.consumer.assignment.interval.ms` batching, no offloaded assignor).
//! * A member that joins again with epoch 0 under an id the group still holds (after it was
//!   fenced by its own client, or left on a poll timeout) is removed and added again.
//! * The server assignors `uniform` (the default) and `range`; no regular-expression
//!   subscriptions, no classic members in a consumer group (no upgrade path).
//!
//! Static members (`group.instance.id`) follow `getOrMaybeSubscribeStaticConsumerGroupMember`:
//! a static member leaves for now with epoch -2 and keeps its assignment; a new process with its
//! instance id takes its place and its assignment, with no new group epoch. While the instance id
//! is still held (the member never left with -2), a join with it gets `UNRELEASED_INSTANCE_ID`.

use std::ops::Range;

use super::coordinator::{Group, Out, Rebalance};
use crate::protocol::{ConsumerHeartbeatResult, GroupResponse, KafkaError};
pub use crate::scenario::RemoteAssignor;
use crate::sim::{NodeId, SimDuration, SimTime};

/// `MemberState` of a member of a consumer group (`modern/MemberState.java`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// At the target epoch with its whole target assignment.
    Stable,
    /// Must give up partitions before it may move to the next epoch.
    UnrevokedPartitions,
    /// At the target epoch, waiting for partitions that other members still hold.
    UnreleasedPartitions,
}

impl MemberState {
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Stable => "STABLE",
            MemberState::UnrevokedPartitions => "UNREVOKED_PARTITIONS",
            MemberState::UnreleasedPartitions => "UNRELEASED_PARTITIONS",
        }
    }
}

/// A member of a consumer group as the coordinator knows it (`ConsumerGroupMember`).
#[derive(Clone, Debug)]
pub struct ConsumerMember {
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    pub node: NodeId,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    /// Global partitions it is assigned now (what its last response told it), sorted.
    pub assigned: Vec<u32>,
    /// Partitions it must give up before it moves on, sorted.
    pub pending_revocation: Vec<u32>,
    /// `max.poll.interval.ms` of the member: how long it has to revoke.
    pub rebalance_timeout: SimDuration,
    pub session_deadline: SimTime,
    /// Set while it is in UNREVOKED_PARTITIONS: revoked by then, or fenced.
    pub revocation_deadline: Option<SimTime>,
}

impl ConsumerMember {
    /// A member joining at epoch 0, stable with nothing assigned yet.
    pub fn joining(
        member_id: String,
        instance_id: Option<String>,
        node: NodeId,
        rebalance_timeout: SimDuration,
    ) -> Self {
        ConsumerMember {
            member_id,
            instance_id,
            node,
            member_epoch: 0,
            previous_member_epoch: 0,
            state: MemberState::Stable,
            assigned: Vec::new(),
            pending_revocation: Vec::new(),
            rebalance_timeout,
            session_deadline: SimTime::ZERO,
            revocation_deadline: None,
        }
    }
}

/// The consumer-protocol state of a group (`ConsumerGroup`).
#[derive(Clone, Debug)]
pub struct ConsumerProtocolGroup {
    /// Bumped by every change of membership.
    pub group_epoch: i32,
    /// The epoch the target assignment was computed at.
    pub target_epoch: i32,
    /// Member id → its target partitions (sorted), in member-id order.
    pub target: Vec<(String, Vec<u32>)>,
    pub members: Vec<ConsumerMember>,
    /// The group's subscribed topics, each as its global partitions, in the group's order.
    topics: Vec<Range<u32>>,
    /// The server-side assignor (`group.remote.assignor`).
    pub assignor: RemoteAssignor,
    /// `group.consumer.heartbeat.interval.ms`, `group.consumer.session.timeout.ms`.
    pub heartbeat_interval: SimDuration,
    pub session_timeout: SimDuration,
}

/// What a `ConsumerGroupHeartbeat` carries.
pub struct Heartbeat {
    pub member_id: String,
    pub instance_id: Option<String>,
    /// 0 to join, -1 to leave, else the epoch the member is at.
    pub member_epoch: i32,
    pub rebalance_timeout_ms: u64,
    /// The partitions the member holds now.
    pub owned: Vec<u32>,
}

/// `LEAVE_GROUP_MEMBER_EPOCH`.
pub const LEAVE_EPOCH: i32 = -1;
/// `LEAVE_GROUP_STATIC_MEMBER_EPOCH`: a static member leaves for now.
pub const STATIC_LEAVE_EPOCH: i32 = -2;

impl ConsumerProtocolGroup {
    pub fn new(
        topics: Vec<Range<u32>>,
        assignor: RemoteAssignor,
        heartbeat_interval: SimDuration,
        session_timeout: SimDuration,
    ) -> Self {
        ConsumerProtocolGroup {
            group_epoch: 0,
            target_epoch: 0,
            target: Vec::new(),
            members: Vec::new(),
            topics,
            assignor,
            heartbeat_interval,
            session_timeout,
        }
    }

    /// `ConsumerGroupState`: EMPTY, ASSIGNING (the target is behind the group epoch),
    /// RECONCILING (a member is not at the target yet) or STABLE.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.target_epoch != self.group_epoch {
            "Assigning"
        } else if self.members.iter().any(|m| m.member_epoch != self.target_epoch || m.state != MemberState::Stable) {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    fn member(&self, member_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.member_id == member_id)
    }

    /// The target partitions of a member.
    fn target_of(&self, member_id: &str) -> &[u32] {
        self.target.iter().find(|(id, _)| id == member_id).map_or(&[], |(_, p)| p.as_slice())
    }

    /// Whether a member other than `except` holds `p` (assigned or not yet revoked): the
    /// partition's epoch is not -1 (`currentPartitionEpoch`).
    fn held_by_other(&self, p: u32, except: usize) -> bool {
        self.members.iter().enumerate().any(|(i, m)| {
            i != except && (m.assigned.binary_search(&p).is_ok() || m.pending_revocation.binary_search(&p).is_ok())
        })
    }

    /// A new target assignment at the group epoch, by the group's assignor.
    pub fn compute_target(&mut self) {
        let mut ids: Vec<String> = self.members.iter().map(|m| m.member_id.clone()).collect();
        ids.sort_unstable();
        self.target = match (ids.is_empty(), self.assignor) {
            (true, _) => Vec::new(),
            (false, RemoteAssignor::Uniform) => self.uniform_target(&ids),
            (false, RemoteAssignor::Range) => self.range_target(&ids),
        };
        self.target_epoch = self.group_epoch;
    }

    /// The server `range` assignor (`group-coordinator/.../assignor/RangeAssignor.java`), topic
    /// by topic: each member keeps its lowest partitions of the topic up to the minimum quota
    /// (`partitions / members`), and one more while extra partitions remain
    /// (`partitions % members`); the rest go out in ranges, in order, to the members below
    /// their quota, the first ones taking the extra partitions left. Co-partitioned topics give
    /// each member the same partition numbers.
    fn range_target(&self, ids: &[String]) -> Vec<(String, Vec<u32>)> {
        let n = ids.len();
        let mut target: Vec<(String, Vec<u32>)> = ids.iter().map(|id| (id.clone(), Vec::new())).collect();
        for topic in &self.topics {
            let count = topic.len();
            let (min_quota, mut extra) = (count / n, count % n);
            let mut sticky: Vec<u32> = Vec::new();
            let mut unfilled: Vec<(usize, i64)> = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let old: Vec<u32> = self.target_of(id).iter().copied().filter(|p| topic.contains(p)).collect();
                let keep = old.len().min(min_quota);
                sticky.extend_from_slice(&old[..keep]);
                target[i].1.extend_from_slice(&old[..keep]);
                let remaining = min_quota as i64 - old.len() as i64;
                if remaining < 0 && extra > 0 {
                    extra -= 1;
                    sticky.push(old[min_quota]);
                    target[i].1.push(old[min_quota]);
                } else {
                    unfilled.push((i, remaining));
                }
            }
            let unassigned: Vec<u32> = topic.clone().filter(|p| !sticky.contains(p)).collect();
            let mut next = unassigned.into_iter();
            for (i, mut remaining) in unfilled {
                if extra > 0 {
                    remaining += 1;
                    extra -= 1;
                }
                if remaining > 0 {
                    target[i].1.extend(next.by_ref().take(remaining as usize));
                }
            }
        }
        for (_, parts) in &mut target {
            parts.sort_unstable();
        }
        target
    }

    /// `UniformHomogeneousAssignmentBuilder.build`: each member keeps what it had in the last
    /// target up to its quota (`partitions / members`, one more for the first
    /// `partitions % members` members), and what is left goes to members under their quota.
    /// Balance first, then stickiness.
    fn uniform_target(&self, ids: &[String]) -> Vec<(String, Vec<u32>)> {
        let n = ids.len();
        let partitions: Vec<u32> = self.topics.iter().flat_map(Range::clone).collect();
        let in_old_target = |p: u32| self.target.iter().any(|(id, parts)| ids.contains(id) && parts.contains(&p));
        let mut unassigned: Vec<u32> = partitions.iter().copied().filter(|&p| !in_old_target(p)).collect();
        let (min_quota, mut extra) = (partitions.len() / n, partitions.len() % n);
        let mut target: Vec<(String, Vec<u32>)> = Vec::with_capacity(n);
        let mut unfilled: Vec<(usize, usize)> = Vec::new();
        for id in ids {
            let mut quota = min_quota;
            if extra > 0 {
                quota += 1;
                extra -= 1;
            }
            // Its old target, ascending (a Java `HashSet<Integer>` of partition ids iterates so).
            let old = self.target_of(id);
            let keep = old.len().min(quota);
            unassigned.extend_from_slice(&old[keep..]);
            quota -= keep;
            if quota > 0 {
                unfilled.push((target.len(), quota));
            }
            target.push((id.to_string(), old[..keep].to_vec()));
        }
        let mut next = unassigned.into_iter();
        for (i, quota) in unfilled {
            target[i].1.extend(next.by_ref().take(quota));
            target[i].1.sort_unstable();
        }
        target
    }

    /// `CurrentAssignmentBuilder.build` for member `i`, which reported holding `owned`. Returns
    /// whether its assignment or epoch changed.
    fn reconcile(&mut self, i: usize, owned: &[u32]) -> bool {
        let m = &self.members[i];
        let owns_any = |revoking: &[u32]| revoking.iter().any(|p| owned.contains(p));
        let must_compute = match m.state {
            MemberState::Stable => m.member_epoch != self.target_epoch,
            // It may move on once it no longer reports any partition it had to give up.
            MemberState::UnrevokedPartitions => !owns_any(&m.pending_revocation),
            MemberState::UnreleasedPartitions => true,
        };
        if !must_compute {
            return false;
        }
        let target = self.target_of(&m.member_id).to_vec();
        // New assigned = assigned ∩ target; pending revocation = assigned − target;
        // pending assignment = target − assigned − partitions other members still hold.
        let assigned: Vec<u32> = m.assigned.iter().copied().filter(|p| target.contains(p)).collect();
        let revoking: Vec<u32> = m.assigned.iter().copied().filter(|p| !target.contains(p)).collect();
        let mut unreleased = false;
        let mut adding = Vec::new();
        for &p in target.iter().filter(|p| !assigned.contains(p)) {
            if self.held_by_other(p, i) {
                unreleased = true;
            } else {
                adding.push(p);
            }
        }
        let target_epoch = self.target_epoch;
        let before = (self.members[i].member_epoch, self.members[i].assigned.clone());
        let m = &mut self.members[i];
        let set_epoch = |m: &mut ConsumerMember, epoch: i32| {
            if m.member_epoch != epoch {
                m.previous_member_epoch = m.member_epoch;
                m.member_epoch = epoch;
            }
        };
        if !revoking.is_empty() && owns_any(&revoking) {
            // It keeps its epoch and must revoke first.
            m.state = MemberState::UnrevokedPartitions;
            m.assigned = assigned;
            m.pending_revocation = revoking;
        } else {
            let mut assigned = assigned;
            assigned.extend(adding);
            assigned.sort_unstable();
            m.state = if unreleased { MemberState::UnreleasedPartitions } else { MemberState::Stable };
            set_epoch(m, target_epoch);
            m.assigned = assigned;
            m.pending_revocation.clear();
        }
        before != (m.member_epoch, m.assigned.clone())
    }
}

/// A server assignor on its own (for `kafkasim assign`): the target for `members` (ids, each
/// with its previous target) over `topics` (each as its global partitions).
pub fn server_assignment(
    assignor: RemoteAssignor,
    topics: Vec<Range<u32>>,
    members: &[(String, Vec<u32>)],
) -> Vec<(String, Vec<u32>)> {
    let mut g = ConsumerProtocolGroup::new(topics, assignor, SimDuration::ZERO, SimDuration::ZERO);
    g.members =
        members.iter().map(|(id, _)| ConsumerMember::joining(id.clone(), None, NodeId(0), SimDuration::ZERO)).collect();
    g.target = members
        .iter()
        .map(|(id, p)| (id.clone(), p.iter().copied().filter(|x| g.topics.iter().any(|t| t.contains(x))).collect()))
        .collect();
    for (_, p) in &mut g.target {
        p.sort_unstable();
    }
    g.group_epoch = 1;
    g.compute_target();
    g.target
}

/// The answer to a leave: the epoch it left with, nothing to do next.
fn left(member_id: String, member_epoch: i32) -> ConsumerHeartbeatResult {
    ConsumerHeartbeatResult { member_id, member_epoch, heartbeat_interval_ms: 0, assignment: None }
}

impl Group {
    /// `consumerGroupHeartbeat`.
    pub(super) fn consumer_heartbeat(&mut self, from: NodeId, request_id: u64, hb: Heartbeat, out: &mut Out) {
        let who = self.client_id(from).to_string();
        let Some(cg) = self.consumer.as_mut() else { return };
        let reply = |out: &mut Out, result| out.reply(from, request_id, GroupResponse::ConsumerGroupHeartbeat(result));
        let existing = cg.member(&hb.member_id);
        let by_instance =
            hb.instance_id.as_ref().and_then(|i| cg.members.iter().position(|m| m.instance_id.as_ref() == Some(i)));
        if let Some(s) = by_instance
            && hb.member_epoch != 0
            && cg.members[s].member_id != hb.member_id
        {
            // `throwIfInstanceIdIsFenced`: another process holds this instance id now.
            reply(out, Err(KafkaError::FencedInstanceId));
            return;
        }
        if hb.member_epoch == STATIC_LEAVE_EPOCH {
            // `consumerGroupStaticMemberGroupLeave`: it keeps its assignment (and its partitions
            // stay unowned) until a new process takes its place or its session expires.
            match by_instance {
                Some(i) => {
                    cg.members[i].member_epoch = STATIC_LEAVE_EPOCH;
                    cg.members[i].revocation_deadline = None;
                    out.ctx.notable("static member left", || {
                        format!(
                            "group={} member={who} keeps its assignment for {} ms",
                            self.name,
                            cg.session_timeout.0 / 1_000_000
                        )
                    });
                    reply(out, Ok(left(hb.member_id, STATIC_LEAVE_EPOCH)));
                }
                None => reply(out, Err(KafkaError::UnknownMemberId)),
            }
            return;
        }
        if hb.member_epoch == 0
            && let Some(s) = by_instance
        {
            if cg.members[s].member_epoch != STATIC_LEAVE_EPOCH {
                reply(out, Err(KafkaError::UnreleasedInstanceId));
                return;
            }
            // The new process takes the old one's place and assignment: no new group epoch.
            let old = std::mem::replace(&mut cg.members[s].member_id, hb.member_id.clone());
            let m = &mut cg.members[s];
            (m.node, m.member_epoch, m.previous_member_epoch) = (from, 0, 0);
            m.rebalance_timeout = SimDuration::from_ms(hb.rebalance_timeout_ms);
            if let Some((id, _)) = cg.target.iter_mut().find(|(id, _)| *id == old) {
                id.clone_from(&hb.member_id);
            }
            out.ctx.notable("static member rejoined", || {
                format!("group={} member={who} replaces {old} and takes its assignment", self.name)
            });
            return self.consumer_reconcile(from, request_id, s, true, &hb.owned, out);
        }
        if hb.member_epoch == LEAVE_EPOCH {
            match existing {
                Some(i) => {
                    self.remove_consumer_member(i, &format!("{who} left the group"), out);
                    reply(out, Ok(left(hb.member_id, LEAVE_EPOCH)));
                }
                None => reply(out, Err(KafkaError::UnknownMemberId)),
            }
            return;
        }
        let (i, joined) = match (hb.member_epoch, existing) {
            (0, existing) => {
                if let Some(i) = existing {
                    // The same member id joining again from scratch: its old incarnation goes.
                    cg.members.remove(i);
                }
                let cg = self.consumer.as_mut().expect("checked");
                let timeout = SimDuration::from_ms(hb.rebalance_timeout_ms);
                cg.members.push(ConsumerMember::joining(hb.member_id.clone(), hb.instance_id.clone(), from, timeout));
                out.ctx.notable("member joined", || format!("group={} member={who} id={}", self.name, hb.member_id));
                self.bump_group_epoch(&format!("{who} joined"), out);
                (self.consumer.as_ref().expect("checked").members.len() - 1, true)
            }
            (_, None) => {
                reply(out, Err(KafkaError::UnknownMemberId));
                return;
            }
            (epoch, Some(i)) => {
                // `throwIfConsumerGroupMemberEpochIsInvalid`: an older epoch is accepted only
                // if it is the previous one and the member holds nothing it was not given (the
                // response that moved it on was lost).
                let m = &cg.members[i];
                let lost_response =
                    epoch == m.previous_member_epoch && hb.owned.iter().all(|p| m.assigned.binary_search(p).is_ok());
                if epoch > m.member_epoch || (epoch < m.member_epoch && !lost_response) {
                    reply(out, Err(KafkaError::FencedMemberEpoch));
                    return;
                }
                (i, false)
            }
        };
        self.consumer_reconcile(from, request_id, i, joined, &hb.owned, out);
    }

    /// The rest of a heartbeat from member `i`: its session, the target if due, its
    /// reconciliation and the answer.
    fn consumer_reconcile(
        &mut self,
        from: NodeId,
        request_id: u64,
        i: usize,
        joined: bool,
        owned: &[u32],
        out: &mut Out,
    ) {
        let now = out.ctx.now();
        let who = self.client_id(from).to_string();
        let reply = |out: &mut Out, result| out.reply(from, request_id, GroupResponse::ConsumerGroupHeartbeat(result));
        let cg = self.consumer.as_mut().expect("checked");
        cg.members[i].node = from;
        cg.members[i].session_deadline = now + cg.session_timeout;
        if cg.group_epoch > cg.target_epoch {
            cg.compute_target();
            let target = cg.target.clone();
            out.ctx.detail("target assignment", || {
                let parts: Vec<String> = target.iter().map(|(id, p)| format!("{id}={p:?}")).collect();
                format!("group={} epoch={} {}", self.name, cg.target_epoch, parts.join(" "))
            });
        }
        let cg = self.consumer.as_mut().expect("checked");
        let was_revoking = cg.members[i].state == MemberState::UnrevokedPartitions;
        let changed = cg.reconcile(i, owned);
        let m = &mut cg.members[i];
        if m.state == MemberState::UnrevokedPartitions {
            if !was_revoking || m.revocation_deadline.is_none() {
                m.revocation_deadline = Some(now + m.rebalance_timeout);
            }
        } else {
            m.revocation_deadline = None;
        }
        let result = ConsumerHeartbeatResult {
            member_id: m.member_id.clone(),
            member_epoch: m.member_epoch,
            heartbeat_interval_ms: cg.heartbeat_interval.0 / 1_000_000,
            assignment: (changed || joined).then(|| m.assigned.clone()),
        };
        if changed {
            let (state, epoch, assigned) = (m.state, m.member_epoch, m.assigned.clone());
            out.ctx.detail("member reconciled", || {
                format!("group={} member={who} epoch={epoch} {} assigned={assigned:?}", self.name, state.name())
            });
        }
        reply(out, Ok(result));
        self.note_consumer_group_state(out);
    }

    /// The first global partition of each topic a consumer-protocol group subscribes to (none for
    /// a classic group).
    pub fn subscribed_topics(&self) -> Vec<u32> {
        self.consumer.as_ref().map_or_else(Vec::new, |cg| cg.topics.iter().map(|r| r.start).collect())
    }

    /// `GroupMetadataManager.onNewMetadataImage`: a subscribed topic (its partitions from
    /// `first`) now has `count` partitions. The group's subscription metadata changed, so its
    /// epoch moves on and the next heartbeat computes a target over every partition (Kafka bumps
    /// the epoch in that heartbeat, after `metadataRefreshDeadline`; here at once, which the
    /// members see at the same moment).
    pub fn topic_grew(&mut self, first: u32, count: u32, ctx: &mut crate::sim::Ctx, group: u32) {
        let Some(cg) = self.consumer.as_mut() else { return };
        let Some(range) = cg.topics.iter_mut().find(|r| r.start == first) else { return };
        if range.end >= first + count {
            return;
        }
        let was = range.end - first;
        range.end = first + count;
        let mut out = Out { ctx, group };
        let reason = format!("subscribed topic grew from {was} to {count} partitions");
        out.ctx.notable("group_metadata", || format!("group={}: {reason}", self.name));
        self.bump_group_epoch(&reason, &mut out);
    }

    /// A membership change: the group epoch moves on, and a new target assignment is due (a
    /// rebalance, as the report counts them, which ends when every member reached it).
    fn bump_group_epoch(&mut self, reason: &str, out: &mut Out) {
        let now = out.ctx.now();
        let cg = self.consumer.as_mut().expect("a consumer group");
        cg.group_epoch += 1;
        self.generation = cg.group_epoch;
        self.state = if cg.members.is_empty() { super::GroupState::Empty } else { super::GroupState::Stable };
        if cg.members.is_empty() {
            self.empty_since = Some(now);
        } else {
            self.empty_since = None;
        }
        let members: Vec<String> = cg
            .members
            .iter()
            .map(|m| m.node)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|n| self.client_id(n).to_string())
            .collect();
        if let Some(r) = self.rebalances.last_mut()
            && r.stable.is_none()
        {
            // The previous target was not reached: this one replaces it.
            r.reason = format!("{}; {reason}", r.reason);
            r.generation = Some(self.generation);
            r.joined = Some(now);
            r.members = members;
        } else {
            self.rebalances.push(Rebalance {
                started: now,
                reason: reason.to_string(),
                generation: Some(self.generation),
                joined: Some(now),
                stable: None,
                protocol: None,
                members,
            });
        }
        out.ctx.notable("group epoch", || format!("group={} epoch={} reason: {reason}", self.name, self.generation));
    }

    /// Removes a member (it left, or was fenced): its partitions are free at once.
    pub(super) fn remove_consumer_member(&mut self, i: usize, reason: &str, out: &mut Out) {
        let cg = self.consumer.as_mut().expect("a consumer group");
        cg.members.remove(i);
        out.ctx.notable("member removed", || format!("group={} {reason}", self.name));
        self.bump_group_epoch(reason, out);
        self.note_consumer_group_state(out);
    }

    /// Marks the current rebalance done once every member reached the target.
    fn note_consumer_group_state(&mut self, out: &mut Out) {
        let Some(cg) = self.consumer.as_ref() else { return };
        let stable = matches!(cg.state_name(), "Stable" | "Empty");
        if stable
            && let Some(r) = self.rebalances.last_mut()
            && r.stable.is_none()
        {
            r.stable = Some(out.ctx.now());
            let epoch = cg.group_epoch;
            out.ctx.notable("group stable", || format!("group={} epoch={epoch}", self.name));
        }
    }

    /// Session and rebalance timeouts due by `now`: the member is fenced.
    pub(super) fn expire_consumer_members(&mut self, out: &mut Out) {
        let now = out.ctx.now();
        loop {
            let Some(cg) = self.consumer.as_ref() else { return };
            let due = cg
                .members
                .iter()
                .position(|m| m.session_deadline <= now || m.revocation_deadline.is_some_and(|t| t <= now));
            let Some(i) = due else { return };
            let m = &cg.members[i];
            let who = self.client_id(m.node).to_string();
            let reason = if m.session_deadline <= now {
                format!("{who} session timeout ({} ms without a heartbeat)", cg.session_timeout.0 / 1_000_000)
            } else {
                let n = m.pending_revocation.len();
                format!(
                    "{who} did not revoke {n} partition{} within its rebalance timeout ({} ms)",
                    if n == 1 { "" } else { "s" },
                    m.rebalance_timeout.0 / 1_000_000
                )
            };
            self.remove_consumer_member(i, &reason, out);
        }
    }

    /// The deadlines of a consumer group's members.
    pub(super) fn consumer_deadlines(&self) -> impl Iterator<Item = SimTime> + '_ {
        self.consumer.iter().flat_map(|cg| {
            cg.members.iter().flat_map(|m| std::iter::once(m.session_deadline).chain(m.revocation_deadline))
        })
    }

    /// `ConsumerGroup.validateOffsetCommit`: the member's epoch must be the one the group has
    /// for it (`STALE_MEMBER_EPOCH` if older, `FENCED_MEMBER_EPOCH` if newer).
    pub(super) fn validate_consumer_commit(&self, member_id: &str, member_epoch: i32) -> Result<(), KafkaError> {
        let cg = self.consumer.as_ref().expect("a consumer group");
        let i = cg.member(member_id).ok_or(KafkaError::UnknownMemberId)?;
        let expected = cg.members[i].member_epoch;
        match member_epoch.cmp(&expected) {
            std::cmp::Ordering::Equal => Ok(()),
            std::cmp::Ordering::Less => Err(KafkaError::StaleMemberEpoch),
            std::cmp::Ordering::Greater => Err(KafkaError::FencedMemberEpoch),
        }
    }

    /// A new coordinator loaded the group: sessions start again, revocation deadlines too.
    pub(super) fn load_consumer_members(&mut self, now: SimTime) {
        if let Some(cg) = self.consumer.as_mut() {
            for m in &mut cg.members {
                m.session_deadline = now + cg.session_timeout;
                if m.revocation_deadline.is_some() {
                    m.revocation_deadline = Some(now + m.rebalance_timeout);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> ConsumerMember {
        ConsumerMember::joining(id.to_string(), None, NodeId(0), SimDuration::from_ms(300_000))
    }

    fn group(partitions: u32, ids: &[&str]) -> ConsumerProtocolGroup {
        let mut g = ConsumerProtocolGroup::new(
            std::iter::once(0..partitions).collect(),
            RemoteAssignor::Uniform,
            SimDuration::from_ms(5000),
            SimDuration::from_ms(45_000),
        );
        g.members = ids.iter().map(|id| member(id)).collect();
        g.group_epoch = 1;
        g
    }

    fn target(g: &ConsumerProtocolGroup) -> Vec<(&str, &[u32])> {
        g.target.iter().map(|(id, p)| (id.as_str(), p.as_slice())).collect()
    }

    #[test]
    fn the_uniform_assignor_balances_first_with_the_extra_partitions_to_the_first_members() {
        // UniformHomogeneousAssignmentBuilder: 7 partitions, 3 members → quotas 3, 2, 2; a fresh
        // group hands out the partitions in order.
        let mut g = group(7, &["c", "a", "b"]);
        g.compute_target();
        assert_eq!(target(&g), vec![("a", &[0, 1, 2][..]), ("b", &[3, 4][..]), ("c", &[5, 6][..])]);
        assert_eq!(g.target_epoch, 1);
    }

    #[test]
    fn the_uniform_assignor_is_sticky_within_the_quotas() {
        let mut g = group(6, &["a", "b"]);
        g.compute_target();
        assert_eq!(target(&g), vec![("a", &[0, 1, 2][..]), ("b", &[3, 4, 5][..])]);
        // A third member: each keeps its lowest partitions up to its quota of 2; the rest go to
        // the new member.
        g.members.push(member("c"));
        g.group_epoch = 2;
        g.compute_target();
        assert_eq!(target(&g), vec![("a", &[0, 1][..]), ("b", &[3, 4][..]), ("c", &[2, 5][..])]);
        // "b" leaves: its partitions are unassigned and fill the others up to 3 each.
        g.members.retain(|m| m.member_id != "b");
        g.group_epoch = 3;
        g.compute_target();
        assert_eq!(target(&g), vec![("a", &[0, 1, 3][..]), ("c", &[2, 4, 5][..])]);
    }

    #[test]
    fn the_range_assignor_lines_up_co_partitioned_topics_and_stays_sticky() {
        // Two topics of 3 partitions (global 0..3 and 3..6), two members: per topic, quota 1 and
        // one extra to the first member in member-id order, so "a" gets partitions 0 and 1 of
        // both topics (RangeAssignor.java).
        let mut g = group(0, &["b", "a"]);
        g.topics = vec![0..3, 3..6];
        g.assignor = RemoteAssignor::Range;
        g.compute_target();
        assert_eq!(target(&g), vec![("a", &[0, 1, 3, 4][..]), ("b", &[2, 5][..])]);
        // A third member: each keeps its lowest partition of each topic (quota 1, no extra).
        g.members.push(member("c"));
        g.group_epoch = 2;
        g.compute_target();
        assert_eq!(target(&g), vec![("a", &[0, 3][..]), ("b", &[2, 5][..]), ("c", &[1, 4][..])]);
        // The uniform assignor balances over all six instead: "a" may get one topic's three.
        let mut u = group(0, &["a", "b"]);
        u.topics = vec![0..3, 3..6];
        u.compute_target();
        assert_eq!(target(&u), vec![("a", &[0, 1, 2][..]), ("b", &[3, 4, 5][..])]);
    }

    #[test]
    fn a_member_revokes_before_its_partitions_move_and_the_new_owner_waits_for_them() {
        let mut g = group(4, &["a"]);
        g.compute_target();
        assert!(g.reconcile(0, &[]));
        assert_eq!((g.members[0].member_epoch, &g.members[0].assigned[..]), (1, &[0, 1, 2, 3][..]));
        // "b" joins at epoch 2: a keeps 0,1 and must revoke 2,3 first, at its old epoch.
        g.members.push(member("b"));
        g.group_epoch = 2;
        g.compute_target();
        assert!(g.reconcile(0, &[0, 1, 2, 3]));
        let a = &g.members[0];
        assert_eq!((a.state, a.member_epoch), (MemberState::UnrevokedPartitions, 1));
        assert_eq!((&a.assigned[..], &a.pending_revocation[..]), (&[0, 1][..], &[2, 3][..]));
        // b moves to epoch 2, but 2 and 3 are still a's: it gets nothing yet.
        assert!(g.reconcile(1, &[]));
        let b = &g.members[1];
        assert_eq!((b.state, b.member_epoch, b.assigned.len()), (MemberState::UnreleasedPartitions, 2, 0));
        // While a still reports 2, nothing moves.
        assert!(!g.reconcile(0, &[0, 1, 2]));
        // a acknowledges: it is at epoch 2 and stable; then b's next heartbeat gets 2 and 3.
        assert!(g.reconcile(0, &[0, 1]));
        assert_eq!((g.members[0].state, g.members[0].member_epoch), (MemberState::Stable, 2));
        assert!(g.reconcile(1, &[]));
        assert_eq!((g.members[1].state, &g.members[1].assigned[..]), (MemberState::Stable, &[2, 3][..]));
        assert_eq!(g.state_name(), "Stable");
    }
}
