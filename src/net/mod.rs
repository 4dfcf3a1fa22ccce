//! The network: nodes joined by links with latency and jitter, built on a petgraph graph.
//!
//! Every pair of nodes is joined by a link (a full mesh, as clients and brokers all talk to each
//! other over TCP). A message takes the link's latency plus a uniform jitter draw from the link's
//! own random stream, and links are FIFO: a message never overtakes an earlier one on the same
//! directed link, as on one TCP connection.
//!
//! Faults change links: a cut link drops what is sent on it (in one or both directions), a slow
//! link adds latency, a lossy link drops a fraction of messages (drawn from the link's own drop
//! stream). Dropped messages vanish silently, as on a broken connection: senders notice by
//! timing out. A link may have a bandwidth (`bandwidth_mbps`): a message then waits for the
//! link to finish sending earlier ones.
//!
//! A node may have a network interface of limited speed (`nic_mbps`): everything it sends, to
//! any destination, leaves through it one message at a time in the order sent, each taking
//! `size / speed`. That is what makes a broker's traffic compete: its answers to consumers, its
//! followers' fetches and a reassignment's copy all wait for one another, which is why Kafka
//! throttles replication (KIP-73). Each interface counts the bytes it sent, the time it spent
//! sending and the longest wait a message had for it.
//!
//! Simplified: routing is direct (no multi-hop paths); only the sending side's interface is
//! limited (what a node receives never queues at its own interface, and a switch has no queues);
//! a message a cut link drops never reaches the interface. The interface is one FIFO queue
//! across all connections: a small message waits for every byte queued before it. A Linux host
//! interleaves connections (`fq_codel`, and TCP small queues keep most of a connection's backlog
//! in its socket buffer), so there a small message on another connection waits behind much less:
//! what a client waits here is an upper bound.

use std::collections::VecDeque;

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};

use crate::scenario::Cluster;
use crate::sim::{RandomStream, SimDuration, SimTime};

/// Latency of one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkSpec {
    pub latency_us: u64,
    pub jitter_us: u64,
    /// Megabits per second; `None`: unlimited.
    pub bandwidth_mbps: Option<u64>,
}

/// One directed link's state: everything a send reads and writes, its jitter stream included, in
/// one place (one lookup per send rather than one per field or per vector).
#[derive(Clone, Debug)]
struct DirectedLink {
    spec: LinkSpec,
    /// `spec.latency_us` in ns (saturating), converted once rather than on every send.
    latency_ns: u64,
    /// FIFO: no message arrives before the previous one on this link.
    last_delivery: SimTime,
    /// When the link finishes sending what it has (bandwidth).
    sending_until: SimTime,
    /// Fault state.
    cut: bool,
    /// Added latency (a slow link), in ns.
    extra_ns: u64,
    drop_fraction: f64,
    /// The link's jitter stream (only for links with jitter), keyed by the link's names.
    jitter: Option<RandomStream>,
    /// A message on it waits to be sent: the link has a bandwidth or its sender a limited
    /// interface (one test on every send; the shaping itself is out of line).
    shaped: bool,
}

/// A node's network interface when its speed is limited (`nic_mbps`, or a `SlowNic` fault): a
/// FIFO transmit queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nic {
    /// Megabits per second; `None`: unlimited again (a `SlowNic` fault was lifted), though what
    /// was queued still goes first.
    pub mbps: Option<u64>,
    /// When it finishes sending what it has been given.
    pub free_at: SimTime,
    /// Time it has been given to send, in ns (sending what is queued included).
    pub scheduled_ns: u64,
    /// Bytes it has been given to send (what is queued included).
    pub bytes_given: u64,
    /// The longest a message waited for the messages queued before it, in ns.
    pub wait_max_ns: u64,
    /// Messages not yet sent when last asked, `(start ns, end ns, bytes)`, in order.
    queued: VecDeque<(u64, u64, u64)>,
    /// Bytes of messages sent completely by then.
    bytes_done: u64,
}

impl Nic {
    /// Time spent sending up to `t` (what is still queued at `t` not counted), in ns.
    pub fn busy_ns_until(&self, t: SimTime) -> u64 {
        self.scheduled_ns - self.free_at.0.saturating_sub(t.0).min(self.scheduled_ns)
    }

    /// Bytes sent by `t`, the message being sent then counted in part (`t` never goes back).
    pub fn bytes_sent_until(&mut self, t: SimTime) -> u64 {
        while let Some(&(_, end, bytes)) = self.queued.front() {
            if end > t.0 {
                break;
            }
            self.bytes_done += bytes;
            self.queued.pop_front();
        }
        let partial = match self.queued.front() {
            Some(&(start, end, bytes)) if start < t.0 => {
                (bytes as u128 * (t.0 - start) as u128 / (end - start) as u128) as u64
            }
            _ => 0,
        };
        self.bytes_done + partial
    }
}

