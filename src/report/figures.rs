//! The figures of a run: the named numbers that the summary shows and `expect` blocks bound.

use std::collections::BTreeMap;

use crate::metrics::{Percentiles, Recorder};
use crate::scenario::Scenario;
use crate::sim::PartitionView;

/// Every figure listed in [`crate::scenario::FIGURES`], computed from a finished run.
pub fn figures(s: &Scenario, r: &Recorder, partitions: &[PartitionView]) -> BTreeMap<&'static str, f64> {
    let t = &r.totals;
    let secs = s.duration_ms as f64 / 1000.0;
    let mut f = BTreeMap::new();
    f.insert("records_produced", t.produced as f64);
    f.insert("records_acked", t.acked as f64);
    f.insert("records_failed", t.failed as f64);
    f.insert("records_consumed", t.consumed as f64);
    f.insert("produce_requests", t.produce_requests as f64);
    f.insert(
        "records_per_batch_mean",
        if t.batches == 0 {
            0.0
        } else {
            t.batched_records as f64 / t.batches as f64
        },
    );
    f.insert("acked_per_sec", t.acked as f64 / secs);
    f.insert("consumed_per_sec", t.consumed as f64 / secs);
    f.insert("produce_requests_per_sec", t.produce_requests as f64 / secs);
    let ms = |us: u64| us as f64 / 1000.0;
    let p = Percentiles::of(&r.produce_latency.total);
    f.insert("produce_latency_p50_ms", ms(p.p50));
    f.insert("produce_latency_p90_ms", ms(p.p90));
    f.insert("produce_latency_p99_ms", ms(p.p99));
    f.insert("produce_latency_p999_ms", ms(p.p999));
    f.insert("produce_latency_max_ms", ms(p.max));
    let e = Percentiles::of(&r.e2e_latency.total);
    f.insert("e2e_latency_p50_ms", ms(e.p50));
    f.insert("e2e_latency_p90_ms", ms(e.p90));
    f.insert("e2e_latency_p99_ms", ms(e.p99));
    f.insert("e2e_latency_p999_ms", ms(e.p999));
    f.insert("e2e_latency_max_ms", ms(e.max));
    f.insert("consumer_lag_max_records", t.lag_max_records as f64);
    f.insert(
        "partition_records_max",
        partitions.iter().map(|p| p.log_end_offset).max().unwrap_or(0) as f64,
    );
    f.insert(
        "partition_records_min",
        partitions.iter().map(|p| p.log_end_offset).min().unwrap_or(0) as f64,
    );
    // Rounded so that a figure prints the same everywhere it appears.
    for v in f.values_mut() {
        *v = (*v * 1000.0).round() / 1000.0;
    }
    f
}

#[cfg(test)]
mod tests {
    use crate::scenario::FIGURES;

    #[test]
    fn every_documented_figure_is_computed_and_nothing_else() {
        let s: crate::scenario::Scenario = crate::scenario::parse(
            "t.ron",
            r#"Scenario(name: "t", description: "d", seed: 1, duration_ms: 100, topics: [(name: "a")])"#,
            &[],
        )
        .unwrap();
        let r = crate::metrics::Recorder::new(100, 100);
        let f = super::figures(&s, &r, &[]);
        let computed: Vec<&str> = f.keys().copied().collect();
        let mut documented: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
        documented.sort();
        assert_eq!(computed, documented);
    }
}
