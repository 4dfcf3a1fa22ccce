//! The KRaft controller quorum (KIP-595, `KafkaRaftClient`, `QuorumState`): several controllers
//! hold the cluster metadata; one, elected, is the *active* controller, and a change takes effect
//! (brokers see it, requests are answered) once a majority of them has it (it is *committed*).
//!
//! - Roles by epoch, as Raft's: a follower that has heard nothing from the leader for
//!   `controller.quorum.fetch.timeout.ms` first asks the others whether they would vote for it
//!   (a *pre-vote*, KIP-996: no epoch changes, and a voter that heard from its leader within the
//!   fetch timeout refuses), and with a majority stands as the candidate of the next epoch, votes
//!   for itself and asks for real votes. A voter grants one vote per epoch, to a candidate whose
//!   log is at least as up to date as its own (last epoch, then length). A nominee without a
//!   majority after a random `election.timeout.ms` to twice that, or refused by too many, backs
//!   off (`binaryExponentialElectionBackoffMs`: 50 ms × a random number below 2^retries, at most
//!   `election.backoff.max.ms`) and asks again. Anyone who sees a higher epoch steps down to it.
//! - The new leader commits an entry of its own epoch first (the `LeaderChange` record) and only
//!   then acts: it tells every broker (which, in Kafka, learn the new leader from the metadata
//!   log they fetch) and starts counting broker sessions afresh (`ClusterControlManager.activate`
//!   registers every broker with the heartbeat manager, touched now).
//! - A leader that has heard from no majority for 1.5 × the fetch timeout resigns (check quorum).
//! - A controller that is not the active one answers a broker with `NOT_CONTROLLER` and the
//!   leader it knows; a broker whose heartbeat got no answer asks the next controller.
//!
//! Simplified: the leader pushes each new metadata version, the whole image, to the followers
//! (Kafka's followers long-poll `Fetch` the log's records; an idle leader here sends an empty
//! append every 500 ms, as an idle fetch returns); no snapshots, disks or
//! `append.linger.ms` (a version is on a controller as soon as it arrives); after losing an
//! election a candidate goes back to pre-voting; separate controller
//! nodes (no combined mode); the voter set is fixed (no KIP-853 reconfiguration).

use super::{Controller, MetadataImage};
use crate::protocol::Message;
use crate::scenario::ControllerSettings;
use crate::sim::{Ctx, NodeId, RandomStream, SimDuration, SimTime, Timer};

/// The quorum's timing (`QuorumConfig`).
const RETRY_BACKOFF_BASE_MS: u64 = 50;
/// How often an idle leader appends nothing (an idle `Fetch` returning after its max wait).
const IDLE_APPEND_MS: u64 = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Knows the leader of its epoch (or, `None`, does not yet: *unattached* or *voted*).
    Follower {
        leader: Option<u32>,
    },
    /// Asks for votes: first whether it could win (`pre_vote`, KIP-996's *prospective* state,
    /// which changes no one's epoch), then for real as a *candidate* of a new epoch.
    Nominee {
        pre_vote: bool,
        granted: Vec<u32>,
        refused: Vec<u32>,
        backing_off: bool,
        retries: u32,
    },
    Leader,
}

/// One controller's place in the quorum.
#[derive(Debug)]
pub struct Quorum {
    /// This controller's voter id (0..voters).
    pub me: u32,
    pub voters: u32,
    /// The node id of voter 0.
    first_node: u32,
    pub epoch: u32,
    voted_for: Option<u32>,
    pub role: Role,
    /// The epoch of the leader whose image this controller holds (Raft's last log term).
    pub last_epoch: u32,
    /// The newest metadata version known committed.
    pub committed: u64,
    /// Leader: per voter, the newest version it holds of this leader's log (0: unknown).
    acked: Vec<u64>,
    /// Leader: when each voter last answered.
    heard_at: Vec<SimTime>,
    /// Leader: the version of its `LeaderChange` record; nothing commits before it does.
    epoch_start: u64,
    /// Leader: whether it has committed its epoch's first version and acts as the controller.
    pub active: bool,
    /// When it last heard from the leader it follows (a pre-vote is refused within the fetch
    /// timeout of it).
    leader_heard_at: SimTime,
    /// Only the newest timer counts.
    generation: u32,
    rng: RandomStream,
    fetch_timeout_ms: u64,
    election_timeout_ms: u64,
    backoff_max_ms: u64,
    /// When this controller was the active one, for the summary: `(from, epoch, until)`.
    pub active_periods: Vec<(SimTime, u32, Option<SimTime>)>,
}

