//! Sweeps: run one scenario over a grid of settings and seeds, and tabulate every run's figures.
//!
//! A sweep takes `--vary PATH=V1,V2,...` lists (the same paths as `--set`), expands them into a
//! grid (the cartesian product, the first list varying slowest) and runs every grid point once per
//! seed. Grid order is fixed: run index `i` is grid point `i / seeds`, seed number `i % seeds`.
//! The seeds are the scenario's seed, seed + 1, ..., so the run for a given seed draws the same
//! random numbers at every grid point (random streams are keyed by component name and seed, not
//! by settings): differences between rows come from the settings, not from luck (common random
//! numbers).
//!
//! Each grid point is built by applying the overrides to the scenario's text and validating it,
//! exactly as `--set` does, so a bad value is reported before anything runs. Runs go in
//! parallel (rayon); the rows are sorted back into grid order, so the CSV does not depend on
//! thread scheduling. `--shard I/N` keeps the runs whose index is `I-1` modulo `N`: the rows of
//! all shards together are exactly the rows of the unsharded sweep.
//!
//! This module never prints; progress is reported through a callback.

use std::collections::BTreeMap;
use std::fmt;

use rayon::prelude::*;

use super::{ChartSelection, RunOptions};
use crate::render::RenderError;
use crate::scenario::{FIGURES, Scenario, ScenarioError};
use crate::sim::TraceLevel;

/// More runs than this in one sweep is a typo, not an experiment.
pub const MAX_RUNS: usize = 100_000;

/// One `--vary PATH=V1,V2,...`: a setting and the values it takes, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vary {
    pub path: String,
    pub values: Vec<String>,
}

impl Vary {
    /// Parses `PATH=V1,V2,...`. Commas inside brackets, parentheses or quotes belong to the
    /// value, so `producers.p.arrival=Poisson(per_sec: 10),Constant(per_sec: 10)` has two values.
    pub fn parse(s: &str) -> Result<Vary, SweepError> {
        let usage = "PATH=V1,V2,... e.g. producers.checkout.linger_ms=0,5,50";
        let Some((path, list)) = s.split_once('=') else {
            return Err(SweepError::input(format!("--vary {s:?}: expected {usage}")));
        };
        let path = path.trim();
        if path.is_empty() {
            return Err(SweepError::input(format!("--vary {s:?}: the path is empty; expected {usage}")));
        }
        let values = split_top_level(list);
        if values.iter().any(|v| v.is_empty()) {
            return Err(SweepError::input(format!("--vary {path}: empty value in {list:?}; expected {usage}")));
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(SweepError::input(format!(
                    "--vary {path}: value {v} is listed twice; list each value once"
                )));
            }
        }
        Ok(Vary { path: path.to_string(), values })
    }

    /// The last segment of the path (`producers.checkout.linger_ms` → `linger_ms`), for labels.
    pub fn short_name(&self) -> &str {
        let last = self.path.rsplit('.').next().unwrap_or(&self.path);
        if last.is_empty() { &self.path } else { last }
    }
}

/// Splits at commas outside `()`, `[]`, `{}` and double quotes; trims each part.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let mut current = String::new();
    for c in s.chars() {
        if in_string {
            current.push(c);
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_string());
    out
}

/// `--shard I/N`: this process runs the grid rows with index % N == I - 1 (I is 1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(s: &str) -> Result<Shard, SweepError> {
        let bad = || {
            SweepError::input(format!(
                "--shard {s:?}: expected I/N with 1 ≤ I ≤ N, e.g. 1/4 for the first of four shards"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether grid row `row` (0-based) belongs to this shard.
    pub fn includes(&self, row: usize) -> bool {
        row % self.count == self.index - 1
    }
}

/// What to sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepSpec {
    /// The settings to vary; at least one.
    pub vary: Vec<Vary>,
    /// Seeds per grid point (≥ 1): the scenario's seed, seed + 1, ...
    pub seeds: u64,
    pub shard: Option<Shard>,
    /// Which latency the trade-off chart plots against throughput.
    pub latency: TradeoffLatency,
}

/// The two sides of a trade-off chart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TradeoffLatency {
    /// Produce latency against acknowledged records/s: the producer's trade-off (`linger.ms`,
    /// `batch.size`, `acks`).
    #[default]
    Produce,
    /// End-to-end latency (intended send to processed) against consumed records/s: the
    /// consumer's and a stream query's trade-off (`fetch.min.bytes`, a trigger interval).
    EndToEnd,
}

