//! The scenario file format: a serde mirror of the RON file.
//!
//! Names follow Kafka's configs with dots as underscores and units last (`linger.ms` is
//! `linger_ms`). Every field says its unit and its default; defaults are Kafka 4.x defaults
//! (kafka-reference §1) unless the field is kafkasim's own. Unknown fields are errors.
//!
//! What is modelled so far (the rest of the format grows with the model): brokers that each lead
//! some partitions, producers with constant, Poisson, on/off, Markov-modulated, scheduled or
//! replayed arrivals, keyed (uniform, Zipf, listed) or unkeyed records of fixed or random size placed
//! by Kafka's partitioner, batching by `batch_size`/`linger_ms`, `acks`, consumer groups whose
//! members fetch an even share of the partitions, and a network of per-link latency and jitter.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A whole scenario: the cluster, its workload, what to expect and what to draw.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name; also the output folder name. Letters, digits, `-` and `_`.
    pub name: String,
    /// One line saying what the scenario shows.
    pub description: String,
    /// Master seed of every random stream. Override with `--seed`.
    pub seed: u64,
    /// Simulated duration of the run, in milliseconds.
    pub duration_ms: u64,
    /// Brokers and the network. Default: 3 brokers, 500 µs one-way latency.
    #[serde(default)]
    pub cluster: Cluster,
    /// Topics; at least one.
    pub topics: Vec<Topic>,
    /// Producers; default none.
    #[serde(default)]
    pub producers: Vec<Producer>,
    /// Consumer groups; default none.
    #[serde(default)]
    pub consumer_groups: Vec<ConsumerGroup>,
    /// Faults injected at given times; default none.
    #[serde(default)]
    pub faults: Vec<FaultAt>,
    /// Bounds on the run's figures, checked at the end (`run` exits 1 when one fails).
    /// Keys are figure names (see `kafkasim run --help` or the summary's Figures table).
    #[serde(default)]
    pub expect: BTreeMap<String, Bound>,
    /// Charts to draw. Default: `[Throughput]`.
    #[serde(default = "default_charts")]
    pub charts: Vec<Chart>,
    /// Width of one metrics interval (the rows of metrics.csv and points of the charts), in ms.
    /// Default 100.
    #[serde(default = "default_sample_interval_ms")]
    pub sample_interval_ms: u64,
}

fn default_charts() -> Vec<Chart> {
    vec![Chart::Throughput]
}
fn default_sample_interval_ms() -> u64 {
    100
}

/// The brokers and the network between every pair of nodes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Number of brokers, named `broker-0`, `broker-1`, ... Default 3.
    #[serde(default = "default_brokers")]
    pub brokers: u32,
    /// Latency and jitter of every link unless a `links` entry says otherwise.
    #[serde(default)]
    pub network: Link,
    /// Per-link overrides between two named nodes (`broker-1`, `controller`, a producer's or a
    /// group member's name such as `billing-0`). Both directions.
    #[serde(default)]
    pub links: Vec<LinkOverride>,
    /// Broker replication settings (Kafka broker configs).
    #[serde(default)]
    pub replication: Replication,
    /// The KRaft controller's settings.
    #[serde(default)]
    pub controller: ControllerSettings,
    /// CPU time brokers spend on each produce request, so throughput saturates as on real
    /// hardware. Default: none (requests cost nothing).
    #[serde(default)]
    pub broker_cpu: BrokerCpu,
    /// The brokers' group coordinator settings (kafka-reference §1.3, §4).
    #[serde(default)]
    pub group_coordinator: GroupCoordinatorSettings,
    /// The brokers' transaction coordinator settings (kafka-reference §1.3, §6.2).
    #[serde(default)]
    pub transaction_coordinator: TransactionCoordinatorSettings,
}

/// Broker configs of the transaction coordinator.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TransactionCoordinatorSettings {
    /// `transaction.state.log.num.partitions`: a transactional id's coordinator is the leader of
    /// partition `abs(hash(transactional.id)) % this` of `__transaction_state`. Default 50.
    #[serde(default = "default_offsets_partitions")]
    pub transaction_state_log_num_partitions: u32,
    /// `transaction.state.log.replication.factor` (capped at the broker count). Default 3.
    #[serde(default = "default_offsets_rf")]
    pub transaction_state_log_replication_factor: u32,
    /// `transaction.max.timeout.ms`: the largest `transaction_timeout_ms` a producer may ask
    /// for. Default 900000.
    #[serde(default = "default_transaction_max_timeout_ms")]
    pub transaction_max_timeout_ms: u64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often the coordinator
    /// looks for transactions open longer than their timeout. Default 10000.
    #[serde(default = "default_txn_cleanup_interval_ms")]
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
}

fn default_transaction_max_timeout_ms() -> u64 {
    900_000
}
fn default_txn_cleanup_interval_ms() -> u64 {
    10_000
}

impl Default for TransactionCoordinatorSettings {
    fn default() -> Self {
        TransactionCoordinatorSettings {
            transaction_state_log_num_partitions: default_offsets_partitions(),
            transaction_state_log_replication_factor: default_offsets_rf(),
            transaction_max_timeout_ms: default_transaction_max_timeout_ms(),
            transaction_abort_timed_out_transaction_cleanup_interval_ms: default_txn_cleanup_interval_ms(),
        }
    }
}

/// Broker configs of the group coordinator (classic protocol).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupCoordinatorSettings {
    /// `offsets.topic.num.partitions`: a group's coordinator is the leader of partition
    /// `abs(hash(group.id)) % this` of `__consumer_offsets`. Default 50.
    #[serde(default = "default_offsets_partitions")]
    pub offsets_topic_num_partitions: u32,
    /// `offsets.topic.replication.factor` (capped at the broker count). Default 3.
    #[serde(default = "default_offsets_rf")]
    pub offsets_topic_replication_factor: u32,
    /// `group.initial.rebalance.delay.ms`: an empty group's first rebalance waits this long for
    /// more members. Default 3000 (Kafka's docs suggest 0 for development and tests).
    #[serde(default = "default_initial_delay_ms")]
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`. Default 6000.
    #[serde(default = "default_min_session_ms")]
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`. Default 1800000.
    #[serde(default = "default_max_session_ms")]
    pub group_max_session_timeout_ms: u64,
    /// `offsets.retention.minutes`: an empty group's committed offsets are deleted this long
    /// after it became empty (KIP-211). Default 10080 (7 days).
    #[serde(default = "default_offsets_retention_minutes")]
    pub offsets_retention_minutes: u64,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are removed. Default 600000.
    #[serde(default = "default_retention_check_ms")]
    pub offsets_retention_check_interval_ms: u64,
    /// `group.consumer.heartbeat.interval.ms`: how often members of a KIP-848 group
    /// (`group_protocol: Consumer`) heartbeat; the coordinator tells them in every response.
    /// Default 5000.
    #[serde(default = "default_consumer_heartbeat_ms")]
    pub group_consumer_heartbeat_interval_ms: u64,
    /// `group.consumer.session.timeout.ms`: a KIP-848 member without a heartbeat for this long
    /// is fenced. Default 45000 (Kafka bounds it by `group.consumer.min/max.session.timeout.ms`,
    /// 45000 and 60000; kafkasim lets a lesson go lower).
    #[serde(default = "default_consumer_session_ms")]
    pub group_consumer_session_timeout_ms: u64,
}

fn default_consumer_heartbeat_ms() -> u64 {
    5000
}
fn default_consumer_session_ms() -> u64 {
    45_000
}

fn default_offsets_partitions() -> u32 {
    50
}
fn default_offsets_rf() -> u32 {
    3
}
fn default_initial_delay_ms() -> u64 {
    3000
}
fn default_min_session_ms() -> u64 {
    6000
}
fn default_max_session_ms() -> u64 {
    1_800_000
}
fn default_offsets_retention_minutes() -> u64 {
    10_080
}
fn default_retention_check_ms() -> u64 {
    600_000
}

impl Default for GroupCoordinatorSettings {
    fn default() -> Self {
        GroupCoordinatorSettings {
            offsets_topic_num_partitions: default_offsets_partitions(),
            offsets_topic_replication_factor: default_offsets_rf(),
            group_initial_rebalance_delay_ms: default_initial_delay_ms(),
            group_min_session_timeout_ms: default_min_session_ms(),
            group_max_session_timeout_ms: default_max_session_ms(),
            offsets_retention_minutes: default_offsets_retention_minutes(),
            offsets_retention_check_interval_ms: default_retention_check_ms(),
            group_consumer_heartbeat_interval_ms: default_consumer_heartbeat_ms(),
            group_consumer_session_timeout_ms: default_consumer_session_ms(),
        }
    }
}

/// What a produce request costs a broker's request handler: requests are handled one at a time,
/// each taking `request_us + per_kib_us × KiB`. Many small requests saturate a broker long
/// before a few large ones do (the reason batching raises throughput).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BrokerCpu {
    /// Fixed cost per produce request, in µs. Default 0.
    #[serde(default)]
    pub request_us: u64,
    /// Cost per KiB of batches in the request, in µs. Default 0.
    #[serde(default)]
    pub per_kib_us: u64,
}

