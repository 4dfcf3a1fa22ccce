//! The `kafkasim` command line: a thin shell over the library.

fn main() -> std::process::ExitCode {
    kafkasim_cli::main()
}

#[path = "cli/mod.rs"]
mod kafkasim_cli;
