//! The member's side of the classic group protocol (`AbstractCoordinator` and
//! `ConsumerCoordinator` of the Java client, kafka-reference §4.3–4.7): finding the coordinator,
//! JoinGroup (with `MEMBER_ID_REQUIRED`), the leader running the assignor, SyncGroup, eager and
//! cooperative revocation, heartbeats and the poll-timeout leave, LeaveGroup, offset commits.

use std::collections::BTreeMap;

use super::{
    App, Consumer, Membership, Owned, RECONNECT_BACKOFF_MAX_MS, RECONNECT_BACKOFF_MS, RECONNECTING, REQUEST_TIMEOUT_MS,
    RETRY_BACKOFF_MS,
};
use crate::cluster::Metadata;
use crate::group::assignor::{self, Subscription, TopicPartition};
use crate::protocol::{
    CommittedOffset, GroupRequest, GroupResponse, JoinGroupResult, KafkaError, MemberSubscription, Message,
};
use crate::scenario::CommitMode;
use crate::sim::{Ctx, NodeId, SimDuration, Timer};

impl Consumer {
    fn group_request(&mut self, to: u32, body: GroupRequest, ctx: &mut Ctx) -> u64 {
        let request_id = self.next_request_id;
        self.next_request_id += 1;
        ctx.send(
            Metadata::broker_node(to),
            Message::GroupRequest { request_id, group: self.group, body: Box::new(body) },
        );
        request_id
    }

    /// FindCoordinator to one broker after another until one answers.
    pub(super) fn find_coordinator(&mut self, ctx: &mut Ctx) {
        // After losing the coordinator, the next lookup waits for `retry.backoff.ms` (the
        // `FindCoordinator` timer), however often the application polls meanwhile.
        if self.coordinator.is_some() || self.find_pending.is_some() || ctx.now() < self.find_backoff_until {
            return;
        }
        let broker = self.find_broker;
        let id = self.group_request(broker, GroupRequest::FindCoordinator, ctx);
        self.find_pending = Some((id, ctx.now()));
    }

    /// The coordinator is gone or moved (`markCoordinatorUnknown`): find it again; a join or
    /// sync in progress starts over.
    pub(super) fn coordinator_unknown(&mut self, why: &str, ctx: &mut Ctx) {
        if self.coordinator.is_some() {
            ctx.notable("coordinator unknown", || format!("group={} ({why})", self.config.name));
        }
        self.coordinator = None;
        self.heartbeat_pending = None;
        if matches!(self.membership, Membership::Joining(_) | Membership::Syncing(_)) {
            self.membership = Membership::Unjoined;
            self.rejoin_needed = true;
        }
        self.find_backoff_until = ctx.now() + SimDuration::from_ms(RETRY_BACKOFF_MS);
        ctx.set_timer_at(self.find_backoff_until, Timer::FindCoordinator);
    }

    /// Starts (or restarts) joining the group: `onJoinPrepare`, then JoinGroup.
    pub(super) fn join_group(&mut self, ctx: &mut Ctx) {
        if matches!(self.membership, Membership::Joining(_) | Membership::Syncing(_)) {
            return;
        }
        if self.kip848 {
            self.consumer_join(ctx);
            return;
        }
        let Some(coordinator) = self.coordinator else {
            self.find_coordinator(ctx);
            return;
        };
        if !self.cooperative {
            // Eager: commit (auto-commit, or the application's onPartitionsRevoked), then revoke
            // everything before joining.
            if self.generation >= 0 && (self.config.commit == CommitMode::Auto || self.config.commit_on_revoke) {
                if self.output_producer.is_none() {
                    self.commit_positions(false, ctx);
                } else if !std::mem::replace(&mut self.committed_before_join, true) {
                    // Kafka Streams commits its tasks in `onPartitionsRevoked` and waits: the
                    // JoinGroup goes once the commit is answered (the next poll).
                    self.commit_positions(true, ctx);
                    if self.app == App::Committing {
                        return;
                    }
                }
            }
            self.committed_before_join = false;
            self.revoke_all("eager rebalance", ctx);
        }
        let subscription = MemberSubscription {
            topics: self.config.topics.clone(),
            owned: self.owned.iter().map(|o| o.partition).collect(),
            generation: self.generation,
        };
        let body = GroupRequest::JoinGroup {
            member_id: self.member_id.clone(),
            group_instance_id: self.instance_id(),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            protocols: self.strategies.clone(),
            subscription,
        };
        let id = self.group_request(coordinator, body, ctx);
        self.membership = Membership::Joining(id);
        self.membership_sent = ctx.now();
        self.rejoin_needed = false;
        self.left_on_poll_timeout = false;
    }