/// Broker settings for replication and durability (kafka-reference §1.3, §3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    /// `replica.fetch.wait.max.ms`: a follower fetch waits at most this long for data. Default 500.
    #[serde(default = "default_fetch_max_wait_ms")]
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.min.bytes`. Default 1.
    #[serde(default = "one")]
    pub replica_fetch_min_bytes: u32,
    /// `replica.fetch.max.bytes` per partition. Default 1048576.
    #[serde(default = "default_max_request_size")]
    pub replica_fetch_max_bytes: u32,
    /// `replica.fetch.backoff.ms`: a follower waits this long after a failed fetch. Default 1000.
    #[serde(default = "default_replica_fetch_backoff_ms")]
    pub replica_fetch_backoff_ms: u64,
    /// `replica.socket.timeout.ms`: a follower's fetch unanswered this long is abandoned and
    /// retried (a fetch lost to a network partition waits this long). Default 30000.
    #[serde(default = "default_request_timeout_ms")]
    pub replica_socket_timeout_ms: u64,
    /// `replica.lag.time.max.ms`: a follower not caught up for this long leaves the ISR; checked
    /// every half of it. Default 30000 (10000 before Kafka 2.5).
    #[serde(default = "default_replica_lag_time_max_ms")]
    pub replica_lag_time_max_ms: u64,
    /// `replica.high.watermark.checkpoint.interval.ms`: how often the high watermark is written
    /// to disk (a restarted broker starts from the last checkpoint). Default 5000.
    #[serde(default = "default_hw_checkpoint_ms")]
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    /// `log.retention.check.interval.ms`: how often each broker deletes the segments its
    /// topics' `retention.ms` and `retention.bytes` no longer keep. Default 300000 (5 min).
    #[serde(default = "default_retention_check_interval_ms")]
    pub log_retention_check_interval_ms: u64,
    /// `log.cleaner.backoff.ms`: how long each broker's log cleaner sleeps when no compacted log
    /// is dirty enough to clean. Default 15000.
    #[serde(default = "default_log_cleaner_backoff_ms")]
    pub log_cleaner_backoff_ms: u64,
    /// How a follower finds where its log diverges after a leader change. Default `LeaderEpoch`.
    #[serde(default)]
    pub truncation: Truncation,
    /// `log.flush.interval.ms`: force an fsync this often. Default none (Kafka's default: never
    /// forced; the OS writes the page cache back).
    #[serde(default)]
    pub log_flush_interval_ms: Option<u64>,
    /// The operating system writes dirty pages back this long after they were written
    /// (Linux `vm.dirty_expire_centisecs` = 30 s). A process crash keeps the page cache; a power
    /// loss keeps only what was written back or flushed. Default 30000.
    #[serde(default = "default_writeback_ms")]
    pub page_cache_writeback_ms: u64,
    /// Kafka ≥ 3.7 (KAFKA-15583): the leader does not advance the high watermark while the ISR is
    /// below min.insync.replicas. Default true; false models earlier versions.
    #[serde(default = "yes")]
    pub high_watermark_waits_for_min_isr: bool,
    /// `leader.replication.throttled.rate` in bytes per second, as `kafka-reassign-partitions.sh
    /// --throttle` sets it (KIP-73): a leader sends the replicas a reassignment adds, while they
    /// are out of the ISR, no more than this (measured over 11 one-second samples; over it, their
    /// partitions are left out of its fetch responses). Other followers are never throttled.
    /// Default none (no throttle).
    #[serde(default)]
    pub leader_replication_throttled_rate: Option<u64>,
    /// `follower.replication.throttled.rate` in bytes per second, which `kafka-reassign-partitions.sh
    /// --throttle` sets to the same value (KIP-73): a replica a reassignment adds fetches no more
    /// than this while out of the ISR. Its broker measures what it receives of such partitions
    /// over 11 one-second samples; over the bound it leaves them out of its fetch requests, and
    /// with nothing else to fetch from that leader waits `replica_fetch_backoff_ms`. Default none.
    #[serde(default)]
    pub follower_replication_throttled_rate: Option<u64>,
}

fn default_replica_fetch_backoff_ms() -> u64 {
    1000
}
fn default_replica_lag_time_max_ms() -> u64 {
    30_000
}
fn default_retention_check_interval_ms() -> u64 {
    300_000
}
fn default_log_cleaner_backoff_ms() -> u64 {
    15_000
}

fn default_hw_checkpoint_ms() -> u64 {
    5000
}
fn default_writeback_ms() -> u64 {
    30_000
}
fn yes() -> bool {
    true
}

impl Default for Replication {
    fn default() -> Self {
        Replication {
            replica_fetch_wait_max_ms: default_fetch_max_wait_ms(),
            replica_fetch_min_bytes: 1,
            replica_fetch_max_bytes: default_max_request_size(),
            replica_fetch_backoff_ms: default_replica_fetch_backoff_ms(),
            replica_socket_timeout_ms: default_request_timeout_ms(),
            replica_lag_time_max_ms: default_replica_lag_time_max_ms(),
            replica_high_watermark_checkpoint_interval_ms: default_hw_checkpoint_ms(),
            log_retention_check_interval_ms: default_retention_check_interval_ms(),
            log_cleaner_backoff_ms: default_log_cleaner_backoff_ms(),
            truncation: Truncation::default(),
            log_flush_interval_ms: None,
            page_cache_writeback_ms: default_writeback_ms(),
            high_watermark_waits_for_min_isr: true,
            leader_replication_throttled_rate: None,
            follower_replication_throttled_rate: None,
        }
    }
}

/// The follower truncation protocol.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Truncation {
    /// Kafka ≥ 0.11 (KIP-101, refined by KIP-279): a follower finds the end offset of its last
    /// epoch on the leader and truncates only what diverges.
    #[default]
    LeaderEpoch,
    /// Kafka < 0.11: a follower truncates to its high watermark whenever it starts following
    /// (after a restart or a leader change). Loses or diverges logs in KIP-101's scenarios.
    HighWatermark,
    /// Kafka 0.11 to 1.1 (KIP-101 without KIP-279): when it starts following, a follower asks
    /// once for the end offset of its latest epoch and truncates to that or its log end, whichever
    /// is lower, without checking that the leader answered for the same epoch. Diverges after
    /// fast consecutive leader changes (KIP-279's scenario).
    LeaderEpochBeforeKip279,
}

