//! The simulation loop: builds the nodes from a scenario and runs events in `(time, seq)` order.
//!
//! `Simulation::new` builds brokers, producers and consumer-group members, the network and the
//! recorder, and lets every node start (in node order, at time 0). `step` handles exactly one
//! event; `run_until` and `run` handle every event due by a time. The read-only views
//! (`partitions`, `brokers`, `groups`, `producers`, `now`) are what a stepping UI or the book
//! shows between steps.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::actor::{Core, Ctx, NodeId, Timer};
use super::queue::EventQueue;
use super::time::{SimDuration, SimTime};
use super::trace::{Trace, TraceLevel};
use crate::client::{Consumer, Producer};
use crate::cluster::{Broker, Metadata};
use crate::metrics::Recorder;
use crate::net::Network;
use crate::protocol::Message;
use crate::scenario::Scenario;

/// Something that will happen at a point in simulated time.
#[derive(Debug)]
pub(crate) enum Event {
    /// A message reaches its destination. Boxed so that queue entries stay small: the queue
    /// moves entries on every push and pop, a message moves once.
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: Box<Message>,
    },
    /// A timer a node set fires.
    Timer { node: NodeId, timer: Timer, id: u64 },
    /// The end of a metrics interval: gauges are sampled.
    Sample,
}

// Nodes are built once and live in one Vec; boxing the big variant would add a pointer chase
// to every event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Node {
    Broker(Broker),
    Producer(Producer),
    Consumer(Consumer),
}

/// What one `step` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    pub time: SimTime,
    /// The node that handled the event (`engine` for metric samples).
    pub node: String,
    /// What happened, e.g. `ProduceRequest from checkout` or `timer Linger`.
    pub event: String,
}

/// A partition as the cluster sees it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionView {
    /// `orders-0`
    pub name: String,
    pub topic: String,
    pub partition: u32,
    pub leader: String,
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub high_watermark: u64,
}

/// A broker now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerView {
    pub name: String,
    pub leads: Vec<String>,
    pub produce_requests: u64,
    pub fetch_requests: u64,
}

/// A consumer group member now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    pub name: String,
    /// `(partition name, position)`
    pub positions: Vec<(String, u64)>,
    pub records_consumed: u64,
}

/// A consumer group now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    pub name: String,
    pub members: Vec<MemberView>,
    /// Sum over the group's partitions of log end offset − position.
    pub lag_records: u64,
}

/// A producer now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerView {
    pub name: String,
    pub records_sent: u64,
    pub requests_sent: u64,
    pub in_flight_requests: usize,
}

/// A running simulation of one scenario.
pub struct Simulation {
    scenario: Scenario,
    metadata: Rc<Metadata>,
    nodes: Vec<Node>,
    core: Core,
    now: SimTime,
    end: SimTime,
    events: u64,
}

impl Simulation {
    /// Builds the cluster, clients and network of a validated scenario (notable trace only).
    pub fn new(scenario: &Scenario) -> Simulation {
        Simulation::with_trace(scenario, TraceLevel::Notable)
    }

