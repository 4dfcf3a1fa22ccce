//! Consume-transform-produce groups (a [`ConsumerGroup`] with an `output`, Kafka Streams'
//! `stream(topics).mapValues(..).to(topic)`): the producer each member owns.
//!
//! A Kafka Streams thread owns one producer (exactly-once v2, KIP-447: one transactional
//! producer per thread). kafkasim adds, after the scenario's own producers, one producer per
//! member slot of every such group, named `{member}-producer`, with Kafka Streams' producer
//! overrides (`StreamsConfig.PRODUCER_DEFAULT_OVERRIDES` and `PRODUCER_EOS_OVERRIDES`):
//! `linger.ms` 100; under `exactly_once_v2` idempotence and `transaction.timeout.ms` 10000.
//! Simplified: `delivery.timeout.ms` keeps the producer default (Streams makes it unbounded
//! under exactly-once); the member's process is one node for faults (see the engine).

use super::{ConsumerGroup, Producer, Scenario, Transactions};

/// The name of the producer member `member` of a group with an output owns.
pub fn output_producer_name(member: &str) -> String {
    format!("{member}-producer")
}

/// Members a group ever has (its start count or the largest it scales to).
pub fn member_slots(group: &ConsumerGroup) -> u32 {
    group.scale.iter().map(|s| s.members).fold(group.members, u32::max)
}

/// Adds the output producers of every group with an `output` to a validated scenario, after
/// its own producers, group by group and member by member.
pub fn add_output_producers(scenario: &mut Scenario) {
    for (g, group) in scenario.consumer_groups.iter().enumerate() {
        let Some(output) = &group.output else { continue };
        for m in 0..member_slots(group) {
            let name = output_producer_name(&format!("{}-{m}", group.name));
            // Every setting not named here is the producer default, as a file would leave it.
            let text = format!("(name: {name:?}, topic: {:?}, arrival: Constant(per_sec: 1.0))", output.topic);
            let mut p: Producer = ron::from_str(&text).expect("a producer with its defaults parses");
            p.linger_ms = 100;
            p.value_bytes = output.value_bytes;
            p.start_ms = group.start_ms;
            p.output_of = Some((g as u32, m));
            if output.exactly_once() {
                p.enable_idempotence = Some(true);
                p.transactions = Some(Transactions {
                    commit_interval_ms: output.commit_interval_ms(),
                    abort_probability: 0.0,
                    transaction_timeout_ms: output.transaction_timeout_ms,
                });
            }
            scenario.producers.push(p);
        }
    }
}

/// Index of the first producer of group `g`'s members, if the group has an output.
pub fn first_output_producer(scenario: &Scenario, g: usize) -> Option<usize> {
    scenario.consumer_groups[g].output.as_ref()?;
    scenario.producers.iter().position(|p| p.output_of.is_some_and(|(group, _)| group as usize == g))
}
