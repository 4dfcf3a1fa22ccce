//! The charts a run draws, built from the sampled series (never from individual records), so
//! drawing costs the same for a thousand records or a billion.

use crate::cluster::{ClusterEvent, Election};
use crate::render::{Band, LineChart, Marker, MarkerKind, RenderError, Series, SeriesStyle, Timeline};
use crate::scenario::{Chart, Scenario};
use crate::sim::Finished;

/// A chart ready to draw: a line chart, or a timeline (the rebalance chart).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Drawing {
    Line(LineChart),
    Timeline(Timeline),
}

impl Drawing {
    pub fn png(&self) -> Result<Vec<u8>, RenderError> {
        match self {
            Drawing::Line(c) => crate::render::render_line_chart_png(c),
            Drawing::Timeline(t) => crate::render::render_timeline_png(t),
        }
    }

    pub fn svg(&self) -> Result<String, RenderError> {
        match self {
            Drawing::Line(c) => crate::render::render_line_chart_svg(c),
            Drawing::Timeline(t) => crate::render::render_timeline_svg(t),
        }
    }

    /// What the chart plots, as text (for snapshots).
    pub fn as_text(&self) -> String {
        match self {
            Drawing::Line(c) => crate::render::series_as_text(c),
            Drawing::Timeline(t) => crate::render::timeline_as_text(t),
        }
    }
}

/// Every fault that fired, as a vertical marker.
pub(crate) fn fault_markers(run: &Finished) -> Vec<Marker> {
    run.faults
        .iter()
        .filter(|f| f.fired)
        .map(|f| Marker { at_s: f.at.as_secs_f64(), label: f.fault.clone(), kind: MarkerKind::Fault })
        .collect()
}

/// Faults and elections as vertical markers, offline intervals as bands.
fn markers(run: &Finished) -> (Vec<Marker>, Vec<Band>) {
    let mut markers = fault_markers(run);
    for e in &run.cluster_events {
        if let ClusterEvent::Leader { at, partition, to, epoch, election, .. } = e
            && *election != Election::Offline
        {
            let who = to.map_or("none".to_string(), |b| format!("broker-{b}"));
            markers.push(Marker {
                at_s: at.as_secs_f64(),
                label: format!("{} → {who} (epoch {epoch})", run.metadata.partition_name(*partition)),
                kind: MarkerKind::Leader,
            });
        }
    }
    for t in run.recorder.transactions.iter().filter(|t| t.timed_out) {
        markers.push(Marker {
            at_s: t.at.as_secs_f64(),
            label: format!("{}'s transaction aborted (timeout)", run.scenario.producers[t.producer as usize].name),
            kind: MarkerKind::Fault,
        });
    }
    let mut bands: Vec<Band> = run
        .offline
        .iter()
        .map(|(p, from, to)| Band {
            from_s: from.as_secs_f64(),
            to_s: to.as_secs_f64(),
            label: format!("{} offline", run.metadata.partition_name(*p)),
            kind: MarkerKind::Fault,
        })
        .collect();
    // A controller quorum: the time without an active controller, and which one ended it.
    bands.extend(super::quorum::gaps(run).into_iter().map(|(from, to)| {
        let next = run.controller_periods.iter().find(|p| p.from == to);
        Band {
            from_s: from.as_secs_f64(),
            to_s: to.as_secs_f64(),
            label: match next {
                Some(p) => format!("no active controller → controller-{} (epoch {})", p.controller, p.epoch),
                None => "no active controller".to_string(),
            },
            kind: MarkerKind::Info,
        }
    }));
    (markers, bands)
}

/// The markers of a one-partition chart: every fault, and the leader changes of partition `name`.
fn partition_markers<'a>(markers: &'a [Marker], name: &'a str) -> impl Iterator<Item = Marker> + 'a {
    markers.iter().filter(move |mk| mk.kind != MarkerKind::Leader || mk.label.starts_with(name)).cloned()
}

/// The bands of a one-partition chart: when partition `name` was offline.
fn partition_bands(bands: &[Band], name: &str) -> Vec<Band> {
    bands.iter().filter(|b| b.label.starts_with(name) || b.kind != MarkerKind::Fault).cloned().collect()
}

