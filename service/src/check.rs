//! "Would I be allowed?" (`GET /v1/check`): what the plugins would decide right now for a user,
//! a resource and actions. The service asks the core's own `Snapshot`, built from its zones and
//! live grants exactly as a plugin builds one from the feed, so no matching is done here; it
//! takes each change (as a plugin does) only when the store's change signal has moved.
//!
//! Who may ask: anyone about themselves; about another user, an approver of a zone the resource
//! lies in (they see those requests anyway) or an auditor (`auth.auditors`).

use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use crate::state::AppState;
use crate::views::{CheckDecision, CheckGrant, CheckView, CheckZone};
use jitgate::engine::{explain, request_link};
use jitgate::model::{ActionSet, Resource};
use jitgate::snapshot::{Decision, Snapshot};
use jitgate::wire::{format_time, now_millis};
use std::sync::Arc;

/// The snapshot checks read, and the change-signal cursor it was built at.
pub struct Checker {
    /// Base of the request links (`public_url`).
    base: String,
    /// Held while rebuilding, so a burst of checks after a change builds once.
    built: tokio::sync::Mutex<Option<(u64, Arc<Snapshot>)>>,
}

impl Checker {
    pub fn new(public_url: String) -> Checker {
        Checker {
            base: public_url,
            built: tokio::sync::Mutex::new(None),
        }
    }

    /// The snapshot of the zones and the grants live now, kept as a plugin keeps its own: built
    /// from a full feed once, then changed by each later change (`Snapshot::apply`), only when
    /// the store's change signal has moved. Expiry needs no change: a decision reads the clock.
    async fn snapshot(&self, st: &AppState) -> Result<Arc<Snapshot>> {
        let mut built = self.built.lock().await;
        // Read before the store, so a change committed meanwhile makes the next check catch up.
        let seen = st.signal.current();
        let last = match &*built {
            Some((at, snap)) if *at == seen => return Ok(snap.clone()),
            Some((_, snap)) => Some(snap.clone()),
            None => None,
        };
        let zones = st.wire_zones.clone();
        let after = last.as_ref().map(|s| s.cursor);
        let (feed, last) = st
            .db
            .call(move |s| {
                let feed = s.feed(after, &zones, now_millis())?;
                // Only plain changes apply to the last snapshot; a new zone list (or a reset)
                // means building anew, from every live grant, not from the changes alone.
                if feed.reset || feed.zones.is_none() {
                    return Ok((feed, last));
                }
                Ok((s.feed(None, &zones, now_millis())?, None))
            })
            .await?;
        let now = now_millis();
        let (snap, skipped) = match last {
            Some(last) if !feed.reset => last.apply(feed.cursor, feed.grants, &feed.revoked, now),
            _ => {
                let zones = feed.zones.unwrap_or_else(|| st.wire_zones.to_vec());
                Snapshot::build(feed.cursor, zones, feed.grants, &[], now)
            }
        };
        for s in skipped {
            log_event!("check: skipped {}", s.0);
        }
        let snap = Arc::new(snap);
        *built = Some((seen, snap.clone()));
        Ok(snap)
    }

    /// The answer for `user` (the caller when None) doing `action` (`read` or `read,write`)
    /// on `resource`.
    pub async fn check(
        &self,
        st: &AppState,
        caller: &Caller,
        user: Option<&str>,
        resource: &str,
        action: &str,
    ) -> Result<CheckView> {
        if resource.trim().is_empty() {
            return Err(ServiceError::BadInput(
                "resource is required: hdfs:/abs/path, hive:db.table or hive:db.*".into(),
            ));
        }
        let res = Resource::parse(resource)?;
        let actions = ActionSet::parse(action.split(',').map(str::trim).filter(|a| !a.is_empty()))?;
        let user = match user.map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => st.identity.user_name(u),
            None => caller.user.clone(),
        };
        if user.is_empty() {
            return Err(ServiceError::BadInput("user names no one".into()));
        }
        let snap = self.snapshot(st).await?;
        let key = res.key();
        let zones: Vec<CheckZone> = snap
            .zones
            .iter()
            .filter(|z| snap.in_zone(key, &z.name))
            .map(|z| CheckZone {
                name: z.name.clone(),
                approvers: z.approvers.clone(),
                approvals: z.approvals,
            })
            .collect();
        if user != caller.user {
            let approver = zones
                .iter()
                .any(|z| z.approvers.iter().any(|g| caller.groups.contains(g)));
            if !approver && !st.identity.is_auditor(caller) {
                return Err(ServiceError::Forbidden(format!(
                    "only an approver of the zones {res} lies in, or an auditor, may ask what \
                     jitgate would decide for {user}; leave out user to ask for yourself"
                )));
            }
        }
        let now = now_millis();
        let shown = res.to_string();
        let mut view = CheckView {
            user: user.clone(),
            resource: shown.clone(),
            actions: actions.names().into_iter().map(String::from).collect(),
            decision: CheckDecision::NotProtected,
            grants: vec![],
            expires_at: None,
            reason: None,
            zones,
            request_url: None,
            message: None,
        };
        match snap.decide(&user, key, actions, false, now) {
            Decision::NotProtected => {}
            Decision::Allow(_) => {
                view.decision = CheckDecision::Allow;
                // Several grants may cover different actions: name each action's.
                for a in actions.iter() {
                    if let Decision::Allow(g) =
                        snap.decide(&user, key, ActionSet::EMPTY.with(a), false, now)
                    {
                        if !view.grants.iter().any(|seen| *seen.id == *g.id) {
                            view.grants.push(CheckGrant {
                                id: g.id.to_string(),
                                request_id: g.request_id.to_string(),
                                expires_at: format_time(g.expires_at),
                            });
                        }
                    }
                }
                view.expires_at = view.grants.iter().map(|g| g.expires_at.clone()).min();
            }
            Decision::Deny(reason) => {
                view.decision = CheckDecision::Deny;
                view.reason = Some(reason.describe().into());
                view.request_url = Some(request_link(&self.base, key, actions));
                view.message = Some(explain(&self.base, &user, &shown, actions, reason));
            }
        }
        Ok(view)
    }
}