impl TradeoffLatency {
    /// The figure names: throughput, then p50, p99 and p99.9.
    pub fn figures(self) -> (&'static str, [&'static str; 3]) {
        match self {
            TradeoffLatency::Produce => {
                ("acked_per_sec", ["produce_latency_p50_ms", "produce_latency_p99_ms", "produce_latency_p999_ms"])
            }
            TradeoffLatency::EndToEnd => {
                ("consumed_per_sec", ["e2e_latency_p50_ms", "e2e_latency_p99_ms", "e2e_latency_p999_ms"])
            }
        }
    }

    /// `produce latency`, `end-to-end latency`.
    pub fn name(self) -> &'static str {
        match self {
            TradeoffLatency::Produce => "produce latency",
            TradeoffLatency::EndToEnd => "end-to-end latency",
        }
    }
}

/// Why a sweep cannot start. Nothing has run or been written.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepError {
    /// A malformed or unusable argument, with what is allowed.
    Input(String),
    /// The scenario with these overrides does not validate.
    Scenario {
        /// Which overrides, e.g. `--vary producers.checkout.linger_ms=-5`.
        context: String,
        error: ScenarioError,
    },
}

impl SweepError {
    fn input(message: String) -> Self {
        SweepError::Input(message)
    }
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Input(m) => writeln!(f, "error: {m}"),
            SweepError::Scenario { context, error } if context.is_empty() => write!(f, "{error}"),
            SweepError::Scenario { context, error } => {
                writeln!(f, "error: with {context} the scenario is not valid:")?;
                write!(f, "{error}")
            }
        }
    }
}

impl std::error::Error for SweepError {}

/// One run of the grid.
#[derive(Clone, Debug)]
pub struct PlannedRun {
    /// Position in the whole (unsharded) grid.
    pub index: usize,
    /// The value of each varied setting, in `--vary` order.
    pub values: Vec<String>,
    pub seed: u64,
    pub scenario: Scenario,
}

/// A validated sweep, ready to run.
#[derive(Clone, Debug)]
pub struct SweepPlan {
    /// The scenario's name.
    pub name: String,
    pub vary: Vec<Vary>,
    pub latency: TradeoffLatency,
    pub seeds: u64,
    pub shard: Option<Shard>,
    /// Runs in the whole grid (all shards).
    pub total: usize,
    /// This shard's runs, in grid order.
    pub runs: Vec<PlannedRun>,
}

