//! Random streams: one ChaCha8 stream per component, keyed by a stable id.
//!
//! The id is a 64-bit FNV-1a hash of the component's kind and name (`"producer/checkout/arrival"`),
//! never its creation order. So adding a consumer does not shift a producer's arrivals, and two
//! runs that differ in one setting draw the same random numbers everywhere else (common random
//! numbers: a fair A/B comparison).
//!
//! The samplers below work on raw integer draws, so results do not change when the `rand` crate
//! changes its distribution code.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// FNV-1a, 64 bit: a stable hash of a component id (same on every platform and version).
pub fn stable_id(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A seeded random stream owned by one component.
#[derive(Clone, Debug)]
pub struct RandomStream {
    rng: ChaCha8Rng,
}

impl RandomStream {
    /// The stream for component `id` under the run's master `seed`.
    pub fn new(seed: u64, id: &str) -> RandomStream {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stable_id(id));
        RandomStream { rng }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` without modulo bias (Lemire's method). `n == 0` gives 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = (self.next_u64() as u128) * (n as u128);
        // A draw is rejected (probability < n / 2^64) when its low half is below 2^64 mod n,
        // which is below n: only then is the slow modulo worth computing. The draws and results
        // are those of computing it every time.
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n; // 2^64 mod n
            while (m as u64) < threshold {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as u64
    }

    /// Exponential with the given mean, for Poisson inter-arrival times.
    #[inline]
    pub fn exponential(&mut self, mean: f64) -> f64 {
        // u in (0, 1]: never ln(0)
        let u = ((self.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64);
        -u.ln() * mean
    }

    /// Standard normal (mean 0, variance 1), by the Box–Muller transform of two uniform draws.
    pub fn standard_normal(&mut self) -> f64 {
        // u in (0, 1]: never ln(0)
        let u = ((self.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64);
        let v = self.unit_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.unit_f64() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_the_name_not_the_creation_order() {
        let mut a1 = RandomStream::new(7, "producer/a");
        let _b = RandomStream::new(7, "producer/b");
        let mut a2 = RandomStream::new(7, "producer/a");
        assert_eq!(a1.next_u64(), a2.next_u64());
        let mut b = RandomStream::new(7, "producer/b");
        let mut a3 = RandomStream::new(7, "producer/a");
        assert_ne!(a3.next_u64(), b.next_u64());
    }

    #[test]
    fn another_seed_gives_another_stream() {
        let mut a = RandomStream::new(1, "x");
        let mut b = RandomStream::new(2, "x");
        assert_ne!(a.next_u64(), b.next_u64());
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = RandomStream::new(3, "t");
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[r.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn below_draws_as_the_textbook_lemire_loop() {
        // The reference: the modulo computed on every call.
        fn reference(r: &mut RandomStream, n: u64) -> u64 {
            let threshold = n.wrapping_neg() % n;
            loop {
                let m = (r.next_u64() as u128) * (n as u128);
                if (m as u64) >= threshold {
                    return (m >> 64) as u64;
                }
            }
        }
        let (mut a, mut b) = (RandomStream::new(9, "below"), RandomStream::new(9, "below"));
        // Bounds near 2^64 make rejections common, so the rejection path is exercised too.
        for n in [1, 2, 3, 7, 1000, 1 << 40, u64::MAX / 3 * 2, u64::MAX - 1, u64::MAX] {
            for _ in 0..2000 {
                assert_eq!(a.below(n), reference(&mut b, n), "n = {n}");
            }
        }
    }

    #[test]
    fn exponential_has_the_requested_mean() {
        let mut r = RandomStream::new(5, "arrivals");
        let n = 200_000;
        let mean: f64 = (0..n).map(|_| r.exponential(2.0)).sum::<f64>() / n as f64;
        assert!((mean - 2.0).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn standard_normal_has_mean_0_and_variance_1() {
        let mut r = RandomStream::new(6, "normal");
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.standard_normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "variance {var}");
        let below_1 = xs.iter().filter(|&&x| x < 1.0).count() as f64 / n as f64;
        assert!((below_1 - 0.8413).abs() < 0.005, "P(Z < 1) = {below_1}");
    }

    #[test]
    fn stable_id_is_fnv1a() {
        assert_eq!(stable_id(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_id("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
