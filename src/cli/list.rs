//! `kafkasim list`: the bundled scenarios and what each shows.

use clap::Args;

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// List the bundled scenarios with their descriptions.
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  kafkasim list\n  kafkasim run quickstart")]
pub struct ListArgs {}

pub fn list(_args: ListArgs) -> u8 {
    let mut code = EXIT_OK;
    for (file, src) in kafkasim::bundled::SCENARIOS {
        match kafkasim::scenario::parse(file, src, &[]) {
            Ok(s) => println!("{:<36} {}", format!("scenarios/{file}"), s.description.trim()),
            Err(e) => {
                eprint!("{e}");
                code = EXIT_BAD_INPUT;
            }
        }
    }
    code
}