    pub(super) fn instance_id(&self) -> Option<String> {
        self.config.static_membership.then(|| self.name.clone())
    }

    /// Gives up every owned partition (eager rebalance, close). Ownership ends now.
    pub(super) fn revoke_all(&mut self, why: &str, ctx: &mut Ctx) {
        if self.owned.is_empty() {
            return;
        }
        let names: Vec<String> = self.owned.iter().map(|o| self.metadata.partition_name(o.partition)).collect();
        ctx.notable("revoked", || format!("group={} partitions=[{}] ({why})", self.config.name, names.join(" ")));
        let now = ctx.now();
        for o in self.owned.drain(..) {
            ctx.metrics().groups.release(self.group, self.member, o.partition, now);
        }
    }

    /// The partitions are lost, not revoked (`onPartitionsLost`): no commit.
    /// A fatal error: the member stops (it polls no more, and gives up its partitions and its
    /// place in the group).
    pub(super) fn fail(&mut self, e: KafkaError, ctx: &mut Ctx) {
        ctx.notable("consumer failed", || format!("group={} {}", self.config.name, e.name()));
        self.failed = Some(e);
        self.lose_all(e, ctx);
        self.rejoin_needed = false;
    }

    pub(super) fn lose_all(&mut self, why: KafkaError, ctx: &mut Ctx) {
        if !self.owned.is_empty() {
            let names: Vec<String> = self.owned.iter().map(|o| self.metadata.partition_name(o.partition)).collect();
            ctx.notable("partitions lost", || {
                format!("group={} partitions=[{}] ({})", self.config.name, names.join(" "), why.name())
            });
        }
        let now = ctx.now();
        for o in self.owned.drain(..) {
            ctx.metrics().groups.release(self.group, self.member, o.partition, now);
        }
        if let Some(producer) = self.output_producer
            && self.exactly_once()
        {
            ctx.send_local(producer, Message::PipelineAbort);
        }
        // `resetStateAndGeneration`: only UNKNOWN_MEMBER_ID also forgets the member id (a
        // KIP-848 member keeps the id it made, and joins again with it).
        self.ack_needed = false;
        self.ack_after_commit = None;
        self.heartbeat_pending = None;
        if why == KafkaError::UnknownMemberId && !self.kip848 {
            self.member_id.clear();
        }
        self.generation = -1;
        self.membership = Membership::Unjoined;
        self.pending_assignment = None;
        self.rejoin_needed = true;
    }

    /// LeaveGroup, unless static (static members never send it, KIP-345).
    pub(super) fn leave_group(&mut self, why: &str, ctx: &mut Ctx) {
        if self.kip848 {
            self.consumer_leave(why, ctx);
            return;
        }
        if !self.member_id.is_empty()
            && self.instance_id().is_none()
            && let Some(c) = self.coordinator
        {
            let member_id = self.member_id.clone();
            ctx.notable("leave group", || format!("group={} ({why})", self.config.name));
            self.group_request(c, GroupRequest::LeaveGroup { member_id }, ctx);
            self.member_id.clear();
        }
        self.generation = -1;
        self.membership = Membership::Unjoined;
        self.pending_assignment = None;
        self.heartbeat_pending = None;
    }

