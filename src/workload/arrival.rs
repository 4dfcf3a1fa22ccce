//! Arrival processes: the intended send times of a producer's records.
//!
//! Times are integer nanoseconds. A constant rate places record `i` at `start + i·10⁹/rate`
//! (computed from `i`, so rounding never accumulates); a Poisson process adds exponential gaps
//! drawn from the producer's own random stream.
//!
//! The modulated processes (`OnOff`, `Mmpp`, `Schedule`) are Poisson processes whose rate λ(t)
//! changes over time. They are generated exactly by a time change: each record draws one unit
//! exponential `E` from the arrival stream and the next arrival is where the integrated rate
//! `∫ λ(t) dt` since the previous one reaches `E` (piecewise: a constant rate inverts as `E/λ`, a
//! linear ramp by solving the quadratic). No thinning, so one draw per record, and the record
//! draws stay aligned when only the rate path changes. Period lengths and state switches draw
//! from a second stream (`producer/<name>/arrival-state`), so they never shift the record draws.
//! Internally the clock is `f64` ns since the start (exact to well under 1 ns for runs of days);
//! each arrival is rounded to whole ns.

use std::sync::Arc;

use crate::scenario::{Arrival, ReplayData, ReplayRow};
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
    Constant {
        per_sec: f64,
    },
    Poisson {
        mean_gap_ns: f64,
        rng: RandomStream,
    },
    Modulated(Modulated),
    Replay {
        data: Arc<ReplayData>,
        /// Index of the next row to return.
        next: usize,
    },
}

/// A stretch of time over which the rate is `rate + slope·(t − start)` (per ns).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    start: f64,
    /// Exclusive end, ns since the process start; `f64::INFINITY` for the last one.
    end: f64,
    /// Rate at `start`, records per ns.
    rate: f64,
    /// Change of the rate per ns, records per ns².
    slope: f64,
}

/// What decides the next segment.
#[derive(Debug)]
enum Shape {
    OnOff {
        on: bool,
        on_ns: f64,
        off_ns: f64,
        rate: f64,
        exponential: bool,
    },
    Mmpp {
        state: usize,
        /// Records per ns in each state.
        rates: Vec<f64>,
        mean_dwell_ns: Vec<f64>,
    },
    Schedule {
        segments: Vec<Segment>,
        index: usize,
    },
}

/// A Poisson process with a piecewise (constant or linear) rate.
#[derive(Debug)]
struct Modulated {
    /// One unit exponential per record.
    rng: RandomStream,
    /// Period lengths and state switches.
    state_rng: RandomStream,
    /// ns since the start of the last arrival.
    clock: f64,
    segment: Segment,
    shape: Shape,
}

impl Modulated {
    fn new(shape: Shape, rng: RandomStream, mut state_rng: RandomStream) -> Modulated {
        let segment = match &shape {
            Shape::OnOff { on_ns, rate, exponential, .. } => {
                Segment { start: 0.0, end: period(*on_ns, *exponential, &mut state_rng), rate: *rate, slope: 0.0 }
            }
            Shape::Mmpp { rates, mean_dwell_ns, .. } => {
                Segment { start: 0.0, end: state_rng.exponential(mean_dwell_ns[0]), rate: rates[0], slope: 0.0 }
            }
            Shape::Schedule { segments, .. } => segments[0],
        };
        Modulated { rng, state_rng, clock: 0.0, segment, shape }
    }

