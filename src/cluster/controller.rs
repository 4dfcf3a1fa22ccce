//! The controller (KRaft's active controller, kafka-reference §3.5 and §3.7): it knows which
//! brokers are alive, owns every partition's leader, epoch and ISR, and publishes changes.
//!
//! - Brokers heartbeat every `broker.heartbeat.interval.ms`; one silent for
//!   `broker.session.timeout.ms` is *fenced*: removed from every ISR (without ELR never
//!   emptying one: the last member stays, leaderless) and replaced as leader
//!   (`ReplicationControlManager`).
//! - Elections follow `PartitionChangeBuilder.electLeader`: ONLINE keeps a valid leader, else the
//!   first in-sync, unfenced replica in assignment order; UNCLEAN (topic option) falls back to the
//!   first unfenced replica, whose ISR becomes just itself; no valid replica means *offline*.
//!   PREFERRED moves leadership back to `replicas[0]` every `leader.imbalance.check.interval`.
//! - Leaders propose ISR changes with `AlterPartition`; the controller checks the leader and
//!   partition epochs, refuses fenced brokers, applies, and bumps the partition epoch. A new
//!   leader bumps the leader epoch (an ISR change alone does not, as since metadata 3.6).
//! - Changes go to every broker as `MetadataUpdate`, one per event the controller handles (as
//!   KRaft appends one operation's records as one batch and brokers apply it as one delta); a
//!   broker that missed some (a cut link, a restart) gets the whole state with its next
//!   heartbeat response.
//!
//! - With eligible leader replicas (KIP-966, `PartitionChangeBuilder.maybePopulateTargetElr`):
//!   while the ISR is below `min.insync.replicas`, members that leave it join the ELR (the high
//!   watermark cannot advance then, so they hold everything committed); the ISR may become empty;
//!   an election takes the ISR, else an unfenced ELR member, else the last known leader. A broker
//!   that registers after an unclean shutdown leaves every ISR and ELR. ISR ≥ min ISR clears it.
//!
//! - Reassignments (KIP-455, `ReplicationControlManager.changePartitionReassignment`): the
//!   replicas become the target followed by those being removed, with the added ones marked
//!   (`addingReplicas`); every later change of the partition first tries to complete it
//!   (`PartitionReassignmentReplicas.maybeCompleteReassignment`, called by
//!   `PartitionChangeBuilder.build`): once the ISR holds every target replica, the removed ones
//!   go, a leader among them gives way to the first target replica in the ISR, and the leader
//!   epoch goes up if any replica was removed.
//!
//!   A new target for a partition being reassigned replaces the running one.
//!
//! - With `quorum_voters` above 1, several controllers replicate this state and elect the active
//!   one (`quorum`, KIP-595): only the active controller acts, and what it changes reaches the
//!   brokers once a majority holds it.
//!
//! Simplified: with one voter the controller never fails; a restarted broker is
//! fenced at once when it registers with a new incarnation (Kafka waits for the old session to
//! expire first); an ELR-only change does not bump the partition epoch (brokers do not read the
//! ELR here).
//!
//! - Controlled shutdown (`Shutdown` fault): the broker heartbeats with `wantShutDown`; the
//!   controller moves its leaderships and takes it out of every ISR as it would for a fenced
//!   broker, and answers `shouldShutDown` once the broker leads nothing and has seen those
//!   changes. A broker that registers after a clean shutdown keeps its ELR places (KIP-966); after
//!   a crash it loses them.

mod quorum;

use std::rc::Rc;

use super::Metadata;
use crate::protocol::{Message, PartitionState};
use crate::scenario::ControllerSettings;
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};
pub use quorum::{Quorum, Role};

#[derive(Clone, Debug, Default)]
pub(crate) struct Registration {
    incarnation: Option<u32>,
    last_heartbeat: SimTime,
    fenced: bool,
    /// In controlled shutdown (`BrokerControlState.CONTROLLED_SHUTDOWN`): it leads nothing, is
    /// in no ISR and cannot be elected or join an ISR (KIP-841).
    in_controlled_shutdown: bool,
    /// The metadata version that moved its leaderships away: it may exit once it has seen it.
    shutdown_version: u64,
}

/// Why a leader changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Election {
    Online,
    Unclean,
    Preferred,
    /// The last valid leader went away: no leader.
    Offline,
    /// KIP-966: the ISR was empty and an eligible leader replica took over (a clean election).
    Elr,
    /// KIP-966: ISR and ELR were empty and the last known leader came back and took over.
    LastKnownLeader,
}

/// A partition's KIP-966 state, kept by the controller (`PartitionRegistration.elr` and
/// `lastKnownElr`, which holds just the last leader here, as with
/// `useLastKnownLeaderInBalancedRecovery`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Eligibility {
    pub elr: Vec<u32>,
    pub last_known_leader: Option<u32>,
}

