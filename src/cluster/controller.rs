//! The controller (KRaft's active controller, kafka-reference §3.5 and §3.7): it knows which
//! brokers are alive, owns every partition's leader, epoch and ISR, and publishes changes.
//!
//! - Brokers heartbeat every `broker.heartbeat.interval.ms`; one silent for
//!   `broker.session.timeout.ms` is *fenced*: removed from every ISR (never emptying one: the
//!   last member stays, leaderless) and replaced as leader (`ReplicationControlManager`).
//! - Elections follow `PartitionChangeBuilder.electLeader`: ONLINE keeps a valid leader, else the
//!   first in-sync, unfenced replica in assignment order; UNCLEAN (topic option) falls back to the
//!   first unfenced replica, whose ISR becomes just itself; no valid replica means *offline*.
//!   PREFERRED moves leadership back to `replicas[0]` every `leader.imbalance.check.interval`.
//! - Leaders propose ISR changes with `AlterPartition`; the controller checks the leader and
//!   partition epochs, refuses fenced brokers, applies, and bumps the partition epoch. A new
//!   leader bumps the leader epoch (an ISR change alone does not, as since metadata 3.6).
//! - Changes go to every broker as `MetadataUpdate`; a broker that missed some (a cut link, a
//!   restart) gets the whole state with its next heartbeat response.
//!
//! Simplified: one controller node (no Raft quorum, it never fails over); a restarted broker is
//! fenced at once when it registers with a new incarnation (Kafka waits for the old session to
//! expire first); ELR (KIP-966) is not modelled.

use std::rc::Rc;

use super::Metadata;
use crate::protocol::{Message, PartitionState};
use crate::scenario::ControllerSettings;
use crate::sim::{Ctx, NodeId, SimDuration, SimTime, Timer};

#[derive(Clone, Debug, Default)]
struct Registration {
    incarnation: Option<u32>,
    last_heartbeat: SimTime,
    fenced: bool,
}

/// Why a leader changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Election {
    Online,
    Unclean,
    Preferred,
    /// The last valid leader went away: no leader.
    Offline,
}

/// A recorded change, for the summary, events and charts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterEvent {
    Leader { at: SimTime, partition: u32, from: Option<u32>, to: Option<u32>, epoch: u32, election: Election },
    Isr { at: SimTime, partition: u32, from: Vec<u32>, to: Vec<u32> },
    Fenced { at: SimTime, broker: u32 },
    Unfenced { at: SimTime, broker: u32 },
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
}

impl Controller {
    pub fn new(metadata: Rc<Metadata>, settings: &ControllerSettings) -> Controller {
        let n = metadata.partition_count();
        Controller {
            states: (0..n as u32).map(|p| metadata.initial_state(p)).collect(),
            brokers: vec![Registration { incarnation: Some(0), ..Default::default() }; metadata.brokers as usize],
            settings: settings.clone(),
            version: 1,
            events: Vec::new(),
            offline_since: vec![None; n],
            offline: Vec::new(),
            metadata,
        }
    }

    pub fn is_fenced(&self, broker: u32) -> bool {
        self.brokers[broker as usize].fenced
    }

    pub fn on_start(&mut self, ctx: &mut Ctx) {
        ctx.set_timer(SimDuration::from_ms(500), Timer::SessionCheck);
        if self.settings.auto_leader_rebalance_enable {
            ctx.set_timer(
                SimDuration::from_ms(self.settings.leader_imbalance_check_interval_ms.max(1)),
                Timer::LeaderRebalance,
            );
        }
    }

    pub fn on_timer(&mut self, timer: Timer, ctx: &mut Ctx) {
        let now = ctx.now();
        match timer {
            Timer::SessionCheck => {
                let timeout = SimDuration::from_ms(self.settings.broker_session_timeout_ms);
                for b in 0..self.brokers.len() as u32 {
                    let r = &self.brokers[b as usize];
                    if !r.fenced && now.since(r.last_heartbeat) > timeout {
                        self.fence(b, "session timed out", ctx);
                    }
                }
                ctx.set_timer(SimDuration::from_ms(500), Timer::SessionCheck);
            }
            Timer::LeaderRebalance => {
                self.preferred_elections(ctx);
                ctx.set_timer(
                    SimDuration::from_ms(self.settings.leader_imbalance_check_interval_ms.max(1)),
                    Timer::LeaderRebalance,
                );
            }
            _ => {}
        }
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        match msg {
            Message::BrokerHeartbeat { broker, incarnation, metadata_version } => {
                let now = ctx.now();
                let reg = &self.brokers[broker as usize];
                if reg.incarnation != Some(incarnation) {
                    let was_registered = reg.incarnation.is_some();
                    if was_registered && self.settings.restart_fences_broker && !reg.fenced {
                        self.fence(broker, "restarted with a new incarnation", ctx);
                    }
                    self.brokers[broker as usize].incarnation = Some(incarnation);
                }
                self.brokers[broker as usize].last_heartbeat = now;
                if self.brokers[broker as usize].fenced {
                    self.unfence(broker, ctx);
                }
                let changes = if metadata_version < self.version { self.states.clone() } else { Vec::new() };
                let fenced_brokers = self.fenced_brokers();
                ctx.send(
                    from,
                    Message::BrokerHeartbeatResponse { metadata_version: self.version, changes, fenced_brokers },
                );
            }
            Message::AlterPartition { broker, partition, leader_epoch, partition_epoch, new_isr } => {
                let s = &self.states[partition as usize];
                let valid = s.leader == Some(broker)
                    && s.leader_epoch == leader_epoch
                    && s.partition_epoch == partition_epoch
                    && new_isr.contains(&broker)
                    && new_isr.iter().all(|b| s.isr.contains(b) || !self.brokers[*b as usize].fenced);
                let result = if valid {
                    let mut next = s.clone();
                    next.isr = new_isr;
                    self.apply(next.clone(), None, ctx);
                    Ok(Box::new(next))
                } else {
                    Err(())
                };
                ctx.send(from, Message::AlterPartitionResponse { partition, result });
            }
            _ => {}
        }
    }