/// The KRaft controller (kafka-reference §3.5, §3.7).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControllerSettings {
    /// `broker.heartbeat.interval.ms`. Default 2000.
    #[serde(default = "default_heartbeat_ms")]
    pub broker_heartbeat_interval_ms: u64,
    /// `broker.session.timeout.ms`: a broker without a heartbeat this long is fenced. Default 9000.
    #[serde(default = "default_session_ms")]
    pub broker_session_timeout_ms: u64,
    /// `auto.leader.rebalance.enable`. Default true.
    #[serde(default = "yes")]
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds`, in ms. Default 300000.
    #[serde(default = "default_imbalance_ms")]
    pub leader_imbalance_check_interval_ms: u64,
    /// A restarted broker is fenced (out of every ISR) until it registers again, as in KRaft.
    /// `false` models ZooKeeper-era clusters (KIP-101's setting), where a broker back within its
    /// session kept its ISR membership. Default true.
    #[serde(default = "yes")]
    pub restart_fences_broker: bool,
    /// Eligible leader replicas (KIP-966, `eligible.leader.replicas.version=1`): while a
    /// partition's ISR is below `min.insync.replicas`, replicas that leave it stay *eligible*
    /// (they hold everything up to the high watermark, which cannot advance then); the ISR may
    /// become empty, and an election takes the ISR, else an unfenced eligible replica, else the
    /// last known leader. A broker that restarts after an unclean shutdown (any crash or power
    /// loss here) loses its eligibility. Default false (Kafka 4.0); clusters created by Kafka 4.1
    /// or later have it on.
    #[serde(default)]
    pub eligible_leader_replicas: bool,
    /// How many controllers form the KRaft quorum (`controller.quorum.voters`, KIP-595): with
    /// one, the controller never fails (it is the node `controller`); with more, they are
    /// `controller-0`, `controller-1`, ..., `controller-0` is the active controller at the start,
    /// and a change takes effect once a majority of them has it. `Crash(Controller)` crashes the
    /// active one and the others elect another. Production clusters run 3 (or 5). Default 1.
    #[serde(default = "one")]
    pub quorum_voters: u32,
    /// `controller.quorum.fetch.timeout.ms`: a controller that has heard nothing from the active
    /// controller for this long stands for election (and an active controller that has heard
    /// from no majority for 1.5 times this long resigns). Default 2000.
    #[serde(default = "default_quorum_fetch_timeout_ms")]
    pub quorum_fetch_timeout_ms: u64,
    /// `controller.quorum.election.timeout.ms`: a candidate without a majority after a random
    /// time between this and twice this stands again. Default 1000.
    #[serde(default = "default_quorum_election_timeout_ms")]
    pub quorum_election_timeout_ms: u64,
    /// `controller.quorum.election.backoff.max.ms`: the most a candidate waits, after losing an
    /// election, before standing again (binary exponential backoff from 50 ms). Default 1000.
    #[serde(default = "default_quorum_election_backoff_max_ms")]
    pub quorum_election_backoff_max_ms: u64,
}

fn default_quorum_fetch_timeout_ms() -> u64 {
    2000
}
fn default_quorum_election_timeout_ms() -> u64 {
    1000
}
fn default_quorum_election_backoff_max_ms() -> u64 {
    1000
}

impl ControllerSettings {
    /// The controllers' node names: `controller` alone, or `controller-0`, `controller-1`, ...
    pub fn node_names(&self) -> Vec<String> {
        match self.quorum_voters {
            0 | 1 => vec!["controller".to_string()],
            n => (0..n).map(|i| format!("controller-{i}")).collect(),
        }
    }
}

fn default_heartbeat_ms() -> u64 {
    2000
}
fn default_session_ms() -> u64 {
    9000
}
fn default_imbalance_ms() -> u64 {
    300_000
}

impl Default for ControllerSettings {
    fn default() -> Self {
        ControllerSettings {
            broker_heartbeat_interval_ms: default_heartbeat_ms(),
            broker_session_timeout_ms: default_session_ms(),
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_ms: default_imbalance_ms(),
            restart_fences_broker: true,
            eligible_leader_replicas: false,
            quorum_voters: 1,
            quorum_fetch_timeout_ms: default_quorum_fetch_timeout_ms(),
            quorum_election_timeout_ms: default_quorum_election_timeout_ms(),
            quorum_election_backoff_max_ms: default_quorum_election_backoff_max_ms(),
        }
    }
}

fn default_brokers() -> u32 {
    3
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            brokers: default_brokers(),
            network: Link::default(),
            links: Vec::new(),
            replication: Replication::default(),
            controller: ControllerSettings::default(),
            broker_cpu: BrokerCpu::default(),
            group_coordinator: GroupCoordinatorSettings::default(),
            transaction_coordinator: TransactionCoordinatorSettings::default(),
        }
    }
}

/// One-way latency of a link: `latency_us` plus a uniform draw in `[0, jitter_us]`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// One-way latency in microseconds. Default 500.
    #[serde(default = "default_latency_us")]
    pub latency_us: u64,
    /// Extra uniform random delay in microseconds, `0..=jitter_us`. Default 0. Messages on one
    /// link stay in order (FIFO) whatever the jitter, as on a TCP connection.
    #[serde(default)]
    pub jitter_us: u64,
    /// Bandwidth in megabits per second: a message takes `size / bandwidth` to send and queues
    /// behind earlier ones on the link. Default none (unlimited).
    #[serde(default)]
    pub bandwidth_mbps: Option<u64>,
    /// Every node's network interface, in megabits per second (`cluster.network` only): all a
    /// node sends, whatever the destination, leaves through it one message at a time, each
    /// taking `size / speed`. A broker's answers to consumers, its followers' fetches and a
    /// reassignment's copy then wait for one another; the summary and the `Network` chart show
    /// how busy each broker's interface was. One FIFO queue for all connections (a real host
    /// interleaves them, so waits here are an upper bound). Default none (unlimited).
    #[serde(default)]
    pub nic_mbps: Option<u64>,
}

fn default_latency_us() -> u64 {
    500
}

impl Default for Link {
    fn default() -> Self {
        Link { latency_us: default_latency_us(), jitter_us: 0, bandwidth_mbps: None, nic_mbps: None }
    }
}

/// A link between two named nodes with its own latency.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    pub between: (String, String),
    pub latency_us: u64,
    #[serde(default)]
    pub jitter_us: u64,
}

/// A topic (Kafka: `num.partitions`, `default.replication.factor`, `min.insync.replicas`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    pub name: String,
    /// Number of partitions. Kafka default `num.partitions` = 1.
    #[serde(default = "one")]
    pub partitions: u32,
    /// Copies of each partition, placed as Kafka's rack-unaware assignment does. Kafka default
    /// `default.replication.factor` = 1. Must not exceed the number of brokers.
    #[serde(default = "one")]
    pub replication_factor: u32,
    /// Kafka default `min.insync.replicas` = 1. Must not exceed `replication_factor`.
    #[serde(default = "one")]
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable`: elect a replica outside the ISR when no ISR member is
    /// available (availability over durability). Default false (since Kafka 0.11).
    #[serde(default)]
    pub unclean_leader_election_enable: bool,
    /// `retention.ms`: a closed segment whose newest record is older than this is deleted.
    /// Kafka default 604800000 (7 days); -1 keeps everything. Only the leader applies it here;
    /// followers follow its log start offset.
    #[serde(default = "default_retention_ms")]
    pub retention_ms: i64,
    /// `retention.bytes`: the oldest segments are deleted while the partition would still hold
    /// at least this many bytes without them. Kafka default -1 (no size limit).
    #[serde(default = "minus_one")]
    pub retention_bytes: i64,
    /// `segment.bytes`: a segment rolls before an append would take it past this size; retention
    /// deletes whole segments. Kafka default 1073741824 (1 GiB); at least 1048576 (1 MiB) since
    /// Kafka 4.0 (KIP-1030).
    #[serde(default = "default_segment_bytes")]
    pub segment_bytes: u64,
    /// `segment.ms`: a segment also rolls once its first batch is this old. Kafka default
    /// 604800000 (7 days).
    #[serde(default = "default_retention_ms")]
    pub segment_ms: i64,
    /// `cleanup.policy`: what happens to old records. Default `Delete` (retention by time and
    /// size); `Compact` keeps the latest record of every key instead; `CompactDelete` does both.
    #[serde(default)]
    pub cleanup_policy: CleanupPolicy,
    /// `min.cleanable.dirty.ratio`: the log cleaner compacts a log once the records written
    /// since its last cleaning (the dirty part, up to the first uncleanable offset) are more than
    /// this share of the cleanable log's bytes. Kafka default 0.5; 0 to 1.
    #[serde(default = "default_min_cleanable_dirty_ratio")]
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: a record stays uncompacted at least this long (a segment whose
    /// newest record is younger is not cleaned). Kafka default 0.
    #[serde(default)]
    pub min_compaction_lag_ms: u64,
    /// `max.compaction.lag.ms`: a record stays uncompacted at most about this long. A log whose
    /// oldest dirty segment began longer ago is cleaned whatever its dirty ratio, and the active
    /// segment rolls at least this often (`segment.ms` is capped by it). Kafka default
    /// 9223372036854775807 (no limit); at least `min_compaction_lag_ms`.
    #[serde(default = "default_max_compaction_lag_ms")]
    pub max_compaction_lag_ms: u64,
    /// `delete.retention.ms`: how long a tombstone (a record with a null value: a delete of its
    /// key) stays in a compacted log after the cleaning that first kept it, so that consumers
    /// reading the log still see the delete. Kafka default 86400000 (1 day).
    #[serde(default = "default_delete_retention_ms")]
    pub delete_retention_ms: u64,
}

/// `cleanup.policy` of a topic.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum CleanupPolicy {
    /// `delete`: whole segments go by `retention.ms` and `retention.bytes`.
    #[default]
    Delete,
    /// `compact`: the log cleaner keeps the latest record of each key; nothing expires by time
    /// or size (`retention_ms` and `retention_bytes` do nothing).
    Compact,
    /// `compact,delete`: compaction, and retention deletes whole segments as well.
    CompactDelete,
}

impl CleanupPolicy {
    pub fn compacts(self) -> bool {
        self != CleanupPolicy::Delete
    }

    pub fn deletes(self) -> bool {
        self != CleanupPolicy::Compact
    }
}

fn default_min_cleanable_dirty_ratio() -> f64 {
    0.5
}

/// Kafka's `max.compaction.lag.ms` default: `Long.MAX_VALUE`, no limit.
pub const DEFAULT_MAX_COMPACTION_LAG_MS: u64 = i64::MAX as u64;

fn default_max_compaction_lag_ms() -> u64 {
    DEFAULT_MAX_COMPACTION_LAG_MS
}

fn default_delete_retention_ms() -> u64 {
    86_400_000
}

/// Kafka's `retention.ms` and `segment.ms` default: 7 days.
pub const DEFAULT_RETENTION_MS: i64 = 604_800_000;
/// Kafka's `segment.bytes` default: 1 GiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 1_073_741_824;

fn default_retention_ms() -> i64 {
    DEFAULT_RETENTION_MS
}

fn minus_one() -> i64 {
    -1
}

fn default_segment_bytes() -> u64 {
    DEFAULT_SEGMENT_BYTES
}

impl Scenario {
    /// Whether some node's network interface has a speed during the run (`nic_mbps`, or a
    /// `SlowNic` fault): what the `Network` chart and the summary's section need.
    pub fn has_limited_nics(&self) -> bool {
        self.cluster.network.nic_mbps.is_some()
            || self.faults.iter().any(|f| matches!(f.fault, Fault::SlowNic(_, mbps) if mbps > 0))
    }

    /// The most partitions `topic` has during the run: its `partitions`, or the largest total a
    /// `CreatePartitions` fault raises it to. Partition numbers below it may be named anywhere.
    pub fn partitions_ever(&self, topic: &str) -> u32 {
        let initial = self.topics.iter().find(|t| t.name == topic).map_or(0, |t| t.partitions);
        self.faults
            .iter()
            .filter_map(|f| match &f.fault {
                Fault::CreatePartitions(t, total) if t == topic => Some(*total),
                _ => None,
            })
            .fold(initial, u32::max)
    }
}

impl Topic {
    /// Whether retention can delete anything in a run of `duration_ms` (records are never older
    /// than the run): a size limit, or a time limit shorter than the run.
    pub fn retention_applies(&self, duration_ms: u64) -> bool {
        self.cleanup_policy.deletes()
            && (self.retention_bytes >= 0 || (0..duration_ms as i64).contains(&self.retention_ms))
    }
}

fn one() -> u32 {
    1
}

