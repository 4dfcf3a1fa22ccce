//! Record keys: none, one fixed key, uniform over `N` keys, Zipf over `N` keys, or one of a list.
//!
//! Keys are strings serialized as UTF-8, as Java's `StringSerializer` does, so the partition a
//! key lands on is the one a real Kafka producer would choose.
//!
//! Zipf keys are drawn exactly: the cumulative distribution of `1/k^s` is computed once, and each
//! record takes one uniform draw and a binary search (no approximation, no rejection).

use crate::scenario::Key;
use crate::sim::RandomStream;

/// Draws the key of each record.
#[derive(Debug)]
pub struct KeyGenerator {
    /// The keys drawn from the spec, then any extra keys (a replay file's).
    keys: Vec<Vec<u8>>,
    /// How many of `keys` the spec draws from.
    drawn: usize,
    /// Zipf only: `cdf[k]` = P(rank ≤ k), the last entry exactly 1.
    cdf: Vec<f64>,
    rng: RandomStream,
}

impl KeyGenerator {
    pub fn new(spec: &Key, rng: RandomStream) -> KeyGenerator {
        let numbered = |keys: u32, prefix: &str| (0..keys).map(|i| format!("{prefix}{i}").into_bytes()).collect();
        let keys: Vec<Vec<u8>> = match spec {
            Key::Null => Vec::new(),
            Key::Fixed(k) => vec![k.as_bytes().to_vec()],
            Key::Uniform { keys, prefix } => numbered(*keys, prefix),
            Key::OneOf(list) => list.iter().map(|k| k.as_bytes().to_vec()).collect(),
            Key::Zipf { keys, prefix, .. } => numbered(*keys, prefix),
        };
        let cdf = match spec {
            Key::Zipf { keys, s, .. } => zipf_cdf(*keys as usize, *s),
            _ => Vec::new(),
        };
        KeyGenerator { drawn: keys.len(), keys, cdf, rng }
    }

    /// Adds keys that records name themselves (a replay file's), after the drawn ones; record
    /// `i`'s key is then [`KeyGenerator::extra_key`]`(i)`.
    pub fn with_extra_keys(mut self, extra: &[String]) -> KeyGenerator {
        self.keys.extend(extra.iter().map(|k| k.as_bytes().to_vec()));
        self
    }

    /// The key index of extra key `i` (see [`KeyGenerator::with_extra_keys`]).
    pub fn extra_key(&self, i: usize) -> usize {
        self.drawn + i
    }

    /// Whether every drawn record carries a key (the spec is not `Null`).
    pub fn is_keyed(&self) -> bool {
        self.drawn > 0
    }

    /// The next record's key index (into [`KeyGenerator::key`]), or `None` for a null key.
    pub fn next_key(&mut self) -> Option<usize> {
        match self.drawn {
            0 => None,
            1 => Some(0),
            n if self.cdf.is_empty() => Some(self.rng.below(n as u64) as usize),
            _ => {
                let u = self.rng.unit_f64();
                // The first rank whose cumulative probability exceeds u; cdf's last entry is 1 > u.
                Some(self.cdf.partition_point(|&c| c <= u))
            }
        }
    }

    pub fn key(&self, index: usize) -> &[u8] {
        &self.keys[index]
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}

/// The cumulative Zipf distribution over `n` ranks with exponent `s`: P(rank k) ∝ 1/(k+1)^s.
fn zipf_cdf(n: usize, s: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
    let total: f64 = weights.iter().rev().sum(); // smallest first, for accuracy
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w;
            acc / total
        })
        .collect();
    if let Some(last) = cdf.last_mut() {
        *last = 1.0;
    }
    cdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_frequencies_follow_one_over_k_to_the_s() {
        for s in [0.8, 1.0, 1.5] {
            let n = 50u32;
            let mut g = KeyGenerator::new(
                &Key::Zipf { keys: n, s, prefix: "k".into() },
                RandomStream::new(4, "producer/z/key"),
            );
            let draws = 200_000;
            let mut counts = vec![0u32; n as usize];
            for _ in 0..draws {
                counts[g.next_key().unwrap()] += 1;
            }
            let h: f64 = (1..=n).map(|k| (k as f64).powf(-s)).sum();
            for (k, &c) in counts.iter().enumerate() {
                let p = ((k + 1) as f64).powf(-s) / h;
                let expected = p * draws as f64;
                // 4 standard deviations of a binomial count, or 5% of the count.
                let tolerance = (4.0 * (expected * (1.0 - p)).sqrt()).max(0.05 * expected);
                assert!(
                    (c as f64 - expected).abs() <= tolerance,
                    "s={s} rank {k}: {c} draws, expected {expected:.0} ± {tolerance:.0}"
                );
            }
            assert!(counts[0] > counts[1] && counts[1] > counts[4], "{counts:?}");
            assert_eq!(g.key(0), b"k0");
            assert_eq!(g.key(49), b"k49");
        }
    }

    #[test]
    fn zipf_cdf_is_exact_and_ends_at_one() {
        let cdf = zipf_cdf(3, 1.0);
        // weights 1, 1/2, 1/3; total 11/6
        assert!((cdf[0] - 6.0 / 11.0).abs() < 1e-15);
        assert!((cdf[1] - 9.0 / 11.0).abs() < 1e-15);
        assert_eq!(cdf[2], 1.0);
    }

    #[test]
    fn extra_keys_follow_the_drawn_ones_and_are_never_drawn() {
        let mut g = KeyGenerator::new(&Key::Uniform { keys: 2, prefix: "u".into() }, RandomStream::new(1, "k"))
            .with_extra_keys(&["x".to_string()]);
        assert_eq!(g.key_count(), 3);
        assert_eq!(g.key(g.extra_key(0)), b"x");
        assert!((0..1000).all(|_| g.next_key().unwrap() < 2));
        let g = KeyGenerator::new(&Key::Null, RandomStream::new(1, "k")).with_extra_keys(&["x".to_string()]);
        assert!(!g.is_keyed(), "null-key records still use the built-in partitioner");
    }
}
