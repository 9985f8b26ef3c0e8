//! The snapshot saved under `jitgate.cache.dir`, so a restart while the service is down keeps
//! enforcing what the service last said.
//!
//! The file is one header line, then the snapshot as a reset feed body:
//! `jitgate-snapshot 1 sha256:<hex of the body>\n{...}`. A file that is missing, truncated,
//! corrupted on disk or changed without its digest fails the digest or the parse and is refused
//! as a whole: a snapshot that protects less than the service said must never be mistaken for
//! one that protects nothing. The engine then stays closed until the service answers
//! (`Snapshot::closed`). The digest has no key, so it tells damage, not intent: what keeps
//! others from writing the file is the cache dir (this process's user's, mode 0700, checked at
//! start) and the file's own owner and type (checked here). A signature of the service's
//! replaces the digest once the feed is signed.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::snapshot::Snapshot;
use crate::wire::{self, Feed};

const MAGIC: &str = "jitgate-snapshot 1 sha256:";

/// Why a cache file was not used.
#[derive(Debug, PartialEq)]
pub enum Refused {
    Missing,
    Unreadable(String),
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

/// Saves `s`, written to a temp file and renamed so a crash never leaves half a file.
pub fn save(path: &Path, s: &Snapshot) -> std::io::Result<()> {
    let body = Feed {
        cursor: s.cursor,
        server_time: wire::format_time(wire::now_millis()),
        reset: true,
        zones: Some(s.zones.clone()),
        grants: s.grants.clone(),
        revoked: vec![],
    };
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&encode(&body))?;
    // on disk before the rename, so a power loss leaves the old snapshot or the new, never an empty one
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The saved snapshot, verified, with `fallback` zones added; refused whole when anything in
/// it cannot be read, since enforcing part of it would open what the rest protected.
pub fn load(path: &Path, fallback: &[crate::model::Resource]) -> Result<Snapshot, Refused> {
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
    let bytes = std::fs::read(path).map_err(|e| Refused::Unreadable(e.to_string()))?;
    let feed = decode(&bytes).map_err(Refused::Unreadable)?;
    let (s, skipped) = Snapshot::build(
        feed.cursor,
        feed.zones.unwrap_or_default(),
        feed.grants,
        fallback,
        wire::now_millis(),
    );
    match skipped.first() {
        Some(k) => Err(Refused::Unreadable(format!(
            "an entry cannot be read: {}",
            k.0
        ))),
        None => Ok(s),
    }
}

/// The effective uid (`/proc/self` belongs to it).
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Zone;

    fn feed() -> Feed {
        Feed {
            cursor: 7,
            server_time: wire::format_time(0),
            reset: true,
            zones: Some(vec![Zone {
                name: "sales".into(),
                resources: vec!["hdfs:/lake/sales".into()],
                approvers: vec![],
                approvals: 1,
                actions: vec!["read".into()],
                max_duration: "15m".into(),
            }]),
            grants: vec![],
            revoked: vec![],
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
        assert_eq!(load(&path, &[]).unwrap_err(), Refused::Missing);
        std::fs::write(&path, b"\0\0garbage").unwrap();
        assert!(matches!(load(&path, &[]), Err(Refused::Unreadable(_))));
        let mut unreadable_zone = feed();
        unreadable_zone.zones.as_mut().unwrap()[0].resources = vec!["nonsense".into()];
        std::fs::write(&path, encode(&unreadable_zone)).unwrap();
        assert!(matches!(load(&path, &[]), Err(Refused::Unreadable(m)) if m.contains("entry")));
        std::fs::write(&path, encode(&feed())).unwrap();
        let s = load(&path, &[]).unwrap();
        assert!(s.verified && s.cursor == 7);
        // A link to an intact file elsewhere is not the cache file.
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::rename(&path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(matches!(load(&path, &[]), Err(Refused::Unreadable(m)) if m.contains("symlink")));
    }
}
