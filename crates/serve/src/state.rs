//! The state a server holds between requests: the events posted for users and for
//! sessions, in memory and bounded. Each store keeps at most `capacity` entries (the least
//! recently used goes first), each entry at most `max_events` events (the oldest go
//! first), and an entry untouched for `ttl` is dropped. Every eviction is counted.
//!
//! Events are kept by their external item ids, as posted: a reload may renumber the
//! items, so each request maps them through the run it is answered from.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clickrec_core::Behavior;
use lru::LruCache;
use prometheus_client::metrics::counter::Counter;

/// One posted event, by external item id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldEvent {
    pub item: Box<str>,
    pub behavior: Behavior,
    pub time: i64,
}

#[derive(Debug)]
struct Entry {
    events: Vec<HeldEvent>,
    touched: Instant,
}

/// The limits of one store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub capacity: NonZeroUsize,
    pub max_events: usize,
    /// `None`: entries never expire (only capacity evicts).
    pub ttl: Option<Duration>,
}

/// Evictions, by cause: counters the server's `/metrics` exports.
#[derive(Clone, Debug, Default)]
pub struct Evictions {
    /// Entries dropped to make room for a new one.
    pub capacity: Counter,
    /// Entries dropped after `ttl` without a request.
    pub expired: Counter,
    /// Oldest events dropped from entries holding `max_events`.
    pub events: Counter,
}

/// A bounded map from an external id (user or session) to its posted events.
#[derive(Debug)]
pub struct Store {
    entries: Mutex<LruCache<Box<str>, Entry>>,
    limits: Limits,
    evictions: Evictions,
}

impl Store {
    pub fn new(limits: Limits, evictions: Evictions) -> Store {
        Store {
            entries: Mutex::new(LruCache::new(limits.capacity)),
            limits,
            evictions,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<Box<str>, Entry>> {
        // A panic while holding the lock leaves the map consistent (no method of ours
        // leaves an entry half-written), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn expired_at(&self, entry: &Entry, now: Instant) -> bool {
        self.limits
            .ttl
            .is_some_and(|ttl| now.duration_since(entry.touched) >= ttl)
    }

    /// Appends `events` to `id`'s entry (made if absent); the number of events it holds.
    pub fn append(&self, id: &str, events: Vec<HeldEvent>) -> usize {
        let now = Instant::now();
        let mut map = self.lock();
        if map.peek(id).is_some_and(|e| self.expired_at(e, now)) {
            map.pop(id);
            self.evictions.expired.inc();
        }
        if !map.contains(id) {
            let entry = Entry {
                events: Vec::new(),
                touched: now,
            };
            if map.push(id.into(), entry).is_some() {
                self.evictions.capacity.inc();
            }
        }
        let Some(entry) = map.get_mut(id) else {
            return 0;
        };
        entry.touched = now;
        entry.events.extend(events);
        let over = entry.events.len().saturating_sub(self.limits.max_events);
        if over > 0 {
            entry.events.drain(..over);
            self.evictions.events.inc_by(over as u64);
        }
        entry.events.len()
    }

    /// `id`'s events (empty when it has none or has expired), marking it used.
    pub fn events(&self, id: &str) -> Vec<HeldEvent> {
        let now = Instant::now();
        let mut map = self.lock();
        if map.peek(id).is_some_and(|e| self.expired_at(e, now)) {
            map.pop(id);
            self.evictions.expired.inc();
            return Vec::new();
        }
        match map.get_mut(id) {
            Some(entry) => {
                entry.touched = now;
                entry.events.clone()
            }
            None => Vec::new(),
        }
    }

    /// Drops the entries untouched for `ttl`. The least recently used entry is the one
    /// touched longest ago, so they are all at the cold end.
    pub fn expire(&self) {
        let now = Instant::now();
        let mut map = self.lock();
        while map.peek_lru().is_some_and(|(_, e)| self.expired_at(e, now)) {
            map.pop_lru();
            self.evictions.expired.inc();
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn evictions(&self) -> &Evictions {
        &self.evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(item: &str) -> HeldEvent {
        HeldEvent {
            item: item.into(),
            behavior: Behavior::Pv,
            time: 0,
        }
    }

    fn store(capacity: usize, max_events: usize, ttl: Option<Duration>) -> Store {
        Store::new(
            Limits {
                capacity: NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
                max_events,
                ttl,
            },
            Evictions::default(),
        )
    }

    #[test]
    fn capacity_evicts_the_least_recently_used_and_counts_it() {
        let s = store(2, 10, None);
        s.append("a", vec![event("1")]);
        s.append("b", vec![event("2")]);
        assert_eq!(s.events("a").len(), 1); // a is now the most recent
        s.append("c", vec![event("3")]);
        assert_eq!(s.len(), 2);
        assert!(s.events("b").is_empty());
        assert_eq!(s.events("a").len(), 1);
        assert_eq!(s.evictions().capacity.get(), 1);
    }

    #[test]
    fn an_entry_keeps_its_latest_events_only() {
        let s = store(4, 3, None);
        assert_eq!(s.append("a", vec![event("1"), event("2")]), 2);
        assert_eq!(s.append("a", vec![event("3"), event("4")]), 3);
        let items: Vec<_> = s.events("a").into_iter().map(|e| e.item).collect();
        assert_eq!(items, vec!["2".into(), "3".into(), "4".into()]);
        assert_eq!(s.evictions().events.get(), 1);
    }

    #[test]
    fn untouched_entries_expire() {
        let s = store(4, 3, Some(Duration::ZERO));
        s.append("a", vec![event("1")]);
        s.append("b", vec![event("1")]);
        s.expire();
        assert!(s.is_empty());
        assert_eq!(s.evictions().expired.get(), 2);
        let kept = store(4, 3, Some(Duration::from_secs(3600)));
        kept.append("a", vec![event("1")]);
        kept.expire();
        assert_eq!(kept.events("a").len(), 1);
    }
}