    pub(super) fn on_group_response(&mut self, from: NodeId, request_id: u64, body: GroupResponse, ctx: &mut Ctx) {
        match body {
            GroupResponse::FindCoordinator(result) => {
                if self.find_pending.map(|p| p.0) != Some(request_id) {
                    return;
                }
                self.find_pending = None;
                match result {
                    Ok(b) => {
                        if self.coordinator != Some(b) {
                            ctx.notable("coordinator", || {
                                format!(
                                    "group={} coordinator is broker-{b} (asked broker-{})",
                                    self.config.name, from.0
                                )
                            });
                        }
                        self.coordinator = Some(b);
                    }
                    Err(_) => {
                        self.find_broker = (self.find_broker + 1) % self.metadata.brokers.max(1);
                        ctx.set_timer(SimDuration::from_ms(RETRY_BACKOFF_MS), Timer::FindCoordinator);
                    }
                }
            }
            GroupResponse::JoinGroup(result) => {
                if self.membership != Membership::Joining(request_id) {
                    return;
                }
                self.membership = Membership::Unjoined;
                match result {
                    Ok(join) => self.on_joined(join, ctx),
                    Err((KafkaError::MemberIdRequired, member_id)) => {
                        self.member_id = member_id;
                        self.join_group(ctx);
                    }
                    Err((e, _)) => self.on_group_error(e, ctx),
                }
            }
            GroupResponse::SyncGroup(result) => {
                if self.membership != Membership::Syncing(request_id) {
                    return;
                }
                self.membership = Membership::Unjoined;
                match result {
                    // `onJoinComplete` runs in the application thread, inside poll().
                    Ok(assignment) => {
                        self.membership = Membership::Stable;
                        self.last_heartbeat_ok = ctx.now();
                        self.pending_assignment = Some(assignment);
                    }
                    Err(e) => self.on_group_error(e, ctx),
                }
            }
            GroupResponse::Heartbeat(result) => {
                if self.heartbeat_pending.map(|p| p.0) != Some(request_id) {
                    return;
                }
                self.heartbeat_pending = None;
                self.last_heartbeat_ok = ctx.now();
                match result {
                    Ok(()) => {}
                    Err(KafkaError::RebalanceInProgress) => {
                        if !self.rejoin_needed {
                            ctx.notable("rejoin needed", || {
                                format!("group={} (REBALANCE_IN_PROGRESS)", self.config.name)
                            });
                        }
                        self.rejoin_needed = true;
                    }
                    Err(e) => self.on_group_error(e, ctx),
                }
            }
            GroupResponse::ConsumerGroupHeartbeat(result) => {
                self.on_consumer_heartbeat_response(request_id, result, ctx)
            }
            GroupResponse::LeaveGroup(_) | GroupResponse::TxnOffsetCommit(_) => {}
            GroupResponse::OffsetCommit(result) => {
                let Some(i) = self.commits.iter().position(|c| c.0 == request_id) else { return };
                let (_, sync, _) = self.commits.remove(i);
                let now = ctx.now();
                let error = result.err().map(|e| e.name());
                ctx.metrics().groups.commits.push(crate::metrics::CommitRecord {
                    at: now,
                    group: self.group,
                    member: self.member,
                    error,
                });
                if let Err(e) = result {
                    self.commit_failures += 1;
                    ctx.notable("commit failed", || {
                        format!(
                            "group={} CommitFailedException ({}){}",
                            self.config.name,
                            e.name(),
                            if sync { "" } else { " [async]" }
                        )
                    });
                    let classic_fenced =
                        !self.kip848 && matches!(e, KafkaError::UnknownMemberId | KafkaError::IllegalGeneration);
                    if classic_fenced || self.exactly_once() {
                        // Under exactly-once, a commit that failed aborted the transaction and
                        // its output: the member rejoins, and its tasks start again from the
                        // committed offsets (Kafka Streams' `TaskMigratedException`; it revives
                        // only the tasks for a `TaskCorruptedException`).
                        self.lose_all(e, ctx);
                    } else if matches!(e, KafkaError::NotCoordinator | KafkaError::CoordinatorNotAvailable) {
                        self.coordinator_unknown(e.name(), ctx);
                    } else if e == KafkaError::RebalanceInProgress {
                        self.rejoin_needed = true;
                    }
                }
                self.on_commit_done(request_id, ctx);
                if sync && !self.commits.iter().any(|c| c.1) {
                    self.after_sync_commit(ctx);
                }
            }
            GroupResponse::OffsetFetch(result) => {
                if self.offset_fetch_pending.map(|p| p.0) != Some(request_id) {
                    return;
                }
                self.offset_fetch_pending = None;
                match result {
                    Ok(offsets) => {
                        if let Some(since) = self.unstable_since.take() {
                            let waited = ctx.now().since(since);
                            ctx.notable("offsets stable", || {
                                format!(
                                    "group={} committed offsets stable after {:.3} ms",
                                    self.config.name,
                                    waited.as_nanos() as f64 / 1e6
                                )
                            });
                        }
                        self.on_committed_offsets(offsets, ctx)
                    }
                    Err(e) => {
                        for o in &mut self.owned {
                            o.positioning = false;
                        }
                        self.unpositioned = true;
                        if matches!(e, KafkaError::NotCoordinator | KafkaError::CoordinatorNotAvailable) {
                            self.coordinator_unknown(e.name(), ctx);
                        } else if e == KafkaError::UnstableOffsetCommit {
                            // A transaction with offsets for these partitions is not complete:
                            // ask again after `retry.backoff.ms`.
                            if self.unstable_since.is_none() {
                                self.unstable_since = Some(ctx.now());
                                ctx.notable("offsets unstable", || {
                                    format!(
                                        "group={} UNSTABLE_OFFSET_COMMIT: a transaction holding offsets for these partitions is not complete; asking again every {RETRY_BACKOFF_MS} ms",
                                        self.config.name
                                    )
                                });
                            }
                            ctx.set_timer(SimDuration::from_ms(RETRY_BACKOFF_MS), Timer::OffsetFetchRetry);
                        }
                    }
                }
            }
        }
    }

