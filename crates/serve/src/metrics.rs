//! `/metrics`: requests by route and status, latency histograms by route, the state held
//! and its evictions, skipped events and reloads, in the Prometheus text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::Evictions;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EvictionLabels {
    store: &'static str,
    cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Latency buckets from 50 µs doubling to about 1.6 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// The server's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    sessions: Gauge,
    users: Gauge,
    evictions: Family<EvictionLabels, Counter>,
    skipped: Family<ReasonLabels, Counter>,
    reloads: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        let (sessions, users) = (Gauge::default(), Gauge::default());
        let evictions = Family::<EvictionLabels, Counter>::default();
        let skipped = Family::<ReasonLabels, Counter>::default();
        let reloads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "clickrec_requests",
            "Requests answered, by route and HTTP status",
            requests.clone(),
        );
        registry.register(
            "clickrec_request_duration_seconds",
            "Time from request to response, by route",
            latency.clone(),
        );
        registry.register(
            "clickrec_sessions_held",
            "Sessions whose events are held",
            sessions.clone(),
        );
        registry.register(
            "clickrec_users_held",
            "Users whose posted events are held",
            users.clone(),
        );
        registry.register(
            "clickrec_evictions",
            "State dropped to stay within bounds: entries (cause capacity or expired) and events (cause events)",
            evictions.clone(),
        );
        registry.register(
            "clickrec_skipped_events",
            "Posted events not kept, by reason",
            skipped.clone(),
        );
        registry.register(
            "clickrec_reloads",
            "Run directory reloads, by outcome",
            reloads.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            sessions,
            users,
            evictions,
            skipped,
            reloads,
        }
    }
}

impl Metrics {
    /// The eviction counters of the store named `store` (`sessions` or `users`).
    pub fn evictions_of(&self, store: &'static str) -> Evictions {
        let counter = |cause| {
            self.evictions
                .get_or_create(&EvictionLabels { store, cause })
                .clone()
        };
        Evictions {
            capacity: counter("capacity"),
            expired: counter("expired"),
            events: counter("events"),
        }
    }

    pub fn record_request(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    pub fn record_skipped(&self, reason: &'static str, events: u64) {
        self.skipped
            .get_or_create(&ReasonLabels { reason })
            .inc_by(events);
    }

    pub fn record_reload(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.reloads.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The text exposition, with the state gauges set to `sessions` and `users` held now.
    pub fn render(&self, sessions: usize, users: usize) -> String {
        self.sessions.set(sessions as i64);
        self.users.set(users as i64);
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
