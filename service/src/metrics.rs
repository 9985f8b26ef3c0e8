//! `GET /metrics`: the service's numbers in the Prometheus text format (docs/INTERFACE.md,
//! "Metrics"). Counters and histograms are process-wide relaxed atomics the handlers, the feed,
//! the notifier and the store's `Db` add to; the request and grant counts are read from the
//! store at each scrape. Labels take only fixed sets (a request status, a decision, a store
//! connection), never a user, a resource or a host.

use crate::error::{Result, ServiceError};
use crate::state::AppState;
use crate::store::{counts, RequestView, Status};
use crate::tls::Peer;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use jitgate::wire::{now_millis, parse_time};
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Seconds from a request to its decision: a minute to a day, where people answer.
const DECISION_SECONDS: &[f64] = &[
    1.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 86400.0,
];
/// Seconds of one store call: SQLite answers in microseconds to a scan's many seconds.
const STORE_SECONDS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];
/// Changes a follower was behind when it asked (0: up to date).
const LAG_CHANGES: &[f64] = &[0.0, 1.0, 10.0, 100.0, 1000.0, 10000.0];

pub struct Metrics {
    /// By `Decided`: approved, denied.
    time_to_decision: [Histogram; 2],
    /// Feed requests being answered now (most of them long-polls waiting for a change).
    feed_followers: AtomicI64,
    feed_lag: Histogram,
    audit_ingested: AtomicU64,
    webhook_failures: AtomicU64,
    /// By `StoreCall`: writer, reader.
    store_calls: [Histogram; 2],
}

#[derive(Clone, Copy)]
pub enum StoreCall {
    /// On the store's one connection, which every change takes (its wait included).
    Write,
    /// On a reader thread's connection (broad reads: audit, report, the chain's check).
    Read,
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            time_to_decision: [
                Histogram::new(DECISION_SECONDS),
                Histogram::new(DECISION_SECONDS),
            ],
            feed_followers: AtomicI64::new(0),
            feed_lag: Histogram::new(LAG_CHANGES),
            audit_ingested: AtomicU64::new(0),
            webhook_failures: AtomicU64::new(0),
            store_calls: [Histogram::new(STORE_SECONDS), Histogram::new(STORE_SECONDS)],
        }
    }
}

/// A request was approved or denied by `view`'s change: how long it waited, when the change
/// was the final one (an approval short of the quorum leaves it pending).
pub fn decided(view: &RequestView) {
    let which = match view.status {
        Status::Approved => 0,
        Status::Denied => 1,
        _ => return,
    };
    if let Some(created) = parse_time(&view.created_at) {
        let waited = (now_millis() - created).max(0) as f64 / 1000.0;
        METRICS.time_to_decision[which].observe(waited);
    }
}

/// A feed request asks for the changes after `after` while `newest` is the newest; the
/// returned guard counts it as a follower until it is answered.
pub fn feed_asked(after: Option<u64>, newest: u64) -> Follower {
    // A follower without a cursor (starting) or with one of another database gets a reset;
    // its lag is not a number of changes.
    if let Some(behind) = after.and_then(|a| newest.checked_sub(a)) {
        METRICS.feed_lag.observe(behind as f64);
    }
    METRICS.feed_followers.fetch_add(1, Ordering::Relaxed);
    Follower(())
}

/// Counts a follower while it lives.
pub struct Follower(());

impl Drop for Follower {
    fn drop(&mut self) {
        METRICS.feed_followers.fetch_sub(1, Ordering::Relaxed);
    }
}

pub fn audit_ingested(events: usize) {
    METRICS
        .audit_ingested
        .fetch_add(events as u64, Ordering::Relaxed);
}

pub fn webhook_failed() {
    METRICS.webhook_failures.fetch_add(1, Ordering::Relaxed);
}

pub fn store_call(kind: StoreCall, took: Duration) {
    METRICS.store_calls[kind as usize].observe(took.as_secs_f64());
}

