//! Client-side consumer partition assignors of the classic group protocol.
//!
//! Models the four assignors that ship with the Apache Kafka Java client (the group leader runs
//! them locally after JoinGroup, see kafka-reference §4.3 step 4 and §5):
//!
//! | Strategy | Kafka class (apache/kafka) | Module |
//! |---|---|---|
//! | `range` | `clients/src/main/java/org/apache/kafka/clients/consumer/RangeAssignor.java` | [`range`] |
//! | `roundrobin` | `clients/src/main/java/org/apache/kafka/clients/consumer/RoundRobinAssignor.java` | [`round_robin`] |
//! | `sticky` | `clients/src/main/java/org/apache/kafka/clients/consumer/StickyAssignor.java` + `.../consumer/internals/AbstractStickyAssignor.java` | [`sticky`] |
//! | `cooperative-sticky` | `clients/src/main/java/org/apache/kafka/clients/consumer/CooperativeStickyAssignor.java` | [`cooperative_sticky`] |
//!
//! This file holds the shared types, the dispatch, and the common rules of
//! `clients/src/main/java/org/apache/kafka/clients/consumer/internals/AbstractPartitionAssignor.java`:
//!
//! * topics without metadata (absent from `topics`, or with 0 partitions) are skipped
//!   (`AbstractPartitionAssignor.assign(Cluster, GroupSubscription)` builds `partitionsPerTopic`
//!   only from subscribed topics with a partition count > 0);
//! * every member appears in the result, possibly with an empty list;
//! * `MemberInfo` order (`AbstractPartitionAssignor.MemberInfo.compareTo`): static members
//!   (with `group.instance.id`) first, ordered by instance id; then dynamic members by member id;
//!   string comparison is Java `String.compareTo` (UTF-16 code units), see [`java_cmp`].
//!
//! Java collections whose iteration order leaks into Kafka's results are emulated
//! deterministically here: the leader's `HashMap<String, Subscription>` (see
//! [`java_hash_map_order`]) and `HashSet<TopicPartition>` ([`JavaHashSet`]). No Rust `HashMap`
//! or `HashSet` is used anywhere.
//!
//! Simplifications (documented per module): rack awareness (KIP-881) is omitted, which is exact
//! when consumers do not set `client.rack`; member metadata is the already-decoded
//! [`Subscription`] (for `sticky`, Kafka reads owned partitions + generation from the assignor
//! user data; for `cooperative-sticky` from `ownedPartitions`/`generationId` — here both come from
//! the same fields). Input normalisation: a member id listed twice keeps its first position and
//! its last subscription (Java `HashMap.put`), duplicate topics in one subscription are collapsed,
//! and owned partitions whose partition number does not exist in metadata are ignored.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

pub mod cooperative_sticky;
pub mod range;
pub mod round_robin;
pub mod sticky;

/// A topic partition. Ordered by `(topic, partition)`; displayed as `topic-partition`
/// (Kafka's `TopicPartition.toString`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: u32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: u32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }

    /// Java `TopicPartition.hashCode()`: `31 * (31 * 1 + partition) + topic.hashCode()`.
    pub(crate) fn java_hash(&self) -> i32 {
        let mut result: i32 = 1;
        result = result.wrapping_mul(31).wrapping_add(self.partition as i32);
        result.wrapping_mul(31).wrapping_add(java_string_hash(&self.topic))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// One member's JoinGroup metadata as seen by the group leader
/// (`ConsumerPartitionAssignor.Subscription`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Subscription {
    pub member_id: String,
    /// `group.instance.id` (static membership, KIP-345).
    pub group_instance_id: Option<String>,
    pub topics: Vec<String>,
    /// Partitions the member owned before this rebalance (`ownedPartitions`, or the sticky
    /// assignor's user data).
    pub owned_partitions: Vec<TopicPartition>,
    /// Generation of `owned_partitions` (`generationId`); `None` = unknown (`DEFAULT_GENERATION`).
    pub generation: Option<i32>,
}

impl Subscription {
    /// A dynamic member with no previous ownership.
    pub fn new(member_id: impl Into<String>, topics: &[&str]) -> Self {
        Subscription {
            member_id: member_id.into(),
            group_instance_id: None,
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned_partitions: Vec::new(),
            generation: None,
        }
    }

    pub fn with_instance_id(mut self, id: impl Into<String>) -> Self {
        self.group_instance_id = Some(id.into());
        self
    }

