//! A broker's group coordinator role: which groups it coordinates, and the handling of
//! `FindCoordinator` and the group requests (kafka-reference §4.1).
//!
//! A group's coordinator is the leader of its `__consumer_offsets` partition. kafkasim places
//! that partition's replicas as Kafka places any topic's and takes, as its leader, the first
//! replica the controller has not fenced (what a clean election in replica order gives; the
//! preferred replica takes over again as soon as it is back, where Kafka waits for the next
//! preferred-leader election). Each broker answers from its own view of the fenced brokers, so
//! a broker that has not heard of a fencing yet still points clients at the old coordinator.

use crate::cluster::placement::assign_replicas;
use crate::group::coordinator::Groups;
use crate::protocol::{GroupRequest, GroupResponse, KafkaError, Message};
use crate::scenario::{GroupCoordinatorSettings, Scenario};
use crate::sim::{Ctx, NodeId, SimTime, Timer};

/// The coordinator role of one broker.
#[derive(Debug)]
pub struct CoordinatorHost {
    groups: Groups,
    settings: GroupCoordinatorSettings,
    /// Per group: the replicas of its `__consumer_offsets` partition, preferred first.
    offsets_replicas: Vec<Vec<u32>>,
    /// Per group: the time this broker's deadline timer is set for.
    scheduled: Vec<Option<SimTime>>,
}

impl CoordinatorHost {
    pub fn new(scenario: &Scenario, groups: Groups) -> CoordinatorHost {
        let settings = scenario.cluster.group_coordinator;
        let brokers = scenario.cluster.brokers;
        let rf = settings.offsets_topic_replication_factor.clamp(1, brokers.max(1));
        let placement = assign_replicas(settings.offsets_topic_num_partitions, rf, brokers);
        let offsets_replicas: Vec<Vec<u32>> = scenario
            .consumer_groups
            .iter()
            .map(|g| {
                let p =
                    crate::group::coordinator::offsets_partition_for(&g.name, settings.offsets_topic_num_partitions);
                placement[p as usize].clone()
            })
            .collect();
        let n = offsets_replicas.len();
        CoordinatorHost { groups, settings, offsets_replicas, scheduled: vec![None; n] }
    }

    /// The group's coordinator as a broker with this view of the fenced brokers sees it.
    pub fn coordinator_for(&self, group: u32, fenced: &[bool]) -> Option<u32> {
        self.offsets_replicas[group as usize].iter().copied().find(|&b| !fenced[b as usize])
    }

    /// The group's committed offset for a partition (what retention must keep).
    pub fn committed(&self, group: u32, partition: u32) -> Option<u64> {
        let groups = self.groups.borrow();
        let g = &groups[group as usize];
        g.committed.binary_search_by_key(&partition, |c| c.0).ok().map(|i| g.committed[i].1)
    }

    /// Requests this broker holds as the coordinator of groups it has loaded: parked JoinGroup
    /// and SyncGroup requests (a crash resets their connections).
    pub fn held_requests(&self, me: u32) -> Vec<(NodeId, u64)> {
        let groups = self.groups.borrow();
        groups.iter().filter(|g| g.owner == Some(me)).flat_map(|g| g.parked_requests()).collect()
    }

    /// Broker `me`'s metadata shows partitions `first..first + count` of a topic (it just created
    /// some): every consumer-protocol group it coordinates that subscribes to the topic updates
    /// its subscription metadata. (A group it loads later takes its view then, in `on_request`.)
    pub fn topic_grew(&mut self, me: u32, first: u32, count: u32, ctx: &mut Ctx) {
        let mut groups = self.groups.borrow_mut();
        for (i, g) in groups.iter_mut().enumerate().filter(|(_, g)| g.owner == Some(me)) {
            g.topic_grew(first, count, ctx, i as u32);
        }
    }

    /// The broker crashed: its timers are gone.
    pub fn crash(&mut self) {
        self.scheduled.iter_mut().for_each(|s| *s = None);
    }

