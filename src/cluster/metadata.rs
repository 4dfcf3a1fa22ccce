//! Static cluster facts every node knows from the start: topics, partitions and their replicas.
//!
//! Partitions are numbered globally (topic by topic); `TopicMeta::first` maps a topic's partition
//! `p` to the global index `first + p`. Who *leads* a partition changes over time and is not
//! here: the controller publishes it (`PartitionState`), brokers cache it, and clients learn it
//! through metadata requests.

use super::placement::assign_replicas;
use crate::protocol::PartitionState;
use crate::scenario::{Fault, Scenario};
use crate::sim::NodeId;

/// One topic.
#[derive(Clone, Debug)]
pub struct TopicMeta {
    pub name: String,
    /// The most partitions the topic has during the run (its layout): the partitions it starts
    /// with, then those a `CreatePartitions` fault adds.
    pub partitions: u32,
    /// The partitions it has at the start; the others exist once the controller creates them.
    pub initial_partitions: u32,
    /// Global index of partition 0.
    pub first: u32,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    /// `retention.ms`, `retention.bytes`, `segment.bytes`, `segment.ms`, when retention can
    /// delete anything during the run (see [`crate::scenario::Topic::retention_applies`]).
    pub retention: Option<crate::cluster::log::Retention>,
    /// `cleanup.policy` includes `compact`: the log cleaner's settings for the topic.
    pub compaction: Option<crate::cluster::cleaner::Compaction>,
    /// Consumer groups subscribed to the topic (indices into the scenario's groups).
    pub groups: Vec<u32>,
    /// A consume-transform-produce group writes to it: its log is kept whole (not trimmed behind
    /// its readers), so the end-of-run check of the output reads every record.
    pub is_output: bool,
    /// A `Reassign` fault moves one of its partitions: its log is kept whole (not trimmed behind
    /// its readers), so a new replica copies everything Kafka's 7-day `retention.ms` would keep.
    pub reassigned: bool,
}

/// What every node knows about the cluster's layout.
#[derive(Clone, Debug)]
pub struct Metadata {
    pub topics: Vec<TopicMeta>,
    /// Global partition → its topic.
    pub partition_topic: Vec<u32>,
    /// Global partition → its replicas, preferred leader first.
    pub replicas: Vec<Vec<u32>>,
    pub brokers: u32,
    /// The controllers (the KRaft quorum's voters), right after the brokers.
    pub controllers: u32,
}

impl Metadata {
    /// Metadata for a validated scenario.
    pub fn new(s: &Scenario) -> Metadata {
        let mut topics = Vec::new();
        let mut partition_topic = Vec::new();
        let mut replicas = Vec::new();
        for (t, topic) in s.topics.iter().enumerate() {
            let groups = s
                .consumer_groups
                .iter()
                .enumerate()
                .filter(|(_, g)| g.topics.contains(&topic.name))
                .map(|(i, _)| i as u32)
                .collect();
            topics.push(TopicMeta {
                name: topic.name.clone(),
                partitions: s.partitions_ever(&topic.name),
                initial_partitions: topic.partitions,
                first: partition_topic.len() as u32,
                replication_factor: topic.replication_factor,
                min_insync_replicas: topic.min_insync_replicas,
                unclean_leader_election_enable: topic.unclean_leader_election_enable,
                retention: topic.retention_applies(s.duration_ms).then_some(crate::cluster::log::Retention {
                    retention_ms: topic.retention_ms,
                    retention_bytes: topic.retention_bytes,
                    segment_bytes: topic.segment_bytes,
                    segment_ms: topic.segment_ms as u64,
                }),
                compaction: topic.cleanup_policy.compacts().then(|| crate::cluster::cleaner::Compaction {
                    min_cleanable_dirty_ratio: topic.min_cleanable_dirty_ratio,
                    min_compaction_lag: crate::sim::SimDuration::from_ms(topic.min_compaction_lag_ms),
                    delete_retention: crate::sim::SimDuration::from_ms(topic.delete_retention_ms),
                    max_compaction_lag: (topic.max_compaction_lag_ms < crate::scenario::DEFAULT_MAX_COMPACTION_LAG_MS)
                        .then(|| crate::sim::SimDuration::from_ms(topic.max_compaction_lag_ms)),
                    segment_bytes: topic.segment_bytes,
                    // `LogConfig.maxSegmentMs`: a compacted topic rolls at least every
                    // max.compaction.lag.ms.
                    segment_ms: (topic.segment_ms as u64).min(topic.max_compaction_lag_ms),
                }),
                groups,
                is_output: s.consumer_groups.iter().any(|g| g.output.as_ref().is_some_and(|o| o.topic == topic.name)),
                reassigned: s.faults.iter().any(|f| matches!(&f.fault, Fault::Reassign(t, _, _) | Fault::ReassignAdditional(t, _, _) if *t == topic.name)),
            });
            // Placement depends on the partition number only, so the partitions created later
            // go where Kafka's placement would have put them had they existed from the start.
            for r in assign_replicas(s.partitions_ever(&topic.name), topic.replication_factor, s.cluster.brokers) {
                partition_topic.push(t as u32);
                replicas.push(r);
            }
        }
        let controllers = s.cluster.controller.quorum_voters.max(1);
        Metadata { topics, partition_topic, replicas, brokers: s.cluster.brokers, controllers }
    }

