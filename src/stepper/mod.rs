//! The stepper: a debugger's command loop over a [`Simulation`], for students who want to walk
//! through a run event by event without writing Rust (`kafkasim step`).
//!
//! It models nothing of Kafka itself: it reads the same read-only views the library offers
//! (`partitions()`, `groups()`, ...) and the notable trace lines each event emits, and moves the
//! simulation with `step()` and `run_until()`. Commands come in as text and replies go out as
//! text, so the library still never prints: the CLI owns the terminal, and the tests and the
//! book drive a [`Stepper`] with a list of commands.
//!
//! Stepping changes nothing in the run: the same scenario and seed give the same events whether
//! they are stepped one at a time, run to a time, or run whole.

mod tables;

use crate::scenario::Scenario;
use crate::sim::{SimTime, Simulation};

/// At most this many notable trace lines are shown after an `until` or a `find`; the rest are
/// counted (`trace N` shows more).
const SHOWN_LINES_MAX: usize = 40;
/// At most this many events are listed by one `next N`; the rest are handled and counted.
const SHOWN_EVENTS_MAX: usize = 200;

/// What the commands say (`help`).
pub const HELP: &str = "\
commands (an empty line repeats `next`):
  next [N]          handle the next N events (default 1), each with the notable lines it traced
  next NODE         handle events until NODE (e.g. broker-1, billing-0, engine) handles one
  until TIME        run to TIME: 20s, 1500ms, 250us, +5s (from now) or end
  find TEXT         run until an event traces a notable line containing TEXT (case-insensitive),
                    e.g. `find rebalance`, `find become_leader`, `find orders-0`
  partitions [X]    leader, epoch, ISR, log start, high watermark (with transactions: last stable
                    offset and open transactions) and log end of each partition (compacted: the
                    records its log holds and where its cleaner got to)
                    (X: a topic or a partition such as orders-0)
  brokers           which broker is up and what it leads
  controllers       each controller: up or down, its role in the quorum, epoch, metadata versions
  groups            each consumer group: state, generation, members and their positions, lag
  producers         records and requests sent, retries, requests in flight
  faults            the scenario's faults: which fired and what they touched
  stream            each stream query: its watermark, next trigger and open windows
  status            the clock, events handled and pending
  trace [N]         the last N notable trace lines (default 20)
  help              this list
  quit              leave (end of input does too)
short forms: n, u, f, p, b, c, g, w, s, t, h, q";

/// A simulation driven by text commands.
pub struct Stepper {
    sim: Simulation,
    /// How much of the trace text has been shown (a byte offset into it).
    trace_shown: usize,
}

/// The answer to one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// What to show, ending with a newline (empty for `quit`).
    pub text: String,
    /// The user asked to leave.
    pub quit: bool,
}

impl Reply {
    fn text(text: String) -> Reply {
        Reply { text, quit: false }
    }
}

impl Stepper {
    /// A new run of `scenario`, at time zero with nothing handled yet.
    pub fn new(scenario: &Scenario) -> Stepper {
        Stepper { sim: Simulation::new(scenario), trace_shown: 0 }
    }

    /// The simulation, for anything the commands do not show.
    pub fn simulation(&self) -> &Simulation {
        &self.sim
    }

    /// `[12.345678 s] > `: the prompt, with the clock.
    pub fn prompt(&self) -> String {
        format!("[{} s] > ", self.sim.now())
    }

    /// The notable lines traced while the simulation was built (the cluster's first state),
    /// which no command has shown yet.
    pub fn opening(&mut self) -> String {
        let lines = self.unshown_lines();
        format!("{}{}\n", lines.concat(), self.status_line())
    }

    /// Carries out one command line; `Err` says what is wrong with it (nothing was done).
    pub fn command(&mut self, line: &str) -> Result<Reply, String> {
        let line = line.trim();
        let (verb, arg) = match line.split_once(char::is_whitespace) {
            Some((v, a)) => (v, a.trim()),
            None => (line, ""),
        };
        let text = match verb {
            "" | "n" | "next" => self.next(arg)?,
            "u" | "until" => self.until(arg)?,
            "f" | "find" => self.find(arg)?,
            "p" | "partitions" => tables::partitions(&self.sim, arg)?,
            "b" | "brokers" => no_argument(verb, arg).map(|()| tables::brokers(&self.sim))?,
            "c" | "controllers" => no_argument(verb, arg).map(|()| tables::controllers(&self.sim))?,
            "g" | "groups" => no_argument(verb, arg).map(|()| tables::groups(&self.sim))?,
            "producers" => no_argument(verb, arg).map(|()| tables::producers(&self.sim))?,
            "faults" => no_argument(verb, arg).map(|()| tables::faults(&self.sim))?,
            "w" | "stream" => no_argument(verb, arg).map(|()| tables::stream_queries(&self.sim))?,
            "s" | "status" => no_argument(verb, arg).map(|()| format!("{}\n", self.status_line()))?,
            "t" | "trace" => self.trace(arg)?,
            "h" | "help" | "?" => format!("{HELP}\n"),
            "q" | "quit" | "exit" => return Ok(Reply { text: String::new(), quit: true }),
            _ => return Err(format!("unknown command `{verb}`: `help` lists the commands")),
        };
        Ok(Reply::text(text))
    }

