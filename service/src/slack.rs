//! Approve from chat: the Slack message a request's webhook posts (with Approve / Deny buttons
//! while it waits), and the callback Slack sends when someone clicks one
//! (`POST /v1/slack/actions`). A click counts only when Slack's signing secret signed it
//! recently; the Slack user becomes a jitgate `Caller` by the configured rule, and the decision
//! goes through the same store call, and so the same approver rules, as the pages and the API.

use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use crate::identity::Identity;
use crate::secret::constant_eq;
use crate::state::AppState;
use crate::store::{RequestView, Status};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use jitgate::wire::now_millis;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::time::Duration;

pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Slack's own advice: a callback older (or newer) than this is a replay, not a click.
pub const WINDOW_SECS: i64 = 5 * 60;
const APPROVE: &str = "jitgate_approve";
const DENY: &str = "jitgate_deny";
/// Where Slack's `response_url`s live unless `[slack] response_url_prefix` says otherwise.
pub const DEFAULT_RESPONSE_URL_PREFIX: &str = "https://hooks.slack.com/";
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// `[slack]`: the signing secret and who a Slack user is in jitgate.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackSettings {
    /// Read from `signing_secret_file` at start.
    pub signing_secret: String,
    /// Slack user id to jitgate user (`users`), with groups when the entry names them.
    pub users: BTreeMap<String, Caller>,
    /// Whether a Slack user missing from `users` is the jitgate user of their Slack username.
    pub match_usernames: bool,
    /// Dropped from the end of a Slack username (`@example.com`); a username with another
    /// domain then names no one.
    pub username_suffix: Option<String>,
    /// Only a `response_url` starting with this is posted the updated message.
    pub response_url_prefix: String,
}

/// `v0=<hex of HMAC-SHA256(secret, "v0:{timestamp}:{body}")>`, Slack's request signature.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

impl SlackSettings {
    /// Whether Slack signed `body` with our secret within the window around `now_secs`.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now_secs: i64) -> Result<()> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let timestamp = header(TIMESTAMP_HEADER);
        let at: i64 = timestamp.trim().parse().map_err(|_| {
            ServiceError::Unauthenticated(
                "X-Slack-Request-Timestamp is missing or not a number".into(),
            )
        })?;
        if (now_secs - at).abs() > WINDOW_SECS {
            return Err(ServiceError::Unauthenticated(format!(
                "X-Slack-Request-Timestamp is {} s from now, beyond the {WINDOW_SECS} s window: \
                 a replayed or delayed callback",
                now_secs - at
            )));
        }
        if !constant_eq(
            header(SIGNATURE_HEADER),
            &signature(&self.signing_secret, timestamp, body),
        ) {
            return Err(ServiceError::Unauthenticated(
                "X-Slack-Signature does not match the signing secret ([slack] signing_secret_file)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The jitgate person behind Slack user `id` (username `username`): the `users` entry, else
    /// the username (with `username_suffix` dropped) when `match_usernames` is on. Groups come
    /// from the entry, else from the identity source when it can name them (dev mode).
    pub fn person(&self, id: &str, username: &str, identity: &Identity) -> Result<Caller> {
        let mut caller = match self.users.get(id) {
            Some(c) => c.clone(),
            None if self.match_usernames && !username.trim().is_empty() => {
                let name = username.trim();
                let name = match &self.username_suffix {
                    Some(suffix) => match name.strip_suffix(suffix.as_str()) {
                        Some(short) => short,
                        None if name.contains('@') => {
                            return Err(ServiceError::Forbidden(format!(
                                "Slack user {id} ({name}) is not of {suffix}: jitgate does not know them"
                            )))
                        }
                        None => name,
                    },
                    None => name,
                };
                Caller {
                    user: name.to_string(),
                    groups: vec![],
                }
            }
            None => {
                return Err(ServiceError::Forbidden(format!(
                    "Slack user {id} ({username}) is not mapped to a jitgate user ([slack] users)"
                )))
            }
        };
        caller.user = identity.user_name(&caller.user);
        if caller.user.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "Slack user {id} maps to an empty user name"
            )));
        }
        if caller.groups.is_empty() {
            caller.groups = identity.known_groups(&caller.user).unwrap_or_default();
        }
        if caller.groups.is_empty() {
            return Err(ServiceError::Forbidden(format!(
                "jitgate knows no groups for {} (Slack user {id}): name them in [slack] users, \
                 \"{id}\" = \"{}:GROUP\"",
                caller.user, caller.user
            )));
        }
        Ok(caller)
    }
}

