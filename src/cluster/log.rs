//! A partition's log: batches at offsets (Kafka's `UnifiedLog`, reduced to what the model needs).
//!
//! Offsets are the ones Kafka gives: a batch of `n` records appended at log end offset `o` holds
//! offsets `o..o+n`. The log holds batches, not records, and batches are shared (`Rc`) with the
//! requests that carried them. Retention is driven by consumption: batches every subscribed group
//! has read past are dropped (Kafka drops by time or size; dropping what everyone has read keeps
//! memory bounded by what is in flight, which is what a simulator needs).

use std::collections::VecDeque;
use std::rc::Rc;

use crate::protocol::RecordBatch;

/// A batch stored in the log at its base offset.
#[derive(Clone, Debug)]
pub struct LogBatch {
    pub base_offset: u64,
    pub batch: Rc<RecordBatch>,
}

impl LogBatch {
    pub fn end_offset(&self) -> u64 {
        self.base_offset + self.batch.record_count()
    }
}

/// One partition's log on one broker.
#[derive(Debug, Default)]
pub struct Log {
    batches: VecDeque<LogBatch>,
    /// Log start offset: the first offset still held (or the LEO when empty).
    start_offset: u64,
    /// Log end offset: the offset the next record gets.
    end_offset: u64,
    /// Bytes held.
    size_bytes: u64,
}

impl Log {
    pub fn log_end_offset(&self) -> u64 {
        self.end_offset
    }

    pub fn log_start_offset(&self) -> u64 {
        self.start_offset
    }

    pub fn retained_batches(&self) -> usize {
        self.batches.len()
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Appends a batch at the log end; returns its base offset.
    pub fn append(&mut self, batch: Rc<RecordBatch>) -> u64 {
        let base_offset = self.end_offset;
        self.end_offset += batch.record_count();
        self.size_bytes += batch.size_bytes as u64;
        self.batches.push_back(LogBatch { base_offset, batch });
        base_offset
    }

    /// Bytes available from `offset` up to `limit` (exclusive), counting whole batches.
    pub fn bytes_between(&self, offset: u64, limit: u64) -> u64 {
        let mut bytes = 0;
        for b in self.batches.iter().rev() {
            if b.end_offset() <= offset {
                break;
            }
            if b.base_offset < limit {
                bytes += b.batch.size_bytes as u64;
            }
        }
        bytes
    }

    /// Batches holding offsets from `offset` below `limit`, up to `max_bytes` (the first batch is
    /// always returned, as Kafka does so that an oversized batch cannot block a consumer).
    pub fn read(&self, offset: u64, limit: u64, max_bytes: u64) -> Vec<(u64, Rc<RecordBatch>)> {
        let first = self.batches.partition_point(|b| b.end_offset() <= offset);
        let mut out = Vec::new();
        let mut bytes = 0u64;
        for b in self.batches.range(first..) {
            if b.base_offset >= limit {
                break;
            }
            if !out.is_empty() && bytes + b.batch.size_bytes as u64 > max_bytes {
                break;
            }
            bytes += b.batch.size_bytes as u64;
            out.push((b.base_offset, b.batch.clone()));
        }
        out
    }

    /// Drops whole batches that end at or before `offset`.
    pub fn trim_before(&mut self, offset: u64) {
        while let Some(b) = self.batches.front() {
            if b.end_offset() > offset {
                break;
            }
            self.size_bytes -= b.batch.size_bytes as u64;
            self.start_offset = b.end_offset();
            self.batches.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;

    fn batch(n: usize) -> Rc<RecordBatch> {
        Rc::new(RecordBatch {
            producer: 0,
            base_sequence: 0,
            record_times: vec![SimTime::ZERO; n],
            size_bytes: 100,
            created: SimTime::ZERO,
        })
    }

    #[test]
    fn offsets_are_assigned_in_append_order() {
        let mut log = Log::default();
        assert_eq!(log.append(batch(3)), 0);
        assert_eq!(log.append(batch(2)), 3);
        assert_eq!(log.log_end_offset(), 5);
    }

    #[test]
    fn read_starts_at_the_batch_holding_the_offset_and_stops_at_the_limit() {
        let mut log = Log::default();
        for _ in 0..4 {
            log.append(batch(10));
        }
        let got: Vec<u64> = log.read(15, 35, u64::MAX).iter().map(|(o, _)| *o).collect();
        assert_eq!(got, [10, 20, 30]);
        let capped: Vec<u64> = log.read(0, 40, 150).iter().map(|(o, _)| *o).collect();
        assert_eq!(capped, [0], "the byte cap stops after the first batch");
        assert_eq!(
            log.read(0, 40, 1).len(),
            1,
            "the first batch is returned even when too big"
        );
        assert_eq!(log.bytes_between(15, 40), 300);
    }

    #[test]
    fn trimming_keeps_offsets_and_drops_read_batches() {
        let mut log = Log::default();
        for _ in 0..3 {
            log.append(batch(10));
        }
        log.trim_before(25);
        assert_eq!(log.log_start_offset(), 20);
        assert_eq!(log.retained_batches(), 1);
        assert_eq!(log.append(batch(1)), 30);
        assert_eq!(log.read(0, 31, u64::MAX)[0].0, 20);
    }
}
