//! The cache file: the snapshot saved under `jitgate.cache.dir`, so a restart while the service
//! is down keeps enforcing what the service last said, and the cache dir's own check.
//!
//! The file is one header line, then the snapshot as a reset feed body:
//! `jitgate-snapshot 2 sha256:<hex of the body>\n{...}`. The zone list and every grant in it
//! carry the service's signatures (`crate::signature`), checked against the pinned key at load:
//! a file that is missing, truncated, corrupted on disk, edited, or holds anything the service
//! did not sign is refused as a whole, since a snapshot that protects less than the service
//! said must never be mistaken for one that protects nothing. The engine then stays closed
//! until the service answers (`Snapshot::closed`). The digest tells damage apart from tampering
//! in the message. What signatures cannot tell is an old signed piece put back (a revoked grant
//! restored before its expiry): what keeps others from writing the file is the cache dir (this
//! process's user's, mode 0700, checked at start) and the file's own owner and type (checked
//! here), and the service's first answer replaces it all.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::signature::{hex, PublicKey};
use crate::snapshot::Snapshot;
use crate::wire::{self, Feed};

const MAGIC: &str = "jitgate-snapshot 2 sha256:";

/// Why a cache file was not used.
#[derive(Debug, PartialEq)]
pub enum Refused {
    Missing,
    Unreadable(String),
}

/// The cache file of an engine configured by `config`.
pub fn file(config: &Config) -> PathBuf {
    config.cache_dir.join("snapshot.json")
}

