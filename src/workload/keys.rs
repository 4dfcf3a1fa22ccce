//! Record keys: none, one fixed key, uniform over `N` keys, or one of a list.
//!
//! Keys are strings serialized as UTF-8, as Java's `StringSerializer` does, so the partition a
//! key lands on is the one a real Kafka producer would choose.

use crate::scenario::Key;
use crate::sim::RandomStream;

/// Draws the key of each record.
#[derive(Debug)]
pub struct KeyGenerator {
    keys: Vec<Vec<u8>>,
    rng: RandomStream,
}

impl KeyGenerator {
    pub fn new(spec: &Key, rng: RandomStream) -> KeyGenerator {
        let keys = match spec {
            Key::Null => Vec::new(),
            Key::Fixed(k) => vec![k.as_bytes().to_vec()],
            Key::Uniform { keys, prefix } => (0..*keys).map(|i| format!("{prefix}{i}").into_bytes()).collect(),
            Key::OneOf(list) => list.iter().map(|k| k.as_bytes().to_vec()).collect(),
        };
        KeyGenerator { keys, rng }
    }

    /// Whether records carry keys.
    pub fn is_keyed(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The next record's key index (into [`KeyGenerator::key`]), or `None` for a null key.
    pub fn next_key(&mut self) -> Option<usize> {
        match self.keys.len() {
            0 => None,
            1 => Some(0),
            n => Some(self.rng.below(n as u64) as usize),
        }
    }

    pub fn key(&self, index: usize) -> &[u8] {
        &self.keys[index]
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }
}
