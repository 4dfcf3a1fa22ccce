//! `roundrobin` — models `apache/kafka clients/src/main/java/org/apache/kafka/clients/consumer/RoundRobinAssignor.java`
//! (kafka-reference §5.3).
//!
//! All members sorted by `MemberInfo` order form a circular list; all partitions of all
//! subscribed topics (topic name order, then partition) are dealt out one at a time, skipping
//! members not subscribed to the partition's topic. Balanced (max − min ≤ 1) when all
//! subscriptions are identical.
//!
//! Simplifications: none (the Java assignor has no rack-aware variant).

use std::collections::BTreeMap;

use super::{Group, TopicPartition, java_cmp};

/// `RoundRobinAssignor.assign`.
pub(crate) fn assign(group: &Group) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out = group.empty_assignment();
    // `new CircularIterator<>(Utils.sorted(memberInfoList))`
    let ordered = group.member_info_sorted();
    if ordered.is_empty() {
        return out;
    }
    // `allPartitionsSorted`: `TreeSet<String>` of all subscribed topics (Java String order),
    // skipping topics without metadata, then partitions 0..n-1.
    let mut topics: Vec<(&String, u32)> = group.partitions_per_topic.iter().map(|(t, &n)| (t, n)).collect();
    topics.sort_by(|a, b| java_cmp(a.0, b.0));
    let mut cursor = 0usize;
    for (topic, n) in topics {
        for p in 0..n {
            // `while (!subscriptions.get(assigner.peek().memberId).topics().contains(topic)) assigner.next();`
            let mut skipped = 0;
            while !ordered[cursor].topics.contains(topic) && skipped < ordered.len() {
                cursor = (cursor + 1) % ordered.len();
                skipped += 1;
            }
            if skipped == ordered.len() {
                continue; // unreachable: the topic is subscribed by someone
            }
            // `assignment.get(assigner.next().memberId).add(partition);`
            out.entry(ordered[cursor].member_id.clone()).or_default().push(TopicPartition::new(topic.clone(), p));
            cursor = (cursor + 1) % ordered.len();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Strategy, Subscription, assign};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn rr(t: &BTreeMap<String, u32>, m: &[Subscription]) -> BTreeMap<String, Vec<super::TopicPartition>> {
        assign(Strategy::RoundRobin, t, m)
    }

    #[test]
    fn test_multiple_consumers_mixed_topics() {
        let out = rr(
            &topics(&[("topic1", 3), ("topic2", 2)]),
            &[
                Subscription::new("consumer1", &["topic1"]),
                Subscription::new("consumer2", &["topic1", "topic2"]),
                Subscription::new("consumer3", &["topic1"]),
            ],
        );
        assert_eq!(out["consumer1"], parts("topic1-0"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-0 topic2-1"));
        assert_eq!(out["consumer3"], parts("topic1-2"));
    }

    #[test]
    fn test_two_dynamic_consumers_two_topics_six_partitions() {
        let both = ["topic1", "topic2"];
        let out = rr(
            &topics(&[("topic1", 3), ("topic2", 3)]),
            &[Subscription::new("consumer1", &both), Subscription::new("consumer2", &both)],
        );
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-2 topic2-1"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-0 topic2-2"));
    }

    #[test]
    fn test_two_static_consumers_two_topics_six_partitions() {
        let both = ["topic1", "topic2"];
        let out = rr(
            &topics(&[("topic1", 3), ("topic2", 3)]),
            &[
                Subscription::new("consumer-b", &both).with_instance_id("instance1"),
                Subscription::new("consumer-a", &both).with_instance_id("instance2"),
            ],
        );
        assert_eq!(out["consumer-b"], parts("topic1-0 topic1-2 topic2-1"));
        assert_eq!(out["consumer-a"], parts("topic1-1 topic2-0 topic2-2"));
    }

    #[test]
    fn test_static_member_round_robin_assignment_persistent() {
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 3), ("topic2", 3)]);
        let mut members = vec![
            Subscription::new("consumer1", &both).with_instance_id("instance1"),
            Subscription::new("consumer2", &both).with_instance_id("instance2"),
            Subscription::new("consumer3", &both).with_instance_id("instance3"),
            Subscription::new("consumer4", &both),
        ];
        let out = rr(&t, &members);
        assert_eq!(out["consumer1"], parts("topic1-0 topic2-1"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-2"));
        assert_eq!(out["consumer3"], parts("topic1-2"));
        assert_eq!(out["consumer4"], parts("topic2-0"));
        members[3] = Subscription::new("consumer5", &both);
        let out2 = rr(&t, &members);
        assert_eq!(out2["consumer5"], out["consumer4"]);
        assert_eq!(out2["consumer1"], out["consumer1"]);
    }

    #[test]
    fn test_static_member_round_robin_assignment_persistent_after_member_ids_changes() {
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 5), ("topic2", 5)]);
        let run = |ids: [&str; 3]| {
            let members: Vec<Subscription> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| Subscription::new(*id, &both).with_instance_id(format!("instance{}", i + 1)))
                .collect();
            let out = rr(&t, &members);
            ids.iter().map(|id| out[*id].clone()).collect::<Vec<_>>()
        };
        let before = run(["consumer1", "consumer2", "consumer3"]);
        assert_eq!(before[0], parts("topic1-0 topic1-3 topic2-1 topic2-4"));
        assert_eq!(before[1], parts("topic1-1 topic1-4 topic2-2"));
        assert_eq!(before[2], parts("topic1-2 topic2-0 topic2-3"));
        assert_eq!(run(["z1", "a2", "m3"]), before);
    }

    #[test]
    fn javadoc_unequal_subscriptions() {
        let out = rr(
            &topics(&[("t0", 1), ("t1", 2), ("t2", 3)]),
            &[
                Subscription::new("C0", &["t0"]),
                Subscription::new("C1", &["t0", "t1"]),
                Subscription::new("C2", &["t0", "t1", "t2"]),
            ],
        );
        assert_eq!(out["C0"], parts("t0-0"));
        assert_eq!(out["C1"], parts("t1-0"));
        assert_eq!(out["C2"], parts("t1-1 t2-0 t2-1 t2-2"));
    }

    #[test]
    fn javadoc_equal_subscriptions() {
        let out = rr(
            &topics(&[("t0", 3), ("t1", 3)]),
            &[Subscription::new("C0", &["t0", "t1"]), Subscription::new("C1", &["t0", "t1"])],
        );
        assert_eq!(out["C0"], parts("t0-0 t0-2 t1-1"));
        assert_eq!(out["C1"], parts("t0-1 t1-0 t1-2"));
    }

    #[test]
    fn test_one_consumer_nonexistent_topic() {
        let out = rr(&topics(&[]), &[Subscription::new("consumer1", &["topic1"])]);
        assert_eq!(out["consumer1"], vec![]);
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn prop_round_robin_valid((t, members) in arb_group()) {
            let out = rr(&t, &members);
            check_valid(&t, &members, &out)?;
        }

        #[test]
        fn prop_round_robin_balanced_for_identical_subscriptions((t, mut members) in arb_group()) {
            let all: Vec<String> = t.keys().cloned().collect();
            for m in &mut members { m.topics = all.clone(); }
            let out = rr(&t, &members);
            check_valid(&t, &members, &out)?;
            prop_assert!(counts_spread(&out) <= 1);
        }
    }
}
