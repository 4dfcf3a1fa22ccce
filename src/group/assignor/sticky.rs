//! `sticky` and the shared sticky algorithm — models
//! `apache/kafka clients/src/main/java/org/apache/kafka/clients/consumer/internals/AbstractStickyAssignor.java`
//! (ported from the 3.5+/4.x version with `ConstrainedAssignmentBuilder` and
//! `GeneralAssignmentBuilder`) and `clients/src/main/java/org/apache/kafka/clients/consumer/StickyAssignor.java`
//! (kafka-reference §5.4).
//!
//! * `allSubscriptionsEqual` validates previously owned partitions: partitions of topics without
//!   metadata / not subscribed are dropped; a partition claimed by two members goes to the higher
//!   generation; a same-generation double claim is invalidated for both (and counts as
//!   "transferring ownership").
//! * Case A (all subscriptions identical): [`constrained_assign`] — keep owned partitions up to
//!   the min/max quota, then round-robin the rest.
//! * Case B (subscriptions differ): [`GeneralBuilder`] — keep valid owned partitions, assign the
//!   rest to the least-loaded eligible member, then move partitions until balanced, accepting the
//!   result only if the balance score improved.
//!
//! Java iteration orders that influence the result and how they are reproduced:
//! * the leader's `HashMap<String, Subscription>` (and `consumerToOwnedPartitions`, same keys and
//!   insertion order): [`Group::hash_order`](super::Group) via
//!   [`java_hash_map_order`](super::java_hash_map_order) — decides which members keep
//!   `maxQuota` in Case A, the winner of conflicting claims, and the `prevAssignment` owner among
//!   equal older generations in Case B;
//! * `PartitionMovements`' `HashSet<TopicPartition>` `iterator().next()` in
//!   `getTheActualPartitionToBeMoved`: [`JavaHashSet`](super::JavaHashSet) (bucket order of
//!   `TopicPartition.hashCode`, capacity growth, insertion order within a bucket);
//! * `TreeSet` / `Collections.sort` orders use Java `String.compareTo` ([`JStr`]).
//!
//! All other Java `HashMap`/`HashSet` uses are membership-only or order-independent.
//!
//! Simplifications / deviations (all unreachable with well-formed input or Java bugs):
//! * rack awareness (KIP-881) omitted — exact when consumers set no `client.rack`;
//! * `allSubscriptionsEqual` in Java initialises the reference topic set from the first member
//!   whose topic list is non-empty, so a member with an *empty* subscription iterated before the
//!   others would be treated as "equal" and receive partitions it never subscribed to; here an
//!   empty subscription is only equal to another empty one;
//! * Case B: Java follows `prevAssignment` (older-generation owner) even if that member no longer
//!   subscribes to the topic or is a "fixed" member (NPE); here that hint is skipped then;
//! * `IllegalStateException` paths of Java ("No more unfilled consumers") stop quietly instead.

use std::collections::{BTreeMap, BTreeSet};

use super::{Group, JStr, JavaHashSet, Subscription, TopicPartition, java_cmp};

/// `AbstractStickyAssignor.DEFAULT_GENERATION`.
pub const DEFAULT_GENERATION: i32 = -1;

/// Result of the shared sticky algorithm.
#[derive(Clone, Debug, Default)]
pub(crate) struct StickyOutcome {
    pub assignment: BTreeMap<String, Vec<TopicPartition>>,
    /// `partitionsTransferringOwnership`: `Some` in Case A (computed during assignment), `None` in
    /// Case B (the cooperative assignor computes it from the result).
    pub transferring: Option<BTreeMap<TopicPartition, String>>,
}

/// `StickyAssignor` (eager): the shared algorithm's result as is.
pub(crate) fn assign(group: &Group) -> BTreeMap<String, Vec<TopicPartition>> {
    run(group).assignment
}

/// `AbstractStickyAssignor.assignPartitions` (non-rack-aware).
pub(crate) fn run(group: &Group) -> StickyOutcome {
    if group.members.is_empty() {
        return StickyOutcome::default();
    }
    let v = validate_owned(group);
    if v.all_equal {
        let (assignment, transferring) = constrained_assign(group, &v);
        StickyOutcome { assignment, transferring: Some(transferring) }
    } else {
        let assignment = GeneralBuilder::new(group, v.consumer_to_owned, v.max_generation).build();
        StickyOutcome { assignment, transferring: None }
    }
}

struct Validated {
    all_equal: bool,
    /// `consumerToOwnedPartitions` (every member present).
    consumer_to_owned: BTreeMap<String, Vec<TopicPartition>>,
    /// `partitionsWithMultiplePreviousOwners`.
    multi_owned: BTreeSet<TopicPartition>,
    max_generation: i32,
}

fn generation(s: &Subscription) -> i32 {
    s.generation.unwrap_or(DEFAULT_GENERATION)
}

/// Partition exists in metadata of a subscribed topic (Java checks only the topic; we also drop
/// partition numbers beyond the partition count, which Java would carry as garbage).
fn partition_exists(group: &Group, tp: &TopicPartition) -> bool {
    group.partitions_per_topic.get(&tp.topic).is_some_and(|&n| tp.partition < n)
}

/// `AbstractStickyAssignor.allSubscriptionsEqual`: iterates the subscriptions in Java HashMap
/// order; fills `consumerToOwnedPartitions` and `partitionsWithMultiplePreviousOwners`.
fn validate_owned(group: &Group) -> Validated {
    let mut all_equal = true;
    let mut reference: Option<BTreeSet<&str>> = None;
    let mut consumer_to_owned: BTreeMap<String, Vec<TopicPartition>> = BTreeMap::new();
    let mut multi_owned = BTreeSet::new();
    let mut max_generation = DEFAULT_GENERATION;
    // allPreviousPartitionsToOwner
    let mut prev_owner: BTreeMap<TopicPartition, usize> = BTreeMap::new();

    for &idx in &group.hash_order {
        let sub = &group.members[idx];
        let consumer = sub.member_id.clone();
        let topics: BTreeSet<&str> = sub.topics.iter().map(String::as_str).collect();
        match &reference {
            None => reference = Some(topics),
            Some(r) => {
                if *r != topics {
                    all_equal = false;
                }
            }
        }
        let member_generation = generation(sub);
        max_generation = max_generation.max(member_generation);
        // consumerToOwnedPartitions.put(consumer, ownedPartitions) happens before the loop, so a
        // member conflicting with itself (duplicate entry) mutates its own list.
        consumer_to_owned.insert(consumer.clone(), Vec::new());
        for tp in &sub.owned_partitions {
            if !partition_exists(group, tp) {
                continue;
            }
            match prev_owner.get(tp).copied() {
                None => {
                    push(&mut consumer_to_owned, &consumer, tp.clone());
                    prev_owner.insert(tp.clone(), idx);
                }
                Some(other_idx) => {
                    let other = group.members[other_idx].member_id.clone();
                    let other_generation = generation(&group.members[other_idx]);
                    if member_generation == other_generation {
                        // same generation: invalidate for both
                        multi_owned.insert(tp.clone());
                        remove_first(&mut consumer_to_owned, &other, tp);
                        prev_owner.insert(tp.clone(), idx);
                    } else if member_generation > other_generation {
                        // move to the member with the newer generation
                        push(&mut consumer_to_owned, &consumer, tp.clone());
                        remove_first(&mut consumer_to_owned, &other, tp);
                        prev_owner.insert(tp.clone(), idx);
                    }
                    // else: the other member keeps it
                }
            }
        }
    }
    Validated { all_equal, consumer_to_owned, multi_owned, max_generation }
}