/// The links between the simulation's nodes, indexed like the engine's `NodeId`s.
pub struct Network {
    /// The mesh itself; each edge holds its link's spec.
    graph: UnGraph<String, LinkSpec>,
    /// `edge[from * n + to]`: the link between two nodes.
    edge: Vec<EdgeIndex>,
    /// `links[from * n + to]`: the directed link's state (its spec copied from the graph).
    links: Vec<DirectedLink>,
    drop_rng: Vec<Option<RandomStream>>,
    /// Per node, its interface when its speed is limited.
    nics: Vec<Option<Nic>>,
    names: Vec<String>,
    seed: u64,
    n: usize,
}

impl Network {
    /// A full mesh over `names` with the cluster's default link and its per-link overrides.
    pub fn new(names: &[String], cluster: &Cluster, seed: u64) -> Network {
        let n = names.len();
        let mut graph = UnGraph::with_capacity(n, n * n / 2);
        let nodes: Vec<NodeIndex> = names.iter().map(|name| graph.add_node(name.clone())).collect();
        let net = &cluster.network;
        let default =
            LinkSpec { latency_us: net.latency_us, jitter_us: net.jitter_us, bandwidth_mbps: net.bandwidth_mbps };
        let mut edge = vec![EdgeIndex::end(); n * n];
        for a in 0..n {
            for b in a..n {
                let spec = cluster
                    .links
                    .iter()
                    .rev() // the last override of a pair wins
                    .find(|l| {
                        (l.between.0 == names[a] && l.between.1 == names[b])
                            || (l.between.0 == names[b] && l.between.1 == names[a])
                    })
                    .map_or(default, |l| LinkSpec {
                        latency_us: l.latency_us,
                        jitter_us: l.jitter_us,
                        bandwidth_mbps: net.bandwidth_mbps,
                    });
                let e = graph.add_edge(nodes[a], nodes[b], spec);
                edge[a * n + b] = e;
                edge[b * n + a] = e;
            }
        }
        let links = edge
            .iter()
            .enumerate()
            .map(|(i, &e)| DirectedLink {
                spec: graph[e],
                latency_ns: SimDuration::from_us(graph[e].latency_us).as_nanos(),
                last_delivery: SimTime::ZERO,
                sending_until: SimTime::ZERO,
                cut: false,
                extra_ns: 0,
                drop_fraction: 0.0,
                jitter: (graph[e].jitter_us > 0)
                    .then(|| RandomStream::new(seed, &format!("link/{}/{}", names[i / n], names[i % n]))),
                shaped: graph[e].bandwidth_mbps.is_some() || net.nic_mbps.is_some(),
            })
            .collect();
        let nics = (0..n).map(|_| net.nic_mbps.map(|mbps| Nic { mbps: Some(mbps), ..Nic::default() })).collect();
        Network {
            graph,
            edge,
            links,
            drop_rng: (0..n * n).map(|_| None).collect(),
            nics,
            names: names.to_vec(),
            seed,
            n,
        }
    }

    /// Node `node`'s interface, if its speed is limited (or was).
    pub fn nic(&self, node: usize) -> Option<&Nic> {
        self.nics[node].as_ref()
    }

    /// `(time spent sending, bytes sent)` by node `node`'s interface up to `t`, if it has one.
    pub fn nic_sample(&mut self, node: usize, t: SimTime) -> Option<(u64, u64)> {
        self.nics[node].as_mut().map(|nic| (nic.busy_ns_until(t), nic.bytes_sent_until(t)))
    }

    /// Sets node `node`'s interface speed (`None`: unlimited). What it was given earlier keeps
    /// its place and its times.
    pub fn set_nic_speed(&mut self, node: usize, mbps: Option<u64>) {
        match &mut self.nics[node] {
            Some(nic) => nic.mbps = mbps,
            None => self.nics[node] = Some(Nic { mbps, ..Nic::default() }),
        }
        for link in &mut self.links[node * self.n..(node + 1) * self.n] {
            link.shaped = true;
        }
    }

    pub fn nodes(&self) -> usize {
        self.n
    }

    /// Cuts (or restores) the directed link `from → to`.
    pub fn set_cut(&mut self, from: usize, to: usize, cut: bool) {
        self.links[from * self.n + to].cut = cut;
    }

    /// Whether `from → to` is cut.
    pub fn is_cut(&self, from: usize, to: usize) -> bool {
        self.links[from * self.n + to].cut
    }

    /// Adds latency to the directed link `from → to`.
    pub fn set_extra_latency(&mut self, from: usize, to: usize, extra_us: u64) {
        self.links[from * self.n + to].extra_ns = SimDuration::from_us(extra_us).as_nanos();
    }

