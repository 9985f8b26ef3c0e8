//! `jitgate serve`: opens the store, loads the plugin tokens, binds, and runs the API with a
//! periodic sweep beside it.

use crate::api::{self, AppState};
use crate::config::Settings;
use crate::feed::ChangeSignal;
use crate::identity::{self, Identity, TokenSource};
use crate::store::{Db, Store};
use jitgate::wire::now_millis;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const SWEEP_EVERY: Duration = Duration::from_secs(30);

pub async fn run(settings: Settings) -> Result<(), String> {
    let signal = ChangeSignal::new();
    let mut store = Store::open(&settings.data_dir, settings.pending_timeout, signal.clone())?;
    let (tokens, source) =
        identity::plugin_tokens(settings.tokens_file.as_deref(), &settings.data_dir)?;
    match source {
        TokenSource::File(p) => {
            log_event!("plugin tokens: {} ({} tokens)", p.display(), tokens.len())
        }
        TokenSource::Generated(p) | TokenSource::Existing(p) => log_event!(
            "plugin token: {} (plugins on this host: jitgate.service.token.file={})",
            p.display(),
            p.display()
        ),
    }
    let wire_zones = settings.zones.to_wire();
    store
        .record_zones(&wire_zones, now_millis())
        .map_err(|e| e.to_string())?;
    log_event!(
        "zones: {}",
        wire_zones
            .iter()
            .map(|z| format!("{} {:?}", z.name, z.resources))
            .collect::<Vec<_>>()
            .join("; ")
    );

    let db = Db::new(store);
    let state = AppState {
        db: db.clone(),
        zones: Arc::new(settings.zones.clone()),
        wire_zones: Arc::new(wire_zones),
        identity: Arc::new(Identity::new(settings.trusted_proxies.clone(), tokens)),
        signal,
    };
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("jitgate serve listening on http://{addr}");
    log_event!(
        "data in {}; links use {}",
        settings.data_dir.display(),
        settings.public_url()
    );

    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = db.call(|s| s.sweep(now_millis())).await {
                log_event!("sweep failed: {e}");
            }
        }
    });

    axum::serve(
        listener,
        api::router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(|e| format!("the server stopped: {e}"))
}
