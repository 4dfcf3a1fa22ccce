//! The cluster: brokers, their partition logs, and the metadata clients use to find leaders.
//!
//! Today each partition has one leader that serves produce and fetch requests alone; followers,
//! the ISR, the high-watermark rule, leader epochs and the controller come with the replication
//! model (kafka-reference §3). Until then the high watermark equals the leader's log end offset.

mod broker;
mod log;
mod metadata;

pub use broker::Broker;
pub use log::{Log, LogBatch};
pub use metadata::{Metadata, TopicMeta};