fn push(map: &mut BTreeMap<String, Vec<TopicPartition>>, k: &str, tp: TopicPartition) {
    map.entry(k.to_string()).or_default().push(tp);
}

/// Java `List.remove(Object)`: removes the first occurrence.
fn remove_first(map: &mut BTreeMap<String, Vec<TopicPartition>>, k: &str, tp: &TopicPartition) {
    if let Some(list) = map.get_mut(k)
        && let Some(pos) = list.iter().position(|x| x == tp)
    {
        list.remove(pos);
    }
}

/// All partitions of the given topics, topics in the given order, partitions ascending.
fn partitions_of(group: &Group, topics: &[&String]) -> Vec<TopicPartition> {
    let mut v = Vec::new();
    for t in topics {
        let n = group.partitions_per_topic.get(*t).copied().unwrap_or(0);
        v.extend((0..n).map(|p| TopicPartition::new((*t).clone(), p)));
    }
    v
}

/// Java `Collections.sort(list)` of member ids (`String.compareTo`).
fn sort_java(v: &mut [String]) {
    v.sort_by(|a, b| java_cmp(a, b));
}

/// `ConstrainedAssignmentBuilder.build()` (non-rack-aware): returns the assignment and
/// `partitionsTransferringOwnership`.
fn constrained_assign(
    group: &Group,
    v: &Validated,
) -> (BTreeMap<String, Vec<TopicPartition>>, BTreeMap<TopicPartition, String>) {
    let total: usize = group.partitions_per_topic.values().map(|&n| n as usize).sum();
    let num_consumers = v.consumer_to_owned.len().max(1);
    let min_quota = total / num_consumers;
    let max_quota = total.div_ceil(num_consumers);
    let expected_over_min = total % num_consumers;
    let mut current_over_min = 0usize;

    let mut assignment: BTreeMap<String, Vec<TopicPartition>> =
        v.consumer_to_owned.keys().map(|c| (c.clone(), Vec::new())).collect();
    let mut assigned: BTreeSet<TopicPartition> = BTreeSet::new();
    let mut all_revoked: BTreeSet<TopicPartition> = BTreeSet::new();
    let mut under_min: Vec<String> = Vec::new(); // unfilledMembersWithUnderMinQuotaPartitions
    let mut exactly_min: Vec<String> = Vec::new(); // unfilledMembersWithExactlyMinQuotaPartitions
    let mut transferring: BTreeMap<TopicPartition, String> = BTreeMap::new();

    // assignOwnedPartitions: iterates `currentAssignment` (= consumerToOwnedPartitions, a
    // HashMap) — Java HashMap order decides who keeps maxQuota.
    for &idx in &group.hash_order {
        let consumer = &group.members[idx].member_id;
        let Some(owned) = v.consumer_to_owned.get(consumer) else {
            continue;
        };
        // sorted by (partition, topic)
        let mut owned: Vec<TopicPartition> = owned.clone();
        owned.sort_by(|a, b| a.partition.cmp(&b.partition).then_with(|| java_cmp(&a.topic, &b.topic)));
        // drop partitions claimed by multiple consumers in the same generation
        owned.retain(|tp| !v.multi_owned.contains(tp));
        let list = assignment.entry(consumer.clone()).or_default();
        if owned.len() < min_quota {
            // keep all owned partitions; member is unfilled
            assigned.extend(owned.iter().cloned());
            list.extend(owned);
            under_min.push(consumer.clone());
        } else if owned.len() >= max_quota && current_over_min < expected_over_min {
            // keep maxQuota, revoke the rest
            current_over_min += 1;
            if current_over_min == expected_over_min {
                exactly_min.clear();
            }
            let rest = owned.split_off(max_quota);
            assigned.extend(owned.iter().cloned());
            list.extend(owned);
            all_revoked.extend(rest);
        } else {
            // keep minQuota, revoke the rest; potential maxQuota candidate
            let rest = owned.split_off(min_quota);
            assigned.extend(owned.iter().cloned());
            list.extend(owned);
            all_revoked.extend(rest);
            if current_over_min < expected_over_min {
                exactly_min.push(consumer.clone());
            }
        }
    }

    // getUnassignedPartitions: all partitions, topics in String order, minus assigned.
    let mut topics: Vec<&String> = group.partitions_per_topic.keys().collect();
    topics.sort_by(|a, b| java_cmp(a, b));
    let unassigned: Vec<TopicPartition> =
        partitions_of(group, &topics).into_iter().filter(|tp| !assigned.contains(tp)).collect();

    sort_java(&mut under_min);
    sort_java(&mut exactly_min);

    // assignRoundRobin. `cursor` emulates `unfilledConsumerIter` over the LinkedList `under_min`
    // (next() = under_min[cursor++], remove() = remove under_min[cursor-1]).
    let mut cursor = 0usize;
    for tp in unassigned {
        let consumer = if cursor < under_min.len() {
            cursor += 1;
            under_min[cursor - 1].clone()
        } else if under_min.is_empty() && exactly_min.is_empty() {
            // Java: IllegalStateException("No more unfilled consumers to be assigned.")
            break;
        } else if under_min.is_empty() {
            exactly_min.remove(0) // poll()
        } else {
            cursor = 1;
            under_min[0].clone()
        };
        // assignNewPartition
        let list = assignment.entry(consumer.clone()).or_default();
        list.push(tp.clone());
        let count = list.len();
        if all_revoked.contains(&tp) || v.multi_owned.contains(&tp) {
            transferring.insert(tp, consumer.clone());
        }
        if count == min_quota {
            // unfilledConsumerIter.remove(); the consumer always came from the iterator here
            if cursor > 0 && under_min.get(cursor - 1) == Some(&consumer) {
                under_min.remove(cursor - 1);
                cursor -= 1;
            }
            exactly_min.push(consumer);
        }
        // (Java also counts members reaching maxQuota here, but only to log an internal error.)
    }
    (assignment, transferring)
}