/// A producer client (KafkaProducer) sending to one topic.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Producer {
    pub name: String,
    pub topic: String,
    /// When records are created (their intended send time).
    pub arrival: Arrival,
    /// Record keys. Default `Null` (no key).
    #[serde(default)]
    pub key: Key,
    /// Which partitioner places the records (kafka-reference §2.2). Default `UniformSticky`.
    #[serde(default)]
    pub partitioner: Partitioner,
    /// Size of each record's value in bytes. Default 100. `value_size` replaces it with a
    /// distribution; setting both is an error.
    #[serde(default = "default_value_bytes")]
    pub value_bytes: u32,
    /// Random value sizes (overrides `value_bytes`, which must then be left out). Default: none,
    /// every value is `value_bytes` long.
    #[serde(default)]
    pub value_size: Option<ValueSize>,
    /// `acks`: Kafka 4.x default `All`.
    #[serde(default)]
    pub acks: Acks,
    /// `linger.ms`: how long a batch waits for more records. Kafka 4.x default 5 (was 0 before 4.0).
    #[serde(default = "default_linger_ms")]
    pub linger_ms: u64,
    /// `batch.size` in bytes: a batch this big is sent without waiting. Default 16384.
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// `max.in.flight.requests.per.connection`: unanswered requests per broker. Default 5.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight_requests_per_connection: u32,
    /// `max.request.size` in bytes: a request carries batches up to this size. Default 1048576.
    #[serde(default = "default_max_request_size")]
    pub max_request_size: u32,
    /// `retries`: how often a failed batch is retried. Default 2147483647.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `retry.backoff.ms`: the first retry waits this long. Default 100.
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms`: retries back off exponentially up to this (Kafka ≥ 3.7). Default 1000.
    #[serde(default = "default_retry_backoff_max_ms")]
    pub retry_backoff_max_ms: u64,
    /// `metadata.max.age.ms`: the producer refreshes its metadata at least this often, and so
    /// learns of partitions added to its topic (leader changes it learns from errors at once).
    /// Default 300000 (5 minutes).
    #[serde(default = "default_metadata_max_age_ms")]
    pub metadata_max_age_ms: u64,
    /// `request.timeout.ms`: a request unanswered this long fails (and is retried). Default 30000.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// `delivery.timeout.ms`: a record not acknowledged this long after its batch opened fails.
    /// Default 120000.
    #[serde(default = "default_delivery_timeout_ms")]
    pub delivery_timeout_ms: u64,
    /// `compression.type`: how batches are compressed before they are sent. Default `None`.
    #[serde(default)]
    pub compression_type: Compression,
    /// `buffer.memory`: bytes for batches waiting to be sent or acknowledged; a record that needs
    /// a new batch when it is used up blocks `send()`. Default 33554432.
    #[serde(default = "default_buffer_memory")]
    pub buffer_memory: u64,
    /// `max.block.ms`: a record blocked that long fails (`TimeoutException`). Default 60000.
    #[serde(default = "default_max_block_ms")]
    pub max_block_ms: u64,
    /// `enable.idempotence`: brokers drop duplicate batches by producer id and sequence. Default:
    /// on, unless acks is not `All` or retries is 0 (then silently off, as Kafka 4.x does when
    /// the setting is left unset).
    #[serde(default)]
    pub enable_idempotence: Option<bool>,
    /// A value drawn for each record, which consumers see (for the streaming charts). Default
    /// none.
    #[serde(default)]
    pub payload: Option<Payload>,
    /// The share of records sent with a null value: *tombstones*, which delete their key from a
    /// compacted topic (the log cleaner drops the key's older records, and the tombstone itself
    /// `delete_retention_ms` later). 0 to below 1; default 0.
    #[serde(default)]
    pub tombstone_fraction: f64,
    /// When the producer starts creating records, in ms. Default 0.
    #[serde(default)]
    pub start_ms: u64,
    /// When it stops creating records, in ms. Default: the end of the run.
    #[serde(default)]
    pub stop_ms: Option<u64>,
    /// Times (ms from the start of the run, increasing) at which the application calls
    /// `flush()`: every batch becomes sendable at once (`RecordAccumulator.beginFlush`), and the
    /// call blocks the application thread, so records created meanwhile wait, until every record
    /// appended before it is acknowledged or failed (`awaitFlushCompletion`). A flush due while
    /// another is in progress is called as soon as that one returns. Each flush is traced, and
    /// the figures count them and give the longest. Default none.
    #[serde(default)]
    pub flush_at_ms: Vec<u64>,
    /// The client's CPU: what `send()` and the `Sender` thread cost. Default none: producing
    /// costs no CPU time (and compression no time either).
    #[serde(default)]
    pub cpu: Option<ProducerCpu>,
    /// The brokers' client quota for this producer's `client.id`, in bytes per second
    /// (`producer_byte_rate`, a dynamic config: `kafka-configs --alter --entity-type clients
    /// --entity-name NAME --add-config producer_byte_rate=N`). Each broker enforces it on its
    /// own: a producer writing to partitions led by three brokers may send three times as much.
    /// Above it a broker answers with a throttle time and the producer sends nothing more to it
    /// until that has passed (KIP-219). Default none (no quota).
    #[serde(default)]
    pub producer_byte_rate: Option<u64>,
    /// Kafka transactions (KIP-98): the producer is transactional, with `transactional.id` =
    /// its name, and commits what it sent every `commit_interval_ms` (see [`Transactions`]).
    /// Needs idempotence (Kafka: "Cannot set a transactional.id without also enabling
    /// idempotence"). Default none: not transactional.
    #[serde(default)]
    pub transactions: Option<Transactions>,
    /// Never in a file: set for the producer kafkasim gives each member of a group with an
    /// `output` (see [`crate::scenario::pipeline`]): `(group, member)` whose processed records
    /// it writes. Such a producer has no arrivals of its own.
    #[serde(skip)]
    pub output_of: Option<(u32, u32)>,
}

/// How a transactional producer's application uses transactions: the consume-transform-produce
/// loop of Kafka Streams with `processing.guarantee=exactly_once_v2`, reduced to its producer
/// side. A transaction begins with the first record sent after the last one ended
/// (`beginTransaction`); every `commit_interval_ms` the application calls `commitTransaction()`
/// (or, with `abort_probability`, `abortTransaction()`): every batch of the transaction is sent
/// and acknowledged first (the call flushes), then the producer asks its transaction coordinator
/// to end the transaction, and the coordinator writes a COMMIT or ABORT marker into every
/// partition the transaction wrote to. The call blocks the application thread until then:
/// records created meanwhile wait for the next transaction.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Transactions {
    /// How often the application ends the open transaction, in ms (Kafka Streams'
    /// `commit.interval.ms`, 100 under exactly-once). Default 100.
    #[serde(default = "default_commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// The chance that the application aborts a transaction instead of committing it (an error
    /// in processing), drawn per transaction from the producer's own random stream. Default 0.
    #[serde(default)]
    pub abort_probability: f64,
    /// `transaction.timeout.ms`: the coordinator aborts a transaction still open this long after
    /// it began (and fences the producer by bumping its epoch). Default 60000.
    #[serde(default = "default_transaction_timeout_ms")]
    pub transaction_timeout_ms: u64,
}

fn default_commit_interval_ms() -> u64 {
    100
}
fn default_transaction_timeout_ms() -> u64 {
    60_000
}

impl Default for Transactions {
    fn default() -> Self {
        Transactions {
            commit_interval_ms: default_commit_interval_ms(),
            abort_probability: 0.0,
            transaction_timeout_ms: default_transaction_timeout_ms(),
        }
    }
}

/// `group.protocol`: the consumer group protocol a member speaks.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum GroupProtocol {
    /// `classic`: JoinGroup/SyncGroup/Heartbeat, eager or cooperative rebalances.
    #[default]
    Classic,
    /// `consumer`: the KIP-848 protocol, one `ConsumerGroupHeartbeat` RPC and a server-side
    /// assignor.
    Consumer,
}

impl GroupProtocol {
    pub fn kafka_name(self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
}

/// A KIP-848 group coordinator's assignor (`group.consumer.assignors`; a member picks one with
/// `group.remote.assignor`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum RemoteAssignor {
    /// `uniform`: balanced first, then sticky, over all the subscribed partitions.
    #[default]
    Uniform,
    /// `range`: per topic, sticky ranges; co-partitioned topics line up.
    Range,
}

impl RemoteAssignor {
    pub fn kafka_name(self) -> &'static str {
        match self {
            RemoteAssignor::Uniform => "uniform",
            RemoteAssignor::Range => "range",
        }
    }
}

/// `isolation.level`: what a consumer reads of transactional records.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum IsolationLevel {
    /// `read_uncommitted` (Kafka's default): everything up to the high watermark, records of
    /// open and aborted transactions included.
    #[default]
    ReadUncommitted,
    /// `read_committed`: only up to the last stable offset (LSO, the first offset of the oldest
    /// open transaction, or the high watermark), and never records of aborted transactions.
    ReadCommitted,
}

impl IsolationLevel {
    pub fn kafka_name(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read_uncommitted",
            IsolationLevel::ReadCommitted => "read_committed",
        }
    }
}

