//! The stepper's views of the cluster now, as aligned text tables: partitions (leader, epoch,
//! ISR, log start, high watermark, log end, every replica; for a compacted topic the records
//! its log holds and where its cleaner got to), brokers, consumer groups,
//! producers and faults. Each reads one of [`Simulation`]'s read-only views.

use crate::sim::Simulation;

/// Columns padded to their widest cell (counted in characters), two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn ids(list: &[u32]) -> String {
    format!("[{}]", list.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))
}

/// `partitions [TOPIC | PARTITION]`.
pub fn partitions(sim: &Simulation, filter: &str) -> Result<String, String> {
    let all = sim.partitions();
    let chosen: Vec<_> = all.iter().filter(|p| filter.is_empty() || p.topic == filter || p.name == filter).collect();
    if chosen.is_empty() {
        let topics: Vec<&str> = sim.scenario().topics.iter().map(|t| t.name.as_str()).collect();
        return Err(format!(
            "`partitions {filter}`: no such topic or partition; the topics are {} (a partition is e.g. {}-0)",
            topics.join(", "),
            topics.first().unwrap_or(&"orders")
        ));
    }
    // With transactional producers, the last stable offset and the open transactions too; with
    // compacted topics, the records the leader's log holds and where its cleaner got to.
    let transactions = sim.scenario().producers.iter().any(|p| p.transactions.is_some());
    let compaction = chosen.iter().any(|p| p.compaction.is_some());
    let rows: Vec<Vec<String>> = chosen
        .iter()
        .map(|p| {
            let replicas = p
                .replica_offsets
                .iter()
                .map(|&(b, alive, leo, hw)| format!("{b}:{leo}/{hw}{}", if alive { "" } else { " (down)" }))
                .collect::<Vec<_>>()
                .join("  ");
            let mut row = vec![
                p.name.clone(),
                p.leader.clone(),
                p.leader_epoch.to_string(),
                ids(&p.isr),
                p.log_start_offset.to_string(),
                p.high_watermark.to_string(),
            ];
            if transactions {
                row.push(p.last_stable_offset.to_string());
                row.push(p.open_transactions.to_string());
            }
            row.push(p.log_end_offset.to_string());
            if compaction {
                let (records, cleaned) = match p.compaction {
                    Some((records, cleaned)) => (records.to_string(), cleaned.map_or("-".into(), |c| c.to_string())),
                    None => ("-".into(), "-".into()),
                };
                row.extend([records, cleaned]);
            }
            row.push(replicas);
            row
        })
        .collect();
    let mut header = vec!["partition", "leader", "epoch", "ISR", "log start", "high watermark"];
    if transactions {
        header.extend(["last stable", "open transactions"]);
    }
    header.push("log end");
    if compaction {
        header.extend(["records", "cleaned to"]);
    }
    header.push("replicas (broker:LEO/HW)");
    Ok(table(&header, &rows))
}

/// `brokers`.
pub fn brokers(sim: &Simulation) -> String {
    let rows: Vec<Vec<String>> = sim
        .brokers()
        .into_iter()
        .map(|b| {
            vec![
                b.name,
                if b.alive { "up" } else { "down" }.to_string(),
                b.produce_requests.to_string(),
                b.fetch_requests.to_string(),
                if b.leads.is_empty() { "-".to_string() } else { b.leads.join(" ") },
            ]
        })
        .collect();
    table(&["broker", "process", "produce requests", "fetch requests", "leads"], &rows)
}

/// `controllers`.
pub fn controllers(sim: &Simulation) -> String {
    let rows: Vec<Vec<String>> = sim
        .controller_views()
        .into_iter()
        .map(|c| {
            vec![
                c.name,
                if c.alive { "up" } else { "down" }.to_string(),
                c.role,
                c.epoch.to_string(),
                c.metadata_version.to_string(),
                c.committed.to_string(),
            ]
        })
        .collect();
    table(&["controller", "process", "role", "epoch", "metadata version", "committed"], &rows)
}

