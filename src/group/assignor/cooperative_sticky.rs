//! `cooperative-sticky` — models `apache/kafka clients/src/main/java/org/apache/kafka/clients/consumer/CooperativeStickyAssignor.java`
//! (kafka-reference §4.6, §5.5).
//!
//! Runs the shared sticky algorithm ([`super::sticky`]) and then `adjustAssignment`: every
//! partition that is "transferring ownership" (its new owner differs from a member that still
//! owns it) is removed from the new owner's assignment, so it is handed out only in the
//! follow-up rebalance after the previous owner revoked it. In Case A (identical subscriptions)
//! the transferring set is recorded during assignment (revoked-over-quota partitions and
//! partitions claimed by several members of the same generation); in Case B it is
//! `computePartitionsTransferringOwnership`: partitions newly added to some member ∩ partitions
//! some member owned (raw `ownedPartitions`) but is no longer assigned.
//!
//! Simplifications: rack awareness omitted (see [`super::sticky`]); the member's generation
//! comes from [`Subscription::generation`](super::Subscription) (Kafka: `generationId` of
//! subscription v2+, else the generation in the assignor user data).

use std::collections::{BTreeMap, BTreeSet};

use super::{Group, TopicPartition, sticky};

/// `CooperativeStickyAssignor.assign`.
pub(crate) fn assign(group: &Group) -> BTreeMap<String, Vec<TopicPartition>> {
    let outcome = sticky::run(group);
    let mut assignment = outcome.assignment;
    let transferring = match outcome.transferring {
        Some(t) => t,
        None => compute_partitions_transferring_ownership(group, &assignment),
    };
    // adjustAssignment
    for (tp, consumer) in &transferring {
        if let Some(list) = assignment.get_mut(consumer) {
            list.retain(|p| p != tp);
        }
    }
    assignment
}