    /// A request's connection closed (the broker's process crashed): the request fails at once,
    /// as `NetworkClient` fails it on a disconnect.
    pub(super) fn on_disconnected(&mut self, from: NodeId, request_id: u64, ctx: &mut Ctx) {
        let b = from.0 as usize;
        if super::answered(&mut self.outstanding, b, request_id) {
            // `NetworkClient`: the connection is gone; fetch from this broker again only after
            // the reconnect backoff (its leaderships may have moved by then).
            let failures = &mut self.reconnect_failures[b];
            *failures += 1;
            let backoff = (RECONNECT_BACKOFF_MS << (*failures - 1).min(10)).min(RECONNECT_BACKOFF_MAX_MS);
            self.outstanding[b] = Some((RECONNECTING, ctx.now()));
            ctx.set_timer(SimDuration::from_ms(backoff), Timer::FetchAgain { broker: from });
            self.refresh_metadata(ctx);
        } else if super::answered(&mut self.list_offsets_pending, b, request_id) {
            for o in &mut self.owned {
                if o.position.is_none() {
                    o.positioning = false;
                    self.unpositioned = true;
                }
            }
            self.refresh_metadata(ctx);
        } else if super::answered(&mut self.validations_pending, b, request_id) {
            Self::validation_failed(&mut self.owned, request_id);
            self.refresh_metadata(ctx);
        } else if self.metadata_requests.disconnected(request_id) {
            self.refresh_metadata(ctx);
        } else if self.find_pending.map(|p| p.0) == Some(request_id) {
            self.find_pending = None;
            self.find_broker = (self.find_broker + 1) % self.metadata.brokers.max(1);
            ctx.set_timer(SimDuration::from_ms(RETRY_BACKOFF_MS), Timer::FindCoordinator);
        } else {
            let group_request = self.heartbeat_pending.map(|p| p.0) == Some(request_id)
                || self.membership == Membership::Joining(request_id)
                || self.membership == Membership::Syncing(request_id)
                || self.offset_fetch_pending.map(|p| p.0) == Some(request_id);
            let commit = self.commits.iter().position(|c| c.0 == request_id);
            if let Some(i) = commit {
                let (_, sync, _) = self.commits.remove(i);
                self.commit_failures += 1;
                ctx.notable("commit failed", || format!("group={} coordinator disconnected", self.config.name));
                self.coordinator_unknown("disconnected", ctx);
                self.on_commit_done(request_id, ctx);
                if sync && !self.commits.iter().any(|c| c.1) {
                    self.after_sync_commit(ctx);
                }
            } else if group_request {
                if self.offset_fetch_pending.map(|p| p.0) == Some(request_id) {
                    self.offset_fetch_pending = None;
                    for o in &mut self.owned {
                        o.positioning = false;
                    }
                    self.unpositioned = true;
                }
                self.coordinator_unknown("disconnected", ctx);
            }
        }
    }