/// `PartitionMovements` (only the parts that influence the assignment).
#[derive(Default)]
struct PartitionMovements {
    /// partitionMovementsByTopic: topic → (src, dst) → partitions
    by_topic: BTreeMap<String, BTreeMap<(String, String), JavaHashSet>>,
    /// partitionMovements: partition → (src, dst)
    movements: BTreeMap<TopicPartition, (String, String)>,
}

impl PartitionMovements {
    fn remove_movement_record(&mut self, tp: &TopicPartition) -> Option<(String, String)> {
        let pair = self.movements.remove(tp)?;
        if let Some(per_topic) = self.by_topic.get_mut(&tp.topic) {
            if let Some(set) = per_topic.get_mut(&pair) {
                set.remove(tp);
                if set.is_empty() {
                    per_topic.remove(&pair);
                }
            }
            if per_topic.is_empty() {
                self.by_topic.remove(&tp.topic);
            }
        }
        Some(pair)
    }

    fn add_movement_record(&mut self, tp: &TopicPartition, pair: (String, String)) {
        self.movements.insert(tp.clone(), pair.clone());
        self.by_topic
            .entry(tp.topic.clone())
            .or_default()
            .entry(pair)
            .or_insert_with(JavaHashSet::new)
            .insert(tp.clone());
    }

    fn move_partition(&mut self, tp: &TopicPartition, old: &str, new: &str) {
        if self.movements.contains_key(tp) {
            // this partition has previously moved
            if let Some((src, _dst)) = self.remove_movement_record(tp)
                && src != new
            {
                self.add_movement_record(tp, (src, new.to_string()));
            }
        } else {
            self.add_movement_record(tp, (old.to_string(), new.to_string()));
        }
    }

    /// `getTheActualPartitionToBeMoved`: prefer moving back a partition of the same topic that
    /// previously moved `new → old` (uses Java `HashSet.iterator().next()`).
    fn actual_partition_to_move(&self, tp: &TopicPartition, old: &str, new: &str) -> TopicPartition {
        let Some(per_topic) = self.by_topic.get(&tp.topic) else {
            return tp.clone();
        };
        let old = match self.movements.get(tp) {
            Some((src, _)) => src.as_str(),
            None => old,
        };
        match per_topic.get(&(new.to_string(), old.to_string())) {
            Some(set) => set.first().cloned().unwrap_or_else(|| tp.clone()),
            None => tp.clone(),
        }
    }
}

/// `GeneralAssignmentBuilder` (non-rack-aware).
struct GeneralBuilder<'a> {
    group: &'a Group,
    max_generation: i32,
    subscriptions: BTreeMap<String, &'a Subscription>,
    topic2consumers: BTreeMap<String, Vec<String>>,
    consumer2topics: BTreeMap<String, Vec<String>>,
    current_assignment: BTreeMap<String, Vec<TopicPartition>>,
    current_partition_consumer: BTreeMap<TopicPartition, String>,
    sorted_all_partitions: Vec<TopicPartition>,
    /// `sortedCurrentSubscriptions`: TreeSet ordered by (assignment size, member id).
    sorted_subs: BTreeSet<(usize, JStr)>,
    revocation_required: bool,
    movements: PartitionMovements,
}

impl<'a> GeneralBuilder<'a> {
    fn new(
        group: &'a Group,
        mut current_assignment: BTreeMap<String, Vec<TopicPartition>>,
        max_generation: i32,
    ) -> Self {
        let mut topic2consumers: BTreeMap<String, Vec<String>> =
            group.partitions_per_topic.keys().map(|t| (t.clone(), Vec::new())).collect();
        let mut consumer2topics: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut subscriptions = BTreeMap::new();
        for &idx in &group.hash_order {
            let sub = &group.members[idx];
            subscriptions.insert(sub.member_id.clone(), sub);
            let mut topics = Vec::new();
            for t in &sub.topics {
                if let Some(list) = topic2consumers.get_mut(t) {
                    topics.push(t.clone());
                    list.push(sub.member_id.clone());
                }
            }
            consumer2topics.insert(sub.member_id.clone(), topics);
            current_assignment.entry(sub.member_id.clone()).or_default();
        }
        let mut current_partition_consumer = BTreeMap::new();
        for (c, parts) in &current_assignment {
            for tp in parts {
                current_partition_consumer.insert(tp.clone(), c.clone());
            }
        }
        // TopicComparator: number of potential consumers, then topic name
        let mut sorted_topics: Vec<&String> = topic2consumers.keys().collect();
        sorted_topics
            .sort_by(|a, b| topic2consumers[*a].len().cmp(&topic2consumers[*b].len()).then_with(|| java_cmp(a, b)));
        let sorted_all_partitions = partitions_of(group, &sorted_topics);
        GeneralBuilder {
            group,
            max_generation,
            subscriptions,
            topic2consumers,
            consumer2topics,
            current_assignment,
            current_partition_consumer,
            sorted_all_partitions,
            sorted_subs: BTreeSet::new(),
            revocation_required: false,
            movements: PartitionMovements::default(),
        }
    }

    fn size(&self, consumer: &str) -> usize {
        self.current_assignment.get(consumer).map_or(0, Vec::len)
    }

    fn key(&self, consumer: &str) -> (usize, JStr) {
        (self.size(consumer), JStr(consumer.to_string()))
    }

    fn subs_remove(&mut self, consumer: &str) {
        let k = self.key(consumer);
        self.sorted_subs.remove(&k);
    }

    fn subs_add(&mut self, consumer: &str) {
        let k = self.key(consumer);
        self.sorted_subs.insert(k);
    }

    fn subscribes(&self, consumer: &str, topic: &str) -> bool {
        self.consumer2topics.get(consumer).is_some_and(|ts| ts.iter().any(|t| t == topic))
    }

    fn build(mut self) -> BTreeMap<String, Vec<TopicPartition>> {
        let prev_assignment = self.prepopulate_current_assignments();
        let assigned = self.assign_owned_partitions();
        let assigned: BTreeSet<TopicPartition> = assigned.into_iter().collect();
        let unassigned: Vec<TopicPartition> =
            self.sorted_all_partitions.iter().filter(|tp| !assigned.contains(*tp)).cloned().collect();
        let consumers: Vec<String> = self.current_assignment.keys().cloned().collect();
        for c in &consumers {
            self.subs_add(c);
        }
        self.balance(&prev_assignment, unassigned);
        self.current_assignment
    }