/// CPU time a producer client spends (kafkasim's own setting; Kafka has no such config). Two
/// threads do the work: the application thread calling `send()` (serialize, choose a partition,
/// append to a batch, and compress: `MemoryRecordsBuilder` writes records through the codec's
/// stream as they are appended) and the single `Sender` I/O thread, which drains ready batches
/// and builds one produce request per broker (`Sender.sendProducerData`). While the sender builds
/// a request it sends nothing else, and records keep collecting in batches.
///
/// With `cores: 1` both threads share one core, and the sender, woken by a new or full batch, a
/// linger deadline or a response (`KafkaProducer.doSend` → `sender.wakeup()`), runs before the
/// application's next `send()`, as a woken thread usually preempts a busy one on Linux. With
/// `linger_ms: 0` every record then wakes the sender and, while an in-flight slot is free, leaves
/// in a request of its own: the per-request cost is paid per record, and throughput is capped
/// far below what fewer, fuller requests carry. With `cores: 2` each thread has a core: the
/// sender's cost only delays requests, and records that arrive meanwhile batch by themselves
/// (Kafka's `linger.ms` doc: "normally this occurs only under load"). Costs default to 0.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProducerCpu {
    /// Cores for the two threads: 1 (shared) or 2 (one each). Default 1.
    #[serde(default = "one")]
    pub cores: u32,
    /// Application thread, per record `send()` (serialize, partition, append), in ns. Default 0.
    #[serde(default)]
    pub per_record_ns: u64,
    /// Sender, per produce request built and written to the socket, in µs. Default 0.
    #[serde(default)]
    pub request_us: u64,
    /// Sender, per batch closed into a request (`ProducerBatch.close`: header, CRC32C), in µs.
    /// Default 0.
    #[serde(default)]
    pub per_batch_us: u64,
    /// Sender, per KiB of batches (as sent, after compression) copied into a request, in ns.
    /// Default 0.
    #[serde(default)]
    pub per_kib_ns: u64,
    /// Application thread, compression per KiB of uncompressed records, in ns. Default: the
    /// codec's figure, [`Compression::cpu_per_kib_ns`] (0 for `None`).
    #[serde(default)]
    pub compression_per_kib_ns: Option<u64>,
}

impl Default for ProducerCpu {
    fn default() -> Self {
        ProducerCpu {
            cores: 1,
            per_record_ns: 0,
            request_us: 0,
            per_batch_us: 0,
            per_kib_ns: 0,
            compression_per_kib_ns: None,
        }
    }
}

fn default_buffer_memory() -> u64 {
    33_554_432
}
fn default_max_block_ms() -> u64 {
    60_000
}
fn default_retries() -> u32 {
    i32::MAX as u32
}
fn default_retry_backoff_ms() -> u64 {
    100
}
/// `metadata.max.age.ms`, producer and consumer (`CommonClientConfigs`): 5 minutes.
pub fn default_metadata_max_age_ms() -> u64 {
    300_000
}
fn default_retry_backoff_max_ms() -> u64 {
    1000
}
fn default_request_timeout_ms() -> u64 {
    30_000
}
fn default_delivery_timeout_ms() -> u64 {
    120_000
}
fn default_value_bytes() -> u32 {
    100
}
fn default_linger_ms() -> u64 {
    5
}
fn default_batch_size() -> u32 {
    16_384
}
fn default_max_in_flight() -> u32 {
    5
}
fn default_max_request_size() -> u32 {
    1_048_576
}

/// The arrival process of a producer's records: when each record is created (its intended send
/// time, from which latency is measured). Rates are records per second; times are milliseconds.
/// Times inside a process (`Schedule` steps, `Replay` rows, on/off periods) count from the
/// producer's `start_ms`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Arrival {
    /// Exactly `per_sec` records per second, evenly spaced.
    Constant { per_sec: f64 },
    /// A Poisson process: exponential gaps with mean `1 / per_sec` seconds.
    Poisson { per_sec: f64 },
    /// Bursts: a Poisson process at `per_sec` during on-periods of `on_ms`, nothing during
    /// off-periods of `off_ms`, starting with an on-period. Mean rate
    /// `per_sec × on_ms / (on_ms + off_ms)`. With `exponential_periods: true` each period's
    /// length is exponential with mean `on_ms` (or `off_ms`) instead of fixed. Default false.
    OnOff {
        on_ms: u64,
        off_ms: u64,
        per_sec: f64,
        #[serde(default)]
        exponential_periods: bool,
    },
    /// A Markov-modulated Poisson process. In state `i` records arrive as a Poisson process at
    /// `rates[i]` per second; the process stays in state `i` for an exponential time with mean
    /// `mean_dwell_ms[i]`, then jumps to one of the *other* states, chosen uniformly. It starts in
    /// state 0. In the long run state `i` holds a share `mean_dwell_ms[i] / Σ mean_dwell_ms` of
    /// the time, so the mean rate is `Σ rates[i]·mean_dwell_ms[i] / Σ mean_dwell_ms`.
    Mmpp { rates: Vec<f64>, mean_dwell_ms: Vec<f64> },
    /// A Poisson process whose rate changes over time. Without `ramp` (default false) the rate
    /// is `steps[k].per_sec` from `steps[k].at_ms` until the next step (a staircase); with
    /// `ramp: true` it moves linearly from one step's rate to the next step's. Before the first
    /// step the rate is 0; after the last it stays at the last rate. Times are exact: each gap
    /// inverts the integrated rate (no thinning).
    Schedule {
        steps: Vec<RateStep>,
        #[serde(default)]
        ramp: bool,
    },
    /// Replays a CSV file of records: columns `time_ms[,key][,value_bytes]`, one record per
    /// row, times in ms from the producer's start (fractions allowed) and non-decreasing. A
    /// header row naming the columns is optional (without one the columns are positional; with
    /// one, `time_ms,value_bytes` is allowed). An empty cell, or a missing column, leaves the
    /// record to the producer's `key` and `value_bytes`/`value_size`. Cells are not quoted (no
    /// commas in keys); blank lines and lines starting with `#` are skipped. `file` is relative
    /// to the scenario file's folder and is read when the scenario is loaded.
    Replay {
        file: String,
        /// The file's records, filled in by [`crate::scenario::load`]/[`crate::scenario::parse`].
        #[serde(skip)]
        records: Arc<ReplayData>,
    },
}

impl Arrival {
    /// The long-run mean rate in records per second, where the process has one (`Schedule` and
    /// `Replay` do not: their rate depends on how long the producer runs).
    pub fn mean_per_sec(&self) -> Option<f64> {
        match self {
            Arrival::Constant { per_sec } | Arrival::Poisson { per_sec } => Some(*per_sec),
            Arrival::OnOff { on_ms, off_ms, per_sec, .. } => Some(per_sec * *on_ms as f64 / (on_ms + off_ms) as f64),
            Arrival::Mmpp { rates, mean_dwell_ms } => {
                let total: f64 = mean_dwell_ms.iter().sum();
                Some(rates.iter().zip(mean_dwell_ms).map(|(r, d)| r * d).sum::<f64>() / total)
            }
            Arrival::Schedule { .. } | Arrival::Replay { .. } => None,
        }
    }
}

/// One point of a [`Arrival::Schedule`]: from `at_ms` (after the producer's start) the rate is
/// `per_sec` records per second (or, with `ramp`, the rate passes through `per_sec` at `at_ms`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    pub at_ms: u64,
    pub per_sec: f64,
}

/// The records of a replayed CSV file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayData {
    pub rows: Vec<ReplayRow>,
    /// The distinct keys of the file, in order of first appearance; rows refer to them by index.
    pub keys: Vec<String>,
}

/// One replayed record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplayRow {
    /// Intended send time after the producer's start, in ns.
    pub at_ns: u64,
    /// Index into [`ReplayData::keys`], or `None` to use the producer's `key`.
    pub key: Option<u32>,
    /// Value size, or `None` to use the producer's `value_bytes`/`value_size`.
    pub value_bytes: Option<u32>,
}

/// A distribution of value sizes, in bytes.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum ValueSize {
    /// Every value has this many bytes.
    Fixed(u32),
    /// Uniform over `min_bytes..=max_bytes` (both included).
    Uniform { min_bytes: u32, max_bytes: u32 },
    /// Log-normal: `median_bytes × e^(sigma·Z)`, Z standard normal, rounded to whole bytes and
    /// clamped to `0..=1048576`. `sigma` 0 gives always the median; 1 gives a long right tail
    /// (mean ≈ 1.65 × median).
    LogNormal { median_bytes: u32, sigma: f64 },
}

/// How records get their keys.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Key {
    /// No key: the partitioner spreads records itself.
    #[default]
    Null,
    /// Every record has this key.
    Fixed(String),
    /// Keys `"{prefix}{i}"`, `i` uniform in `0..keys`. `prefix` defaults to `"key-"`.
    Uniform {
        keys: u32,
        #[serde(default = "default_key_prefix")]
        prefix: String,
    },
    /// One of these keys, uniformly.
    OneOf(Vec<String>),
    /// Keys `"{prefix}0".."{prefix}{keys-1}"` with Zipf popularity: key `k` (0-based rank) has
    /// probability ∝ `1 / (k+1)^s`, so `"{prefix}0"` is the most frequent. `s` > 0; around 1 is
    /// typical of real popularity skew. `prefix` defaults to `"key-"`.
    Zipf {
        keys: u32,
        s: f64,
        #[serde(default = "default_key_prefix")]
        prefix: String,
    },
}

fn default_key_prefix() -> String {
    "key-".to_string()
}

/// `acks`: how many replicas must have a batch before the producer hears back.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: no response; the producer counts a record done when it is sent.
    Zero,
    /// `acks=1`: the leader's append.
    One,
    /// `acks=all` (`-1`): every in-sync replica. The Kafka 4.x default.
    #[default]
    All,
}

