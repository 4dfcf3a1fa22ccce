//! Consumer groups. Today: Kafka's client-side partition assignors, exact to Kafka's source
//! (kafka-reference §5). The group coordinator and the rebalance protocol build on them.

pub mod assignor;