/// Expands and validates the grid: the scenario text `src` (named `file` in messages) with the
/// common `overrides` (`--set`), then each grid point's `--vary` values on top.
pub fn plan(file: &str, src: &str, overrides: &[(String, String)], spec: &SweepSpec) -> Result<SweepPlan, SweepError> {
    if spec.vary.is_empty() {
        return Err(SweepError::input("nothing to sweep: give at least one --vary PATH=V1,V2,...".to_string()));
    }
    for (i, v) in spec.vary.iter().enumerate() {
        if spec.vary[..i].iter().any(|w| w.path == v.path) {
            return Err(SweepError::input(format!(
                "--vary {}: this setting is varied twice; give each path once",
                v.path
            )));
        }
    }
    if spec.seeds == 0 {
        return Err(SweepError::input("--seeds 0: run at least one seed per grid point".to_string()));
    }
    let points = spec.vary.iter().try_fold(1usize, |n, v| n.checked_mul(v.values.len())).filter(|&n| n <= MAX_RUNS);
    let total = points
        .and_then(|p| usize::try_from(spec.seeds).ok().and_then(|s| p.checked_mul(s)))
        .filter(|&n| n <= MAX_RUNS)
        .ok_or_else(|| {
            SweepError::input(format!(
                "the grid has more than {MAX_RUNS} runs (values of every --vary multiplied, times --seeds)"
            ))
        })?;
    let points = total / spec.seeds as usize;
    let base = crate::scenario::parse(file, src, overrides)
        .map_err(|error| SweepError::Scenario { context: String::new(), error })?;

    let mut runs = Vec::new();
    for point in 0..points {
        let values = grid_values(&spec.vary, point);
        let mut all = overrides.to_vec();
        all.extend(spec.vary.iter().zip(&values).map(|(v, x)| (v.path.clone(), x.clone())));
        let wanted: Vec<usize> = (0..spec.seeds as usize)
            .map(|s| point * spec.seeds as usize + s)
            .filter(|&i| spec.shard.is_none_or(|sh| sh.includes(i)))
            .collect();
        // Every grid point is validated, even those another shard runs: all shards accept or
        // reject the same sweep.
        let scenario = crate::scenario::parse(file, src, &all).map_err(|error| SweepError::Scenario {
            context: spec
                .vary
                .iter()
                .zip(&values)
                .map(|(v, x)| format!("--vary {}={x}", v.path))
                .collect::<Vec<_>>()
                .join(" "),
            error,
        })?;
        for index in wanted {
            let k = (index % spec.seeds as usize) as u64;
            let mut scenario = scenario.clone();
            scenario.seed = scenario.seed.wrapping_add(k);
            runs.push(PlannedRun { index, values: values.clone(), seed: scenario.seed, scenario });
        }
    }
    Ok(SweepPlan {
        name: base.name,
        vary: spec.vary.clone(),
        latency: spec.latency,
        seeds: spec.seeds,
        shard: spec.shard,
        total,
        runs,
    })
}

/// The values of grid point `point`: the first setting varies slowest.
fn grid_values(vary: &[Vary], point: usize) -> Vec<String> {
    let mut rest = point;
    let mut values = vec![String::new(); vary.len()];
    for (i, v) in vary.iter().enumerate().rev() {
        values[i] = v.values[rest % v.values.len()].clone();
        rest /= v.values.len();
    }
    values
}

/// The figures of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    /// Position in the whole grid.
    pub index: usize,
    pub values: Vec<String>,
    pub seed: u64,
    pub figures: BTreeMap<&'static str, f64>,
}

/// A finished sweep (or one shard of it).
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResult {
    pub name: String,
    pub vary: Vec<Vary>,
    /// What the trade-off chart plots.
    pub latency: TradeoffLatency,
    pub seeds: u64,
    pub shard: Option<Shard>,
    pub total: usize,
    /// In grid order.
    pub rows: Vec<SweepRow>,
}

/// Runs every planned run in parallel on rayon's pool (all cores unless `RAYON_NUM_THREADS`
/// says otherwise), calling `on_done` after each run, from whichever thread ran it.
pub fn run(plan: &SweepPlan, on_done: &(dyn Fn() + Sync)) -> Result<SweepResult, RenderError> {
    let options = RunOptions { trace: TraceLevel::Notable, charts: ChartSelection::None, svg: false };
    let mut rows = plan
        .runs
        .par_iter()
        .map(|r| {
            let report = super::run(&r.scenario, &options)?;
            on_done();
            Ok(SweepRow { index: r.index, values: r.values.clone(), seed: r.seed, figures: report.figures })
        })
        .collect::<Result<Vec<_>, RenderError>>()?;
    rows.sort_by_key(|r| r.index);
    Ok(SweepResult {
        name: plan.name.clone(),
        vary: plan.vary.clone(),
        latency: plan.latency,
        seeds: plan.seeds,
        shard: plan.shard,
        total: plan.total,
        rows,
    })
}

