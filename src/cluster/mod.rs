//! The cluster: brokers with their replica logs, the controller, placement and metadata
//! (kafka-reference §3).

mod broker;
mod controller;
mod log;
mod metadata;
pub(crate) mod placement;

pub use broker::{Broker, BrokerStats, Replica};
pub use controller::{ClusterEvent, Controller, Election};
pub use log::{Log, LogBatch};
pub use metadata::{Metadata, TopicMeta};
pub use placement::assign_replicas;