/// A request's Slack message for `event` by `actor`: one line of text, and while the request
/// waits and `buttons` is on, Approve / Deny buttons whose `value` is the request id.
pub fn message(event: &str, actor: &str, r: &RequestView, link: &str, buttons: bool) -> Value {
    let what = format!(
        "{} {} for {}",
        r.actions.join(","),
        r.resources.join(" "),
        r.duration
    );
    let verb = match event {
        "created" => "asks to".to_string(),
        "approved" => format!("was approved (by {actor}) to"),
        "approval" => format!("has an approval (by {actor}), still waiting for more, to"),
        "denied" => format!("was denied (by {actor}) to"),
        "escalated" => "is still waiting (escalated) to".to_string(),
        "expired" => "got no decision in time to".to_string(),
        "revoked" => format!("lost (revoked by {actor}) the grant to"),
        other => other.to_string(),
    };
    let text = format!(
        "jitgate: {} {verb} {what}. Reason: {}. <{link}|Open request {}>",
        escape(&r.user),
        escape(&r.reason),
        r.id
    );
    if !(buttons && r.status == Status::Pending) {
        return json!({ "text": text });
    }
    let button = |label: &str, action: &str, style: &str| {
        json!({
            "type": "button",
            "text": {"type": "plain_text", "text": label},
            "action_id": action,
            "value": r.id,
            "style": style,
        })
    };
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "block_id": format!("jitgate_{}", r.id), "elements": [
                button("Approve", APPROVE, "primary"),
                button("Deny", DENY, "danger"),
            ]},
        ],
    })
}

/// Slack's three control characters in message text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/slack/actions", post(actions))
}

/// A button click as Slack's `block_actions` payload carries it.
struct Click {
    approve: bool,
    request: String,
    user_id: String,
    username: String,
    response_url: Option<String>,
}

fn click(form: &[u8]) -> Result<Click> {
    let bad = |what: &str| ServiceError::BadInput(format!("not a Slack button click: {what}"));
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_bytes(form).map_err(|_| bad("the body is not a form"))?;
    let payload = fields
        .iter()
        .find(|(k, _)| k == "payload")
        .ok_or_else(|| bad("no payload field"))?;
    let v: Value = serde_json::from_str(&payload.1).map_err(|_| bad("payload is not JSON"))?;
    let action = &v["actions"][0];
    let approve = match action["action_id"].as_str() {
        Some(APPROVE) => true,
        Some(DENY) => false,
        _ => return Err(bad("the action is neither jitgate's Approve nor Deny")),
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let user = &v["user"];
    Ok(Click {
        approve,
        request: text(&action["value"]),
        user_id: text(&user["id"]),
        username: user["username"]
            .as_str()
            .or(user["name"].as_str())
            .unwrap_or("")
            .to_string(),
        response_url: v["response_url"].as_str().map(String::from),
    })
}

/// The callback: refused with 401 unless Slack signed it within the window; a click by someone
/// jitgate does not know or who may not decide is answered (to them alone) with why, and
/// changes nothing; a decision replaces the message, buttons and all, with its outcome.
async fn actions(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(slack) = st.slack.clone() else {
        return ServiceError::NotFound(
            "Slack callbacks are off: the config has no [slack] section".into(),
        )
        .into_response();
    };
    if let Err(e) = slack.verify(&headers, &body, now_millis() / 1000) {
        log_event!("slack: refused a callback: {e}");
        return e.into_response();
    }
    let click = match click(&body) {
        Ok(c) => c,
        Err(e) => {
            log_event!("slack: refused a callback: {e}");
            return e.into_response();
        }
    };
    let verb = if click.approve { "approve" } else { "deny" };
    let outcome = async {
        let caller = slack.person(&click.user_id, &click.username, &st.identity)?;
        let (zones, id) = (st.zones.clone(), click.request.clone());
        let who = format!("Slack user {} ({})", click.user_id, click.username);
        let approve = click.approve;
        let actor = caller.user.clone();
        st.db
            .call(move |s| {
                let now = now_millis();
                if approve {
                    s.approve(&id, &caller, &format!("from Slack, as {who}"), &zones, now)
                } else {
                    s.deny(
                        &id,
                        &caller,
                        Some(&format!("from Slack, as {who}")),
                        &zones,
                        now,
                    )
                }
            })
            .await
            .map(|view| (actor, view))
    }
    .await;
    let reply = match outcome {
        Ok((actor, view)) => {
            crate::metrics::decided(&view);
            let event = match (click.approve, view.status) {
                (false, _) => "denied",
                (true, Status::Pending) => "approval",
                (true, _) => "approved",
            };
            let link = format!("{}/requests/{}", st.public_url, view.id);
            let mut m = message(event, &actor, &view, &link, true);
            m["replace_original"] = json!(true);
            m
        }
        Err(e) => {
            log_event!(
                "slack: refused to {verb} request {} for Slack user {} ({}): {e}",
                click.request,
                click.user_id,
                click.username
            );
            json!({
                "response_type": "ephemeral",
                "replace_original": false,
                "text": format!("jitgate refused to {verb} {}: {}", click.request, escape(e.message())),
            })
        }
    };
    if let Some(url) = click
        .response_url
        .filter(|u| u.starts_with(&slack.response_url_prefix))
    {
        let body = reply.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = ureq::post(&url).timeout(RESPONSE_TIMEOUT).send_json(body) {
                log_event!("slack: cannot update the message at its response_url: {e}");
            }
        });
    }
    Json(reply).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_slack_s_v0_scheme() {
        // Slack's documented example (signing secret, timestamp and body from its guide).
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
    }
}