    /// `next`, `next N`, `next NODE`.
    fn next(&mut self, arg: &str) -> Result<String, String> {
        let node = match arg {
            "" => None,
            a if a.chars().all(|c| c.is_ascii_digit()) => {
                let n: u64 = a.parse().map_err(|_| format!("`next {a}`: too many events at once"))?;
                return Ok(self.next_events(n));
            }
            a => Some(self.node_named(a)?),
        };
        let mut out = String::new();
        let mut skipped = 0u64;
        loop {
            let Some(step) = self.sim.step() else {
                self.trace_shown = self.sim.trace().text().len();
                out.push_str(&format!("the run is over at {} s", self.sim.end()));
                if skipped > 0 {
                    out.push_str(&format!(" ({skipped} events handled, none by {})", node.unwrap_or_default()));
                }
                out.push('\n');
                return Ok(out);
            };
            if node.is_none_or(|n| step.node == n) {
                if skipped > 0 {
                    out.push_str(&format!("({skipped} events by other nodes handled)\n"));
                }
                out.push_str(&self.event_lines(&step));
                return Ok(out);
            }
            skipped += 1;
        }
    }

    fn next_events(&mut self, n: u64) -> String {
        let mut out = String::new();
        let mut hidden = 0u64;
        for i in 0..n.max(1) {
            let Some(step) = self.sim.step() else {
                out.push_str(&format!("the run is over at {} s\n", self.sim.end()));
                break;
            };
            if (i as usize) < SHOWN_EVENTS_MAX {
                out.push_str(&self.event_lines(&step));
            } else {
                hidden += 1;
                self.trace_shown = self.sim.trace().text().len();
            }
        }
        if hidden > 0 {
            out.push_str(&format!("… and {hidden} more events (`trace` shows their notable lines)\n"));
        }
        out
    }

    /// `until TIME`.
    fn until(&mut self, arg: &str) -> Result<String, String> {
        let to = parse_time(arg, self.sim.now(), self.sim.end())?;
        if to <= self.sim.now() && !self.sim.is_finished() {
            return Err(format!("`until {arg}`: that is not after now ({} s)", self.sim.now()));
        }
        self.sim.run_until(to);
        Ok(self.passed_lines())
    }

    /// `find TEXT`.
    fn find(&mut self, arg: &str) -> Result<String, String> {
        if arg.is_empty() {
            return Err("`find` needs the text to look for, e.g. `find rebalance`".into());
        }
        let needle = arg.to_lowercase();
        loop {
            let before = self.sim.trace().text().len();
            let step = self.sim.step();
            let text = self.sim.trace().text();
            // The lines passed over are shown only as a count (`trace N` shows them).
            let passed = text[self.trace_shown..before].lines().count();
            // `trace N` counts back from the last line shown, which will be the match's last.
            let back = passed + text[before..].lines().count();
            let passed_note = match passed {
                0 => String::new(),
                _ => format!("({passed} other notable lines passed; `trace {back}` shows them with the match)\n"),
            };
            let Some(step) = step else {
                self.trace_shown = text.len();
                return Ok(format!(
                    "{passed_note}no notable line contains `{arg}` by the end of the run ({} s)\n",
                    self.sim.end()
                ));
            };
            if text[before..].to_lowercase().contains(&needle) {
                self.trace_shown = before;
                let matched = self.event_lines(&step);
                return Ok(format!("{passed_note}{matched}"));
            }
        }
    }

    /// `trace [N]`.
    fn trace(&mut self, arg: &str) -> Result<String, String> {
        let n: usize = match arg {
            "" => 20,
            a => a.parse().map_err(|_| format!("`trace` takes a number of lines, e.g. `trace 50`; got `{a}`"))?,
        };
        let text = &self.sim.trace().text()[..self.trace_shown];
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(n);
        let mut out = String::new();
        for l in &lines[from..] {
            out.push_str(l);
            out.push('\n');
        }
        if out.is_empty() {
            out.push_str("no notable lines yet\n");
        }
        Ok(out)
    }

    /// The event as `time node what`, then the notable lines it traced, indented under it.
    fn event_lines(&mut self, step: &crate::sim::StepRecord) -> String {
        let mut out = format!("{:>14} {:<16} {}\n", step.time.to_string(), step.node, step.event);
        for line in self.unshown_lines() {
            // A trace line is `time node event detail` in fixed columns; under its event the time
            // is the same, so it is left out.
            out.push_str(&format!("{:>14} {}", "│", line.get(15..).unwrap_or(&line)));
        }
        out
    }

