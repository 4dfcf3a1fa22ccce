//! `kafkasim run`: run one scenario and write its outputs.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use kafkasim::report::{ChartSelection, RunOptions};
use kafkasim::sim::TraceLevel;

use super::output::write_whole;
use super::{EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_OK, parse_set, scenario_to_run};

/// Run a scenario and write summary.md, trace.log, metrics.csv and charts to OUT/<scenario>/.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kafkasim run scenarios/quickstart.ron\n  kafkasim run quickstart --seed 42 --set producers.checkout.linger_ms=20 --out /tmp/runs\n  kafkasim run scenarios/keyed-partitions.ron --trace all --charts all"
)]
pub struct RunArgs {
    /// A scenario file, or the name of a bundled scenario (see `kafkasim list`).
    scenario: String,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Output folder; files go to OUT/<scenario name>/.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Override any field: PATH=VALUE, e.g. producers.checkout.linger_ms=20 or producers[0].acks=One.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    /// How much goes into trace.log.
    #[arg(long, value_enum, default_value_t = TraceArg::Notable)]
    trace: TraceArg,
    /// Which charts to draw: the scenario's list, every chart that applies, or none.
    #[arg(long, value_enum, default_value_t = ChartsArg::Scenario)]
    charts: ChartsArg,
    /// Also write every chart as SVG (text drawn by the viewer's sans-serif font).
    #[arg(long)]
    svg: bool,
    /// Check Kafka's invariants after every event (HW ≤ LEO, the leader in the ISR, epochs only
    /// grow, in-sync replicas hold the committed prefix); a violation exits 1. Slower.
    #[arg(long)]
    check_invariants: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TraceArg {
    Notable,
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ChartsArg {
    Scenario,
    All,
    None,
}

pub fn run(args: RunArgs) -> u8 {
    let scenario = match scenario_to_run(&args.scenario, &args.set, args.seed) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let options = RunOptions {
        trace: match args.trace {
            TraceArg::Notable => TraceLevel::Notable,
            TraceArg::All => TraceLevel::All,
        },
        charts: match args.charts {
            ChartsArg::Scenario => ChartSelection::Scenario,
            ChartsArg::All => ChartSelection::All,
            ChartsArg::None => ChartSelection::None,
        },
        svg: args.svg,
    };
    print!("{}", kafkasim::report::summary_header(&scenario));
    let mut violations = Vec::new();
    let result = if args.check_invariants {
        let mut sim = kafkasim::Simulation::with_trace(&scenario, options.trace);
        while let Some(step) = sim.step() {
            for v in sim.check_invariants() {
                violations.push(format!("{} after {} on {}: {v}", step.time, step.event, step.node));
            }
        }
        kafkasim::report::report_of(sim, &options)
    } else {
        kafkasim::run(&scenario, &options)
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: drawing a chart failed: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let f = &report.figures;
    println!(
        "\nrecords: produced {} · acknowledged {} · failed {} · consumed {}",
        f["records_produced"], f["records_acked"], f["records_failed"], f["records_consumed"]
    );
    println!(
        "produce latency ms: p50 {:.3} · p99 {:.3} · p99.9 {:.3} · max {:.3}",
        f["produce_latency_p50_ms"],
        f["produce_latency_p99_ms"],
        f["produce_latency_p999_ms"],
        f["produce_latency_max_ms"]
    );
    println!(
        "end-to-end latency ms: p50 {:.3} · p99 {:.3} · p99.9 {:.3} · max {:.3}",
        f["e2e_latency_p50_ms"], f["e2e_latency_p99_ms"], f["e2e_latency_p999_ms"], f["e2e_latency_max_ms"]
    );
    let dir = args.out.join(&scenario.name);
    match write_whole(&dir, &report.artifacts()) {
        Ok(()) => println!("wrote {}", dir.display()),
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", dir.display());
            return EXIT_BAD_INPUT;
        }
    }
    if args.check_invariants {
        println!("invariants: {} violation(s) after every event", violations.len());
        for v in violations.iter().take(10) {
            println!("  violated at {v}");
        }
    }
    let failed: Vec<_> = report.verdicts.iter().filter(|v| !v.holds).collect();
    for v in &report.verdicts {
        println!("expect {} {}: actual {:.3} {}", v.figure, v.bound, v.actual, if v.holds { "ok" } else { "FAILED" });
    }
    if failed.is_empty() && violations.is_empty() {
        return EXIT_OK;
    }
    let mut cmd = format!("kafkasim run {} --seed {}", args.scenario, scenario.seed);
    for (k, v) in &args.set {
        cmd.push_str(&format!(" --set '{k}={v}'"));
    }
    if args.check_invariants {
        cmd.push_str(" --check-invariants");
    }
    eprintln!(
        "{} expectation(s) failed, {} invariant violation(s); reproduce with: {cmd}",
        failed.len(),
        violations.len()
    );
    EXIT_EXPECTATION_FAILED
}