/// Creates the cache dir (mode 0700) or checks the one there: it must be a real directory owned
/// by this process's user and closed to others, since whoever can write it decides which grants
/// a restart enforces.
pub fn private_dir(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Err(_) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create jitgate.cache.dir {shown}: {e}")),
        Ok(m) => {
            // /proc/self belongs to the process's effective user
            let me = std::fs::metadata("/proc/self")
                .map(|p| p.uid())
                .unwrap_or(u32::MAX);
            if !m.is_dir() {
                Err(format!(
                    "jitgate.cache.dir {shown} is not a directory (a symlink is not accepted)"
                ))
            } else if m.uid() != me {
                Err(format!(
                    "jitgate.cache.dir {shown} belongs to uid {}, not to this process's user {me}",
                    m.uid()
                ))
            } else if m.permissions().mode() & 0o022 != 0 {
                Err(format!(
                    "jitgate.cache.dir {shown} is writable by other users; make it mode 0700"
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// The snapshot an engine starts from, with the body it was built from: the cache file's when
/// it can be verified, else the closed snapshot (every `hdfs:` and `hive:` key denied until the
/// service answers), with a warning that says why.
pub fn load_or_closed(config: &Config) -> (Snapshot, Option<Feed>) {
    let path = file(config);
    match load(&path, &config.fallback_zones, config.service_key.as_ref()) {
        Ok((s, body)) => (s, Some(body)),
        Err(why) => {
            let shown = path.display();
            let why = match why {
                Refused::Missing => format!("there is no cached snapshot at {shown}"),
                Refused::Unreadable(e) => format!("refusing the cached snapshot {shown}: {e}"),
            };
            eprintln!(
                "jitgate: WARNING: {why}; every hdfs: and hive: resource is denied \
                 (no grant data yet) until the approval service answers"
            );
            (Snapshot::closed(), None)
        }
    }
}

/// The file's bytes for a feed body: header line with the body's digest, then the body.
pub fn encode(feed: &Feed) -> Vec<u8> {
    let body = serde_json::to_vec(feed).expect("a feed body always serialises");
    let mut out = format!("{MAGIC}{}\n", hex(&Sha256::digest(&body))).into_bytes();
    out.extend_from_slice(&body);
    out
}

/// The feed body in `bytes`, if the header is ours and the digest matches.
pub fn decode(bytes: &[u8]) -> Result<Feed, String> {
    let newline = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let (header, body) = (&bytes[..newline], &bytes[newline + 1..]);
    let header = std::str::from_utf8(header).map_err(|_| "the header is not text")?;
    let want = header
        .strip_prefix(MAGIC)
        .ok_or_else(|| format!("the header is not `{MAGIC}<hex>`"))?;
    if hex(&Sha256::digest(body)) != want {
        return Err("its digest does not match its contents (edited or corrupted)".into());
    }
    let feed: Feed = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !feed.reset || feed.zones.is_none() {
        return Err("it is not a full snapshot".into());
    }
    Ok(feed)
}

/// Saves `body` (a full snapshot as the service signed it), written to a temp file and renamed
/// so a crash never leaves half a file.
pub fn save(path: &Path, body: &Feed) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&encode(body))?;
    // on disk before the rename, so a power loss leaves the old snapshot or the new, never an empty one
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The saved snapshot, verified against `key`, with `fallback` zones added, and the body it was
/// built from; refused whole when anything in it cannot be read or is not signed, since
/// enforcing part of it would open what the rest protected.
pub fn load(
    path: &Path,
    fallback: &[crate::model::Resource],
    key: Option<&PublicKey>,
) -> Result<(Snapshot, Feed), Refused> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Refused::Missing),
        Err(e) => return Err(Refused::Unreadable(e.to_string())),
        Ok(m) if !m.file_type().is_file() => {
            return Err(Refused::Unreadable(
                "it is not a regular file (a symlink is not accepted)".into(),
            ))
        }
        Ok(m) if Some(m.uid()) != own_uid() => {
            return Err(Refused::Unreadable(format!(
                "it belongs to uid {}, not to this process's user",
                m.uid()
            )))
        }
        Ok(_) => {}
    }
    let key = key.ok_or_else(|| {
        Refused::Unreadable("there is no jitgate.service.public.key to verify it with".into())
    })?;
    let bytes = std::fs::read(path).map_err(|e| Refused::Unreadable(e.to_string()))?;
    let feed = decode(&bytes).map_err(Refused::Unreadable)?;
    verify(&feed, key).map_err(Refused::Unreadable)?;
    let (s, skipped) = Snapshot::build(
        feed.cursor,
        feed.zones.clone().unwrap_or_default(),
        feed.grants.clone(),
        fallback,
        wire::now_millis(),
    );
    match skipped.first() {
        Some(k) => Err(Refused::Unreadable(format!(
            "an entry cannot be read: {}",
            k.0
        ))),
        None => Ok((s, feed)),
    }
}

/// Every piece of a saved snapshot is the service's: its zone list and each grant.
fn verify(feed: &Feed, key: &PublicKey) -> Result<(), String> {
    let zones = feed.zones.as_deref().unwrap_or_default();
    key.zones(zones, feed.zones_signature.as_deref())?;
    feed.grants.iter().try_for_each(|g| key.grant(g))
}

/// The effective uid (`/proc/self` belongs to it).
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SigningKey;
    use crate::wire::{Grant, Zone};

    fn key() -> SigningKey {
        SigningKey::from_seed([5; 32])
    }

    /// A full snapshot with one zone and one live grant, signed by `key()`.
    fn feed() -> Feed {
        let now = 4_000_000_000_000; // in 2096: the grant is live whenever the test runs
        let zones = vec![Zone {
            name: "sales".into(),
            resources: vec!["hdfs:/lake/sales".into()],
            approvers: vec![],
            approvals: 1,
            actions: vec!["read".into()],
            max_duration: "15m".into(),
        }];
        let mut grant = Grant {
            id: "g-1".into(),
            request_id: "r-1".into(),
            user: "alice".into(),
            resources: vec!["hdfs:/lake/sales/orders".into()],
            actions: vec!["read".into()],
            not_before: wire::format_time(now - 1000),
            expires_at: wire::format_time(now + 600_000),
            approvers: vec!["bob".into()],
            single_use: false,
            signature: None,
        };
        grant.signature = Some(key().grant(&grant));
        Feed {
            cursor: 7,
            server_time: wire::format_time(0),
            reset: true,
            zones_signature: Some(key().zones(&zones)),
            zones: Some(zones),
            grants: vec![grant],
            revoked: vec![],
            nonce: None,
        }
    }

    #[test]
    fn a_saved_snapshot_reads_back_and_any_change_to_it_is_refused() {
        let bytes = encode(&feed());
        assert_eq!(decode(&bytes).unwrap(), feed());
        // One byte changed anywhere: the zone's path, the header, or the file cut short.
        let at = bytes.windows(5).position(|w| w == b"sales").unwrap();
        let mut edited = bytes.clone();
        edited[at] = b'S';
        assert!(decode(&edited).unwrap_err().contains("digest"));
        let mut header = bytes.clone();
        header[MAGIC.len()] ^= 1;
        assert!(decode(&header).is_err());
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(b"garbage").is_err());
        assert!(decode(b"").is_err());
        let plain = serde_json::to_vec(&feed()).unwrap();
        assert!(decode(&plain).is_err(), "a body without its header");
    }

    #[test]
    fn a_missing_or_corrupt_file_is_refused_never_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        let public = key().public();
        let load = |p: &Path| load(p, &[], Some(&public));
        assert_eq!(load(&path).unwrap_err(), Refused::Missing);
        std::fs::write(&path, b"\0\0garbage").unwrap();
        assert!(matches!(load(&path), Err(Refused::Unreadable(_))));
        let mut unreadable_zone = feed();
        unreadable_zone.zones.as_mut().unwrap()[0].resources = vec!["nonsense".into()];
        unreadable_zone.zones_signature =
            Some(key().zones(unreadable_zone.zones.as_ref().unwrap()));
        std::fs::write(&path, encode(&unreadable_zone)).unwrap();
        assert!(matches!(load(&path), Err(Refused::Unreadable(m)) if m.contains("entry")));
        save(&path, &feed()).unwrap();
        let (s, body) = load(&path).unwrap();
        assert!(s.verified && s.cursor == 7);
        assert_eq!(body, feed());
        // A link to an intact file elsewhere is not the cache file.
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::rename(&path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(matches!(load(&path), Err(Refused::Unreadable(m)) if m.contains("symlink")));
    }

    /// Whoever edits the file can also fix its digest; only the service's key signs.
    #[test]
    fn an_edited_snapshot_with_a_correct_digest_is_refused_by_its_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        let public = key().public();
        let refused = |f: &Feed| {
            std::fs::write(&path, encode(f)).unwrap();
            match load(&path, &[], Some(&public)) {
                Err(Refused::Unreadable(m)) => m,
                other => panic!("an edited snapshot was taken: {:?}", other.map(|(_, f)| f)),
            }
        };
        let mut no_zones = feed();
        no_zones.zones = Some(vec![]);
        assert!(refused(&no_zones).contains("zone list is not signed by the pinned"));
        let mut longer = feed();
        longer.grants[0].expires_at = wire::format_time(4_100_000_000_000);
        assert!(refused(&longer).contains("grant g-1"));
        let mut other_user = feed();
        other_user.grants[0].user = "mallory".into();
        assert!(refused(&other_user).contains("grant g-1"));
        let mut unsigned = feed();
        unsigned.grants[0].signature = None;
        assert!(refused(&unsigned).contains("not signed"));
        let mut foreign = feed();
        let stranger = SigningKey::from_seed([6; 32]);
        foreign.zones_signature = Some(stranger.zones(foreign.zones.as_ref().unwrap()));
        assert!(refused(&foreign).contains("zone list"));
        // Without a pinned key nothing in it can be trusted.
        save(&path, &feed()).unwrap();
        assert!(
            matches!(load(&path, &[], None), Err(Refused::Unreadable(m)) if m.contains("public.key"))
        );
        assert!(load(&path, &[], Some(&public)).is_ok());
    }
}
