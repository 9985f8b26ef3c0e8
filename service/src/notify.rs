//! Webhook notifications. Each notified event is queued in the store's outbox in the same
//! transaction as the change it announces; this background task delivers the queue with
//! retries and backoff, so a slow or dead receiver never blocks or loses a request.

use crate::config::{Webhook, WebhookKind};
use crate::store::{Db, Delivery};
use hmac::{Hmac, Mac};
use jitgate::wire::now_millis;
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// How often the outbox is looked at.
const POLL_EVERY: Duration = Duration::from_millis(500);
const BATCH: usize = 50;
/// How long a replica holds the notifications it claimed: long enough to try each of a batch
/// once, one after another.
const LEASE: Duration = Duration::from_secs(BATCH as u64 * (TIMEOUT.as_secs() + 1));
const TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts before a notification is given up on (logged; it stays in the outbox).
const MAX_ATTEMPTS: u32 = 12;
const FIRST_BACKOFF_MS: i64 = 1000;
const MAX_BACKOFF_MS: i64 = 10 * 60 * 1000;

pub const SIGNATURE_HEADER: &str = "X-Jitgate-Signature";

/// The delay before attempt `attempts + 1`: doubling from a second, capped at ten minutes.
pub fn backoff_ms(attempts: u32) -> i64 {
    FIRST_BACKOFF_MS
        .saturating_mul(1i64 << attempts.min(20))
        .min(MAX_BACKOFF_MS)
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body sent for `d` to a webhook of `kind`.
/// Slack messages of a waiting request carry Approve / Deny buttons when `buttons` is on.
pub fn payload(
    kind: WebhookKind,
    d: &Delivery,
    public_url: &str,
    buttons: bool,
) -> serde_json::Value {
    let r = &d.request;
    let link = format!("{public_url}/requests/{}", r.id);
    match kind {
        WebhookKind::Json => json!({
            "event": d.event,
            "time": d.time,
            "actor": d.actor,
            "link": link,
            "request": r,
        }),
        WebhookKind::Slack => crate::slack::message(&d.event, &d.actor, r, &link, buttons),
    }
}

fn send(hook: &Webhook, d: &Delivery, public_url: &str, buttons: bool) -> Result<(), String> {
    let body =
        serde_json::to_vec(&payload(hook.kind, d, public_url, buttons)).expect("JSON serializes");
    let mut req = ureq::post(&hook.url)
        .timeout(TIMEOUT)
        .set("Content-Type", "application/json")
        .set("X-Jitgate-Event", &d.event)
        .set("X-Jitgate-Delivery", &d.id.to_string());
    if let Some(secret) = &hook.secret {
        req = req.set(SIGNATURE_HEADER, &signature(secret, &body));
    }
    match req.send_bytes(&body) {
        Ok(_) => Ok(()),
        Err(ureq::Error::Status(code, _)) => Err(format!("HTTP {code}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Delivers the outbox forever.
pub async fn run(db: Db, hooks: Arc<Vec<Webhook>>, public_url: String, buttons: bool) {
    if hooks.is_empty() {
        return;
    }
    loop {
        match db
            .call(|s| s.due_deliveries(now_millis(), BATCH, LEASE.as_millis() as i64))
            .await
        {
            Ok(due) if !due.is_empty() => {
                for d in due {
                    deliver(&db, &hooks, &public_url, buttons, d).await;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => log_event!("notifications: cannot read the outbox: {e}"),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn deliver(db: &Db, hooks: &Arc<Vec<Webhook>>, public_url: &str, buttons: bool, d: Delivery) {
    let (id, attempts, hook_no) = (d.id, d.attempts, d.hook);
    let what = format!(
        "{} of request {} to webhook {hook_no}",
        d.event, d.request.id
    );
    let outcome = match hooks.get(hook_no).cloned() {
        None => Err("that webhook is no longer configured".to_string()),
        Some(hook) => {
            let url = public_url.to_string();
            tokio::task::spawn_blocking(move || send(&hook, &d, &url, buttons))
                .await
                .unwrap_or_else(|e| Err(format!("delivery task failed: {e}")))
        }
    };
    let now = now_millis();
    let result = match outcome {
        Ok(()) => {
            log_event!("notification {id} delivered: {what}");
            db.call(move |s| s.delivered(id, now)).await
        }
        Err(e) => {
            crate::metrics::webhook_failed();
            let gone = hooks.get(hook_no).is_none();
            let retry_at =
                (!gone && attempts + 1 < MAX_ATTEMPTS).then(|| now + backoff_ms(attempts));
            match retry_at {
                Some(at) => log_event!(
                    "notification {id} failed ({e}): {what}; retry {} in {} ms",
                    attempts + 2,
                    at - now
                ),
                None => log_event!(
                    "notification {id} failed ({e}): {what}; giving up after {} attempts",
                    attempts + 1
                ),
            }
            db.call(move |s| s.delivery_failed(id, &e, retry_at, now))
                .await
        }
    };
    if let Err(e) = result {
        log_event!("notifications: cannot record the outcome of {id}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_from_a_second_up_to_ten_minutes() {
        assert_eq!(
            (backoff_ms(0), backoff_ms(1), backoff_ms(3)),
            (1000, 2000, 8000)
        );
        assert_eq!(backoff_ms(30), MAX_BACKOFF_MS);
    }
}