    /// An error from JoinGroup, SyncGroup or Heartbeat.
    fn on_group_error(&mut self, e: KafkaError, ctx: &mut Ctx) {
        match e {
            KafkaError::NotCoordinator | KafkaError::CoordinatorNotAvailable => self.coordinator_unknown(e.name(), ctx),
            KafkaError::RebalanceInProgress => self.rejoin_needed = true,
            KafkaError::UnknownMemberId | KafkaError::IllegalGeneration => self.lose_all(e, ctx),
            // INVALID_SESSION_TIMEOUT, FENCED_INSTANCE_ID: fatal for this consumer.
            _ => self.fail(e, ctx),
        }
    }

    /// The join completed: the leader runs the assignor; everyone sends SyncGroup.
    fn on_joined(&mut self, join: JoinGroupResult, ctx: &mut Ctx) {
        self.member_id = join.member_id;
        self.generation = join.generation;
        // `onJoinComplete`: only the leader watches the metadata for partition changes.
        self.assignment_snapshot = None;
        let assignments = if join.leader == self.member_id && !join.members.is_empty() {
            self.assignment_snapshot = Some(self.partition_counts.clone());
            self.assign(join.protocol, &join.members, ctx)
        } else {
            Vec::new()
        };
        let Some(coordinator) = self.coordinator else { return };
        let body =
            GroupRequest::SyncGroup { member_id: self.member_id.clone(), generation: self.generation, assignments };
        let id = self.group_request(coordinator, body, ctx);
        self.membership = Membership::Syncing(id);
        self.membership_sent = ctx.now();
    }

    /// The group leader's assignment (`ConsumerCoordinator.onLeaderElected`).
    fn assign(
        &self,
        strategy: assignor::Strategy,
        members: &[(String, Option<String>, MemberSubscription)],
        ctx: &mut Ctx,
    ) -> Vec<(String, Vec<u32>)> {
        let mut topics = BTreeMap::new();
        for (_, _, s) in members {
            for t in &s.topics {
                if let Some(i) = self.metadata.topic_index(t) {
                    topics.insert(t.clone(), self.partition_counts[i]);
                }
            }
        }
        let subscriptions: Vec<Subscription> = members
            .iter()
            .map(|(id, instance, s)| Subscription {
                member_id: id.clone(),
                group_instance_id: instance.clone(),
                topics: s.topics.clone(),
                owned_partitions: s.owned.iter().map(|&p| self.topic_partition(p)).collect(),
                generation: (s.generation >= 0).then_some(s.generation),
            })
            .collect();
        let result = assignor::assign(strategy, &topics, &subscriptions);
        ctx.detail("assignment", || assignor::format_assignment(&result).replace('\n', "; "));
        result
            .into_iter()
            .map(|(member, parts)| {
                let global =
                    parts.iter().filter_map(|tp| self.metadata.global_partition(&tp.topic, tp.partition)).collect();
                (member, global)
            })
            .collect()
    }

    fn topic_partition(&self, global: u32) -> TopicPartition {
        let t = self.metadata.topic_of(global);
        TopicPartition::new(t.name.clone(), global - t.first)
    }

