//! `kafkasim step`: walk through a run event by event, as in a debugger (see `kafkasim::stepper`).

use std::io::{BufRead, IsTerminal, Write};

use clap::Args;
use kafkasim::stepper::Stepper;

use super::{EXIT_BAD_INPUT, EXIT_OK, parse_set, scenario_to_run};

/// Step through a scenario: handle events one at a time or up to a time, find the next
/// rebalance or election, and look at partitions, brokers and groups in between.
///
/// Commands come from -e (one per flag, then it exits) or, without -e, from standard input
/// (type `help` at the prompt). Stepping changes nothing in the run: the same seed gives the
/// same events as `kafkasim run`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kafkasim step group-scale-out-eager\n  kafkasim step group-scale-out-eager -e 'until 20s' -e 'find join complete' -e groups\n  kafkasim step acks1-leader-crash -e 'find become_leader' -e partitions -e 'next 5'\n  echo 'until 6s\\nbrokers' | kafkasim step acks1-leader-crash"
)]
pub struct StepArgs {
    /// A scenario file, or the name of a bundled scenario (see `kafkasim list`).
    scenario: String,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override any field: PATH=VALUE, e.g. producers.checkout.linger_ms=20.
    #[arg(long = "set", value_name = "PATH=VALUE", value_parser = parse_set)]
    set: Vec<(String, String)>,
    /// A command to carry out (repeatable, in order); without any, commands are read from
    /// standard input.
    #[arg(short = 'e', long = "exec", value_name = "COMMAND")]
    exec: Vec<String>,
}

pub fn step(args: StepArgs) -> u8 {
    let scenario = match scenario_to_run(&args.scenario, &args.set, args.seed) {
        Ok(s) => s,
        Err(code) => return code,
    };
    print!("{}", kafkasim::report::summary_header(&scenario));
    let mut stepper = Stepper::new(&scenario);
    print!("{}", stepper.opening());
    let stdin = std::io::stdin();
    let interactive = args.exec.is_empty() && stdin.is_terminal();
    if interactive {
        println!("type `help` for the commands, an empty line for the next event");
    }
    let mut failed = false;
    // One command: the prompt (and, unless a person typed it, the command, so a transcript
    // reads as a session), then its reply.
    let mut carry_out = |stepper: &mut Stepper, line: &str| -> bool {
        let prompt = stepper.prompt();
        if !interactive {
            println!("{prompt}{line}");
        }
        match stepper.command(line) {
            Ok(reply) => {
                print!("{}", reply.text);
                !reply.quit
            }
            Err(e) => {
                println!("error: {e}");
                failed = true;
                // A script stops at its first bad command; a person types another.
                interactive
            }
        }
    };
    if !args.exec.is_empty() {
        for line in &args.exec {
            if !carry_out(&mut stepper, line) {
                break;
            }
        }
    } else {
        let mut lines = stdin.lock().lines();
        loop {
            if interactive {
                print!("{}", stepper.prompt());
                let _ = std::io::stdout().flush();
            }
            let Some(Ok(line)) = lines.next() else { break };
            if !carry_out(&mut stepper, &line) {
                break;
            }
        }
    }
    if failed && !interactive { EXIT_BAD_INPUT } else { EXIT_OK }
}
