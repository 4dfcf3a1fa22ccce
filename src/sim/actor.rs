//! The actor contract: how a node's handler talks to the engine.
//!
//! A handler gets its own state and a [`Ctx`]. Through the `Ctx` it emits effects (send a message,
//! set a timer, record a metric, trace a line); the engine applies each effect as it is
//! emitted, in order. This is the sans-IO shape of stateright's `Actor` and madsim's brokers:
//! nothing in a handler can read a clock, do I/O or touch another node.

use super::engine::Event;
use super::mailbox::Mailbox;
use super::queue::EventQueue;
use super::time::{SimDuration, SimTime};
use super::trace::{Trace, TraceLevel};
use crate::check::History;
use crate::metrics::Recorder;
use crate::net::Network;
use crate::protocol::{FetchBuffers, Message};

/// Index of a node (broker, producer or consumer) in the simulation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The timers nodes set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The producer's next record is due.
    Arrival,
    /// The oldest open batch's `linger.ms` (or a retry's backoff) has passed.
    Linger,
    /// A client or broker checks its requests for timeouts.
    RequestTimeouts,
    /// A client asks for metadata again (a partition has no known leader).
    MetadataRefresh,
    /// A client's metadata is `metadata.max.age.ms` old: it asks again (and so learns of new
    /// partitions).
    MetadataMaxAge,
    /// The earliest parked fetch reaches its max wait.
    FetchExpire,
    /// The earliest delayed `acks=all` produce reaches its timeout.
    ProduceExpire,
    /// The consumer finished processing and fetches again.
    FetchAgain { broker: NodeId },
    /// A follower's fetch backoff after an error has passed.
    FetchRetry { broker: NodeId },
    /// A producer's throttle time at a broker (its quota) has passed: it may send there again.
    Throttled { broker: NodeId },
    /// A broker's heartbeat to the controller is due.
    Heartbeat,
    /// A broker in controlled shutdown asks the controller again, sooner than its next
    /// heartbeat (`BrokerLifecycleManager`: 50 ms after the first "not yet").
    ShutdownHeartbeat,
    /// A leader checks its followers for the ISR (every `replica.lag.time.max.ms / 2`).
    IsrExpiration,
    /// A broker writes its high watermarks to disk.
    HighWatermarkCheckpoint,
    /// A broker deletes the log segments retention no longer keeps
    /// (`log.retention.check.interval.ms`).
    LogRetention,
    /// A broker's log cleaner wakes up (`log.cleaner.backoff.ms` after it found nothing to do).
    LogCleaner,
    /// The controller checks broker sessions.
    SessionCheck,
    /// The controller's automatic preferred-leader election.
    LeaderRebalance,
    /// A controller's quorum timeout (fetch, election, backoff) or, on the leader, its next
    /// idle append; only the newest `generation` counts.
    Quorum { generation: u32 },
    /// A group coordinator's next deadline (session expiry, join or sync timeout, retention).
    GroupDeadline { group: u32 },
    /// A consumer's application finished processing (a poll's records, or one record).
    ProcessingDone,
    /// A consumer looks for its group coordinator again.
    FindCoordinator,
    /// A consumer group member starts (a scale-up).
    MemberStart,
    /// A consumer group member closes (a scale-down).
    MemberClose,
    /// A producer's application thread or sender finishes its CPU work (or a request it built
    /// is ready to go).
    ProducerCpu,
    /// The producer's application calls `flush()`.
    Flush,
    /// A stream query's next micro-batch may start (`Trigger.ProcessingTime`).
    StreamTrigger,
    /// A transactional producer's application ends its open transaction (every
    /// `commit_interval_ms`).
    TxnCommit,
    /// A transaction coordinator looks for transactions open past their timeout, and for
    /// completions it should drive (`transaction.abort.timed.out.transaction.cleanup.interval.ms`).
    TxnTimeoutCheck,
    /// A transaction coordinator sends the markers still pending for a producer's transaction
    /// again (after a leader error).
    TxnMarkerRetry { producer: u32 },
    /// A transactional producer sends its request to the coordinator again (after a backoff).
    TxnRetry,
    /// A consumer asks for its committed offsets again (they were unstable, KIP-447).
    OffsetFetchRetry,
}

impl Timer {
    pub fn name(&self) -> &'static str {
        match self {
            Timer::Arrival => "Arrival",
            Timer::TxnCommit => "TxnCommit",
            Timer::TxnTimeoutCheck => "TxnTimeoutCheck",
            Timer::TxnMarkerRetry { .. } => "TxnMarkerRetry",
            Timer::TxnRetry => "TxnRetry",
            Timer::Linger => "Linger",
            Timer::RequestTimeouts => "RequestTimeouts",
            Timer::MetadataRefresh => "MetadataRefresh",
            Timer::MetadataMaxAge => "MetadataMaxAge",
            Timer::FetchExpire => "FetchExpire",
            Timer::ProduceExpire => "ProduceExpire",
            Timer::FetchAgain { .. } => "FetchAgain",
            Timer::FetchRetry { .. } => "FetchRetry",
            Timer::Throttled { .. } => "Throttled",
            Timer::Heartbeat => "Heartbeat",
            Timer::ShutdownHeartbeat => "ShutdownHeartbeat",
            Timer::IsrExpiration => "IsrExpiration",
            Timer::HighWatermarkCheckpoint => "HighWatermarkCheckpoint",
            Timer::LogRetention => "LogRetention",
            Timer::LogCleaner => "LogCleaner",
            Timer::SessionCheck => "SessionCheck",
            Timer::Quorum { .. } => "Quorum",
            Timer::LeaderRebalance => "LeaderRebalance",
            Timer::GroupDeadline { .. } => "GroupDeadline",
            Timer::ProcessingDone => "ProcessingDone",
            Timer::FindCoordinator => "FindCoordinator",
            Timer::MemberStart => "MemberStart",
            Timer::MemberClose => "MemberClose",
            Timer::ProducerCpu => "ProducerCpu",
            Timer::Flush => "Flush",
            Timer::StreamTrigger => "StreamTrigger",
            Timer::OffsetFetchRetry => "OffsetFetchRetry",
        }
    }
}

