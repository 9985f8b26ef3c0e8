//! What every handler shares, the API's and the pages' alike: the store, the zones, how callers
//! are recognised, and the feed's change signal and signing key. `serve` builds it once.

use crate::check::Checker;
use crate::context::ContextSettings;
use crate::feed_server::FeedSigner;
use crate::identity::Identity;
use crate::slack::SlackSettings;
use crate::store::ChangeSignal;
use crate::store::Db;
use crate::zones::Zones;
use jitgate::wire;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub zones: Arc<Zones>,
    /// The zones as sent to plugins, built once.
    pub wire_zones: Arc<Vec<wire::Zone>>,
    pub identity: Arc<Identity>,
    pub signal: ChangeSignal,
    pub signer: Arc<FeedSigner>,
    /// Answers "would I be allowed?" from a core snapshot of the zones and live grants.
    pub checker: Arc<Checker>,
    /// `[slack]`, when chat approvals are on.
    pub slack: Option<Arc<SlackSettings>>,
    /// Base of the links the service hands out (`Settings::public_url`).
    pub public_url: String,
    /// How far ahead a request may ask its window to start.
    pub schedule_horizon: std::time::Duration,
    /// `[context]`: where approvers learn what a requested resource is.
    pub context: Arc<ContextSettings>,
}

/// For the handlers' tests: a state with the example zones, and a request sent to a router the
/// way `serve` would hand it over.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::identity::Cidr;
    use crate::store::Store;
    use crate::tls::Peer;
    use axum::body::Body;
    use axum::extract::{ConnectInfo, Request};
    use axum::Router;
    use std::time::Duration;
    use tower::ServiceExt;

    /// The example zones on an in-memory store; people come through a proxy on 127.0.0.1,
    /// plugins with the token `plugin-secret`.
    pub fn example() -> AppState {
        let signal = ChangeSignal::new();
        let store = Store::open_in_memory(Duration::from_secs(3600), signal.clone()).unwrap();
        let zones = crate::zones::tests::example();
        AppState {
            db: Db::new(store),
            wire_zones: Arc::new(zones.to_wire()),
            zones: Arc::new(zones),
            identity: Arc::new(Identity::new(
                vec![Cidr::parse("127.0.0.1").unwrap()],
                Arc::new(crate::tokens::PluginTokens::fixed(&["plugin-secret"])),
            )),
            signal,
            signer: Arc::new(FeedSigner::new(jitgate::signature::SigningKey::from_seed(
                [7; 32],
            ))),
            checker: Arc::new(Checker::new("http://127.0.0.1:8470".into())),
            slack: None,
            public_url: "http://127.0.0.1:8470".into(),
            schedule_horizon: Duration::from_secs(7 * 24 * 3600),
            context: Arc::default(),
        }
    }

    /// Sends a JSON-typed request from 127.0.0.1, as `who` (`user` or `user:group,group`)
    /// through the trusted headers when given; returns the status and the body.
    pub async fn send(
        app: &Router,
        method: &str,
        uri: &str,
        who: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(who) = who {
            let (user, groups) = who.split_once(':').unwrap_or((who, ""));
            req = req
                .header("x-forwarded-user", user)
                .header("x-forwarded-groups", groups);
        }
        let mut req = req.body(Body::from(body.to_string())).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(Peer(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            )))));
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// The `error` of a JSON error body.
    pub fn error_of(body: &str) -> String {
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {body}"))
            .to_string()
    }
}
