//! Checking what happened to records: the acknowledged-batch ledger and the end-of-run verdicts
//! (lost writes, duplicates, reordered, unobserved and inconsistent offsets, diverged replicas),
//! named as Jepsen names them.
//!
//! The ledger keeps every acknowledged batch until the leader's retention drops it (by then every
//! replica and every subscribed group has it), so memory follows what is in flight. At the end of
//! a run, an acknowledged batch that is absent from the partition's final log is a *lost write*.
//! Simplified: identity is per batch (producer, producer epoch, base sequence), not per record.

mod history;
pub mod pipeline;

pub use history::{AckedBatch, History, TruncationEvent, Verdicts};
pub use pipeline::PipelineOutcome;