    pub fn with_owned(mut self, owned: Vec<TopicPartition>, generation: Option<i32>) -> Self {
        self.owned_partitions = owned;
        self.generation = generation;
        self
    }
}

/// The client-side assignment strategies (`partition.assignment.strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    Range,
    RoundRobin,
    Sticky,
    CooperativeSticky,
}

impl Strategy {
    pub const ALL: [Strategy; 4] =
        [Strategy::Range, Strategy::RoundRobin, Strategy::Sticky, Strategy::CooperativeSticky];

    /// The protocol name the assignor advertises in JoinGroup (`ConsumerPartitionAssignor.name()`).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Range => "range",
            Strategy::RoundRobin => "roundrobin",
            Strategy::Sticky => "sticky",
            Strategy::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Whether the assignor supports the COOPERATIVE rebalance protocol (KIP-429); only
    /// `cooperative-sticky` does (`supportedProtocols()`).
    pub fn is_cooperative(self) -> bool {
        matches!(self, Strategy::CooperativeSticky)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of [`Strategy::from_str`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseStrategyError(pub String);

impl fmt::Display for ParseStrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown assignment strategy `{}` (expected range, roundrobin, sticky or cooperative-sticky)", self.0)
    }
}

impl std::error::Error for ParseStrategyError {}

impl FromStr for Strategy {
    type Err = ParseStrategyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL.into_iter().find(|st| st.name() == s).ok_or_else(|| ParseStrategyError(s.to_string()))
    }
}

/// Computes the assignment Kafka's `strategy` produces.
///
/// `topics`: topic name → partition count from metadata (absent/0-partition topics are skipped).
/// The result contains every member id; each list is sorted by `(topic, partition)`.
pub fn assign(
    strategy: Strategy,
    topics: &BTreeMap<String, u32>,
    members: &[Subscription],
) -> BTreeMap<String, Vec<TopicPartition>> {
    let group = Group::new(topics, members);
    let mut out = match strategy {
        Strategy::Range => range::assign(&group),
        Strategy::RoundRobin => round_robin::assign(&group),
        Strategy::Sticky => sticky::assign(&group),
        Strategy::CooperativeSticky => cooperative_sticky::assign(&group),
    };
    for m in &group.members {
        out.entry(m.member_id.clone()).or_default();
    }
    for list in out.values_mut() {
        list.sort();
        list.dedup();
    }
    out
}

/// One line per member, members sorted by id, partitions sorted:
/// `"c1: orders-0 orders-1 payments-0\nc2:\n"`.
pub fn format_assignment(assignment: &BTreeMap<String, Vec<TopicPartition>>) -> String {
    let mut s = String::new();
    for (member, parts) in assignment {
        let mut parts: Vec<&TopicPartition> = parts.iter().collect();
        parts.sort();
        s.push_str(member);
        s.push(':');
        for tp in parts {
            s.push(' ');
            s.push_str(&tp.to_string());
        }
        s.push('\n');
    }
    s
}

/// `(revoked, added)`: partitions in `prev` but not `next`, and in `next` but not `prev`, both
/// sorted. This is what a consumer computes after SyncGroup
/// (`ConsumerCoordinator.onJoinComplete`): under COOPERATIVE it calls
/// `onPartitionsRevoked(revoked)` and rejoins if `revoked` is non-empty.
pub fn revoked_and_added(
    prev: &[TopicPartition],
    next: &[TopicPartition],
) -> (Vec<TopicPartition>, Vec<TopicPartition>) {
    let p: BTreeSet<&TopicPartition> = prev.iter().collect();
    let n: BTreeSet<&TopicPartition> = next.iter().collect();
    let revoked = p.difference(&n).map(|tp| (*tp).clone()).collect();
    let added = n.difference(&p).map(|tp| (*tp).clone()).collect();
    (revoked, added)
}

// ---------------------------------------------------------------------------------------------
// Java emulation helpers
// ---------------------------------------------------------------------------------------------

