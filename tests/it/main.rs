//! kafkasim's integration tests: one test binary, one module per concern.
//!
//! - `scenarios`: every bundled scenario in `scenarios/` runs, meets its own `expect` block, is
//!   byte-for-byte deterministic (trace, summary, CSV, PNG), and has its summary, notable trace
//!   and chart data snapshotted in `snapshots/`.
//! - `invalid`: every file in `tests/invalid/` is rejected with a clear message (file,
//!   line:column, field, what is allowed), snapshotted; none panics.
//! - `cli`: the `kafkasim` binary's commands, outputs and exit codes.
//! - `replication`: Kafka's invariants after every event of every bundled scenario, and a property
//!   test of random fault schedules (acks=all, min.insync.replicas=2: nothing acknowledged is lost).
//! - `book`: the book's chapters and the scenarios it names exist.
//! - `workload`: arrival processes, keys and value sizes end to end: the accumulator against
//!   queueing theory (records per batch and accumulator wait under Poisson arrivals), common
//!   random numbers across key/value settings, bursty versus Poisson latency, replayed records.
//! - `sweep`: grids of settings and seeds, sharding, the trade-off chart (library level).
//! - `producer`: the producer's CPU model (one shared core against a core per thread, the
//!   codecs' compression costs, zero costs changing nothing) and `flush()`.
//! - `quota`: client quotas (`producer_byte_rate`): throttling per broker, and none within it.
//! - `compare`: A/B runs with the same seed, the table of differences, side-by-side charts.
//! - `groups`: consumer groups: eager vs cooperative rebalances, static membership, offset
//!   expiry, the coordinator's placement.
//! - `kip848`: consumer groups under the KIP-848 protocol: a scale-out that stops no one but the
//!   moving partitions, against eager over seeds; a paused member fenced and rejoining.
//! - `stream`: the Spark-like stream processor: trigger against latency, falling behind, the
//!   watermark against late data, recovery from the checkpoint.
//! - `retention`: topic retention (`retention.ms`, `retention.bytes`, whole segments, never past
//!   the high watermark) and a consumer that falls off the log.
//! - `transactions`: transactions and `read_committed`: aborted records never seen, latency that
//!   follows the commit interval, a hanging transaction holding the last stable offset until its
//!   timeout, a fenced zombie producer, a coordinator failover.
//! - `partitions_added`: partitions added during the run (`CreatePartitions`): keys that move,
//!   metadata refreshes, a classic leader's rejoin against a KIP-848 coordinator, what `Latest`
//!   skips, and keys read out of order behind a backlog.
//! - `reassign`: partition reassignment (`Reassign`, KIP-455): new replicas copy the whole log
//!   before the old ones go, completion once every target replica is in the ISR, the leader's
//!   move, removed replicas deleting their copy, an added replica that is down, `--additional`
//!   replacing a move in progress.
//! - `network`: network interfaces of limited speed (`nic_mbps`): a reassignment's copy crowding
//!   out the leader's clients, per-pair links that do not, smaller replica fetches, a throttle's
//!   bursts, that an interface never sends faster than its speed, and a `SlowNic` fault backing a
//!   broker up until it is restored.
//! - `quorum`: a KRaft controller quorum: a new active controller after the fetch timeout, a
//!   broker dying meanwhile fenced a session after the takeover, a cut-off controller resigning
//!   without disrupting the quorum when back (pre-vote), no majority meaning no fencing, and one
//!   leader per epoch under random crashes.
//! - `step`: the stepper (`kafkasim step`): commands, the views between them, the transcript,
//!   and that stepping changes nothing in the run.
//!
//! Snapshots are insta snapshots in the top-level `snapshots/` folder. Locally a changed
//! snapshot fails and writes `*.snap.new` for review (`cargo insta review`, or read the diff);
//! with `CI` set, a missing or changed snapshot fails and nothing is written.

mod book;
mod cli;
mod compaction;
mod compare;
mod groups;
mod invalid;
mod kip848;
mod network;
mod partitions_added;
mod pipeline;
mod producer;
mod quorum;
mod quota;
mod reassign;
mod replication;
mod retention;
mod scenarios;
mod step;
mod stream;
mod support;
mod sweep;
mod transactions;
mod workload;
