//! The cluster: brokers with their replica logs, the controller, placement and metadata
//! (kafka-reference §3).

mod broker;
pub mod cleaner;
mod controller;
pub(crate) mod log;
mod metadata;
pub(crate) mod placement;
pub mod quota;
pub mod txn_index;

pub use broker::{Broker, BrokerStats, Replica};
pub use controller::{ClusterEvent, Controller, Election, MetadataImage, Role};
pub use log::{Log, LogBatch, Retention, Segment};
pub use metadata::{Metadata, TopicMeta};
pub use placement::assign_replicas;