    /// `prepopulateCurrentAssignments`: `prevAssignment` = for each partition, the owner with
    /// the highest generation below `maxGeneration` (first in HashMap order among equals).
    fn prepopulate_current_assignments(&self) -> BTreeMap<TopicPartition, (String, i32)> {
        let mut prev: BTreeMap<TopicPartition, (String, i32)> = BTreeMap::new();
        for &idx in &self.group.hash_order {
            let sub = &self.group.members[idx];
            let gen_opt = match sub.generation {
                Some(g) if g < self.max_generation => Some(g),
                None if self.max_generation > DEFAULT_GENERATION => Some(DEFAULT_GENERATION),
                _ => None,
            };
            let Some(g) = gen_opt else { continue };
            for tp in &sub.owned_partitions {
                match prev.get(tp) {
                    Some((_, pg)) if g <= *pg => {}
                    _ => {
                        prev.insert(tp.clone(), (sub.member_id.clone(), g));
                    }
                }
            }
        }
        prev
    }

    /// `assignOwnedPartitions`: keep owned partitions whose topic the owner still subscribes to.
    fn assign_owned_partitions(&mut self) -> Vec<TopicPartition> {
        let mut assigned = Vec::new();
        let consumers: Vec<String> = self.current_assignment.keys().cloned().collect();
        for consumer in consumers {
            let Some(sub) = self.subscriptions.get(&consumer).copied() else {
                // consumer no longer exists (cannot happen: keys come from the subscriptions)
                if let Some(parts) = self.current_assignment.remove(&consumer) {
                    for tp in parts {
                        self.current_partition_consumer.remove(&tp);
                    }
                }
                continue;
            };
            let parts = std::mem::take(self.current_assignment.get_mut(&consumer).unwrap_or(&mut Vec::new()));
            let mut kept = Vec::new();
            for tp in parts {
                if !self.topic2consumers.contains_key(&tp.topic) {
                    self.current_partition_consumer.remove(&tp);
                } else if !sub.topics.contains(&tp.topic) {
                    // no longer subscribed: revoke (currentPartitionConsumer is left as is, as in Java)
                    self.revocation_required = true;
                } else {
                    assigned.push(tp.clone());
                    kept.push(tp);
                }
            }
            self.current_assignment.insert(consumer, kept);
        }
        assigned
    }

    fn is_balanced(&self) -> bool {
        let (Some(first), Some(last)) = (self.sorted_subs.first(), self.sorted_subs.last()) else {
            return true;
        };
        let min = first.0;
        let max = last.0;
        if min + 1 >= max {
            return true;
        }
        let mut all_partitions: BTreeMap<&TopicPartition, &str> = BTreeMap::new();
        for (c, parts) in &self.current_assignment {
            for tp in parts {
                all_partitions.insert(tp, c);
            }
        }
        for (count, consumer) in &self.sorted_subs {
            let consumer = consumer.0.as_str();
            let (Some(topics), Some(mine)) =
                (self.consumer2topics.get(consumer), self.current_assignment.get(consumer))
            else {
                continue;
            };
            if *count == self.max_assignment_size(topics) {
                continue;
            }
            for topic in topics {
                let n = self.group.partitions_per_topic.get(topic).copied().unwrap_or(0);
                for p in 0..n {
                    let tp = TopicPartition::new(topic.clone(), p);
                    if !mine.contains(&tp)
                        && let Some(other) = all_partitions.get(&tp)
                        && count + 1 < self.size(other)
                    {
                        return false;
                    }
                }
            }
        }
        true
    }

    fn max_assignment_size(&self, topics: &[String]) -> usize {
        topics.iter().map(|t| self.group.partitions_per_topic.get(t).copied().unwrap_or(0) as usize).sum()
    }

    fn balance_score(assignment: &BTreeMap<String, Vec<TopicPartition>>) -> usize {
        let sizes: Vec<usize> = assignment.values().map(Vec::len).collect();
        let mut score = 0;
        for i in 0..sizes.len() {
            for j in i + 1..sizes.len() {
                score += sizes[i].abs_diff(sizes[j]);
            }
        }
        score
    }

    /// `maybeAssignPartition`: give the partition to the least-loaded eligible consumer.
    fn maybe_assign_partition(&mut self, tp: &TopicPartition) {
        let found = self.sorted_subs.iter().find(|(_, c)| self.subscribes(&c.0, &tp.topic)).map(|(_, c)| c.0.clone());
        if let Some(consumer) = found {
            self.subs_remove(&consumer);
            self.current_assignment.entry(consumer.clone()).or_default().push(tp.clone());
            self.current_partition_consumer.insert(tp.clone(), consumer.clone());
            self.subs_add(&consumer);
        }
    }

    fn can_topic_participate(&self, topic: &str) -> bool {
        self.topic2consumers.get(topic).is_some_and(|c| c.len() >= 2)
    }

    fn can_consumer_participate(&self, consumer: &str) -> bool {
        let parts = self.current_assignment.get(consumer).map(Vec::as_slice).unwrap_or(&[]);
        let max = self.consumer2topics.get(consumer).map_or(0, |t| self.max_assignment_size(t));
        if parts.len() < max {
            return true;
        }
        parts.iter().any(|tp| self.can_topic_participate(&tp.topic))
    }