    pub fn topic_index(&self, name: &str) -> Option<usize> {
        self.topics.iter().position(|t| t.name == name)
    }

    pub fn partition_count(&self) -> usize {
        self.replicas.len()
    }

    pub fn topic_of(&self, global: u32) -> &TopicMeta {
        &self.topics[self.partition_topic[global as usize] as usize]
    }

    /// `orders-3` for a global partition index.
    pub fn partition_name(&self, global: u32) -> String {
        let t = self.topic_of(global);
        format!("{}-{}", t.name, global - t.first)
    }

    /// The global index of a topic's partition, if it exists.
    pub fn global_partition(&self, topic: &str, partition: u32) -> Option<u32> {
        let t = &self.topics[self.topic_index(topic)?];
        (partition < t.partitions).then_some(t.first + partition)
    }

    /// `min(min.insync.replicas, replication factor)` (`Partition.effectiveMinIsr`).
    pub fn effective_min_isr(&self, global: u32) -> usize {
        let t = self.topic_of(global);
        t.min_insync_replicas.min(t.replication_factor) as usize
    }

    /// Whether a partition exists from the start (else a `CreatePartitions` fault creates it).
    pub fn exists_initially(&self, global: u32) -> bool {
        let t = self.topic_of(global);
        global - t.first < t.initial_partitions
    }

    /// The state every partition starts in: led by its preferred replica in epoch 0, every
    /// replica in sync. A partition created later starts with no replicas: nobody hosts it, and
    /// metadata answers leave it out.
    pub fn initial_state(&self, global: u32) -> PartitionState {
        if !self.exists_initially(global) {
            return PartitionState {
                partition: global,
                leader: None,
                isr: Vec::new(),
                replicas: Vec::new(),
                leader_epoch: 0,
                partition_epoch: 0,
                adding_replicas: Vec::new(),
            };
        }
        self.created_state(global)
    }

    /// A partition's state when it comes into being: led by its preferred replica in epoch 0,
    /// every replica in sync.
    pub fn created_state(&self, global: u32) -> PartitionState {
        let replicas = self.replicas[global as usize].clone();
        PartitionState {
            partition: global,
            leader: replicas.first().copied(),
            isr: replicas.clone(),
            replicas,
            leader_epoch: 0,
            partition_epoch: 0,
            adding_replicas: Vec::new(),
        }
    }

    /// The engine's node id of broker `b` (brokers are the first nodes).
    pub fn broker_node(b: u32) -> NodeId {
        NodeId(b)
    }

    /// The first controller's node id (right after the brokers): the active controller at the
    /// start.
    pub fn controller_node(&self) -> NodeId {
        NodeId(self.brokers)
    }

    /// Whether `node` is one of the controllers.
    pub fn is_controller(&self, node: NodeId) -> bool {
        (self.brokers..self.brokers + self.controllers).contains(&node.0)
    }

    /// The first node after the brokers and controllers (the first producer's).
    pub fn first_client_node(&self) -> u32 {
        self.brokers + self.controllers
    }
}
