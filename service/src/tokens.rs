//! Plugin tokens: what lets a plugin follow the feed, post audit events and consume single-use
//! grants, and nothing else. Each token may be bound to a host (`host=`): the service then
//! stamps that host on every audit event the token posts, whatever the body says. A token for
//! a process that runs as one person (a Spark driver) may also be bound to that user (`user=`):
//! its feed carries only that user's grants, and it may post events and consume grants of that
//! user alone.
//!
//! The tokens file holds one token per line: `sha256:<hex> host=<name> [user=<name>]`, as
//! `jitgate token add` writes it (only the token's SHA-256 is kept, so reading the file or a
//! backup gives no one a token), or a token in clear with the same options, or a bare token,
//! bound to nothing (accepted, and warned about at start). The file is read again when it
//! changes, so a token added or removed takes effect without a restart.

use crate::caller::canonical_user;
use crate::secret::random_token;
use jitgate::signature::hex;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// What one token may act for. `None` is unbound (any host, any user).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    pub host: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// The token's SHA-256.
    digest: [u8; 32],
    scope: Scope,
}

pub struct PluginTokens {
    /// The file, when read from one (reloaded when its modification time changes).
    path: Option<PathBuf>,
    loaded: Mutex<(Option<SystemTime>, Vec<Entry>)>,
}

impl PluginTokens {
    /// Tokens in memory, bound to nothing (tests).
    #[cfg(test)]
    pub fn fixed(tokens: &[&str]) -> PluginTokens {
        let entries = tokens
            .iter()
            .map(|t| Entry {
                digest: digest(t),
                scope: Scope::default(),
            })
            .collect();
        PluginTokens {
            path: None,
            loaded: Mutex::new((None, entries)),
        }
    }

    /// Reads `path`; refuses a file with no token or a line it cannot read.
    pub fn load(path: &Path) -> Result<PluginTokens, String> {
        let (modified, entries) = read(path)?;
        if entries.is_empty() {
            return Err(format!("{}: no plugin token in it", path.display()));
        }
        Ok(PluginTokens {
            path: Some(path.to_path_buf()),
            loaded: Mutex::new((modified, entries)),
        })
    }

    /// How many tokens, and how many of them are bound to no host.
    pub fn counts(&self) -> (usize, usize) {
        let loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        let unbound = loaded.1.iter().filter(|e| e.scope.host.is_none()).count();
        (loaded.1.len(), unbound)
    }

    /// The scope of `token`, if it is one of ours.
    pub fn check(&self, token: &str) -> Option<Scope> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(path) = &self.path {
            let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
            if modified != loaded.0 {
                match read(path) {
                    Ok(fresh) => *loaded = fresh,
                    // Half-written or broken: keep the tokens we had, and say so.
                    Err(e) => log_event!("plugin tokens: keeping the last good list: {e}"),
                }
            }
        }
        // Every entry is compared in full, so the time taken says nothing about which one matched.
        let presented = digest(token);
        loaded.1.iter().fold(None, |hit, e| {
            let diff = e
                .digest
                .iter()
                .zip(&presented)
                .fold(0, |d, (a, b)| d | (a ^ b));
            if diff == 0 && hit.is_none() {
                Some(e.scope.clone())
            } else {
                hit
            }
        })
    }
}

fn read(path: &Path) -> Result<(Option<SystemTime>, Vec<Entry>), String> {
    let shown = path.display();
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read plugin tokens from {shown}: {e}"))?;
    let entries = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| parse_line(l).map_err(|e| format!("{shown} line {}: {e}", i + 1)))
        .collect::<Result<_, _>>()?;
    Ok((modified, entries))
}

