//! `metrics.csv`: one row per metrics interval, fixed precision, fixed column order.

use std::fmt::Write;

use crate::metrics::Recorder;

/// The CSV's columns, in order.
pub const COLUMNS: &str = "time_s,produced_per_sec,acked_per_sec,failed_per_sec,consumed_per_sec,produce_requests_per_sec,consumer_lag_records,produce_latency_p50_ms,produce_latency_p99_ms,produce_latency_max_ms,e2e_latency_p50_ms,e2e_latency_p99_ms,e2e_latency_max_ms";

/// The time series of a run as CSV (time is the end of each interval).
pub fn metrics_csv(r: &Recorder) -> String {
    let mut out = String::with_capacity(64 * (r.intervals.len() + 1));
    out.push_str(COLUMNS);
    out.push('\n');
    let secs = r.interval_ns() as f64 / 1e9;
    let ms = |us: u64| us as f64 / 1000.0;
    for (i, iv) in r.intervals.iter().enumerate() {
        let rate = |n: u64| n as f64 / secs;
        let _ = writeln!(
            out,
            "{:.3},{:.1},{:.1},{:.1},{:.1},{:.1},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            (i + 1) as f64 * secs,
            rate(iv.produced),
            rate(iv.acked),
            rate(iv.failed),
            rate(iv.consumed),
            rate(iv.produce_requests),
            iv.lag_records,
            ms(iv.produce_latency_us.p50),
            ms(iv.produce_latency_us.p99),
            ms(iv.produce_latency_us.max),
            ms(iv.e2e_latency_us.p50),
            ms(iv.e2e_latency_us.p99),
            ms(iv.e2e_latency_us.max),
        );
    }
    out
}
