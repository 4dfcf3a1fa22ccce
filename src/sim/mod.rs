//! The deterministic engine: virtual time, the event queue, random streams, the actor contract
//! (`Ctx`: how handlers emit effects) and the simulation loop.
//!
//! One thread, one queue, one clock. Each event is handled by exactly one node; its handler
//! changes that node's state and emits effects through [`Ctx`] (send a message, set a timer,
//! record a metric, trace a line), which the engine applies at once: a send becomes a
//! delivery event at the time the network says, a timer becomes an event. Model code never reads
//! a clock, never does I/O and never sees another node's state except through messages.

mod actor;
mod engine;
mod mailbox;
pub mod prefetch;
mod queue;
mod rng;
mod time;
mod trace;

pub use actor::{Ctx, NodeId, Timer};
pub(crate) use engine::Finished;
pub use engine::{
    BrokerView, ControllerView, FaultRecord, GroupView, MemberView, PartitionView, ProducerView, Simulation,
    StepRecord, StreamQueryView,
};
pub use queue::EventQueue;
pub use rng::{RandomStream, stable_id};
pub use time::{SimDuration, SimTime};
pub use trace::{Trace, TraceLevel};
