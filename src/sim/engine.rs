//! The simulation loop: builds the nodes from a scenario, runs events in `(time, seq)` order, and
//! applies faults.
//!
//! `Simulation::new` builds brokers, the controller, producers and consumer-group members, the
//! network and the recorder, and lets every node start (in node order, at time 0). `step`
//! handles exactly one event; `run_until` and `run` handle every event due by a time. The
//! read-only views (`partitions`, `brokers`, `groups`, `producers`, `now`) are what a stepping UI
//! or the book shows between steps.
//!
//! Faults are the engine's business, not the nodes': a crashed node receives nothing (messages
//! to it are dropped) and its old timers are ignored (each crash bumps its incarnation); a paused
//! node's events wait until the pause ends; cut links drop messages. Each fault records whether
//! it fired and what it touched.

use std::rc::Rc;

use super::actor::{Core, Ctx, NodeId, Timer};
use super::mailbox::{Mailbox, Slot};
use super::queue::EventQueue;
use super::time::{SimDuration, SimTime};
use super::trace::{Trace, TraceLevel};
use crate::check::{History, Verdicts};
use crate::client::{Consumer, Producer};
use crate::cluster::{Broker, ClusterEvent, Controller, Log, Metadata};
use crate::group::{CoordinatorHost, Groups};
use crate::metrics::Recorder;
use crate::net::Network;
use crate::protocol::{FetchBuffers, Message};
use crate::scenario::{Fault, Scenario, Target};

/// Something that will happen at a point in simulated time.
#[derive(Debug)]
pub(crate) enum Event {
    /// A message reaches its destination. The message waits in the mailbox, so that queue
    /// entries stay small: the queue moves entries on every push and pop, a message moves once.
    Deliver { from: NodeId, to: NodeId, msg: Slot },
    /// A timer a node set fires (if the node has not crashed since).
    Timer { node: NodeId, timer: Timer, incarnation: u32 },
    /// The end of a metrics interval: gauges are sampled.
    Sample,
    /// The scenario's fault number `i` fires.
    Fault(usize),
    /// A message whose handling waited for a slow disk or a busy request handler is handled now.
    AfterDisk { from: NodeId, to: NodeId, msg: Slot },
    /// A node's process exits by itself ([`Ctx::exit`]), if it has not crashed since.
    Exit { node: NodeId, incarnation: u32 },
}

// Nodes are built once and live in one Vec; boxing the big variant would add a pointer chase
// to every event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Node {
    Broker(Broker),
    Controller(Controller),
    Producer(Producer),
    Consumer(Consumer),
}

/// What one `step` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    pub time: SimTime,
    /// The node that handled the event (`engine` for metric samples and faults).
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
    /// `broker-N`, or `none` while offline.
    pub leader: String,
    pub leader_epoch: u32,
    pub replicas: Vec<u32>,
    pub isr: Vec<u32>,
    /// The leader's offsets (or, offline, the replicas' largest).
    pub log_start_offset: u64,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    /// The leader's last stable offset (the high watermark unless a transaction is open).
    pub last_stable_offset: u64,
    /// Transactions open in the leader's log.
    pub open_transactions: usize,
    /// Every replica: `(broker, alive, log end offset, high watermark)`.
    pub replica_offsets: Vec<(u32, bool, u64, u64)>,
    /// A compacted topic's partition: the records the leader's log holds (fewer than its offsets
    /// once the cleaner has run) and where its cleaner's last cleaning ended; `None` otherwise.
    pub compaction: Option<(u64, Option<u64>)>,
}

/// A controller now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerView {
    pub name: String,
    pub alive: bool,
    /// `active`, `elected (committing its epoch)`, `follower of controller-1`, `pre-voting`, ...
    pub role: String,
    /// The quorum epoch (1 without a quorum).
    pub epoch: u32,
    /// The newest metadata version it holds, and the newest it knows committed.
    pub metadata_version: u64,
    pub committed: u64,
}

/// A broker now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerView {
    pub name: String,
    pub alive: bool,
    pub leads: Vec<String>,
    /// Every partition it holds a log of, `(partition, log start offset, log end offset)`: its
    /// replicas, and a replica a reassignment removed while it was down (deleted when it learns).
    pub logs: Vec<(String, u64, u64)>,
    pub produce_requests: u64,
    pub fetch_requests: u64,
}

/// A consumer group member now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberView {
    pub name: String,
    /// Started and neither closed nor crashed.
    pub running: bool,
    /// The generation it last joined (-1: not in the group).
    pub generation: i32,
    /// `(partition name, position)`
    pub positions: Vec<(String, u64)>,
    pub records_consumed: u64,
}

/// A consumer group now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    pub name: String,
    /// `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable` or `Dead`; a KIP-848 group:
    /// `Empty`, `Assigning`, `Reconciling` or `Stable`.
    pub state: &'static str,
    pub generation: i32,
    /// The broker that coordinates it now (`None` before any member found it).
    pub coordinator: Option<String>,
    pub members: Vec<MemberView>,
    /// Sum over the group's partitions of high watermark − position (or, unowned, − committed).
    pub lag_records: u64,
}

/// A stream query now (a consumer group with `stream`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamQueryView {
    pub group: String,
    /// The member that runs it, and whether it is running.
    pub member: String,
    pub running: bool,
    /// The id the next batch gets.
    pub next_batch: u64,
    /// When the next batch may start (its trigger).
    pub next_trigger: SimTime,
    /// The watermark the last batch ran with, and the one the next will run with.
    pub watermark: Option<SimTime>,
    pub next_watermark: Option<SimTime>,
    /// Open windows: `(start, end, rows counted so far)`.
    pub open_windows: Vec<(SimTime, SimTime, u64)>,
    /// The id of the next batch as of the last checkpoint.
    pub checkpointed_next_batch: u64,
}

/// A producer now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerView {
    pub name: String,
    pub records_sent: u64,
    pub requests_sent: u64,
    pub retries_sent: u64,
    pub in_flight_requests: usize,
}

/// What a fault did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRecord {
    pub at: SimTime,
    /// The fault as written, e.g. `Crash(LeaderOf("orders", 0))`.
    pub fault: String,
    pub fired: bool,
    /// What it hit, e.g. `broker-1 (led orders-0, orders-3)`, or why it did not fire.
    pub touched: String,
    /// Messages dropped because of it (to a down node, or on a link it cut).
    pub messages_dropped: u64,
}

/// Everything the report needs from a finished run.
pub(crate) struct Finished {
    pub scenario: Scenario,
    pub recorder: Recorder,
    pub trace: Trace,
    pub partitions: Vec<PartitionView>,
    pub groups: Vec<GroupView>,
    pub events: u64,
    pub faults: Vec<FaultRecord>,
    pub cluster_events: Vec<ClusterEvent>,
    pub offline: Vec<(u32, SimTime, SimTime)>,
    pub verdicts: Verdicts,
    pub metadata: Rc<Metadata>,
    pub truncations: Vec<crate::check::TruncationEvent>,
    /// Every group's coordinator state at the end (rebalances, committed offsets, ...).
    pub group_states: Vec<crate::group::Group>,
    /// What each consume-transform-produce group's output holds.
    pub pipelines: Vec<crate::check::PipelineOutcome>,
    /// What each `Reassign` fault did to its partition.
    pub reassignments: Vec<crate::report::ReassignmentOutcome>,
    /// Every node's network interface at the end, `(node, interface)`, when they are limited.
    pub nics: Vec<(String, crate::net::Nic)>,
    /// With a controller quorum: when each controller was the active one, by start.
    pub controller_periods: Vec<crate::report::ActivePeriod>,
}

/// What the engine knows of one node beyond its actor: the event loop reads it on every
/// event, so it is one struct (one bounds check, one cache line) rather than a Vec per field.
#[derive(Clone, Debug)]
struct NodeState {
    alive: bool,
    /// Events for it wait until then (a pause fault).
    paused_until: SimTime,
    /// For a down node, the fault that took it down.
    fault: Option<usize>,
    /// Extra time each log append takes (a slow disk), and when the disk is free.
    disk_delay: SimDuration,
    disk_free: SimTime,
}

