//! The JSON shapes the service and the plugins exchange (feed and audit, see docs/DESIGN.md).
//! One definition serves both sides so they cannot drift apart.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A zone as configured on the service and sent to plugins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub name: String,
    pub resources: Vec<String>,
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default = "one")]
    pub approvals: u32,
    #[serde(default = "all_actions")]
    pub actions: Vec<String>,
    #[serde(default = "fifteen_minutes")]
    pub max_duration: String,
}

fn one() -> u32 {
    1
}

fn all_actions() -> Vec<String> {
    ["read", "write", "export", "transform"]
        .map(String::from)
        .to_vec()
}

fn fifteen_minutes() -> String {
    "15m".into()
}

/// An issued grant: who may do what on which resources, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub request_id: String,
    pub user: String,
    pub resources: Vec<String>,
    pub actions: Vec<String>,
    /// RFC 3339, UTC.
    pub not_before: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    #[serde(default)]
    pub approvers: Vec<String>,
    #[serde(default)]
    pub single_use: bool,
    /// The service's signature of the fields above (`crate::signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// One answer of `GET /v1/feed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feed {
    pub cursor: u64,
    pub server_time: String,
    pub reset: bool,
    /// The full zone list when it changed (always on a reset), else null.
    pub zones: Option<Vec<Zone>>,
    /// The service's signature of `zones`, sent with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones_signature: Option<String>,
    pub grants: Vec<Grant>,
    pub revoked: Vec<String>,
    /// The follower's nonce this reply answers, inside the signed body so a recorded reply
    /// cannot be played back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// One recorded decision, as posted to `POST /v1/audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub time: String,
    pub plugin: String,
    pub host: String,
    pub user: String,
    pub resource: String,
    pub action: String,
    /// `allow` or `deny`.
    pub decision: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub grant_id: Option<String>,
    pub request_id: Option<String>,
    pub operation: Option<String>,
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditBatch {
    pub events: Vec<AuditEvent>,
}

/// What a resource is, for the approvers of a request on it: an `hdfs:` path's file count and
/// size, a `hive:` table's or database's location. A plugin posts these to `POST /v1/context`
/// for the resources `GET /v1/context/wanted` names; what it could not learn is null, with
/// `error` saying why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceContext {
    /// The canonical resource (`hdfs:/lake/sales`, `hive:sales.orders`, `hive:sales`).
    pub resource: String,
    /// `file` or `directory` for a path; the table type (`EXTERNAL_TABLE`) or `database`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directories: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Why nothing could be learnt (`no such path`, the engine's error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer of `GET /v1/context/wanted`: the resources whose context approvers wait for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextWanted {
    pub resources: Vec<String>,
}

/// Milliseconds since the Unix epoch, the core's one unit of time.
pub fn now_millis() -> i64 {
    // Not `as_millis`: its u128 division is a library call, on every protected decision.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 * 1000 + i64::from(d.subsec_millis()))
        .unwrap_or(0)
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-27T21:00:00.000Z`.
pub fn format_time(millis: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Reads an RFC 3339 UTC time into milliseconds since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// 64 bits from the kernel's random source, for what must not be known ahead (audit event ids,
/// the feed's nonces); where it cannot be read, bits of the clock and of a fresh hasher's
/// random keys (still not known ahead).
pub fn unguessable() -> u64 {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_ok() {
        return u64::from_le_bytes(bytes);
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_millis());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_milliseconds() {
        let ms = 1_795_900_000_123;
        let text = format_time(ms);
        assert!(text.ends_with('Z'), "{text}");
        assert_eq!(parse_time(&text), Some(ms));
        assert_eq!(parse_time("not a time"), None);
    }
}
