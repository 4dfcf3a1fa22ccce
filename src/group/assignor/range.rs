//! `range` — models `apache/kafka clients/src/main/java/org/apache/kafka/clients/consumer/RangeAssignor.java`
//! (kafka-reference §5.2).
//!
//! Per topic, independently: the members subscribed to the topic, sorted by `MemberInfo` order
//! (static members first by `group.instance.id`, then dynamic by member id), receive contiguous
//! ranges of the sorted partitions; the first `n % members` members get one extra partition.
//!
//! Simplifications: the rack-aware variant (KIP-881, 3.5) is omitted — it only activates when
//! consumers set `client.rack`; without racks the per-topic rule below is exact.

use std::collections::BTreeMap;

use super::{Group, TopicPartition};

/// `RangeAssignor.assignPartitions` without racks.
pub(crate) fn assign(group: &Group) -> BTreeMap<String, Vec<TopicPartition>> {
    let mut out = group.empty_assignment();
    // `consumersPerTopic` is filled in subscription (HashMap) order and each list is then
    // `Collections.sort`ed by MemberInfo (stable), which is what `member_info_sorted` yields.
    let ordered = group.member_info_sorted();
    for (topic, &num_partitions) in &group.partitions_per_topic {
        let consumers: Vec<&str> =
            ordered.iter().filter(|m| m.topics.contains(topic)).map(|m| m.member_id.as_str()).collect();
        if consumers.is_empty() {
            continue;
        }
        let n = consumers.len() as u32;
        // numPartitionsPerConsumer = n / c; consumersWithExtraPartition = n % c
        let per = num_partitions / n;
        let extra = num_partitions % n;
        for (i, member) in consumers.iter().enumerate() {
            let i = i as u32;
            // start = numPartitionsPerConsumer * i + min(i, consumersWithExtraPartition)
            let start = per * i + i.min(extra);
            let len = per + u32::from(i < extra);
            let list = out.entry(member.to_string()).or_default();
            list.extend((start..start + len).map(|p| TopicPartition::new(topic.clone(), p)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Strategy, Subscription, assign};
    use proptest::prelude::*;

    fn range(
        t: &std::collections::BTreeMap<String, u32>,
        m: &[Subscription],
    ) -> std::collections::BTreeMap<String, Vec<super::TopicPartition>> {
        assign(Strategy::Range, t, m)
    }

    #[test]
    fn test_one_consumer_one_topic() {
        let out = range(&topics(&[("topic1", 3)]), &[Subscription::new("consumer1", &["topic1"])]);
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-1 topic1-2"));
    }

    #[test]
    fn test_only_assigns_partitions_from_subscribed_topics() {
        let out = range(&topics(&[("topic1", 3), ("other", 3)]), &[Subscription::new("consumer1", &["topic1"])]);
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-1 topic1-2"));
    }

    #[test]
    fn test_one_consumer_nonexistent_topic() {
        let out = range(&topics(&[]), &[Subscription::new("consumer1", &["topic1"])]);
        assert_eq!(out["consumer1"], vec![]);
    }

    #[test]
    fn test_two_consumers_one_topic_one_partition() {
        let out = range(
            &topics(&[("topic1", 1)]),
            &[Subscription::new("consumer1", &["topic1"]), Subscription::new("consumer2", &["topic1"])],
        );
        assert_eq!(out["consumer1"], parts("topic1-0"));
        assert_eq!(out["consumer2"], vec![]);
    }

    #[test]
    fn test_multiple_consumers_mixed_topics() {
        let out = range(
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
    fn test_two_consumers_two_topics_six_partitions() {
        let out = range(
            &topics(&[("topic1", 3), ("topic2", 3)]),
            &[
                Subscription::new("consumer1", &["topic1", "topic2"]),
                Subscription::new("consumer2", &["topic1", "topic2"]),
            ],
        );
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-1 topic2-0 topic2-1"));
        assert_eq!(out["consumer2"], parts("topic1-2 topic2-2"));
    }

    #[test]
    fn test_two_static_consumers_two_topics_six_partitions() {
        let out = range(
            &topics(&[("topic1", 3), ("topic2", 3)]),
            &[
                Subscription::new("consumer-b", &["topic1", "topic2"]).with_instance_id("instance1"),
                Subscription::new("consumer-a", &["topic1", "topic2"]).with_instance_id("instance2"),
            ],
        );
        assert_eq!(out["consumer-b"], parts("topic1-0 topic1-1 topic2-0 topic2-1"));
        assert_eq!(out["consumer-a"], parts("topic1-2 topic2-2"));
    }

    #[test]
    fn test_one_static_consumer_and_one_dynamic_consumer_two_topics_six_partitions() {
        let out = range(
            &topics(&[("topic1", 3), ("topic2", 3)]),
            &[
                Subscription::new("consumer-b", &["topic1", "topic2"]).with_instance_id("instance1"),
                Subscription::new("consumer-a", &["topic1", "topic2"]),
            ],
        );
        assert_eq!(out["consumer-b"], parts("topic1-0 topic1-1 topic2-0 topic2-1"));
        assert_eq!(out["consumer-a"], parts("topic1-2 topic2-2"));
    }

    #[test]
    fn test_static_member_range_assignment_persistent() {
        let t = topics(&[("topic1", 5), ("topic2", 4)]);
        let both = ["topic1", "topic2"];
        let mut members = vec![
            Subscription::new("consumer1", &both).with_instance_id("instance1"),
            Subscription::new("consumer2", &both).with_instance_id("instance2"),
            Subscription::new("consumer3", &both).with_instance_id("instance3"),
            Subscription::new("consumer4", &both),
        ];
        let out = range(&t, &members);
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-1 topic2-0"));
        assert_eq!(out["consumer2"], parts("topic1-2 topic2-1"));
        assert_eq!(out["consumer3"], parts("topic1-3 topic2-2"));
        assert_eq!(out["consumer4"], parts("topic1-4 topic2-3"));
        // Replace the dynamic consumer4 by consumer5: the static members keep their ranges.
        members[3] = Subscription::new("consumer5", &both);
        let out2 = range(&t, &members);
        assert_eq!(out2["consumer1"], out["consumer1"]);
        assert_eq!(out2["consumer2"], out["consumer2"]);
        assert_eq!(out2["consumer3"], out["consumer3"]);
        assert_eq!(out2["consumer5"], out["consumer4"]);
    }

    #[test]
    fn test_static_member_range_assignment_persistent_after_member_id_changes() {
        let t = topics(&[("topic1", 5), ("topic2", 5)]);
        let both = ["topic1", "topic2"];
        let run = |ids: [&str; 3]| {
            let members: Vec<Subscription> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| Subscription::new(*id, &both).with_instance_id(format!("instance{}", i + 1)))
                .collect();
            let out = range(&t, &members);
            ids.iter().map(|id| out[*id].clone()).collect::<Vec<_>>()
        };
        let before = run(["consumer1", "consumer2", "consumer3"]);
        assert_eq!(before[0], parts("topic1-0 topic1-1 topic2-0 topic2-1"));
        assert_eq!(before[1], parts("topic1-2 topic1-3 topic2-2 topic2-3"));
        assert_eq!(before[2], parts("topic1-4 topic2-4"));
        assert_eq!(run(["zz-new-1", "aa-new-2", "mm-new-3"]), before);
    }

    #[test]
    fn five_topics_three_consumers_is_unbalanced() {
        // kafka-reference §5.2: 5 topics × 2 partitions, 3 consumers ⇒ 5, 5, 0.
        let t = topics(&[("a", 2), ("b", 2), ("c", 2), ("d", 2), ("e", 2)]);
        let all = ["a", "b", "c", "d", "e"];
        let out =
            range(&t, &[Subscription::new("c1", &all), Subscription::new("c2", &all), Subscription::new("c3", &all)]);
        assert_eq!([out["c1"].len(), out["c2"].len(), out["c3"].len()], [5, 5, 0]);
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn prop_range_valid((t, members) in arb_group()) {
            let out = range(&t, &members);
            check_valid(&t, &members, &out)?;
            // Per topic, subscribers' counts differ by at most one.
            for topic in t.keys() {
                let counts: Vec<usize> = members
                    .iter()
                    .filter(|m| m.topics.contains(topic))
                    .map(|m| out[&m.member_id].iter().filter(|p| &p.topic == topic).count())
                    .collect();
                if let (Some(max), Some(min)) = (counts.iter().max(), counts.iter().min()) {
                    prop_assert!(max - min <= 1);
                }
            }
        }
    }
}