/// A recorded change, for the summary, events and charts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterEvent {
    Leader {
        at: SimTime,
        partition: u32,
        from: Option<u32>,
        to: Option<u32>,
        epoch: u32,
        election: Election,
    },
    Isr {
        at: SimTime,
        partition: u32,
        from: Vec<u32>,
        to: Vec<u32>,
    },
    Fenced {
        at: SimTime,
        broker: u32,
    },
    Unfenced {
        at: SimTime,
        broker: u32,
    },
    /// The broker asked for a controlled shutdown: its leaderships move, it leaves every ISR.
    ControlledShutdown {
        at: SimTime,
        broker: u32,
    },
    /// An operator's `CreatePartitions` created the partition.
    PartitionCreated {
        at: SimTime,
        partition: u32,
        replicas: Vec<u32>,
    },
    /// An operator's `Reassign` began moving the partition (KIP-455): `replicas` is the
    /// assignment while it runs (the target, then the replicas it removes).
    ReassignmentStarted {
        at: SimTime,
        partition: u32,
        from: Vec<u32>,
        to: Vec<u32>,
        adding: Vec<u32>,
        removing: Vec<u32>,
    },
    /// Every target replica joined the ISR: the partition has its target replicas now.
    ReassignmentCompleted {
        at: SimTime,
        partition: u32,
        replicas: Vec<u32>,
    },
    /// An operator cancelled the reassignment: the replicas it was adding left.
    ReassignmentCancelled {
        at: SimTime,
        partition: u32,
        replicas: Vec<u32>,
    },
    /// The eligible leader replicas changed (KIP-966).
    Elr {
        at: SimTime,
        partition: u32,
        from: Vec<u32>,
        to: Vec<u32>,
    },
}

impl ClusterEvent {
    /// When it happened.
    pub fn at(&self) -> SimTime {
        match self {
            ClusterEvent::Leader { at, .. }
            | ClusterEvent::Isr { at, .. }
            | ClusterEvent::Fenced { at, .. }
            | ClusterEvent::Unfenced { at, .. }
            | ClusterEvent::ControlledShutdown { at, .. }
            | ClusterEvent::PartitionCreated { at, .. }
            | ClusterEvent::ReassignmentStarted { at, .. }
            | ClusterEvent::ReassignmentCompleted { at, .. }
            | ClusterEvent::ReassignmentCancelled { at, .. }
            | ClusterEvent::Elr { at, .. } => *at,
        }
    }
}

/// The controller node.
#[derive(Debug)]
pub struct Controller {
    metadata: Rc<Metadata>,
    settings: ControllerSettings,
    pub states: Vec<PartitionState>,
    brokers: Vec<Registration>,
    version: u64,
    pub events: Vec<ClusterEvent>,
    /// Start of the current offline interval per partition.
    offline_since: Vec<Option<SimTime>>,
    /// Closed offline intervals: `(partition, from, to)`.
    pub offline: Vec<(u32, SimTime, SimTime)>,
    /// Per partition, its eligible leader replicas (empty unless the setting is on).
    pub eligibility: Vec<Eligibility>,
    /// Partition changes made while handling the current event, published together when it is
    /// handled: KRaft's controller appends one operation's records as one batch, and a broker
    /// applies them as one metadata delta (so a follower starts fetching every partition it now
    /// follows from a leader in one request).
    staged: Vec<PartitionState>,
    /// The set of brokers that may not join an ISR changed while handling the current event.
    staged_fencing: bool,
    /// Per partition, the reassignment in progress (`PartitionRegistration.removingReplicas`; its
    /// `addingReplicas` are in the state).
    reassigning: Vec<Option<Reassigning>>,
    /// With a quorum of several controllers: this one's place in it (`None`: the only one).
    pub quorum: Option<Box<Quorum>>,
    /// Answers and updates to brokers waiting for the metadata version they need to commit.
    outbox: Vec<(u64, NodeId, Message)>,
    /// Per version written and not yet committed: how many events and offline intervals had been
    /// recorded (what a deposed leader forgets).
    marks: Vec<(u64, usize, usize)>,
    /// The events and offline intervals recorded by committed versions.
    committed_lengths: (usize, usize),
}

/// What the controllers replicate: the partitions, the broker registrations, and the state of
/// elections and reassignments, as of one metadata version (the records of KRaft's metadata
/// log, applied).
#[derive(Clone, Debug)]
pub struct MetadataImage {
    version: u64,
    states: Vec<PartitionState>,
    brokers: Vec<Registration>,
    eligibility: Vec<Eligibility>,
    reassigning: Vec<Option<Reassigning>>,
    offline_since: Vec<Option<SimTime>>,
}

/// A reassignment in progress: the replicas it removes, in broker id order (as
/// `PartitionReassignmentReplicas` computes them; those it adds are in the partition state).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reassigning {
    removing: Vec<u32>,
}

impl Controller {
    /// Controller `voter` of the quorum (the only one when it has one voter).
    pub fn new(metadata: Rc<Metadata>, settings: &ControllerSettings, voter: u32, seed: u64) -> Controller {
        let n = metadata.partition_count();
        let quorum = (settings.quorum_voters > 1)
            .then(|| Box::new(Quorum::new(voter, metadata.controller_node().0, settings, seed)));
        Controller {
            states: (0..n as u32).map(|p| metadata.initial_state(p)).collect(),
            brokers: vec![Registration { incarnation: Some(0), ..Default::default() }; metadata.brokers as usize],
            settings: settings.clone(),
            version: 1,
            events: Vec::new(),
            offline_since: vec![None; n],
            offline: Vec::new(),
            staged: Vec::new(),
            staged_fencing: false,
            eligibility: vec![Eligibility::default(); n],
            reassigning: vec![None; n],
            metadata,
            quorum,
            outbox: Vec::new(),
            marks: Vec::new(),
            committed_lengths: (0, 0),
        }
    }