    /// Moves to the segment after the current one.
    fn next_segment(&mut self) {
        let start = self.segment.end;
        self.segment = match &mut self.shape {
            Shape::OnOff { on, on_ns, off_ns, rate, exponential } => {
                *on = !*on;
                let (mean, rate) = if *on { (*on_ns, *rate) } else { (*off_ns, 0.0) };
                Segment { start, end: start + period(mean, *exponential, &mut self.state_rng), rate, slope: 0.0 }
            }
            Shape::Mmpp { state, rates, mean_dwell_ns } => {
                // Jump to one of the other states, uniformly.
                let others = rates.len() as u64 - 1;
                let pick = self.state_rng.below(others) as usize;
                *state = if pick >= *state { pick + 1 } else { pick };
                Segment {
                    start,
                    end: start + self.state_rng.exponential(mean_dwell_ns[*state]),
                    rate: rates[*state],
                    slope: 0.0,
                }
            }
            Shape::Schedule { segments, index } => {
                *index += 1;
                segments[*index]
            }
        };
    }

    /// ns since the start of the next arrival, or `None` if the rate stays 0 forever.
    // Out of line: inlined, its loop makes `next_arrival` (one call per record, mostly the
    // Poisson arm) save and restore registers it does not need.
    #[inline(never)]
    fn next(&mut self) -> Option<f64> {
        let mut e = self.rng.exponential(1.0);
        loop {
            let s = self.segment;
            let b = s.slope;
            let a = (s.rate + b * (self.clock - s.start)).max(0.0);
            let span = s.end - self.clock;
            let mass = if span.is_infinite() {
                if a > 0.0 || b > 0.0 { f64::INFINITY } else { 0.0 }
            } else {
                a * span + 0.5 * b * span * span
            };
            if mass > e {
                // Solve a·x + b·x²/2 = e; the second form is the stable root of the quadratic.
                let x = if b == 0.0 { e / a } else { 2.0 * e / (a + (a * a + 2.0 * b * e).max(0.0).sqrt()) };
                self.clock += x.min(span);
                return Some(self.clock);
            }
            if span.is_infinite() {
                return None;
            }
            e -= mass;
            self.clock = s.end;
            self.next_segment();
        }
    }
}

/// A period of mean `mean_ns`: fixed, or exponential.
fn period(mean_ns: f64, exponential: bool, rng: &mut RandomStream) -> f64 {
    if exponential { rng.exponential(mean_ns) } else { mean_ns }
}

/// The segments of a schedule: rate 0 before the first step, then one per step.
fn schedule_segments(steps: &[crate::scenario::RateStep], ramp: bool) -> Vec<Segment> {
    let ns = |ms: u64| ms as f64 * 1e6;
    let per_ns = |per_sec: f64| per_sec / 1e9;
    let mut out = Vec::with_capacity(steps.len() + 1);
    if steps[0].at_ms > 0 {
        out.push(Segment { start: 0.0, end: ns(steps[0].at_ms), rate: 0.0, slope: 0.0 });
    }
    for (k, step) in steps.iter().enumerate() {
        let start = ns(step.at_ms);
        let rate = per_ns(step.per_sec);
        let (end, slope) = match steps.get(k + 1) {
            None => (f64::INFINITY, 0.0),
            Some(next) if ramp => (ns(next.at_ms), (per_ns(next.per_sec) - rate) / (ns(next.at_ms) - start)),
            Some(next) => (ns(next.at_ms), 0.0),
        };
        out.push(Segment { start, end, rate, slope });
    }
    out
}