/// Java `String.compareTo`: lexicographic over UTF-16 code units (differs from Rust's byte order
/// only for characters above U+FFFF vs. U+E000..U+FFFF).
pub fn java_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Java `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping i32.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// Java `HashMap.hash`: `h ^ (h >>> 16)`.
fn java_spread(h: i32) -> u32 {
    let h = h as u32;
    h ^ (h >> 16)
}

/// `java.util.HashMap` constants.
const JAVA_DEFAULT_CAPACITY: usize = 16;
const JAVA_TREEIFY_THRESHOLD: usize = 8;
const JAVA_MIN_TREEIFY_CAPACITY: usize = 64;

/// Iteration order of a `new HashMap<>()` (or `HashSet`) into which keys with the given
/// `hashCode()`s were inserted in this order (no removals). Returns indices into `hashes`.
///
/// Java iterates buckets in ascending index `(h ^ (h >>> 16)) & (capacity - 1)`; within a
/// bucket, nodes keep insertion order (resizes split chains preserving relative order).
/// Capacity starts at 16 and doubles when `size > 0.75 * capacity`, or when a chain reaches
/// `TREEIFY_THRESHOLD` while `capacity < 64` (`treeifyBin` resizes instead). Not emulated: the
/// order of a treeified bin (≥ 9 keys in one bucket with capacity ≥ 64).
pub fn java_hash_map_order(hashes: &[i32]) -> Vec<usize> {
    let spread: Vec<u32> = hashes.iter().map(|&h| java_spread(h)).collect();
    let mut cap = JAVA_DEFAULT_CAPACITY;
    for i in 0..spread.len() {
        let bucket = spread[i] as usize & (cap - 1);
        let bin_len = spread[..i].iter().filter(|&&s| s as usize & (cap - 1) == bucket).count();
        if bin_len >= JAVA_TREEIFY_THRESHOLD && cap < JAVA_MIN_TREEIFY_CAPACITY {
            cap *= 2;
        }
        if i + 1 > cap / 4 * 3 {
            cap *= 2;
        }
    }
    let mut order: Vec<usize> = (0..spread.len()).collect();
    order.sort_by_key(|&i| (spread[i] as usize & (cap - 1), i));
    order
}

/// A `java.util.HashSet<TopicPartition>` (created with `new HashSet<>()`) reduced to what Kafka
/// observes: membership and `iterator().next()` (the first element in Java iteration order).
#[derive(Clone, Debug)]
pub(crate) struct JavaHashSet {
    cap: usize,
    next_seq: u64,
    /// (element, spread hash, insertion sequence)
    items: Vec<(TopicPartition, u32, u64)>,
}

impl JavaHashSet {
    pub(crate) fn new() -> Self {
        JavaHashSet { cap: JAVA_DEFAULT_CAPACITY, next_seq: 0, items: Vec::new() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn insert(&mut self, tp: TopicPartition) {
        if self.items.iter().any(|(t, _, _)| *t == tp) {
            return;
        }
        let spread = java_spread(tp.java_hash());
        let bucket = spread as usize & (self.cap - 1);
        let bin_len = self.items.iter().filter(|(_, s, _)| *s as usize & (self.cap - 1) == bucket).count();
        if bin_len >= JAVA_TREEIFY_THRESHOLD && self.cap < JAVA_MIN_TREEIFY_CAPACITY {
            self.cap *= 2;
        }
        self.items.push((tp, spread, self.next_seq));
        self.next_seq += 1;
        if self.items.len() > self.cap / 4 * 3 {
            self.cap *= 2;
        }
    }

    pub(crate) fn remove(&mut self, tp: &TopicPartition) {
        self.items.retain(|(t, _, _)| t != tp);
    }

    /// `set.iterator().next()`.
    pub(crate) fn first(&self) -> Option<&TopicPartition> {
        self.items.iter().min_by_key(|(_, s, seq)| (*s as usize & (self.cap - 1), *seq)).map(|(t, _, _)| t)
    }
}

/// A string ordered like Java `String.compareTo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JStr(pub String);

impl Ord for JStr {
    fn cmp(&self, other: &Self) -> Ordering {
        java_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for JStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// `AbstractPartitionAssignor.MemberInfo.compareTo`.
pub(crate) fn member_info_cmp(a: &Subscription, b: &Subscription) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => java_cmp(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_cmp(&a.member_id, &b.member_id),
    }
}

/// Normalised assignor input, shared by all strategies.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// Members in insertion (join) order, deduplicated by member id.
    pub members: Vec<Subscription>,
    /// Indices into `members` in Java `HashMap<String, Subscription>` iteration order.
    pub hash_order: Vec<usize>,
    /// Subscribed topics that have metadata (count > 0) → partition count.
    pub partitions_per_topic: BTreeMap<String, u32>,
}