impl Acks {
    pub fn kafka_name(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

/// Where a producer's records go. Keyed records always go to `murmur2(key) % partitions`
/// (exact), except with `Explicit`; the variants differ for records without a key.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Partitioner {
    /// Kafka 3.3+ built-in partitioner: uniform sticky with adaptive partitioning (KIP-794).
    #[default]
    UniformSticky,
    /// Kafka 2.4–3.2 `DefaultPartitioner`: the sticky partition cache (KIP-480), switching to
    /// another random partition whenever a record would open a new batch on the sticky one.
    StickyCache,
    /// Kafka ≤ 2.3 `DefaultPartitioner`: records without a key round-robin over the available
    /// partitions.
    RoundRobin,
    /// The application names the partition (`new ProducerRecord(topic, partition, key, value)`):
    /// every record goes to this partition.
    Explicit(u32),
}

/// A consumer group whose members share the partitions of its topics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroup {
    /// `group.id`. Members are named `{name}-0`, `{name}-1`, ... (their `client.id`).
    pub name: String,
    pub topics: Vec<String>,
    /// Number of members at the start. Default 1.
    #[serde(default = "one")]
    pub members: u32,
    /// Changes in the member count over time: at `at_ms` the group has `members` members. New
    /// members start (and join); the highest-numbered ones close (leaving the group as
    /// `KafkaConsumer.close()` does). Default none.
    #[serde(default)]
    pub scale: Vec<Scale>,
    /// When the members start, in ms. Default 0.
    #[serde(default)]
    pub start_ms: u64,
    /// `group.protocol`: `Classic` (the default: JoinGroup and SyncGroup, a client-side assignor)
    /// or `Consumer` (KIP-848, GA in Kafka 4.0: the coordinator assigns with its `uniform`
    /// assignor and each member moves to its new assignment on its own, with no group-wide
    /// barrier). Under `Consumer`, `partition_assignment_strategy`, `session_timeout_ms` and
    /// `heartbeat_interval_ms` must stay at their defaults (Kafka does not support them under
    /// `consumer`): the brokers' `group_consumer_*` settings apply instead.
    #[serde(default)]
    pub group_protocol: GroupProtocol,
    /// `group.remote.assignor` under `group_protocol: Consumer`: the coordinator's assignor,
    /// `Uniform` (the brokers' default, balanced then sticky) or `Range` (sticky ranges per
    /// topic, the same partition numbers of co-partitioned topics to each member). Default
    /// `Uniform`.
    #[serde(default)]
    pub group_remote_assignor: RemoteAssignor,
    /// `partition.assignment.strategy`, in preference order. Default `[Range, CooperativeSticky]`
    /// (Kafka 3.0+), which every member votes `Range` on: eager rebalancing. `[CooperativeSticky]`
    /// gives cooperative (KIP-429) rebalancing.
    #[serde(default = "default_strategies")]
    pub partition_assignment_strategy: Vec<AssignmentStrategy>,
    /// `group.instance.id` = the member's name for every member: static membership (KIP-345).
    /// Default false.
    #[serde(default)]
    pub static_membership: bool,
    /// `session.timeout.ms`. Default 45000.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`. Default 3000.
    #[serde(default = "default_heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms` (also the rebalance timeout the member sends). Default 300000.
    #[serde(default = "default_max_poll_interval_ms")]
    pub max_poll_interval_ms: u64,
    /// `max.poll.records`. Default 500.
    #[serde(default = "default_max_poll_records")]
    pub max_poll_records: u32,
    /// How the application commits offsets. Default `Auto` (`enable.auto.commit=true`).
    #[serde(default)]
    pub commit: CommitMode,
    /// `auto.commit.interval.ms`. Default 5000.
    #[serde(default = "default_auto_commit_interval_ms")]
    pub auto_commit_interval_ms: u64,
    /// With a manual commit mode: also `commitSync()` in `onPartitionsRevoked`, the usual fix for
    /// duplicates after a rebalance. Default false.
    #[serde(default)]
    pub commit_on_revoke: bool,
    /// `auto.offset.reset`: where a partition without a committed offset starts. Default `Latest`.
    #[serde(default)]
    pub auto_offset_reset: AutoOffsetReset,
    /// `metadata.max.age.ms`: each member refreshes its metadata at least this often. The
    /// classic protocol's leader compares the partition counts it assigned with what it now
    /// sees and rejoins when a subscribed topic grew (`ConsumerCoordinator
    /// .rejoinNeededOrPending`); under `Consumer` the coordinator notices on its own. Default
    /// 300000 (5 minutes).
    #[serde(default = "default_metadata_max_age_ms")]
    pub metadata_max_age_ms: u64,
    /// KIP-320 (Kafka clients 2.3 and later): each position remembers the leader epoch of the
    /// record before it (committed offsets carry it too), and after a leader change the member
    /// asks the new leader where that epoch ended (`OffsetsForLeaderEpoch`) before fetching. A log
    /// truncated below the position (an unclean election) is detected and the position moves back
    /// to the first diverging offset (`auto.offset.reset=none`: the partition stops, as
    /// `LogTruncationException` stops the Java client). `false` models an older client, which
    /// fetches on from its position and silently skips whatever new records took the truncated
    /// offsets. Default true.
    #[serde(default = "yes")]
    pub detect_truncation: bool,
    /// Application time to process one record, in microseconds. Default 0.
    #[serde(default)]
    pub processing_us: u64,
    /// If set, each record's processing time is uniform in `[processing_us, processing_us_max]`.
    #[serde(default)]
    pub processing_us_max: Option<u64>,
    /// Application time per `poll()` batch (e.g. a database write), in ms. Default 0.
    #[serde(default)]
    pub poll_processing_ms: u64,
    /// `fetch.min.bytes`: the broker answers once this much data is there. Default 1.
    #[serde(default = "one")]
    pub fetch_min_bytes: u32,
    /// `fetch.max.wait.ms`: or after this long. Default 500.
    #[serde(default = "default_fetch_max_wait_ms")]
    pub fetch_max_wait_ms: u64,
    /// `max.partition.fetch.bytes`: per partition per fetch. Default 1048576.
    #[serde(default = "default_max_request_size")]
    pub max_partition_fetch_bytes: u32,
    /// Run the group as a Spark-like stream processor instead of a plain poll loop: a Structured
    /// Streaming query counting records per event-time window in micro-batches (see
    /// [`StreamQuery`]). The group then has one member (the query), which checkpoints its state
    /// and offsets when each batch ends and then commits the offsets to the group, whatever
    /// `commit` says; `poll_processing_ms` is each batch's fixed cost and `processing_us` each
    /// row's. Default none.
    #[serde(default)]
    pub stream: Option<StreamQuery>,
    /// The brokers' client quota for each member's `client.id`, in bytes per second
    /// (`consumer_byte_rate`, set with `kafka-configs` like `producer_byte_rate`). Each broker
    /// enforces it on its own. A fetch whose response would take a member over it is answered
    /// empty with a throttle time, and the member fetches nothing from that broker until it has
    /// passed (KIP-219). Default none (no quota).
    #[serde(default)]
    pub consumer_byte_rate: Option<u64>,
    /// `isolation.level`. Default `ReadUncommitted` (`ReadCommitted` for a group with an
    /// `output` under `ExactlyOnceV2`, which Kafka Streams forces).
    #[serde(default)]
    pub isolation_level: IsolationLevel,
    /// Make the group a consume-transform-produce application (a Kafka Streams topology
    /// `stream(topics).mapValues(..).to(topic)`): each member writes one record to `output.topic`
    /// for every record it processes, with a producer of its own, and commits as Kafka Streams
    /// does under its `processing.guarantee` (see [`GroupOutput`]). Default none.
    #[serde(default)]
    pub output: Option<GroupOutput>,
}

/// Kafka Streams' `processing.guarantee`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum ProcessingGuarantee {
    /// `at_least_once` (the default): every `commit.interval.ms` the member flushes its producer
    /// (every output record acknowledged) and then commits its offsets. After a crash, the
    /// records processed since the last commit are processed, and written, again.
    #[default]
    AtLeastOnce,
    /// `exactly_once_v2` (KIP-447): the member's producer is transactional; every
    /// `commit.interval.ms` it sends the consumed offsets to the transaction
    /// (`sendOffsetsToTransaction`, checked against the group generation) and commits it, so
    /// output records and offsets commit or abort together. Inputs are read `read_committed`.
    ExactlyOnceV2,
}

impl ProcessingGuarantee {
    pub fn kafka_name(self) -> &'static str {
        match self {
            ProcessingGuarantee::AtLeastOnce => "at_least_once",
            ProcessingGuarantee::ExactlyOnceV2 => "exactly_once_v2",
        }
    }
}