/// One lag line per group (the consumer's `records-lag` summed over the group's partitions, as
/// the run's lag is), from the groups' offsets at the end of each interval.
fn group_lag_series(run: &Finished, x: &dyn Fn(usize) -> f64) -> Vec<Series> {
    let intervals = run.recorder.intervals.len();
    run.scenario
        .consumer_groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            let mut lag = vec![0u64; intervals];
            for o in run.recorder.groups.offsets.iter().filter(|o| o.group == g as u32) {
                let behind = o.position.or(o.committed).map_or(0, |c| o.high_watermark.saturating_sub(c));
                if let Some(l) = lag.get_mut(o.interval as usize) {
                    *l += behind;
                }
            }
            let label = match group.isolation_level {
                crate::scenario::IsolationLevel::ReadUncommitted => format!("lag, group {}", group.name),
                crate::scenario::IsolationLevel::ReadCommitted => format!("lag, group {} (read_committed)", group.name),
            };
            Series::new(label, SeriesStyle::Step, lag.iter().enumerate().map(|(i, &l)| (x(i), l as f64)).collect())
        })
        .collect()
}

/// The chart for `chart`, from a finished run's metrics.
pub(crate) fn chart_for(chart: &Chart, run: &Finished) -> Drawing {
    let s = &run.scenario;
    let r = &run.recorder;
    let (markers, bands) = markers(run);
    let secs = r.interval_ns() as f64 / 1e9;
    let x = |i: usize| (i + 1) as f64 * secs;
    let subtitle = Some(subtitle(s));
    Drawing::Line(match chart {
        Chart::Rebalances { group } => return Drawing::Timeline(super::rebalances::rebalance_timeline(group, run)),
        Chart::MicroBatches { group } => {
            let g = s.consumer_groups.iter().position(|c| &c.name == group).unwrap_or(0) as u32;
            let query = s.consumer_groups.get(g as usize).and_then(|c| c.stream.as_ref());
            let batches: Vec<_> = r
                .groups
                .stream_batches
                .iter()
                .filter(|b| b.group == g && super::figures::stream_batch_done(run, b))
                .collect();
            let ms = |d: crate::sim::SimDuration| d.as_nanos() as f64 / 1e6;
            let durations = batches.iter().map(|b| (b.start.as_secs_f64(), ms(b.end.since(b.start)))).collect();
            let delays = batches
                .iter()
                .flat_map(|b| b.emitted.iter().map(move |(_, end, _)| (b.end.as_secs_f64(), ms(b.end.since(*end)))))
                .collect();
            let mut series = vec![
                Series::new("batch duration (at its start)", SeriesStyle::Points, durations),
                Series::new("window written, after the window's end", SeriesStyle::Points, delays),
            ];
            if let Some(q) = query.filter(|q| q.trigger_ms > 0) {
                let t = q.trigger_ms as f64;
                series.push(Series::new(
                    format!("trigger interval ({} ms)", q.trigger_ms),
                    SeriesStyle::Dashed,
                    vec![(0.0, t), (s.duration_ms as f64 / 1000.0, t)],
                ));
            }
            // The query's settings rather than the producers': they explain this chart.
            let sub = query.map(|q| {
                format!(
                    "seed {} · trigger {} · window {} ms · watermark delay {} ms · {} batches completed",
                    s.seed,
                    if q.trigger_ms == 0 { "none".to_string() } else { format!("{} ms", q.trigger_ms) },
                    q.window_ms,
                    q.watermark_delay_ms,
                    batches.len()
                )
            });
            LineChart {
                title: format!("Micro-batches of stream query {group} — {}", s.name),
                subtitle: sub.or(subtitle),
                x_label: "simulated time (s)".into(),
                y_label: "milliseconds".into(),
                series,
                markers: markers.clone(),
                bands: bands.clone(),
                y_min_zero: true,
            }
        }
        Chart::Throughput => {
            let rate = |f: fn(&crate::metrics::Interval) -> u64| -> Vec<(f64, f64)> {
                r.intervals.iter().enumerate().map(|(i, iv)| (x(i), f(iv) as f64 / secs)).collect()
            };
            let mut series = vec![
                Series::new("produced", SeriesStyle::Line, rate(|iv| iv.produced)),
                Series::new("acknowledged", SeriesStyle::Line, rate(|iv| iv.acked)),
                Series::new("consumed", SeriesStyle::Dashed, rate(|iv| iv.consumed)),
            ];
            if r.totals.failed > 0 {
                series.push(Series::new("failed", SeriesStyle::Line, rate(|iv| iv.failed)));
            }
            LineChart {
                title: format!("Records per second — {}", s.name),
                subtitle,
                x_label: "simulated time (s)".into(),
                y_label: "records per second".into(),
                series,
                markers: markers.clone(),
                bands: bands.clone(),
                y_min_zero: true,
            }
        }
        Chart::Latency => {
            let ms = |f: fn(&crate::metrics::Interval) -> (u64, u64)| -> Vec<(f64, f64)> {
                r.intervals
                    .iter()
                    .enumerate()
                    .filter(|(_, iv)| f(iv).0 > 0) // intervals without samples have no percentile
                    .map(|(i, iv)| (x(i), f(iv).1 as f64 / 1000.0))
                    .collect()
            };
            // An interval without acknowledgements has no percentile: the lines break there.
            let gap = r.interval_ns() as f64 / 1e9 * 1.5;
            let series = vec![
                Series::new(
                    "produce p50",
                    SeriesStyle::Line,
                    ms(|iv| (iv.produce_latency_us.count, iv.produce_latency_us.p50)),
                )
                .with_max_gap(gap),
                Series::new(
                    "produce p99",
                    SeriesStyle::Line,
                    ms(|iv| (iv.produce_latency_us.count, iv.produce_latency_us.p99)),
                )
                .with_max_gap(gap),
                Series::new(
                    "produce p99.9",
                    SeriesStyle::Line,
                    ms(|iv| (iv.produce_latency_us.count, iv.produce_latency_us.p999)),
                )
                .with_max_gap(gap),
                Series::new(
                    "end-to-end p50",
                    SeriesStyle::Dashed,
                    ms(|iv| (iv.e2e_latency_us.count, iv.e2e_latency_us.p50)),
                )
                .with_max_gap(gap),
                Series::new(
                    "end-to-end p99",
                    SeriesStyle::Dashed,
                    ms(|iv| (iv.e2e_latency_us.count, iv.e2e_latency_us.p99)),
                )
                .with_max_gap(gap),
                Series::new(
                    "end-to-end p99.9",
                    SeriesStyle::Dashed,
                    ms(|iv| (iv.e2e_latency_us.count, iv.e2e_latency_us.p999)),
                )
                .with_max_gap(gap),
            ];
            LineChart {
                title: format!("Latency percentiles per {} ms — {}", s.sample_interval_ms, s.name),
                subtitle,
                x_label: "simulated time (s)".into(),
                y_label: "latency (ms)".into(),
                series,
                markers: markers.clone(),
                bands: bands.clone(),
                y_min_zero: true,
            }
        }
        Chart::Offsets { topic, partition } => {
            let m = &run.metadata;
            let global = m.global_partition(topic, *partition).unwrap_or(0);
            let samples: Vec<&crate::metrics::ReplicaSample> =
                r.replicas.iter().filter(|x| x.partition == global).collect();
            let mut series = Vec::new();
            // Every broker that held a replica at some point, the initial ones first (a
            // reassignment adds and removes some during the run: their lines start or end then).
            let mut brokers = m.replicas[global as usize].clone();
            for v in &samples {
                if !brokers.contains(&v.broker) {
                    brokers.push(v.broker);
                }
            }
            for b in brokers {
                let points = samples
                    .iter()
                    .filter(|v| v.broker == b)
                    .map(|v| (x(v.interval as usize), v.log_end_offset as f64))
                    .collect();
                series.push(Series::new(format!("broker-{b} log end offset"), SeriesStyle::Step, points));
            }
            // The leader's high watermark, with a gap while the partition has no live leader (one
            // value per interval: the first broker that thinks it leads).
            let mut hw: Vec<(u32, Option<u64>)> = Vec::new();
            let mut start: Vec<(u32, Option<u64>)> = Vec::new();
            let mut stable: Vec<(u32, Option<u64>)> = Vec::new();
            for v in samples.iter().filter(|v| v.leader && v.alive) {
                if hw.last().is_none_or(|h| h.0 != v.interval) {
                    hw.push((v.interval, Some(v.high_watermark)));
                    start.push((v.interval, Some(v.log_start_offset)));
                    stable.push((v.interval, Some(v.last_stable_offset)));
                }
            }
            // One line in one palette slot, broken where the partition had no live leader (the
            // legend names it once).
            let mut next_slot = series.len();
            let mut leader_line = |series: &mut Vec<Series>, values: &[(u32, Option<u64>)], label: &str, style| {
                for (k, run) in runs(values).into_iter().enumerate() {
                    let points = run.iter().map(|&(i, v)| (x(i as usize), v as f64)).collect();
                    let line = Series::new(label, style, points).with_colour(next_slot);
                    series.push(if k == 0 { line } else { line.without_legend() });
                }
                next_slot += 1;
            };
            leader_line(&mut series, &hw, "high watermark (leader)", SeriesStyle::Dashed);
            // The leader's log start offset, on a topic with retention, once it has moved (else
            // it is 0 throughout and only crowds the legend). Without retention the simulator
            // drops what every group has committed, to save memory: not a Kafka behaviour to show.
            let retention = m.topic_of(global).retention.is_some();
            if retention && start.iter().any(|(_, v)| v.is_some_and(|v| v > 0)) {
                leader_line(&mut series, &start, "log start offset (leader)", SeriesStyle::Step);
            }
            // The leader's last stable offset, where a transactional producer writes to the
            // topic: what read_committed readers may read.
            if s.producers.iter().any(|p| p.transactions.is_some() && &p.topic == topic) {
                leader_line(&mut series, &stable, "last stable offset (leader)", SeriesStyle::Step);
            }
            // Each group's two palette slots follow, however many runs the lines above have.
            let name = format!("{topic}-{partition}");
            let mut group_markers = Vec::new();
            for (g, cfg) in s.consumer_groups.iter().enumerate().filter(|(_, c)| c.topics.contains(topic)) {
                // Each group's committed offset and position, in two palette slots of its own;
                // a gap where there is none (no commit yet, expired; no owner).
                let slot = next_slot;
                next_slot += 2;
                let samples: Vec<&crate::metrics::GroupOffsetSample> =
                    r.groups.offsets.iter().filter(|o| o.group == g as u32 && o.partition == global).collect();
                let committed: Vec<(u32, Option<u64>)> = samples.iter().map(|o| (o.interval, o.committed)).collect();
                let position: Vec<(u32, Option<u64>)> = samples.iter().map(|o| (o.interval, o.position)).collect();
                for (what, values, style, colour) in [
                    ("committed", committed, SeriesStyle::Step, slot),
                    ("position", position, SeriesStyle::Dashed, slot + 1),
                ] {
                    for (k, run) in runs(&values).into_iter().enumerate() {
                        let points = run.iter().map(|&(i, v)| (x(i as usize), v as f64)).collect();
                        let line = Series::new(format!("{} {what}", cfg.name), style, points).with_colour(colour);
                        series.push(if k == 0 { line } else { line.without_legend() });
                    }
                }
                if let Some(state) = run.group_states.get(g) {
                    for rb in &state.rebalances {
                        if let (Some(at), Some(generation)) = (rb.stable, rb.generation) {
                            group_markers.push(Marker {
                                at_s: at.as_secs_f64(),
                                label: format!("{} gen {generation}", cfg.name),
                                kind: MarkerKind::Rebalance,
                            });
                        }
                    }
                }
            }
            LineChart {
                title: format!("Offsets of {name} — {}", s.name),
                subtitle,
                x_label: "simulated time (s)".into(),
                y_label: "offset".into(),
                series,
                markers: partition_markers(&markers, &name).chain(group_markers).collect(),
                bands: partition_bands(&bands, &name),
                y_min_zero: true,
            }
        }
        Chart::Compaction { topic, partition } => {
            let m = &run.metadata;
            let p = m.topic_index(topic).map_or(0, |t| m.topics[t].first + partition);
            let name = m.partition_name(p);
            let samples: Vec<_> = r.log_sizes.iter().filter(|v| v.partition == p).collect();
            let points = |f: &dyn Fn(&crate::metrics::LogSizeSample) -> u64| {
                samples.iter().map(|v| (v.at.as_secs_f64(), f(v) as f64)).collect::<Vec<_>>()
            };
            let cleanings = r.compactions.iter().filter(|c| c.partition == p && c.leader).map(|c| Marker {
                at_s: c.at.as_secs_f64(),
                label: format!("−{}", c.stats.records_removed),
                kind: MarkerKind::Cleaning,
            });
            LineChart {
                title: format!("Log compaction of {name} — {}", s.name),
                subtitle,
                x_label: "simulated time (s)".into(),
                y_label: "records".into(),
                series: vec![
                    Series::new(
                        "offsets written (log end − log start)",
                        SeriesStyle::Dashed,
                        points(&|v| v.log_end_offset - v.log_start_offset),
                    ),
                    Series::new("records in the leader's log", SeriesStyle::Step, points(&|v| v.records)),
                    Series::new("distinct keys in it (the least it can hold)", SeriesStyle::Step, points(&|v| v.keys)),
                ],
                markers: partition_markers(&markers, &name).chain(cleanings).collect(),
                bands: partition_bands(&bands, &name),
                y_min_zero: true,
            }
        }
        Chart::Network => super::network::network_chart(run, markers.clone(), subtitle),
        Chart::Lag => LineChart {
            title: format!("Consumer lag — {}", s.name),
            subtitle,
            x_label: "simulated time (s)".into(),
            y_label: "records behind the high watermark".into(),
            series: if s.consumer_groups.len() > 1 {
                group_lag_series(run, &x)
            } else {
                vec![Series::new(
                    "lag, all groups",
                    SeriesStyle::Step,
                    r.intervals.iter().enumerate().map(|(i, iv)| (x(i), iv.lag_records as f64)).collect(),
                )]
            },
            markers: markers.clone(),
            bands: bands.clone(),
            y_min_zero: true,
        },
        Chart::Isr => {
            let m = &run.metadata;
            let series = (0..m.partition_count() as u32)
                .map(|p| {
                    // One point per interval (every replica's sample carries the same ISR size).
                    let mut points: Vec<(f64, f64)> = Vec::new();
                    let mut last_interval = None;
                    for v in r.replicas.iter().filter(|v| v.partition == p) {
                        if last_interval != Some(v.interval) {
                            last_interval = Some(v.interval);
                            points.push((x(v.interval as usize), v.isr_size as f64));
                        }
                    }
                    Series::new(m.partition_name(p), SeriesStyle::Step, points)
                })
                .collect();
            LineChart {
                title: format!("In-sync replicas per partition — {}", s.name),
                subtitle,
                x_label: "simulated time (s)".into(),
                y_label: "ISR size (replicas)".into(),
                series,
                markers: markers.clone(),
                bands: bands.clone(),
                y_min_zero: true,
            }
        }
        Chart::StreamValues | Chart::StreamMinMax => {
            let points: Vec<(f64, f64)> = r.stream.iter().map(|v| (v.arrived.as_secs_f64(), v.value as f64)).collect();
            let mut series = Series::new("value", SeriesStyle::Line, points.clone());
            let mut title = format!("Values as they arrive — {}", s.name);
            if *chart == Chart::StreamMinMax && !points.is_empty() {
                // Label the first minimum and the first maximum.
                let min_i = (0..points.len()).min_by(|&a, &b| points[a].1.total_cmp(&points[b].1)).unwrap_or(0);
                let max_i =
                    (0..points.len()).max_by(|&a, &b| points[a].1.total_cmp(&points[b].1).then(b.cmp(&a))).unwrap_or(0);
                let mut labels = vec![String::new(); points.len()];
                labels[min_i] = format!("min {}", points[min_i].1);
                labels[max_i] = format!("max {}", points[max_i].1);
                series = Series::new("value", SeriesStyle::LinePoints, points).with_point_labels(labels);
                title = format!("Values with their minimum and maximum — {}", s.name);
            }
            LineChart {
                title,
                subtitle,
                x_label: "arrival time at the consumer (s)".into(),
                y_label: "value".into(),
                series: vec![series],
                markers: markers.clone(),
                bands: bands.clone(),
                y_min_zero: false,
            }
        }
        Chart::StreamArrivals => {
            let points: Vec<(f64, f64)> =
                r.stream.iter().map(|v| (v.created.as_secs_f64(), v.arrived.as_secs_f64())).collect();
            let end = s.duration_ms as f64 / 1000.0;
            LineChart {
                title: format!("Creation time against arrival time — {}", s.name),
                subtitle,
                x_label: "created at the producer (s)".into(),
                y_label: "arrived at the consumer (s)".into(),
                series: vec![
                    Series::new("records", SeriesStyle::Points, points),
                    Series::new("no delay (arrival = creation)", SeriesStyle::Dashed, vec![(0.0, 0.0), (end, end)]),
                ],
                markers: Vec::new(),
                bands: Vec::new(),
                y_min_zero: true,
            }
        }
        Chart::StreamMovingAverage { window } => {
            let w = (*window).max(1) as usize;
            let raw: Vec<(f64, f64)> = r.stream.iter().map(|v| (v.arrived.as_secs_f64(), v.value as f64)).collect();
            let mut sum = 0.0;
            let mut avg = Vec::with_capacity(raw.len());
            for (i, &(t, v)) in raw.iter().enumerate() {
                sum += v;
                if i >= w {
                    sum -= raw[i - w].1;
                }
                avg.push((t, sum / (i + 1).min(w) as f64));
            }
            LineChart {
                title: format!("Values and their moving average over {w} — {}", s.name),
                subtitle,
                x_label: "arrival time at the consumer (s)".into(),
                y_label: "value".into(),
                series: vec![
                    Series::new("value", SeriesStyle::Line, raw),
                    Series::new(format!("moving average of the last {w}"), SeriesStyle::Line, avg),
                ],
                markers: markers.clone(),
                bands: bands.clone(),
                y_min_zero: false,
            }
        }
        Chart::StreamProducers => {
            let mut series: Vec<Series> = s
                .producers
                .iter()
                .enumerate()
                .filter(|(_, p)| p.payload.is_some())
                .map(|(i, p)| {
                    let points = r
                        .stream
                        .iter()
                        .filter(|v| v.producer == i as u32)
                        .map(|v| (v.arrived.as_secs_f64(), v.value as f64))
                        .collect();
                    Series::new(p.name.clone(), SeriesStyle::Line, points)
                })
                .collect();
            // The average: the mean of each producer's latest value, as the lab computes it live.
            let mut latest: Vec<Option<f64>> = vec![None; s.producers.len()];
            let mut avg = Vec::new();
            for v in &r.stream {
                latest[v.producer as usize] = Some(v.value as f64);
                let known: Vec<f64> = latest.iter().flatten().copied().collect();
                avg.push((v.arrived.as_secs_f64(), known.iter().sum::<f64>() / known.len() as f64));
            }
            series.push(Series::new("average of the producers", SeriesStyle::Dashed, avg));
            LineChart {
                title: format!("Values from each producer and their average — {}", s.name),
                subtitle,
                x_label: "arrival time at the consumer (s)".into(),
                y_label: "value".into(),
                series,
                markers: markers.clone(),
                bands: bands.clone(),
                y_min_zero: false,
            }
        }
    })
}