    /// Fences a broker: out of every ISR (unless it is the last member), new leaders where it led.
    fn fence(&mut self, broker: u32, why: &str, ctx: &mut Ctx) {
        self.brokers[broker as usize].fenced = true;
        self.events.push(ClusterEvent::Fenced { at: ctx.now(), broker });
        ctx.notable("fence", || format!("broker-{broker}: {why}"));
        self.publish(Vec::new(), ctx);
        for p in 0..self.states.len() {
            let s = &self.states[p];
            if !s.replicas.contains(&broker) {
                continue;
            }
            let mut next = s.clone();
            if next.isr.len() > 1 {
                next.isr.retain(|&b| b != broker);
            }
            if next.leader == Some(broker) {
                self.elect(next, ctx);
            } else if next.isr != s.isr {
                self.apply(next, None, ctx);
            }
        }
    }

    /// A fenced broker heartbeats again: it can lead offline partitions it is eligible for.
    fn unfence(&mut self, broker: u32, ctx: &mut Ctx) {
        self.brokers[broker as usize].fenced = false;
        self.events.push(ClusterEvent::Unfenced { at: ctx.now(), broker });
        ctx.notable("unfence", || format!("broker-{broker} registered"));
        self.publish(Vec::new(), ctx);
        for p in 0..self.states.len() {
            let s = &self.states[p];
            if s.leader.is_none() && s.replicas.contains(&broker) {
                let next = s.clone();
                self.elect(next, ctx);
            }
        }
    }

    fn fenced_brokers(&self) -> Vec<u32> {
        (0..self.brokers.len() as u32).filter(|&b| self.brokers[b as usize].fenced).collect()
    }

    /// Publishes a change that touches no partition (a broker fenced or unfenced).
    fn publish(&mut self, changes: Vec<PartitionState>, ctx: &mut Ctx) {
        self.version += 1;
        let fenced_brokers = self.fenced_brokers();
        for b in 0..self.metadata.brokers {
            let msg = Message::MetadataUpdate {
                metadata_version: self.version,
                changes: changes.clone(),
                fenced_brokers: fenced_brokers.clone(),
            };
            ctx.send(Metadata::broker_node(b), msg);
        }
    }

    fn valid(&self, b: u32) -> bool {
        !self.brokers[b as usize].fenced
    }

    /// ONLINE election, falling back to UNCLEAN where the topic allows it.
    fn elect(&mut self, mut next: PartitionState, ctx: &mut Ctx) {
        let p = next.partition;
        let unclean_ok = self.metadata.topic_of(p).unclean_leader_election_enable;
        let keep = next.leader.filter(|&l| next.isr.contains(&l) && self.valid(l));
        let online = next.replicas.iter().copied().find(|&b| next.isr.contains(&b) && self.valid(b));
        let (leader, election) = match (keep, online) {
            (Some(l), _) => (Some(l), Election::Online),
            (None, Some(l)) => (Some(l), Election::Online),
            (None, None) if unclean_ok => match next.replicas.iter().copied().find(|&b| self.valid(b)) {
                Some(l) => {
                    next.isr = vec![l];
                    (Some(l), Election::Unclean)
                }
                None => (None, Election::Offline),
            },
            (None, None) => (None, Election::Offline),
        };
        if leader == next.leader && leader.is_some() {
            self.apply(next, None, ctx);
            return;
        }
        next.leader = leader;
        self.apply(next, Some(election), ctx);
    }

    /// PREFERRED elections for partitions not led by their first replica.
    fn preferred_elections(&mut self, ctx: &mut Ctx) {
        for p in 0..self.states.len() {
            let s = &self.states[p];
            let preferred = s.replicas[0];
            if s.leader != Some(preferred) && s.isr.contains(&preferred) && self.valid(preferred) {
                let mut next = s.clone();
                next.leader = Some(preferred);
                self.apply(next, Some(Election::Preferred), ctx);
            }
        }
    }

    /// Commits a change: epochs, events, broadcast.
    fn apply(&mut self, mut next: PartitionState, election: Option<Election>, ctx: &mut Ctx) {
        let p = next.partition as usize;
        let now = ctx.now();
        let old = self.states[p].clone();
        if next == old {
            return;
        }
        next.partition_epoch = old.partition_epoch + 1;
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
        self.publish(vec![next], ctx);
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