impl Quorum {
    pub fn new(me: u32, first_node: u32, settings: &ControllerSettings, seed: u64) -> Quorum {
        let voters = settings.quorum_voters;
        Quorum {
            me,
            voters,
            first_node,
            epoch: 1,
            // Voter 0 leads epoch 1 from the start, as if elected at boot.
            voted_for: Some(0),
            role: if me == 0 { Role::Leader } else { Role::Follower { leader: Some(0) } },
            last_epoch: 1,
            committed: 1,
            acked: vec![1; voters as usize],
            heard_at: vec![SimTime::ZERO; voters as usize],
            epoch_start: 1,
            active: me == 0,
            leader_heard_at: SimTime::ZERO,
            generation: 0,
            rng: RandomStream::new(seed, &format!("controller-{me}/quorum")),
            fetch_timeout_ms: settings.quorum_fetch_timeout_ms,
            election_timeout_ms: settings.quorum_election_timeout_ms,
            backoff_max_ms: settings.quorum_election_backoff_max_ms,
            active_periods: if me == 0 { vec![(SimTime::ZERO, 1, None)] } else { Vec::new() },
        }
    }

    /// This controller stops being the active one (it lost leadership, or crashed).
    pub fn close_active_period(&mut self, now: SimTime) {
        self.active = false;
        if let Some(p) = self.active_periods.last_mut().filter(|p| p.2.is_none()) {
            p.2 = Some(now);
        }
    }

    pub fn node(&self, voter: u32) -> NodeId {
        NodeId(self.first_node + voter)
    }

    fn voter_of(&self, node: NodeId) -> Option<u32> {
        node.0.checked_sub(self.first_node).filter(|&v| v < self.voters)
    }

    fn majority(&self) -> usize {
        self.voters as usize / 2 + 1
    }

    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// The leader's node as this controller knows it.
    pub fn leader_node(&self) -> Option<NodeId> {
        match self.role {
            Role::Leader => Some(self.node(self.me)),
            Role::Follower { leader } => leader.map(|l| self.node(l)),
            Role::Nominee { .. } => None,
        }
    }

    fn arm(&mut self, after_ms: u64, ctx: &mut Ctx) {
        self.generation += 1;
        ctx.set_timer(SimDuration::from_ms(after_ms), Timer::Quorum { generation: self.generation });
    }

    /// `randomElectionTimeoutMs`: the election timeout plus a random part below it.
    fn random_election_timeout_ms(&mut self) -> u64 {
        self.election_timeout_ms + self.rng.below(self.election_timeout_ms)
    }

    /// `binaryExponentialElectionBackoffMs`.
    fn election_backoff_ms(&mut self, retries: u32) -> u64 {
        let bound = 2u64 << (retries.max(1) - 1).min(20);
        (RETRY_BACKOFF_BASE_MS * self.rng.below(bound)).min(self.backoff_max_ms)
    }
}

impl Controller {
    /// Starts the quorum's timers (the leader's idle appends, the followers' fetch timeouts).
    pub(super) fn quorum_start(&mut self, ctx: &mut Ctx) {
        let Some(q) = self.quorum.as_mut() else { return };
        q.heard_at.fill(ctx.now());
        let after = if q.is_leader() { IDLE_APPEND_MS } else { q.fetch_timeout_ms };
        q.arm(after, ctx);
    }

    /// A controller back from a crash: it has its log (on disk), and follows no one yet.
    pub fn quorum_restart(&mut self, ctx: &mut Ctx) {
        self.outbox.clear();
        self.staged.clear();
        let Some(q) = self.quorum.as_mut() else { return };
        q.role = Role::Follower { leader: None };
        q.close_active_period(ctx.now());
        let after = q.random_election_timeout_ms();
        q.arm(after, ctx);
        self.truncate_uncommitted();
    }

