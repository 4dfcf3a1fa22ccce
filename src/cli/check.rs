//! `kafkasim check`: validate scenario files without running them.

use clap::Args;

use super::{EXIT_BAD_INPUT, EXIT_OK, load_scenario, parse_set};

/// Validate scenario files and report every problem with file:line:column.
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  kafkasim check scenarios/*.ron")]
pub struct CheckArgs {
    /// Scenario files (or bundled scenario names).
    #[arg(required = true)]
    scenarios: Vec<String>,
    /// Apply overrides before checking: PATH=VALUE.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
}

pub fn check(args: CheckArgs) -> u8 {
    let mut code = EXIT_OK;
    for s in &args.scenarios {
        match load_scenario(s, &args.set) {
            Ok(sc) => println!("ok {s} ({})", sc.name),
            Err(e) => {
                eprint!("{e}");
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}