    /// As [`Simulation::new`], choosing how much goes into the trace.
    pub fn with_trace(scenario: &Scenario, level: TraceLevel) -> Simulation {
        let seed = scenario.seed;
        let end = SimTime::from_ms(scenario.duration_ms);
        let metadata = Rc::new(Metadata::new(scenario));
        let mut nodes = Vec::new();
        let mut names = Vec::new();
        for b in 0..scenario.cluster.brokers {
            nodes.push(Node::Broker(Broker::new(b, metadata.clone())));
            names.push(format!("broker-{b}"));
        }
        for (i, p) in scenario.producers.iter().enumerate() {
            nodes.push(Node::Producer(Producer::new(i as u32, p, &metadata, seed, end)));
            names.push(p.name.clone());
        }
        for (g, group) in scenario.consumer_groups.iter().enumerate() {
            for m in 0..group.members {
                let c = Consumer::new(g as u32, group, m, &metadata, end);
                names.push(c.name.clone());
                nodes.push(Node::Consumer(c));
            }
        }
        let net = Network::new(&names, &scenario.cluster, seed);
        let mut core = Core {
            queue: EventQueue::new(),
            net,
            recorder: Recorder::new(scenario.sample_interval_ms, scenario.duration_ms),
            trace: Trace::new(level),
            names,
            next_timer: 0,
            cancelled: BTreeSet::new(),
        };
        core.trace.line(
            SimTime::ZERO,
            "engine",
            "scenario",
            &format!(
                "name={} seed={} duration_ms={} brokers={}",
                scenario.name, seed, scenario.duration_ms, scenario.cluster.brokers
            ),
        );
        for t in &metadata.topics {
            let leaders: Vec<String> = (0..t.partitions)
                .map(|p| format!("{}-{p}@{}", t.name, metadata.leaders[(t.first + p) as usize].0))
                .collect();
            core.trace.line(
                SimTime::ZERO,
                "engine",
                "topic",
                &format!("leaders {}", leaders.join(" ")),
            );
        }
        core.queue.push(SimTime(core.recorder.interval_ns()), Event::Sample);
        let mut sim = Simulation {
            scenario: scenario.clone(),
            metadata,
            nodes,
            core,
            now: SimTime::ZERO,
            end,
            events: 0,
        };
        for i in 0..sim.nodes.len() {
            let mut ctx = Ctx::new(SimTime::ZERO, NodeId(i as u32), &mut sim.core);
            match &mut sim.nodes[i] {
                Node::Broker(_) => {}
                Node::Producer(p) => p.on_start(&mut ctx),
                Node::Consumer(c) => c.on_start(&sim.metadata, &mut ctx),
            }
        }
        sim
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// When the run ends (`duration_ms`).
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// Events handled so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Whether every event due by the end has been handled.
    pub fn is_finished(&self) -> bool {
        self.core.queue.peek_time().is_none_or(|t| t > self.end)
    }

    /// Handles the next event due by the end of the run and says what it was; `None` once the
    /// run is over.
    pub fn step(&mut self) -> Option<StepRecord> {
        let time = self.core.queue.peek_time().filter(|&t| t <= self.end)?;
        let (_, _, event) = self.core.queue.pop()?;
        let (node, what) = match &event {
            Event::Deliver { from, to, msg } => (
                self.core.names[to.index()].clone(),
                format!("{} from {}", msg.kind(), self.core.names[from.index()]),
            ),
            Event::Timer { node, timer, .. } => {
                (self.core.names[node.index()].clone(), format!("timer {}", timer.name()))
            }
            Event::Sample => ("engine".to_string(), "sample metrics".to_string()),
        };
        self.dispatch(time, event);
        Some(StepRecord {
            time,
            node,
            event: what,
        })
    }

    /// Handles every event due at or before `t` (capped at the end of the run); the clock then
    /// reads `t`.
    pub fn run_until(&mut self, t: SimTime) {
        let t = t.min(self.end);
        while let Some(time) = self.core.queue.peek_time() {
            if time > t {
                break;
            }
            let (time, _, event) = self.core.queue.pop().expect("peeked");
            self.dispatch(time, event);
        }
        self.now = self.now.max(t);
    }

    /// Runs to the end of the scenario.
    pub fn run(&mut self) {
        self.run_until(self.end);
    }

    fn dispatch(&mut self, time: SimTime, event: Event) {
        self.now = time;
        self.events += 1;
        match event {
            Event::Deliver { from, to, msg } => {
                if self.core.trace.level == TraceLevel::All {
                    let line = format!("{} from {}", msg.kind(), self.core.names[from.index()]);
                    self.core
                        .trace
                        .line(time, &self.core.names[to.index()].clone(), "deliver", &line);
                }
                let mut ctx = Ctx::new(time, to, &mut self.core);
                match &mut self.nodes[to.index()] {
                    Node::Broker(b) => b.on_message(from, *msg, &mut ctx),
                    Node::Producer(p) => p.on_message(from, *msg, &mut ctx),
                    Node::Consumer(c) => c.on_message(from, *msg, &mut ctx),
                }
            }
            Event::Timer { node, timer, id } => {
                if !self.core.cancelled.is_empty() && self.core.cancelled.remove(&id) {
                    return;
                }
                let mut ctx = Ctx::new(time, node, &mut self.core);
                match &mut self.nodes[node.index()] {
                    Node::Broker(b) => b.on_timer(timer, &mut ctx),
                    Node::Producer(p) => p.on_timer(timer, &mut ctx),
                    Node::Consumer(c) => c.on_timer(timer, &mut ctx),
                }
            }
            Event::Sample => {
                let lag = self.groups_lag();
                self.core.recorder.lag(time, lag);
                let next = time + SimDuration(self.core.recorder.interval_ns());
                if next <= self.end {
                    self.core.queue.push(next, Event::Sample);
                }
            }
        }
    }

    fn broker(&self, id: NodeId) -> &Broker {
        match &self.nodes[id.index()] {
            Node::Broker(b) => b,
            _ => unreachable!("node {} is a broker: brokers come first", id.0),
        }
    }

    fn consumers(&self) -> impl Iterator<Item = &Consumer> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Consumer(c) => Some(c),
            _ => None,
        })
    }

    fn member_lag(&self, c: &Consumer) -> u64 {
        c.assigned
            .iter()
            .zip(&c.positions)
            .map(|(&p, &pos)| self.broker(c.leader_of(p)).log(p).log_end_offset().saturating_sub(pos))
            .sum()
    }

    fn groups_lag(&self) -> u64 {
        self.consumers().map(|c| self.member_lag(c)).sum()
    }

    /// Every partition with its leader and offsets.
    pub fn partitions(&self) -> Vec<PartitionView> {
        (0..self.metadata.partition_count() as u32)
            .map(|p| {
                let topic = &self.metadata.topics[self.metadata.partition_topic[p as usize] as usize];
                let leader = self.metadata.leaders[p as usize];
                let broker = self.broker(leader);
                let log = broker.log(p);
                PartitionView {
                    name: self.metadata.partition_name(p),
                    topic: topic.name.clone(),
                    partition: p - topic.first,
                    leader: self.core.names[leader.index()].clone(),
                    log_start_offset: log.log_start_offset(),
                    log_end_offset: log.log_end_offset(),
                    high_watermark: broker.high_watermark(p),
                }
            })
            .collect()
    }

    /// Every broker with what it leads.
    pub fn brokers(&self) -> Vec<BrokerView> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                Node::Broker(b) => Some(BrokerView {
                    name: format!("broker-{}", b.id),
                    leads: (0..self.metadata.partition_count() as u32)
                        .filter(|&p| b.leads(p))
                        .map(|p| self.metadata.partition_name(p))
                        .collect(),
                    produce_requests: b.produce_requests,
                    fetch_requests: b.fetch_requests,
                }),
                _ => None,
            })
            .collect()
    }

    /// Every consumer group with its members' positions and lag.
    pub fn groups(&self) -> Vec<GroupView> {
        self.scenario
            .consumer_groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                let members: Vec<&Consumer> = self.consumers().filter(|c| c.group == g as u32).collect();
                GroupView {
                    name: group.name.clone(),
                    lag_records: members.iter().map(|c| self.member_lag(c)).sum(),
                    members: members
                        .iter()
                        .map(|c| MemberView {
                            name: c.name.clone(),
                            positions: c
                                .assigned
                                .iter()
                                .zip(&c.positions)
                                .map(|(&p, &pos)| (self.metadata.partition_name(p), pos))
                                .collect(),
                            records_consumed: c.records_consumed,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Every producer with its counters.
    pub fn producers(&self) -> Vec<ProducerView> {
        self.nodes
            .iter()
            .filter_map(|n| match n {
                Node::Producer(p) => Some(ProducerView {
                    name: p.name.clone(),
                    records_sent: p.records_sent,
                    requests_sent: p.requests_sent,
                    in_flight_requests: p.in_flight_requests(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The metrics recorded so far.
    pub fn recorder(&self) -> &Recorder {
        &self.core.recorder
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.core.trace
    }

    /// Ends the run: closes the metrics and traces the end. Returns the recorder and trace.
    pub(crate) fn finish(mut self) -> (Scenario, Recorder, Trace, Vec<PartitionView>, Vec<GroupView>, u64) {
        self.run();
        self.now = self.end;
        let partitions = self.partitions();
        let groups = self.groups();
        let t = self.end;
        let totals = self.core.recorder.totals.clone();
        self.core.trace.line(
            t,
            "engine",
            "end",
            &format!(
                "events={} produced={} acked={} consumed={}",
                self.events, totals.produced, totals.acked, totals.consumed
            ),
        );
        self.core.recorder.finish();
        (
            self.scenario,
            self.core.recorder,
            self.core.trace,
            partitions,
            groups,
            self.events,
        )
    }
}
