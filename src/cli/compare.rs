//! `kafkasim compare`: run two scenarios (or one, and the same with `--set` overrides) with the
//! same seed and write both runs' outputs, a table of differences and side-by-side charts. The
//! runs, table and charts are built by `kafkasim::report::compare`; this file parses and writes.

use std::path::PathBuf;

use clap::Args;
use kafkasim::report::RunOptions;
use kafkasim::report::compare::{self, Sides};

use super::output::write_whole;
use super::{EXIT_BAD_INPUT, EXIT_OK, load_scenario, parse_set, scenario_source};

/// Compare two runs with the same seed: A.ron vs B.ron, or S.ron vs S.ron with --set overrides.
/// Writes OUT/compare-<a>-vs-<b>/: compare.md (every figure: A, B, B − A), charts with both runs
/// on the same axes, and a/ and b/ with each run's own outputs.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  kafkasim compare quickstart --set producers.checkout.acks=One
  kafkasim compare scenarios/arrivals-constant-vs-poisson.ron scenarios/quickstart.ron
  kafkasim compare quickstart --set producers.checkout.linger_ms=0 --both duration_ms=3000

Both runs use A's seed, so they share their random draws (common random numbers): the same
records arrive at the same instants in both, and a difference is the settings' doing.")]
pub struct CompareArgs {
    /// A, and optionally B: scenario files or names of bundled scenarios. With one scenario,
    /// B is A with the --set overrides.
    #[arg(num_args = 1..=2, required = true, value_name = "SCENARIO")]
    scenarios: Vec<String>,
    /// B's overrides (with one scenario): PATH=VALUE, e.g. producers.checkout.acks=One.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    /// Overrides for both A and B: PATH=VALUE, e.g. duration_ms=3000.
    #[arg(long = "both", value_name = "PATH=VALUE", value_parser = parse_set)]
    both: Vec<(String, String)>,
    /// Output folder; files go to OUT/compare-<a>-vs-<b>/.
    #[arg(long, default_value = "out")]
    out: PathBuf,
}

fn describe(label: &str, overrides: &[(String, String)]) -> String {
    let mut out = label.to_string();
    for (i, (k, v)) in overrides.iter().enumerate() {
        out.push_str(if i == 0 { " with --set " } else { ", --set " });
        out.push_str(&format!("{k}={v}"));
    }
    out
}

pub fn compare(args: CompareArgs) -> u8 {
    let (a_arg, b_arg) = match args.scenarios.as_slice() {
        [a] => {
            if args.set.is_empty() {
                eprintln!(
                    "error: B would be A unchanged: give a second scenario, or --set PATH=VALUE for what B changes"
                );
                return EXIT_BAD_INPUT;
            }
            (a.clone(), None)
        }
        [a, b] => {
            if !args.set.is_empty() {
                eprintln!(
                    "error: --set changes B when comparing one scenario with itself; with two scenarios use --both PATH=VALUE (applies to A and B)"
                );
                return EXIT_BAD_INPUT;
            }
            (a.clone(), Some(b.clone()))
        }
        _ => {
            eprintln!("error: give one or two scenarios");
            return EXIT_BAD_INPUT;
        }
    };
    let a_label = match scenario_source(&a_arg) {
        Ok((label, _)) => label,
        Err(e) => {
            eprint!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let a = match load_scenario(&a_arg, &args.both) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let b_src = b_arg.as_deref().unwrap_or(&a_arg);
    let mut b_overrides = args.both.clone();
    b_overrides.extend(args.set.iter().cloned());
    let b = match load_scenario(b_src, &b_overrides) {
        Ok(s) => s,
        Err(e) => {
            eprint!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let b_label = match &b_arg {
        Some(arg) => match scenario_source(arg) {
            Ok((label, _)) => label,
            Err(e) => {
                eprint!("{e}");
                return EXIT_BAD_INPUT;
            }
        },
        None => a_label.clone(),
    };
    let sides = Sides::new(&a, &b, &describe(&a_label, &args.both), &describe(&b_label, &b_overrides), &args.set);
    println!("kafkasim {} compare A: {} vs B: {} · seed {}", env!("CARGO_PKG_VERSION"), sides.a, sides.b, a.seed);
    let comparison = match compare::compare(&a, &b, sides, &RunOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    print!("\n{}\n", comparison.table);
    let dir = args.out.join(comparison.folder_name());
    if let Err(e) = write_whole(&dir, &comparison.artifacts()) {
        eprintln!("error: cannot write {}: {e}", dir.display());
        return EXIT_BAD_INPUT;
    }
    println!("wrote {}", dir.display());
    EXIT_OK
}
