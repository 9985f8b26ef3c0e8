//! The store's numbers for `GET /metrics` (`crate::metrics`): requests by status and grants
//! active now. Two counting reads, run on a reader connection.

use super::sql::{params, Tx};
use crate::error::Result;

pub struct Counts {
    /// Every status with its count; statuses no request has are absent.
    pub requests: Vec<(String, u64)>,
    /// Not revoked and not yet expired, as `GET /v1/grants?active=true` counts them.
    pub grants_active: u64,
}

pub fn counts(conn: &Tx, now: i64) -> Result<Counts> {
    let requests = conn.query_map(
        "SELECT status, COUNT(*) FROM requests GROUP BY status",
        params![],
        |r| Ok((r.get::<String>(0)?, r.get::<u64>(1)?)),
    )?;
    let grants_active: i64 = conn.query_row(
        "SELECT COUNT(*) FROM grants WHERE revoked_at IS NULL AND expires_at > ?1",
        params![now],
        |r| r.get(0),
    )?;
    Ok(Counts {
        requests,
        grants_active: grants_active as u64,
    })
}
