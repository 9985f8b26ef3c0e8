//! The webhook outbox: each notified event is queued once per webhook in the transaction of the
//! change it announces, so a crash never loses one; `notify` delivers, retries and gives up.

use super::requests::load_view;
use super::sql::{params, Tx};
use super::Store;
use crate::error::Result;
use crate::views::RequestView;
use jitgate::wire::format_time;

/// The events that go out to webhooks.
pub(super) const NOTIFIED: [&str; 6] = [
    "created",
    "approved",
    "denied",
    "escalated",
    "expired",
    "revoked",
];

/// A notification due for delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub hook: usize,
    pub event: String,
    pub actor: String,
    pub time: String,
    pub attempts: u32,
    pub request: RequestView,
}

impl Store {
    /// Queues each notified event for `n` webhooks from now on.
    pub fn set_webhooks(&mut self, n: usize) {
        self.webhooks = n;
    }

    /// Claims up to `limit` notifications due at `now`, oldest first: each is due again only
    /// `lease_ms` later, so no other replica delivers it meanwhile. The claimer marks it
    /// delivered or failed before then; one that dies first leaves it to be delivered again
    /// when the lease ends (at least once, never twice while replicas live).
    pub fn due_deliveries(
        &mut self,
        now: i64,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<Delivery>> {
        let tx = self.begin()?;
        let rows: Vec<(i64, i64, String, String, i64, i64, String)> = tx.query_map(
            "SELECT id, hook, event, request_id, time, attempts, actor FROM outbox \
             WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_at <= ?1 ORDER BY id LIMIT ?2",
            params![now, limit],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )?;
        let due = rows
            .into_iter()
            .map(|(id, hook, event, request_id, time, attempts, actor)| {
                tx.execute(
                    "UPDATE outbox SET next_at = ?2 WHERE id = ?1",
                    params![id, now + lease_ms],
                )?;
                Ok(Delivery {
                    id,
                    hook: hook as usize,
                    event,
                    actor,
                    time: format_time(time),
                    attempts: attempts as u32,
                    request: load_view(&tx, &request_id)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(due)
    }

    /// Marks a notification delivered.
    pub fn delivered(&mut self, id: i64, now: i64) -> Result<()> {
        let tx = self.begin()?;
        tx.execute(
            "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1 WHERE id = ?1",
            params![id, now],
        )?;
        tx.commit()
    }

    /// Records a failed attempt: retried at `retry_at`, or given up on when None.
    pub fn delivery_failed(
        &mut self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> Result<()> {
        let tx = self.begin()?;
        tx.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_at = COALESCE(?3, next_at), \
             gave_up_at = CASE WHEN ?3 IS NULL THEN CAST(?4 AS BIGINT) END WHERE id = ?1",
            params![id, error, retry_at, now],
        )?;
        tx.commit()
    }

    /// (pending, delivered, given up) notification counts.
    #[cfg(test)]
    pub fn outbox_counts(&mut self) -> Result<(i64, i64, i64)> {
        self.read()?.query_row(
            "SELECT COUNT(*) FILTER (WHERE delivered_at IS NULL AND gave_up_at IS NULL), \
             COUNT(delivered_at), COUNT(gave_up_at) FROM outbox",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }
}

pub(super) fn queue(
    conn: &Tx,
    hooks: usize,
    request_id: &str,
    now: i64,
    actor: &str,
    event: &str,
) -> Result<()> {
    for hook in 0..hooks {
        conn.execute(
            "INSERT INTO outbox (hook, event, request_id, actor, time, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![hook, event, request_id, actor, now],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::testing::*;

    #[test]
    fn notified_events_are_queued_per_webhook_with_retries_and_give_up() {
        let mut s = store();
        s.set_webhooks(2);
        let r = ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let g = s
            .approve(&r.id, &bob(), "", &example(), T0)
            .unwrap()
            .grant
            .unwrap();
        s.revoke(&g.grant.id, &alice(), &example(), T0 + 1).unwrap();
        let due = s.due_deliveries(T0 + 1, 100, MIN).unwrap();
        let kinds: Vec<(usize, &str)> = due.iter().map(|d| (d.hook, d.event.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (0, "created"),
                (1, "created"),
                (0, "approved"),
                (1, "approved"),
                (0, "revoked"),
                (1, "revoked")
            ]
        );
        assert_eq!(due[2].actor, "bob");
        assert_eq!(due[4].request.id, r.id);
        for d in &due[..4] {
            s.delivered(d.id, T0 + 2).unwrap();
        }
        s.delivery_failed(due[4].id, "connection refused", Some(T0 + 10_000), T0 + 2)
            .unwrap();
        s.delivery_failed(due[5].id, "HTTP 500", None, T0 + 2)
            .unwrap();
        assert!(s.due_deliveries(T0 + 9_999, 100, MIN).unwrap().is_empty());
        let retry = s.due_deliveries(T0 + 10_000, 100, MIN).unwrap();
        assert_eq!((retry.len(), retry[0].attempts), (1, 1));
        assert_eq!(s.outbox_counts().unwrap(), (1, 4, 1));
    }

    #[test]
    fn a_claimed_notification_is_not_handed_out_again_until_its_lease_ends() {
        let mut s = store();
        s.set_webhooks(1);
        ask(&mut s, &alice(), &["hive:sales.orders"], 10, T0);
        let first = s.due_deliveries(T0, 100, MIN).unwrap();
        assert_eq!(first.len(), 1);
        // Another replica asking meanwhile gets nothing: it would deliver a second time.
        assert!(s.due_deliveries(T0 + MIN - 1, 100, MIN).unwrap().is_empty());
        // The claimer died without an answer: the notification is due again after the lease.
        let again = s.due_deliveries(T0 + MIN, 100, MIN).unwrap();
        assert_eq!(
            again.iter().map(|d| d.id).collect::<Vec<_>>(),
            [first[0].id]
        );
    }
}
