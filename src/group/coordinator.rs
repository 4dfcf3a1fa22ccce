//! The group coordinator of Kafka's classic consumer group protocol (kafka-reference §4).
//!
//! Kafka's coordinator for a group is the leader of partition `abs(hash(group.id)) % 50` of the
//! internal `__consumer_offsets` topic (`GroupCoordinatorService.partitionFor`); it runs the
//! group's state machine (`ClassicGroupState`: Empty, PreparingRebalance, CompletingRebalance,
//! Stable, Dead) and stores committed offsets in that partition. The handlers here follow the
//! Java `GroupMetadataManager` (Kafka 4.x) for JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! OffsetCommit and OffsetFetch, session expiry, the rebalance timeout, the initial rebalance
//! delay, pending-sync expiry, static membership (KIP-345) and offset retention (KIP-211).
//!
//! Simplified:
//! * `__consumer_offsets` carries no records. Its partitions are placed like any topic's, and
//!   the coordinator is the first of its replicas that the controller has not fenced (a clean
//!   election in replica order, with preferred-leader election at once when the preferred
//!   replica returns). The group's stored state ([`Group`]) is shared by the brokers, as a
//!   perfectly replicated offsets partition would make it: a commit the coordinator accepted
//!   survives a coordinator failover. What does not survive is in-memory work: parked joins
//!   and syncs are dropped and session deadlines restart when a new coordinator loads the group.
//! * Only the `consumer` protocol type. A group with `group_protocol: Consumer` is a KIP-848
//!   group instead, run by `consumer_protocol.rs` (its members never send JoinGroup).

use std::cell::RefCell;
use std::rc::Rc;

use crate::group::assignor::Strategy;
use crate::group::consumer_protocol::{ConsumerProtocolGroup, Heartbeat};
use crate::protocol::{GroupRequest, GroupResponse, JoinGroupResult, KafkaError, MemberSubscription, Message};
use crate::scenario::{GroupCoordinatorSettings, GroupProtocol, Scenario};
use crate::sim::{Ctx, NodeId, RandomStream, SimDuration, SimTime};

/// `ClassicGroupState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// A member as the coordinator knows it.
#[derive(Clone, Debug)]
pub struct MemberState {
    pub member_id: String,
    pub instance_id: Option<String>,
    /// The member's node (where responses go).
    pub node: NodeId,
    pub session_timeout: SimDuration,
    pub rebalance_timeout: SimDuration,
    pub protocols: Vec<Strategy>,
    pub subscription: MemberSubscription,
    /// A parked JoinGroup's request id.
    awaiting_join: Option<u64>,
    /// A parked SyncGroup's request id.
    awaiting_sync: Option<u64>,
    session_deadline: SimTime,
    pub assignment: Vec<u32>,
}

/// One rebalance, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rebalance {
    /// When the group entered PreparingRebalance.
    pub started: SimTime,
    /// Why (`member billing-3 joined`, `billing-1 session timeout`, ...).
    pub reason: String,
    /// The generation the join completed with, and when (`None`: still preparing at the end).
    pub generation: Option<i32>,
    pub joined: Option<SimTime>,
    /// When the leader's assignment arrived (the group became Stable).
    pub stable: Option<SimTime>,
    pub protocol: Option<Strategy>,
    /// Members of the new generation (their client ids, e.g. `billing-0`).
    pub members: Vec<String>,
}

/// A group's state, shared by the brokers (see the module doc).
#[derive(Debug)]
pub struct Group {
    pub name: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol: Option<Strategy>,
    pub leader: Option<String>,
    /// Members in the order they joined.
    pub members: Vec<MemberState>,
    /// Member ids given out with `MEMBER_ID_REQUIRED`, not yet joined, and their deadlines.
    pending: Vec<(String, SimTime)>,
    /// Committed offsets: `(global partition, offset, commit time, committed leader epoch)`,
    /// sorted by partition.
    pub committed: Vec<(u32, u64, SimTime, Option<u32>)>,
    /// Offsets sent in transactions not yet complete (`TxnOffsetCommit`), per producer: they
    /// become committed offsets if the transaction commits, and are dropped if it aborts.
    pub pending_txn_offsets: Vec<(u32, Vec<crate::protocol::OffsetToCommit>)>,
    /// Per producer, the epoch of the last transaction marker for it in the group's offsets
    /// partition: offsets of an older epoch come from a fenced producer.
    pub txn_marker_epochs: Vec<(u32, u16)>,
    /// When the group last became Empty.
    pub empty_since: Option<SimTime>,
    /// PreparingRebalance: when the join completes at the latest.
    join_deadline: SimTime,
    /// The initial rebalance delay in force: its end and the budget left (`InitialDelayedJoin`).
    initial_delay: Option<(SimTime, SimDuration)>,
    /// A member joined during the current initial delay.
    joined_during_delay: bool,
    /// CompletingRebalance: when members that did not sync are removed.
    sync_deadline: Option<SimTime>,
    /// The broker that has loaded the group (the coordinator now).
    pub owner: Option<u32>,
    pub rebalances: Vec<Rebalance>,
    /// Offsets deleted by retention: `(time, partitions)`.
    pub expirations: Vec<(SimTime, usize)>,
    /// Moves of the coordinator: `(time, broker)`.
    pub coordinator_moves: Vec<(SimTime, u32)>,
    member_ids: RandomStream,
    /// `group.initial.rebalance.delay.ms`.
    initial_rebalance_delay: SimDuration,
    /// Member node → client id, for readable records.
    client_ids: Vec<(NodeId, String)>,
    /// A KIP-848 group (`group.protocol=consumer`): its members and target assignment.
    pub consumer: Option<ConsumerProtocolGroup>,
}

