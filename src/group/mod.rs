//! Consumer groups: Kafka's client-side partition assignors, exact to Kafka's source
//! (kafka-reference §5), and the group coordinator of the classic protocol (§4) with its home on
//! a broker, and the consumer rebalance protocol of KIP-848 (§4.8).

pub mod assignor;
pub mod consumer_protocol;
pub mod coordinator;
mod host;

pub use coordinator::{Group, GroupState, Groups, Rebalance};
pub use host::CoordinatorHost;

/// A version-4 UUID from two random words (version nibble 4, variant bits 10), as member ids
/// carry one.
pub fn uuid_v4(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        (a & 0x0FFF) | 0x4000,
        ((b >> 48) & 0x3FFF) | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn member_ids_are_version_4_uuids() {
        let id = super::uuid_v4(u64::MAX, u64::MAX);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = super::uuid_v4(0, 0);
        assert_eq!(id, "00000000-0000-4000-8000-000000000000");
    }
}
