//! Client quotas: a broker's `producer_byte_rate` or `consumer_byte_rate` for one client (Kafka's `ClientQuotaManager`
//! with a `Rate` over a `WindowedSum`, KIP-13 and KIP-219).
//!
//! Each broker measures each client's produce bytes on its own (a quota is per broker): the
//! request's size is recorded when the broker answers, the rate is the sum over the last
//! `quota.window.num` = 11 samples of `quota.window.size.seconds` = 1 s divided by the time they
//! span (at least 10 s: `Rate.windowSize` counts the missing windows of a young sensor as empty
//! rather than judging a first burst over a few milliseconds), and when the rate exceeds the
//! quota the response carries a throttle time `(rate - quota) / quota × window`, the delay that
//! would bring the rate back to the quota with nothing more sent (`ClientQuotaManager.throttleTime`).
//! The client then sends nothing more to that broker until the time has passed (KIP-219). A
//! consumer's fetch is measured by the size of its response; when it is throttled the response
//! goes out empty and its bytes are taken back (`KafkaApis.handleFetchRequest`).
//!
//! Arithmetic in whole milliseconds and `f64`, as Kafka's metrics do.
//!
//! Simplified: quotas by client id only (no user principals, no request-time quotas; a
//! consumer's `fetch.max.bytes` is not capped at the quota's window); the broker does not also mute the connection (the clients here always honour the
//! throttle time, so a muted channel would change nothing); `acks=0` requests, which get no
//! response, are not measured.

/// `quota.window.num`: samples in a quota's window.
pub const QUOTA_WINDOW_NUM: usize = 11;
/// `quota.window.size.seconds`, in ms.
pub const QUOTA_WINDOW_MS: i64 = 1000;

/// One sample window of a `SampledStat`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    value: f64,
    start_ms: i64,
    last_event_ms: i64,
}

impl Sample {
    fn new(now_ms: i64) -> Sample {
        Sample { value: 0.0, start_ms: now_ms, last_event_ms: now_ms }
    }
}

/// A client's byte rate against its quota, as one broker measures it (a `Sensor` with a `Rate`
/// and an upper-bound `Quota`).
#[derive(Clone, Debug, PartialEq)]
pub struct ByteRateQuota {
    bound: f64,
    samples: Vec<Sample>,
    current: usize,
}

impl ByteRateQuota {
    pub fn new(bytes_per_sec: u64) -> ByteRateQuota {
        ByteRateQuota { bound: bytes_per_sec as f64, samples: Vec::new(), current: 0 }
    }

    /// The broker restarted: its sensors are gone, the next request starts a new one.
    pub fn restart(&mut self) {
        self.samples.clear();
        self.current = 0;
    }

