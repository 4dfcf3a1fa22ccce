//! Value sizes: fixed, uniform, or log-normal, drawn from the producer's own value stream
//! (`producer/<name>/value`), so changing the sizes never moves arrivals or keys.
//!
//! A fixed size takes no draws. Uniform uses one unbiased integer draw; log-normal one standard
//! normal (Box–Muller over two integer draws): `median × e^(sigma·Z)`, rounded to whole bytes and
//! clamped to `0..=1 MiB` (the largest `value_bytes` allowed).

use crate::scenario::ValueSize;
use crate::sim::RandomStream;

/// Largest value size, as for `value_bytes`.
const MAX_VALUE_BYTES: f64 = 1_048_576.0;

/// Draws the value size of each record.
#[derive(Debug)]
pub struct ValueSizeGenerator {
    spec: ValueSize,
    rng: RandomStream,
}

impl ValueSizeGenerator {
    /// `value_size` when set, else the fixed `value_bytes`.
    pub fn new(value_bytes: u32, value_size: Option<ValueSize>, rng: RandomStream) -> ValueSizeGenerator {
        ValueSizeGenerator { spec: value_size.unwrap_or(ValueSize::Fixed(value_bytes)), rng }
    }

    /// The next record's value size in bytes.
    #[inline]
    pub fn next_bytes(&mut self) -> u32 {
        match self.spec {
            ValueSize::Fixed(b) => b,
            _ => self.draw_bytes(),
        }
    }

    /// A size drawn from a distribution (out of line: most producers have a fixed size).
    #[inline(never)]
    fn draw_bytes(&mut self) -> u32 {
        match self.spec {
            ValueSize::Fixed(b) => b,
            ValueSize::Uniform { min_bytes, max_bytes } => {
                let span = (max_bytes - min_bytes) as u64 + 1;
                min_bytes + self.rng.below(span) as u32
            }
            ValueSize::LogNormal { median_bytes, sigma } => {
                let x = median_bytes as f64 * (sigma * self.rng.standard_normal()).exp();
                // Non-negative: adding 0.5 and truncating rounds to the nearest byte.
                (x.min(MAX_VALUE_BYTES) + 0.5) as u32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(spec: ValueSize) -> ValueSizeGenerator {
        ValueSizeGenerator::new(100, Some(spec), RandomStream::new(2, "producer/v/value"))
    }

    #[test]
    fn fixed_is_value_bytes_unless_value_size_is_set() {
        let mut g = ValueSizeGenerator::new(123, None, RandomStream::new(1, "v"));
        assert_eq!(g.next_bytes(), 123);
        assert_eq!(generator(ValueSize::Fixed(7)).next_bytes(), 7);
    }

    #[test]
    fn uniform_covers_both_bounds_and_nothing_outside() {
        let mut g = generator(ValueSize::Uniform { min_bytes: 10, max_bytes: 14 });
        let mut seen = [0u32; 5];
        for _ in 0..50_000 {
            let b = g.next_bytes();
            assert!((10..=14).contains(&b), "{b}");
            seen[(b - 10) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (9_500..10_500).contains(&c)), "{seen:?}");
        let mut one = generator(ValueSize::Uniform { min_bytes: 5, max_bytes: 5 });
        assert_eq!(one.next_bytes(), 5);
    }

    #[test]
    fn lognormal_has_its_median_and_a_right_tail() {
        let mut g = generator(ValueSize::LogNormal { median_bytes: 1000, sigma: 1.0 });
        let mut xs: Vec<u32> = (0..200_000).map(|_| g.next_bytes()).collect();
        xs.sort_unstable();
        let median = xs[xs.len() / 2] as f64;
        assert!((median - 1000.0).abs() <= 20.0, "median {median}");
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / xs.len() as f64;
        // E = median × e^(σ²/2) ≈ 1648.7
        assert!((mean - 1648.7).abs() < 0.03 * 1648.7, "mean {mean}");
        assert!(*xs.last().unwrap() <= 1_048_576);
    }

    #[test]
    fn lognormal_is_clamped_to_one_mebibyte() {
        let mut g = generator(ValueSize::LogNormal { median_bytes: 1_048_576, sigma: 3.0 });
        let xs: Vec<u32> = (0..10_000).map(|_| g.next_bytes()).collect();
        assert!(xs.iter().all(|&x| x <= 1_048_576));
        assert!(xs.contains(&1_048_576));
    }
}