fn parse_line(line: &str) -> Result<Entry, String> {
    let mut words = line.split_whitespace();
    let first = words.next().ok_or("empty")?;
    let digest = match first.strip_prefix("sha256:") {
        Some(h) => jitgate::signature::unhex(h)
            .and_then(|b| b.try_into().ok())
            .ok_or("`sha256:` takes 64 hex digits")?,
        None => digest(first),
    };
    let mut scope = Scope::default();
    for w in words {
        match w.split_once('=') {
            Some(("host", h)) if valid_name(h) => scope.host = Some(h.to_string()),
            Some(("user", u)) if valid_name(u) => scope.user = Some(canonical_user(u)),
            _ => {
                return Err(format!(
                    "`{w}` is not `host=<name>` or `user=<name>` (letters, digits, `.-_:@/`)"
                ))
            }
        }
    }
    Ok(Entry { digest, scope })
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:@/".contains(&b))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Where the plugin tokens came from, to tell the admin at start.
#[derive(Debug)]
pub enum TokenSource {
    File(PathBuf),
    Generated(PathBuf),
    Existing(PathBuf),
}

/// The file plugin tokens live in: `plugins.tokens_file`, or `<data_dir>/plugin-token`.
pub fn file(tokens_file: Option<&Path>, data_dir: &Path) -> PathBuf {
    tokens_file.map_or_else(|| data_dir.join("plugin-token"), Path::to_path_buf)
}

/// Reads the configured tokens file, or without one uses (and on first start creates, with one
/// token bound to nothing, for a plugin on this host) `<data_dir>/plugin-token`, readable by
/// its owner only.
pub fn open(
    tokens_file: Option<&Path>,
    data_dir: &Path,
) -> Result<(PluginTokens, TokenSource), String> {
    let path = file(tokens_file, data_dir);
    if tokens_file.is_some() {
        let tokens = PluginTokens::load(&path).map_err(|e| format!("plugins.tokens_file {e}"))?;
        return Ok((tokens, TokenSource::File(path)));
    }
    if path.exists() {
        // A file that cannot be read stops the start: it is never replaced.
        let (modified, entries) = read(&path)?;
        if !entries.is_empty() {
            let tokens = PluginTokens {
                path: Some(path.clone()),
                loaded: Mutex::new((modified, entries)),
            };
            return Ok((tokens, TokenSource::Existing(path)));
        }
    }
    let token = random_token();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{token}\n").as_bytes()))
        .map_err(|e| format!("cannot write the plugin token to {}: {e}", path.display()))?;
    Ok((PluginTokens::load(&path)?, TokenSource::Generated(path)))
}

/// Makes a token bound to `host` (and `user`), appends its digest to `path` (created mode
/// 0600), and returns the token, which is shown once and kept nowhere.
pub fn add(path: &Path, host: &str, user: Option<&str>) -> Result<String, String> {
    let mut line = format!("host={host}");
    if let Some(u) = user {
        line.push_str(&format!(" user={u}"));
    }
    // The same rules as reading, so what is written is always read back.
    parse_line(&format!("x {line}"))?;
    let token = random_token();
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| {
            f.write_all(format!("sha256:{} {line}\n", hex(&digest(&token))).as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| format!("cannot add the token to {}: {e}", path.display()))?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_generated_once_with_owner_only_access() {
        let dir = tempfile::tempdir().unwrap();
        let (_, source) = open(None, dir.path()).unwrap();
        assert!(matches!(source, TokenSource::Generated(_)));
        let first = std::fs::read_to_string(dir.path().join("plugin-token")).unwrap();
        assert_eq!(first.trim().len(), 64);
        let (again, source) = open(None, dir.path()).unwrap();
        assert!(matches!(source, TokenSource::Existing(_)));
        assert!(again.check(first.trim()).is_some());
        // An admin's line that cannot be read stops the start; the file is never replaced.
        let file = dir.path().join("plugin-token");
        std::fs::write(&file, format!("{first}typo=x y\n")).unwrap();
        assert!(open(None, dir.path()).is_err());
        assert!(std::fs::read_to_string(&file).unwrap().contains("typo"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("plugin-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn tokens_file_skips_blank_and_comment_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokens");
        std::fs::write(&file, "# hdfs\n\n  tok-a  \ntok-b\n").unwrap();
        let (tokens, _) = open(Some(&file), dir.path()).unwrap();
        assert_eq!(tokens.counts(), (2, 2));
        assert!(tokens.check("tok-a").is_some() && tokens.check("tok-b").is_some());
        std::fs::write(&file, "# none\n").unwrap();
        let err = open(Some(&file), dir.path()).err().unwrap();
        assert!(err.contains("no plugin token"), "{err}");
    }

    #[test]
    fn a_token_is_known_by_its_digest_and_carries_its_scope() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# old style\nplain-token\nclear-token host=nn2\n").unwrap();
        let nn1 = add(&path, "nn1.example", None).unwrap();
        let alice = add(&path, "spark-gw", Some("Alice@EXAMPLE.COM")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&nn1) && !text.contains(&alice), "{text}");
        let tokens = PluginTokens::load(&path).unwrap();
        assert_eq!(tokens.counts(), (4, 1));
        assert_eq!(tokens.check("plain-token"), Some(Scope::default()));
        let host = |h: &str| Some(h.to_string());
        assert_eq!(tokens.check("clear-token").unwrap().host, host("nn2"));
        assert_eq!(tokens.check(&nn1).unwrap().host, host("nn1.example"));
        let a = tokens.check(&alice).unwrap();
        assert_eq!((a.host, a.user), (host("spark-gw"), host("alice")));
        assert_eq!(tokens.check("plain-toke"), None);
        assert_eq!(tokens.check(""), None);
    }

    #[test]
    fn the_file_is_read_again_when_it_changes_and_a_broken_one_keeps_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "first host=a\n").unwrap();
        let tokens = PluginTokens::load(&path).unwrap();
        assert!(tokens.check("first").is_some());
        let set_time = |secs: u64| {
            let f = std::fs::File::options().write(true).open(&path).unwrap();
            f.set_modified(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
                .unwrap();
        };
        std::fs::write(&path, "second host=b\n").unwrap();
        set_time(1_000);
        assert!(
            tokens.check("first").is_none(),
            "a removed token stops at once"
        );
        assert!(tokens.check("second").is_some());
        std::fs::write(&path, "third host=c weird\n").unwrap();
        set_time(2_000);
        assert!(
            tokens.check("second").is_some(),
            "a broken file keeps the last list"
        );
        assert!(PluginTokens::load(&path).err().unwrap().contains("weird"));
        assert!(add(&path, "bad host", None).is_err());
        assert!(add(&path, "ok", Some("")).is_err());
    }
}