    /// The engine crashed this controller: it is no longer the active one.
    pub fn quorum_crashed(&mut self, now: SimTime) {
        if let Some(q) = self.quorum.as_mut() {
            q.close_active_period(now);
        }
    }

    /// The newest metadata version this controller holds.
    pub fn metadata_version(&self) -> u64 {
        self.version
    }

    /// Whether this controller acts as the controller: the only one, or the quorum's active one.
    pub fn is_active(&self) -> bool {
        self.quorum.as_ref().is_none_or(|q| q.active)
    }

    /// The metadata this controller holds (what the followers copy).
    fn image(&self) -> MetadataImage {
        MetadataImage {
            version: self.version,
            states: self.states.clone(),
            brokers: self.brokers.clone(),
            eligibility: self.eligibility.clone(),
            reassigning: self.reassigning.clone(),
            offline_since: self.offline_since.clone(),
        }
    }

    /// Sends `msg` to a broker once everything it reflects is committed (at once without a
    /// quorum): the version written, or the next one if this event changed something.
    fn answer(&mut self, to: NodeId, msg: Message, ctx: &mut Ctx) {
        match &self.quorum {
            None => ctx.send(to, msg),
            Some(q) => {
                let pending = !self.staged.is_empty() || self.staged_fencing;
                let needs = self.version + pending as u64;
                if needs <= q.committed {
                    ctx.send(to, msg);
                } else {
                    self.outbox.push((needs, to, msg));
                }
            }
        }
    }

    /// Notes what a new version recorded (a leader that loses it before it commits forgets it).
    fn mark_version(&mut self) {
        if self.quorum.is_some() {
            self.marks.push((self.version, self.events.len(), self.offline.len()));
        }
    }

    fn commit_marks(&mut self) {
        let committed = self.quorum.as_ref().map_or(u64::MAX, |q| q.committed);
        let done = self.marks.iter().take_while(|m| m.0 <= committed).count();
        if let Some(&(_, events, offline)) = self.marks[..done].last() {
            self.committed_lengths = (events, offline);
        }
        self.marks.drain(..done);
    }

    fn truncate_uncommitted(&mut self) {
        self.events.truncate(self.committed_lengths.0);
        self.offline.truncate(self.committed_lengths.1);
        self.marks.clear();
    }

    pub fn is_fenced(&self, broker: u32) -> bool {
        self.brokers[broker as usize].fenced
    }