impl Group {
    pub(crate) fn new(topics: &BTreeMap<String, u32>, members: &[Subscription]) -> Self {
        let mut deduped: Vec<Subscription> = Vec::new();
        for m in members {
            let mut m = m.clone();
            let mut seen = BTreeSet::new();
            m.topics.retain(|t| seen.insert(t.clone()));
            match deduped.iter_mut().find(|d| d.member_id == m.member_id) {
                Some(existing) => *existing = m,
                None => deduped.push(m),
            }
        }
        let mut partitions_per_topic = BTreeMap::new();
        for m in &deduped {
            for t in &m.topics {
                if let Some(&n) = topics.get(t)
                    && n > 0
                {
                    partitions_per_topic.insert(t.clone(), n);
                }
            }
        }
        let hashes: Vec<i32> = deduped.iter().map(|m| java_string_hash(&m.member_id)).collect();
        let hash_order = java_hash_map_order(&hashes);
        Group { members: deduped, hash_order, partitions_per_topic }
    }

    /// Members in Java HashMap order, then stably sorted by `MemberInfo` order (what
    /// `Utils.sorted(memberInfoList)` / `Collections.sort(consumers)` yield).
    pub(crate) fn member_info_sorted(&self) -> Vec<&Subscription> {
        let mut v: Vec<&Subscription> = self.hash_order.iter().map(|&i| &self.members[i]).collect();
        v.sort_by(|a, b| member_info_cmp(a, b));
        v
    }

    pub(crate) fn empty_assignment(&self) -> BTreeMap<String, Vec<TopicPartition>> {
        self.members.iter().map(|m| (m.member_id.clone(), Vec::new())).collect()
    }
}

/// Shared helpers for the unit and property tests of all assignor modules.
#[cfg(test)]
pub(crate) mod test_util {
    use super::*;
    use proptest::prelude::{ProptestConfig, TestCaseError, any, prop_assert, prop_assert_eq};
    use proptest::strategy::Strategy as PStrategy;

    pub fn tp(topic: &str, partition: u32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    pub fn topics(list: &[(&str, u32)]) -> BTreeMap<String, u32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    /// Parses `"t1-0, t1-3, t2-0"` (Kafka's `toSortedString`) or `"t1-0 t1-3"`.
    pub fn parts(s: &str) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = s
            .split([',', ' '])
            .filter(|x| !x.is_empty())
            .map(|x| {
                let i = x.rfind('-').unwrap();
                tp(&x[..i], x[i + 1..].parse().unwrap())
            })
            .collect();
        v.sort();
        v
    }

    pub fn config() -> ProptestConfig {
        ProptestConfig { failure_persistence: None, cases: 256, ..ProptestConfig::default() }
    }

    /// Random topics (1–4, 1–8 partitions) and members (1–6) with random subscriptions
    /// (possibly including a topic without metadata) and random static ids.
    pub fn arb_group() -> impl PStrategy<Value = (BTreeMap<String, u32>, Vec<Subscription>)> {
        let pool = ["orders", "payments", "t1", "Beta"];
        (1usize..=4, proptest::collection::vec(1u32..=8, 4)).prop_flat_map(move |(nt, counts)| {
            let topics: BTreeMap<String, u32> = (0..nt).map(|i| (pool[i].to_string(), counts[i])).collect();
            let names: Vec<String> = topics.keys().cloned().collect();
            let member = (proptest::collection::vec(any::<bool>(), nt + 1), proptest::option::of(0u8..6));
            proptest::collection::vec(member, 1..=6).prop_map(move |ms| {
                let members = ms
                    .into_iter()
                    .enumerate()
                    .map(|(i, (mask, inst))| {
                        let mut topics: Vec<String> =
                            names.iter().zip(&mask).filter(|(_, b)| **b).map(|(n, _)| n.clone()).collect();
                        if mask[nt] {
                            topics.push("unknown".to_string());
                        }
                        Subscription {
                            member_id: format!("consumer-{}", i * 7 % 11),
                            group_instance_id: inst.map(|x| format!("inst-{x}-{i}")),
                            topics,
                            owned_partitions: Vec::new(),
                            generation: None,
                        }
                    })
                    .collect();
                (topics.clone(), members)
            })
        })
    }

