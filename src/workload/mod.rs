//! Workloads: when producers create records (arrival processes), which keys they carry and how
//! big their values are.
//!
//! Every record keeps its intended send time, drawn here; latency is measured from it, so a
//! producer that falls behind shows its backlog as latency (no coordinated omission).
//!
//! Each generator draws from its own stream, named after the producer: `producer/<name>/arrival`
//! (one draw per record), `producer/<name>/arrival-state` (on/off periods, MMPP switches),
//! `producer/<name>/key` and `producer/<name>/value`. Changing the key or value distribution
//! therefore leaves the arrival times untouched (common random numbers).

mod arrival;
mod keys;
mod value;

pub use arrival::ArrivalProcess;
pub use keys::KeyGenerator;
pub use value::ValueSizeGenerator;
