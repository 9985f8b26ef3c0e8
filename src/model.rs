//! The resource/action model: what can be protected, what can be asked for, and how a
//! resource covers another. This module is the only home of that model; the service, the
//! plugins and the decision all go through it.

use std::fmt;
use std::time::Duration;

/// What went wrong when reading a resource, action or duration someone typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    UnknownScheme(String),
    BadPath(String, &'static str),
    BadHiveName(String),
    UnknownAction(String),
    NoActions,
    BadDuration(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::UnknownScheme(r) => write!(
                f,
                "unknown resource `{r}`: use hdfs:/abs/path, hive:db.table or hive:db.*"
            ),
            ModelError::BadPath(r, why) => write!(f, "bad HDFS resource `{r}`: {why}"),
            ModelError::BadHiveName(r) => write!(
                f,
                "bad Hive resource `{r}`: use hive:db.table or hive:db.* (letters, digits, _)"
            ),
            ModelError::UnknownAction(a) => write!(
                f,
                "unknown action `{a}`: use read, write, export or transform"
            ),
            ModelError::NoActions => {
                write!(f, "no action given: use read, write, export or transform")
            }
            ModelError::BadDuration(d) => {
                write!(f, "bad duration `{d}`: use a form like 90s, 10m or 1h")
            }
        }
    }
}

impl std::error::Error for ModelError {}

/// One thing a grant allows. The numeric values are the bits used across the C ABI and JNI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Action {
    Read = 1,
    Write = 2,
    Export = 4,
    Transform = 8,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Read,
        Action::Write,
        Action::Export,
        Action::Transform,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Write => "write",
            Action::Export => "export",
            Action::Transform => "transform",
        }
    }

    pub fn parse(s: &str) -> Result<Action, ModelError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Action::Read),
            "write" => Ok(Action::Write),
            "export" => Ok(Action::Export),
            "transform" => Ok(Action::Transform),
            _ => Err(ModelError::UnknownAction(s.to_string())),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of actions as bits, so "does this grant cover what is asked" is one AND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ActionSet(pub u8);

impl ActionSet {
    pub const EMPTY: ActionSet = ActionSet(0);
    pub const ALL: ActionSet = ActionSet(0x0f);

    /// Keeps only the bits that name actions; anything else a caller sends is ignored.
    pub fn from_bits(bits: u32) -> ActionSet {
        ActionSet((bits & 0x0f) as u8)
    }

    pub fn contains(self, other: ActionSet) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn with(self, a: Action) -> ActionSet {
        ActionSet(self.0 | a as u8)
    }

    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::ALL
            .into_iter()
            .filter(move |a| self.0 & (*a as u8) != 0)
    }

    /// Parses names such as `["read", "write"]` or `"read,write"` split by the caller.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<ActionSet, ModelError> {
        let mut set = ActionSet::EMPTY;
        for n in names {
            for part in n.split(',').filter(|p| !p.trim().is_empty()) {
                set = set.with(Action::parse(part)?);
            }
        }
        if set.is_empty() {
            return Err(ModelError::NoActions);
        }
        Ok(set)
    }

    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Action::name).collect()
    }
}

impl fmt::Display for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// The kinds of resource jitgate knows. Each has its own separator between a resource and
/// what lies under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Hdfs,
    Hive,
}

impl Scheme {
    fn prefix(self) -> &'static str {
        match self {
            Scheme::Hdfs => "hdfs:",
            Scheme::Hive => "hive:",
        }
    }

    fn separator(self) -> u8 {
        match self {
            Scheme::Hdfs => b'/',
            Scheme::Hive => b'.',
        }
    }

    fn of_key(key: &str) -> Option<Scheme> {
        if key.starts_with("hdfs:") {
            Some(Scheme::Hdfs)
        } else if key.starts_with("hive:") {
            Some(Scheme::Hive)
        } else {
            None
        }
    }
}

/// A resource as a canonical key: `hdfs:/a/b` or `hive:db` (= `hive:db.*`) or `hive:db.table`.
/// Every prefix of the key at the scheme's separator is an ancestor, and a resource covers
/// itself and all its descendants.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    key: String,
}

impl Resource {
    /// Reads a resource someone wrote (a request, a config file): whitespace around it is not
    /// part of it.
    pub fn parse(text: &str) -> Result<Resource, ModelError> {
        Resource::parse_exact(text.trim())
    }

