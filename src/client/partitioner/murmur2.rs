//! Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`), bit-exact.
//!
//! Java computes in 32-bit two's complement with `>>>` (logical shift); here everything is `u32`
//! with wrapping multiplication, and the Java `int` result is `h as i32`.

/// `Utils.murmur2(byte[])`: the 32-bit murmur2 hash Kafka uses to place keyed records.
/// Returns the Java `int` (signed) value, so it can be compared with Kafka's own test vectors.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len() as u32;
    let mut h: u32 = SEED ^ length;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        let mut k = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    // Java's `switch (length % 4)` falls through from case 3 to case 1.
    let tail = words.remainder();
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// `Utils.toPositive`: clears the sign bit (not `Math.abs`, which would differ for negatives).
pub fn to_positive(n: i32) -> u32 {
    (n as u32) & 0x7fff_ffff
}

/// `BuiltInPartitioner.partitionForKey`: the partition of a keyed record.
/// `key` is the *serialized* key (UTF-8 for Java's `StringSerializer`).
pub fn partition_for_key(key: &[u8], num_partitions: u32) -> u32 {
    debug_assert!(num_partitions > 0);
    to_positive(murmur2(key)) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `UtilsTest.testMurmur2` in apache/kafka (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    #[test]
    fn kafka_utils_test_vectors() {
        let cases: [(&str, i32); 6] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key.as_bytes()), want, "murmur2({key:?})");
        }
    }

    /// kafka-python's `test/producer/test_partitioner.py`, "compare with output from Kafka's
    /// ...Partitioner", for a 1000-partition topic. Covers every tail length (0..=3) and a NUL byte.
    #[test]
    fn partitions_of_a_1000_partition_topic() {
        let cases: [(&[u8], u32); 6] =
            [(b"", 681), (b"a", 524), (b"ab", 434), (b"abc", 107), (b"123456789", 566), (b"\x00 ", 742)];
        for (key, want) in cases {
            assert_eq!(partition_for_key(key, 1000), want, "key {key:?}");
        }
    }

    #[test]
    fn to_positive_clears_only_the_sign_bit() {
        assert_eq!(to_positive(-1), 0x7fff_ffff);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(5), 5);
    }

    #[test]
    fn bytes_above_0x7f_are_unsigned() {
        // Java masks with `& 0xff`; a sign-extension bug would change these hashes.
        assert_ne!(murmur2(&[0xff]), murmur2(&[0x7f]));
        assert_eq!(murmur2(&[0xff, 0xfe, 0xfd]), murmur2(&[0xff, 0xfe, 0xfd]));
    }
}
