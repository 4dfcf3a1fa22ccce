//! Arrival processes: the intended send times of a producer's records.
//!
//! Times are integer nanoseconds. A constant rate places record `i` at `start + i·10⁹/rate`
//! (computed from `i`, so rounding never accumulates); a Poisson process adds exponential gaps
//! drawn from the producer's own random stream.

use crate::scenario::Arrival;
use crate::sim::{RandomStream, SimTime};

/// Generates successive arrival times.
#[derive(Debug)]
pub struct ArrivalProcess {
    kind: Kind,
    start: SimTime,
    count: u64,
    last: SimTime,
}

// One per producer, never moved after construction.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Kind {
    Constant { per_sec: f64 },
    Poisson { mean_gap_ns: f64, rng: RandomStream },
}

impl ArrivalProcess {
    /// `rng` is the producer's arrival stream (used by random processes only).
    pub fn new(spec: &Arrival, start: SimTime, rng: RandomStream) -> ArrivalProcess {
        let kind = match *spec {
            Arrival::Constant { per_sec } => Kind::Constant { per_sec },
            Arrival::Poisson { per_sec } => Kind::Poisson { mean_gap_ns: 1e9 / per_sec, rng },
        };
        ArrivalProcess { kind, start, count: 0, last: start }
    }

    /// The next record's intended send time.
    pub fn next_arrival(&mut self) -> SimTime {
        let t = match &mut self.kind {
            // The first record arrives at `start`; record i at start + i/rate.
            // Non-negative values: adding 0.5 and truncating rounds half up, without a libm call.
            Kind::Constant { per_sec } => SimTime(self.start.0 + (self.count as f64 * 1e9 / *per_sec + 0.5) as u64),
            Kind::Poisson { mean_gap_ns, rng } => SimTime(self.last.0 + (rng.exponential(*mean_gap_ns) + 0.5) as u64),
        };
        self.count += 1;
        self.last = t;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_is_evenly_spaced_without_drift() {
        let mut a =
            ArrivalProcess::new(&Arrival::Constant { per_sec: 3.0 }, SimTime::from_ms(10), RandomStream::new(1, "a"));
        let times: Vec<u64> = (0..4).map(|_| a.next_arrival().0).collect();
        assert_eq!(times, [10_000_000, 343_333_333, 676_666_667, 1_010_000_000]);
        for _ in 4..3_000 {
            a.next_arrival();
        }
        assert_eq!(a.next_arrival().0, 10_000_000 + 1_000_000_000_000);
    }

    #[test]
    fn poisson_rate_matches_on_average() {
        let mut a =
            ArrivalProcess::new(&Arrival::Poisson { per_sec: 1000.0 }, SimTime::ZERO, RandomStream::new(9, "p"));
        let mut last = SimTime::ZERO;
        for _ in 0..100_000 {
            last = a.next_arrival();
        }
        let secs = last.as_secs_f64();
        assert!((secs - 100.0).abs() < 1.0, "100k arrivals took {secs} s");
    }
}