    /// The notable lines traced since the last command (at most [`SHOWN_LINES_MAX`], the rest
    /// counted), then where the clock stands.
    fn passed_lines(&mut self) -> String {
        let lines = self.unshown_lines();
        let mut out = String::new();
        for l in lines.iter().take(SHOWN_LINES_MAX) {
            out.push_str(l);
        }
        if lines.len() > SHOWN_LINES_MAX {
            out.push_str(&format!(
                "… and {} more notable lines (`trace {}` shows the last of them)\n",
                lines.len() - SHOWN_LINES_MAX,
                lines.len() - SHOWN_LINES_MAX
            ));
        }
        out.push_str(&self.status_line());
        out.push('\n');
        out
    }

    fn unshown_lines(&mut self) -> Vec<String> {
        let text = &self.sim.trace().text()[self.trace_shown..];
        self.trace_shown += text.len();
        text.split_inclusive('\n').map(str::to_string).collect()
    }

    fn status_line(&self) -> String {
        let s = self.sim.scenario();
        format!(
            "{} · seed {} · now {} s of {} s · {} events handled · {} pending{}",
            s.name,
            s.seed,
            self.sim.now(),
            self.sim.end(),
            self.sim.events(),
            self.sim.pending_events(),
            if self.sim.is_finished() { " · the run is over" } else { "" }
        )
    }

    /// A node's name as the trace spells it, or what the names are.
    fn node_named<'a>(&self, name: &'a str) -> Result<&'a str, String> {
        let s = self.sim.scenario();
        let mut names: Vec<String> = (0..s.cluster.brokers).map(|b| format!("broker-{b}")).collect();
        names.extend(s.cluster.controller.node_names());
        names.push("engine".to_string());
        names.extend(s.producers.iter().map(|p| p.name.clone()));
        names.extend(self.sim.groups().into_iter().flat_map(|g| g.members).map(|m| m.name));
        if names.iter().any(|n| n == name) {
            Ok(name)
        } else {
            Err(format!("`next {name}`: no such node; the nodes are {}", names.join(", ")))
        }
    }
}

fn no_argument(verb: &str, arg: &str) -> Result<(), String> {
    match arg {
        "" => Ok(()),
        _ => Err(format!("`{verb}` takes no argument; got `{arg}`")),
    }
}

/// `20s`, `1.5s`, `1500ms`, `250us`, `+5s` (after `now`) or `end`, capped at `end`. Parsed
/// with integers only, so `0.1s` is exactly 100 ms.
pub fn parse_time(text: &str, now: SimTime, end: SimTime) -> Result<SimTime, String> {
    let bad =
        || format!("a time is a number with a unit: 20s, 1.5s, 1500ms, 250us, +5s (from now) or end; got `{text}`");
    if text == "end" {
        return Ok(end);
    }
    let (relative, rest) = match text.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (number, unit_ns) = if let Some(n) = rest.strip_suffix("ms") {
        (n, 1_000_000u64)
    } else if let Some(n) = rest.strip_suffix("us").or_else(|| rest.strip_suffix("µs")) {
        (n, 1_000)
    } else if let Some(n) = rest.strip_suffix('s') {
        (n, 1_000_000_000)
    } else {
        return Err(bad());
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) if digits(f) => (w, f),
        Some(_) => return Err(bad()),
        None => (number, ""),
    };
    if !digits(whole) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let mut ns = whole.checked_mul(unit_ns).ok_or_else(bad)?;
    // The fraction, digit by digit, down to the nanosecond.
    let mut scale = unit_ns;
    for c in fraction.chars() {
        scale /= 10;
        ns = ns.saturating_add(u64::from(c.to_digit(10).unwrap_or(0)) * scale);
    }
    let at = if relative { SimTime(now.0.saturating_add(ns)) } else { SimTime(ns) };
    Ok(at.min(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_exactly_with_their_units() {
        let (now, end) = (SimTime::from_ms(2_000), SimTime::from_ms(60_000));
        assert_eq!(parse_time("20s", now, end), Ok(SimTime::from_ms(20_000)));
        assert_eq!(parse_time("0.1s", now, end), Ok(SimTime::from_ms(100)));
        assert_eq!(parse_time("20.0015s", now, end), Ok(SimTime(20_001_500_000)));
        assert_eq!(parse_time("1500ms", now, end), Ok(SimTime::from_ms(1_500)));
        assert_eq!(parse_time("250us", now, end), Ok(SimTime(250_000)));
        assert_eq!(parse_time("+5s", now, end), Ok(SimTime::from_ms(7_000)));
        assert_eq!(parse_time("end", now, end), Ok(end));
        assert_eq!(parse_time("999s", now, end), Ok(end), "capped at the end of the run");
        for bad in ["20", "s", "1.s", "-1s", "1e3ms", "twenty s", ""] {
            assert!(parse_time(bad, now, end).is_err(), "{bad}");
        }
    }
}
