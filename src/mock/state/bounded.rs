//! A map with a fixed capacity that forgets its oldest entries: the mock's
//! tables keep constant memory in runs of millions of logins.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map that forgets its oldest entries past a capacity.
#[derive(Debug)]
pub struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    cap: usize,
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    /// Allocated at full size up front: growing a large table by doubling
    /// leaves freed blocks behind that the allocator keeps as RSS.
    pub fn new(cap: usize) -> Self {
        Bounded { map: HashMap::with_capacity(cap + 1), order: VecDeque::with_capacity(cap + 1), cap }
    }
    pub fn insert(&mut self, k: K, v: V) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back(k);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k)
    }
}