impl ArrivalProcess {
    /// `rng` is the producer's arrival stream (one draw per record, random processes only);
    /// `state_rng` its arrival-state stream (on/off period lengths, MMPP state switches).
    pub fn new(spec: &Arrival, start: SimTime, rng: RandomStream, state_rng: RandomStream) -> ArrivalProcess {
        let kind = match spec {
            Arrival::Constant { per_sec } => Kind::Constant { per_sec: *per_sec },
            Arrival::Poisson { per_sec } => Kind::Poisson { mean_gap_ns: 1e9 / per_sec, rng },
            Arrival::OnOff { on_ms, off_ms, per_sec, exponential_periods } => Kind::Modulated(Modulated::new(
                Shape::OnOff {
                    on: true,
                    on_ns: *on_ms as f64 * 1e6,
                    off_ns: *off_ms as f64 * 1e6,
                    rate: per_sec / 1e9,
                    exponential: *exponential_periods,
                },
                rng,
                state_rng,
            )),
            Arrival::Mmpp { rates, mean_dwell_ms } => Kind::Modulated(Modulated::new(
                Shape::Mmpp {
                    state: 0,
                    rates: rates.iter().map(|r| r / 1e9).collect(),
                    mean_dwell_ns: mean_dwell_ms.iter().map(|d| d * 1e6).collect(),
                },
                rng,
                state_rng,
            )),
            Arrival::Schedule { steps, ramp } => Kind::Modulated(Modulated::new(
                Shape::Schedule { segments: schedule_segments(steps, *ramp), index: 0 },
                rng,
                state_rng,
            )),
            Arrival::Replay { records, .. } => Kind::Replay { data: records.clone(), next: 0 },
        };
        ArrivalProcess { kind, start, count: 0, last: start }
    }

    /// The next record's intended send time; [`SimTime::MAX`] when there are no more records
    /// (a replay file ran out, or a schedule ends at rate 0).
    // Inline: once per record, in the producer's arrival timer, where the call cost a tenth of
    // a Poisson draw; the other processes take the call.
    #[inline(always)]
    pub fn next_arrival(&mut self) -> SimTime {
        let t = match &mut self.kind {
            Kind::Poisson { mean_gap_ns, rng } => SimTime(self.last.0 + (rng.exponential(*mean_gap_ns) + 0.5) as u64),
            _ => self.next_other_arrival(),
        };
        self.count += 1;
        self.last = t;
        t
    }

    /// [`ArrivalProcess::next_arrival`] for every process but Poisson.
    #[inline(never)]
    fn next_other_arrival(&mut self) -> SimTime {
        match &mut self.kind {
            // The first record arrives at `start`; record i at start + i/rate.
            // Non-negative values: adding 0.5 and truncating rounds half up, without a libm call.
            Kind::Constant { per_sec } => SimTime(self.start.0 + (self.count as f64 * 1e9 / *per_sec + 0.5) as u64),
            Kind::Poisson { .. } => unreachable!("drawn inline"),
            Kind::Modulated(m) => match m.next() {
                Some(ns) => SimTime(self.start.0.saturating_add((ns + 0.5) as u64)),
                None => SimTime::MAX,
            },
            Kind::Replay { data, next } => {
                *next += 1;
                match data.rows.get(*next - 1) {
                    Some(row) => SimTime(self.start.0.saturating_add(row.at_ns)),
                    None => SimTime::MAX,
                }
            }
        }
    }

    /// The replay row of the arrival [`ArrivalProcess::next_arrival`] returned last (its key and
    /// value size, when the file gives them); `None` for every other process.
    pub fn replay_row(&self) -> Option<&ReplayRow> {
        match &self.kind {
            Kind::Replay { data, next } => next.checked_sub(1).and_then(|i| data.rows.get(i)),
            _ => None,
        }
    }