    pub fn on_start(&mut self, ctx: &mut Ctx) {
        self.quorum_start(ctx);
        ctx.set_timer(SimDuration::from_ms(500), Timer::SessionCheck);
        if self.settings.auto_leader_rebalance_enable {
            ctx.set_timer(
                SimDuration::from_ms(self.settings.leader_imbalance_check_interval_ms.max(1)),
                Timer::LeaderRebalance,
            );
        }
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        if let Timer::Quorum { generation } = timer {
            self.on_quorum_timer(generation, ctx);
            return;
        }
        self.handle_timer(timer, ctx);
        self.publish(ctx);
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::QuorumAppend { .. }
            | Message::QuorumAppendResponse { .. }
            | Message::QuorumVote { .. }
            | Message::QuorumVoteResponse { .. } => self.on_quorum_message(from, msg, ctx),
            _ if !self.is_active() => self.not_controller(from, ctx),
            _ => {
                self.handle_message(from, msg, ctx);
                self.publish(ctx);
            }
        }
    }

    fn handle_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        let now = ctx.now();
        let active = self.is_active();
        match timer {
            Timer::SessionCheck => {
                let timeout = SimDuration::from_ms(self.settings.broker_session_timeout_ms);
                for b in 0..self.brokers.len() as u32 {
                    let r = &self.brokers[b as usize];
                    if active && !r.fenced && now.since(r.last_heartbeat) > timeout {
                        self.fence(b, "session timed out", ctx);
                    }
                }
                ctx.set_timer(SimDuration::from_ms(500), Timer::SessionCheck);
            }
            Timer::LeaderRebalance => {
                if active {
                    self.preferred_elections(ctx);
                }
                ctx.set_timer(
                    SimDuration::from_ms(self.settings.leader_imbalance_check_interval_ms.max(1)),
                    Timer::LeaderRebalance,
                );
            }
            _ => {}
        }
    }

    fn handle_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::BrokerHeartbeat { broker, incarnation, metadata_version, want_shut_down, clean_shutdown } => {
                let now = ctx.now();
                let reg = &self.brokers[broker as usize];
                if reg.incarnation != Some(incarnation) {
                    let was_registered = reg.incarnation.is_some();
                    if was_registered && self.settings.restart_fences_broker && !reg.fenced {
                        self.fence(broker, "restarted with a new incarnation", ctx);
                    }
                    // `handleBrokerUncleanShutdown` runs only for a registration without the
                    // previous broker epoch, i.e. after a crash (KIP-966).
                    if was_registered && self.settings.eligible_leader_replicas && !clean_shutdown {
                        self.unclean_shutdown(broker, ctx);
                    }
                    let reg = &mut self.brokers[broker as usize];
                    reg.incarnation = Some(incarnation);
                    reg.in_controlled_shutdown = false;
                }
                self.brokers[broker as usize].last_heartbeat = now;
                let should_shut_down = if want_shut_down {
                    self.controlled_shutdown(broker, metadata_version, ctx)
                } else {
                    if self.brokers[broker as usize].fenced {
                        self.unfence(broker, ctx);
                    }
                    false
                };
                // What this heartbeat changed goes out first; the answer then carries the version.
                self.publish(ctx);
                let changes = if metadata_version < self.version { self.states.clone() } else { Vec::new() };
                let fenced_brokers = self.fenced_brokers();
                let msg = Message::BrokerHeartbeatResponse {
                    metadata_version: self.version,
                    changes,
                    fenced_brokers,
                    should_shut_down,
                };
                self.answer(from, msg, ctx);
            }
            Message::AlterPartition { broker, partition, leader_epoch, partition_epoch, new_isr } => {
                let s = &self.states[partition as usize];
                let valid = s.leader == Some(broker)
                    && s.leader_epoch == leader_epoch
                    && s.partition_epoch == partition_epoch
                    && new_isr.contains(&broker)
                    && new_isr.iter().all(|&b| s.isr.contains(&b) || self.valid(b));
                let result = if valid {
                    let mut next = s.clone();
                    next.isr = new_isr;
                    self.apply(next.clone(), None, None, ctx);
                    Ok(Box::new(next))
                } else {
                    Err(())
                };
                self.answer(from, Message::AlterPartitionResponse { partition, result }, ctx);
            }
            _ => {}
        }
    }

    /// A heartbeat that asks for a controlled shutdown (`BrokerHeartbeatManager
    /// .calculateNextBrokerState`); returns `shouldShutDown`. The first one moves the broker's
    /// leaderships and takes it out of every ISR (`handleBrokerInControlledShutdown`). The
    /// broker may go (SHUTDOWN_NOW, which fences it) once it leads nothing and its metadata has
    /// caught up with those changes; a fenced broker may go at once.
    fn controlled_shutdown(&mut self, broker: u32, metadata_version: u64, ctx: &mut Ctx) -> bool {
        let reg = &self.brokers[broker as usize];
        if reg.fenced {
            return true;
        }
        if !reg.in_controlled_shutdown {
            self.brokers[broker as usize].in_controlled_shutdown = true;
            self.events.push(ClusterEvent::ControlledShutdown { at: ctx.now(), broker });
            ctx.notable("controlled_shutdown", || format!("broker-{broker}: moving its leaderships, out of every ISR"));
            // Brokers learn that it may not rejoin an ISR (it is published with the fenced ones).
            self.staged_fencing = true;
            self.remove_from_isrs(broker, ctx);
            self.publish(ctx);
            self.brokers[broker as usize].shutdown_version = self.version;
        }
        let leads = self.states.iter().any(|s| s.leader == Some(broker));
        if leads || metadata_version < self.brokers[broker as usize].shutdown_version {
            return false;
        }
        self.fence(broker, "controlled shutdown complete", ctx);
        true
    }

    /// Fences a broker: out of every ISR (unless it is the last member), new leaders where it led.
    fn fence(&mut self, broker: u32, why: &str, ctx: &mut Ctx) {
        self.brokers[broker as usize].fenced = true;
        self.events.push(ClusterEvent::Fenced { at: ctx.now(), broker });
        ctx.notable("fence", || format!("broker-{broker}: {why}"));
        self.staged_fencing = true;
        self.remove_from_isrs(broker, ctx);
    }

    /// `generateLeaderAndIsrUpdates` for a broker going away: out of every ISR (without ELR never
    /// emptying one: the last member stays), a new leader where it led.
    fn remove_from_isrs(&mut self, broker: u32, ctx: &mut Ctx) {
        for p in 0..self.states.len() {
            let s = &self.states[p];
            if !s.replicas.contains(&broker) {
                continue;
            }
            let mut next = s.clone();
            // Without ELR the controller never empties an ISR (`PartitionChangeBuilder.build`).
            if next.isr.len() > 1 || self.settings.eligible_leader_replicas {
                next.isr.retain(|&b| b != broker);
            }
            if next.leader == Some(broker) {
                self.elect(next, None, ctx);
            } else if next.isr != s.isr {
                self.apply(next, None, None, ctx);
            }
        }
    }

    /// `handleBrokerUncleanShutdown` (KIP-966): a broker registered after an unclean shutdown may
    /// have lost its unflushed records, so it leaves every ISR and ELR.
    fn unclean_shutdown(&mut self, broker: u32, ctx: &mut Ctx) {
        for p in 0..self.states.len() {
            let s = &self.states[p];
            if !s.isr.contains(&broker) && !self.eligibility[p].elr.contains(&broker) {
                continue;
            }
            let mut next = s.clone();
            next.isr.retain(|&b| b != broker);
            if next.leader == Some(broker) {
                self.elect(next, Some(broker), ctx);
            } else {
                let elr = self.target_elr(&next, Some(broker));
                self.apply(next, None, Some(elr), ctx);
            }
        }
    }

    /// `maybePopulateTargetElr`: the ELR after the ISR becomes `next.isr`. Below min ISR it is
    /// the current ELR plus the current ISR, minus the new ISR and a broker back from an unclean
    /// shutdown; at or above min ISR it is empty.
    fn target_elr(&self, next: &PartitionState, unclean: Option<u32>) -> Vec<u32> {
        let p = next.partition as usize;
        if !self.settings.eligible_leader_replicas
            || next.isr.len() >= self.metadata.topic_of(next.partition).min_insync_replicas as usize
        {
            return Vec::new();
        }
        let mut elr: Vec<u32> = self.eligibility[p].elr.iter().chain(&self.states[p].isr).copied().collect();
        elr.sort_unstable();
        elr.dedup();
        elr.retain(|&b| !next.isr.contains(&b) && Some(b) != unclean);
        elr
    }

    /// A fenced broker heartbeats again: it can lead offline partitions it is eligible for.
    fn unfence(&mut self, broker: u32, ctx: &mut Ctx) {
        self.brokers[broker as usize].fenced = false;
        self.events.push(ClusterEvent::Unfenced { at: ctx.now(), broker });
        ctx.notable("unfence", || format!("broker-{broker} registered"));
        self.staged_fencing = true;
        for p in 0..self.states.len() {
            let s = &self.states[p];
            if s.leader.is_none() && s.replicas.contains(&broker) {
                let next = s.clone();
                self.elect(next, None, ctx);
            }
        }
    }

    /// The brokers that may not join an ISR: fenced, or in controlled shutdown.
    fn fenced_brokers(&self) -> Vec<u32> {
        (0..self.brokers.len() as u32).filter(|&b| !self.valid(b)).collect()
    }

    /// Publishes what an operator's request changed (the engine hands it over directly).
    pub fn publish_now(&mut self, ctx: &mut Ctx) {
        self.publish(ctx);
    }

    /// Sends what changed since the last publication to every broker, as one metadata version.
    fn publish(&mut self, ctx: &mut Ctx) {
        if self.staged.is_empty() && !self.staged_fencing {
            return;
        }
        self.version += 1;
        self.staged_fencing = false;
        let changes = std::mem::take(&mut self.staged);
        let fenced_brokers = self.fenced_brokers();
        self.mark_version();
        self.replicate(true, ctx);
        for b in 0..self.metadata.brokers {
            let msg = Message::MetadataUpdate {
                metadata_version: self.version,
                changes: changes.clone(),
                fenced_brokers: fenced_brokers.clone(),
            };
            self.answer(Metadata::broker_node(b), msg, ctx);
        }
    }

    /// May lead and join an ISR (`ClusterControlManager.isActive`): unfenced and not shutting down.
    fn valid(&self, b: u32) -> bool {
        let r = &self.brokers[b as usize];
        !r.fenced && !r.in_controlled_shutdown
    }

    /// ONLINE election (`PartitionChangeBuilder.electAnyLeader`): keep a valid leader, else the
    /// first valid replica (in the ISR, or with an empty ISR in the ELR), else the last known
    /// leader (ELR), else UNCLEAN where the topic allows it. `unclean`: a broker back from an
    /// unclean shutdown, out of the ELR.
    fn elect(&mut self, mut next: PartitionState, unclean: Option<u32>, ctx: &mut Ctx) {
        let p = next.partition;
        let unclean_ok = self.metadata.topic_of(p).unclean_leader_election_enable;
        let mut elr = self.target_elr(&next, unclean);
        let valid = |b: u32| (next.isr.contains(&b) || (next.isr.is_empty() && elr.contains(&b))) && self.valid(b);
        let keep = next.leader.filter(|&l| valid(l));
        let online = next.replicas.iter().copied().find(|&b| valid(b));
        // `canElectLastKnownLeader`, when the last known leader is unfenced (the 4.x docs' rule).
        let last_known = self.eligibility[p as usize].last_known_leader.filter(|&l| {
            next.isr.is_empty() && elr.is_empty() && self.settings.eligible_leader_replicas && self.valid(l)
        });
        let (leader, election) = match (keep, online, last_known) {
            (Some(l), _, _) => (Some(l), Election::Online),
            (None, Some(l), _) if next.isr.is_empty() => {
                // From the ELR: it becomes the ISR.
                next.isr = vec![l];
                elr.retain(|&b| b != l);
                (Some(l), Election::Elr)
            }
            (None, Some(l), _) => (Some(l), Election::Online),
            (None, None, Some(l)) => {
                next.isr = vec![l];
                elr.clear();
                (Some(l), Election::LastKnownLeader)
            }
            (None, None, None) if unclean_ok => match next.replicas.iter().copied().find(|&b| self.valid(b)) {
                Some(l) => {
                    next.isr = vec![l];
                    elr.clear();
                    (Some(l), Election::Unclean)
                }
                None => (None, Election::Offline),
            },
            (None, None, None) => (None, Election::Offline),
        };
        if leader == next.leader && leader.is_some() {
            self.apply(next, None, Some(elr), ctx);
            return;
        }
        next.leader = leader;
        self.apply(next, Some(election), Some(elr), ctx);
    }

    /// `ReplicationControlManager.createPartitions`: `topic` grows to `total` partitions. Each new
    /// partition gets the replicas placement gives it (see [`Metadata::replicas`]), an ISR of
    /// those that are active, led by the first of them in epoch 0. Refused, as Kafka refuses it
    /// (`INVALID_PARTITIONS`, `INVALID_REPLICATION_FACTOR`), when it is no increase or when fewer
    /// brokers are active than the replication factor. Returns what it did, for the trace.
    pub fn create_partitions(&mut self, topic: usize, total: u32, ctx: &mut Ctx) -> Result<String, String> {
        let t = &self.metadata.topics[topic];
        let range = t.first..t.first + t.partitions;
        let current = range.clone().filter(|&p| self.states[p as usize].exists()).count() as u32;
        if total < current {
            return Err(format!(
                "the topic {} currently has {current} partition(s); {total} would not be an increase",
                t.name
            ));
        }
        if total == current {
            return Err(format!("topic {} already has {current} partition(s)", t.name));
        }
        let active = (0..self.metadata.brokers).filter(|&b| self.valid(b)).count() as u32;
        if active < t.replication_factor {
            return Err(format!(
                "the target replication factor of {} cannot be reached because only {active} broker(s) are active",
                t.replication_factor
            ));
        }
        let name = t.name.clone();
        for p in t.first + current..t.first + total {
            let mut state = self.metadata.created_state(p);
            state.isr.retain(|&b| self.valid(b));
            state.leader = state.isr.first().copied();
            self.events.push(ClusterEvent::PartitionCreated {
                at: ctx.now(),
                partition: p,
                replicas: state.replicas.clone(),
            });
            self.states[p as usize] = state.clone();
            self.staged.push(state);
        }
        let text = format!("{name} now has {total} partitions (was {current})");
        ctx.notable("create_partitions", || text.clone());
        Ok(text)
    }

    /// `ReplicationControlManager.changePartitionReassignment` (KIP-455): the partition's
    /// replicas become the target followed by the replicas it removes
    /// (`PartitionReassignmentReplicas`), and the new ones start copying the log as followers.
    /// The change completes at once when the ISR already holds every target replica (a
    /// reordering, or a removal); otherwise when it does (see [`Controller::apply`]). Refused
    /// before the partition exists. The target was checked with the scenario
    /// (`validateManualPartitionAssignment`). Returns what it did, for the trace.
    ///
    /// Without `additional` (`kafka-reassign-partitions.sh --execute`), refused with the tool's
    /// message while the partition is being reassigned. With it (`--additional`, or the Admin
    /// API), a partition already being reassigned gets the new target in place of the old one, as in
    /// Kafka: adding and removing are computed against its current replicas (the old target and
    /// the replicas the old one was removing), so a replica the old target was adding and the
    /// new one does not name is removed (it deletes what it copied), and one both name keeps
    /// what it copied. Kafka's `PartitionChangeBuilder` starts from the partition's
    /// `addingReplicas` and `removingReplicas` and `changePartitionReassignment` sets each only
    /// when the new one is not empty, so an empty list keeps the old one: kafkasim does the same.
    pub fn reassign(&mut self, p: u32, target: &[u32], additional: bool, ctx: &mut Ctx) -> Result<String, String> {
        let name = self.metadata.partition_name(p);
        let s = &self.states[p as usize];
        if !s.exists() {
            return Err(format!("{name} does not exist yet"));
        }
        if !additional && self.reassigning[p as usize].is_some() {
            // `ReassignPartitionsCommand.CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE`
            return Err(format!(
                "{name} is being reassigned: Cannot execute because there is an existing partition assignment.  \
                 Use --additional to override this and create a new partition assignment in addition to the \
                 existing one."
            ));
        }
        let current = s.replicas.clone();
        let sorted_difference = |a: &[u32], b: &[u32]| {
            let mut d: Vec<u32> = a.iter().copied().filter(|x| !b.contains(x)).collect();
            d.sort_unstable();
            d
        };
        let new_removing = sorted_difference(&current, target);
        let new_adding = sorted_difference(target, &current);
        let running = self.reassigning[p as usize].take();
        let replaced = running.is_some();
        // `setTargetRemoving` / `setTargetAdding` only when not empty (see above).
        let removing = match running {
            Some(r) if new_removing.is_empty() => r.removing,
            _ => new_removing.clone(),
        };
        let adding = if new_adding.is_empty() { s.adding_replicas.clone() } else { new_adding };
        let mut next = s.clone();
        next.replicas = target.iter().copied().chain(new_removing.iter().copied()).collect();
        self.events.push(ClusterEvent::ReassignmentStarted {
            at: ctx.now(),
            partition: p,
            from: current.clone(),
            to: target.to_vec(),
            adding: adding.clone(),
            removing: removing.clone(),
        });
        let replacing = if replaced { ", replacing the reassignment in progress" } else { "" };
        let text =
            format!("{name} replicas {current:?} -> {target:?} (adding {adding:?}, removing {removing:?}{replacing})");
        ctx.notable("reassignment_started", || text.clone());
        if adding.is_empty() && removing.is_empty() {
            // The same replicas in another order: nothing to wait for (no reassignment is in
            // progress for `PartitionReassignmentReplicas`), the new order is the assignment.
            let replicas = next.replicas.clone();
            self.events.push(ClusterEvent::ReassignmentCompleted { at: ctx.now(), partition: p, replicas });
            ctx.notable("reassignment_completed", || format!("{name} replicas {:?} (reordered)", next.replicas));
        } else {
            next.adding_replicas = adding;
            self.reassigning[p as usize] = Some(Reassigning { removing });
        }
        self.apply(next, None, None, ctx);
        Ok(text)
    }

    /// `ReplicationControlManager.cancelPartitionReassignment` (`PartitionReassignmentRevert`):
    /// the replicas lose the ones the reassignment was adding, in their current order (so a
    /// removed replica listed last stays last), and the ISR keeps only the replicas that remain.
    /// An ISR left empty needs an unclean election, which the topic must allow; a leader that
    /// was being added gives way (an ONLINE election, or UNCLEAN from an empty ISR).
    pub fn cancel_reassignment(&mut self, p: u32, ctx: &mut Ctx) -> Result<String, String> {
        let name = self.metadata.partition_name(p);
        let s = &self.states[p as usize];
        if self.reassigning[p as usize].is_none() {
            // NO_REASSIGNMENT_IN_PROGRESS
            return Err(format!("no reassignment of {name} is in progress"));
        }
        let adding = s.adding_replicas.clone();
        let mut next = s.clone();
        next.replicas.retain(|b| !adding.contains(b));
        next.isr.retain(|b| next.replicas.contains(b));
        next.adding_replicas.clear();
        let topic = self.metadata.topic_of(p);
        let unclean = next.isr.is_empty();
        if unclean && !topic.unclean_leader_election_enable {
            return Err(format!(
                "Unable to revert partition assignment for {name} because it would require an unclean leader election."
            ));
        }
        self.reassigning[p as usize] = None;
        let text = format!("{name} replicas {:?} -> {:?} (cancelled: {adding:?} leave)", s.replicas, next.replicas);
        ctx.notable("reassignment_cancelled", || text.clone());
        self.events.push(ClusterEvent::ReassignmentCancelled {
            at: ctx.now(),
            partition: p,
            replicas: next.replicas.clone(),
        });
        if unclean {
            // `builder.setElection(UNCLEAN)`: the first active replica left leads, alone in the ISR.
            next.leader = next.replicas.iter().copied().find(|&b| self.valid(b));
            next.isr = next.leader.into_iter().collect();
            let election = if next.leader.is_some() { Election::Unclean } else { Election::Offline };
            self.apply(next, Some(election), None, ctx);
        } else if next.leader.is_some_and(|l| !next.isr.contains(&l)) {
            self.elect(next, None, ctx);
        } else {
            self.apply(next, None, None, ctx);
        }
        Ok(text)
    }

    /// `PartitionReassignmentReplicas.maybeCompleteReassignment`, on every change of a partition
    /// being reassigned (`PartitionChangeBuilder.build` calls it first): once the ISR without the
    /// removed replicas is not empty and holds every remaining replica, the partition keeps just
    /// those. Returns whether it completed.
    fn maybe_complete_reassignment(&mut self, next: &mut PartitionState, ctx: &mut Ctx) -> bool {
        let p = next.partition as usize;
        let Some(r) = &self.reassigning[p] else { return false };
        let isr: Vec<u32> = next.isr.iter().copied().filter(|b| !r.removing.contains(b)).collect();
        let replicas: Vec<u32> = next.replicas.iter().copied().filter(|b| !r.removing.contains(b)).collect();
        if isr.is_empty() || replicas.is_empty() || !replicas.iter().all(|b| isr.contains(b)) {
            return false;
        }
        next.isr = isr;
        next.replicas = replicas;
        next.adding_replicas.clear();
        self.reassigning[p] = None;
        self.events.push(ClusterEvent::ReassignmentCompleted {
            at: ctx.now(),
            partition: next.partition,
            replicas: next.replicas.clone(),
        });
        let name = self.metadata.partition_name(next.partition);
        ctx.notable("reassignment_completed", || format!("{name} replicas {:?} isr {:?}", next.replicas, next.isr));
        true
    }

    /// Whether the partition is being reassigned now.
    pub fn is_reassigning(&self, p: u32) -> bool {
        self.reassigning[p as usize].is_some()
    }

    /// PREFERRED elections for partitions not led by their first replica.
    fn preferred_elections(&mut self, ctx: &mut Ctx) {
        for p in 0..self.states.len() {
            let s = &self.states[p];
            let Some(&preferred) = s.replicas.first() else { continue }; // not created yet
            if s.leader != Some(preferred) && s.isr.contains(&preferred) && self.valid(preferred) {
                let mut next = s.clone();
                next.leader = Some(preferred);
                self.apply(next, Some(Election::Preferred), None, ctx);
            }
        }
    }

    /// Commits a change: the ELR (`elr`, or as the new ISR makes it), epochs, events, broadcast.
    fn apply(
        &mut self,
        mut next: PartitionState,
        mut election: Option<Election>,
        elr: Option<Vec<u32>>,
        ctx: &mut Ctx,
    ) {
        let p = next.partition as usize;
        let now = ctx.now();
        // `PartitionChangeBuilder.build`: a reassignment completes first; a leader it removed
        // gives way to the first target replica in the ISR (`electAnyLeader`); and removing
        // replicas bumps the leader epoch even when the leader stays
        // (`triggerLeaderEpochBumpForReplicaReassignmentIfNeeded`), fencing the removed ones.
        let mut bump_epoch = false;
        if self.reassigning[p].is_some() && self.maybe_complete_reassignment(&mut next, ctx) {
            if next.leader.is_some_and(|l| !next.isr.contains(&l)) {
                next.leader = next.replicas.iter().copied().find(|&b| next.isr.contains(&b) && self.valid(b));
                election = Some(if next.leader.is_some() { Election::Online } else { Election::Offline });
            }
            bump_epoch = !self.states[p].replicas.iter().all(|b| next.replicas.contains(b));
        }
        let elr = elr.unwrap_or_else(|| self.target_elr(&next, None));
        self.update_eligibility(&next, elr, ctx);
        let old = self.states[p].clone();
        if next == old {
            return;
        }
        next.partition_epoch = old.partition_epoch + 1;
        if election.is_none() && bump_epoch {
            next.leader_epoch = old.leader_epoch + 1;
        }
        if let Some(e) = election {
            next.leader_epoch = old.leader_epoch + 1;
            self.events.push(ClusterEvent::Leader {
                at: now,
                partition: next.partition,
                from: old.leader,
                to: next.leader,
                epoch: next.leader_epoch,
                election: e,
            });
            let name = self.metadata.partition_name(next.partition);
            ctx.notable("election", || {
                let to = next.leader.map_or("none (offline)".to_string(), |l| format!("broker-{l}"));
                format!("{name} {e:?}: leader {to} epoch {} isr {:?}", next.leader_epoch, next.isr)
            });
            match (old.leader, next.leader) {
                (Some(_), None) => self.offline_since[p] = Some(now),
                (None, Some(_)) => {
                    if let Some(since) = self.offline_since[p].take() {
                        self.offline.push((next.partition, since, now));
                    }
                }
                _ => {}
            }
        }
        if next.isr != old.isr {
            self.events.push(ClusterEvent::Isr {
                at: now,
                partition: next.partition,
                from: old.isr.clone(),
                to: next.isr.clone(),
            });
            let name = self.metadata.partition_name(next.partition);
            ctx.notable("isr_change", || format!("{name} isr {:?} -> {:?}", old.isr, next.isr));
        }
        self.states[p] = next.clone();
        // A partition changed twice in one event is published once, in its final state.
        match self.staged.iter_mut().find(|s| s.partition == next.partition) {
            Some(staged) => *staged = next,
            None => self.staged.push(next),
        }
    }

    /// Records the new ELR and `maybeUpdateLastKnownLeader`: the leader is remembered when the
    /// ISR first becomes empty and forgotten once the partition has a leader again.
    fn update_eligibility(&mut self, next: &PartitionState, elr: Vec<u32>, ctx: &mut Ctx) {
        if !self.settings.eligible_leader_replicas {
            return;
        }
        let p = next.partition as usize;
        let old = &self.states[p];
        let mut e = Eligibility { elr, last_known_leader: self.eligibility[p].last_known_leader };
        if next.isr.is_empty() && !old.isr.is_empty() {
            e.last_known_leader = old.leader.or(e.last_known_leader);
        } else if next.leader.is_some() {
            e.last_known_leader = None;
        }
        if e != self.eligibility[p] {
            let name = self.metadata.partition_name(next.partition);
            let before = &self.eligibility[p];
            if e.elr != before.elr {
                let (at, partition) = (ctx.now(), next.partition);
                self.events.push(ClusterEvent::Elr { at, partition, from: before.elr.clone(), to: e.elr.clone() });
            }
            ctx.notable("elr_change", || {
                let last = e.last_known_leader.map_or(String::new(), |l| format!(" (last known leader broker-{l})"));
                format!("{name} elr {:?} -> {:?}{last}", before.elr, e.elr)
            });
            self.eligibility[p] = e;
        }
    }

    /// Closes offline intervals still open at `end`.
    pub fn offline_intervals(&self, end: SimTime) -> Vec<(u32, SimTime, SimTime)> {
        let mut out = self.offline.clone();
        for (p, since) in self.offline_since.iter().enumerate() {
            if let Some(s) = since {
                out.push((p as u32, *s, end));
            }
        }
        out.sort();
        out
    }
}
