//! Messages in flight: a slab the engine keeps them in between `send` and delivery.
//!
//! Not a Kafka concept; an engine detail. A delivery event carries only a slot number, so queue
//! entries stay small, and a message needs no heap allocation of its own: slots freed by
//! deliveries are reused by the next sends (a `Box` per message cost a `malloc` and a `free` per
//! message, about a twentieth of the whole run). Which slot a message gets depends only on the
//! order of sends and deliveries, so it is as deterministic as everything else, and it never
//! reaches an output. A free slot holds a placeholder that owns nothing rather than `None`: a send
//! overwrites it without the check a drop makes, and a delivery takes its message out without
//! unwrapping an `Option` (about half a percent of the run, as every message goes through here).

use crate::protocol::Message;

/// Where a message in flight waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot(u32);

/// What a free slot holds: a message that owns nothing, so overwriting it needs no drop.
const VACANT: Message = Message::Disconnected { request_id: u64::MAX };

/// Whether a slot holds [`VACANT`] (for debug assertions: no request has that id).
fn vacant(msg: &Message) -> bool {
    matches!(msg, Message::Disconnected { request_id: u64::MAX })
}

/// The messages in flight.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    /// Free slots hold [`VACANT`].
    slots: Vec<Message>,
    /// Empty slots, reused last-freed first (the warmest in cache).
    free: Vec<u32>,
}

impl Mailbox {
    /// Stores a message until its delivery.
    #[inline]
    pub fn put(&mut self, msg: Message) -> Slot {
        match self.free.pop() {
            Some(i) => {
                debug_assert!(vacant(&self.slots[i as usize]), "a free slot holds no message");
                // The slot holds `VACANT`, which owns nothing: forgetting it leaks nothing, and
                // spares the check of what it holds that a drop would make.
                std::mem::forget(std::mem::replace(&mut self.slots[i as usize], msg));
                Slot(i)
            }
            None => {
                self.slots.push(msg);
                Slot(self.slots.len() as u32 - 1)
            }
        }
    }

    /// The message in `slot` (it stays there).
    pub fn get(&self, slot: Slot) -> &Message {
        let msg = &self.slots[slot.0 as usize];
        debug_assert!(!vacant(msg), "a pending delivery's slot holds its message");
        msg
    }

    /// Takes the message out of `slot` for delivery (or to drop it); the slot is free again.
    pub fn take(&mut self, slot: Slot) -> Message {
        let msg = std::mem::replace(&mut self.slots[slot.0 as usize], VACANT);
        debug_assert!(!vacant(&msg), "a pending delivery's slot holds its message");
        self.free.push(slot.0);
        msg
    }

    /// Messages in flight.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_reused_and_messages_come_back_whole() {
        let mut mailbox = Mailbox::default();
        let a = mailbox.put(Message::MetadataRequest { request_id: 1 });
        let b = mailbox.put(Message::MetadataRequest { request_id: 2 });
        assert_ne!(a, b);
        assert!(matches!(mailbox.get(b), Message::MetadataRequest { request_id: 2 }));
        assert!(matches!(mailbox.take(a), Message::MetadataRequest { request_id: 1 }));
        assert_eq!(mailbox.len(), 1);
        let c = mailbox.put(Message::MetadataRequest { request_id: 3 });
        assert_eq!(c, a, "a freed slot is reused");
        assert!(matches!(mailbox.take(c), Message::MetadataRequest { request_id: 3 }));
        assert!(matches!(mailbox.take(b), Message::MetadataRequest { request_id: 2 }));
        assert_eq!(mailbox.len(), 0);
    }
}
