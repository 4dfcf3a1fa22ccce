//! Where a topic's replicas live: Kafka's rack-unaware replica assignment
//! (`AdminUtils.assignReplicasToBrokersRackUnaware`, now `StripedReplicaPlacer`'s ancestor).
//!
//! Partition `p`'s first replica (its preferred leader) is broker `(start + p) mod n`; the other
//! replicas follow at a shift that grows by one every `n` partitions, so replicas spread over
//! brokers. Kafka draws `start` and the initial shift at random; kafkasim fixes both to 0 so
//! placement never depends on the seed (the same choice `--replica-assignment`-free tests make
//! with `fixedStartIndex = 0`).

/// The replicas of each of `partitions` partitions over `brokers` brokers, preferred leader first.
pub fn assign_replicas(partitions: u32, replication_factor: u32, brokers: u32) -> Vec<Vec<u32>> {
    let n = brokers.max(1);
    let start_index = 0;
    let mut next_replica_shift = 0;
    (0..partitions)
        .map(|p| {
            if p > 0 && p % n == 0 {
                next_replica_shift += 1;
            }
            let first = (p + start_index) % n;
            let mut replicas = vec![first];
            for j in 0..replication_factor.saturating_sub(1) {
                replicas.push(replica_index(first, next_replica_shift, j, n));
            }
            replicas
        })
        .collect()
}

/// `AdminUtils.replicaIndex`.
fn replica_index(first: u32, second_replica_shift: u32, replica: u32, n: u32) -> u32 {
    if n < 2 {
        return first;
    }
    let shift = 1 + (second_replica_shift + replica) % (n - 1);
    (first + shift) % n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_spread_over_brokers_with_a_growing_shift() {
        // 3 brokers, RF 3, 6 partitions: leaders rotate; every 3 partitions the shift grows.
        let a = assign_replicas(6, 3, 3);
        assert_eq!(a[0], [0, 1, 2]);
        assert_eq!(a[1], [1, 2, 0]);
        assert_eq!(a[2], [2, 0, 1]);
        assert_eq!(a[3], [0, 2, 1]);
        assert_eq!(a[4], [1, 0, 2]);
        assert_eq!(a[5], [2, 1, 0]);
    }

    #[test]
    fn every_partition_has_distinct_replicas() {
        for brokers in 1..7 {
            for rf in 1..=brokers {
                for replicas in assign_replicas(20, rf, brokers) {
                    let mut sorted = replicas.clone();
                    sorted.sort();
                    sorted.dedup();
                    assert_eq!(sorted.len(), rf as usize, "{brokers} brokers, rf {rf}: {replicas:?}");
                }
            }
        }
    }
}
