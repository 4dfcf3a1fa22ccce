//! Consumer groups: Kafka's client-side partition assignors, exact to Kafka's source
//! (kafka-reference §5), and the group coordinator of the classic protocol (§4) with its home on
//! a broker, and the consumer rebalance protocol of KIP-848 (§4.8).

pub mod assignor;
pub mod consumer_protocol;
pub mod coordinator;
mod host;

pub use coordinator::{Group, GroupState, Groups, Rebalance};
pub use host::CoordinatorHost;