    /// Drops this fraction of messages on `from → to`.
    pub fn set_drop_fraction(&mut self, from: usize, to: usize, fraction: f64) {
        let i = from * self.n + to;
        self.links[i].drop_fraction = fraction;
        if fraction > 0.0 && self.drop_rng[i].is_none() {
            self.drop_rng[i] =
                Some(RandomStream::new(self.seed, &format!("drop/{}/{}", self.names[from], self.names[to])));
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        for link in &mut self.links {
            (link.cut, link.extra_ns, link.drop_fraction) = (false, 0, 0.0);
        }
    }

    /// When a message of `size_bytes` sent now from `from` reaches `to`, or `None` if the link
    /// drops it. With a limited interface at the sender, the message first waits for it to send
    /// what it was given earlier, then takes `size / speed` to leave; with a link bandwidth, it
    /// then waits for the link likewise. The size is asked for only then (summing a fetch
    /// response's batches costs time on every send otherwise).
    pub fn route(&mut self, from: usize, to: usize, now: SimTime, size_bytes: impl FnOnce() -> u64) -> Option<SimTime> {
        let i = from * self.n + to;
        let link = &mut self.links[i];
        if link.cut {
            return None;
        }
        if link.drop_fraction > 0.0 {
            let p = link.drop_fraction;
            if self.drop_rng[i].as_mut().is_some_and(|r| r.bernoulli(p)) {
                return None;
            }
        }
        let start = if link.shaped { self.shape(from, i, now, size_bytes()) } else { now };
        let link = &mut self.links[i];
        let extra = SimDuration(link.extra_ns);
        Some(link.arrival(start + extra))
    }

    /// When a message of `bytes` given now to `from`'s interface and then to link `i` has left
    /// both (each a FIFO queue sending at its speed).
    #[cold]
    #[inline(never)]
    fn shape(&mut self, from: usize, i: usize, now: SimTime, bytes: u64) -> SimTime {
        // bits / (Mbit/s) = µs; in ns: bytes · 8 · 1000 / mbps
        let send_ns = |mbps: u64| SimDuration(bytes.saturating_mul(8_000) / mbps.max(1));
        let mut start = now;
        if let Some(nic) = &mut self.nics[from] {
            let wait = nic.free_at.0.saturating_sub(now.0);
            let took = nic.mbps.map_or(SimDuration::ZERO, send_ns);
            let begins = now.max(nic.free_at);
            nic.wait_max_ns = nic.wait_max_ns.max(wait);
            nic.free_at = begins + took;
            nic.scheduled_ns += took.as_nanos();
            nic.bytes_given += bytes;
            nic.queued.push_back((begins.0, nic.free_at.0, bytes));
            start = nic.free_at;
        }
        let link = &mut self.links[i];
        if let Some(mbps) = link.spec.bandwidth_mbps {
            start = start.max(link.sending_until) + send_ns(mbps);
            link.sending_until = start;
        }
        start
    }

    /// The link between two nodes.
    pub fn link(&self, from: usize, to: usize) -> LinkSpec {
        self.graph[self.edge[from * self.n + to]]
    }

    /// When a message sent now from `from` reaches `to`.
    pub fn delivery_time(&mut self, from: usize, to: usize, now: SimTime) -> SimTime {
        self.links[from * self.n + to].arrival(now)
    }
}

impl DirectedLink {
    /// When a message this link starts carrying at `now` arrives (latency, jitter, FIFO).
    #[inline]
    fn arrival(&mut self, now: SimTime) -> SimTime {
        // `latency + jitter` in ns: the same saturating sum as converting the µs sum at once.
        let jitter = match &mut self.jitter {
            Some(rng) => SimDuration::from_us(rng.below(self.spec.jitter_us + 1)),
            None => SimDuration::ZERO,
        };
        let at = (now + (SimDuration(self.latency_ns) + jitter)).max(self.last_delivery);
        self.last_delivery = at;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Link, LinkOverride};

    /// A network over `names` with `cluster(jitter_us)`'s links, changed by `tune`.
    fn network(names: &[&str], jitter_us: u64, tune: impl FnOnce(&mut Cluster)) -> Network {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut c = cluster(jitter_us);
        tune(&mut c);
        Network::new(&names, &c, 1)
    }

    fn cluster(jitter_us: u64) -> Cluster {
        Cluster {
            brokers: 2,
            network: Link { latency_us: 100, jitter_us, bandwidth_mbps: None, nic_mbps: None },
            links: vec![LinkOverride { between: ("a".into(), "c".into()), latency_us: 7, jitter_us: 0 }],
            ..Default::default()
        }
    }

    #[test]
    fn overrides_apply_in_both_directions() {
        let net = network(&["a", "b", "c"], 0, |_| {});
        assert_eq!(net.link(0, 2).latency_us, 7);
        assert_eq!(net.link(2, 0).latency_us, 7);
        assert_eq!(net.link(0, 1).latency_us, 100);
    }