    fn balance(
        &mut self,
        prev_assignment: &BTreeMap<TopicPartition, (String, i32)>,
        mut unassigned: Vec<TopicPartition>,
    ) {
        let initializing = self.sorted_subs.last().is_none_or(|(size, _)| *size == 0);

        for tp in unassigned.clone() {
            if self.topic2consumers.get(&tp.topic).is_none_or(Vec::is_empty) {
                continue;
            }
            self.maybe_assign_partition(&tp);
        }

        // narrow down to partitions of topics with at least two potential consumers
        let fixed_topics: BTreeSet<String> =
            self.topic2consumers.keys().filter(|t| !self.can_topic_participate(t)).cloned().collect();
        self.sorted_all_partitions.retain(|tp| !fixed_topics.contains(&tp.topic));
        unassigned.retain(|tp| !fixed_topics.contains(&tp.topic));

        // narrow down to consumers subject to reassignment
        let mut fixed_assignments: BTreeMap<String, Vec<TopicPartition>> = BTreeMap::new();
        let consumers: Vec<String> = self.consumer2topics.keys().cloned().collect();
        for c in consumers {
            if !self.can_consumer_participate(&c) {
                self.subs_remove(&c);
                if let Some(parts) = self.current_assignment.remove(&c) {
                    fixed_assignments.insert(c, parts);
                }
            }
        }

        let pre_balance_assignment = self.current_assignment.clone();
        let pre_balance_partition_consumers = self.current_partition_consumer.clone();

        // if no revocation is needed because of subscription changes, first try to balance by
        // only moving newly added partitions
        if !self.revocation_required {
            self.perform_reassignments(&unassigned, prev_assignment);
        }
        let all = self.sorted_all_partitions.clone();
        let reassignment_performed = self.perform_reassignments(&all, prev_assignment);

        // not initializing and changed: keep only if the balance score improved
        if !initializing
            && reassignment_performed
            && Self::balance_score(&self.current_assignment) >= Self::balance_score(&pre_balance_assignment)
        {
            self.current_assignment = pre_balance_assignment;
            self.current_partition_consumer = pre_balance_partition_consumers;
        }

        for (c, parts) in fixed_assignments {
            self.current_assignment.insert(c.clone(), parts);
            self.sorted_subs.insert((self.size(&c), JStr(c)));
        }
    }

    fn perform_reassignments(
        &mut self,
        reassignable: &[TopicPartition],
        prev_assignment: &BTreeMap<TopicPartition, (String, i32)>,
    ) -> bool {
        let mut reassignment_performed = false;
        loop {
            let mut modified = false;
            for tp in reassignable {
                if self.is_balanced() {
                    break;
                }
                let Some(consumer) = self.current_partition_consumer.get(tp).cloned() else {
                    continue; // Java logs "Expected partition to be assigned to a consumer"
                };
                let consumer_size = self.size(&consumer);
                if let Some((prev_consumer, _)) = prev_assignment.get(tp)
                    && self.current_assignment.contains_key(prev_consumer)
                    && self.subscribes(prev_consumer, &tp.topic)
                    && consumer_size > self.size(prev_consumer) + 1
                {
                    self.reassign_partition_to(tp, prev_consumer);
                    reassignment_performed = true;
                    modified = true;
                    continue;
                }
                // check if a better-suited consumer exists for the partition
                let better = self
                    .topic2consumers
                    .get(&tp.topic)
                    .is_some_and(|cs| cs.iter().any(|other| consumer_size > self.size(other) + 1));
                if better {
                    self.reassign_partition(tp);
                    reassignment_performed = true;
                    modified = true;
                }
            }
            if !modified {
                break;
            }
        }
        reassignment_performed
    }

    /// `reassignPartition(partition)`: to the least-loaded consumer subscribed to its topic.
    fn reassign_partition(&mut self, tp: &TopicPartition) {
        let new_consumer =
            self.sorted_subs.iter().find(|(_, c)| self.subscribes(&c.0, &tp.topic)).map(|(_, c)| c.0.clone());
        if let Some(new_consumer) = new_consumer {
            self.reassign_partition_to(tp, &new_consumer);
        }
    }

    fn reassign_partition_to(&mut self, tp: &TopicPartition, new_consumer: &str) {
        let Some(consumer) = self.current_partition_consumer.get(tp).cloned() else {
            return;
        };
        let to_move = self.movements.actual_partition_to_move(tp, &consumer, new_consumer);
        self.process_partition_movement(&to_move, new_consumer);
    }

    fn process_partition_movement(&mut self, tp: &TopicPartition, new_consumer: &str) {
        let Some(old_consumer) = self.current_partition_consumer.get(tp).cloned() else {
            return;
        };
        self.subs_remove(&old_consumer);
        self.subs_remove(new_consumer);
        self.movements.move_partition(tp, &old_consumer, new_consumer);
        remove_first(&mut self.current_assignment, &old_consumer, tp);
        push(&mut self.current_assignment, new_consumer, tp.clone());
        self.current_partition_consumer.insert(tp.clone(), new_consumer.to_string());
        self.subs_add(new_consumer);
        self.subs_add(&old_consumer);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Strategy, Subscription, assign as assign_any};
    use super::*;
    use proptest::prelude::{TestCaseError, prop_assert, prop_assume, proptest};

    type Assignment = BTreeMap<String, Vec<TopicPartition>>;

    fn sticky(t: &BTreeMap<String, u32>, m: &[Subscription]) -> Assignment {
        assign_any(Strategy::Sticky, t, m)
    }

    fn owner(id: &str, topics: &[&str], owned: &[TopicPartition], generation: i32) -> Subscription {
        Subscription::new(id, topics).with_owned(owned.to_vec(), Some(generation))
    }

    fn transferring(t: &BTreeMap<String, u32>, m: &[Subscription]) -> Option<BTreeMap<TopicPartition, String>> {
        run(&Group::new(t, m)).transferring
    }

