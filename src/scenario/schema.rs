//! The scenario file format: a serde mirror of the RON file.
//!
//! Names follow Kafka's configs with dots as underscores and units last (`linger.ms` is
//! `linger_ms`). Every field says its unit and its default; defaults are Kafka 4.x defaults
//! (kafka-reference §1) unless the field is kafkasim's own. Unknown fields are errors.
//!
//! What is modelled so far (the rest of the format grows with the model): brokers that each lead
//! some partitions, producers with constant or Poisson arrivals, keyed or unkeyed records placed
//! by Kafka's partitioner, batching by `batch_size`/`linger_ms`, `acks`, consumer groups whose
//! members fetch an even share of the partitions, and a network of per-link latency and jitter.

use std::collections::BTreeMap;

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
    /// Per-link overrides between two named nodes (`broker-1`, a producer's or a group's member's
    /// name such as `billing-0`). Both directions.
    #[serde(default)]
    pub links: Vec<LinkOverride>,
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
}

fn default_latency_us() -> u64 {
    500
}

impl Default for Link {
    fn default() -> Self {
        Link {
            latency_us: default_latency_us(),
            jitter_us: 0,
        }
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
    /// Copies of each partition. Kafka default `default.replication.factor` = 1. Must not exceed
    /// the number of brokers. (Followers replicate once the replication model lands; today the
    /// leader alone serves the partition.)
    #[serde(default = "one")]
    pub replication_factor: u32,
    /// Kafka default `min.insync.replicas` = 1. Must not exceed `replication_factor`.
    #[serde(default = "one")]
    pub min_insync_replicas: u32,
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
    /// Size of each record's value in bytes. Default 100.
    #[serde(default = "default_value_bytes")]
    pub value_bytes: u32,
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
    /// When the producer starts creating records, in ms. Default 0.
    #[serde(default)]
    pub start_ms: u64,
    /// When it stops creating records, in ms. Default: the end of the run.
    #[serde(default)]
    pub stop_ms: Option<u64>,
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

/// The arrival process of a producer's records.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum Arrival {
    /// Exactly `per_sec` records per second, evenly spaced.
    Constant { per_sec: f64 },
    /// A Poisson process: exponential gaps with mean `1 / per_sec` seconds.
    Poisson { per_sec: f64 },
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

/// A consumer group whose members share the partitions of its topics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroup {
    /// `group.id`. Members are named `{name}-0`, `{name}-1`, ...
    pub name: String,
    pub topics: Vec<String>,
    /// Number of members. Default 1. Partitions are split evenly, in order (a range-like split;
    /// the group protocol and Kafka's assignors replace it when consumer groups land).
    #[serde(default = "one")]
    pub members: u32,
    /// Application time to process one record, in microseconds. Default 0.
    #[serde(default)]
    pub processing_us: u64,
    /// `fetch.min.bytes`: the broker answers once this much data is there. Default 1.
    #[serde(default = "one")]
    pub fetch_min_bytes: u32,
    /// `fetch.max.wait.ms`: or after this long. Default 500.
    #[serde(default = "default_fetch_max_wait_ms")]
    pub fetch_max_wait_ms: u64,
    /// `max.partition.fetch.bytes`: per partition per fetch. Default 1048576.
    #[serde(default = "default_max_request_size")]
    pub max_partition_fetch_bytes: u32,
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
}

impl Chart {
    pub const ALL: [Chart; 2] = [Chart::Throughput, Chart::Latency];
    pub fn file_name(&self) -> &'static str {
        match self {
            Chart::Throughput => "throughput.png",
            Chart::Latency => "latency.png",
        }
    }
}
