//! `kafkasim sweep`: run a scenario over a grid of settings and seeds; write `sweep.csv` and the
//! throughput–latency trade-off chart. The grid, the runs and the files are built by
//! `kafkasim::report::sweep`; this file parses arguments, shows progress and writes.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kafkasim::report::sweep::{self, Shard, SweepError, SweepSpec, TradeoffLatency, Vary};

use super::output::write_whole;
use super::{EXIT_BAD_INPUT, EXIT_OK, parse_set, scenario_source};

/// Run a scenario for every combination of --vary values (and --seeds seeds) in parallel; write
/// OUT/<scenario>-sweep/sweep.csv (one row per run) and tradeoff.png (throughput against
/// p50/p99/p99.9 produce latency, or end-to-end latency with --latency end-to-end).
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kafkasim sweep quickstart --vary producers.checkout.linger_ms=0,5,20,50
  kafkasim sweep quickstart --vary producers.checkout.linger_ms=0,5,50 \\
      --vary producers.checkout.arrival.per_sec=1000,4000 --seeds 3 --set duration_ms=5000
  kafkasim sweep stream-micro-batch-trigger --latency end-to-end \\
      --vary consumer_groups.counts.stream.trigger_ms=0,100,250,500,1000

Rows are in grid order: the first --vary changes slowest, seeds fastest. Seeds are the
scenario's seed, seed+1, ...; every grid point runs with the same seeds, so rows differ by
their settings, not by luck. Expectations are not checked in a sweep.

Sharding: --shard I/N runs grid rows I-1, I-1+N, ... and writes
OUT/<scenario>-sweep-shard-I-of-N/. Each shard's sweep.csv has the header and exactly the
unsharded sweep's rows for its runs; to join them:
  cat out/quickstart-sweep-shard-1-of-2/sweep.csv > all.csv
  tail -n +2 out/quickstart-sweep-shard-2-of-2/sweep.csv >> all.csv")]
pub struct SweepArgs {
    /// A scenario file, or the name of a bundled scenario (see `kafkasim list`).
    scenario: String,
    /// A setting and its values: PATH=V1,V2,... (repeat for a grid). Paths as for --set.
    #[arg(long, value_name = "PATH=V1,V2,...", value_parser = parse_vary, required = true)]
    vary: Vec<Vary>,
    /// Seeds per grid point: the scenario's seed, seed+1, ..., seed+N-1.
    #[arg(long, value_name = "N", default_value_t = 1)]
    seeds: u64,
    /// Output folder; files go to OUT/<scenario name>-sweep/.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Run only part of the grid: shard I of N (1-based), the rows with index % N == I-1.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Override a field in every run: PATH=VALUE, e.g. duration_ms=5000.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    /// The latency the trade-off chart and the printed rows show: the producer's (to the
    /// acknowledgement, against acknowledged records/s) or end to end (to processed, against
    /// consumed records/s: consumer and stream settings).
    #[arg(long, value_enum, default_value_t = LatencyArg::Produce)]
    latency: LatencyArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LatencyArg {
    Produce,
    EndToEnd,
}

fn parse_vary(s: &str) -> Result<Vary, String> {
    Vary::parse(s).map_err(message)
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s).map_err(message)
}

fn message(e: SweepError) -> String {
    match e {
        SweepError::Input(m) => m,
        other => other.to_string(),
    }
}

pub fn sweep(args: SweepArgs) -> u8 {
    let (label, src) = match scenario_source(&args.scenario) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let latency = match args.latency {
        LatencyArg::Produce => TradeoffLatency::Produce,
        LatencyArg::EndToEnd => TradeoffLatency::EndToEnd,
    };
    let spec = SweepSpec { vary: args.vary, seeds: args.seeds, shard: args.shard, latency };
    let plan = match sweep::plan(&label, &src, &args.set, &spec) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let shard = match plan.shard {
        Some(s) => format!(" · shard {}/{}: {} runs", s.index, s.count, plan.runs.len()),
        None => String::new(),
    };
    println!(
        "kafkasim {} sweep {}: {} runs ({} settings × {} seed(s)){shard} on {} threads",
        env!("CARGO_PKG_VERSION"),
        plan.name,
        plan.total,
        plan.total / plan.seeds as usize,
        plan.seeds,
        rayon::current_num_threads()
    );
    let bar = if std::io::stdout().is_terminal() {
        ProgressBar::with_draw_target(Some(plan.runs.len() as u64), ProgressDrawTarget::stdout())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} runs · {elapsed} (eta {eta})") {
        bar.set_style(style);
    }
    let result = sweep::run(&plan, &|| bar.inc(1));
    bar.finish_and_clear();
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let files = match result.artifacts() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let dir = args.out.join(result.folder_name());
    if let Err(e) = write_whole(&dir, &files) {
        eprintln!("error: cannot write {}: {e}", dir.display());
        return EXIT_BAD_INPUT;
    }
    const SHOWN: usize = 40;
    for row in result.rows.iter().take(SHOWN) {
        let settings: Vec<String> =
            result.vary.iter().zip(&row.values).map(|(v, x)| format!("{}={x}", v.short_name())).collect();
        let f = |name: &str| row.figures.get(name).copied().unwrap_or(f64::NAN);
        let (throughput, [p50, p99, p999]) = latency.figures();
        println!(
            "{} seed {}: {} {:.1}/s · {} ms p50 {:.3} · p99 {:.3} · p99.9 {:.3}",
            settings.join(" "),
            row.seed,
            if latency == TradeoffLatency::Produce { "acked" } else { "consumed" },
            f(throughput),
            latency.name(),
            f(p50),
            f(p99),
            f(p999)
        );
    }
    if result.rows.len() > SHOWN {
        println!("... {} more rows in sweep.csv", result.rows.len() - SHOWN);
    }
    println!("wrote {}", dir.display());
    EXIT_OK
}