    /// The assignment SyncGroup returned takes effect (`onJoinComplete`, called from poll()).
    pub(super) fn on_assignment(&mut self, mut assignment: Vec<u32>, ctx: &mut Ctx) {
        assignment.sort_unstable();
        // Cooperative: revoke only what moved, then rejoin so the partitions can be handed out.
        let revoked = self.moved_away(&assignment);
        if !revoked.is_empty() {
            if self.config.commit == CommitMode::Auto || self.config.commit_on_revoke {
                let detect = self.config.detect_truncation;
                let offsets: Vec<(u32, u64, Option<u32>)> = self
                    .owned
                    .iter()
                    .filter(|o| revoked.contains(&o.partition))
                    .filter_map(|o| o.commit_entry(detect))
                    .collect();
                if !offsets.is_empty() {
                    self.send_commit(offsets, false, ctx);
                }
            }
            self.revoke_moved(&revoked, "cooperative: moving", ctx);
            self.rejoin_needed = true;
        }
        self.take_assignment(&assignment, "generation", ctx);
    }

    /// The owned partitions not in `assignment` (sorted): what must be revoked.
    pub(super) fn moved_away(&self, assignment: &[u32]) -> Vec<u32> {
        self.owned.iter().map(|o| o.partition).filter(|p| assignment.binary_search(p).is_err()).collect()
    }

    /// Revokes partitions that move to another member: ownership ends now.
    pub(super) fn revoke_moved(&mut self, revoked: &[u32], why: &str, ctx: &mut Ctx) {
        let now = ctx.now();
        let names: Vec<String> = revoked.iter().map(|&p| self.metadata.partition_name(p)).collect();
        ctx.notable("revoked", || format!("group={} partitions=[{}] ({why})", self.config.name, names.join(" ")));
        for &p in revoked {
            ctx.metrics().groups.release(self.group, self.member, p, now);
        }
        self.owned.retain(|o| !revoked.contains(&o.partition));
    }

    /// The partitions of `assignment` not owned yet become owned; traces the whole assignment
    /// with the member's generation (classic) or epoch (KIP-848), named by `label`.
    pub(super) fn take_assignment(&mut self, assignment: &[u32], label: &str, ctx: &mut Ctx) {
        let added: Vec<u32> =
            assignment.iter().copied().filter(|p| !self.owned.iter().any(|o| o.partition == *p)).collect();
        self.add_owned(&added, ctx);
        let names: Vec<String> = assignment.iter().map(|&p| self.metadata.partition_name(p)).collect();
        ctx.notable("assigned", || {
            format!("group={} {label}={} partitions=[{}]", self.config.name, self.generation, names.join(" "))
        });
    }

    /// Newly assigned partitions: owned from now, without a position yet.
    pub(super) fn add_owned(&mut self, added: &[u32], ctx: &mut Ctx) {
        let now = ctx.now();
        for &p in added {
            ctx.metrics().groups.own(self.group, self.member, p, self.generation, now);
            self.owned.push(Owned {
                partition: p,
                position: None,
                fetch_position: 0,
                offset_epoch: None,
                awaiting_validation: false,
                validation_request: None,
                buffer: Default::default(),
                positioning: false,
                no_offset: false,
                answered: false,
                replay_end: None,
            });
            self.unpositioned = true;
        }
        self.owned.sort_by_key(|o| o.partition);
        if added.iter().any(|&p| self.leaders[p as usize].is_none()) {
            // A partition whose leader it does not know (the last it heard, it had none): ask,
            // and keep asking while one is missing (`Fetcher`: `metadata.requestUpdate()`).
            self.refresh_metadata(ctx);
        }
    }

    /// The `max.poll.interval.ms` check (KIP-62): a member in the group whose application has
    /// not polled for that long leaves, and joins again at its next poll(). Classic:
    /// `AbstractCoordinator`, "consumer poll timeout has expired" → `maybeLeaveGroup`; KIP-848:
    /// `ConsumerHeartbeatRequestManager` leaves with epoch -1. Returns whether it left.
    pub(super) fn leave_on_poll_timeout(&mut self, in_group: bool, ctx: &mut Ctx) -> bool {
        let now = ctx.now();
        let poll_overdue = self.app != App::Polling
            && now.since(self.last_poll) > SimDuration::from_ms(self.config.max_poll_interval_ms);
        if !in_group || !poll_overdue || self.left_on_poll_timeout {
            return false;
        }
        ctx.notable("poll timeout", || {
            format!(
                "group={} no poll() for {} ms > max.poll.interval.ms={}: leaving the group",
                self.config.name,
                now.since(self.last_poll).0 / 1_000_000,
                self.config.max_poll_interval_ms
            )
        });
        self.left_on_poll_timeout = true;
        self.lose_ownership_records(ctx);
        self.leave_group("poll timeout", ctx);
        self.rejoin_needed = true;
        true
    }