    /// Every partition of a topic with at least one subscriber is assigned exactly once, to a
    /// subscriber; nothing else is assigned; every member is present.
    pub fn check_valid(
        topics: &BTreeMap<String, u32>,
        members: &[Subscription],
        out: &BTreeMap<String, Vec<TopicPartition>>,
    ) -> Result<(), TestCaseError> {
        let mut seen = BTreeSet::new();
        for m in members {
            prop_assert!(out.contains_key(&m.member_id));
        }
        prop_assert_eq!(out.len(), members.len());
        for (member, parts) in out {
            let sub = members.iter().find(|m| &m.member_id == member).unwrap();
            for p in parts {
                prop_assert!(sub.topics.contains(&p.topic), "{} got unsubscribed {}", member, p);
                prop_assert!(p.partition < *topics.get(&p.topic).unwrap_or(&0));
                prop_assert!(seen.insert(p.clone()), "{} assigned twice", p);
            }
        }
        for (t, &n) in topics {
            if members.iter().any(|m| m.topics.contains(t)) {
                for p in 0..n {
                    prop_assert!(seen.contains(&tp(t, p)), "{}-{} unassigned", t, p);
                }
            }
        }
        Ok(())
    }

    pub fn counts_spread(out: &BTreeMap<String, Vec<TopicPartition>>) -> usize {
        let max = out.values().map(Vec::len).max().unwrap_or(0);
        let min = out.values().map(Vec::len).min().unwrap_or(0);
        max - min
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

    #[test]
    fn strategy_names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>(), Ok(s));
            assert_eq!(s.to_string(), s.name());
        }
        assert!("Range".parse::<Strategy>().is_err());
        assert!(Strategy::CooperativeSticky.is_cooperative());
        assert!(!Strategy::Sticky.is_cooperative());
    }

    #[test]
    fn format_assignment_output() {
        let mut a = BTreeMap::new();
        a.insert("c1".to_string(), vec![tp("payments", 0), tp("orders", 1), tp("orders", 0)]);
        a.insert("c2".to_string(), vec![]);
        assert_eq!(format_assignment(&a), "c1: orders-0 orders-1 payments-0\nc2:\n");
        assert_eq!(format_assignment(&BTreeMap::new()), "");
    }

    #[test]
    fn java_string_semantics() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("consumer1"), -421_004_549);
        assert_eq!(java_cmp("consumer-10", "consumer-2"), Ordering::Less);
        assert_eq!(java_cmp("Beta", "alpha"), Ordering::Less);
        // U+FF61 (one UTF-16 unit 0xFF61) sorts after U+10000 (surrogates 0xD800..) in Rust but
        // before it in Java.
        assert_eq!(java_cmp("\u{10000}", "\u{FF61}"), Ordering::Less);
        assert_eq!(tp("topic", 0).java_hash(), 961 + java_string_hash("topic"));
    }

    #[test]
    fn java_hash_map_order_matches_kafka_reference() {
        // kafka-reference §5.4: consumer1..4 hash to buckets 12, 11, 10, 9.
        let ids = ["consumer1", "consumer2", "consumer3", "consumer4"];
        let hashes: Vec<i32> = ids.iter().map(|s| java_string_hash(s)).collect();
        let buckets: Vec<u32> = hashes.iter().map(|&h| java_spread(h) & 15).collect();
        assert_eq!(buckets, vec![12, 11, 10, 9]);
        assert_eq!(java_hash_map_order(&hashes), vec![3, 2, 1, 0]);
        // 13 keys force capacity 32.
        let many: Vec<i32> = (0..13).map(|i| i * 16).collect();
        let order = java_hash_map_order(&many);
        assert_eq!(order[0], 0);
        assert_eq!(order[1], 2); // 32 & 31 == 0 → same bucket as 0, after it
    }

    #[test]
    fn revoked_and_added_helper() {
        let (r, a) = revoked_and_added(&[tp("a", 0), tp("a", 1)], &[tp("a", 1), tp("b", 0)]);
        assert_eq!(r, vec![tp("a", 0)]);
        assert_eq!(a, vec![tp("b", 0)]);
    }

    #[test]
    fn no_panics_on_degenerate_input() {
        for s in Strategy::ALL {
            assert!(assign(s, &BTreeMap::new(), &[]).is_empty());
            let dup = vec![
                Subscription::new("c1", &["t"]).with_owned(vec![tp("t", 0), tp("t", 0), tp("t", 9)], Some(1)),
                Subscription::new("c2", &["t", "t"]).with_owned(vec![tp("t", 0), tp("zz", 0)], Some(1)),
                Subscription::new("c1", &["t"]).with_owned(vec![tp("t", 0), tp("t", 0)], Some(1)),
                Subscription::new("c3", &[]),
            ];
            let out = assign(s, &topics(&[("t", 3), ("empty", 0)]), &dup);
            assert_eq!(out.len(), 3);
            assert!(out["c3"].is_empty());
        }
    }
}
