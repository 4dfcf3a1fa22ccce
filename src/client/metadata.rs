//! A client's metadata requests (Kafka's `Metadata` + `NetworkClient.maybeUpdate`, reduced): at
//! most one outstanding at a time, sent to one broker, and moved on to the next broker when it
//! goes unanswered (the broker may be down or cut off). What the answer means for leaders is each
//! client's business (a producer tracks its topic, a consumer its assignment).

use crate::cluster::Metadata;
use crate::protocol::Message;
use crate::sim::{Ctx, SimDuration, SimTime};

/// The outstanding metadata request of one client.
#[derive(Debug)]
pub struct MetadataRequests {
    pending: Option<(u64, SimTime)>,
    broker: u32,
    brokers: u32,
}

impl MetadataRequests {
    /// Starts by asking `first_broker` (of `brokers`).
    pub fn new(first_broker: u32, brokers: u32) -> MetadataRequests {
        MetadataRequests { pending: None, broker: first_broker % brokers.max(1), brokers: brokers.max(1) }
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

    /// Whether a response answers the outstanding request (which it then closes).
    pub fn answered(&mut self, request_id: u64) -> bool {
        if self.pending.map(|p| p.0) == Some(request_id) {
            self.pending = None;
            true
        } else {
            false
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
