//! Workloads: when producers create records (arrival processes) and which keys they carry.
//!
//! Every record keeps its intended send time, drawn here; latency is measured from it, so a
//! producer that falls behind shows its backlog as latency (no coordinated omission).

mod arrival;
mod keys;

pub use arrival::ArrivalProcess;
pub use keys::KeyGenerator;
