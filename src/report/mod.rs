//! The report of a run: its header, `summary.md`, `trace.log`, `metrics.csv`, charts, figures and
//! expectation verdicts, all built in memory so the CLI can write them whole or not at all.

mod charts;
mod compaction;
pub mod compare;
mod csv;
mod figures;
mod network;
mod partitions_added;
mod quorum;
mod reassignments;
mod rebalances;
mod summary;
pub mod sweep;
mod tradeoff;

use std::collections::BTreeMap;

use crate::scenario::{Bound, Chart, Scenario};
use crate::sim::{FaultRecord, Finished, GroupView, PartitionView, Simulation, TraceLevel};

pub(crate) use charts::chart_for;
pub(crate) use figures::figures;
pub use quorum::ActivePeriod;
pub(crate) use reassignments::{ReassignmentOutcome, outcomes as reassignment_outcomes};
pub use summary::header as summary_header;
pub use tradeoff::tradeoff_chart;

/// Which charts a run draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChartSelection {
    /// The scenario's `charts` list.
    #[default]
    Scenario,
    /// Every chart that applies.
    All,
    /// None (faster, e.g. in sweeps that only need figures).
    None,
}

/// How to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    pub trace: TraceLevel,
    pub charts: ChartSelection,
    /// Also draw every chart as SVG.
    pub svg: bool,
}

/// One expectation and whether it held.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub figure: String,
    pub bound: Bound,
    pub actual: f64,
    pub holds: bool,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    pub scenario: Scenario,
    /// The run's header: version, scenario, seed, derived settings.
    pub header: String,
    pub summary: String,
    pub trace: String,
    pub metrics_csv: String,
    /// Faults, elections, ISR changes and truncations, one per row.
    pub events_csv: String,
    /// Every replica's LEO and HW at every interval end.
    pub offsets_csv: String,
    /// Consumer groups: who owned which partition when (`ownership.csv`), and committed
    /// offset, position and lag per partition over time (`group_offsets.csv`).
    pub ownership_csv: String,
    pub group_offsets_csv: String,
    /// Every broker's network interface per interval (`network.csv`), when interfaces have a
    /// speed (`nic_mbps`); empty, and not written, otherwise.
    pub network_csv: String,
    pub figures: BTreeMap<&'static str, f64>,
    pub verdicts: Vec<Verdict>,
    /// `(file name, PNG bytes)`
    pub charts: Vec<(String, Vec<u8>)>,
    /// `(chart file name, the series it plots as text)`, for snapshots.
    pub chart_data: Vec<(String, String)>,
    pub partitions: Vec<PartitionView>,
    pub groups: Vec<GroupView>,
    pub faults: Vec<FaultRecord>,
    pub events: u64,
}

impl Report {
    /// Whether every expectation held.
    pub fn expectations_hold(&self) -> bool {
        self.verdicts.iter().all(|v| v.holds)
    }

    /// Every output file: `(file name, bytes)`, in a fixed order.
    pub fn artifacts(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![
            ("summary.md".to_string(), self.summary.clone().into_bytes()),
            ("trace.log".to_string(), self.trace.clone().into_bytes()),
            ("metrics.csv".to_string(), self.metrics_csv.clone().into_bytes()),
            ("events.csv".to_string(), self.events_csv.clone().into_bytes()),
            ("offsets.csv".to_string(), self.offsets_csv.clone().into_bytes()),
            ("ownership.csv".to_string(), self.ownership_csv.clone().into_bytes()),
            ("group_offsets.csv".to_string(), self.group_offsets_csv.clone().into_bytes()),
        ];
        if !self.network_csv.is_empty() {
            out.push(("network.csv".to_string(), self.network_csv.clone().into_bytes()));
        }
        out.extend(self.charts.iter().cloned());
        out
    }
}

/// Runs a validated scenario to its end and builds the report.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<Report, crate::render::RenderError> {
    run_with_charts(scenario, options).map(|(report, _)| report)
}

/// [`run`], also returning the line chart behind each drawn chart (for side-by-side charts).
fn run_with_charts(
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<(Report, Vec<(Chart, crate::render::LineChart)>), crate::render::RenderError> {
    let sim = Simulation::with_trace(scenario, options.trace);
    build(sim.finish(), options)
}

/// Finishes a simulation that was driven by hand (`step`, `run_until`) and builds its report.
pub fn report_of(sim: Simulation, options: &RunOptions) -> Result<Report, crate::render::RenderError> {
    build(sim.finish(), options).map(|(report, _)| report)
}

fn build(
    f: Finished,
    options: &RunOptions,
) -> Result<(Report, Vec<(Chart, crate::render::LineChart)>), crate::render::RenderError> {
    let figures = figures(&f);
    let scenario = &f.scenario;
    let verdicts = scenario
        .expect
        .iter()
        .map(|(name, &bound)| {
            let actual = figures.get(name.as_str()).copied().unwrap_or(f64::NAN);
            Verdict { figure: name.clone(), bound, actual, holds: bound.holds(actual) }
        })
        .collect::<Vec<_>>();
    let selected: Vec<Chart> = match options.charts {
        ChartSelection::Scenario => scenario.charts.clone(),
        ChartSelection::All => Chart::all_for(scenario),
        ChartSelection::None => Vec::new(),
    };
    let mut charts = Vec::new();
    let mut chart_data = Vec::new();
    let mut line_charts = Vec::new();
    for chart in &selected {
        let drawing = chart_for(chart, &f);
        chart_data.push((chart.file_name().to_string(), drawing.as_text()));
        charts.push((chart.file_name().to_string(), drawing.png()?));
        if options.svg {
            let name = chart.file_name().replace(".png", ".svg");
            charts.push((name, drawing.svg()?.into_bytes()));
        }
        // Side-by-side comparisons overlay line charts; timelines are only drawn per run.
        if let charts::Drawing::Line(line_chart) = drawing {
            line_charts.push((chart.clone(), line_chart));
        }
    }
    let header = summary::header(scenario);
    let summary = summary::summary(&f, &header, &figures, &verdicts);
    let metrics_csv = csv::metrics_csv(&f.recorder);
    let events_csv = csv::events_csv(&f);
    let offsets_csv = csv::offsets_csv(&f);
    let ownership_csv = csv::ownership_csv(&f);
    let group_offsets_csv = csv::group_offsets_csv(&f);
    let network_csv = network::network_csv(&f);
    let report = Report {
        scenario: f.scenario.clone(),
        header,
        summary,
        trace: f.trace.text().to_string(),
        metrics_csv,
        events_csv,
        offsets_csv,
        ownership_csv,
        group_offsets_csv,
        network_csv,
        figures,
        verdicts,
        charts,
        chart_data,
        partitions: f.partitions,
        groups: f.groups,
        faults: f.faults,
        events: f.events,
    };
    Ok((report, line_charts))
}
