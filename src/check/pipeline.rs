//! The end-of-run check of a consume-transform-produce group (`output`): what a `read_committed`
//! reader of the output topic sees, against the group's input.
//!
//! Each output record names its input record, so reading the output partitions' final logs in
//! offset order gives, per input record, how many times it was written *visibly*: outside
//! transactions, or in a transaction whose COMMIT marker follows. Exactly-once means once for
//! every input record below the group's committed offsets; at-least-once allows more.

use crate::cluster::Log;
use crate::protocol::{ControlMarker, source_offset, source_partition};

/// What the output of one group holds at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineOutcome {
    pub group: u32,
    /// Output records a `read_committed` reader sees.
    pub visible_records: u64,
    /// Visible output records of an input record that already had one (written twice).
    pub duplicates: u64,
    /// Output records of aborted transactions (never visible).
    pub aborted_records: u64,
    /// Output records of transactions still open at the end.
    pub open_records: u64,
    /// Input records below the group's committed offsets with no visible output record.
    pub missing: u64,
}

/// Reads the output `logs` (the leaders' final logs of the output partitions) against the
/// group's committed offsets `(global input partition, offset)`: input records from offset 0
/// (`from_earliest`, the group started at the log start) or else from the first one written, up
/// to the committed offset, should each have a visible output record.
pub fn check_output(group: u32, logs: &[&Log], committed: &[(u32, u64)], from_earliest: bool) -> PipelineOutcome {
    let mut outcome = PipelineOutcome { group, ..PipelineOutcome::default() };
    // Per global input partition, a bit per offset: it has a visible output record.
    let mut seen: Vec<Vec<u64>> = Vec::new();
    let mut visible = |source: u64, outcome: &mut PipelineOutcome| {
        let (p, offset) = (source_partition(source) as usize, source_offset(source) as usize);
        if seen.len() <= p {
            seen.resize(p + 1, Vec::new());
        }
        let bits = &mut seen[p];
        if bits.len() <= offset / 64 {
            bits.resize(offset / 64 + 1, 0);
        }
        let mask = 1u64 << (offset % 64);
        outcome.visible_records += 1;
        if bits[offset / 64] & mask != 0 {
            outcome.duplicates += 1;
        }
        bits[offset / 64] |= mask;
    };
    for log in logs {
        // Per producer: the sources of its open transaction's batches so far.
        let mut open: Vec<(u32, Vec<u64>)> = Vec::new();
        for b in log.batches() {
            let batch = &b.batch;
            match batch.control {
                Some(marker) => {
                    let Some(i) = open.iter().position(|(p, _)| *p == batch.producer) else { continue };
                    let (_, sources) = open.swap_remove(i);
                    if marker == ControlMarker::Commit {
                        sources.into_iter().for_each(|s| visible(s, &mut outcome));
                    } else {
                        outcome.aborted_records += sources.len() as u64;
                    }
                }
                None if batch.transactional => match open.iter_mut().find(|(p, _)| *p == batch.producer) {
                    Some((_, sources)) => sources.extend_from_slice(batch.sources()),
                    None => open.push((batch.producer, batch.sources().to_vec())),
                },
                None => batch.sources().iter().for_each(|&s| visible(s, &mut outcome)),
            }
        }
        outcome.open_records += open.iter().map(|(_, s)| s.len() as u64).sum::<u64>();
    }
    for &(p, upto) in committed {
        let bits = seen.get(p as usize).map_or(&[][..], Vec::as_slice);
        let has = |o: usize| bits.get(o / 64).is_some_and(|w| w & (1 << (o % 64)) != 0);
        let upto = upto as usize;
        let from = if from_earliest { 0 } else { (0..upto).find(|&o| has(o)).unwrap_or(upto) };
        outcome.missing += (from..upto).filter(|&o| !has(o)).count() as u64;
    }
    outcome
}
