//! A client's metadata requests (Kafka's `Metadata` + `NetworkClient.maybeUpdate`, reduced): at
//! most one outstanding at a time, sent to one broker, and moved on to the next broker when it
//! goes unanswered (the broker may be down or cut off). What the answer means for leaders is each
//! client's business (a producer tracks its topic, a consumer its assignment). Every
//! `metadata.max.age.ms` a client asks again even when nothing failed: that is how it learns of
//! partitions added to its topics.

use crate::cluster::Metadata;
use crate::protocol::Message;
use crate::sim::{Ctx, SimDuration, SimTime, Timer};

/// The outstanding metadata request of one client.
#[derive(Debug)]
pub struct MetadataRequests {
    pending: Option<(u64, SimTime)>,
    broker: u32,
    brokers: u32,
    /// When the last answer came: `metadata.max.age.ms` counts from it.
    refreshed: SimTime,
}

impl MetadataRequests {
    /// Starts by asking `first_broker` (of `brokers`).
    pub fn new(first_broker: u32, brokers: u32) -> MetadataRequests {
        MetadataRequests {
            pending: None,
            broker: first_broker % brokers.max(1),
            brokers: brokers.max(1),
            refreshed: SimTime::ZERO,
        }
    }

    /// Asks for metadata unless a request is already outstanding. Request ids come from the
    /// client's own counter, shared with its other requests.
    pub fn send(&mut self, next_request_id: &mut u64, ctx: &mut Ctx) {
        if self.pending.is_some() {
            return;
        }
        let request_id = *next_request_id;
        *next_request_id += 1;
        self.pending = Some((request_id, ctx.now()));
        ctx.send(Metadata::broker_node(self.broker), Message::MetadataRequest { request_id });
    }

    /// Whether a response answers the outstanding request (which it then closes; the metadata
    /// is fresh as of `now`).
    pub fn answered(&mut self, request_id: u64, now: SimTime) -> bool {
        if self.pending.map(|p| p.0) == Some(request_id) {
            self.pending = None;
            self.refreshed = now;
            true
        } else {
            false
        }
    }

    /// The client starts with fresh metadata: its first `MetadataMaxAge` timer is set
    /// `max_age_ms` from now (none past `end`, when the run is over).
    pub fn start_max_age(&mut self, max_age_ms: u64, end: SimTime, ctx: &mut Ctx) {
        self.refreshed = ctx.now();
        Self::arm_max_age(ctx.now(), max_age_ms, end, ctx);
    }

    /// The `MetadataMaxAge` timer fired (`Metadata.timeToNextUpdate`): when the last answer is
    /// `max_age_ms` old it asks again, and the timer is set for the next time one is due.
    pub fn on_max_age(&mut self, max_age_ms: u64, end: SimTime, next_request_id: &mut u64, ctx: &mut Ctx) {
        let due = self.refreshed + SimDuration::from_ms(max_age_ms);
        if ctx.now() >= due {
            self.send(next_request_id, ctx);
            Self::arm_max_age(ctx.now(), max_age_ms, end, ctx);
        } else {
            Self::arm_max_age(self.refreshed, max_age_ms, end, ctx);
        }
    }

    fn arm_max_age(from: SimTime, max_age_ms: u64, end: SimTime, ctx: &mut Ctx) {
        let at = from + SimDuration::from_ms(max_age_ms.max(1));
        if at < end {
            ctx.set_timer_at(at.max(ctx.now()), Timer::MetadataMaxAge);
        }
    }

    /// The outstanding request's connection closed: move to the next broker; says whether it was
    /// the outstanding one (the caller then asks again).
    pub fn disconnected(&mut self, request_id: u64) -> bool {
        if self.pending.map(|p| p.0) == Some(request_id) {
            self.pending = None;
            self.broker = (self.broker + 1) % self.brokers;
            true
        } else {
            false
        }
    }

    /// Gives up on a request unanswered for `timeout` and moves to the next broker; says whether
    /// it did (the caller then asks again).
    pub fn expire(&mut self, now: SimTime, timeout: SimDuration) -> bool {
        if self.pending.is_some_and(|(_, sent)| now.since(sent) >= timeout) {
            self.pending = None;
            self.broker = (self.broker + 1) % self.brokers;
            true
        } else {
            false
        }
    }
}