/// The runs of consecutive intervals that have a value: `[(interval, value)]` per run.
fn runs(values: &[(u32, Option<u64>)]) -> Vec<Vec<(u32, u64)>> {
    let mut out: Vec<Vec<(u32, u64)>> = Vec::new();
    let mut previous: Option<u32> = None;
    for &(i, v) in values {
        match v {
            Some(v) => {
                if previous.is_none_or(|p| p + 1 != i) || out.is_empty() {
                    out.push(Vec::new());
                }
                out.last_mut().expect("a run").push((i, v));
                previous = Some(i);
            }
            None => previous = None,
        }
    }
    out
}

/// "seed 7 · 3 brokers · checkout: Poisson 2000/s acks=all linger_ms=5" (one part per producer,
/// naming its arrival process: constant, Poisson, on/off, MMPP, schedule or replay).
fn subtitle(s: &Scenario) -> String {
    let mut parts = vec![
        format!("seed {}", s.seed),
        format!("{} broker{}", s.cluster.brokers, if s.cluster.brokers == 1 { "" } else { "s" }),
    ];
    // A group's output producers are named by the group's part.
    for p in s.producers.iter().filter(|p| p.output_of.is_none()) {
        use crate::scenario::Arrival;
        let rate = match &p.arrival {
            Arrival::Constant { per_sec } => format!("constant {per_sec}/s"),
            Arrival::Poisson { per_sec } => format!("Poisson {per_sec}/s"),
            Arrival::OnOff { on_ms, off_ms, per_sec, .. } => format!("on/off {per_sec}/s {on_ms}/{off_ms} ms"),
            a @ Arrival::Mmpp { rates, .. } => {
                format!("MMPP {} states mean {:.0}/s", rates.len(), a.mean_per_sec().unwrap_or(0.0))
            }
            Arrival::Schedule { steps, ramp } => {
                format!("{} of {} steps", if *ramp { "ramps" } else { "schedule" }, steps.len())
            }
            Arrival::Replay { file, .. } => format!("replay {file}"),
        };
        parts.push(format!("{}: {rate} acks={} linger_ms={}", p.name, p.acks.kafka_name(), p.linger_ms));
    }
    for g in s.consumer_groups.iter() {
        if let Some(o) = &g.output {
            parts.push(format!("{} → {}: {}", g.name, o.topic, o.processing_guarantee.kafka_name()));
        }
    }
    parts.join(" · ")
}
