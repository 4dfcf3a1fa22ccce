//! Kafka transactions (KIP-98, kafka-reference §6.2): each transactional producer's state at its
//! transaction coordinator, shared by every broker (as the replicated `__transaction_state` log
//! makes it survive a coordinator's failure), and the coordinator role of a broker
//! ([`TxnCoordinatorHost`]).
//!
//! A transaction goes `Empty` → `Ongoing` (its first `AddPartitionsToTxn`) → `PrepareCommit` or
//! `PrepareAbort` (`EndTxn`, or the coordinator's own abort of a transaction open past
//! `transaction.timeout.ms`, which also bumps the producer epoch to fence the producer) →
//! `CompleteCommit`/`CompleteAbort` once every partition leader has written the marker.
//!
//! A transaction may also carry a consumer group's offsets (`AddOffsetsToTxn`, then
//! `TxnOffsetCommit` to the group coordinator, KIP-98's consume-transform-produce loop): they
//! become the group's committed offsets when the transaction commits, and are dropped if it
//! aborts.
//!
//! Simplified: the transaction log is not modelled as a topic (its writes take no time and
//! never fail); `InitProducerId` is not sent (the producer id is the producer's index, epoch 0);
//! the marker for `__consumer_offsets` takes effect when the transaction completes, with no
//! request of its own.

pub mod coordinator;

use std::cell::RefCell;
use std::rc::Rc;

pub use coordinator::TxnCoordinatorHost;

use crate::protocol::ControlMarker;
use crate::scenario::Scenario;
use crate::sim::{NodeId, SimDuration, SimTime};

/// `TransactionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnPhase {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

impl TxnPhase {
    pub fn name(self) -> &'static str {
        match self {
            TxnPhase::Empty => "Empty",
            TxnPhase::Ongoing => "Ongoing",
            TxnPhase::PrepareCommit => "PrepareCommit",
            TxnPhase::PrepareAbort => "PrepareAbort",
            TxnPhase::CompleteCommit => "CompleteCommit",
            TxnPhase::CompleteAbort => "CompleteAbort",
        }
    }

    /// The marker a `Prepare*` phase writes.
    pub fn marker(self) -> Option<ControlMarker> {
        match self {
            TxnPhase::PrepareCommit => Some(ControlMarker::Commit),
            TxnPhase::PrepareAbort => Some(ControlMarker::Abort),
            _ => None,
        }
    }
}

/// One transactional id's `TransactionMetadata`.
#[derive(Clone, Debug)]
pub struct TxnState {
    pub transactional_id: String,
    pub producer_epoch: u16,
    /// `transaction.timeout.ms`.
    pub timeout: SimDuration,
    pub phase: TxnPhase,
    /// The producer's number of the current (or last) transaction.
    pub txn: u64,
    /// When the coordinator heard of the transaction's first partition.
    pub started: SimTime,
    /// Global partitions the transaction wrote to, sorted.
    pub partitions: Vec<u32>,
    /// Consumer groups whose offsets the transaction sent (`AddOffsetsToTxn`).
    pub groups: Vec<u32>,
    /// In a `Prepare*` phase: partitions whose marker is not written yet.
    pub pending: Vec<u32>,
    /// The broker sending the markers (`None`: nobody, e.g. the coordinator crashed).
    pub driver: Option<u32>,
    /// `EndTxn` requests to answer when the transaction completes.
    /// `EndTxn` (false) and `InitProducerId` (true) requests to answer when the transaction
    /// completes.
    pub waiting: Vec<(NodeId, u64, bool)>,
    /// The last transaction was aborted by the coordinator on its timeout.
    pub timed_out: bool,
}

/// Per producer (by index): its transactional state, `None` for producers without transactions.
pub type TxnStates = Rc<RefCell<Vec<Option<TxnState>>>>;

/// Every transactional producer's state, `Empty`.
pub fn states_of(scenario: &Scenario) -> TxnStates {
    let states = scenario
        .producers
        .iter()
        .map(|p| {
            p.transactions.map(|t| TxnState {
                transactional_id: p.name.clone(),
                producer_epoch: 0,
                timeout: SimDuration::from_ms(t.transaction_timeout_ms),
                phase: TxnPhase::Empty,
                txn: 0,
                started: SimTime::ZERO,
                partitions: Vec::new(),
                groups: Vec::new(),
                pending: Vec::new(),
                driver: None,
                waiting: Vec::new(),
                timed_out: false,
            })
        })
        .collect();
    Rc::new(RefCell::new(states))
}

/// A transaction ended, for the summary and figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnOutcome {
    /// When its last marker was written.
    pub at: SimTime,
    pub producer: u32,
    pub txn: u64,
    pub committed: bool,
    /// Aborted by the coordinator because it was open longer than `transaction.timeout.ms`.
    pub timed_out: bool,
    pub partitions: usize,
}
