//! The `kafkasim` command line: a thin shell over the library.

/// mimalloc rather than the system allocator: about a quarter faster on the bundled benchmark
/// (`cargo bench -- model`). Outputs never depend on the allocator: nothing in the model orders
/// by address.
#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

mod allocator;

fn main() -> std::process::ExitCode {
    allocator::configure();
    kafkasim_cli::main()
}

#[path = "cli/mod.rs"]
mod kafkasim_cli;
