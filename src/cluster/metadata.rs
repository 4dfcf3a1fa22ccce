//! Cluster metadata: topics, their partitions and each partition's leader.
//!
//! Partitions are numbered globally (topic by topic) inside the simulation; `TopicMeta::first`
//! maps a topic's partition `p` to the global index `first + p`. Leaders are placed as Kafka's
//! rack-unaware assignment does with a start index of 0: partition `p` of every topic is led by
//! broker `p mod brokers` (`AdminUtils.assignReplicasToBrokers`; the random start index is fixed
//! so placement does not depend on the seed).

use crate::scenario::Scenario;
use crate::sim::NodeId;

/// One topic.
#[derive(Clone, Debug)]
pub struct TopicMeta {
    pub name: String,
    pub partitions: u32,
    /// Global index of partition 0.
    pub first: u32,
    pub replication_factor: u32,
    pub min_insync_replicas: u32,
    /// Consumer groups subscribed to the topic (indices into the scenario's groups).
    pub groups: Vec<u32>,
}

/// What every client and broker knows about the cluster.
#[derive(Clone, Debug)]
pub struct Metadata {
    pub topics: Vec<TopicMeta>,
    /// Global partition → its topic.
    pub partition_topic: Vec<u32>,
    /// Global partition → the broker leading it.
    pub leaders: Vec<NodeId>,
    pub brokers: u32,
}

impl Metadata {
    /// Metadata for a validated scenario; brokers are nodes `0..brokers`.
    pub fn new(s: &Scenario) -> Metadata {
        let mut topics = Vec::new();
        let mut partition_topic = Vec::new();
        let mut leaders = Vec::new();
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
                partitions: topic.partitions,
                first: partition_topic.len() as u32,
                replication_factor: topic.replication_factor,
                min_insync_replicas: topic.min_insync_replicas,
                groups,
            });
            for p in 0..topic.partitions {
                partition_topic.push(t as u32);
                leaders.push(NodeId(p % s.cluster.brokers));
            }
        }
        Metadata {
            topics,
            partition_topic,
            leaders,
            brokers: s.cluster.brokers,
        }
    }

    pub fn topic_index(&self, name: &str) -> Option<usize> {
        self.topics.iter().position(|t| t.name == name)
    }

    pub fn partition_count(&self) -> usize {
        self.leaders.len()
    }

    /// `orders-3` for a global partition index.
    pub fn partition_name(&self, global: u32) -> String {
        let t = &self.topics[self.partition_topic[global as usize] as usize];
        format!("{}-{}", t.name, global - t.first)
    }
}
