//! # kafkasim
//!
//! A deterministic discrete-event simulator of Apache Kafka, for teaching and for seeing what
//! Kafka does and why. Same scenario + seed = byte-identical trace, summary, CSV and charts.
//!
//! A tour of the crate, following a record:
//!
//! - [`scenario`]: the RON scenario format, its validation and `--set` overrides.
//! - [`sim`]: the engine: integer virtual time, the `(time, seq)` event queue, random streams
//!   per component, the actor contract ([`sim::Ctx`]) and [`Simulation`] with `step`/`run`.
//! - [`workload`]: when records are created (arrival processes) and their keys.
//! - [`client`]: the producer (partitioners, accumulator, sender) and the consumer, and the two
//!   together in a consume-transform-produce member (a group with `output`).
//! - [`protocol`]: the requests and responses that cross the network.
//! - [`net`]: links with latency and jitter, on a petgraph graph.
//! - [`cluster`]: brokers, partition logs, the log cleaner of compacted topics, and metadata.
//! - [`group`]: consumer-group partition assignors (range, roundrobin, sticky, cooperative-sticky),
//!   the group coordinator of the classic protocol, and KIP-848 consumer groups (`consumer_protocol`).
//! - [`transaction`]: transactions: the coordinator, markers, the last stable offset, consumer
//!   offsets committed inside a transaction.
//! - [`check`]: the record history and end-of-run verdicts (lost writes, duplicates, divergence).
//! - [`metrics`]: counters per interval and latency histograms.
//! - [`report`]: summary, CSV, figures, expectations and charts of a finished run.
//! - [`render`]: deterministic PNG charts with a bundled font.
//! - [`stepper`]: a debugger's command loop over a simulation (`kafkasim step`).
//!
//! The library never prints or exits; the `kafkasim` binary is a thin CLI over it.
//!
//! ```
//! let scenario = kafkasim::scenario::parse("inline.ron", r#"Scenario(
//!     name: "tiny", description: "one producer, one topic", seed: 1, duration_ms: 200,
//!     topics: [(name: "t", partitions: 2)],
//!     producers: [(name: "p", topic: "t", arrival: Constant(per_sec: 100.0))],
//! )"#, &[]).unwrap();
//! let mut sim = kafkasim::Simulation::new(&scenario);
//! while let Some(step) = sim.step() {
//!     assert!(step.time <= sim.end());
//! }
//! let records: u64 = sim.partitions().iter().map(|p| p.log_end_offset).sum();
//! assert_eq!(records, 20);
//! ```

pub mod bundled;
pub mod check;
pub mod client;
pub mod cluster;
pub mod group;
pub mod metrics;
pub mod net;
pub mod protocol;
pub mod render;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod stepper;
pub mod stream;
pub mod transaction;
pub mod workload;

pub use report::{Report, RunOptions, run};

// The book's Rust examples compile and run as doctests against this crate.
#[cfg(doctest)]
#[doc = include_str!("../book/src/first-run.md")]
struct BookFirstRun;
#[cfg(doctest)]
#[doc = include_str!("../book/src/groups.md")]
struct BookGroups;
pub use scenario::Scenario;
pub use sim::Simulation;