    #[test]
    fn cut_links_drop_and_healed_links_deliver() {
        let mut net = network(&["a", "b"], 0, |_| {});
        net.set_cut(0, 1, true);
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 100), None);
        assert!(net.route(1, 0, SimTime::ZERO, || 100).is_some(), "a one-way cut");
        net.heal();
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 100), Some(SimTime(100_000)));
    }

    #[test]
    fn bandwidth_queues_messages_behind_each_other() {
        let mut net = network(&["a", "b"], 0, |c| {
            c.network.bandwidth_mbps = Some(8); // 1 byte per µs
        });
        // 1000 bytes take 1 ms to send, then 100 µs of latency.
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 1000), Some(SimTime(1_100_000)));
        // The next one waits for the first to be sent.
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 1000), Some(SimTime(2_100_000)));
        // The other direction is its own link.
        assert_eq!(net.route(1, 0, SimTime::ZERO, || 1000), Some(SimTime(1_100_000)));
    }

    #[test]
    fn a_nic_sends_one_message_at_a_time_whatever_the_destination() {
        let mut net = network(&["a", "b", "c"], 0, |c| {
            c.network.nic_mbps = Some(8); // 1 byte per µs
        });
        // 1000 bytes to b leave a's interface after 1 ms, then 100 µs of latency.
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 1000), Some(SimTime(1_100_000)));
        // 10 bytes to another node wait behind them: they leave at 1.01 ms (a and c are 7 µs apart).
        assert_eq!(net.route(0, 2, SimTime::ZERO, || 10), Some(SimTime(1_017_000)));
        // b's interface is its own.
        assert_eq!(net.route(1, 0, SimTime::ZERO, || 1000), Some(SimTime(1_100_000)));
        let nic = net.nic(0).unwrap();
        assert_eq!((nic.bytes_given, nic.wait_max_ns, nic.free_at), (1010, 1_000_000, SimTime(1_010_000)));
        // Half a millisecond in, it has sent for half a millisecond (half the first message);
        // after, for all it was given.
        assert_eq!(net.nic_sample(0, SimTime(500_000)), Some((500_000, 500)));
        assert_eq!(net.nic_sample(0, SimTime(1_005_000)), Some((1_005_000, 1005)));
        assert_eq!(net.nic_sample(0, SimTime(2_000_000)), Some((1_010_000, 1010)));
        // Idle, then a message: the idle time is not busy time.
        assert_eq!(net.route(0, 1, SimTime(3_000_000), || 1000), Some(SimTime(4_100_000)));
        assert_eq!(net.nic_sample(0, SimTime(3_500_000)), Some((1_510_000, 1510)));
        assert_eq!(net.nic_sample(1, SimTime(3_500_000)), Some((1_000_000, 1000)));
    }

    #[test]
    fn a_slowed_interface_delays_what_follows_until_restored() {
        let mut net = network(&["a", "b"], 0, |_| {});
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 1000), Some(SimTime(100_000)), "unlimited");
        net.set_nic_speed(0, Some(8)); // 1 byte per µs
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 1000), Some(SimTime(1_100_000)));
        assert_eq!(net.route(1, 0, SimTime::ZERO, || 1000), Some(SimTime(100_000)), "b is not slowed");
        // Restored: a message still waits for what was queued, then goes at once.
        net.set_nic_speed(0, None);
        assert_eq!(net.route(0, 1, SimTime(500_000), || 1000), Some(SimTime(1_100_000)));
        assert_eq!(net.route(0, 1, SimTime(2_000_000), || 1000), Some(SimTime(2_100_000)));
        assert_eq!(net.nic_sample(0, SimTime(3_000_000)), Some((1_000_000, 3000)), "three messages since the fault");
    }

    #[test]
    fn a_nic_and_a_link_bandwidth_both_apply() {
        let mut net = network(&["a", "b"], 0, |c| {
            c.network.nic_mbps = Some(16); // 2 bytes per µs
            c.network.bandwidth_mbps = Some(8); // 1 byte per µs
        });
        // 0.5 ms through the interface, then 1 ms on the link, then the latency.
        assert_eq!(net.route(0, 1, SimTime::ZERO, || 1000), Some(SimTime(1_600_000)));
    }

    #[test]
    fn jittered_links_stay_fifo() {
        let mut net = network(&["a", "b"], 1_000, |_| {});
        let mut last = SimTime::ZERO;
        for i in 0..1000 {
            let at = net.delivery_time(0, 1, SimTime(i * 10));
            assert!(at >= last, "message {i} overtook an earlier one");
            assert!(at >= SimTime(i * 10 + 100_000));
            last = at;
        }
    }
}