/// `computePartitionsTransferringOwnership` (Case B).
fn compute_partitions_transferring_ownership(
    group: &Group,
    assignment: &BTreeMap<String, Vec<TopicPartition>>,
) -> BTreeMap<TopicPartition, String> {
    let mut all_added: BTreeMap<TopicPartition, String> = BTreeMap::new();
    let mut all_revoked: BTreeSet<TopicPartition> = BTreeSet::new();
    for (consumer, assigned) in assignment {
        let Some(sub) = group.members.iter().find(|m| &m.member_id == consumer) else {
            continue;
        };
        let owned: BTreeSet<&TopicPartition> = sub.owned_partitions.iter().collect();
        let assigned_set: BTreeSet<&TopicPartition> = assigned.iter().collect();
        for tp in assigned {
            if !owned.contains(tp) {
                all_added.insert(tp.clone(), consumer.clone());
            }
        }
        for tp in &sub.owned_partitions {
            if !assigned_set.contains(tp) {
                all_revoked.insert(tp.clone());
            }
        }
    }
    all_added.retain(|tp, _| all_revoked.contains(tp));
    all_added
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Strategy, Subscription, assign as assign_any, revoked_and_added};
    use super::*;
    use proptest::prelude::{TestCaseError, prop_assert, proptest};

    type Assignment = BTreeMap<String, Vec<TopicPartition>>;

    fn coop(t: &BTreeMap<String, u32>, m: &[Subscription]) -> Assignment {
        assign_any(Strategy::CooperativeSticky, t, m)
    }

    /// kafka-reference §5.5 (testAddRemoveConsumerOneTopic, cooperative): two rounds.
    #[test]
    fn two_round_add_consumer_one_topic() {
        let t = topics(&[("topic", 3)]);
        let first = coop(&t, &[Subscription::new("consumer1", &["topic"])]);
        assert_eq!(first["consumer1"], parts("topic-0 topic-1 topic-2"));
        // round 1: consumer2 joins; topic-2 is withheld
        let m = [
            Subscription::new("consumer1", &["topic"]).with_owned(first["consumer1"].clone(), Some(1)),
            Subscription::new("consumer2", &["topic"]).with_owned(vec![], Some(1)),
        ];
        let r1 = coop(&t, &m);
        assert_eq!(r1["consumer1"], parts("topic-0 topic-1"));
        assert_eq!(r1["consumer2"], vec![]);
        let (revoked, added) = revoked_and_added(&first["consumer1"], &r1["consumer1"]);
        assert_eq!((revoked, added), (parts("topic-2"), vec![]));
        // consumer1 revoked topic-2 and rejoins; round 2 hands it out
        let m = [
            Subscription::new("consumer1", &["topic"]).with_owned(r1["consumer1"].clone(), Some(2)),
            Subscription::new("consumer2", &["topic"]).with_owned(r1["consumer2"].clone(), Some(2)),
        ];
        let r2 = coop(&t, &m);
        assert_eq!(r2["consumer1"], parts("topic-0 topic-1"));
        assert_eq!(r2["consumer2"], parts("topic-2"));
        // consumer1 leaves: consumer2 takes everything at once (nobody else owns it)
        let m = [Subscription::new("consumer2", &["topic"]).with_owned(r2["consumer2"].clone(), Some(3))];
        assert_eq!(coop(&t, &m)["consumer2"], parts("topic-0 topic-1 topic-2"));
    }

    /// testAddRemoveTwoConsumersTwoTopics, cooperative first round: the three transferring
    /// partitions are withheld.
    #[test]
    fn add_two_consumers_withholds_transferring_partitions() {
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 3), ("topic2", 4)]);
        let m = [
            Subscription::new("consumer1", &both).with_owned(parts("topic1-0 topic1-2 topic2-1 topic2-3"), Some(1)),
            Subscription::new("consumer2", &both).with_owned(parts("topic1-1 topic2-0 topic2-2"), Some(1)),
            Subscription::new("consumer3", &both).with_owned(vec![], Some(1)),
            Subscription::new("consumer4", &both).with_owned(vec![], Some(1)),
        ];
        let out = coop(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-0 topic2-1"));
        assert_eq!(out["consumer2"], parts("topic2-0 topic1-1"));
        assert_eq!(out["consumer3"], vec![]);
        assert_eq!(out["consumer4"], vec![]);
    }

    /// Case B: a partition moving between members is withheld (computePartitionsTransferringOwnership).
    #[test]
    fn general_case_withholds_moved_partition() {
        let t = topics(&[("a", 2), ("b", 2)]);
        // consumer1 owned everything; consumer2 (subscribed only to b) joins.
        let m = [
            Subscription::new("consumer1", &["a", "b"]).with_owned(parts("a-0 a-1 b-0 b-1"), Some(1)),
            Subscription::new("consumer2", &["b"]).with_owned(vec![], Some(1)),
        ];
        let out = coop(&t, &m);
        let eager = assign_any(Strategy::Sticky, &t, &m);
        assert_eq!(eager["consumer1"], parts("a-0 a-1"));
        assert_eq!(eager["consumer2"], parts("b-0 b-1"));
        assert_eq!(out["consumer1"], parts("a-0 a-1"));
        assert!(out["consumer2"].is_empty());
    }

    fn no_partition_taken_from_current_owner(members: &[Subscription], out: &Assignment) -> Result<(), TestCaseError> {
        for (member, parts) in out {
            for p in parts {
                for other in members.iter().filter(|o| &o.member_id != member) {
                    prop_assert!(
                        !other.owned_partitions.contains(p),
                        "{} given to {} while {} still owns it",
                        p,
                        member,
                        other.member_id
                    );
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn prop_cooperative_never_takes_owned_partition(
            (t, members) in arb_group(),
            seed_strategy in 0usize..4,
            gens in proptest::collection::vec(proptest::option::of(1i32..3), 6),
            drop_mask in proptest::collection::vec(proptest::bool::ANY, 6),
        ) {
            // Previous ownership: a (disjoint) assignment from any strategy, with some members
            // reset to owning nothing and random generations.
            let prev = assign_any(Strategy::ALL[seed_strategy], &t, &members);
            let m: Vec<Subscription> = members
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let owned = if drop_mask[i] { vec![] } else { prev[&s.member_id].clone() };
                    s.clone().with_owned(owned, gens[i])
                })
                .collect();
            let out = coop(&t, &m);
            no_partition_taken_from_current_owner(&m, &out)?;
            // Everything assigned is valid (subset of a valid assignment).
            let sticky = assign_any(Strategy::Sticky, &t, &m);
            for (c, l) in &out {
                prop_assert!(l.iter().all(|p| sticky[c].contains(p)));
            }
        }

        #[test]
        fn prop_cooperative_second_round_after_revocation_is_valid((t, members) in arb_group()) {
            let first = coop(&t, &members);
            let m: Vec<Subscription> = members
                .iter()
                .map(|s| s.clone().with_owned(first[&s.member_id].clone(), Some(1)))
                .collect();
            let out = coop(&t, &m);
            no_partition_taken_from_current_owner(&m, &out)?;
            // From a fresh group nothing is owned, so round one is already complete.
            check_valid(&t, &members, &first)?;
            check_valid(&t, &m, &out)?;
        }

        #[test]
        fn prop_cooperative_balanced_for_identical_subscriptions((t, mut members) in arb_group()) {
            let all: Vec<String> = t.keys().cloned().collect();
            for m in &mut members { m.topics = all.clone(); }
            let out = coop(&t, &members);
            check_valid(&t, &members, &out)?;
            prop_assert!(counts_spread(&out) <= 1);
        }
    }
}