    pub(super) fn on_quorum_timer(&mut self, generation: u32, ctx: &mut Ctx) {
        let Some(q) = self.quorum.as_mut() else { return };
        if generation != q.generation {
            return;
        }
        let now = ctx.now();
        match q.role.clone() {
            Role::Leader => {
                // Check quorum (`LeaderState.checkQuorumTimer`): resign without a majority.
                let window_ms = q.fetch_timeout_ms * 3 / 2;
                let window = SimDuration::from_ms(window_ms);
                let me = q.me as usize;
                let heard =
                    q.heard_at.iter().enumerate().filter(|&(v, &at)| v == me || now.since(at) <= window).count();
                if heard < q.majority() {
                    // It could commit nothing since it last heard from a majority: it was active
                    // until then.
                    let mut heard_at = q.heard_at.clone();
                    heard_at[me] = now;
                    heard_at.sort_unstable_by(|a, b| b.cmp(a));
                    q.close_active_period(heard_at[q.majority() - 1]);
                    let epoch = q.epoch;
                    ctx.notable("controller_resigned", || {
                        format!("epoch {epoch}: heard from no majority of the quorum for {window_ms} ms")
                    });
                    self.step_down(epoch, None, ctx);
                    return;
                }
                q.arm(IDLE_APPEND_MS, ctx);
                self.replicate(false, ctx);
            }
            Role::Nominee { backing_off: false, retries, .. } => {
                // No majority in time: back off, then ask again.
                if let Role::Nominee { backing_off, .. } = &mut q.role {
                    *backing_off = true;
                }
                let after = q.election_backoff_ms(retries);
                q.arm(after, ctx);
            }
            Role::Nominee { backing_off: true, retries, .. } => self.nominate(true, retries + 1, ctx),
            Role::Follower { .. } => self.nominate(true, 1, ctx),
        }
    }

    /// Asks the other voters for their votes for the next epoch: a pre-vote first (KIP-996: the
    /// epoch stays, and voters that still hear from a leader refuse), then, with a majority, as
    /// the candidate of that epoch (voting for itself).
    fn nominate(&mut self, pre_vote: bool, retries: u32, ctx: &mut Ctx) {
        let version = self.version;
        let Some(q) = self.quorum.as_mut() else { return };
        if !pre_vote {
            q.epoch += 1;
            q.voted_for = Some(q.me);
        }
        q.close_active_period(ctx.now());
        q.role = Role::Nominee { pre_vote, granted: vec![q.me], refused: Vec::new(), backing_off: false, retries };
        let epoch = q.epoch + pre_vote as u32;
        let (last_epoch, fetch_timeout_ms) = (q.last_epoch, q.fetch_timeout_ms);
        let log = format!("log: epoch {last_epoch}, version {version}");
        match (pre_vote, retries) {
            (true, 1) => ctx.notable("controller_prevote", || {
                format!(
                    "epoch {epoch}: no leader heard from in {fetch_timeout_ms} ms, asking whether it could win ({log})"
                )
            }),
            (true, n) => {
                ctx.notable("controller_prevote", || format!("epoch {epoch}: asking again (attempt {n}; {log})"))
            }
            (false, _) => ctx.notable("controller_candidate", || {
                format!("epoch {epoch}: a majority would vote for it, standing for election ({log})")
            }),
        }
        for v in (0..q.voters).filter(|&v| v != q.me) {
            ctx.send(q.node(v), Message::QuorumVote { epoch, last_epoch, version, pre_vote });
        }
        let after = q.random_election_timeout_ms();
        q.arm(after, ctx);
        self.count_votes(ctx);
    }

    /// Moves to a newer epoch (or, `epoch` the same, loses leadership) and follows `leader`.
    fn step_down(&mut self, epoch: u32, leader: Option<u32>, ctx: &mut Ctx) {
        let Some(q) = self.quorum.as_mut() else { return };
        if epoch > q.epoch {
            q.epoch = epoch;
            q.voted_for = None;
        }
        let was_leader = q.is_leader();
        if leader.is_some() && q.role != (Role::Follower { leader }) {
            let (epoch, node) = (q.epoch, leader.unwrap_or_default());
            ctx.notable("controller_follower", || format!("epoch {epoch}: following controller-{node}"));
        }
        q.role = Role::Follower { leader };
        q.close_active_period(ctx.now());
        let after = match leader {
            Some(_) => q.fetch_timeout_ms,
            None => q.random_election_timeout_ms(),
        };
        q.arm(after, ctx);
        if was_leader {
            // What it wrote but could not commit never happened (`QuorumController.renounce`).
            self.outbox.clear();
            self.staged.clear();
            self.truncate_uncommitted();
        }
    }

