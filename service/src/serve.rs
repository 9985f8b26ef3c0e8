//! `jitgate serve`: opens the store, loads the plugin tokens, binds, and runs the API with a
//! periodic sweep beside it.

use crate::check::Checker;
use crate::config::{AuthMode, Settings};
use crate::feed_server::FeedSigner;
use crate::identity::Identity;
use crate::notify;
use crate::oidc::Oidc;
use crate::router;
use crate::signin::SignIn;
use crate::state::AppState;
use crate::store::{hear_other_replicas, ChangeSignal, Db, Store};
use crate::tls::{self, Peer, TlsListener};
use crate::tokens::{self, TokenSource};
use jitgate::wire::now_millis;
use std::sync::Arc;
use std::time::Duration;

/// Expiry and escalation happen within this of their time.
/// Issuers rotate keys; the JWKS is re-read this often.
const JWKS_REFRESH_EVERY: Duration = Duration::from_secs(600);

/// Expiry and escalation happen within this of their time.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

pub async fn run(settings: Settings) -> Result<(), String> {
    let signal = ChangeSignal::new();
    let location = settings.store_location();
    let wire_zones = settings.zones.to_wire();
    // Database calls block: off the async threads (PostgreSQL's client runs a runtime of its own).
    let db = {
        let (location, zones, signal) = (location.clone(), wire_zones.clone(), signal.clone());
        let (timeout, hooks) = (settings.pending_timeout, settings.webhooks.len());
        tokio::task::spawn_blocking(move || {
            let mut store = Store::connect(&location, timeout, signal)?;
            store
                .record_zones(&zones, now_millis())
                .map_err(|e| e.to_string())?;
            store.set_webhooks(hooks);
            Ok::<_, String>(Db::new(store))
        })
        .await
        .map_err(|e| format!("opening the store failed: {e}"))??
    };
    hear_other_replicas(&location, signal.clone());
    let (tokens, source) = tokens::open(settings.tokens_file.as_deref(), &settings.data_dir)?;
    let (count, unbound) = tokens.counts();
    match source {
        TokenSource::File(p) => {
            log_event!("plugin tokens: {} ({count} tokens)", p.display())
        }
        TokenSource::Generated(p) | TokenSource::Existing(p) => log_event!(
            "plugin token: {} (plugins on this host: jitgate.service.token.file={})",
            p.display(),
            p.display()
        ),
    }
    let (signer, created) = FeedSigner::open(&settings.data_dir)?;
    log_event!(
        "feed signing key: {} {}; plugins pin its public key: jitgate.service.public.key={}",
        settings.data_dir.join("feed-signing-key").display(),
        if created { "(new)" } else { "" },
        signer.public()
    );
    log_event!(
        "zones: {}",
        wire_zones
            .iter()
            .map(|z| format!("{} {:?}", z.name, z.resources))
            .collect::<Vec<_>>()
            .join("; ")
    );

    for warning in settings.zones.storage_warnings() {
        log_event!("WARNING: {warning}");
    }

    for (i, w) in settings.webhooks.iter().enumerate() {
        log_event!(
            "webhook {i}: {:?} to {}{}",
            w.kind,
            w.url,
            if w.secret.is_some() { " (signed)" } else { "" }
        );
    }
    if unbound > 0 {
        log_event!(
            "WARNING: {unbound} plugin token(s) bound to no host: whoever holds one may post audit \
             events in any host's name; issue bound ones with `jitgate token add --host NAME`"
        );
    }
    let mut identity = Identity::new(settings.trusted_proxies.clone(), Arc::new(tokens))
        .with_proxy_secret(settings.proxy_secret.clone())
        .with_exact_user_names(settings.exact_user_names)
        .with_auditors(settings.auditors.clone());
    match &settings.auth {
        AuthMode::TrustedHeader => {
            log_event!("auth: trusted headers from {:?}", settings.trusted_proxies)
        }
        AuthMode::Oidc(o) => {
            let oidc = Arc::new(Oidc::load(o.clone())?);
            log_event!(
                "auth: OIDC ID tokens from {} for audience {} ({} keys); trusted headers from {:?}",
                o.issuer,
                o.audience,
                oidc.key_count(),
                settings.trusted_proxies
            );
            let again = oidc.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(JWKS_REFRESH_EVERY).await;
                    let o = again.clone();
                    match tokio::task::spawn_blocking(move || o.refresh()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => {
                            log_event!("auth: JWKS refresh failed, keeping the old keys: {e}")
                        }
                        Err(e) => log_event!("auth: JWKS refresh failed: {e}"),
                    }
                }
            });
            if o.sign_in.is_some() {
                let sign_in = SignIn::new(oidc.clone(), &settings.public_url())?;
                log_event!(
                    "auth: web sign-in at {} as client {}; the provider sends people back to {}",
                    o.issuer,
                    o.sign_in.as_ref().map_or("", |s| s.client_id.as_str()),
                    sign_in.redirect_uri()
                );
                identity = identity.with_sign_in(Arc::new(sign_in));
            }
            identity = identity.with_oidc(oidc);
        }
        AuthMode::Dev { users } => {
            log_event!(
                "auth: DEV MODE: anyone who can reach this service may act as {} — never use this for real data",
                users.join(", ")
            );
            identity = identity.with_dev_users(users);
        }
    }
    let state = AppState {
        db: db.clone(),
        zones: Arc::new(settings.zones.clone()),
        wire_zones: Arc::new(wire_zones),
        identity: Arc::new(identity),
        signal,
        signer: Arc::new(signer),
        checker: Arc::new(Checker::new(settings.public_url())),
        slack: settings.slack.clone().map(Arc::new),
        public_url: settings.public_url(),
        schedule_horizon: settings.schedule_horizon,
        context: Arc::new(settings.context.clone()),
    };
    // Read before binding, so a bad certificate stops the start before anyone connects.
    let tls = match &settings.tls {
        Some(t) => Some(tls::server_config(&t.cert_file, &t.key_file)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    if tls.is_none() && !tls::loopback_only(&settings.listen) {
        log_event!(
            "WARNING: listening on {addr} WITHOUT TLS: plugin tokens, sign-in tokens, requests and \
             audit events cross the network in clear, readable and changeable by anyone on the \
             path (the feed stays signed). Set [tls] cert_file and key_file."
        );
    }
    log_event!(
        "store in {location}; keys and tokens in {}; links use {}",
        settings.data_dir.display(),
        settings.public_url()
    );

    if let Some(slack) = &settings.slack {
        log_event!(
            "slack: button clicks at {}/v1/slack/actions, {} users mapped{}",
            settings.public_url(),
            slack.users.len(),
            if slack.match_usernames {
                ", others by their username"
            } else {
                ""
            }
        );
    }
    // Slack messages carry Approve / Deny buttons only when their clicks can be verified.
    tokio::spawn(notify::run(
        db.clone(),
        Arc::new(settings.webhooks.clone()),
        settings.public_url(),
        settings.slack.is_some(),
    ));
    let zones = Arc::new(settings.zones.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            let z = zones.clone();
            if let Err(e) = db.call(move |s| s.sweep(&z, now_millis())).await {
                log_event!("sweep failed: {e}");
            }
        }
    });

    let app = router::app(state).into_make_service_with_connect_info::<Peer>();
    match tls {
        Some(config) => {
            let listener = TlsListener::new(listener, config).map_err(|e| e.to_string())?;
            println!("jitgate serve listening on https://{addr}");
            axum::serve(listener, app).await
        }
        None => {
            println!("jitgate serve listening on http://{addr}");
            axum::serve(listener, app).await
        }
    }
    .map_err(|e| format!("the server stopped: {e}"))
}