    /// Handles a group request arriving at broker `me`.
    #[allow(clippy::too_many_arguments)] // a request's fields, as the broker received them
    #[inline(never)] // out of the broker's produce and fetch paths
    pub fn on_request(
        &mut self,
        me: u32,
        fenced: &[bool],
        partition_count: &dyn Fn(u32) -> u32,
        from: NodeId,
        request_id: u64,
        group: u32,
        body: GroupRequest,
        ctx: &mut Ctx,
    ) {
        let coordinator = self.coordinator_for(group, fenced);
        if let GroupRequest::FindCoordinator = body {
            let body = GroupResponse::FindCoordinator(coordinator.ok_or(KafkaError::CoordinatorNotAvailable));
            ctx.send(from, Message::GroupResponse { request_id, group, body: Box::new(body) });
            return;
        }
        if coordinator != Some(me) {
            let body = error_response(&body, KafkaError::NotCoordinator);
            ctx.send(from, Message::GroupResponse { request_id, group, body: Box::new(body) });
            return;
        }
        {
            let mut groups = self.groups.borrow_mut();
            let g = &mut groups[group as usize];
            if g.owner != Some(me) {
                // The coordinator moves from a broker that is still up (it resigned): it answers
                // what it had parked. (A crashed one's connections closed; an unreachable one's
                // requests time out at the members.) The groups' state is shared here, so the
                // answers go out as the new coordinator loads the group, from it.
                let unloaded = match g.owner {
                    Some(old) if !fenced[old as usize] => g.unload_answers(),
                    _ => Vec::new(),
                };
                g.load(me, ctx.now());
                ctx.notable("coordinator", || format!("group={} loaded: this broker is its coordinator now", g.name));
                for (node, id, body) in unloaded {
                    ctx.send(node, Message::GroupResponse { request_id: id, group, body: Box::new(body) });
                }
                // Its subscription metadata as this broker's metadata has it (partitions created
                // while no coordinator, or another one, held the group).
                for first in g.subscribed_topics() {
                    g.topic_grew(first, partition_count(first), ctx, group);
                }
            }
            g.handle(&self.settings, from, request_id, body, group, ctx);
        }
        self.schedule(group, ctx);
    }

    /// A deadline timer fired.
    pub fn on_deadline(&mut self, me: u32, group: u32, ctx: &mut Ctx) {
        if self.scheduled[group as usize] != Some(ctx.now()) {
            return;
        }
        self.scheduled[group as usize] = None;
        {
            let mut groups = self.groups.borrow_mut();
            let g = &mut groups[group as usize];
            if g.owner != Some(me) {
                return;
            }
            g.on_deadline(&self.settings, group, ctx);
        }
        self.schedule(group, ctx);
    }

    /// Sets the deadline timer for the group's next due time, unless one is set earlier.
    fn schedule(&mut self, group: u32, ctx: &mut Ctx) {
        let next = self.groups.borrow()[group as usize].next_deadline(&self.settings);
        let Some(at) = next else { return };
        let at = at.max(ctx.now());
        let slot = &mut self.scheduled[group as usize];
        if slot.is_none_or(|s| at < s) {
            *slot = Some(at);
            ctx.set_timer_at(at, Timer::GroupDeadline { group });
        }
    }
}

/// The response a request gets when it fails as a whole with `error`.
pub fn error_response(body: &GroupRequest, error: KafkaError) -> GroupResponse {
    match body {
        GroupRequest::FindCoordinator => GroupResponse::FindCoordinator(Err(error)),
        GroupRequest::JoinGroup { member_id, .. } => GroupResponse::JoinGroup(Err((error, member_id.clone()))),
        GroupRequest::SyncGroup { .. } => GroupResponse::SyncGroup(Err(error)),
        GroupRequest::Heartbeat { .. } => GroupResponse::Heartbeat(Err(error)),
        GroupRequest::LeaveGroup { .. } => GroupResponse::LeaveGroup(Err(error)),
        GroupRequest::OffsetCommit { .. } => GroupResponse::OffsetCommit(Err(error)),
        GroupRequest::OffsetFetch { .. } => GroupResponse::OffsetFetch(Err(error)),
        GroupRequest::TxnOffsetCommit { .. } => GroupResponse::TxnOffsetCommit(Err(error)),
        GroupRequest::ConsumerGroupHeartbeat { .. } => GroupResponse::ConsumerGroupHeartbeat(Err(error)),
    }
}