/// Where a consume-transform-produce group writes, and how it commits (Kafka Streams' settings).
/// Member `{group}-{i}` gets the producer `{group}-{i}-producer`, with Kafka Streams' producer
/// overrides (`linger.ms` 100; under exactly-once idempotence, `delivery.timeout.ms` unbounded,
/// `transaction.timeout.ms` 10000 and `transactional.id` per member). An output record goes to
/// the output partition numbered as its input partition (modulo the output's partition count),
/// as a key-preserving `mapValues` over co-partitioned topics would place it, and carries its
/// input's identity so that duplicates downstream can be counted.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupOutput {
    /// The topic written to.
    pub topic: String,
    /// `processing.guarantee`. Default `AtLeastOnce`.
    #[serde(default)]
    pub processing_guarantee: ProcessingGuarantee,
    /// `commit.interval.ms`, in ms. Default 30000 under `AtLeastOnce`, 100 under `ExactlyOnceV2`
    /// (Kafka Streams' defaults).
    #[serde(default)]
    pub commit_interval_ms: Option<u64>,
    /// The producers' `transaction.timeout.ms` under `ExactlyOnceV2`, in ms. Default 10000
    /// (Kafka Streams' override).
    #[serde(default = "default_streams_transaction_timeout_ms")]
    pub transaction_timeout_ms: u64,
    /// Size of each output record's value, in bytes. Default 100.
    #[serde(default = "default_value_bytes")]
    pub value_bytes: u32,
}

fn default_streams_transaction_timeout_ms() -> u64 {
    10_000
}

impl GroupOutput {
    /// `commit.interval.ms`, with Kafka Streams' default for the guarantee.
    pub fn commit_interval_ms(&self) -> u64 {
        self.commit_interval_ms.unwrap_or(match self.processing_guarantee {
            ProcessingGuarantee::AtLeastOnce => 30_000,
            ProcessingGuarantee::ExactlyOnceV2 => 100,
        })
    }

    pub fn exactly_once(&self) -> bool {
        self.processing_guarantee == ProcessingGuarantee::ExactlyOnceV2
    }
}

/// A Spark Structured Streaming query over the group's topics, run in micro-batches:
/// `withWatermark("timestamp", watermark_delay_ms).groupBy(window("timestamp", window_ms)).count()`
/// written in append mode with `Trigger.ProcessingTime(trigger_ms)`. The event time of a record is
/// its creation time at the producer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// `Trigger.ProcessingTime` interval, in ms: a batch starts at each multiple of it (at once
    /// when the previous batch ran longer). 0 runs batches back to back, Spark's default when
    /// no trigger is set. Default 0.
    #[serde(default)]
    pub trigger_ms: u64,
    /// The tumbling event-time window counted, in ms. Default 1000.
    #[serde(default = "default_window_ms")]
    pub window_ms: u64,
    /// `withWatermark` delay, in ms: how late a row may be. A batch runs with the largest event
    /// time seen by the batches before it minus this delay; rows at or below that are dropped,
    /// and windows that end at or below it are emitted (append mode). Default 0.
    #[serde(default)]
    pub watermark_delay_ms: u64,
    /// `maxOffsetsPerTrigger`: at most this many records per batch (over all partitions).
    /// Default none (everything fetched when the batch starts).
    #[serde(default)]
    pub max_offsets_per_trigger: Option<u64>,
    /// The Kafka source's `failOnDataLoss`: the query fails when the offsets it would read are
    /// out of range, e.g. retention deleted them before it read them. `false` logs a warning in
    /// Spark and reads on from the earliest offset available (here: `auto.offset.reset`).
    /// Default true.
    #[serde(default = "yes")]
    pub fail_on_data_loss: bool,
}

fn default_window_ms() -> u64 {
    1000
}

/// A change in a group's member count.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub at_ms: u64,
    pub members: u32,
}

/// `partition.assignment.strategy` values (kafka-reference §5).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum AssignmentStrategy {
    Range,
    RoundRobin,
    Sticky,
    CooperativeSticky,
}

impl AssignmentStrategy {
    pub fn strategy(self) -> crate::group::assignor::Strategy {
        use crate::group::assignor::Strategy;
        match self {
            AssignmentStrategy::Range => Strategy::Range,
            AssignmentStrategy::RoundRobin => Strategy::RoundRobin,
            AssignmentStrategy::Sticky => Strategy::Sticky,
            AssignmentStrategy::CooperativeSticky => Strategy::CooperativeSticky,
        }
    }
}

pub(crate) fn default_strategies() -> Vec<AssignmentStrategy> {
    vec![AssignmentStrategy::Range, AssignmentStrategy::CooperativeSticky]
}
pub(crate) fn default_session_timeout_ms() -> u64 {
    45_000
}
pub(crate) fn default_heartbeat_interval_ms() -> u64 {
    3000
}
fn default_max_poll_interval_ms() -> u64 {
    300_000
}
fn default_max_poll_records() -> u32 {
    500
}
fn default_auto_commit_interval_ms() -> u64 {
    5000
}

/// When offsets are committed (kafka-reference §4.5).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum CommitMode {
    /// `enable.auto.commit=true`: inside `poll()`, every `auto.commit.interval.ms`, the positions
    /// of what earlier polls returned (asynchronously); synchronously before a rebalance revokes
    /// partitions and on close. At-least-once.
    #[default]
    Auto,
    /// `commitSync()` after processing each poll's records. At-least-once.
    AfterProcessing,
    /// `commitSync()` right after `poll()` returns, before processing. At-most-once.
    BeforeProcessing,
    /// `commitSync(offset + 1)` after each record.
    PerRecord,
}

/// `auto.offset.reset`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum AutoOffsetReset {
    /// The log start offset.
    Earliest,
    /// The high watermark (`read_uncommitted`).
    #[default]
    Latest,
    /// No reset: the member cannot consume the partition (`NoOffsetForPartitionException`).
    None,
    /// `by_duration:<duration>` (KIP-1106, Kafka 4.0): the first record written in the last `ms`
    /// milliseconds, by its timestamp (`ListOffsets` for `now - ms`). A partition added while the
    /// group was not looking is read from about that long ago instead of from its end.
    ByDuration { ms: u64 },
}

/// As written in a scenario: `Latest`, `ByDuration(ms: 60000)`.
impl std::fmt::Display for AutoOffsetReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AutoOffsetReset::ByDuration { ms } => write!(f, "ByDuration(ms: {ms})"),
            other => write!(f, "{other:?}"),
        }
    }
}

fn default_fetch_max_wait_ms() -> u64 {
    500
}

/// A bound on a figure of the run, checked at the end.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
    Exactly(f64),
    Between(f64, f64),
}

impl Bound {
    pub fn holds(self, x: f64) -> bool {
        match self {
            Bound::AtLeast(a) => x >= a,
            Bound::AtMost(a) => x <= a,
            Bound::Exactly(a) => x == a,
            Bound::Between(a, b) => a <= x && x <= b,
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::AtLeast(a) => write!(f, "≥ {a}"),
            Bound::AtMost(a) => write!(f, "≤ {a}"),
            Bound::Exactly(a) => write!(f, "= {a}"),
            Bound::Between(a, b) => write!(f, "between {a} and {b}"),
        }
    }
}

/// A chart to draw into the output folder.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum Chart {
    /// Records per second produced, acknowledged and consumed over time.
    Throughput,
    /// Produce and end-to-end latency percentiles per interval over time.
    Latency,
    /// One partition over time: every replica's log end offset and the high watermark, each
    /// consumer group's committed offset and position on it, with faults, leader changes, offline
    /// time and the groups' rebalances marked.
    Offsets { topic: String, partition: u32 },
    /// One consumer group over time (a Gantt chart): a row per member with a bar for each
    /// partition it owned (labelled with the partition and the generation it was assigned in),
    /// each rebalance shaded from its start to the new generation's assignment, and a strip
    /// counting the group's partitions that had no owner. Eager and cooperative rebalancing look
    /// different here: eager ends every bar at each rebalance, cooperative only the bars that move.
    Rebalances { group: String },
    /// Total consumer lag (high watermark − position, over every group's partitions) over time.
    Lag,
    /// The ISR size of every partition over time.
    Isr,
    /// Every broker's network interface over time (with `cluster.network.nic_mbps`): the share of
    /// each interval it spent sending, with faults, leader changes and completed reassignments
    /// marked. A broker at 100% makes everything it sends wait.
    Network,
    /// Streaming lab charts, from values producers draw (`payload`) as a consumer receives them:
    /// the values as a line over arrival time.
    StreamValues,
    /// The same, with the minimum and maximum labelled.
    StreamMinMax,
    /// Each record's creation time against its arrival time at the consumer (bursts show as
    /// steps above the no-delay diagonal).
    StreamArrivals,
    /// The values beside their moving average over the last `window` values.
    StreamMovingAverage { window: u32 },
    /// Each producer's values, and their average (the mean of each producer's latest value).
    StreamProducers,
    /// A stream query's micro-batches (a group with `stream`): each batch's duration at its start
    /// against the trigger interval, and how late each window was emitted after it ended.
    MicroBatches { group: String },
    /// One partition of a compacted topic (`cleanup_policy` with compaction): the records its
    /// leader's log holds against the offsets it spans (everything ever written), with each
    /// cleaning of the log cleaner marked.
    Compaction { topic: String, partition: u32 },
}