    /// `SampledStat.record`: into the current sample, or a fresh one once it is a window old.
    fn record(&mut self, value: f64, now_ms: i64) {
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now_ms));
        }
        if now_ms - self.samples[self.current].start_ms >= QUOTA_WINDOW_MS {
            // `advance`: one sample more than the window keeps (see `purge_obsolete`).
            self.current = (self.current + 1) % (QUOTA_WINDOW_NUM + 1);
            if self.current >= self.samples.len() {
                self.samples.push(Sample::new(now_ms));
            } else {
                self.samples[self.current] = Sample::new(now_ms);
            }
        }
        let sample = &mut self.samples[self.current];
        sample.value += value;
        sample.last_event_ms = now_ms;
    }

    /// `SampledStat.purgeObsoleteSamples`: samples with no event in the whole window restart.
    fn purge_obsolete(&mut self, now_ms: i64) {
        let expire_age = QUOTA_WINDOW_NUM as i64 * QUOTA_WINDOW_MS;
        for s in &mut self.samples {
            if now_ms - s.last_event_ms >= expire_age {
                *s = Sample::new(now_ms);
            }
        }
    }

    /// `Rate.windowSize`: from the oldest sample's start to now, at least `samples - 1` windows.
    fn window_size_ms(&mut self, now_ms: i64) -> i64 {
        self.purge_obsolete(now_ms);
        let oldest = self.samples.iter().map(|s| s.start_ms).min().unwrap_or(now_ms);
        let mut elapsed = now_ms - oldest;
        let full_windows = elapsed / QUOTA_WINDOW_MS;
        let min_full_windows = QUOTA_WINDOW_NUM as i64 - 1;
        if full_windows < min_full_windows {
            elapsed += (min_full_windows - full_windows) * QUOTA_WINDOW_MS;
        }
        elapsed
    }

    /// The rate now, in bytes per second (`Rate.measure`).
    pub fn rate(&mut self, now_ms: i64) -> f64 {
        let window = self.window_size_ms(now_ms);
        let sum: f64 = self.samples.iter().map(|s| s.value).sum();
        sum / (window as f64 / 1000.0)
    }

    /// Records `bytes` sent at `now_ms` (`ReplicationQuotaManager.record`).
    pub fn record_bytes(&mut self, bytes: u64, now_ms: i64) {
        self.record(bytes as f64, now_ms);
    }

    /// Whether the rate is over the bound now (`Sensor.checkQuotas` failing, as
    /// `ReplicationQuotaManager.isQuotaExceeded` asks).
    pub fn exceeded(&mut self, now_ms: i64) -> bool {
        !self.samples.is_empty() && self.rate(now_ms) > self.bound
    }

    /// `ClientQuotaManager.unrecordQuotaSensor`: takes back `bytes` recorded at `now_ms` (a
    /// throttled fetch is answered empty, so its bytes were never sent).
    pub fn unrecord(&mut self, bytes: u64, now_ms: i64) {
        self.record(-(bytes as f64), now_ms);
    }

    /// `ClientQuotaManager.recordAndGetThrottleTimeMs`: records `bytes` at `now_ms` and returns
    /// the throttle time in ms (0 within the quota).
    pub fn record_and_get_throttle_ms(&mut self, bytes: u64, now_ms: i64) -> u64 {
        self.record(bytes as f64, now_ms);
        let rate = self.rate(now_ms);
        if rate <= self.bound {
            return 0; // `Quota.acceptable`
        }
        let window = self.window_size_ms(now_ms);
        // `throttleTime`: X such that rate × W / (W + X) = quota.
        ((rate - self.bound) / self.bound * window as f64).round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_burst_is_judged_over_ten_seconds_not_over_its_own_milliseconds() {
        let mut q = ByteRateQuota::new(1000);
        // 9,000 bytes at once: 9,000 / 10 s = 900 B/s, within the quota.
        assert_eq!(q.record_and_get_throttle_ms(9000, 0), 0);
        // 3,000 more 5 ms later: the window is 10.005 s, 12,000 B / 10.005 s = 1,199.4 B/s, and
        // (1199.4 - 1000) / 1000 × 10,005 ms = 1,995 ms.
        assert_eq!(q.record_and_get_throttle_ms(3000, 5), 1995);
    }

    #[test]
    fn the_rate_spans_eleven_one_second_samples_and_forgets_older_ones() {
        let mut q = ByteRateQuota::new(1_000_000);
        // 500 B every 100 ms for 30 s: 5,000 B/s.
        for t in 0..300 {
            q.record(500.0, t * 100);
        }
        let rate = q.rate(29_900);
        // 11 samples (the current one 0.9 s old) over 10.9 s: 5,500 B in each full second.
        assert!((rate - 5000.0).abs() < 100.0, "{rate}");
        // Quiet for longer than the whole window: every sample restarts, the rate is 0.
        assert_eq!(q.rate(29_900 + 11_000), 0.0);
    }

    #[test]
    fn a_replication_throttle_is_exceeded_only_above_its_rate_over_the_window() {
        let mut q = ByteRateQuota::new(1000);
        assert!(!q.exceeded(0), "nothing sent yet");
        // A young rate is judged over ten seconds: 10,000 bytes at once are exactly the bound.
        q.record_bytes(10_000, 0);
        assert!(!q.exceeded(0));
        q.record_bytes(1, 0);
        assert!(q.exceeded(0));
        // With nothing more sent, the window stays ten seconds until the samples span more:
        // still over at 2 s, under at 10.5 s (10,001 B / 10.5 s).
        assert!(q.exceeded(2000));
        assert!(!q.exceeded(10_500));
    }

    #[test]
    fn throttle_time_brings_the_rate_back_to_the_quota() {
        let mut q = ByteRateQuota::new(1000);
        for t in 0..20 {
            q.record(2000.0, t * 1000);
        }
        let throttle = q.record_and_get_throttle_ms(2000, 20_000) as f64;
        let window = q.window_size_ms(20_000) as f64;
        let sum: f64 = q.samples.iter().map(|s| s.value).sum();
        // With nothing more sent, after the throttle time the rate over the longer window is
        // the quota.
        assert!((sum / ((window + throttle) / 1000.0) - 1000.0).abs() < 1.0);
    }
}