impl SweepResult {
    /// The output folder's name: `<scenario>-sweep`, or `<scenario>-sweep-shard-I-of-N`.
    pub fn folder_name(&self) -> String {
        match self.shard {
            None => format!("{}-sweep", self.name),
            Some(s) => format!("{}-sweep-shard-{}-of-{}", self.name, s.index, s.count),
        }
    }

    /// `sweep.csv`: a header (the varied paths, `seed`, every figure in [`FIGURES`] order), then
    /// one row per run in grid order, figures with 3 decimals. Every shard writes the header;
    /// its rows are exactly the unsharded sweep's rows for its runs.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self
            .vary
            .iter()
            .map(|v| csv_field(&v.path))
            .chain(std::iter::once("seed".to_string()))
            .chain(FIGURES.iter().map(|(name, _)| name.to_string()))
            .collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for row in &self.rows {
            let mut fields: Vec<String> = row.values.iter().map(|v| csv_field(v)).collect();
            fields.push(row.seed.to_string());
            for (name, _) in FIGURES {
                fields.push(fixed3(row.figures.get(name).copied().unwrap_or(f64::NAN)));
            }
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }

    /// `sweep.csv` and `tradeoff.png`, in that order.
    pub fn artifacts(&self) -> Result<Vec<(String, Vec<u8>)>, RenderError> {
        let chart = super::tradeoff_chart(self);
        Ok(vec![
            ("sweep.csv".to_string(), self.csv().into_bytes()),
            ("tradeoff.png".to_string(), crate::render::render_line_chart_png(&chart)?),
        ])
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// `v` with 3 decimals, never "-0.000"; "NaN" for a missing figure.
fn fixed3(v: f64) -> String {
    let s = format!("{v:.3}");
    if s == "-0.000" { "0.000".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_values_split_at_top_level_commas() {
        let v = Vary::parse("producers.p.arrival=Poisson(per_sec: 10),Constant(per_sec: 2, x: [1,2])").unwrap();
        assert_eq!(v.path, "producers.p.arrival");
        assert_eq!(v.values, ["Poisson(per_sec: 10)", "Constant(per_sec: 2, x: [1,2])"]);
        assert_eq!(v.short_name(), "arrival");
        assert_eq!(Vary::parse("a= 1 , 2").unwrap().values, ["1", "2"]);
        assert_eq!(Vary::parse("name=\"a,b\",c").unwrap().values, ["\"a,b\"", "c"]);
        for bad in ["linger_ms", "=1,2", "a=", "a=1,,2", "a=1,2,1"] {
            assert!(Vary::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_the_rows() {
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x/3").is_err());
        assert!(Shard::parse("2").is_err());
        let shards: Vec<Shard> = (1..=3).map(|i| Shard::parse(&format!("{i}/3")).unwrap()).collect();
        for row in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.includes(row)).count(), 1);
        }
        assert!(shards[0].includes(0) && shards[1].includes(1) && shards[2].includes(5));
    }

    #[test]
    fn grid_order_is_first_setting_slowest() {
        let vary = vec![Vary::parse("a=1,2").unwrap(), Vary::parse("b=x,y,z").unwrap()];
        let all: Vec<Vec<String>> = (0..6).map(|p| grid_values(&vary, p)).collect();
        assert_eq!(all[0], ["1", "x"]);
        assert_eq!(all[1], ["1", "y"]);
        assert_eq!(all[3], ["2", "x"]);
        assert_eq!(all[5], ["2", "z"]);
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("5"), "5");
        assert_eq!(csv_field("Poisson(per_sec: 1, b: 2)"), "\"Poisson(per_sec: 1, b: 2)\"");
        assert_eq!(csv_field("\"a,b\""), "\"\"\"a,b\"\"\"");
        assert_eq!(fixed3(-0.0001), "0.000");
    }
}