impl Chart {
    /// Every chart that applies to a scenario (`run --charts all`): throughput, latency, the
    /// offsets timeline of each topic's partition 0, and with consumer groups the lag and each
    /// group's rebalance timeline.
    pub fn all_for(s: &Scenario) -> Vec<Chart> {
        let mut all = vec![Chart::Throughput, Chart::Latency];
        all.extend(s.topics.iter().map(|t| Chart::Offsets { topic: t.name.clone(), partition: 0 }));
        if !s.consumer_groups.is_empty() {
            all.push(Chart::Lag);
        }
        all.extend(s.consumer_groups.iter().map(|g| Chart::Rebalances { group: g.name.clone() }));
        all.extend(
            s.consumer_groups
                .iter()
                .filter(|g| g.stream.is_some())
                .map(|g| Chart::MicroBatches { group: g.name.clone() }),
        );
        all.push(Chart::Isr);
        if s.has_limited_nics() {
            all.push(Chart::Network);
        }
        all.extend(
            s.topics
                .iter()
                .filter(|t| t.cleanup_policy.compacts())
                .map(|t| Chart::Compaction { topic: t.name.clone(), partition: 0 }),
        );
        if s.producers.iter().any(|p| p.payload.is_some()) && !s.consumer_groups.is_empty() {
            all.extend([
                Chart::StreamValues,
                Chart::StreamMinMax,
                Chart::StreamArrivals,
                Chart::StreamMovingAverage { window: 10 },
                Chart::StreamProducers,
            ]);
        }
        all
    }

    pub fn file_name(&self) -> String {
        match self {
            Chart::Throughput => "throughput.png".into(),
            Chart::Latency => "latency.png".into(),
            Chart::Offsets { topic, partition } => format!("offsets-{topic}-{partition}.png"),
            Chart::Rebalances { group } => format!("rebalances-{group}.png"),
            Chart::Lag => "lag.png".into(),
            Chart::Isr => "isr.png".into(),
            Chart::Network => "network.png".into(),
            Chart::StreamValues => "stream-values.png".into(),
            Chart::StreamMinMax => "stream-min-max.png".into(),
            Chart::StreamArrivals => "stream-arrivals.png".into(),
            Chart::StreamMovingAverage { window } => format!("stream-moving-average-{window}.png"),
            Chart::StreamProducers => "stream-producers.png".into(),
            Chart::MicroBatches { group } => format!("micro-batches-{group}.png"),
            Chart::Compaction { topic, partition } => format!("compaction-{topic}-{partition}.png"),
        }
    }
}

/// A fault and when it happens.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultAt {
    /// When, in ms from the start.
    pub at_ms: u64,
    pub fault: Fault,
}

/// Something that goes wrong.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Fault {
    /// The process dies. A broker's page cache (everything appended) survives; a consumer loses
    /// whatever it was processing.
    Crash(Target),
    /// The machine loses power; only data written back or flushed survives.
    PowerLoss(Target),
    /// A broker or a consumer stops gracefully (SIGTERM, as in a rolling restart). A broker
    /// performs a *controlled shutdown*: it asks the controller to shut down, the controller
    /// moves its leaderships to other in-sync replicas and takes it out of every ISR, and only
    /// then does the process exit, with its logs flushed (a clean shutdown). A consumer's
    /// shutdown hook calls `close()`: it finishes the records in hand, commits (auto-commit),
    /// leaves its group (dynamic members only) and exits. `Restart` starts either again.
    Shutdown(Target),
    /// A crashed or shut-down broker starts again, recovers its log and registers with the
    /// controller; a crashed consumer starts again as a new process and rejoins its group. A
    /// consume-transform-produce member starts again with its producer, under the same
    /// `transactional.id`: its `InitProducerId` aborts the transaction the crash left open.
    Restart(Target),
    /// The node stops handling anything for the given ms (a long GC pause); work queues up.
    Pause(Target, u64),
    /// Every link of the node is cut, both ways.
    Isolate(Target),
    /// The node is cut off from these nodes, both ways (e.g. a leader from its peers and the
    /// controller, but not from producers).
    CutOff(Target, Vec<Target>),
    /// The cluster splits into groups that cannot reach each other; nodes not listed stay with
    /// the first group.
    Split(Vec<Vec<Target>>),
    /// One direction of one link is cut (from, to).
    CutLink(Target, Target),
    /// Both directions of a link get this many µs more latency.
    SlowLink(Target, Target, u64),
    /// Both directions of a link drop this fraction of messages (0 to 1).
    DropMessages(Target, Target, f64),
    /// Every log append on the broker takes this many more ms (a slow or saturated disk):
    /// produce requests and replicated batches wait their turn. `SlowDisk(target, 0)` restores it.
    SlowDisk(Target, u64),
    /// The node's network interface now sends at this many Mbit/s (a NIC that negotiated down
    /// to 100 Mbit/s, a noisy neighbour on a shared host): everything the node sends queues for
    /// it, one message at a time, as with `cluster.network.nic_mbps`. The node stays up and in
    /// every ISR it can keep up with: a gray failure. `SlowNic(target, 0)` restores the
    /// scenario's interface speed (unlimited without `nic_mbps`); what was queued still goes first.
    SlowNic(Target, u64),
    /// Every cut, slow or lossy link is restored.
    Heal,
    /// A consumer group member's application now takes this many µs per record (a slow
    /// downstream, e.g. a database). `SlowProcessing(member, processing_us)` restores it.
    SlowProcessing(Target, u64),
    /// An operator raises a topic's partition count to this total (`kafka-topics.sh --alter
    /// --partitions N`, `Admin.createPartitions` with `NewPartitions.increaseTo(N)`). The
    /// controller creates the new partitions at once, led by their first replica; producers and
    /// consumers see them only when their metadata next refreshes (`metadata_max_age_ms`), so
    /// keys move to other partitions and a group reading from `Latest` may skip what the new
    /// partitions got first. Partitions are never removed (Kafka cannot).
    CreatePartitions(String, u32),
    /// An operator moves a partition's replicas to these brokers, the first the preferred leader
    /// (`kafka-reassign-partitions.sh --execute`, `Admin.alterPartitionReassignments`, KIP-455):
    /// `Reassign("orders", 0, [2, 1])`. The controller adds the new replicas at once; they copy
    /// the leader's whole log as followers, and once every target replica is in the ISR the
    /// controller drops the old ones (they delete their copy) and, if the leader was one of them,
    /// elects the first target replica in the ISR. Refused, as the tool refuses it without
    /// `--additional`, while the partition is still being reassigned (the tool checks the whole
    /// cluster; here a plan of several partitions is several faults at the same time).
    Reassign(String, u32, Vec<u32>),
    /// `kafka-reassign-partitions.sh --execute --additional` (or `Admin.alterPartitionReassignments`
    /// itself): as `Reassign`, and a reassignment of the partition still in progress is replaced.
    /// The new target is measured against the partition's current replicas (the old target and
    /// the replicas the old reassignment was removing): a replica the old target was adding and
    /// the new one does not name leaves and deletes what it copied; one both name keeps it.
    ReassignAdditional(String, u32, Vec<u32>),
    /// An operator cancels a partition's reassignment in progress (`kafka-reassign-partitions.sh
    /// --cancel`, `Admin.alterPartitionReassignments` with an empty target): the replicas it was
    /// adding leave (and delete what they copied), the ones it was removing stay
    /// (`PartitionReassignmentRevert`). Refused, as Kafka refuses it, when none is in progress, or
    /// when no replica it keeps is in the ISR and the topic does not allow unclean elections.
    CancelReassignment(String, u32),
}

/// Who a fault hits: by name, or by role at the moment the fault fires.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Target {
    /// `broker-N`.
    Broker(u32),
    /// The KRaft controller.
    Controller,
    /// A node by name: a broker, `controller`, a producer or a group member (`billing-0`).
    Node(String),
    /// The current leader of a topic's partition.
    LeaderOf(String, u32),
    /// The first in-sync follower (in replica order) of a topic's partition.
    FollowerOf(String, u32),
    /// The first replica of a topic's partition that is out of the ISR.
    FollowerOutOfIsr(String, u32),
}

/// A value each record carries, drawn by the producer from its own random stream.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Payload {
    /// A whole number uniform in `min..=max` (a count, a temperature, a price in cents).
    UniformInt { min: i64, max: i64 },
}

/// `compression.type`, modelled as the size a batch's records shrink to on the wire and on disk
/// (the 61-byte batch header stays uncompressed) and, when the producer has a [`ProducerCpu`],
/// as CPU time per KiB compressed. The ratios are typical of repetitive text or JSON payloads;
/// real ratios depend on the data.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Compression {
    #[default]
    None,
    /// About 30% of the original size.
    Gzip,
    /// About 50%.
    Snappy,
    /// About 45%.
    Lz4,
    /// About 27%.
    Zstd,
}

impl Compression {
    /// The fraction of its size a batch's records keep.
    pub fn ratio(self) -> f64 {
        match self {
            Compression::None => 1.0,
            Compression::Gzip => 0.30,
            Compression::Snappy => 0.50,
            Compression::Lz4 => 0.45,
            Compression::Zstd => 0.27,
        }
    }

    /// Compression time per KiB of uncompressed records, in ns: `1024 / speed`, with the
    /// single-core compression speeds of the zstd project's lzbench table (Core i7-9700K,
    /// Silesia corpus, <https://facebook.github.io/zstd/#benchmarks>): lz4 1.9.4 700 MB/s,
    /// snappy 1.1.9 about 530 MB/s, zstd 1.5.6 level 1 510 MB/s, zlib 1.2.11 level 1 95 MB/s.
    /// Kafka's default levels are slower (gzip 6, zstd 3), and the Java codecs add some overhead,
    /// so read these as the codecs' relative costs on one fast core, not as measurements of Kafka.
    pub fn cpu_per_kib_ns(self) -> u64 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 10_800,
            Compression::Snappy => 1_900,
            Compression::Lz4 => 1_500,
            Compression::Zstd => 2_000,
        }
    }

    /// Kafka's name for it.
    pub fn kafka_name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}