    /// Reads a resource an engine names, as it is: a path's last component may end in
    /// whitespace (`/lake/sales/a ` is not `/lake/sales/a`), so nothing is trimmed.
    pub fn parse_exact(text: &str) -> Result<Resource, ModelError> {
        if let Some(rest) = text.strip_prefix("hdfs:") {
            // Accept full URIs (hdfs://namenode:8020/path) as well as hdfs:/path.
            let path = match rest.strip_prefix("//") {
                Some(authority_and_path) => match authority_and_path.find('/') {
                    Some(i) => &authority_and_path[i..],
                    None => "/",
                },
                None => rest,
            };
            return Ok(Resource {
                key: format!("hdfs:{}", normalize_path(text, path)?),
            });
        }
        if let Some(rest) = text.strip_prefix("hive:") {
            let name = rest.strip_suffix(".*").unwrap_or(rest).to_ascii_lowercase();
            let parts: Vec<&str> = name.split('.').collect();
            let ok_part = |p: &&str| {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            };
            if parts.len() > 3 || !parts.iter().all(ok_part) {
                return Err(ModelError::BadHiveName(text.to_string()));
            }
            return Ok(Resource {
                key: format!("hive:{name}"),
            });
        }
        Err(ModelError::UnknownScheme(text.to_string()))
    }

    /// The canonical key, which is what the decision's hash lookups use.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn scheme(&self) -> Scheme {
        Scheme::of_key(&self.key).expect("a parsed resource has a known scheme")
    }

    /// True when `other` is this resource or lies under it.
    pub fn covers(&self, other: &Resource) -> bool {
        key_covers(&self.key, &other.key)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A bare Hive database means "the database and all its tables".
        match self.scheme() {
            Scheme::Hive if !self.key[5..].contains('.') => write!(f, "{}.*", self.key),
            _ => f.write_str(&self.key),
        }
    }
}

fn normalize_path(text: &str, path: &str) -> Result<String, ModelError> {
    if !path.starts_with('/') {
        return Err(ModelError::BadPath(
            text.to_string(),
            "the path must be absolute",
        ));
    }
    let mut out = String::with_capacity(path.len());
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return Err(ModelError::BadPath(
                text.to_string(),
                "`.` and `..` are not allowed",
            ));
        }
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// True when the key `outer` equals `inner` or is one of its ancestors.
pub fn key_covers(outer: &str, inner: &str) -> bool {
    let Some(scheme) = Scheme::of_key(outer) else {
        return false;
    };
    if !inner.starts_with(outer) {
        return false;
    }
    if inner.len() == outer.len() {
        return true;
    }
    let root = scheme == Scheme::Hdfs && outer.len() == scheme.prefix().len() + 1;
    root || inner.as_bytes()[outer.len()] == scheme.separator()
}

/// Splits a canonical key into its scheme and its components, the steps from the outermost
/// ancestor down: `hdfs:/a/b` → Hdfs, [`a`, `b`]; `hdfs:/` → Hdfs, [].
#[inline]
pub fn components(key: &str) -> Option<(Scheme, Components<'_>)> {
    let scheme = Scheme::of_key(key)?;
    let rest = &key[scheme.prefix().len()..];
    Some((
        scheme,
        Components {
            rest,
            sep: scheme.separator(),
        },
    ))
}

/// The components of a key. A plain byte loop: components are short, and a `memchr` per
/// component costs more in set-up than it saves.
pub struct Components<'a> {
    rest: &'a str,
    sep: u8,
}

impl<'a> Iterator for Components<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        loop {
            let bytes = self.rest.as_bytes();
            if bytes.is_empty() {
                return None;
            }
            let mut end = 0;
            while end < bytes.len() && bytes[end] != self.sep {
                end += 1;
            }
            let part = &self.rest[..end];
            self.rest = &self.rest[(end + 1).min(bytes.len())..];
            if !part.is_empty() {
                return Some(part);
            }
        }
    }
}

/// Reads durations such as `90s`, `10m`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, ModelError> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| ModelError::BadDuration(text.to_string()))?;
    if d.is_zero() {
        return Err(ModelError::BadDuration(text.to_string()));
    }
    Ok(d)
}