    /// The heartbeat thread's tick: the poll-timeout check, then a heartbeat.
    pub(super) fn on_heartbeat_timer(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        ctx.set_timer(SimDuration::from_ms(self.config.heartbeat_interval_ms), Timer::Heartbeat);
        let in_group = self.generation >= 0 && matches!(self.membership, Membership::Stable | Membership::Syncing(_));
        if self.leave_on_poll_timeout(in_group, ctx) {
            return;
        }
        if !in_group || self.left_on_poll_timeout {
            return;
        }
        let Some(c) = self.coordinator else {
            self.find_coordinator(ctx);
            return;
        };
        if self.heartbeat_pending.is_some() {
            return;
        }
        let body = GroupRequest::Heartbeat { member_id: self.member_id.clone(), generation: self.generation };
        let id = self.group_request(c, body, ctx);
        self.heartbeat_pending = Some((id, now));
    }

    /// After leaving on a poll timeout the member no longer owns anything as far as the group is
    /// concerned; its application still holds the records it is processing.
    pub(super) fn lose_ownership_records(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        for o in self.owned.drain(..) {
            ctx.metrics().groups.release(self.group, self.member, o.partition, now);
        }
    }

    /// Commits the owned partitions' positions (`sync`: the application waits).
    pub(super) fn commit_positions(&mut self, sync: bool, ctx: &mut Ctx) {
        // `committed_leader_epoch` (KIP-320): the epoch of the record before the position.
        let detect = self.config.detect_truncation;
        let offsets: Vec<(u32, u64, Option<u32>)> =
            if self.config.commit == CommitMode::BeforeProcessing && !self.work.is_empty() {
                self.work.positions.clone()
            } else {
                self.owned.iter().filter_map(|o| o.commit_entry(detect)).collect()
            };
        if offsets.is_empty() && !sync {
            return;
        }
        self.send_commit(offsets, sync, ctx);
    }

    /// OffsetCommit with this generation. A member that left (generation -1) still sends it, and
    /// the coordinator refuses it, as `CommitFailedException` says.
    pub(super) fn send_commit(&mut self, offsets: Vec<(u32, u64, Option<u32>)>, sync: bool, ctx: &mut Ctx) {
        let Some(c) = self.coordinator else {
            if sync {
                self.commit_failures += 1;
                ctx.notable("commit failed", || format!("group={} coordinator unknown", self.config.name));
            }
            return;
        };
        let id = match self.output_producer {
            Some(producer) => self.send_pipeline_commit(producer, c, offsets, ctx),
            None => {
                let (member_id, generation) = (self.member_id.clone(), self.generation);
                self.group_request(c, GroupRequest::OffsetCommit { member_id, generation, offsets }, ctx)
            }
        };
        self.commits.push((id, sync, ctx.now()));
        if sync {
            self.app = App::Committing;
        }
    }

    /// Asks the coordinator for the committed offsets of owned partitions without a position.
    pub(super) fn ensure_positions(&mut self, ctx: &mut Ctx) {
        if !self.unpositioned || self.offset_fetch_pending.is_some() || self.membership != Membership::Stable {
            return;
        }
        let Some(c) = self.coordinator else { return };
        let partitions: Vec<u32> = self
            .owned
            .iter()
            .filter(|o| o.position.is_none() && !o.positioning && !o.no_offset)
            .map(|o| o.partition)
            .collect();
        // Every one of them is now asking for its position.
        self.unpositioned = false;
        if partitions.is_empty() {
            return;
        }
        for o in &mut self.owned {
            if partitions.contains(&o.partition) {
                o.positioning = true;
            }
        }
        // KIP-447: a `read_committed` consumer asks for stable offsets only.
        let require_stable = self.config.isolation_level == crate::scenario::IsolationLevel::ReadCommitted;
        let id = self.group_request(c, GroupRequest::OffsetFetch { partitions, require_stable }, ctx);
        self.offset_fetch_pending = Some((id, ctx.now()));
    }