/// `groups`.
pub fn groups(sim: &Simulation) -> String {
    let groups = sim.groups();
    if groups.is_empty() {
        return "this scenario has no consumer group\n".to_string();
    }
    let mut out = String::new();
    for (g, config) in groups.into_iter().zip(&sim.scenario().consumer_groups) {
        // A consume-transform-produce group says where it writes.
        let output = config
            .output
            .as_ref()
            .map_or(String::new(), |o| format!(", writes {} ({})", o.topic, o.processing_guarantee.kafka_name()));
        // A KIP-848 group counts group epochs, and its members member epochs.
        let kip848 = config.group_protocol == crate::scenario::GroupProtocol::Consumer;
        let (at, column) = if kip848 { ("group epoch", "epoch") } else { ("generation", "generation") };
        out.push_str(&format!(
            "group {}: {} at {at} {}, coordinator {}, lag {} records{output}\n",
            g.name,
            g.state,
            g.generation,
            g.coordinator.as_deref().unwrap_or("not found yet"),
            g.lag_records
        ));
        let rows: Vec<Vec<String>> = g
            .members
            .into_iter()
            .map(|m| {
                let owned: Vec<String> = m.positions.iter().map(|(p, pos)| format!("{p} ({pos})")).collect();
                vec![
                    format!("  {}", m.name),
                    if m.running { "yes" } else { "no" }.to_string(),
                    m.generation.to_string(),
                    m.records_consumed.to_string(),
                    if owned.is_empty() { "-".to_string() } else { owned.join(", ") },
                ]
            })
            .collect();
        out.push_str(&table(&["  member", "running", column, "consumed", "partitions (position)"], &rows));
    }
    out
}

/// `stream`: each stream query's watermark, next trigger and open windows.
pub fn stream_queries(sim: &Simulation) -> String {
    let queries = sim.stream_queries();
    if queries.is_empty() {
        return "this scenario has no stream query (a consumer group with `stream`)\n".to_string();
    }
    let time = |t: Option<crate::sim::SimTime>| t.map_or("none".to_string(), |t| format!("{t} s"));
    let mut out = String::new();
    for q in queries {
        out.push_str(&format!(
            "stream query {} ({}{}): next batch {} at {} s or later · watermark {} (next batch: {}) · checkpointed up to batch {}\n",
            q.group,
            q.member,
            if q.running { "" } else { ", not running" },
            q.next_batch,
            q.next_trigger,
            time(q.watermark),
            time(q.next_watermark),
            q.checkpointed_next_batch.saturating_sub(1),
        ));
        let rows: Vec<Vec<String>> = q
            .open_windows
            .iter()
            .map(|&(from, to, n)| {
                let fate = match q.next_watermark {
                    Some(w) if to <= w => "written by the next batch",
                    _ => "open",
                };
                vec![format!("  [{from}, {to})"), n.to_string(), fate.to_string()]
            })
            .collect();
        if rows.is_empty() {
            out.push_str("  no open window\n");
        } else {
            out.push_str(&table(&["  window (s)", "rows so far", "state"], &rows));
        }
    }
    out
}

/// `producers`.
pub fn producers(sim: &Simulation) -> String {
    let rows: Vec<Vec<String>> = sim
        .producers()
        .into_iter()
        .map(|p| {
            vec![
                p.name,
                p.records_sent.to_string(),
                p.requests_sent.to_string(),
                p.retries_sent.to_string(),
                p.in_flight_requests.to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "this scenario has no producer\n".to_string();
    }
    table(&["producer", "records sent", "requests sent", "retries", "in flight"], &rows)
}

/// `faults`.
pub fn faults(sim: &Simulation) -> String {
    let rows: Vec<Vec<String>> = sim
        .faults()
        .into_iter()
        .map(|f| {
            // A fault that could not fire says why in `touched`.
            let state = match (f.fired, f.touched.is_empty()) {
                (true, _) => "fired",
                (false, true) => "to come",
                (false, false) => "did not fire",
            };
            vec![
                f.at.to_string(),
                f.fault,
                state.to_string(),
                f.messages_dropped.to_string(),
                if f.touched.is_empty() { "-".to_string() } else { f.touched },
            ]
        })
        .collect();
    if rows.is_empty() {
        return "this scenario injects no fault\n".to_string();
    }
    table(&["at (s)", "fault", "state", "messages dropped", "what it touched"], &rows)
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_line_up_on_the_widest_cell_and_lines_end_without_spaces() {
        let rows = vec![vec!["orders-10".to_string(), "x".to_string()], vec!["o-1".to_string(), String::new()]];
        assert_eq!(table(&["partition", "leader"], &rows), "partition  leader\norders-10  x\no-1\n");
    }
}