impl Default for NodeState {
    fn default() -> NodeState {
        NodeState {
            alive: true,
            paused_until: SimTime::ZERO,
            fault: None,
            disk_delay: SimDuration::ZERO,
            disk_free: SimTime::ZERO,
        }
    }
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
    /// Per node: whether it is up, paused, and its disk.
    nodes_state: Vec<NodeState>,
    /// Whether a broker's request handler may take time: broker CPU costs are set, or a slow-disk
    /// fault has come. Until then every message is handled as it arrives, with no further check.
    handler_costs: bool,
    faults: Vec<FaultRecord>,
    /// Highest leader epoch seen per partition (invariant: epochs only grow).
    seen_epochs: Vec<u32>,
    /// `(partition, leader, follower)` → offset up to which the follower's log was verified equal
    /// to the leader's (logs only grow at the end between checks unless truncated).
    verified: std::collections::BTreeMap<(u32, u32, u32), u64>,
    /// The consumer groups' coordinator state (shared with the brokers).
    groups: Groups,
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
        let heartbeat_ms = scenario.cluster.controller.broker_heartbeat_interval_ms;
        let first_member = metadata.first_client_node() + scenario.producers.len() as u32;
        let groups = crate::group::coordinator::groups_of(scenario, first_member);
        let transactions = crate::transaction::states_of(scenario);
        for b in 0..scenario.cluster.brokers {
            let host = CoordinatorHost::new(scenario, groups.clone());
            let txn = crate::transaction::TxnCoordinatorHost::new(scenario, transactions.clone(), groups.clone());
            nodes.push(Node::Broker(Broker::new(
                b,
                metadata.clone(),
                &scenario.cluster.replication,
                heartbeat_ms,
                host,
                txn,
            )));
            names.push(format!("broker-{b}"));
        }
        // The brokers' client quotas, by node (producers follow the brokers and the controller).
        let mut produce_quotas = vec![None; first_member as usize];
        for (i, p) in scenario.producers.iter().enumerate() {
            produce_quotas[metadata.first_client_node() as usize + i] = p.producer_byte_rate;
        }
        // Group members follow the producers, each group's in turn, as many as it ever has.
        let mut fetch_quotas = vec![None; first_member as usize];
        for group in &scenario.consumer_groups {
            let members = group.scale.iter().map(|s| s.members).fold(group.members, u32::max);
            fetch_quotas.extend((0..members).map(|_| group.consumer_byte_rate));
        }
        for node in &mut nodes {
            if let Node::Broker(b) = node {
                if produce_quotas.iter().any(Option::is_some) {
                    b.set_produce_quotas(&produce_quotas);
                }
                if fetch_quotas.iter().any(Option::is_some) {
                    b.set_fetch_quotas(&fetch_quotas);
                }
            }
        }
        for (i, name) in scenario.cluster.controller.node_names().into_iter().enumerate() {
            nodes.push(Node::Controller(Controller::new(
                metadata.clone(),
                &scenario.cluster.controller,
                i as u32,
                seed,
            )));
            names.push(name);
        }
        for (i, p) in scenario.producers.iter().enumerate() {
            nodes.push(Node::Producer(Producer::new(i as u32, p, &metadata, seed, end)));
            names.push(p.name.clone());
        }
        for (g, group) in scenario.consumer_groups.iter().enumerate() {
            let members = group.scale.iter().map(|s| s.members).fold(group.members, u32::max);
            let first_output = crate::scenario::pipeline::first_output_producer(scenario, g);
            for m in 0..members {
                let mut c = Consumer::new(g as u32, group, m, &metadata, seed, end);
                if let Some(first) = first_output {
                    let node = metadata.first_client_node() + (first as u32 + m);
                    c.set_output_producer(NodeId(node));
                }
                names.push(c.name.clone());
                nodes.push(Node::Consumer(c));
            }
        }
        let n = nodes.len();
        let net = Network::new(&names, &scenario.cluster, seed);
        let mut core = Core {
            queue: EventQueue::new(),
            mailbox: Mailbox::default(),
            net,
            recorder: Recorder::new(scenario.sample_interval_ms, scenario.duration_ms),
            trace: Trace::new(level),
            names,
            history: History::new(metadata.partition_count()),
            incarnation: vec![0; n],
            link_fault: vec![None; n * n],
            fault_drops: vec![0; scenario.faults.len()],
            fetch_buffers: FetchBuffers::default(),
        };
        let horizon_ms = scenario.producers.iter().map(|p| p.delivery_timeout_ms).max().unwrap_or(0);
        if scenario.consumer_groups.len() > 1 {
            core.recorder.track_group_latency(scenario.consumer_groups.len());
        }
        core.history.set_late_ack_horizon(SimDuration::from_ms(horizon_ms));
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
            let replicas: Vec<String> = (0..t.initial_partitions)
                .map(|p| format!("{}-{p}:{:?}", t.name, metadata.replicas[(t.first + p) as usize]))
                .collect();
            core.trace.line(SimTime::ZERO, "engine", "topic", &format!("replicas {}", replicas.join(" ")));
        }
        core.queue.push(SimTime(core.recorder.interval_ns()), Event::Sample);
        for (i, f) in scenario.faults.iter().enumerate() {
            core.queue.push(SimTime::from_ms(f.at_ms), Event::Fault(i));
        }
        let faults = scenario
            .faults
            .iter()
            .map(|f| FaultRecord {
                at: SimTime::from_ms(f.at_ms),
                fault: describe_fault(&f.fault),
                fired: false,
                touched: if f.at_ms > scenario.duration_ms { "after the end of the run".into() } else { String::new() },
                messages_dropped: 0,
            })
            .collect();
        let mut sim = Simulation {
            scenario: scenario.clone(),
            groups,
            seen_epochs: vec![0; metadata.partition_count()],
            verified: std::collections::BTreeMap::new(),
            metadata,
            nodes,
            core,
            now: SimTime::ZERO,
            end,
            events: 0,
            nodes_state: vec![NodeState::default(); n],
            handler_costs: scenario.cluster.broker_cpu.request_us + scenario.cluster.broker_cpu.per_kib_us > 0,
            faults,
        };
        for i in 0..sim.nodes.len() {
            let mut ctx = Ctx::new(SimTime::ZERO, NodeId(i as u32), &mut sim.core);
            match &mut sim.nodes[i] {
                Node::Broker(b) => b.on_start(&mut ctx),
                Node::Controller(c) => c.on_start(&mut ctx),
                Node::Producer(p) => p.on_start(&mut ctx),
                Node::Consumer(c) => c.on_start(&mut ctx),
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

    /// Events scheduled and not yet handled (the event queue's length).
    pub fn pending_events(&self) -> usize {
        self.core.queue.len()
    }

    /// Whether every event due by the end has been handled.
    pub fn is_finished(&self) -> bool {
        self.core.queue.peek_time().is_none_or(|t| t > self.end)
    }

    /// Handles the next event due by the end of the run and says what it was; `None` once the
    /// run is over.
    pub fn step(&mut self) -> Option<StepRecord> {
        let (time, _, event) = self.core.queue.pop_until(self.end)?;
        let (node, what) = match &event {
            Event::Deliver { from, to, msg } => (
                self.core.names[to.index()].clone(),
                format!("{} from {}", self.core.mailbox.get(*msg).kind(), self.core.names[from.index()]),
            ),
            Event::Timer { node, timer, .. } => {
                (self.core.names[node.index()].clone(), format!("timer {}", timer.name()))
            }
            Event::Sample => ("engine".to_string(), "sample metrics".to_string()),
            Event::Fault(i) => ("engine".to_string(), format!("fault {}", self.faults[*i].fault)),
            Event::Exit { node, .. } => (self.core.names[node.index()].clone(), "exit".to_string()),
            Event::AfterDisk { from, to, msg } => (
                self.core.names[to.index()].clone(),
                format!(
                    "{} from {} (after the disk)",
                    self.core.mailbox.get(*msg).kind(),
                    self.core.names[from.index()]
                ),
            ),
        };
        self.dispatch(time, event);
        Some(StepRecord { time, node, event: what })
    }

    /// Handles every event due at or before `t` (capped at the end of the run); the clock then
    /// reads `t`.
    pub fn run_until(&mut self, t: SimTime) {
        let t = t.min(self.end);
        while let Some((time, _, event)) = self.core.queue.pop_until(t) {
            self.dispatch(time, event);
        }
        self.now = self.now.max(t);
    }

    /// Runs to the end of the scenario.
    pub fn run(&mut self) {
        self.run_until(self.end);
    }

    /// Hands the message in `slot` to its node.
    fn deliver(&mut self, time: SimTime, from: NodeId, to: NodeId, slot: Slot) {
        let i = to.index();
        // Taken out of the mailbox only here, right before the handler gets it: the message is
        // moved once rather than through every caller's frame.
        let msg = self.core.mailbox.take(slot);
        if self.core.trace.level == TraceLevel::All {
            let line = format!("{} from {}", msg.kind(), self.core.names[from.index()]);
            let name = self.core.names[i].clone();
            self.core.trace.line(time, &name, "deliver", &line);
        }
        let mut ctx = Ctx::new(time, to, &mut self.core);
        match &mut self.nodes[i] {
            Node::Broker(b) => b.on_message(from, msg, &mut ctx),
            Node::Controller(c) => c.on_message(from, msg, &mut ctx),
            Node::Producer(p) => p.on_message(from, msg, &mut ctx),
            Node::Consumer(c) => c.on_message(from, msg, &mut ctx),
        }
    }

    /// Inlined into the event loop (and `step`): as a call it cost 1.6% of the benchmark's
    /// instructions in register saves and argument moves.
    #[inline(always)]
    fn dispatch(&mut self, time: SimTime, event: Event) {
        self.now = time;
        self.events += 1;
        match event {
            Event::Deliver { from, to, msg } => {
                let i = to.index();
                let state = &self.nodes_state[i];
                if !state.alive || state.paused_until > time {
                    self.deliver_later_or_drop(time, from, to, msg);
                    return;
                }
                if self.handler_costs
                    && i < self.metadata.brokers as usize
                    && let Some(done) = self.request_handler_done(i, time, msg)
                {
                    self.core.queue.push(done, Event::AfterDisk { from, to, msg });
                    return;
                }
                self.deliver(time, from, to, msg);
            }
            Event::AfterDisk { from, to, msg } => {
                if self.nodes_state[to.index()].alive {
                    self.deliver(time, from, to, msg);
                } else {
                    self.core.mailbox.take(msg);
                }
            }
            Event::Timer { node, timer, incarnation } => {
                let i = node.index();
                let state = &self.nodes_state[i];
                let (alive, paused_until) = (state.alive, state.paused_until);
                if !alive || incarnation != self.core.incarnation[i] {
                    return;
                }
                if paused_until > time {
                    self.core.queue.push(paused_until, Event::Timer { node, timer, incarnation });
                    return;
                }
                let mut ctx = Ctx::new(time, node, &mut self.core);
                match &mut self.nodes[i] {
                    Node::Broker(b) => b.on_timer(timer, &mut ctx),
                    Node::Controller(c) => c.on_timer(timer, &mut ctx),
                    Node::Producer(p) => p.on_timer(timer, &mut ctx),
                    Node::Consumer(c) => c.on_timer(timer, &mut ctx),
                }
            }
            Event::Sample => self.sample(time),
            Event::Fault(i) => self.apply_fault(i),
            Event::Exit { node, incarnation } => self.exit(node, incarnation),
        }
    }

    /// A graceful `Shutdown` ends (a broker's controlled shutdown, a consumer's `close()`): the
    /// process exits. Later requests to it are refused (connection reset) as after a crash,
    /// counted against the `Shutdown` fault.
    #[cold]
    #[inline(never)]
    fn exit(&mut self, node: NodeId, incarnation: u32) {
        let i = node.index();
        if !self.nodes_state[i].alive || incarnation != self.core.incarnation[i] {
            return;
        }
        self.nodes_state[i].alive = false;
        self.core.incarnation[i] += 1;
        let why = match &mut self.nodes[i] {
            Node::Broker(b) => {
                let held = b.held_requests();
                b.shut_down_cleanly();
                for (peer, request_id) in held {
                    self.disconnect(self.now, node, peer, request_id);
                }
                "controlled shutdown complete: the process exits cleanly"
            }
            _ => "closed: the process exits",
        };
        let name = self.core.names[i].clone();
        self.core.trace.line(self.now, &name, "exit", why);
    }

    /// A message for a node that is down (dropped) or paused (it waits for the pause to end).
    /// Out of line: the event loop's common path stays small.
    #[cold]
    #[inline(never)]
    fn deliver_later_or_drop(&mut self, time: SimTime, from: NodeId, to: NodeId, slot: Slot) {
        let i = to.index();
        if !self.nodes_state[i].alive {
            let msg = self.core.mailbox.take(slot);
            if let Some(f) = self.nodes_state[i].fault {
                self.core.fault_drops[f] += 1;
                self.reset_connection(f, time, from, to, &msg);
            }
            return;
        }
        self.core.queue.push(self.nodes_state[i].paused_until, Event::Deliver { from, to, msg: slot });
    }

    /// When broker `i`'s request handler (and disk) is done with the message in `slot`, if it
    /// takes any time: one request handler per broker, so requests queue, each taking its CPU
    /// cost and, on a slow disk, the extra append time. `None`: it is handled now.
    fn request_handler_done(&mut self, i: usize, time: SimTime, slot: Slot) -> Option<SimTime> {
        let message = self.core.mailbox.get(slot);
        let appends = matches!(message, Message::ProduceRequest { .. } | Message::FetchResponse { .. });
        let cpu = self.scenario.cluster.broker_cpu;
        let handling = match message {
            Message::ProduceRequest { .. } if cpu.request_us + cpu.per_kib_us > 0 => {
                SimDuration::from_us(cpu.request_us) + SimDuration(message.size_bytes() * cpu.per_kib_us * 1000 / 1024)
            }
            _ => SimDuration::ZERO,
        };
        let cost = handling + if appends { self.nodes_state[i].disk_delay } else { SimDuration::ZERO };
        if cost == SimDuration::ZERO {
            return None;
        }
        let disk_free = &mut self.nodes_state[i].disk_free;
        let done = (*disk_free).max(time) + cost;
        *disk_free = done;
        Some(done)
    }

    /// The end of a metrics interval: every group's offsets and lag, every replica's offsets.
    #[cold]
    #[inline(never)]
    fn sample(&mut self, time: SimTime) {
        let interval = self.core.recorder.interval_ending(time);
        let mut lag = 0;
        for g in 0..self.scenario.consumer_groups.len() as u32 {
            for (partition, committed, position, high_watermark) in self.group_offsets(g) {
                lag += position.or(committed).map_or(0, |c| high_watermark.saturating_sub(c));
                self.core.recorder.groups.offsets.push(crate::metrics::GroupOffsetSample {
                    interval,
                    group: g,
                    partition,
                    committed,
                    position,
                    high_watermark,
                });
            }
        }
        self.core.recorder.lag(time, lag);
        self.sample_replicas(time);
        self.sample_nics(time, interval);
        let next = time + SimDuration(self.core.recorder.interval_ns());
        if next <= self.end {
            self.core.queue.push(next, Event::Sample);
        }
    }

    /// A request reached a node whose process crashed: its host is still up, so the kernel
    /// resets the connection and the sender learns of it one link latency later (a power loss,
    /// or a cut link, gives no such signal: the sender waits for its request timeout).
    fn reset_connection(&mut self, fault: usize, time: SimTime, from: NodeId, to: NodeId, msg: &Message) {
        let (Fault::Crash(_) | Fault::Shutdown(_), Some(request_id)) =
            (&self.scenario.faults[fault].fault, msg.request_id())
        else {
            return;
        };
        self.disconnect(time, to, from, request_id);
    }

    /// The connection between a process that ended and `peer` closes: `peer`'s request
    /// `request_id` fails with a disconnect one link latency later (if the link is up).
    fn disconnect(&mut self, time: SimTime, ended: NodeId, peer: NodeId, request_id: u64) {
        if let Some(at) = self.core.net.route(ended.index(), peer.index(), time, || 64) {
            let msg = self.core.mailbox.put(Message::Disconnected { request_id });
            self.core.queue.push(at, Event::Deliver { from: ended, to: peer, msg });
        }
    }

    /// Records what every broker's network interface has sent, when interfaces are limited (a
    /// broker a `SlowNic` fault slowed has one from then on).
    fn sample_nics(&mut self, time: SimTime, interval: u32) {
        for b in 0..self.metadata.brokers {
            if let Some((busy_ns, bytes_sent)) = self.core.net.nic_sample(b as usize, time) {
                let sample = crate::metrics::NicSample { interval, broker: b, busy_ns, bytes_sent };
                self.core.recorder.nics.push(sample);
            }
        }
    }

    /// Records every replica's log end offset and high watermark (for offsets.csv and charts).
    fn sample_replicas(&mut self, time: SimTime) {
        let interval = self.core.recorder.interval_ending(time);
        // Straight into the recorder: a temporary Vec here was the run's largest regular
        // allocation, and each one made glibc consolidate every small free chunk.
        let Node::Controller(controller) = &self.nodes[self.active_controller_node()] else {
            unreachable!("the controller follows the brokers")
        };
        // Compacted partitions: what the leader's log holds (records, bytes) against its offsets.
        for s in &controller.states {
            let topic = self.metadata.topic_of(s.partition);
            let (Some(_), Some(leader)) = (topic.compaction, s.leader) else { continue };
            let Node::Broker(broker) = &self.nodes[leader as usize] else { unreachable!("brokers come first") };
            let log = &broker.replicas[s.partition as usize].log;
            let keys = || log.batches().flat_map(|b| b.batch.keys().iter());
            let distinct: std::collections::BTreeSet<u64> = keys().map(|k| k & !crate::protocol::TOMBSTONE).collect();
            self.core.recorder.log_sizes.push(crate::metrics::LogSizeSample {
                at: time,
                partition: s.partition,
                keys: distinct.len() as u64,
                tombstones: keys().filter(|&&k| k & crate::protocol::TOMBSTONE != 0).count() as u64,
                records: log.batches().map(|b| b.batch.record_count()).sum(),
                log_start_offset: log.log_start_offset(),
                log_end_offset: log.log_end_offset(),
                size_bytes: log.size_bytes(),
            });
        }
        let samples = &mut self.core.recorder.replicas;
        for s in &controller.states {
            for &b in &s.replicas {
                let Node::Broker(broker) = &self.nodes[b as usize] else { unreachable!("brokers come first") };
                let r = &broker.replicas[s.partition as usize];
                samples.push(crate::metrics::ReplicaSample {
                    interval,
                    partition: s.partition,
                    broker: b,
                    alive: self.nodes_state[b as usize].alive,
                    leader: s.leader == Some(b),
                    log_start_offset: r.log.log_start_offset(),
                    log_end_offset: r.log.log_end_offset(),
                    high_watermark: r.high_watermark,
                    last_stable_offset: r.log.last_stable_offset(r.high_watermark),
                    isr_size: s.isr.len() as u32,
                });
            }
        }
    }

    // ----- faults ----------------------------------------------------------------------------

    /// An operator's request about `topic`-`p` to the controller, which publishes what it changed.
    fn on_controller(
        &mut self,
        now: SimTime,
        topic: &str,
        p: u32,
        request: impl FnOnce(&mut Controller, u32, &mut Ctx) -> Result<String, String>,
    ) -> Result<String, String> {
        let Some(t) = self.metadata.topic_index(topic) else { return Err(format!("no topic {topic:?}")) };
        let partition = self.metadata.topics[t].first + p;
        let controller = self.acting_controller()?;
        let mut ctx = Ctx::new(now, controller, &mut self.core);
        match &mut self.nodes[controller.index()] {
            Node::Controller(c) => {
                let done = request(c, partition, &mut ctx);
                c.publish_now(&mut ctx);
                done
            }
            _ => Err("no controller".into()),
        }
    }

    /// The controller whose state is the cluster's: the only one, or the quorum's active
    /// controller (while there is none, the one that was last, or that holds the newest version).
    fn controller(&self) -> &Controller {
        match &self.nodes[self.active_controller_node()] {
            Node::Controller(c) => c,
            _ => unreachable!("the controller follows the brokers"),
        }
    }

    fn controllers(&self) -> impl Iterator<Item = (usize, &Controller)> {
        let first = self.metadata.controller_node().index();
        (first..first + self.metadata.controllers as usize).map(move |i| match &self.nodes[i] {
            Node::Controller(c) => (i, c),
            _ => unreachable!("the controllers follow the brokers"),
        })
    }

    /// The node of [`Simulation::controller`].
    fn active_controller_node(&self) -> usize {
        let rank = |(i, c): &(usize, &Controller)| match &c.quorum {
            None => (true, 0, 0, 0),
            Some(q) => (self.nodes_state[*i].alive && q.active, q.last_epoch, c.metadata_version(), u32::MAX - q.me),
        };
        self.controllers().max_by_key(rank).map(|(i, _)| i).expect("at least one controller")
    }

    /// The controller an operator's request reaches now: the active one, if it is up.
    fn acting_controller(&self) -> Result<NodeId, String> {
        let node = self.active_controller_node();
        match self.controllers().any(|(i, c)| i == node && c.is_active()) && self.nodes_state[node].alive {
            true => Ok(NodeId(node as u32)),
            false => Err("no active controller (the quorum is electing one): the request failed".into()),
        }
    }

    /// The producer a consume-transform-produce member owns (the same process).
    fn output_producer_of(&self, node: usize) -> Option<usize> {
        match &self.nodes[node] {
            Node::Consumer(c) => c.output_producer().map(NodeId::index),
            _ => None,
        }
    }

    fn broker(&self, b: u32) -> &Broker {
        match &self.nodes[b as usize] {
            Node::Broker(x) => x,
            _ => unreachable!("brokers come first"),
        }
    }

    /// The node a target names now, or why there is none.
    fn resolve(&self, t: &Target) -> Result<usize, String> {
        let by_partition = |topic: &str, p: u32| {
            self.metadata
                .global_partition(topic, p)
                .map(|g| &self.controller().states[g as usize])
                .ok_or_else(|| format!("no partition {topic}-{p}"))
        };
        match t {
            Target::Broker(b) if *b < self.metadata.brokers => Ok(*b as usize),
            Target::Broker(b) => Err(format!("no broker-{b}")),
            Target::Controller => Ok(self.active_controller_node()),
            Target::Node(name) => {
                self.core.names.iter().position(|n| n == name).ok_or_else(|| format!("no node named {name:?}"))
            }
            Target::LeaderOf(topic, p) => {
                let s = by_partition(topic, *p)?;
                s.leader.map(|l| l as usize).ok_or_else(|| format!("{topic}-{p} has no leader"))
            }
            Target::FollowerOf(topic, p) => {
                let s = by_partition(topic, *p)?;
                s.replicas
                    .iter()
                    .find(|&&b| Some(b) != s.leader && s.isr.contains(&b))
                    .map(|&b| b as usize)
                    .ok_or_else(|| format!("{topic}-{p} has no in-sync follower"))
            }
            Target::FollowerOutOfIsr(topic, p) => {
                let s = by_partition(topic, *p)?;
                s.replicas
                    .iter()
                    .find(|b| !s.isr.contains(b))
                    .map(|&b| b as usize)
                    .ok_or_else(|| format!("every replica of {topic}-{p} is in sync"))
            }
        }
    }

    /// What a broker is doing now, for fault records: `broker-1 (leads orders-0; follows orders-1)`.
    fn broker_roles(&self, b: u32) -> String {
        let states = &self.controller().states;
        let leads: Vec<String> =
            states.iter().filter(|s| s.leader == Some(b)).map(|s| self.metadata.partition_name(s.partition)).collect();
        let follows: Vec<String> = states
            .iter()
            .filter(|s| s.leader != Some(b) && s.isr.contains(&b))
            .map(|s| self.metadata.partition_name(s.partition))
            .collect();
        let mut parts = Vec::new();
        if !leads.is_empty() {
            parts.push(format!("led {}", leads.join(", ")));
        }
        if !follows.is_empty() {
            parts.push(format!("in sync for {}", follows.join(", ")));
        }
        if parts.is_empty() { format!("broker-{b}") } else { format!("broker-{b} ({})", parts.join("; ")) }
    }

    fn cut(&mut self, a: usize, b: usize, fault: usize) {
        let n = self.core.net.nodes();
        self.core.net.set_cut(a, b, true);
        self.core.link_fault[a * n + b] = Some(fault);
    }

    #[cold]
    #[inline(never)]
    fn apply_fault(&mut self, i: usize) {
        let fault = self.scenario.faults[i].fault.clone();
        let now = self.now;
        let result: Result<String, String> = match &fault {
            Fault::Crash(t) | Fault::PowerLoss(t) => self.resolve(t).and_then(|node| {
                if !self.nodes_state[node].alive {
                    return Err(format!("{} is already down", self.core.names[node]));
                }
                if matches!(self.nodes[node], Node::Controller(_)) && self.metadata.controllers == 1 {
                    return Err(
                        "a single controller does not fail in this model (set cluster.controller.quorum_voters to 3)"
                            .into(),
                    );
                }
                let power = matches!(fault, Fault::PowerLoss(_));
                let touched = match node < self.metadata.brokers as usize {
                    true => self.broker_roles(node as u32),
                    false => self.core.names[node].clone(),
                };
                self.nodes_state[node].alive = false;
                self.core.incarnation[node] += 1;
                self.nodes_state[node].fault = Some(i);
                // A consume-transform-produce member's producer is in the same process.
                let touched = match self.output_producer_of(node) {
                    Some(p) => {
                        self.nodes_state[p].alive = false;
                        self.core.incarnation[p] += 1;
                        self.nodes_state[p].fault = Some(i);
                        format!("{touched} and {}", self.core.names[p])
                    }
                    None => touched,
                };
                // A process crash closes its connections (the host's kernel does); a power loss
                // gives no signal.
                if let (Node::Broker(b), false) = (&self.nodes[node], power) {
                    for (peer, request_id) in b.held_requests() {
                        self.disconnect(now, NodeId(node as u32), peer, request_id);
                    }
                }
                let dropped = match &mut self.nodes[node] {
                    Node::Broker(b) => b.crash(power, now),
                    Node::Consumer(c) => {
                        let mut ctx = Ctx::new(now, NodeId(node as u32), &mut self.core);
                        c.crash(&mut ctx);
                        Vec::new()
                    }
                    Node::Controller(c) => {
                        c.quorum_crashed(now);
                        Vec::new()
                    }
                    _ => Vec::new(),
                };
                let lost: u64 = dropped.iter().map(|t| t.records_removed).sum();
                for t in dropped {
                    self.core.history.truncated(t);
                }
                Ok(if power { format!("{touched}; {lost} records not yet on disk lost") } else { touched })
            }),
            Fault::Shutdown(t) => self.resolve(t).and_then(|node| {
                if !matches!(self.nodes[node], Node::Broker(_) | Node::Consumer(_)) {
                    return Err(format!("{} is neither a broker nor a consumer", self.core.names[node]));
                }
                if !self.nodes_state[node].alive {
                    return Err(format!("{} is already down", self.core.names[node]));
                }
                let touched = match node < self.metadata.brokers as usize {
                    true => format!("{}: controlled shutdown requested", self.broker_roles(node as u32)),
                    false => format!("{}: close() requested", self.core.names[node]),
                };
                // The fault the exit will be counted against (refused requests, dropped messages).
                self.nodes_state[node].fault = Some(i);
                let mut ctx = Ctx::new(now, NodeId(node as u32), &mut self.core);
                match &mut self.nodes[node] {
                    Node::Broker(b) => b.begin_controlled_shutdown(&mut ctx),
                    Node::Consumer(c) => c.shutdown(&mut ctx),
                    _ => {}
                }
                Ok(touched)
            }),
            Fault::Restart(t) => self.resolve(t).and_then(|node| {
                if self.nodes_state[node].alive {
                    return Err(format!("{} is running", self.core.names[node]));
                }
                if !matches!(self.nodes[node], Node::Broker(_) | Node::Consumer(_) | Node::Controller(_)) {
                    return Err("only brokers, controllers and consumers restart in this model".into());
                }
                // A consume-transform-produce member's producer is in the same process: it
                // starts again first (its InitProducerId fences the crashed one's).
                let producer = self.output_producer_of(node);
                if let Some(p) = producer {
                    self.nodes_state[p].alive = true;
                    self.nodes_state[p].fault = None;
                    let mut ctx = Ctx::new(now, NodeId(p as u32), &mut self.core);
                    if let Node::Producer(pr) = &mut self.nodes[p] {
                        pr.restart(&mut ctx);
                    }
                }
                self.nodes_state[node].alive = true;
                self.nodes_state[node].fault = None;
                let mut ctx = Ctx::new(now, NodeId(node as u32), &mut self.core);
                match &mut self.nodes[node] {
                    Node::Broker(b) => b.restart(&mut ctx),
                    Node::Consumer(c) => c.restart(&mut ctx),
                    Node::Controller(c) => c.quorum_restart(&mut ctx),
                    _ => {}
                }
                Ok(match producer {
                    Some(p) => format!("{} and {} restarted", self.core.names[node], self.core.names[p]),
                    None => format!("{} restarted", self.core.names[node]),
                })
            }),
            Fault::Pause(t, ms) => self.resolve(t).map(|node| {
                self.nodes_state[node].paused_until = now + SimDuration::from_ms(*ms);
                if let Some(p) = self.output_producer_of(node) {
                    self.nodes_state[p].paused_until = now + SimDuration::from_ms(*ms);
                }
                format!("{} paused until {}", self.core.names[node], self.nodes_state[node].paused_until)
            }),
            Fault::Isolate(t) => self.resolve(t).map(|node| {
                for other in 0..self.core.net.nodes() {
                    if other != node {
                        self.cut(node, other, i);
                        self.cut(other, node, i);
                    }
                }
                match node < self.metadata.brokers as usize {
                    true => format!("{} cut off from every node", self.broker_roles(node as u32)),
                    false => format!("{} cut off from every node", self.core.names[node]),
                }
            }),
            Fault::CutOff(t, others) => self.resolve(t).and_then(|node| {
                let mut names = Vec::new();
                for o in others {
                    let other = self.resolve(o)?;
                    self.cut(node, other, i);
                    self.cut(other, node, i);
                    names.push(self.core.names[other].clone());
                }
                let who = match node < self.metadata.brokers as usize {
                    true => self.broker_roles(node as u32),
                    false => self.core.names[node].clone(),
                };
                Ok(format!("{who} cut off from {}", names.join(", ")))
            }),
            Fault::Split(groups) => {
                let mut side = vec![0usize; self.core.net.nodes()];
                let mut err = None;
                for (g, members) in groups.iter().enumerate() {
                    for m in members {
                        match self.resolve(m) {
                            Ok(node) => side[node] = g,
                            Err(e) => err = Some(e),
                        }
                    }
                }
                match err {
                    Some(e) => Err(e),
                    None => {
                        for a in 0..side.len() {
                            for b in 0..side.len() {
                                if side[a] != side[b] {
                                    self.cut(a, b, i);
                                }
                            }
                        }
                        let sides: Vec<String> = (0..groups.len())
                            .map(|g| {
                                let names: Vec<&str> = (0..side.len())
                                    .filter(|&n| side[n] == g)
                                    .map(|n| self.core.names[n].as_str())
                                    .collect();
                                format!("{{{}}}", names.join(", "))
                            })
                            .collect();
                        Ok(format!("split into {}", sides.join(" | ")))
                    }
                }
            }
            Fault::CutLink(a, b) => self.resolve(a).and_then(|a| {
                let b = self.resolve(b)?;
                self.cut(a, b, i);
                Ok(format!("{} → {} cut", self.core.names[a], self.core.names[b]))
            }),
            Fault::SlowLink(a, b, us) => self.resolve(a).and_then(|a| {
                let b = self.resolve(b)?;
                self.core.net.set_extra_latency(a, b, *us);
                self.core.net.set_extra_latency(b, a, *us);
                Ok(format!("{} ↔ {} +{us} µs", self.core.names[a], self.core.names[b]))
            }),
            Fault::DropMessages(a, b, fraction) => self.resolve(a).and_then(|a| {
                let b = self.resolve(b)?;
                self.core.net.set_drop_fraction(a, b, *fraction);
                self.core.net.set_drop_fraction(b, a, *fraction);
                Ok(format!("{} ↔ {} drops {:.0}%", self.core.names[a], self.core.names[b], fraction * 100.0))
            }),
            Fault::SlowDisk(t, ms) => self.resolve(t).and_then(|node| {
                if node >= self.metadata.brokers as usize {
                    return Err(format!("{} has no log", self.core.names[node]));
                }
                self.nodes_state[node].disk_delay = SimDuration::from_ms(*ms);
                self.handler_costs = true;
                Ok(match ms {
                    0 => format!("{} disk back to normal", self.broker_roles(node as u32)),
                    _ => format!("{}: every append takes {ms} ms more", self.broker_roles(node as u32)),
                })
            }),
            Fault::SlowNic(t, mbps) => self.resolve(t).map(|node| {
                let speed = if *mbps == 0 { self.scenario.cluster.network.nic_mbps } else { Some(*mbps) };
                self.core.net.set_nic_speed(node, speed);
                let name = &self.core.names[node];
                match speed {
                    Some(m) => format!("{name}'s network interface sends {m} Mbit/s"),
                    None => format!("{name}'s network interface unlimited again"),
                }
            }),
            Fault::SlowProcessing(t, us) => self.resolve(t).and_then(|node| match &mut self.nodes[node] {
                Node::Consumer(c) => {
                    c.set_processing_us(*us);
                    Ok(format!("{} now takes {us} µs per record", self.core.names[node]))
                }
                _ => Err(format!("{} is not a consumer", self.core.names[node])),
            }),
            Fault::CreatePartitions(topic, total) => match self.metadata.topic_index(topic) {
                Some(t) => self.acting_controller().and_then(|controller| {
                    let mut ctx = Ctx::new(now, controller, &mut self.core);
                    match &mut self.nodes[controller.index()] {
                        Node::Controller(c) => {
                            let done = c.create_partitions(t, *total, &mut ctx);
                            c.publish_now(&mut ctx);
                            done
                        }
                        _ => Err("no controller".into()),
                    }
                }),
                None => Err(format!("no topic {topic:?}")),
            },
            Fault::Reassign(topic, p, replicas) => {
                self.on_controller(now, topic, *p, |c, partition, ctx| c.reassign(partition, replicas, false, ctx))
            }
            Fault::ReassignAdditional(topic, p, replicas) => {
                self.on_controller(now, topic, *p, |c, partition, ctx| c.reassign(partition, replicas, true, ctx))
            }
            Fault::CancelReassignment(topic, p) => {
                self.on_controller(now, topic, *p, |c, partition, ctx| c.cancel_reassignment(partition, ctx))
            }
            Fault::Heal => {
                self.core.net.heal();
                let cuts = self.core.link_fault.iter().filter(|f| f.is_some()).count();
                self.core.link_fault.iter_mut().for_each(|f| *f = None);
                Ok(format!("network healed ({cuts} cut directed links restored)"))
            }
        };
        let record = &mut self.faults[i];
        match result {
            Ok(touched) => {
                record.fired = true;
                record.touched = touched;
            }
            Err(why) => record.touched = format!("did not fire: {why}"),
        }
        let line = format!("{} → {}", record.fault, record.touched);
        self.core.trace.line(now, "engine", "fault", &line);
    }

    // ----- views -------------------------------------------------------------------------------

    fn consumers(&self) -> impl Iterator<Item = &Consumer> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Consumer(c) => Some(c),
            _ => None,
        })
    }

    /// A partition's high watermark now (its leader's; `None` while offline).
    fn high_watermark(&self, p: u32) -> Option<u64> {
        self.controller().states[p as usize].leader.map(|l| self.broker(l).replicas[p as usize].high_watermark)
    }

    /// Per partition of group `g`'s topics: `(partition, committed, owner's position, HW)`.
    fn group_offsets(&self, g: u32) -> Vec<(u32, Option<u64>, Option<u64>, u64)> {
        let groups = self.groups.borrow();
        let state = &groups[g as usize];
        let mut out = Vec::new();
        for t in &self.scenario.consumer_groups[g as usize].topics {
            let Some(ti) = self.metadata.topic_index(t) else { continue };
            let meta = &self.metadata.topics[ti];
            // (Not the partitions an operator has still to create.)
            let existing =
                (meta.first..meta.first + meta.partitions).filter(|&p| self.controller().states[p as usize].exists());
            for p in existing {
                let committed = state.committed.binary_search_by_key(&p, |c| c.0).ok().map(|i| state.committed[i].1);
                let position = self
                    .consumers()
                    .filter(|c| c.group == g && c.is_running())
                    .find_map(|c| c.positions().find(|&(q, _)| q == p).and_then(|(_, pos)| pos));
                let hw = self.high_watermark(p).unwrap_or(0);
                out.push((p, committed, position, hw));
            }
        }
        out
    }

    /// A group's lag: the consumer's `records-lag` (high watermark − position) summed over its
    /// partitions; an unowned partition counts from its committed offset (what
    /// `kafka-consumer-groups` shows), a partition with neither not at all.
    fn group_lag(&self, g: u32) -> u64 {
        self.group_offsets(g)
            .iter()
            .map(|&(_, committed, position, hw)| position.or(committed).map_or(0, |c| hw.saturating_sub(c)))
            .sum()
    }

    /// Every partition with its leader, ISR and offsets.
    pub fn partitions(&self) -> Vec<PartitionView> {
        self.controller()
            .states
            .iter()
            .filter(|s| s.exists()) // not those an operator has still to create
            .map(|s| {
                let p = s.partition;
                let topic = self.metadata.topic_of(p);
                let replica_offsets: Vec<(u32, bool, u64, u64)> = s
                    .replicas
                    .iter()
                    .map(|&b| {
                        let r = &self.broker(b).replicas[p as usize];
                        (b, self.nodes_state[b as usize].alive, r.log.log_end_offset(), r.high_watermark)
                    })
                    .collect();
                let (start, leo, hw, lso, open) = match s.leader {
                    Some(l) => {
                        let r = &self.broker(l).replicas[p as usize];
                        let lso = r.log.last_stable_offset(r.high_watermark);
                        let open = r.log.txns().open_transactions();
                        (r.log.log_start_offset(), r.log.log_end_offset(), r.high_watermark, lso, open)
                    }
                    None => {
                        let leo = replica_offsets.iter().map(|r| r.2).max().unwrap_or(0);
                        let hw = replica_offsets.iter().map(|r| r.3).max().unwrap_or(0);
                        (0, leo, hw, hw, 0)
                    }
                };
                PartitionView {
                    name: self.metadata.partition_name(p),
                    topic: topic.name.clone(),
                    partition: p - topic.first,
                    leader: s.leader.map_or("none".to_string(), |l| format!("broker-{l}")),
                    leader_epoch: s.leader_epoch,
                    replicas: s.replicas.clone(),
                    isr: s.isr.clone(),
                    log_start_offset: start,
                    log_end_offset: leo,
                    high_watermark: hw,
                    last_stable_offset: lso,
                    open_transactions: open,
                    replica_offsets,
                    compaction: topic.compaction.and(s.leader).map(|l| {
                        let r = &self.broker(l).replicas[p as usize];
                        (r.log.batches().map(|b| b.batch.record_count()).sum(), r.cleaner_checkpoint())
                    }),
                }
            })
            .collect()
    }

    /// Every controller: its place in the quorum and the metadata it holds.
    pub fn controller_views(&self) -> Vec<ControllerView> {
        self.controllers()
            .map(|(i, c)| {
                let version = c.metadata_version();
                let (role, epoch, committed) = match &c.quorum {
                    None => ("active (the only controller)".to_string(), 1, version),
                    Some(q) => {
                        let role = match &q.role {
                            crate::cluster::Role::Leader if q.active => "active".to_string(),
                            crate::cluster::Role::Leader => "elected (committing its epoch)".to_string(),
                            crate::cluster::Role::Follower { leader: Some(l) } => format!("follower of controller-{l}"),
                            crate::cluster::Role::Follower { leader: None } => "follower (no leader known)".to_string(),
                            crate::cluster::Role::Nominee { pre_vote: true, .. } => "pre-voting".to_string(),
                            crate::cluster::Role::Nominee { .. } => "candidate".to_string(),
                        };
                        (role, q.epoch, q.committed.min(version))
                    }
                };
                let alive = self.nodes_state[i].alive;
                ControllerView {
                    name: self.core.names[i].clone(),
                    alive,
                    role: if alive { role } else { "-".to_string() },
                    epoch,
                    metadata_version: version,
                    committed,
                }
            })
            .collect()
    }

    /// Every broker with what it leads.
    pub fn brokers(&self) -> Vec<BrokerView> {
        (0..self.metadata.brokers)
            .map(|b| {
                let broker = self.broker(b);
                BrokerView {
                    name: format!("broker-{b}"),
                    alive: self.nodes_state[b as usize].alive,
                    leads: (0..self.metadata.partition_count() as u32)
                        .filter(|&p| broker.leads(p))
                        .map(|p| self.metadata.partition_name(p))
                        .collect(),
                    logs: (0..self.metadata.partition_count())
                        .filter_map(|p| {
                            let log = &broker.replicas[p].log;
                            let hosted = self.controller().states[p].replicas.contains(&b) || log.log_end_offset() > 0;
                            hosted.then(|| {
                                (self.metadata.partition_name(p as u32), log.log_start_offset(), log.log_end_offset())
                            })
                        })
                        .collect(),
                    produce_requests: broker.stats.produce_requests,
                    fetch_requests: broker.stats.fetch_requests,
                }
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
                let state = self.groups.borrow();
                let state = &state[g];
                GroupView {
                    name: group.name.clone(),
                    state: state.state_name(),
                    generation: state.generation,
                    coordinator: state.owner.map(|b| format!("broker-{b}")),
                    lag_records: self.group_lag(g as u32),
                    members: members
                        .iter()
                        .map(|c| MemberView {
                            name: c.name.clone(),
                            running: c.is_running(),
                            generation: c.generation,
                            positions: c
                                .positions()
                                .filter_map(|(p, pos)| pos.map(|pos| (self.metadata.partition_name(p), pos)))
                                .collect(),
                            records_consumed: c.records_consumed,
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Every stream query with its state: watermark, open windows, next trigger.
    pub fn stream_queries(&self) -> Vec<StreamQueryView> {
        self.consumers()
            .filter_map(|c| {
                let q = c.stream_query()?;
                let window_ns = self.scenario.consumer_groups[c.group as usize].stream.as_ref()?.window_ms * 1_000_000;
                Some(StreamQueryView {
                    group: self.scenario.consumer_groups[c.group as usize].name.clone(),
                    member: c.name.clone(),
                    running: c.is_running(),
                    next_batch: q.state.batch_id,
                    next_trigger: q.next_trigger(),
                    watermark: q.state.watermark,
                    next_watermark: q.watermark_for_next_batch(),
                    open_windows: q
                        .state
                        .windows
                        .iter()
                        .map(|(&start, &n)| (SimTime(start), SimTime(start + window_ns), n))
                        .collect(),
                    checkpointed_next_batch: q.checkpoint.batch_id,
                })
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
                    retries_sent: p.retries_sent,
                    in_flight_requests: p.in_flight_requests(),
                }),
                _ => None,
            })
            .collect()
    }

    /// What each fault did so far.
    pub fn faults(&self) -> Vec<FaultRecord> {
        let mut out = self.faults.clone();
        for (i, f) in out.iter_mut().enumerate() {
            f.messages_dropped = self.core.fault_drops[i];
        }
        out
    }

    /// The metrics recorded so far.
    pub fn recorder(&self) -> &Recorder {
        &self.core.recorder
    }

    /// The trace so far.
    pub fn trace(&self) -> &Trace {
        &self.core.trace
    }

    // ----- invariants --------------------------------------------------------------------------

    /// Checks what Kafka guarantees at every instant (kafka-reference §3.4, §3.8): high watermark
    /// ≤ log end offset on every live replica, the leader is in the ISR, leader epochs only grow,
    /// every live in-sync replica holds the leader's committed prefix, and no consumer was served
    /// records above the high watermark. Returns violations.
    pub fn check_invariants(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut verified = Vec::new();
        let states = self.controller().states.clone();
        for s in &states {
            let p = s.partition;
            let name = self.metadata.partition_name(p);
            for &b in &s.replicas {
                let r = &self.broker(b).replicas[p as usize];
                if self.nodes_state[b as usize].alive && r.high_watermark > r.log.log_end_offset() {
                    out.push(format!("{name}: broker-{b} hw {} > leo {}", r.high_watermark, r.log.log_end_offset()));
                }
            }
            if let Some(l) = s.leader
                && !s.isr.contains(&l)
            {
                out.push(format!("{name}: leader broker-{l} not in isr {:?}", s.isr));
            }
            if s.leader_epoch < self.seen_epochs[p as usize] {
                out.push(format!("{name}: leader epoch went back to {}", s.leader_epoch));
            }
            self.seen_epochs[p as usize] = s.leader_epoch;
            let Some(l) = s.leader else { continue };
            if !self.nodes_state[l as usize].alive || !self.broker(l).leads(p) {
                continue;
            }
            let leader = &self.broker(l).replicas[p as usize];
            for &m in &s.isr {
                if m == l || !self.nodes_state[m as usize].alive {
                    continue;
                }
                let follower = &self.broker(m).replicas[p as usize];
                let upto = leader.high_watermark.min(follower.log.log_end_offset());
                let key = (p, l, m);
                let mut from = self.verified.get(&key).copied().unwrap_or(0);
                if from > leader.log.log_end_offset() || from > follower.log.log_end_offset() {
                    from = 0; // a log was truncated below what we verified: check again
                }
                let compacted = self.metadata.topic_of(p).compaction.is_some();
                match first_difference(&leader.log, &follower.log, from, upto, compacted) {
                    Some(offset) => out.push(format!(
                        "{name}: in-sync broker-{m} differs from leader broker-{l} at offset {offset} below hw"
                    )),
                    None => verified.push((key, upto.max(from))),
                }
            }
        }
        self.verified.extend(verified);
        // Raft's election safety: at most one leader per quorum epoch.
        let mut leaders: Vec<(u32, usize)> = self
            .controllers()
            .filter_map(|(i, c)| c.quorum.as_ref().filter(|q| q.is_leader()).map(|q| (q.epoch, i)))
            .collect();
        leaders.sort_unstable();
        for w in leaders.windows(2).filter(|w| w[0].0 == w[1].0) {
            out.push(format!(
                "two controllers lead quorum epoch {}: {} and {}",
                w[0].0, self.core.names[w[0].1], self.core.names[w[1].1]
            ));
        }
        for c in self.consumers() {
            for &(p, end, hw) in &c.read_past_high_watermark {
                let name = self.metadata.partition_name(p);
                out.push(format!("{name}: {} fetched up to offset {end} above the high watermark {hw}", c.name));
            }
        }
        out
    }

    /// Ends the run: closes the metrics, checks the records, traces the end.
    pub(crate) fn finish(mut self) -> Finished {
        self.run();
        self.now = self.end;
        let partitions = self.partitions();
        let groups = self.groups();
        let t = self.end;
        let faults = self.faults();
        let controller = self.controller();
        // With a quorum, each active controller recorded what it changed in its time.
        let mut cluster_events: Vec<ClusterEvent> = self.controllers().flat_map(|(_, c)| c.events.clone()).collect();
        cluster_events.sort_by_key(ClusterEvent::at);
        let mut offline = controller.offline_intervals(t);
        for (i, c) in self.controllers() {
            if i != self.active_controller_node() {
                offline.extend(c.offline.iter().copied());
            }
        }
        offline.sort();
        let n = self.metadata.partition_count();
        let final_logs: Vec<Option<&Log>> = (0..n)
            .map(|p| {
                controller.states[p]
                    .leader
                    .filter(|&l| self.nodes_state[l as usize].alive)
                    .map(|l| &self.broker(l).replicas[p].log)
            })
            .collect();
        let replica_logs: Vec<Vec<&Log>> = (0..n)
            .map(|p| controller.states[p].replicas.iter().map(|&b| &self.broker(b).replicas[p].log).collect())
            .collect();
        let verdicts = self.core.history.verdicts(&final_logs, &replica_logs);
        let reassignments = crate::report::reassignment_outcomes(
            &cluster_events,
            |b, p| &self.broker(b).replicas[p as usize].log,
            |p| final_logs[p as usize].map(|l| l.log_end_offset()),
        );
        let pipelines = self.pipeline_outcomes(&final_logs);
        let nics = (0..self.core.net.nodes())
            .filter_map(|i| self.core.net.nic(i).map(|nic| (self.core.names[i].clone(), nic.clone())))
            .collect();
        let first_controller = self.metadata.controller_node().index();
        let mut controller_periods: Vec<crate::report::ActivePeriod> = self
            .controllers()
            .filter_map(|(i, c)| c.quorum.as_ref().map(|q| (i, q)))
            .flat_map(|(i, q)| {
                q.active_periods.iter().map(move |&(from, epoch, until)| crate::report::ActivePeriod {
                    controller: i - first_controller,
                    epoch,
                    from,
                    until,
                })
            })
            .collect();
        controller_periods.sort_by_key(|p| (p.from, p.epoch));
        let truncations = self.core.history.truncations.clone();
        let totals = self.core.recorder.totals.clone();
        self.core.trace.line(
            t,
            "engine",
            "end",
            &format!(
                "events={} produced={} acked={} consumed={} lost={}",
                self.events, totals.produced, totals.acked, totals.consumed, verdicts.lost_records
            ),
        );
        self.core.recorder.finish();
        let group_states = std::mem::take(&mut *self.groups.borrow_mut());
        Finished {
            group_states,
            scenario: self.scenario,
            recorder: self.core.recorder,
            trace: self.core.trace,
            partitions,
            groups,
            events: self.events,
            faults,
            cluster_events,
            offline,
            verdicts,
            metadata: self.metadata,
            truncations,
            pipelines,
            reassignments,
            nics,
            controller_periods,
        }
    }

    /// What each consume-transform-produce group's output holds (see [`crate::check::pipeline`]).
    fn pipeline_outcomes(&self, final_logs: &[Option<&Log>]) -> Vec<crate::check::PipelineOutcome> {
        let groups = self.groups.borrow();
        let mut outcomes = Vec::new();
        for (g, group) in self.scenario.consumer_groups.iter().enumerate() {
            let Some(output) = &group.output else { continue };
            let Some(t) = self.metadata.topic_index(&output.topic) else { continue };
            let topic = &self.metadata.topics[t];
            let logs: Vec<&Log> =
                (topic.first..topic.first + topic.partitions).filter_map(|p| final_logs[p as usize]).collect();
            let committed: Vec<(u32, u64)> = groups[g].committed.iter().map(|c| (c.0, c.1)).collect();
            let earliest = group.auto_offset_reset == crate::scenario::AutoOffsetReset::Earliest;
            outcomes.push(crate::check::pipeline::check_output(g as u32, &logs, &committed, earliest));
        }
        outcomes
    }
}

/// The first offset below `upto` where two logs hold different batches (compared over the
/// offsets both still retain).
fn first_difference(a: &Log, b: &Log, from: u64, upto: u64, compacted: bool) -> Option<u64> {
    let from = from.max(a.log_start_offset()).max(b.log_start_offset());
    for x in a.batches_from(from) {
        if x.base_offset < from {
            continue;
        }
        if x.base_offset >= upto {
            break;
        }
        match b.batch_at(x.base_offset) {
            Some(y)
                if y.base_offset == x.base_offset && crate::protocol::RecordBatch::same_batch(&y.batch, &x.batch) => {}
            // Each replica cleans its own copy of a compacted log: one may have removed a batch
            // the other still holds (a batch at the offset would still have to be this one).
            None if compacted => {}
            _ => return Some(x.base_offset),
        }
    }
    None
}

/// `Crash(LeaderOf("orders", 0))`, as the scenario file says it.
fn describe_fault(f: &Fault) -> String {
    let t = |t: &Target| match t {
        Target::Broker(b) => format!("broker-{b}"),
        Target::Controller => "controller".into(),
        Target::Node(n) => n.clone(),
        Target::LeaderOf(topic, p) => format!("leader of {topic}-{p}"),
        Target::FollowerOf(topic, p) => format!("in-sync follower of {topic}-{p}"),
        Target::FollowerOutOfIsr(topic, p) => format!("out-of-sync follower of {topic}-{p}"),
    };
    match f {
        Fault::Crash(x) => format!("crash {}", t(x)),
        Fault::PowerLoss(x) => format!("power loss {}", t(x)),
        // A broker's graceful shutdown is Kafka's "controlled shutdown"; a consumer's is close().
        Fault::Shutdown(x @ Target::Node(n)) if !n.starts_with("broker-") => {
            format!("graceful shutdown (close) of {}", t(x))
        }
        Fault::Shutdown(x) => format!("controlled shutdown of {}", t(x)),
        Fault::Restart(x) => format!("restart {}", t(x)),
        Fault::Pause(x, ms) => format!("pause {} for {ms} ms", t(x)),
        Fault::Isolate(x) => format!("isolate {}", t(x)),
        Fault::CutOff(x, others) => {
            format!("cut {} off from {}", t(x), others.iter().map(t).collect::<Vec<_>>().join(", "))
        }
        Fault::Split(groups) => format!(
            "split {}",
            groups
                .iter()
                .map(|g| format!("{{{}}}", g.iter().map(t).collect::<Vec<_>>().join(", ")))
                .collect::<Vec<_>>()
                .join(" | ")
        ),
        Fault::CutLink(a, b) => format!("cut link {} → {}", t(a), t(b)),
        Fault::SlowLink(a, b, us) => format!("slow link {} ↔ {} by {us} µs", t(a), t(b)),
        Fault::DropMessages(a, b, f) => format!("drop {:.0}% of messages {} ↔ {}", f * 100.0, t(a), t(b)),
        Fault::SlowDisk(x, ms) => format!("slow disk on {} (+{ms} ms per append)", t(x)),
        Fault::Heal => "heal the network".into(),
        Fault::CreatePartitions(topic, total) => format!("create partitions: {topic} to {total} in all"),
        Fault::Reassign(topic, p, replicas) => format!("reassign {topic}-{p} to brokers {replicas:?}"),
        Fault::ReassignAdditional(topic, p, replicas) => {
            format!("reassign {topic}-{p} to brokers {replicas:?} (--additional)")
        }
        Fault::CancelReassignment(topic, p) => format!("cancel the reassignment of {topic}-{p}"),
        Fault::SlowProcessing(x, us) => format!("slow processing on {} ({us} µs per record)", t(x)),
        Fault::SlowNic(x, 0) => format!("network interface of {} restored", t(x)),
        Fault::SlowNic(x, mbps) => format!("slow network interface on {} ({mbps} Mbit/s)", t(x)),
    }
}