/// Engine state that effects act on; owned by the simulation, lent to one handler at a time.
pub(crate) struct Core {
    pub queue: EventQueue<Event>,
    /// Messages sent and not yet delivered.
    pub mailbox: Mailbox,
    pub net: Network,
    pub recorder: Recorder,
    pub trace: Trace,
    pub names: Vec<String>,
    pub history: History,
    /// Per node: bumped by every crash, so timers set before it are ignored.
    pub incarnation: Vec<u32>,
    /// Per directed link: the fault that cut it (to count what it dropped).
    pub link_fault: Vec<Option<usize>>,
    /// Messages dropped per fault.
    pub fault_drops: Vec<u64>,
    /// Spare fetch vectors, passed from the nodes that empty them to those that fill them.
    pub fetch_buffers: FetchBuffers,
}

/// What a handler can do: its only window on the world.
pub struct Ctx<'a> {
    now: SimTime,
    me: NodeId,
    pub(crate) core: &'a mut Core,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(now: SimTime, me: NodeId, core: &'a mut Core) -> Ctx<'a> {
        Ctx { now, me, core }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The node this handler runs for.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Sends `msg` to `to`; it arrives after the link's latency, in FIFO order per link.
    pub fn send(&mut self, to: NodeId, msg: Message) {
        match self.core.net.route(self.me.index(), to.index(), self.now, || msg.size_bytes()) {
            Some(at) => {
                let msg = self.core.mailbox.put(msg);
                self.core.queue.push(at, Event::Deliver { from: self.me, to, msg });
            }
            None => {
                let n = self.core.net.nodes();
                if let Some(f) = self.core.link_fault[self.me.index() * n + to.index()] {
                    self.core.fault_drops[f] += 1;
                }
                self.detail("dropped", || format!("{} to node {} (link down)", msg.kind(), to.0));
            }
        }
    }

    /// Hands `msg` to `to`, a node of the same process (a member and the producer it owns): it
    /// arrives now, after the events already due now, and never crosses the network.
    pub fn send_local(&mut self, to: NodeId, msg: Message) {
        let msg = self.core.mailbox.put(msg);
        self.core.queue.push(self.now, Event::Deliver { from: self.me, to, msg });
    }

    /// Sets a timer that fires after `after`.
    pub fn set_timer(&mut self, after: SimDuration, timer: Timer) {
        self.set_timer_at(self.now + after, timer)
    }

    /// Sets a timer that fires at `at` (not before now). Timers are not cancelled: a handler
    /// ignores a stale timer when it fires (a timer carries enough to recognise it, and nodes
    /// keep the deadline they armed), which costs nothing while the timer waits.
    pub fn set_timer_at(&mut self, at: SimTime, timer: Timer) {
        let incarnation = self.core.incarnation[self.me.index()];
        self.core.queue.push(at.max(self.now), Event::Timer { node: self.me, timer, incarnation });
    }

    /// The process exits now, by its own decision (a broker at the end of a controlled
    /// shutdown). The engine stops it as it handles the next event: its timers and the messages
    /// on their way to it are dropped, as for a crash.
    pub fn exit(&mut self) {
        let incarnation = self.core.incarnation[self.me.index()];
        self.core.queue.push(self.now, Event::Exit { node: self.me, incarnation });
    }

    /// The record history (what the checker reads at the end).
    pub fn history(&mut self) -> &mut History {
        &mut self.core.history
    }

    /// Spare vectors for fetch requests and responses (see [`FetchBuffers`]).
    pub fn fetch_buffers(&mut self) -> &mut FetchBuffers {
        &mut self.core.fetch_buffers
    }

    /// The metrics recorder.
    pub fn metrics(&mut self) -> &mut Recorder {
        &mut self.core.recorder
    }

    /// Traces a notable event (always kept).
    pub fn notable(&mut self, event: &str, detail: impl FnOnce() -> String) {
        let node = &self.core.names[self.me.index()];
        self.core.trace.line(self.now, node, event, &detail());
    }

    /// Traces a detail that is kept only with `--trace all`.
    pub fn detail(&mut self, event: &str, detail: impl FnOnce() -> String) {
        if self.core.trace.level == TraceLevel::All {
            self.notable(event, detail);
        }
    }
}
