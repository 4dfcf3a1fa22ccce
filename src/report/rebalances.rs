//! The rebalance timeline of one consumer group, drawn from what the run recorded: each member's
//! ownership spans (one bar per partition it owned, from assignment to revocation or loss), the
//! coordinator's rebalances (shaded from `started` to `stable`, the new generation marked when
//! its assignment arrived), the faults, and a strip counting the group's partitions that no member
//! owned at each instant (computed from the spans' exact times, not from sampled intervals).

use crate::render::{Band, Bar, Marker, MarkerKind, Timeline, TimelineRow, TimelineStrip};
use crate::sim::Finished;

use super::figures::{group_partitions, paused_partition_seconds};

/// The timeline of group `group` (a name the scenario declares; validation checks it).
pub(crate) fn rebalance_timeline(group: &str, run: &Finished) -> Timeline {
    let s = &run.scenario;
    let end = s.duration_ms as f64 / 1000.0;
    let Some(gi) = s.consumer_groups.iter().position(|g| g.name == group) else {
        return Timeline {
            title: format!("No consumer group {group} — {}", s.name),
            x_end: end,
            ..Timeline::default()
        };
    };
    let cfg = &s.consumer_groups[gi];
    let g = gi as u32;
    let partitions = group_partitions(run, g);
    let slot = |p: u32| partitions.iter().position(|&q| q == p).unwrap_or(p as usize);
    let spans: Vec<&crate::metrics::OwnershipSpan> =
        run.recorder.groups.spans.iter().filter(|x| x.group == g).collect();

    let member_count = cfg.scale.iter().map(|x| x.members).fold(cfg.members, u32::max);
    let rows = (0..member_count)
        .map(|m| TimelineRow {
            label: format!("{group}-{m}"),
            bars: spans
                .iter()
                .filter(|x| x.member == m)
                .map(|x| {
                    let name = run.metadata.partition_name(x.partition);
                    let short = name.rsplit('-').next().unwrap_or(&name).to_string();
                    Bar {
                        from_s: x.from.as_secs_f64(),
                        to_s: x.to.map_or(end, |t| t.as_secs_f64()),
                        label: format!("{name} · gen {}", x.generation),
                        short_label: short,
                        colour: slot(x.partition),
                    }
                })
                .collect(),
        })
        .collect();

    // Partitions without an owner: +1/−1 per span start/end, the count read after each instant.
    let mut changes: Vec<(u64, usize, i32)> = Vec::with_capacity(spans.len() * 2);
    for x in &spans {
        let i = slot(x.partition);
        if i < partitions.len() {
            changes.push((x.from.0, i, 1));
            if let Some(to) = x.to {
                changes.push((to.0, i, -1));
            }
        }
    }
    // A partition an operator creates later counts as owned until it exists (not unowned).
    let mut owners = vec![0i32; partitions.len()];
    for (i, &p) in partitions.iter().enumerate() {
        if !run.metadata.exists_initially(p) {
            owners[i] = 1;
            if let Some(at) = super::figures::partition_created_at(run, p) {
                changes.push((at.0, i, -1));
            }
        }
    }
    changes.sort_unstable();
    let unowned = |owners: &[i32]| owners.iter().filter(|&&c| c <= 0).count() as f64;
    let mut points = vec![(0.0, unowned(&owners))];
    let mut k = 0;
    while k < changes.len() {
        let at = changes[k].0;
        while k < changes.len() && changes[k].0 == at {
            owners[changes[k].1] += changes[k].2;
            k += 1;
        }
        let v = unowned(&owners);
        let t = at as f64 / 1e9;
        match points.last_mut() {
            Some(last) if last.0 == t => last.1 = v,
            Some(last) if last.1 == v => {}
            _ => points.push((t, v)),
        }
    }

    // A note at the peak of each episode with unowned partitions once every partition has had
    // an owner (before that, the group is still forming).
    let formed = points.iter().position(|p| p.1 == 0.0).unwrap_or(points.len());
    let mut notes = Vec::new();
    let mut peak: Option<(f64, f64)> = None;
    for &(t, v) in &points[formed..] {
        match peak {
            _ if v == 0.0 => {
                if let Some((at, max)) = peak.take() {
                    notes.push((at, max, format!("{max} unowned")));
                }
            }
            Some((_, max)) if v <= max => {}
            _ => peak = Some((t, v)),
        }
    }
    if let Some((at, max)) = peak {
        notes.push((at, max, format!("{max} unowned")));
    }

    let mut markers = super::charts::fault_markers(run);
    let mut bands = Vec::new();
    let rebalances = run.group_states.get(gi).map_or(&[][..], |st| &st.rebalances[..]);
    for (k, r) in rebalances.iter().enumerate() {
        // A rebalance ends when the new generation's assignment arrives; a generation without
        // members (everyone left) when the join completes; one still preparing at the next
        // rebalance or the end of the run.
        let next = rebalances.get(k + 1).map_or(end, |n| n.started.as_secs_f64());
        let (to_s, label) = match (r.stable, r.joined, r.generation) {
            (Some(at), _, Some(generation)) => (at.as_secs_f64(), Some(format!("gen {generation}: {}", r.reason))),
            (None, Some(at), Some(generation)) if r.members.is_empty() => {
                (at.as_secs_f64(), Some(format!("gen {generation} (empty): {}", r.reason)))
            }
            _ => (next, None),
        };
        // The reason goes with the new generation's marker; the band is labelled only when no
        // generation came of it (one label per rebalance keeps the label rows readable).
        bands.push(Band {
            from_s: r.started.as_secs_f64(),
            to_s,
            label: if label.is_some() { String::new() } else { format!("{} (unfinished)", r.reason) },
            kind: MarkerKind::Rebalance,
        });
        if let Some(label) = label {
            markers.push(Marker { at_s: to_s, label, kind: MarkerKind::Rebalance });
        }
    }
    if let Some(st) = run.group_states.get(gi) {
        for &(at, count) in &st.expirations {
            markers.push(Marker {
                at_s: at.as_secs_f64(),
                label: format!("{count} committed offset{} expired", if count == 1 { "" } else { "s" }),
                kind: MarkerKind::Info,
            });
        }
    }

    let protocol = rebalances.iter().rev().find_map(|r| r.protocol);
    let kip848 = run.group_states.get(gi).and_then(|g| g.consumer.as_ref()).map(|cg| cg.assignor);
    let mode = match protocol {
        _ if kip848.is_some() => format!("consumer protocol (KIP-848): {}", kip848.map_or("", |a| a.kafka_name())),
        Some(p) if p.is_cooperative() => format!("cooperative: {p}"),
        Some(p) => format!("eager: {p}"),
        None => "never assigned".to_string(),
    };
    let mut sizes = vec![cfg.members.to_string()];
    sizes.extend(cfg.scale.iter().map(|x| x.members.to_string()));
    let topics: Vec<String> = cfg
        .topics
        .iter()
        .map(|t| match run.metadata.topic_index(t).map(|i| &run.metadata.topics[i]) {
            Some(m) if m.initial_partitions < m.partitions => {
                format!("{t} ({} → {} partitions)", m.initial_partitions, m.partitions)
            }
            m => format!("{t} ({} partitions)", m.map_or(0, |m| m.partitions)),
        })
        .collect();
    let subtitle = format!(
        "seed {} · {} members · {} · {mode} · {} rebalance{} · {:.3} partition-seconds unowned after the first \
         assignment",
        s.seed,
        sizes.join(" → "),
        topics.join(", "),
        rebalances.len(),
        if rebalances.len() == 1 { "" } else { "s" },
        paused_partition_seconds(run, g),
    );
    Timeline {
        title: format!("Rebalances of group {group} — {}", s.name),
        subtitle: Some(subtitle),
        x_label: "time (s)".into(),
        y_label: "member".into(),
        x_end: end,
        rows,
        bar_legend: "owned: partition · generation".into(),
        strip: Some(TimelineStrip {
            label: "partitions without an owner".into(),
            axis_label: "unowned".into(),
            points,
            y_max: partitions.len() as f64,
            notes,
        }),
        markers,
        bands,
        marker_names: vec![
            (MarkerKind::Rebalance, "new generation assigned".into()),
            (MarkerKind::Info, "offsets expired".into()),
        ],
        band_names: vec![(MarkerKind::Rebalance, "rebalance in progress".into())],
    }
}
