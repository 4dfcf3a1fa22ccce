//! The summary's "Controller quorum" section and its figures: with several controllers (KRaft,
//! KIP-595), which one was the active controller when, and how long the cluster had none. While
//! there is none, brokers keep serving with the metadata they have, but nothing the controller
//! decides can happen: no broker is fenced, no leader elected, no ISR changed.

use std::fmt::Write;

use crate::sim::{Finished, SimTime};

/// A controller's time as the active controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivePeriod {
    /// The voter (`controller-N`).
    pub controller: usize,
    /// The quorum epoch it was elected in.
    pub epoch: u32,
    /// When it became active (its epoch's first record committed).
    pub from: SimTime,
    /// When it stopped (it crashed, resigned or saw a newer epoch); `None`: still at the end.
    pub until: Option<SimTime>,
}

/// The intervals of the run without an active controller, in order.
pub(crate) fn gaps(run: &Finished) -> Vec<(SimTime, SimTime)> {
    let end = SimTime::from_ms(run.scenario.duration_ms);
    if run.controller_periods.is_empty() {
        return Vec::new();
    }
    let mut periods: Vec<(SimTime, SimTime)> =
        run.controller_periods.iter().map(|p| (p.from, p.until.unwrap_or(end))).collect();
    periods.sort();
    let (mut out, mut covered) = (Vec::new(), SimTime::ZERO);
    for (from, until) in periods {
        if from > covered {
            out.push((covered, from));
        }
        covered = covered.max(until);
    }
    if covered < end {
        out.push((covered, end));
    }
    out
}

/// Activations after the start (the first controller is active from the start).
pub(crate) fn elections(run: &Finished) -> usize {
    run.controller_periods.iter().filter(|p| p.from > SimTime::ZERO).count()
}

pub(crate) fn unavailable_ms(run: &Finished) -> f64 {
    gaps(run).iter().map(|(from, to)| to.since(*from).as_nanos() as f64 / 1e6).sum()
}

pub(crate) fn write_quorum(out: &mut String, run: &Finished) {
    if run.controller_periods.is_empty() {
        return;
    }
    let k = &run.scenario.cluster.controller;
    let _ = writeln!(out, "## Controller quorum\n");
    let _ = writeln!(
        out,
        "{} controllers (KRaft voters) · fetch timeout {} ms · election timeout {} ms · election backoff ≤ {} ms. \
         One is the active controller; a follower that hears nothing from it for the fetch timeout stands for \
         election, and a change reaches the brokers once a majority of the controllers holds it.\n",
        k.quorum_voters, k.quorum_fetch_timeout_ms, k.quorum_election_timeout_ms, k.quorum_election_backoff_max_ms
    );
    let _ = writeln!(out, "| active controller | epoch | from (s) | until (s) |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for p in &run.controller_periods {
        let until = p.until.map_or("the end".to_string(), |t| t.to_string());
        let _ = writeln!(out, "| controller-{} | {} | {} | {} |", p.controller, p.epoch, p.from, until);
    }
    let gaps = gaps(run);
    if gaps.is_empty() {
        let _ = writeln!(out, "\nThere was an active controller throughout.\n");
        return;
    }
    let _ =
        writeln!(out, "\nWithout an active controller (brokers served, but none could be fenced, no leader elected):");
    for (from, to) in gaps {
        let _ = writeln!(out, "- {from} s to {to} s ({:.1} ms)", to.since(from).as_nanos() as f64 / 1e6);
    }
    out.push('\n');
}