    #[test]
    fn test_two_consumers_two_topics_six_partitions() {
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 3), ("topic2", 3)]);
        let m = [Subscription::new("consumer1", &both), Subscription::new("consumer2", &both)];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-2 topic2-1"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-0 topic2-2"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_multiple_consumers_mixed_topic_subscriptions() {
        let t = topics(&[("topic1", 3), ("topic2", 2)]);
        let m = [
            Subscription::new("consumer1", &["topic1"]),
            Subscription::new("consumer2", &["topic1", "topic2"]),
            Subscription::new("consumer3", &["topic1"]),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-2"));
        assert_eq!(out["consumer2"], parts("topic2-0 topic2-1"));
        assert_eq!(out["consumer3"], parts("topic1-1"));
        assert_eq!(transferring(&t, &m), None);
    }

    #[test]
    fn test_consumer_owning_min_quota_expected_max_quota() {
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 2), ("topic2", 3)]);
        let m = [
            owner("consumer1", &both, &[tp("topic1", 0), tp("topic2", 1)], 1),
            owner("consumer2", &both, &[tp("topic1", 1), tp("topic2", 2)], 1),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-0 topic2-1 topic2-0"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-2"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_max_quota_consumer_more_than_num_expected_max_capacity_members() {
        // Depends on Java HashMap order: consumer3, consumer2, consumer1 → consumer2 keeps 2.
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 2), ("topic2", 2)]);
        let m = [
            owner("consumer1", &both, &[tp("topic1", 0), tp("topic2", 0)], 1),
            owner("consumer2", &both, &[tp("topic1", 1), tp("topic2", 1)], 1),
            owner("consumer3", &both, &[], 1),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-0"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-1"));
        assert_eq!(out["consumer3"], parts("topic2-0"));
        let expected: BTreeMap<_, _> = [(tp("topic2", 0), "consumer3".to_string())].into();
        assert_eq!(transferring(&t, &m), Some(expected));
    }

    #[test]
    fn test_all_consumers_are_under_min_quota() {
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 2), ("topic2", 3)]);
        let m = [
            owner("consumer1", &both, &[tp("topic1", 0)], 1),
            owner("consumer2", &both, &[tp("topic1", 1)], 1),
            owner("consumer3", &both, &[], 1),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-0 topic2-1"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-2"));
        assert_eq!(out["consumer3"], parts("topic2-0"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_add_remove_consumer_one_topic() {
        let t = topics(&[("topic", 3)]);
        let out = sticky(&t, &[Subscription::new("consumer1", &["topic"])]);
        assert_eq!(out["consumer1"], parts("topic-0 topic-1 topic-2"));
        let m = [owner("consumer1", &["topic"], &out["consumer1"], 1), owner("consumer2", &["topic"], &[], 1)];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic-0 topic-1"));
        assert_eq!(out["consumer2"], parts("topic-2"));
        let expected: BTreeMap<_, _> = [(tp("topic", 2), "consumer2".to_string())].into();
        assert_eq!(transferring(&t, &m), Some(expected));
        let m = [owner("consumer2", &["topic"], &out["consumer2"], 1)];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer2"], parts("topic-0 topic-1 topic-2"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_add_remove_two_consumers_two_topics() {
        let both = ["topic1", "topic2"];
        let t = topics(&[("topic1", 3), ("topic2", 4)]);
        let out = sticky(&t, &[Subscription::new("consumer1", &both), Subscription::new("consumer2", &both)]);
        assert_eq!(out["consumer1"], parts("topic1-0 topic1-2 topic2-1 topic2-3"));
        assert_eq!(out["consumer2"], parts("topic1-1 topic2-0 topic2-2"));
        // add 2 consumers
        let m = [
            owner("consumer1", &both, &out["consumer1"], 1),
            owner("consumer2", &both, &out["consumer2"], 1),
            owner("consumer3", &both, &[], 1),
            owner("consumer4", &both, &[], 1),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-0 topic2-1"));
        assert_eq!(out["consumer2"], parts("topic2-0 topic1-1"));
        assert_eq!(out["consumer3"], parts("topic1-2 topic2-3"));
        assert_eq!(out["consumer4"], parts("topic2-2"));
        let expected: BTreeMap<_, _> = [
            (tp("topic1", 2), "consumer3".to_string()),
            (tp("topic2", 3), "consumer3".to_string()),
            (tp("topic2", 2), "consumer4".to_string()),
        ]
        .into();
        assert_eq!(transferring(&t, &m), Some(expected));
        // remove 2 consumers
        let m = [owner("consumer3", &both, &out["consumer3"], 1), owner("consumer4", &both, &out["consumer4"], 1)];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer3"], parts("topic1-2 topic2-3 topic1-0 topic2-1"));
        assert_eq!(out["consumer4"], parts("topic2-2 topic1-1 topic2-0"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_poor_round_robin_assignment_scenario() {
        let t = topics(&[("topic1", 2), ("topic2", 1), ("topic3", 2), ("topic4", 1), ("topic5", 2)]);
        let all = ["topic1", "topic2", "topic3", "topic4", "topic5"];
        let odd = ["topic1", "topic3", "topic5"];
        let m = [
            Subscription::new("consumer1", &all),
            Subscription::new("consumer2", &odd),
            Subscription::new("consumer3", &odd),
            Subscription::new("consumer4", &all),
        ];
        let out = sticky(&t, &m);
        check_valid(&t, &m, &out).unwrap();
        assert!(counts_spread(&out) <= 1);
        // The test's doc comment result.
        assert_eq!(out["consumer1"], parts("topic2-0 topic3-0"));
        assert_eq!(out["consumer2"], parts("topic1-0 topic3-1"));
        assert_eq!(out["consumer3"], parts("topic1-1 topic5-0"));
        assert_eq!(out["consumer4"], parts("topic4-0 topic5-1"));
    }

    #[test]
    fn test_one_consumer_multiple_topics_and_only_subscribed() {
        let t = topics(&[("topic1", 1), ("topic2", 2)]);
        let out = sticky(&t, &[Subscription::new("consumer", &["topic1", "topic2"])]);
        assert_eq!(out["consumer"], parts("topic1-0 topic2-0 topic2-1"));
        // testOnlyAssignsPartitionsFromSubscribedTopics: owned partitions of "other" are ignored.
        let t = topics(&[("topic", 2)]);
        let m = [owner("consumer", &["topic"], &[tp("topic", 0), tp("topic", 1), tp("other", 0), tp("other", 1)], 1)];
        assert_eq!(sticky(&t, &m)["consumer"], parts("topic-0 topic-1"));
    }

    #[test]
    fn test_two_consumers_one_topic_two_partitions() {
        let t = topics(&[("topic", 2)]);
        let out = sticky(&t, &[Subscription::new("consumer1", &["topic"]), Subscription::new("consumer2", &["topic"])]);
        assert_eq!(out["consumer1"], parts("topic-0"));
        assert_eq!(out["consumer2"], parts("topic-1"));
    }

    #[test]
    fn test_no_exception_thrown_when_only_subscribed_topic_deleted() {
        let m = [owner("consumer", &["topic"], &[tp("topic", 0), tp("topic", 1), tp("topic", 2)], 1)];
        let out = sticky(&BTreeMap::new(), &m);
        assert_eq!(out.len(), 1);
        assert!(out["consumer"].is_empty());
    }

    #[test]
    fn test_all_consumers_reach_expected_quota_and_are_considered_filled() {
        let t = topics(&[("topic", 4)]);
        let m = [
            owner("consumer1", &["topic"], &[tp("topic", 0), tp("topic", 1)], 1),
            owner("consumer2", &["topic"], &[tp("topic", 2)], 1),
            owner("consumer3", &["topic"], &[], 1),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic-0 topic-1"));
        assert_eq!(out["consumer2"], parts("topic-2"));
        assert_eq!(out["consumer3"], parts("topic-3"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_owned_partitions_are_invalidated_for_consumer_with_stale_or_no_generation() {
        let both = ["topic", "topic2"];
        let t = topics(&[("topic", 3), ("topic2", 3)]);
        let claimed = [tp("topic", 0), tp("topic", 2), tp("topic2", 1)];
        for stale in [Some(9), None] {
            let m = [
                owner("consumer1", &both, &claimed, 10),
                Subscription::new("consumer2", &both).with_owned(claimed.to_vec(), stale),
            ];
            let out = sticky(&t, &m);
            assert_eq!(out["consumer1"], parts("topic-0 topic-2 topic2-1"));
            assert_eq!(out["consumer2"], parts("topic-1 topic2-0 topic2-2"));
            assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
        }
    }

    #[test]
    fn test_partitions_transferring_ownership_include_the_partition_claimed_by_multiple_consumers_in_same_generation() {
        let t = topics(&[("topic", 3)]);
        let m = [
            owner("consumer1", &["topic"], &[tp("topic", 0), tp("topic", 1)], 1),
            owner("consumer2", &["topic"], &[tp("topic", 0), tp("topic", 2)], 1),
            owner("consumer3", &["topic"], &[], 1),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic-1"));
        assert_eq!(out["consumer2"], parts("topic-2"));
        assert_eq!(out["consumer3"], parts("topic-0"));
        let expected: BTreeMap<_, _> = [(tp("topic", 0), "consumer3".to_string())].into();
        assert_eq!(transferring(&t, &m), Some(expected));
    }

    #[test]
    fn test_ensure_partitions_assigned_to_highest_generation() {
        let all = ["topic", "topic2", "topic3"];
        let t = topics(&[("topic", 3), ("topic2", 3), ("topic3", 3)]);
        let m = [
            owner("consumer1", &all, &[tp("topic", 0), tp("topic2", 0), tp("topic3", 0)], 10),
            owner("consumer2", &all, &[tp("topic", 1), tp("topic2", 1), tp("topic3", 1)], 9),
            owner("consumer3", &all, &[tp("topic2", 1), tp("topic3", 0), tp("topic3", 2)], 8),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic-0 topic2-0 topic3-0"));
        assert_eq!(out["consumer2"], parts("topic-1 topic2-1 topic3-1"));
        assert_eq!(out["consumer3"], parts("topic-2 topic2-2 topic3-2"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_no_reassignment_on_current_members() {
        let all = ["topic", "topic2", "topic3", "topic1"];
        let t = topics(&[("topic", 3), ("topic1", 3), ("topic2", 3), ("topic3", 3)]);
        let m = [
            Subscription::new("consumer1", &all).with_owned(vec![], Some(DEFAULT_GENERATION)),
            owner("consumer2", &all, &[tp("topic", 0), tp("topic2", 0), tp("topic1", 0)], 9),
            owner("consumer3", &all, &[tp("topic3", 2), tp("topic2", 2), tp("topic1", 1)], 8),
            owner("consumer4", &all, &[tp("topic3", 1), tp("topic", 1), tp("topic", 2)], 7),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic1-2 topic2-1 topic3-0"));
        check_valid(&t, &m, &out).unwrap();
        assert!(counts_spread(&out) <= 1);
    }

    #[test]
    fn test_owned_partitions_are_invalidated_for_consumer_with_multiple_generation() {
        let both = ["topic", "topic2"];
        let t = topics(&[("topic", 3), ("topic2", 3)]);
        let m = [
            owner("consumer1", &both, &[tp("topic", 0), tp("topic2", 1), tp("topic", 1)], 10),
            owner("consumer2", &both, &[tp("topic", 0), tp("topic2", 1), tp("topic2", 2)], 8),
        ];
        let out = sticky(&t, &m);
        assert_eq!(out["consumer1"], parts("topic-0 topic2-1 topic-1"));
        assert_eq!(out["consumer2"], parts("topic-2 topic2-2 topic2-0"));
        assert_eq!(transferring(&t, &m), Some(BTreeMap::new()));
    }

    #[test]
    fn test_subscription_not_equal_and_assign_same_partition_with_3_generation() {
        let t = topics(&[("topic", 6), ("topic1", 1)]);
        for g in [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]] {
            let m = [
                owner("consumer1", &["topic"], &[tp("topic", 0), tp("topic", 2)], g[0]),
                owner("consumer2", &["topic"], &[tp("topic", 1), tp("topic", 2), tp("topic", 3)], g[1]),
                owner("consumer3", &["topic"], &[tp("topic", 2), tp("topic", 4), tp("topic", 5)], g[2]),
                owner("consumer4", &["topic1"], &[tp("topic1", 0)], 2),
            ];
            let out = sticky(&t, &m);
            check_valid(&t, &m, &out).unwrap();
            assert!(out.values().all(|l| (1..=2).contains(&l.len())));
        }
    }

    #[test]
    fn test_stickiness() {
        let t = topics(&[("topic1", 3)]);
        let m: Vec<Subscription> = (1..=4).map(|i| Subscription::new(format!("consumer{i}"), &["topic1"])).collect();
        let out = sticky(&t, &m);
        assert!(out.values().all(|l| l.len() <= 1));
        let m2: Vec<Subscription> = (2..=4)
            .map(|i| {
                let id = format!("consumer{i}");
                owner(&id, &["topic1"], &out[&id], 1)
            })
            .collect();
        let out2 = sticky(&t, &m2);
        for (c, l) in &out2 {
            assert_eq!(l.len(), 1);
            assert!(out[c].iter().all(|p| l.contains(p)), "stickiness broken for {c}");
        }
    }

    #[test]
    fn test_add_remove_topic_two_consumers() {
        let mut t = topics(&[("topic", 3)]);
        let m = [Subscription::new("consumer1", &["topic"]), Subscription::new("consumer2", &["topic"])];
        let a1 = sticky(&t, &m);
        assert!(counts_spread(&a1) <= 1);
        t.insert("topic2".into(), 3);
        let both = ["topic", "topic2"];
        let m = [owner("consumer1", &both, &a1["consumer1"], 1), owner("consumer2", &both, &a1["consumer2"], 1)];
        let a2 = sticky(&t, &m);
        assert_eq!((a2["consumer1"].len(), a2["consumer2"].len()), (3, 3));
        assert!(a1["consumer1"].iter().all(|p| a2["consumer1"].contains(p)));
        assert!(a1["consumer2"].iter().all(|p| a2["consumer2"].contains(p)));
        t.remove("topic");
        let m = [
            owner("consumer1", &["topic2"], &a2["consumer1"], 1),
            owner("consumer2", &["topic2"], &a2["consumer2"], 1),
        ];
        let a3 = sticky(&t, &m);
        assert!(counts_spread(&a3) <= 1);
        assert!(a3["consumer1"].iter().all(|p| a2["consumer1"].contains(p)));
        assert!(a3["consumer2"].iter().all(|p| a2["consumer2"].contains(p)));
    }

    /// AbstractStickyAssignorTest.testRackAwareAssignmentWithUniformSubscription (non-rack case).
    #[test]
    fn test_uniform_subscription_without_racks() {
        let t = topics(&[("t1", 6), ("t2", 7), ("t3", 2)]);
        let all = ["t1", "t2", "t3"];
        let expected = ["t1-0, t1-3, t2-0, t2-3, t2-6", "t1-1, t1-4, t2-1, t2-4, t3-0", "t1-2, t1-5, t2-2, t2-5, t3-1"];
        for owned in [None, Some(expected)] {
            let m: Vec<Subscription> = (0..3)
                .map(|i| {
                    let owned = owned.map(|o| parts(o[i])).unwrap_or_default();
                    Subscription::new(format!("consumer{i}"), &all).with_owned(owned, Some(DEFAULT_GENERATION))
                })
                .collect();
            for s in [Strategy::Sticky, Strategy::CooperativeSticky] {
                let out = assign_any(s, &t, &m);
                for (i, e) in expected.iter().enumerate() {
                    assert_eq!(out[&format!("consumer{i}")], parts(e), "{s} consumer{i}");
                }
            }
        }
    }

    /// AbstractStickyAssignorTest.testRackAwareAssignmentWithNonEqualSubscription (non-rack
    /// case; Case B, exact expectations from Kafka).
    #[test]
    fn test_non_equal_subscription_without_racks() {
        let t = topics(&[("t1", 6), ("t2", 7), ("t3", 2)]);
        let subs: [&[&str]; 3] = [&["t1", "t2", "t3"], &["t1", "t2", "t3"], &["t1", "t3"]];
        let expected = ["t1-5, t2-0, t2-2, t2-4, t2-6", "t1-3, t2-1, t2-3, t2-5, t3-0", "t1-0, t1-1, t1-2, t1-4, t3-1"];
        let members = |owned: Option<[&str; 3]>| -> Vec<Subscription> {
            (0..3)
                .map(|i| {
                    let owned = owned.map(|o| parts(o[i])).unwrap_or_default();
                    Subscription::new(format!("consumer{i}"), subs[i]).with_owned(owned, Some(DEFAULT_GENERATION))
                })
                .collect()
        };
        let check = |s: Strategy, owned: Option<[&str; 3]>, exp: [&str; 3]| {
            let out = assign_any(s, &t, &members(owned));
            for (i, e) in exp.iter().enumerate() {
                assert_eq!(out[&format!("consumer{i}")], parts(e), "{s} consumer{i} owned={owned:?}");
            }
        };
        for s in [Strategy::Sticky, Strategy::CooperativeSticky] {
            check(s, None, expected);
            check(s, Some(expected), expected);
        }
        // Cooperative with misaligned previous ownership: two rounds (intermediate withholds).
        let owned = ["t1-0, t1-1, t1-2, t1-3, t1-4", "t1-5, t2-0, t2-1, t2-2, t2-3", "t2-4, t2-5, t2-6, t3-0, t3-1"];
        let intermediate = ["t1-2, t1-3, t1-4", "t2-0, t2-1, t2-2, t2-3", "t3-0, t3-1"];
        let fin = ["t1-2, t1-3, t1-4, t2-4, t2-5", "t2-0, t2-1, t2-2, t2-3, t2-6", "t1-0, t1-1, t1-5, t3-0, t3-1"];
        check(Strategy::CooperativeSticky, Some(owned), intermediate);
        check(Strategy::CooperativeSticky, Some(intermediate), fin);
    }

    // ------------------------------------------------------------------ properties

    fn survivors_keep_quota(
        t: &BTreeMap<String, u32>,
        prev: &Assignment,
        next_members: &[Subscription],
        next: &Assignment,
    ) -> Result<(), TestCaseError> {
        let subscribed: usize = t.values().map(|&n| n as usize).sum();
        let floor = subscribed / next_members.len();
        for m in next_members {
            let Some(owned) = prev.get(&m.member_id) else {
                continue;
            };
            let kept = owned.iter().filter(|p| next[&m.member_id].contains(p)).count();
            prop_assert!(
                kept >= owned.len().min(floor),
                "{} kept {} of {:?} (floor {})",
                m.member_id,
                kept,
                owned,
                floor
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn prop_sticky_valid((t, members) in arb_group()) {
            let out = sticky(&t, &members);
            check_valid(&t, &members, &out)?;
            // and again with the result as previous ownership
            let m2: Vec<Subscription> = members
                .iter()
                .map(|m| m.clone().with_owned(out[&m.member_id].clone(), Some(3)))
                .collect();
            let out2 = sticky(&t, &m2);
            check_valid(&t, &m2, &out2)?;
        }

        #[test]
        fn prop_sticky_balanced_for_identical_subscriptions((t, mut members) in arb_group()) {
            let all: Vec<String> = t.keys().cloned().collect();
            for m in &mut members { m.topics = all.clone(); }
            let out = sticky(&t, &members);
            check_valid(&t, &members, &out)?;
            prop_assert!(counts_spread(&out) <= 1);
        }

        #[test]
        fn prop_sticky_add_or_remove_one_member_keeps_owned((t, mut members) in arb_group(), remove in proptest::bool::ANY, pick in 0usize..6) {
            let all: Vec<String> = t.keys().cloned().collect();
            for m in &mut members { m.topics = all.clone(); }
            let prev = sticky(&t, &members);
            let mut next: Vec<Subscription> = members
                .iter()
                .map(|m| m.clone().with_owned(prev[&m.member_id].clone(), Some(5)))
                .collect();
            if remove {
                prop_assume!(next.len() > 1);
                let i = pick % next.len();
                next.remove(i);
            } else {
                next.push(Subscription { member_id: "zz-new".into(), topics: all.clone(), ..Default::default() });
            }
            let out = sticky(&t, &next);
            check_valid(&t, &next, &out)?;
            prop_assert!(counts_spread(&out) <= 1);
            survivors_keep_quota(&t, &prev, &next, &out)?;
        }

        #[test]
        fn prop_sticky_heterogeneous_survivors_keep_owned((t, members) in arb_group(), pick in 0usize..6) {
            // Case B (random subscriptions): removing one member from a previous sticky result
            // still yields a valid assignment.
            let prev = sticky(&t, &members);
            prop_assume!(members.len() > 1);
            let mut next: Vec<Subscription> = members
                .iter()
                .map(|m| m.clone().with_owned(prev[&m.member_id].clone(), Some(5)))
                .collect();
            next.remove(pick % members.len());
            let out = sticky(&t, &next);
            check_valid(&t, &next, &out)?;
        }
    }
}