    /// Requests unanswered too long: fetches and metadata as before; group requests make the
    /// coordinator unknown.
    pub(super) fn expire_requests(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let timeout = SimDuration::from_ms(REQUEST_TIMEOUT_MS);
        self.expire_fetches(ctx);
        if self.find_pending.is_some_and(|(_, sent)| now.since(sent) >= SimDuration::from_ms(1000)) {
            self.find_pending = None;
            self.find_broker = (self.find_broker + 1) % self.metadata.brokers.max(1);
            self.find_coordinator(ctx);
        }
        let session = SimDuration::from_ms(self.config.session_timeout_ms);
        let heartbeat_lost = self.heartbeat_pending.is_some_and(|(_, sent)| now.since(sent) >= session.min(timeout));
        let membership_lost = matches!(self.membership, Membership::Joining(_) | Membership::Syncing(_))
            && now.since(self.membership_sent) >= timeout.max(SimDuration::from_ms(self.config.max_poll_interval_ms));
        let fetch_lost = self.offset_fetch_pending.is_some_and(|(_, sent)| now.since(sent) >= timeout);
        let commit_lost = self.commits.iter().any(|&(_, _, sent)| now.since(sent) >= timeout);
        if heartbeat_lost || membership_lost || fetch_lost || commit_lost {
            if fetch_lost {
                self.offset_fetch_pending = None;
                for o in &mut self.owned {
                    o.positioning = false;
                }
                self.unpositioned = true;
            }
            let sync_lost = self.commits.iter().any(|&(_, sync, sent)| sync && now.since(sent) >= timeout);
            let lost: Vec<u64> = self.commits.iter().filter(|c| now.since(c.2) >= timeout).map(|c| c.0).collect();
            self.commits.retain(|c| !lost.contains(&c.0));
            self.commit_failures += lost.len() as u64;
            self.coordinator_unknown("request timed out", ctx);
            for id in lost {
                self.on_commit_done(id, ctx);
            }
            if sync_lost && self.exactly_once() {
                // The transaction may still abort: start again from the committed offsets.
                self.lose_all(KafkaError::RequestTimedOut, ctx);
            }
            if sync_lost {
                self.after_sync_commit(ctx);
            }
        }
    }

    /// OffsetFetch answered: positions from committed offsets, else `auto.offset.reset`.
    fn on_committed_offsets(&mut self, offsets: Vec<(u32, CommittedOffset)>, ctx: &mut Ctx) {
        // A stream query starts from its own checkpoint, and replays the batch its offset log
        // holds beyond it (see `crate::stream`).
        let offsets = match &self.stream {
            Some(q) => {
                for (p, end) in q.replay_ends() {
                    if let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) {
                        o.replay_end = Some(end);
                    }
                }
                q.starting_offsets(offsets)
            }
            None => offsets,
        };
        let mut reset = Vec::new();
        for (p, committed) in offsets {
            let Some(o) = self.owned.iter_mut().find(|o| o.partition == p) else { continue };
            o.positioning = false;
            self.unpositioned = true;
            if o.position.is_some() {
                continue;
            }
            match committed {
                Some((offset, epoch)) => {
                    o.position = Some(offset);
                    o.fetch_position = offset;
                    o.buffer.clear();
                    // `seekUnvalidated`: a committed position with an epoch is validated first.
                    o.offset_epoch = epoch;
                    o.awaiting_validation = self.config.detect_truncation && epoch.is_some();
                    o.validation_request = None;
                    self.validation_needed |= o.awaiting_validation;
                    ctx.metrics().groups.position_known(self.group, p, offset);
                }
                None => reset.push(p),
            }
        }
        self.reset_positions(&reset, ctx);
    }
}