/// The brokers' shared view of every group (the `__consumer_offsets` partitions).
pub type Groups = Rc<RefCell<Vec<Group>>>;

/// Creates every group of a scenario in the Empty state.
pub fn groups_of(scenario: &Scenario, first_member_node: u32) -> Groups {
    let mut node = first_member_node;
    // Each topic's first global partition (topics are numbered in the scenario's order).
    let mut first = 0;
    let first_partitions: Vec<(&str, u32, u32)> = scenario
        .topics
        .iter()
        .map(|t| {
            // The layout holds every partition the topic will have; the group starts with those
            // it has now (`topic_grew` adds the others).
            let start = first;
            first += scenario.partitions_ever(&t.name);
            (t.name.as_str(), start, t.partitions)
        })
        .collect();
    let groups = scenario
        .consumer_groups
        .iter()
        .map(|g| {
            let count = g.scale.iter().map(|s| s.members).fold(g.members, u32::max);
            let client_ids = (0..count)
                .map(|m| {
                    let id = (NodeId(node), format!("{}-{m}", g.name));
                    node += 1;
                    id
                })
                .collect();
            Group {
                name: g.name.clone(),
                state: GroupState::Empty,
                generation: 0,
                protocol: None,
                leader: None,
                members: Vec::new(),
                pending: Vec::new(),
                committed: Vec::new(),
                pending_txn_offsets: Vec::new(),
                txn_marker_epochs: Vec::new(),
                empty_since: Some(SimTime::ZERO),
                join_deadline: SimTime::ZERO,
                initial_delay: None,
                joined_during_delay: false,
                sync_deadline: None,
                owner: None,
                rebalances: Vec::new(),
                expirations: Vec::new(),
                coordinator_moves: Vec::new(),
                member_ids: RandomStream::new(scenario.seed, &format!("group/{}/member-ids", g.name)),
                initial_rebalance_delay: SimDuration::from_ms(
                    scenario.cluster.group_coordinator.group_initial_rebalance_delay_ms,
                ),
                client_ids,
                consumer: (g.group_protocol == GroupProtocol::Consumer).then(|| {
                    let settings = &scenario.cluster.group_coordinator;
                    let topics = g
                        .topics
                        .iter()
                        .filter_map(|t| first_partitions.iter().find(|(name, _, _)| name == t))
                        .map(|&(_, first, n)| first..first + n)
                        .collect();
                    ConsumerProtocolGroup::new(
                        topics,
                        g.group_remote_assignor,
                        SimDuration::from_ms(settings.group_consumer_heartbeat_interval_ms),
                        SimDuration::from_ms(settings.group_consumer_session_timeout_ms),
                    )
                }),
            }
        })
        .collect();
    Rc::new(RefCell::new(groups))
}

/// Java `Utils.abs(groupId.hashCode()) % partitions` (`GroupCoordinatorService.partitionFor`).
pub fn offsets_partition_for(group_id: &str, partitions: u32) -> u32 {
    let h = crate::group::assignor::java_string_hash(group_id);
    let abs = if h == i32::MIN { 0 } else { h.unsigned_abs() };
    abs % partitions.max(1)
}

/// `ClassicGroup.selectProtocol`: among the strategies every member supports, each member votes
/// for the first of them in its own preference order; the most votes wins (ties: the first
/// member's preference order). This is why the default `[range, cooperative-sticky]` rebalances
/// eagerly, and why a rolling upgrade to cooperative needs every member to drop `range`
/// (kafka-reference §4.6).
pub fn select_protocol(members: &[&[Strategy]]) -> Strategy {
    let Some(first) = members.first() else { return Strategy::Range };
    let candidates: Vec<Strategy> = first.iter().copied().filter(|s| members.iter().all(|m| m.contains(s))).collect();
    let mut best = (candidates.first().copied().unwrap_or(Strategy::Range), 0);
    for &c in &candidates {
        let votes = members.iter().filter(|m| m.iter().find(|s| candidates.contains(s)) == Some(&c)).count();
        if votes > best.1 {
            best = (c, votes);
        }
    }
    best.0
}

/// What a coordinator does at a point in time: responses to send and lines to trace.
pub(super) struct Out<'a, 'b> {
    pub(super) ctx: &'a mut Ctx<'b>,
    pub(super) group: u32,
}

