//! The summary's "Network interfaces" section, its figures and the `Network` chart: how busy
//! each node's network interface was when interfaces have a speed (`cluster.network.nic_mbps`).
//! A broker's interface carries its answers to consumers, its followers' fetches and a
//! reassignment's copy one message at a time, so the share of each interval it spent sending
//! shows when replication crowded out clients, and the longest wait shows what it cost them.

use std::fmt::Write;

use crate::cluster::ClusterEvent;
use crate::render::{LineChart, Marker, MarkerKind, Series, SeriesStyle};
use crate::sim::Finished;

/// One broker's interface per interval: `(broker, [(interval, % of it spent sending, MB/s sent)])`.
type BrokerIntervals = (u32, Vec<(u32, f64, f64)>);

/// Per broker, `(interval, % of it spent sending, MB/s sent)` for every interval, from the
/// cumulative samples (a message counts as it goes out, not when it is queued). A broker that
/// had no interface until a `SlowNic` fault starts at the fault.
pub(crate) fn busy_per_interval(run: &Finished) -> Vec<BrokerIntervals> {
    let interval_ns = run.recorder.interval_ns() as f64;
    let mut out: Vec<BrokerIntervals> = Vec::new();
    for b in 0..run.metadata.brokers {
        let (mut busy, mut bytes) = (0, 0);
        let mut points = Vec::new();
        for s in run.recorder.nics.iter().filter(|s| s.broker == b) {
            let busy_ns = (s.busy_ns - busy) as f64;
            let mb_per_s = (s.bytes_sent - bytes) as f64 / 1e6 / (interval_ns / 1e9);
            points.push((s.interval, busy_ns / interval_ns * 100.0, mb_per_s));
            (busy, bytes) = (s.busy_ns, s.bytes_sent);
        }
        if !points.is_empty() {
            out.push((b, points));
        }
    }
    out
}

/// `network.csv`: per interval and broker, what its interface sent and the share of the interval
/// it spent sending. Empty when interfaces are unlimited.
pub(crate) fn network_csv(run: &Finished) -> String {
    let per_interval = busy_per_interval(run);
    if per_interval.is_empty() {
        return String::new();
    }
    let secs = run.recorder.interval_ns() as f64 / 1e9;
    let mut out = String::from("time_s,broker,sent_mb_per_s,busy_pct\n");
    let intervals = per_interval.iter().map(|(_, points)| points.len()).max().unwrap_or(0);
    for k in 0..intervals {
        for (b, points) in &per_interval {
            if let Some(&(i, pct, mb_per_s)) = points.get(k) {
                let _ = writeln!(out, "{:.3},broker-{b},{mb_per_s:.4},{pct:.2}", (i + 1) as f64 * secs);
            }
        }
    }
    out
}

/// The figures: the busiest interval of any broker's interface (% spent sending) and the
/// longest a message waited for a broker's interface (ms). Both 0 when interfaces are unlimited.
pub(crate) fn figures(run: &Finished) -> (f64, f64) {
    let busiest = busy_per_interval(run).iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).fold(0.0, f64::max);
    let brokers = run.metadata.brokers as usize;
    let wait_ns = run.nics.iter().take(brokers).map(|(_, nic)| nic.wait_max_ns).max().unwrap_or(0);
    (busiest, wait_ns as f64 / 1e6)
}

pub(crate) fn write_network(out: &mut String, run: &Finished) {
    if run.nics.is_empty() {
        return;
    }
    let secs = run.scenario.duration_ms as f64 / 1000.0;
    let _ = writeln!(out, "## Network interfaces\n");
    let who = match run.scenario.cluster.network.nic_mbps {
        Some(mbps) => format!("Every node sends through one {mbps} Mbit/s interface ({:.2} MB/s)", mbps as f64 / 8.0),
        None => "The nodes a `SlowNic` fault slowed send through one interface of that speed".to_string(),
    };
    let _ = writeln!(
        out,
        "{who}, one message at a time: a broker's answers to consumers, its followers' fetches and a \
         reassignment's copy wait for one another. Busy is the share of the time spent sending; the longest \
         wait is the longest a message queued behind the ones sent before it.\n"
    );
    let _ = writeln!(
        out,
        "| node | speed at the end (Mbit/s) | sent (MB) | mean (MB/s) | busy (% of the run) | busiest interval (brokers) | longest wait (ms) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---:|");
    let per_interval = busy_per_interval(run);
    let interval_s = run.recorder.interval_ns() as f64 / 1e9;
    for (name, nic) in &run.nics {
        let busiest = per_interval
            .iter()
            .find(|(b, _)| format!("broker-{b}") == *name)
            // The first of the busiest intervals.
            .and_then(|(_, points)| points.iter().copied().reduce(|best, p| if p.1 > best.1 { p } else { best }))
            .map_or("–".to_string(), |(interval, pct, _)| {
                format!("{pct:.1}% ending at {:.1} s", (interval + 1) as f64 * interval_s)
            });
        let run_ns = run.scenario.duration_ms as f64 * 1e6;
        let end = crate::sim::SimTime::from_ms(run.scenario.duration_ms);
        let sent = nic.clone().bytes_sent_until(end) as f64 / 1e6;
        let speed = nic.mbps.map_or("unlimited".to_string(), |m| m.to_string());
        let _ = writeln!(
            out,
            "| {name} | {speed} | {sent:.1} | {:.2} | {:.1} | {busiest} | {:.1} |",
            sent / secs,
            nic.busy_ns_until(end) as f64 / run_ns * 100.0,
            nic.wait_max_ns as f64 / 1e6
        );
    }
    out.push('\n');
}

/// The `Network` chart: per broker, the share of each interval its interface spent sending, with
/// faults, leader changes and completed reassignments marked.
pub(crate) fn network_chart(run: &Finished, mut markers: Vec<Marker>, subtitle: Option<String>) -> LineChart {
    let secs = run.recorder.interval_ns() as f64 / 1e9;
    let x = |i: u32| (i + 1) as f64 * secs;
    let series = busy_per_interval(run)
        .into_iter()
        .map(|(b, points)| {
            let points = points.iter().map(|&(i, pct, _)| (x(i), pct)).collect();
            Series::new(format!("broker-{b}"), SeriesStyle::Step, points)
        })
        .collect();
    for e in &run.cluster_events {
        if let ClusterEvent::ReassignmentCompleted { at, partition, replicas } = e {
            markers.push(Marker {
                at_s: at.as_secs_f64(),
                label: format!("{} reassigned to {replicas:?}", run.metadata.partition_name(*partition)),
                kind: MarkerKind::Info,
            });
        }
    }
    let title = match run.scenario.cluster.network.nic_mbps {
        Some(m) => format!("Broker network interfaces, {m} Mbit/s — {}", run.scenario.name),
        None => format!("Slowed broker network interfaces — {}", run.scenario.name),
    };
    LineChart {
        title,
        subtitle,
        x_label: "simulated time (s)".into(),
        y_label: "busy sending (% of each interval)".into(),
        series,
        markers,
        bands: Vec::new(),
        y_min_zero: true,
    }
}
