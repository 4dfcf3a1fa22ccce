//! The `kafkasim` command line (clap). Each subcommand has its own file; this one parses the
//! arguments and maps results to exit codes: 0 ok, 1 an expectation failed, 2 bad input or I/O.

mod assign;
mod check;
mod compare;
mod list;
mod output;
mod partition;
mod run;
mod step;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// kafkasim: a deterministic simulator of Apache Kafka for teaching and experiments.
#[derive(Parser, Debug)]
#[command(name = "kafkasim", version, about, long_about = None, after_help = "Example:\n  kafkasim run scenarios/quickstart.ron --out out")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Run(run::RunArgs),
    Step(step::StepArgs),
    Check(check::CheckArgs),
    List(list::ListArgs),
    Partition(partition::PartitionArgs),
    Assign(assign::AssignArgs),
    Sweep(sweep::SweepArgs),
    Compare(compare::CompareArgs),
}

/// Exit codes.
pub const EXIT_OK: u8 = 0;
pub const EXIT_EXPECTATION_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK });
        }
    };
    let code = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Step(args) => step::step(args),
        Command::Check(args) => check::check(args),
        Command::List(args) => list::list(args),
        Command::Partition(args) => partition::partition(args),
        Command::Assign(args) => assign::assign(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Compare(args) => compare::compare(args),
    };
    ExitCode::from(code)
}

/// Splits `path=value` for `--set`.
fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected PATH=VALUE (e.g. producers.checkout.linger_ms=20), got {s:?}")),
    }
}

/// Loads a scenario from a file, or a bundled one by name when no such file exists.
fn load_scenario(
    arg: &str,
    overrides: &[(String, String)],
) -> Result<kafkasim::Scenario, kafkasim::scenario::ScenarioError> {
    let (label, src) = scenario_source(arg)?;
    kafkasim::scenario::parse(&label, &src, overrides)
}

/// The scenario to run: loaded with its overrides and `--seed`, or, when it is bad input, its
/// error printed and the exit code to return.
fn scenario_to_run(arg: &str, overrides: &[(String, String)], seed: Option<u64>) -> Result<kafkasim::Scenario, u8> {
    let mut scenario = load_scenario(arg, overrides).map_err(|e| {
        eprint!("{e}");
        EXIT_BAD_INPUT
    })?;
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    Ok(scenario)
}

/// The text of a scenario file, or of a bundled one by name when no such file exists, with the
/// label that names it in messages.
fn scenario_source(arg: &str) -> Result<(String, String), kafkasim::scenario::ScenarioError> {
    let path = std::path::Path::new(arg);
    if !path.exists()
        && let Some((file, src)) = kafkasim::bundled::find(arg)
    {
        return Ok((format!("scenarios/{file}"), src.to_string()));
    }
    let label = path.display().to_string();
    let src = std::fs::read_to_string(path)
        .map_err(|e| kafkasim::scenario::ScenarioError::io(&label, format!("cannot read the file: {e}")))?;
    Ok((label, src))
}