    pub(super) fn on_quorum_message(&mut self, from: NodeId, msg: Message, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(q) = self.quorum.as_mut() else { return };
        let Some(sender) = q.voter_of(from) else { return };
        match msg {
            Message::QuorumAppend { epoch, version, version_epoch, committed, image } => {
                if epoch < q.epoch {
                    let answer = Message::QuorumAppendResponse { epoch: q.epoch, version: 0, current: false };
                    ctx.send(from, answer);
                    return;
                }
                if epoch > q.epoch || q.leader_node() != Some(from) {
                    self.step_down(epoch, Some(sender), ctx);
                }
                let q = self.quorum.as_mut().expect("a quorum");
                q.leader_heard_at = now;
                q.arm(q.fetch_timeout_ms, ctx);
                if let Some(image) = image {
                    self.apply_image(*image);
                    self.quorum.as_mut().expect("a quorum").last_epoch = version_epoch;
                }
                let q = self.quorum.as_mut().expect("a quorum");
                let current = q.last_epoch == version_epoch && self.version == version;
                if current {
                    q.committed = q.committed.max(committed);
                }
                ctx.send(from, Message::QuorumAppendResponse { epoch: q.epoch, version: self.version, current });
            }
            Message::QuorumAppendResponse { epoch, version, current } => {
                if epoch > q.epoch {
                    self.step_down(epoch, None, ctx);
                    return;
                }
                if !q.is_leader() || epoch < q.epoch {
                    return;
                }
                q.heard_at[sender as usize] = now;
                q.acked[sender as usize] = if current { version } else { 0 };
                if !current {
                    // It lacks this leader's log: send the whole image now.
                    let msg = self.append_to(sender, true);
                    ctx.send(from, msg);
                }
                self.advance_commit(ctx);
            }
            Message::QuorumVote { epoch, last_epoch, version, pre_vote } => {
                // A pre-vote changes nothing here; a vote of a newer epoch moves this voter to it.
                if epoch > q.epoch && !pre_vote {
                    self.step_down(epoch, None, ctx);
                }
                let my_version = self.version;
                let q = self.quorum.as_mut().expect("a quorum");
                let up_to_date = (last_epoch, version) >= (q.last_epoch, my_version);
                let granted = match pre_vote {
                    // `canGrantVote` with `isPreVote`: a voter that heard from its leader within
                    // the fetch timeout, or is the leader, refuses.
                    true => {
                        let leader_silent = match q.role {
                            Role::Leader => false,
                            Role::Follower { leader: Some(_) } => {
                                now.since(q.leader_heard_at) >= SimDuration::from_ms(q.fetch_timeout_ms)
                            }
                            _ => true,
                        };
                        epoch > q.epoch && leader_silent && up_to_date
                    }
                    false => {
                        epoch == q.epoch && !q.is_leader() && q.voted_for.is_none_or(|v| v == sender) && up_to_date
                    }
                };
                if granted && !pre_vote {
                    q.voted_for = Some(sender);
                    let after = q.random_election_timeout_ms();
                    q.arm(after, ctx);
                }
                let my_epoch = q.epoch;
                ctx.detail("controller_vote", || {
                    let what = if pre_vote { "pre-vote" } else { "vote" };
                    format!(
                        "{what} for epoch {epoch} from controller-{sender}: {}",
                        if granted { "granted" } else { "refused" }
                    )
                });
                ctx.send(from, Message::QuorumVoteResponse { epoch: my_epoch, granted, pre_vote });
            }
            Message::QuorumVoteResponse { epoch, granted, pre_vote } => {
                if epoch > q.epoch && !(pre_vote && granted) {
                    self.step_down(epoch, None, ctx);
                    return;
                }
                let expected = q.epoch + pre_vote as u32;
                let Role::Nominee { pre_vote: asking, granted: yes, refused: no, .. } = &mut q.role else { return };
                if *asking != pre_vote || (pre_vote && epoch >= expected) || (!pre_vote && epoch != expected) {
                    return;
                }
                let votes = if granted { yes } else { no };
                if !votes.contains(&sender) {
                    votes.push(sender);
                }
                self.count_votes(ctx);
            }
            _ => {}
        }
    }

