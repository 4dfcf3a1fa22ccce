//! The network: nodes joined by links with latency and jitter, built on a petgraph graph.
//!
//! Every pair of nodes is joined by a link (a full mesh, as clients and brokers all talk to each
//! other over TCP). A message takes the link's latency plus a uniform jitter draw from the link's
//! own random stream, and links are FIFO: a message never overtakes an earlier one on the same
//! directed link, as on one TCP connection.
//!
//! Simplified: no bandwidth, loss or cuts yet (they come with network faults); routing is direct.

use petgraph::graph::{EdgeIndex, NodeIndex, UnGraph};

use crate::scenario::Cluster;
use crate::sim::{RandomStream, SimDuration, SimTime};

/// Latency of one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkSpec {
    pub latency_us: u64,
    pub jitter_us: u64,
}

/// The links between the simulation's nodes, indexed like the engine's `NodeId`s.
pub struct Network {
    graph: UnGraph<String, LinkSpec>,
    /// `edge[from * n + to]`: the link between two nodes.
    edge: Vec<EdgeIndex>,
    /// `last_delivery[from * n + to]`: FIFO per directed link.
    last_delivery: Vec<SimTime>,
    /// Jitter streams per directed link (only for links with jitter), keyed by the link's names.
    jitter: Vec<Option<RandomStream>>,
    n: usize,
}

impl Network {
    /// A full mesh over `names` with the cluster's default link and its per-link overrides.
    pub fn new(names: &[String], cluster: &Cluster, seed: u64) -> Network {
        let n = names.len();
        let mut graph = UnGraph::with_capacity(n, n * n / 2);
        let nodes: Vec<NodeIndex> = names.iter().map(|name| graph.add_node(name.clone())).collect();
        let default = LinkSpec {
            latency_us: cluster.network.latency_us,
            jitter_us: cluster.network.jitter_us,
        };
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
                    });
                let e = graph.add_edge(nodes[a], nodes[b], spec);
                edge[a * n + b] = e;
                edge[b * n + a] = e;
            }
        }
        let jitter = (0..n * n)
            .map(|i| {
                let (a, b) = (i / n, i % n);
                (graph[edge[i]].jitter_us > 0)
                    .then(|| RandomStream::new(seed, &format!("link/{}/{}", names[a], names[b])))
            })
            .collect();
        Network {
            graph,
            edge,
            last_delivery: vec![SimTime::ZERO; n * n],
            jitter,
            n,
        }
    }

    /// The link between two nodes.
    pub fn link(&self, from: usize, to: usize) -> LinkSpec {
        self.graph[self.edge[from * self.n + to]]
    }

    /// When a message sent now from `from` reaches `to`.
    pub fn delivery_time(&mut self, from: usize, to: usize, now: SimTime) -> SimTime {
        let i = from * self.n + to;
        let spec = self.graph[self.edge[i]];
        let jitter_us = match &mut self.jitter[i] {
            Some(rng) => rng.below(spec.jitter_us + 1),
            None => 0,
        };
        let at = (now + SimDuration::from_us(spec.latency_us + jitter_us)).max(self.last_delivery[i]);
        self.last_delivery[i] = at;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Link, LinkOverride};

    fn cluster(jitter_us: u64) -> Cluster {
        Cluster {
            brokers: 2,
            network: Link {
                latency_us: 100,
                jitter_us,
            },
            links: vec![LinkOverride {
                between: ("a".into(), "c".into()),
                latency_us: 7,
                jitter_us: 0,
            }],
        }
    }

    #[test]
    fn overrides_apply_in_both_directions() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let net = Network::new(&names, &cluster(0), 1);
        assert_eq!(net.link(0, 2).latency_us, 7);
        assert_eq!(net.link(2, 0).latency_us, 7);
        assert_eq!(net.link(0, 1).latency_us, 100);
    }

    #[test]
    fn jittered_links_stay_fifo() {
        let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let mut net = Network::new(&names, &cluster(1_000), 1);
        let mut last = SimTime::ZERO;
        for i in 0..1000 {
            let at = net.delivery_time(0, 1, SimTime(i * 10));
            assert!(at >= last, "message {i} overtook an earlier one");
            assert!(at >= SimTime(i * 10 + 100_000));
            last = at;
        }
    }
}