    /// The replay file's distinct keys (rows refer to them by index); empty for other processes.
    pub fn replay_keys(&self) -> &[String] {
        match &self.kind {
            Kind::Replay { data, .. } => &data.keys,
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::RateStep;

    fn process(spec: Arrival) -> ArrivalProcess {
        ArrivalProcess::new(
            &spec,
            SimTime::ZERO,
            RandomStream::new(9, "producer/p/arrival"),
            RandomStream::new(9, "producer/p/arrival-state"),
        )
    }

    /// Arrivals before `until_ms`.
    fn count_until(a: &mut ArrivalProcess, until_ms: u64) -> Vec<SimTime> {
        let end = SimTime::from_ms(until_ms);
        let mut out = Vec::new();
        loop {
            let t = a.next_arrival();
            if t >= end {
                return out;
            }
            out.push(t);
        }
    }

    fn assert_within(measured: f64, expected: f64, tolerance: f64, what: &str) {
        assert!(
            (measured - expected).abs() <= tolerance * expected,
            "{what}: measured {measured:.3}, expected {expected:.3} ± {:.1}%",
            tolerance * 100.0
        );
    }

    #[test]
    fn constant_rate_is_evenly_spaced_without_drift() {
        let mut a = ArrivalProcess::new(
            &Arrival::Constant { per_sec: 3.0 },
            SimTime::from_ms(10),
            RandomStream::new(1, "a"),
            RandomStream::new(1, "b"),
        );
        let times: Vec<u64> = (0..4).map(|_| a.next_arrival().0).collect();
        assert_eq!(times, [10_000_000, 343_333_333, 676_666_667, 1_010_000_000]);
        for _ in 4..3_000 {
            a.next_arrival();
        }
        assert_eq!(a.next_arrival().0, 10_000_000 + 1_000_000_000_000);
    }

    #[test]
    fn poisson_rate_matches_on_average() {
        let mut a = process(Arrival::Poisson { per_sec: 1000.0 });
        let mut last = SimTime::ZERO;
        for _ in 0..100_000 {
            last = a.next_arrival();
        }
        let secs = last.as_secs_f64();
        assert!((secs - 100.0).abs() < 1.0, "100k arrivals took {secs} s");
    }

    #[test]
    fn on_off_with_fixed_periods_is_silent_when_off_and_has_the_mean_rate() {
        // 2,000/s for 50 ms, then 150 ms off: mean 2000 × 50/200 = 500/s.
        let mut a = process(Arrival::OnOff { on_ms: 50, off_ms: 150, per_sec: 2000.0, exponential_periods: false });
        let times = count_until(&mut a, 400_000);
        assert!(times.iter().all(|t| (t.0 % 200_000_000) < 50_000_000), "a record arrived during an off-period");
        assert_within(times.len() as f64 / 400.0, 500.0, 0.02, "OnOff mean rate");
        // Within an on-period the rate is the full 2,000/s.
        let in_first_on = times.iter().filter(|t| t.0 < 50_000_000).count();
        assert!((60..=140).contains(&in_first_on), "{in_first_on} in the first on-period");
    }

    #[test]
    fn on_off_with_exponential_periods_has_the_mean_rate() {
        let mut a = process(Arrival::OnOff { on_ms: 20, off_ms: 80, per_sec: 5000.0, exponential_periods: true });
        let times = count_until(&mut a, 1_000_000);
        assert_within(times.len() as f64 / 1000.0, 1000.0, 0.02, "OnOff (exponential) mean rate");
        // Random period lengths: some gaps are much longer than a fixed 80 ms off-period.
        let longest_gap = times.windows(2).map(|w| w[1].0 - w[0].0).max().unwrap();
        assert!(longest_gap > 300_000_000, "longest gap {longest_gap} ns");
    }

    #[test]
    fn mmpp_has_the_stationary_mean_rate() {
        // Three states; the time shares are dwell / Σ dwell = 0.5, 0.25, 0.25:
        // mean = 0.5 × 200 + 0.25 × 3000 + 0.25 × 0 = 850/s.
        let mut a = process(Arrival::Mmpp { rates: vec![200.0, 3000.0, 0.0], mean_dwell_ms: vec![100.0, 50.0, 50.0] });
        let times = count_until(&mut a, 2_000_000);
        assert_within(times.len() as f64 / 2000.0, 850.0, 0.02, "MMPP mean rate");
    }

    #[test]
    fn mmpp_counts_are_overdispersed_unlike_poisson() {
        // Counts per 100 ms: a Poisson process has variance = mean; modulation adds variance.
        let mut a = process(Arrival::Mmpp { rates: vec![100.0, 2000.0], mean_dwell_ms: vec![200.0, 50.0] });
        let times = count_until(&mut a, 200_000);
        let mut counts = vec![0f64; 2000];
        for t in &times {
            counts[(t.0 / 100_000_000) as usize] += 1.0;
        }
        let mean = counts.iter().sum::<f64>() / counts.len() as f64;
        let var = counts.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / counts.len() as f64;
        assert!(var > 5.0 * mean, "variance {var} vs mean {mean}");
    }

    #[test]
    fn schedule_steps_give_each_step_its_rate() {
        // 0 before 1 s, 20,000/s for 2 s, silent for 1 s, then 50,000/s from 4 s on.
        let mut a = process(Arrival::Schedule {
            steps: vec![
                RateStep { at_ms: 1000, per_sec: 20_000.0 },
                RateStep { at_ms: 3000, per_sec: 0.0 },
                RateStep { at_ms: 4000, per_sec: 50_000.0 },
            ],
            ramp: false,
        });
        let times = count_until(&mut a, 6000);
        let between = |from: u64, to: u64| {
            times.iter().filter(|t| SimTime::from_ms(from) <= **t && **t < SimTime::from_ms(to)).count() as f64
        };
        assert_eq!(between(0, 1000), 0.0);
        assert_eq!(between(3000, 4000), 0.0);
        assert_within(between(1000, 3000), 40_000.0, 0.02, "20,000/s for 2 s");
        assert_within(between(4000, 6000), 100_000.0, 0.02, "50,000/s for 2 s");
        assert_within(times.len() as f64, 140_000.0, 0.02, "whole schedule");
    }

    #[test]
    fn schedule_ramps_are_linear_between_points() {
        // 0 → 100,000/s over 2 s, back to 0 over 2 s, then silent: 200,000 records in all,
        // and a quarter of the first ramp's records in its first half.
        let step = |at_ms, per_sec| RateStep { at_ms, per_sec };
        let mut a = process(Arrival::Schedule {
            steps: vec![step(0, 0.0), step(2000, 100_000.0), step(4000, 0.0)],
            ramp: true,
        });
        let times = count_until(&mut a, 10_000);
        assert_eq!(a.next_arrival(), SimTime::MAX, "the schedule ends at rate 0");
        assert_within(times.len() as f64, 200_000.0, 0.02, "ramp total");
        let first_second = times.iter().filter(|t| t.0 < 1_000_000_000).count() as f64;
        assert_within(first_second, 25_000.0, 0.02, "first half of the up-ramp");
        assert!(times.iter().all(|t| t.0 < 4_000_000_000));
    }

    #[test]
    fn replay_yields_exactly_the_file_times_then_stops() {
        let data = crate::scenario::replay::parse_csv("time_ms,key\n0,a\n1.5,\n1.5,b\n2000.000001,a\n").unwrap();
        let mut a = ArrivalProcess::new(
            &Arrival::Replay { file: "t.csv".into(), records: Arc::new(data) },
            SimTime::from_ms(10),
            RandomStream::new(1, "a"),
            RandomStream::new(1, "b"),
        );
        assert_eq!(a.replay_keys(), ["a", "b"]);
        let mut got = Vec::new();
        loop {
            let t = a.next_arrival();
            if t == SimTime::MAX {
                break;
            }
            got.push((t.0, a.replay_row().unwrap().key));
        }
        assert_eq!(got, [(10_000_000, Some(0)), (11_500_000, None), (11_500_000, Some(1)), (2_010_000_001, Some(0))]);
    }

    #[test]
    fn modulated_arrivals_never_go_backwards() {
        for spec in [
            Arrival::OnOff { on_ms: 3, off_ms: 7, per_sec: 10_000.0, exponential_periods: true },
            Arrival::Mmpp { rates: vec![0.0, 10_000.0], mean_dwell_ms: vec![1.0, 1.0] },
        ] {
            let mut a = process(spec);
            let mut last = SimTime::ZERO;
            for _ in 0..50_000 {
                let t = a.next_arrival();
                assert!(t >= last);
                last = t;
            }
        }
    }
}