    /// A nominee with a majority of votes moves on: from the pre-vote to the election, from the
    /// election to leadership, where it appends its `LeaderChange` record (a new version) and
    /// sends it to every voter. One that can no longer reach a majority backs off at once.
    fn count_votes(&mut self, ctx: &mut Ctx) {
        let Some(q) = self.quorum.as_mut() else { return };
        let majority = q.majority();
        let voters = q.voters as usize;
        let Role::Nominee { pre_vote, granted, refused, backing_off, retries } = &mut q.role else { return };
        if granted.len() < majority {
            if !*backing_off && voters - refused.len() < majority {
                *backing_off = true;
                let retries = *retries;
                let after = q.election_backoff_ms(retries);
                q.arm(after, ctx);
            }
            return;
        }
        if *pre_vote {
            let retries = *retries;
            self.nominate(false, retries, ctx);
            return;
        }
        q.role = Role::Leader;
        q.last_epoch = q.epoch;
        q.acked.fill(0);
        q.heard_at.fill(ctx.now());
        let epoch = q.epoch;
        ctx.notable("controller_elected", || format!("epoch {epoch}: elected by a majority of the quorum"));
        q.arm(IDLE_APPEND_MS, ctx);
        self.version += 1;
        let q = self.quorum.as_mut().expect("a quorum");
        q.epoch_start = self.version;
        q.acked[q.me as usize] = self.version;
        self.mark_version();
        self.replicate(true, ctx);
        self.advance_commit(ctx);
    }

    /// The append for voter `v`: the whole image if it may lack this leader's newest version.
    fn append_to(&self, v: u32, force_image: bool) -> Message {
        let q = self.quorum.as_ref().expect("a quorum");
        let image = (force_image || q.acked[v as usize] < self.version).then(|| Box::new(self.image()));
        Message::QuorumAppend {
            epoch: q.epoch,
            version: self.version,
            version_epoch: q.last_epoch,
            committed: q.committed,
            image,
        }
    }

    /// Sends the newest version to the followers (`changed`: to every one, with the image).
    pub(super) fn replicate(&mut self, changed: bool, ctx: &mut Ctx) {
        let Some(q) = self.quorum.as_ref() else { return };
        for v in (0..q.voters).filter(|&v| v != q.me) {
            let msg = self.append_to(v, changed);
            ctx.send(q.node(v), msg);
        }
    }

    /// The leader's commit: the newest version a majority holds, once its epoch's first version
    /// is among them. Releases what waited for it, and activates a new leader.
    fn advance_commit(&mut self, ctx: &mut Ctx) {
        let Some(q) = self.quorum.as_mut() else { return };
        if !q.is_leader() {
            return;
        }
        let mut acked = q.acked.clone();
        acked[q.me as usize] = self.version;
        acked.sort_unstable_by(|a, b| b.cmp(a));
        let majority_holds = acked[q.majority() - 1];
        if majority_holds < q.epoch_start || majority_holds <= q.committed {
            return;
        }
        q.committed = majority_holds;
        let activate = !q.active;
        q.active = true;
        let epoch = q.epoch;
        if activate {
            q.active_periods.push((ctx.now(), epoch, None));
            self.activate(epoch, ctx);
        }
        self.commit_marks();
        self.release_outbox(ctx);
    }

    /// The new active controller takes over (`QuorumController` claims leadership once its
    /// epoch's first record is committed): broker sessions count from now, every broker learns
    /// the new leader with the whole metadata state.
    fn activate(&mut self, epoch: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        for r in &mut self.brokers {
            r.last_heartbeat = now;
        }
        let version = self.version;
        ctx.notable("controller_active", || {
            format!("epoch {epoch}: active controller from metadata version {version}")
        });
        let fenced_brokers = self.fenced_brokers();
        for b in 0..self.metadata.brokers {
            let msg = Message::ControllerChange {
                epoch,
                metadata_version: version,
                states: self.states.clone(),
                fenced_brokers: fenced_brokers.clone(),
            };
            ctx.send(super::Metadata::broker_node(b), msg);
        }
    }

    /// Sends what waited for its version to commit.
    fn release_outbox(&mut self, ctx: &mut Ctx) {
        let committed = self.quorum.as_ref().map_or(u64::MAX, |q| q.committed);
        let ready = self.outbox.iter().take_while(|(v, _, _)| *v <= committed).count();
        for (_, to, msg) in self.outbox.drain(..ready) {
            ctx.send(to, msg);
        }
    }

    /// How a controller that is not the active one answers a broker: `NOT_CONTROLLER`, with the
    /// leader it knows.
    pub(super) fn not_controller(&self, from: NodeId, ctx: &mut Ctx) {
        let q = self.quorum.as_ref().expect("a quorum");
        ctx.send(from, Message::NotController { epoch: q.epoch, leader: q.leader_node().filter(|_| !q.is_leader()) });
    }

    /// Replaces this controller's replicated state by the leader's.
    fn apply_image(&mut self, image: MetadataImage) {
        self.version = image.version;
        self.states = image.states;
        self.brokers = image.brokers;
        self.eligibility = image.eligibility;
        self.reassigning = image.reassigning;
        self.offline_since = image.offline_since;
    }
}