/// Writes a duration the way people type it (`15m`, `1h30m`, `45s`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Resource {
        Resource::parse(s).unwrap()
    }

    #[test]
    fn hdfs_paths_are_normalised() {
        assert_eq!(r("hdfs:/lake//sales/").key(), "hdfs:/lake/sales");
        assert_eq!(r("hdfs://nn:8020/lake/sales").key(), "hdfs:/lake/sales");
        assert_eq!(r("hdfs:/").key(), "hdfs:/");
        assert!(Resource::parse("hdfs:lake").is_err());
        assert!(Resource::parse("hdfs:/lake/../etc").is_err());
    }

    /// Found by the `resource` fuzz target: an engine's path ending in whitespace was trimmed,
    /// so `hdfs://nn/lake/sales/a ` (another file) took the key of `a` and its grants.
    #[test]
    fn an_engine_path_keeps_the_whitespace_that_ends_it() {
        let key = canonical_key("hdfs://nn:8020/lake/sales/a ").unwrap();
        assert_eq!(key, "hdfs:/lake/sales/a ");
        assert!(!key_covers("hdfs:/lake/sales/a", &key));
        assert_eq!(
            canonical_key("hdfs:/lake/sales/a\n/").unwrap(),
            "hdfs:/lake/sales/a\n"
        );
        let found = "hdfs://n22:1/(n0\0\0\n/";
        let k = canonical_key(found).unwrap().into_owned();
        assert_eq!(canonical_key(&k).unwrap(), k, "a canonical key is its own");
        // Written by a person, the whitespace around a resource is not part of it.
        assert_eq!(r(" hdfs:/lake/sales/a \n").key(), "hdfs:/lake/sales/a");
    }

    #[test]
    fn hive_names_are_lowercased_and_star_means_database() {
        assert_eq!(r("hive:Sales.Orders").key(), "hive:sales.orders");
        assert_eq!(r("hive:sales.*").key(), "hive:sales");
        assert_eq!(r("hive:sales.*").to_string(), "hive:sales.*");
        assert!(Resource::parse("hive:sales.or-ders").is_err());
        assert!(Resource::parse("s3x://bucket").is_err());
    }

    #[test]
    fn covering_respects_component_boundaries() {
        assert!(r("hdfs:/lake/sales").covers(&r("hdfs:/lake/sales/orders/part-0")));
        assert!(!r("hdfs:/lake/sales").covers(&r("hdfs:/lake/salesforce")));
        assert!(r("hdfs:/").covers(&r("hdfs:/x")));
        assert!(r("hive:sales.*").covers(&r("hive:sales.orders")));
        assert!(!r("hive:sales.*").covers(&r("hive:salesx.orders")));
        assert!(!r("hdfs:/lake").covers(&r("hive:lake")));
    }

    #[test]
    fn components_are_the_steps_below_the_scheme() {
        let (root, parts) = components("hdfs:/a/b").unwrap();
        assert_eq!(
            (root, parts.collect::<Vec<_>>()),
            (Scheme::Hdfs, vec!["a", "b"])
        );
        assert_eq!(components("hdfs:/").unwrap().1.count(), 0);
        assert_eq!(
            components("hdfs://x//y/").unwrap().1.collect::<Vec<_>>(),
            ["x", "y"]
        );
        let (root, parts) = components("hive:db.t").unwrap();
        assert_eq!(
            (root, parts.collect::<Vec<_>>()),
            (Scheme::Hive, vec!["db", "t"])
        );
        assert!(components("s3a://b").is_none());
    }

    #[test]
    fn actions_and_durations_parse_with_clear_errors() {
        assert_eq!(ActionSet::parse(["read,write"]).unwrap(), ActionSet(3));
        assert_eq!(
            ActionSet::parse(["delete"]).unwrap_err().to_string(),
            "unknown action `delete`: use read, write, export or transform"
        );
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("soon").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }
}

/// The canonical key of a resource text, borrowed when the text already is canonical (the
/// NameNode's paths always are) so the decision's hot path does not allocate.
pub fn canonical_key(text: &str) -> Result<std::borrow::Cow<'_, str>, ModelError> {
    if is_canonical(text) {
        return Ok(std::borrow::Cow::Borrowed(text));
    }
    Resource::parse_exact(text).map(|r| std::borrow::Cow::Owned(r.key))
}

