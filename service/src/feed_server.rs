//! The service's side of the feed plugins follow (the core's follower is the other side): a
//! long-poll is answered the moment the store commits a change (`store::ChangeSignal`), so a
//! revoke reaches plugins in milliseconds, and every reply goes out signed with the service's
//! key (`FeedSigner`). What the feed holds is the store's change log (`store/feed.rs`); this
//! module only waits and signs, and the store never calls it.

use crate::error::Result;
use crate::store::{ChangeSignal, Db};
use jitgate::signature::{PublicKey, SigningKey};
use jitgate::wire::{self, format_time, now_millis};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a feed request is held open.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

fn has_changes(feed: &wire::Feed) -> bool {
    feed.reset || feed.zones.is_some() || !feed.grants.is_empty() || !feed.revoked.is_empty()
}

/// Answers a feed request: at once when there is anything after `after` (or a reset is due),
/// else as soon as something is committed, or with an empty answer when `wait` runs out.
pub async fn next(
    db: &Db,
    signal: &ChangeSignal,
    zones: Arc<Vec<wire::Zone>>,
    after: Option<u64>,
    wait: Duration,
) -> Result<wire::Feed> {
    let deadline = Instant::now() + wait.min(MAX_WAIT);
    let mut changes = signal.subscribe();
    loop {
        // Mark what we have seen before reading, so a commit after the read still wakes us.
        changes.borrow_and_update();
        let z = zones.clone();
        let mut feed = db.call(move |s| s.feed(after, &z, now_millis())).await?;
        if has_changes(&feed) {
            return Ok(feed);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            // Out of time, or the service is shutting down: an empty answer, fresh clock.
            _ => {
                feed.server_time = format_time(now_millis());
                return Ok(feed);
            }
        }
    }
}

/// Signs what the feed sends (`jitgate::signature`) with the service's key, kept in the data
/// dir. A grant is signed once and its signature remembered, not signed again for every
/// follower's reset.
pub struct FeedSigner {
    key: SigningKey,
    memo: Mutex<HashMap<[u8; 32], String>>,
}

/// Beyond this many remembered grant signatures the memo starts over (grants are short-lived;
/// the live ones are signed again at the next reset).
const MEMO_MAX: usize = 500_000;

impl FeedSigner {
    /// The key in `<data_dir>/feed-signing-key` (hex, mode 0600), created at the first start.
    pub fn open(data_dir: &Path) -> std::result::Result<(FeedSigner, bool), String> {
        let path = data_dir.join("feed-signing-key");
        let shown = path.display();
        std::fs::create_dir_all(data_dir).map_err(|e| {
            format!(
                "cannot create the data directory {}: {e}",
                data_dir.display()
            )
        })?;
        let (seed, created) = match std::fs::read_to_string(&path) {
            Ok(text) => {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).map_or(0, |m| m.permissions().mode());
                if mode & 0o077 != 0 {
                    log_event!(
                        "WARNING: {shown} (mode {:o}) can be read by others than its owner: whoever \
                         reads it can sign a feed every plugin trusts; chmod 600 it",
                        mode & 0o777
                    );
                }
                let seed: [u8; 32] = jitgate::signature::unhex(text.trim())
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        format!("{shown} does not hold a feed signing key (64 hex digits)")
                    })?;
                (seed, false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| format!("no random source: {e}"))?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true).mode(0o600);
                options
                    .open(&path)
                    .and_then(|mut f| {
                        f.write_all(format!("{}\n", jitgate::signature::hex(&seed)).as_bytes())?;
                        f.sync_all()
                    })
                    .map_err(|e| format!("cannot write the feed signing key {shown}: {e}"))?;
                (seed, true)
            }
            Err(e) => return Err(format!("cannot read the feed signing key {shown}: {e}")),
        };
        Ok((FeedSigner::new(SigningKey::from_seed(seed)), created))
    }

    pub fn new(key: SigningKey) -> FeedSigner {
        FeedSigner {
            key,
            memo: Mutex::new(HashMap::new()),
        }
    }

    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// The reply's body, with its zones and grants signed and `nonce` inside, and the body's
    /// signature for the `X-Jitgate-Signature` header.
    pub fn sign(&self, mut feed: wire::Feed, nonce: Option<String>) -> (Vec<u8>, String) {
        if let Some(zones) = &feed.zones {
            feed.zones_signature = Some(self.key.zones(zones));
        }
        {
            let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
            if memo.len() > MEMO_MAX {
                memo.clear();
            }
            for g in &mut feed.grants {
                g.signature = None;
                let digest: [u8; 32] =
                    Sha256::digest(serde_json::to_vec(&*g).expect("a grant serialises")).into();
                let signature = memo.entry(digest).or_insert_with(|| self.key.grant(g));
                g.signature = Some(signature.clone());
            }
        }
        feed.nonce = nonce;
        let body = serde_json::to_vec(&feed).expect("a feed serialises");
        let signature = self.key.reply(&body);
        (body, signature)
    }
}
