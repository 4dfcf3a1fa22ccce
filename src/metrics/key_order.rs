//! The order in which each consumer group processed each key's records, on topics whose records
//! carry their keys (a topic that gains partitions during the run, or a compacted one).
//!
//! Kafka orders records only within a partition. A producer that sends a key's records one
//! after another gets them read in that order only while the key stays on one partition: once
//! the topic has more partitions, `murmur2(key) % count` sends the key's new records elsewhere,
//! and a group may process them before the key's older records still waiting on the old
//! partition (kafka-reference §2.2.1; the Kafka docs' "Key Distribution Changes").
//!
//! A record is *out of order* when the group processes it, for the first time, after a record of
//! the same key from the same producer that the producer sent later (records of one producer
//! have distinct intended send times). Processing it again (a redelivery) is a duplicate, not
//! an inversion. "After" is the order in which the engine saw the group's members finish
//! processing: members finishing in the same instant count in event order.

use std::collections::BTreeMap;

use crate::sim::SimTime;

/// A record processed after a later record of its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInversion {
    /// When its processing ended.
    pub at: SimTime,
    pub partition: u32,
    pub offset: u64,
    pub producer: u32,
    /// Its intended send time, and that of the later record of the key processed before it.
    pub created: SimTime,
    pub after: SimTime,
}

/// What [`crate::metrics::Recorder`] keeps of the groups' key order.
#[derive(Clone, Debug, Default)]
pub struct KeyOrder {
    /// `(group, producer, key)` → the send time of the latest record of the key the group has
    /// processed.
    latest: BTreeMap<(u32, u32, u64), SimTime>,
    /// Per group: how many records it processed out of order, and the first of them.
    pub inversions: BTreeMap<u32, (u64, KeyInversion)>,
}

impl KeyOrder {
    /// Group `group` finished processing a record of `key` from `producer`, sent at `created`;
    /// `again`: it had processed that record before.
    #[allow(clippy::too_many_arguments)] // one record's identity, as the consumer has it
    pub fn processed(
        &mut self,
        group: u32,
        producer: u32,
        key: u64,
        created: SimTime,
        again: bool,
        at: SimTime,
        partition: u32,
        offset: u64,
    ) {
        let latest = self.latest.entry((group, producer, key)).or_insert(created);
        if created >= *latest {
            *latest = created;
            return;
        }
        if again {
            return;
        }
        let inversion = KeyInversion { at, partition, offset, producer, created, after: *latest };
        self.inversions.entry(group).or_insert((0, inversion)).0 += 1;
    }

    /// Records group `group` processed out of order.
    pub fn inversions(&self, group: u32) -> u64 {
        self.inversions.get(&group).map_or(0, |i| i.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_processed_older_after_newer_is_an_inversion_once() {
        let mut k = KeyOrder::default();
        let t = SimTime::from_ms;
        // Key 7 of producer 0: sent at 1, 2, 3 ms; the one sent at 2 ms is processed last.
        k.processed(0, 0, 7, t(1), false, t(10), 0, 0);
        k.processed(0, 0, 7, t(3), false, t(11), 1, 0);
        k.processed(0, 0, 7, t(2), false, t(12), 0, 1);
        // Processed again (a redelivery): a duplicate, not a second inversion.
        k.processed(0, 0, 7, t(2), true, t(13), 0, 1);
        // Another producer's records of the same key, and another group, are separate.
        k.processed(0, 1, 7, t(0), false, t(14), 0, 2);
        k.processed(1, 0, 7, t(2), false, t(15), 0, 1);
        assert_eq!(k.inversions(0), 1);
        assert_eq!(k.inversions(1), 0);
        let (_, first) = k.inversions[&0];
        assert_eq!((first.partition, first.offset, first.created, first.after), (0, 1, t(2), t(3)));
    }
}