impl Out<'_, '_> {
    pub(super) fn reply(&mut self, to: NodeId, request_id: u64, body: GroupResponse) {
        let group = self.group;
        self.ctx.send(to, Message::GroupResponse { request_id, group, body: Box::new(body) });
    }
}

impl Group {
    pub(super) fn client_id(&self, node: NodeId) -> &str {
        self.client_ids.iter().find(|(n, _)| *n == node).map(|(_, c)| c.as_str()).unwrap_or("?")
    }

    fn member(&self, member_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.member_id == member_id)
    }

    /// The group's rebalance timeout: the largest of its members' (`ClassicGroup.rebalanceTimeoutMs`).
    fn rebalance_timeout(&self) -> SimDuration {
        self.members.iter().map(|m| m.rebalance_timeout).max().unwrap_or(SimDuration::ZERO)
    }

    /// The earliest time something is due (session expiry, a join or sync deadline, offset
    /// expiry), for the coordinator's timer.
    pub fn next_deadline(&self, settings: &GroupCoordinatorSettings) -> Option<SimTime> {
        let mut next: Option<SimTime> = None;
        let mut at = |t: SimTime| next = Some(next.map_or(t, |n: SimTime| n.min(t)));
        for m in &self.members {
            if m.awaiting_join.is_none() {
                at(m.session_deadline);
            }
        }
        for t in self.consumer_deadlines() {
            at(t);
        }
        for (_, t) in &self.pending {
            at(*t);
        }
        match self.state {
            GroupState::PreparingRebalance => at(self.initial_delay.map_or(self.join_deadline, |d| d.0)),
            GroupState::CompletingRebalance => {
                if let Some(t) = self.sync_deadline {
                    at(t)
                }
            }
            _ => {}
        }
        if let Some(t) = self.retention_due(settings) {
            at(t)
        }
        next
    }

    /// When retention removes this group's offsets: the first retention check at or after
    /// `empty_since + offsets.retention.minutes` (checks run every
    /// `offsets.retention.check.interval.ms` from time zero).
    fn retention_due(&self, settings: &GroupCoordinatorSettings) -> Option<SimTime> {
        if self.state != GroupState::Empty || self.committed.is_empty() {
            return None;
        }
        let expires = self.empty_since? + SimDuration::from_ms(settings.offsets_retention_minutes * 60_000);
        let every = SimDuration::from_ms(settings.offsets_retention_check_interval_ms.max(1)).as_nanos();
        Some(SimTime(expires.as_nanos().div_ceil(every) * every))
    }

    /// A new coordinator loads the group: in-memory work is gone, sessions restart.
    pub fn load(&mut self, broker: u32, now: SimTime) {
        self.owner = Some(broker);
        self.coordinator_moves.push((now, broker));
        self.pending.clear();
        self.load_consumer_members(now);
        for m in &mut self.members {
            m.awaiting_join = None;
            m.awaiting_sync = None;
            m.session_deadline = now + m.session_timeout;
        }
        if matches!(self.state, GroupState::PreparingRebalance | GroupState::CompletingRebalance) {
            // The members learn of it from their next heartbeat and rejoin.
            self.state = GroupState::PreparingRebalance;
            self.initial_delay = None;
            self.sync_deadline = None;
            self.join_deadline = now + self.rebalance_timeout();
        }
    }

    /// Handles one request from `from` (this broker is the coordinator and has loaded the group).
    pub fn handle(
        &mut self,
        settings: &GroupCoordinatorSettings,
        from: NodeId,
        request_id: u64,
        body: GroupRequest,
        group: u32,
        ctx: &mut Ctx,
    ) {
        let mut out = Out { ctx, group };
        let now = out.ctx.now();
        match body {
            GroupRequest::FindCoordinator => {}
            GroupRequest::JoinGroup {
                member_id,
                group_instance_id,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
                subscription,
            } => {
                if session_timeout_ms < settings.group_min_session_timeout_ms
                    || session_timeout_ms > settings.group_max_session_timeout_ms
                {
                    out.reply(
                        from,
                        request_id,
                        GroupResponse::JoinGroup(Err((KafkaError::InvalidSessionTimeout, member_id))),
                    );
                    return;
                }
                if self.state == GroupState::Dead {
                    self.state = GroupState::Empty;
                }
                let member = MemberState {
                    member_id: member_id.clone(),
                    instance_id: group_instance_id.clone(),
                    node: from,
                    session_timeout: SimDuration::from_ms(session_timeout_ms),
                    rebalance_timeout: SimDuration::from_ms(rebalance_timeout_ms),
                    protocols,
                    subscription,
                    awaiting_join: Some(request_id),
                    awaiting_sync: None,
                    session_deadline: now + SimDuration::from_ms(session_timeout_ms),
                    assignment: Vec::new(),
                };
                self.join(member, &mut out);
            }
            GroupRequest::SyncGroup { member_id, generation, assignments } => {
                self.sync(from, request_id, &member_id, generation, assignments, &mut out)
            }
            GroupRequest::Heartbeat { member_id, generation } => {
                let result = self.heartbeat(&member_id, generation, now);
                out.reply(from, request_id, GroupResponse::Heartbeat(result));
            }
            GroupRequest::LeaveGroup { member_id } => {
                let result = match self.member(&member_id) {
                    Some(i) => {
                        let who = self.client_id(self.members[i].node).to_string();
                        self.remove_member(i, &format!("{who} left the group"), &mut out);
                        Ok(())
                    }
                    None => Err(KafkaError::UnknownMemberId),
                };
                out.reply(from, request_id, GroupResponse::LeaveGroup(result));
            }
            GroupRequest::ConsumerGroupHeartbeat {
                member_id,
                instance_id,
                member_epoch,
                rebalance_timeout_ms,
                owned,
            } => {
                let hb = Heartbeat { member_id, instance_id, member_epoch, rebalance_timeout_ms, owned };
                self.consumer_heartbeat(from, request_id, hb, &mut out);
            }
            GroupRequest::OffsetCommit { member_id, generation, offsets } => {
                let result = if self.consumer.is_some() {
                    // A KIP-848 member commits with its member epoch.
                    self.validate_consumer_commit(&member_id, generation)
                } else {
                    self.validate_commit(&member_id, generation, now)
                };
                if result.is_ok() {
                    for (p, offset, epoch) in offsets {
                        self.commit_offset(p, offset, now, epoch);
                    }
                }
                out.reply(from, request_id, GroupResponse::OffsetCommit(result));
            }
            GroupRequest::OffsetFetch { partitions, require_stable } => {
                if require_stable && partitions.iter().any(|p| self.has_pending_txn_offset(*p)) {
                    // KIP-447: the offsets may still change; the consumer asks again later.
                    let body = GroupResponse::OffsetFetch(Err(KafkaError::UnstableOffsetCommit));
                    out.reply(from, request_id, body);
                    return;
                }
                let offsets = partitions
                    .iter()
                    .map(|&p| {
                        let i = self.committed.binary_search_by_key(&p, |c| c.0).ok();
                        (p, i.map(|i| (self.committed[i].1, self.committed[i].3)))
                    })
                    .collect();
                out.reply(from, request_id, GroupResponse::OffsetFetch(Ok(offsets)));
            }
            GroupRequest::TxnOffsetCommit { producer, producer_epoch, member_id, generation, offsets } => {
                let marker_epoch = self.txn_marker_epochs.iter().find(|e| e.0 == producer).map(|e| e.1);
                let result = match marker_epoch {
                    // A transaction of this epoch already ended (timed out): the producer is fenced.
                    Some(epoch) if producer_epoch < epoch => Err(KafkaError::ProducerFenced),
                    _ => self.validate_txn_commit(&member_id, generation),
                };
                if result.is_ok() {
                    let i = match self.pending_txn_offsets.iter().position(|(p, _)| *p == producer) {
                        Some(i) => i,
                        None => {
                            self.pending_txn_offsets.push((producer, Vec::new()));
                            self.pending_txn_offsets.len() - 1
                        }
                    };
                    let pending = &mut self.pending_txn_offsets[i].1;
                    for entry in offsets {
                        match pending.iter_mut().find(|e| e.0 == entry.0) {
                            Some(e) => *e = entry,
                            None => pending.push(entry),
                        }
                    }
                }
                out.reply(from, request_id, GroupResponse::TxnOffsetCommit(result));
            }
        }
    }

    /// JoinGroup (`GroupMetadataManager.classicGroupJoin`).
    fn join(&mut self, mut member: MemberState, out: &mut Out) {
        let now = out.ctx.now();
        let request_id = member.awaiting_join.expect("a joining member has a request");
        let who = self.client_id(member.node).to_string();
        if member.member_id.is_empty() {
            let new_id = self.new_member_id(&who);
            if let Some(instance) = member.instance_id.clone() {
                // A static member (re)joining: it replaces the member with its instance id.
                member.member_id = new_id;
                if let Some(i) = self.members.iter().position(|m| m.instance_id.as_ref() == Some(&instance)) {
                    let old = std::mem::replace(&mut self.members[i].member_id, member.member_id.clone());
                    if self.leader.as_ref() == Some(&old) {
                        self.leader = Some(member.member_id.clone());
                    }
                    let protocols_same = self.members[i].protocols == member.protocols
                        && self.members[i].subscription.topics == member.subscription.topics;
                    let existing = &mut self.members[i];
                    existing.node = member.node;
                    existing.session_timeout = member.session_timeout;
                    existing.rebalance_timeout = member.rebalance_timeout;
                    existing.session_deadline = now + member.session_timeout;
                    out.ctx.notable("static member rejoined", || {
                        format!("group={} member={who} instance={instance} replaces {old}", self.name)
                    });
                    if self.state == GroupState::Stable && protocols_same {
                        // KIP-345: the existing assignment comes back without a rebalance.
                        let result = self.current_generation(i);
                        out.reply(member.node, request_id, GroupResponse::JoinGroup(Ok(result)));
                        return;
                    }
                    self.members[i].protocols = member.protocols;
                    self.members[i].subscription = member.subscription;
                    self.members[i].awaiting_join = Some(request_id);
                    self.prepare_or_complete(&format!("static member {who} rejoined"), out);
                    return;
                }
                self.add_member(member, &who, out);
                return;
            }
            // KIP-394: a new dynamic member gets its id first and must rejoin with it.
            let deadline = now + member.session_timeout;
            self.pending.push((new_id.clone(), deadline));
            out.reply(member.node, request_id, GroupResponse::JoinGroup(Err((KafkaError::MemberIdRequired, new_id))));
            return;
        }
        if let Some(k) = self.pending.iter().position(|(id, _)| *id == member.member_id) {
            self.pending.remove(k);
            self.add_member(member, &who, out);
            return;
        }
        let Some(i) = self.member(&member.member_id) else {
            out.reply(
                member.node,
                request_id,
                GroupResponse::JoinGroup(Err((KafkaError::UnknownMemberId, member.member_id))),
            );
            return;
        };
        let changed =
            self.members[i].protocols != member.protocols || self.members[i].subscription != member.subscription;
        let is_leader = self.leader.as_deref() == Some(member.member_id.as_str());
        let existing = &mut self.members[i];
        existing.node = member.node;
        existing.protocols = member.protocols;
        existing.subscription = member.subscription;
        existing.session_deadline = now + existing.session_timeout;
        match self.state {
            GroupState::PreparingRebalance => {
                existing.awaiting_join = Some(request_id);
                self.try_complete_join(out);
            }
            GroupState::Stable if !changed && !is_leader => {
                // A follower rejoining with the same metadata gets the current generation back.
                let result = self.current_generation(i);
                out.reply(self.members[i].node, request_id, GroupResponse::JoinGroup(Ok(result)));
            }
            _ => {
                existing.awaiting_join = Some(request_id);
                self.prepare_or_complete(&format!("{who} rejoined with new metadata"), out);
            }
        }
    }

    /// The JoinGroup answer of a Stable group to member `i` rejoining without a rebalance: the
    /// current generation, and no member list (the leader keeps the assignment it made).
    fn current_generation(&self, i: usize) -> JoinGroupResult {
        JoinGroupResult {
            generation: self.generation,
            protocol: self.protocol.expect("a stable group has a protocol"),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: self.members[i].member_id.clone(),
            members: Vec::new(),
        }
    }

    fn add_member(&mut self, member: MemberState, who: &str, out: &mut Out) {
        out.ctx.notable("member joined", || format!("group={} member={who} id={}", self.name, member.member_id));
        self.members.push(member);
        if self.initial_delay.is_some() {
            self.joined_during_delay = true;
        }
        self.prepare_or_complete(&format!("{who} joined"), out);
    }

    /// Starts a rebalance unless one is being prepared, then completes the join if it can.
    fn prepare_or_complete(&mut self, reason: &str, out: &mut Out) {
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(reason, out);
        }
        self.try_complete_join(out);
    }

    /// `prepareRebalance`: to PreparingRebalance; an Empty group first waits
    /// `group.initial.rebalance.delay.ms`.
    fn prepare_rebalance(&mut self, reason: &str, out: &mut Out) {
        let now = out.ctx.now();
        if self.state == GroupState::CompletingRebalance {
            // Parked syncs learn that the group rebalances again.
            for m in &mut self.members {
                if let Some(r) = m.awaiting_sync.take() {
                    out.reply(m.node, r, GroupResponse::SyncGroup(Err(KafkaError::RebalanceInProgress)));
                }
            }
            self.sync_deadline = None;
        }
        let delay = self.initial_rebalance_delay;
        if self.state == GroupState::Empty && delay > SimDuration::ZERO {
            let remaining = SimDuration(self.rebalance_timeout().0.saturating_sub(delay.0));
            self.initial_delay = Some((now + delay, remaining));
            self.joined_during_delay = false;
        }
        self.join_deadline = now + self.rebalance_timeout();
        self.state = GroupState::PreparingRebalance;
        self.empty_since = None;
        self.rebalances.push(Rebalance {
            started: now,
            reason: reason.to_string(),
            generation: None,
            joined: None,
            stable: None,
            protocol: None,
            members: Vec::new(),
        });
        out.ctx.notable("rebalance", || {
            format!("group={} PreparingRebalance generation={} reason: {reason}", self.name, self.generation)
        });
    }

    /// Completes the join once every known member has rejoined (and no initial delay runs).
    fn try_complete_join(&mut self, out: &mut Out) {
        if self.state == GroupState::PreparingRebalance
            && self.initial_delay.is_none()
            && self.pending.is_empty()
            && self.members.iter().all(|m| m.awaiting_join.is_some())
        {
            self.complete_join(out);
        }
    }

    /// `completeClassicGroupJoin` + `initNextGeneration`.
    fn complete_join(&mut self, out: &mut Out) {
        let now = out.ctx.now();
        // Dynamic members that did not rejoin are removed; static ones stay (KIP-345).
        let mut removed = Vec::new();
        self.members.retain(|m| {
            let keep = m.awaiting_join.is_some() || m.instance_id.is_some();
            if !keep {
                removed.push(m.node);
            }
            keep
        });
        for node in removed {
            let who = self.client_id(node).to_string();
            out.ctx.notable("member removed", || format!("group={} member={who}: did not rejoin in time", self.name));
        }
        self.generation += 1;
        self.initial_delay = None;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            self.empty_since = Some(now);
            if let Some(r) = self.rebalances.last_mut() {
                r.generation = Some(self.generation);
                r.joined = Some(now);
            }
            out.ctx.notable("group empty", || format!("group={} generation={}", self.name, self.generation));
            return;
        }
        let protocol = self.select_protocol();
        self.protocol = Some(protocol);
        let leader_stays = self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.iter().any(|m| &m.member_id == l && m.awaiting_join.is_some()));
        if !leader_stays {
            let first = self.members.iter().find(|m| m.awaiting_join.is_some()).unwrap_or(&self.members[0]);
            self.leader = Some(first.member_id.clone());
        }
        self.state = GroupState::CompletingRebalance;
        let leader = self.leader.clone().expect("chosen above");
        let everyone: Vec<(String, Option<String>, MemberSubscription)> =
            self.members.iter().map(|m| (m.member_id.clone(), m.instance_id.clone(), m.subscription.clone())).collect();
        let members: Vec<String> = self.members.iter().map(|m| self.client_id(m.node).to_string()).collect();
        if let Some(r) = self.rebalances.last_mut() {
            r.generation = Some(self.generation);
            r.joined = Some(now);
            r.protocol = Some(protocol);
            r.members = members.clone();
        }
        out.ctx.notable("join complete", || {
            format!(
                "group={} generation={} protocol={} leader={} members=[{}]",
                self.name,
                self.generation,
                protocol,
                self.client_id(self.members.iter().find(|m| m.member_id == leader).map_or(NodeId(0), |m| m.node)),
                members.join(" ")
            )
        });
        let mut rebalance_timeout = SimDuration::ZERO;
        for m in &mut self.members {
            m.session_deadline = now + m.session_timeout;
            rebalance_timeout = rebalance_timeout.max(m.rebalance_timeout);
            if let Some(r) = m.awaiting_join.take() {
                let result = JoinGroupResult {
                    generation: self.generation,
                    protocol,
                    leader: leader.clone(),
                    member_id: m.member_id.clone(),
                    members: if m.member_id == leader { everyone.clone() } else { Vec::new() },
                };
                out.reply(m.node, r, GroupResponse::JoinGroup(Ok(result)));
            }
        }
        self.sync_deadline = Some(now + rebalance_timeout);
    }

    fn select_protocol(&self) -> Strategy {
        let preferences: Vec<&[Strategy]> = self.members.iter().map(|m| m.protocols.as_slice()).collect();
        select_protocol(&preferences)
    }

    fn sync(
        &mut self,
        from: NodeId,
        request_id: u64,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Vec<u32>)>,
        out: &mut Out,
    ) {
        let now = out.ctx.now();
        let Some(i) = self.member(member_id) else {
            out.reply(from, request_id, GroupResponse::SyncGroup(Err(KafkaError::UnknownMemberId)));
            return;
        };
        if generation != self.generation {
            out.reply(from, request_id, GroupResponse::SyncGroup(Err(KafkaError::IllegalGeneration)));
            return;
        }
        self.members[i].session_deadline = now + self.members[i].session_timeout;
        match self.state {
            GroupState::CompletingRebalance => {
                self.members[i].awaiting_sync = Some(request_id);
                if self.leader.as_deref() == Some(member_id) {
                    for m in &mut self.members {
                        m.assignment = assignments
                            .iter()
                            .find(|(id, _)| *id == m.member_id)
                            .map(|a| a.1.clone())
                            .unwrap_or_default();
                    }
                    self.state = GroupState::Stable;
                    self.sync_deadline = None;
                    if let Some(r) = self.rebalances.last_mut() {
                        r.stable = Some(now);
                    }
                    out.ctx.notable("group stable", || format!("group={} generation={}", self.name, self.generation));
                    for m in &mut self.members {
                        if let Some(r) = m.awaiting_sync.take() {
                            out.reply(m.node, r, GroupResponse::SyncGroup(Ok(m.assignment.clone())));
                        }
                    }
                }
            }
            GroupState::Stable => {
                let assignment = self.members[i].assignment.clone();
                out.reply(from, request_id, GroupResponse::SyncGroup(Ok(assignment)));
            }
            _ => out.reply(from, request_id, GroupResponse::SyncGroup(Err(KafkaError::RebalanceInProgress))),
        }
    }

    /// `classicGroupHeartbeat`.
    fn heartbeat(&mut self, member_id: &str, generation: i32, now: SimTime) -> Result<(), KafkaError> {
        if self.state == GroupState::Empty || self.state == GroupState::Dead {
            return Err(KafkaError::UnknownMemberId);
        }
        let i = self.member(member_id).ok_or(KafkaError::UnknownMemberId)?;
        if generation != self.generation {
            return Err(KafkaError::IllegalGeneration);
        }
        self.members[i].session_deadline = now + self.members[i].session_timeout;
        match self.state {
            GroupState::PreparingRebalance => Err(KafkaError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// `validateOffsetCommit`: members of the current generation, in Stable or while the next
    /// rebalance is being prepared.
    fn validate_commit(&mut self, member_id: &str, generation: i32, now: SimTime) -> Result<(), KafkaError> {
        let i = self.member(member_id).ok_or(KafkaError::UnknownMemberId)?;
        if generation != self.generation {
            return Err(KafkaError::IllegalGeneration);
        }
        self.members[i].session_deadline = now + self.members[i].session_timeout;
        match self.state {
            GroupState::Stable | GroupState::PreparingRebalance => Ok(()),
            GroupState::CompletingRebalance => Err(KafkaError::RebalanceInProgress),
            _ => Err(KafkaError::UnknownMemberId),
        }
    }

    /// `validateTxnOffsetCommit` for a classic group (KIP-447): the member and generation of the
    /// consumer group metadata the producer sent must be the group's, in any state (a
    /// transactional commit is allowed while a rebalance completes).
    fn validate_txn_commit(&self, member_id: &str, generation: i32) -> Result<(), KafkaError> {
        self.member(member_id).ok_or(KafkaError::UnknownMemberId)?;
        if generation != self.generation {
            return Err(KafkaError::IllegalGeneration);
        }
        Ok(())
    }

    /// The group's state as `kafka-consumer-groups --describe` names it: the classic state, or
    /// a consumer group's (Empty, Assigning, Reconciling, Stable).
    pub fn state_name(&self) -> &'static str {
        match &self.consumer {
            Some(cg) => cg.state_name(),
            None => self.state.name(),
        }
    }

    /// Parked JoinGroup and SyncGroup requests: `(member node, request id)`.
    /// `GroupCoordinator.onGroupUnloaded`: what a coordinator that gives the group up answers
    /// the JoinGroup and SyncGroup requests it parked (NOT_COORDINATOR: the members find the
    /// new coordinator and join again).
    pub fn unload_answers(&self) -> Vec<(NodeId, u64, GroupResponse)> {
        let mut out = Vec::new();
        for m in &self.members {
            if let Some(r) = m.awaiting_join {
                out.push((m.node, r, GroupResponse::JoinGroup(Err((KafkaError::NotCoordinator, m.member_id.clone())))));
            }
            if let Some(r) = m.awaiting_sync {
                out.push((m.node, r, GroupResponse::SyncGroup(Err(KafkaError::NotCoordinator))));
            }
        }
        out
    }

    pub fn parked_requests(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.members.iter().flat_map(|m| [m.awaiting_join, m.awaiting_sync].into_iter().flatten().map(|r| (m.node, r)))
    }

    /// Whether a transaction not yet complete sent an offset for `partition`.
    pub fn has_pending_txn_offset(&self, partition: u32) -> bool {
        self.pending_txn_offsets.iter().any(|(_, offsets)| offsets.iter().any(|o| o.0 == partition))
    }

    /// `producer`'s transaction completed (its marker reached `__consumer_offsets`): the offsets
    /// it sent become committed offsets, or are dropped if it aborted.
    pub fn end_txn_offsets(&mut self, producer: u32, committed: bool, epoch: u16, now: SimTime) {
        match self.txn_marker_epochs.iter_mut().find(|e| e.0 == producer) {
            Some(e) => e.1 = e.1.max(epoch),
            None => self.txn_marker_epochs.push((producer, epoch)),
        }
        let Some(i) = self.pending_txn_offsets.iter().position(|(p, _)| *p == producer) else { return };
        let (_, offsets) = self.pending_txn_offsets.remove(i);
        if !committed {
            return;
        }
        for (p, offset, epoch) in offsets {
            self.commit_offset(p, offset, now, epoch);
        }
    }

    /// Writes the committed offset of partition `p`.
    fn commit_offset(&mut self, p: u32, offset: u64, now: SimTime, epoch: Option<u32>) {
        match self.committed.binary_search_by_key(&p, |c| c.0) {
            Ok(i) => self.committed[i] = (p, offset, now, epoch),
            Err(i) => self.committed.insert(i, (p, offset, now, epoch)),
        }
    }

    /// Removes member `i` (left, or its session expired) and rebalances.
    fn remove_member(&mut self, i: usize, reason: &str, out: &mut Out) {
        let m = self.members.remove(i);
        if let Some(r) = m.awaiting_join {
            out.reply(m.node, r, GroupResponse::JoinGroup(Err((KafkaError::UnknownMemberId, m.member_id.clone()))));
        }
        out.ctx.notable("member removed", || format!("group={} {reason}", self.name));
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_or_complete(reason, out),
            GroupState::PreparingRebalance => self.try_complete_join(out),
            _ => {}
        }
    }

    /// Runs whatever is due at `now`: session expiry, the end of the initial delay or of the
    /// rebalance timeout, pending-sync expiry, offset retention.
    pub fn on_deadline(&mut self, settings: &GroupCoordinatorSettings, group: u32, ctx: &mut Ctx) {
        let mut out = Out { ctx, group };
        let now = out.ctx.now();
        self.expire_consumer_members(&mut out);
        let pending = self.pending.len();
        self.pending.retain(|(_, t)| *t > now);
        if self.pending.len() < pending {
            // A new member that never came back with its id no longer holds the join up.
            self.try_complete_join(&mut out);
        }
        while let Some(i) = self.members.iter().position(|m| m.awaiting_join.is_none() && m.session_deadline <= now) {
            let who = self.client_id(self.members[i].node).to_string();
            let timeout = self.members[i].session_timeout;
            self.remove_member(
                i,
                &format!("{who} session timeout ({} ms without a heartbeat)", timeout.0 / 1_000_000),
                &mut out,
            );
        }
        if self.state == GroupState::PreparingRebalance {
            if let Some((end, remaining)) = self.initial_delay
                && end <= now
            {
                let delay = SimDuration::from_ms(settings.group_initial_rebalance_delay_ms);
                if self.joined_during_delay && remaining > SimDuration::ZERO {
                    let wait = delay.min(remaining);
                    self.initial_delay = Some((now + wait, SimDuration(remaining.0 - wait.0)));
                    self.joined_during_delay = false;
                } else {
                    self.initial_delay = None;
                    self.complete_join(&mut out);
                }
            } else if self.initial_delay.is_none() && self.join_deadline <= now {
                self.complete_join(&mut out);
            }
        }
        if self.state == GroupState::CompletingRebalance && self.sync_deadline.is_some_and(|t| t <= now) {
            // `expirePendingSync`: members that did not sync are removed and the group rebalances.
            let late: Vec<usize> =
                (0..self.members.len()).filter(|&i| self.members[i].awaiting_sync.is_none()).collect();
            for &i in late.iter().rev() {
                let m = self.members.remove(i);
                let who = self.client_id(m.node).to_string();
                out.ctx.notable("member removed", || format!("group={} {who} did not sync in time", self.name));
            }
            self.sync_deadline = None;
            self.prepare_or_complete("members did not sync in time", &mut out);
        }
        if self.retention_due(settings).is_some_and(|t| t <= now) {
            let n = self.committed.len();
            self.committed.clear();
            self.expirations.push((now, n));
            self.state = GroupState::Dead;
            out.ctx.notable("offsets expired", || {
                format!(
                    "group={} {n} committed offsets deleted (empty for offsets.retention.minutes={})",
                    self.name, settings.offsets_retention_minutes
                )
            });
        }
    }

    /// A member id: `client.id` + `-` + a UUID (`ClassicGroup.generateMemberId`), drawn from the
    /// group's own random stream.
    fn new_member_id(&mut self, client_id: &str) -> String {
        let a = self.member_ids.next_u64();
        let b = self.member_ids.next_u64();
        format!("{client_id}-{}", super::uuid_v4(a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Strategy::{CooperativeSticky as Coop, Range, RoundRobin};

    #[test]
    fn members_vote_among_the_strategies_they_all_support() {
        // Kafka 3.0+ default on every member: all vote range, so the group rebalances eagerly.
        assert_eq!(select_protocol(&[&[Range, Coop], &[Range, Coop]]), Range);
        // Mid rolling upgrade: one member dropped range; range is no longer common to all.
        assert_eq!(select_protocol(&[&[Range, Coop], &[Coop]]), Coop);
        // Every member lists both, but the majority prefers cooperative-sticky.
        assert_eq!(select_protocol(&[&[Coop, Range], &[Coop, Range], &[Range, Coop]]), Coop);
        assert_eq!(select_protocol(&[&[Coop, Range], &[Range, Coop], &[Range, Coop]]), Range);
        // A strategy one member lacks never wins, even with the other votes.
        assert_eq!(select_protocol(&[&[RoundRobin, Range], &[RoundRobin, Range], &[Range]]), Range);
    }

    #[test]
    fn the_coordinator_partition_is_javas_hash_of_the_group_id() {
        // Utils.abs("billing".hashCode()) % 50: hashCode = -109829509.
        assert_eq!(offsets_partition_for("billing", 50), 9);
        // Utils.abs(Integer.MIN_VALUE) is 0, not a negative number: "polygenelubricants".hashCode()
        // is Integer.MIN_VALUE.
        assert_eq!(crate::group::assignor::java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(offsets_partition_for("polygenelubricants", 50), 0);
    }
}