fn is_canonical(text: &str) -> bool {
    let b = text.as_bytes();
    if let Some(p) = b.strip_prefix(b"hdfs:") {
        if p.first() != Some(&b'/') || (p.len() > 1 && p[p.len() - 1] == b'/') {
            return false;
        }
        // Fast pass: only `//` or a component starting with `.` can make a path non-canonical.
        let suspicious = slash_then_slash_or_dot(p);
        return !suspicious
            || p.split(|c| *c == b'/')
                .skip(1)
                .all(|c| !c.is_empty() && c != b"." && c != b"..");
    }
    if let Some(name) = b.strip_prefix(b"hive:") {
        let mut dots = 0;
        let mut prev = b'.';
        for &c in name {
            if c == b'.' {
                if prev == b'.' {
                    return false;
                }
                dots += 1;
            } else if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_') {
                return false;
            }
            prev = c;
        }
        return !name.is_empty() && prev != b'.' && dots <= 2;
    }
    false
}

/// Whether some `/` in `p` is followed by `/` or `.`. Eight bytes at a time: this runs on every
/// NameNode call that reaches the core, and a byte loop was most of a decision outside zones.
#[inline]
fn slash_then_slash_or_dot(p: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit of each byte of `w` equal to `c`, exactly.
    let equal = |w: u64, c: u8| {
        let x = w ^ (ONES * c as u64);
        !(((x & LOW7) + LOW7) | x | LOW7)
    };
    let mut carry = false; // the previous word ended in `/`
    let mut chunks = p.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let slash = equal(w, b'/');
        let next = slash | equal(w, b'.');
        // byte i is a slash and byte i + 1 (eight bits up) a slash or a dot; or across words
        if slash & (next >> 8) != 0 || (carry && next & 0x80 != 0) {
            return true;
        }
        carry = slash >> 63 != 0;
    }
    let tail = chunks.remainder();
    let mut prev_slash = carry;
    for &c in tail {
        if prev_slash && (c == b'/' || c == b'.') {
            return true;
        }
        prev_slash = c == b'/';
    }
    false
}

#[cfg(test)]
mod canonical_tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn the_word_scan_finds_what_a_byte_scan_finds() {
        let naive = |p: &[u8]| {
            p.windows(2)
                .any(|w| w[0] == b'/' && (w[1] == b'/' || w[1] == b'.'))
        };
        // Every placement of the suspicious pairs around word boundaries, among plain bytes.
        let base = b"/abcdefgh/ijklmnop/qrstuvwx/yz0123".to_vec();
        for i in 0..base.len() {
            for pair in [&b"//"[..], b"/.", b"./", b"..", b"a/", b"/a"] {
                let mut p = base.clone();
                let end = (i + 2).min(p.len());
                p[i..end].copy_from_slice(&pair[..end - i]);
                assert_eq!(
                    slash_then_slash_or_dot(&p),
                    naive(&p),
                    "{}",
                    String::from_utf8_lossy(&p)
                );
            }
        }
        for p in [
            "/",
            "/a",
            "/.",
            "//",
            "/a/",
            "/a/.b",
            "/aaaaaaa/.b",
            "/aaaaaa//b",
        ] {
            assert_eq!(
                slash_then_slash_or_dot(p.as_bytes()),
                naive(p.as_bytes()),
                "{p}"
            );
        }
    }

    #[test]
    fn canonical_text_is_borrowed_and_the_rest_parsed() {
        assert!(matches!(
            canonical_key("hdfs:/lake/sales/x").unwrap(),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            canonical_key("hive:sales.orders").unwrap(),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            canonical_key("hdfs:/lake//sales/").unwrap(),
            "hdfs:/lake/sales"
        );
        assert_eq!(canonical_key("hive:Sales.*").unwrap(), "hive:sales");
        assert!(canonical_key("hdfs:/lake/../x").is_err());
        assert!(canonical_key("/lake").is_err());
        assert_eq!(
            canonical_key("hdfs:/a/./b").unwrap_err(),
            ModelError::BadPath("hdfs:/a/./b".into(), "`.` and `..` are not allowed")
        );
        assert_eq!(
            canonical_key("hive:a..b").unwrap_err(),
            ModelError::BadHiveName("hive:a..b".into())
        );
        assert!(matches!(canonical_key("hdfs:/").unwrap(), Cow::Borrowed(_)));
        assert!(matches!(
            canonical_key("hdfs:/a/.hidden/b").unwrap(),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            canonical_key("hdfs:/a/..").unwrap_err(),
            ModelError::BadPath("hdfs:/a/..".into(), "`.` and `..` are not allowed")
        );
    }
}
