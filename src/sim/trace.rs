//! The trace: one line per event, in fixed columns, in the order events happened.
//!
//! By default only notable events are traced (configuration, first sends, assignments, the end
//! of the run); with [`TraceLevel::All`] every event gets a line. Lines are built only when they
//! will be kept, so a quiet trace costs nothing on the hot path.

use std::fmt::Write;

use super::time::SimTime;

/// How much goes into trace.log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TraceLevel {
    /// Faults, elections, assignments, first sends, the end of the run.
    #[default]
    Notable,
    /// Every event, including each record's arrival and each message delivery.
    All,
}

/// The trace buffer.
#[derive(Debug, Default)]
pub struct Trace {
    pub level: TraceLevel,
    text: String,
    lines: u64,
}

impl Trace {
    pub fn new(level: TraceLevel) -> Trace {
        Trace { level, text: String::new(), lines: 0 }
    }

    /// Appends `time node event detail` in fixed columns.
    pub fn line(&mut self, time: SimTime, node: &str, event: &str, detail: &str) {
        let _ = writeln!(self.text, "{:>14} {:<16} {:<18} {}", time.to_string(), node, event, detail);
        self.lines += 1;
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }
}