/// Counts per bucket (not cumulative; the text makes them so), a sum and a count.
struct Histogram {
    bounds: &'static [f64],
    /// One per bound, and one past the last (+Inf).
    buckets: Vec<AtomicU64>,
    /// The sum in millionths, so it can be one atomic integer.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    fn observe(&self, value: f64) {
        let i = self.bounds.partition_point(|b| *b < value);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((value * 1e6) as u64, Ordering::Relaxed);
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` with `labels` (`key="value",` each).
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            let le = self.bounds.get(i).map_or("+Inf".into(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {seen}");
        }
        let braces = |l: &str| match l.trim_end_matches(',') {
            "" => String::new(),
            l => format!("{{{l}}}"),
        };
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
        let _ = writeln!(out, "{name}_count{} {seen}", braces(labels));
    }
}

/// `# HELP` and `# TYPE` of one metric.
fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The whole exposition; `requests` and `grants_active` as the store counted them now.
fn render(m: &Metrics, requests: &[(String, u64)], grants_active: u64) -> String {
    let mut out = String::new();
    head(
        &mut out,
        "jitgate_requests",
        "gauge",
        "Access requests by status.",
    );
    for status in ["pending", "approved", "denied", "cancelled", "expired"] {
        let n = requests
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "jitgate_requests{{status=\"{status}\"}} {n}");
    }
    let name = "jitgate_time_to_decision_seconds";
    head(
        &mut out,
        name,
        "histogram",
        "Seconds from a request to its approval or denial.",
    );
    for (i, decision) in ["approved", "denied"].iter().enumerate() {
        m.time_to_decision[i].write(&mut out, name, &format!("decision=\"{decision}\","));
    }
    head(
        &mut out,
        "jitgate_grants_active",
        "gauge",
        "Grants neither revoked nor expired.",
    );
    let _ = writeln!(out, "jitgate_grants_active {grants_active}");
    head(
        &mut out,
        "jitgate_feed_followers",
        "gauge",
        "Feed requests being answered now, most of them plugins long-polling for a change.",
    );
    let followers = m.feed_followers.load(Ordering::Relaxed).max(0);
    let _ = writeln!(out, "jitgate_feed_followers {followers}");
    let name = "jitgate_feed_lag_changes";
    head(
        &mut out,
        name,
        "histogram",
        "Changes a follower was behind the newest when it asked the feed.",
    );
    m.feed_lag.write(&mut out, name, "");
    for (name, help, value) in [
        (
            "jitgate_audit_events_ingested_total",
            "Audit events plugins posted that the store took.",
            &m.audit_ingested,
        ),
        (
            "jitgate_webhook_delivery_failures_total",
            "Webhook deliveries that failed (each is retried with backoff).",
            &m.webhook_failures,
        ),
    ] {
        head(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
    }
    let name = "jitgate_store_call_seconds";
    head(
        &mut out,
        name,
        "histogram",
        "Seconds of one store call, on the writer's connection (its wait included) or a reader's.",
    );
    for (i, connection) in ["writer", "reader"].iter().enumerate() {
        m.store_calls[i].write(&mut out, name, &format!("connection=\"{connection}\","));
    }
    out
}

/// Who may scrape: a plugin token's holder (a Prometheus scrape configured with one) or an
/// auditor (`auth.auditors`). The numbers name no user or resource, but they tell how busy
/// the service is and whether its webhooks fail.
pub struct Scraper;

impl FromRequestParts<AppState> for Scraper {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self> {
        if st.identity.check_plugin(&parts.headers).is_ok() {
            return Ok(Scraper);
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|c| c.0 .0.ip());
        let caller = st.identity.caller(peer, &parts.headers)?;
        if st.identity.is_auditor(&caller) {
            Ok(Scraper)
        } else {
            Err(ServiceError::Forbidden(
                "metrics are for auditors (auth.auditors) and holders of a plugin token".into(),
            ))
        }
    }
}

pub async fn metrics(State(st): State<AppState>, _: Scraper) -> Result<Response> {
    let counted = st.db.read(|c| counts(c, now_millis())).await?;
    let body = render(&METRICS, &counted.requests, counted.grants_active);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let h = Histogram::new(&[1.0, 10.0]);
        for v in [0.5, 1.0, 5.0, 20.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "k=\"v\",");
        assert_eq!(
            out,
            "x_bucket{k=\"v\",le=\"1\"} 2\nx_bucket{k=\"v\",le=\"10\"} 3\n\
             x_bucket{k=\"v\",le=\"+Inf\"} 4\nx_sum{k=\"v\"} 26.5\nx_count{k=\"v\"} 4\n"
        );
    }

    #[test]
    fn every_line_is_a_comment_or_a_sample_with_fixed_labels() {
        let m = Metrics::new();
        m.time_to_decision[0].observe(42.0);
        let text = render(&m, &[("pending".into(), 3)], 2);
        assert!(
            text.contains("jitgate_requests{status=\"pending\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("jitgate_requests{status=\"denied\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("jitgate_grants_active 2\n"), "{text}");
        assert!(text.contains(
            "jitgate_time_to_decision_seconds_bucket{decision=\"approved\",le=\"60\"} 1\n"
        ));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(series.starts_with("jitgate_"), "{line}");
            let labels = series.split_once('{').map_or("", |(_, l)| l);
            for label in labels
                .trim_end_matches('}')
                .split(',')
                .filter(|l| !l.is_empty())
            {
                let key = label.split('=').next().unwrap();
                assert!(
                    ["status", "decision", "le", "connection"].contains(&key),
                    "{line}"
                );
            }
        }
    }
}
