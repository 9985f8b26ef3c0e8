//! What the C ABI and JNI share: engine handles and the one shape every export has
//! (catch panics, convert arguments, call the core, convert the result).
//!
//! A handle is a generation-checked slot number, not a pointer: a closed, stale or forged
//! handle finds no engine and every call on it is denied, never undefined behaviour.

pub mod c;
pub mod java;

use std::borrow::Cow;
use std::cell::RefCell;
use std::panic::{catch_unwind, UnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;

use crate::config::Config;
use crate::engine::{self, Access, Engine};
use crate::model::{canonical_key, ActionSet};
use crate::snapshot::DenyReason;

const SLOTS: usize = 64;

struct Slot {
    handle: u64,
    engine: Engine,
}

static TABLE: [ArcSwapOption<Slot>; SLOTS] = [const { ArcSwapOption::const_empty() }; SLOTS];
static GENERATION: AtomicU64 = AtomicU64::new(1);
/// Serialises open and close only; decisions never take it.
static OPEN_CLOSE: Mutex<()> = Mutex::new(());

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    /// The engine this thread called last. A call finds it here without touching the table:
    /// loading a table slot and releasing it are two atomic read-modify-writes, some 20 ns of
    /// every decision. A closed engine stays in memory until each thread that called it last
    /// calls another engine or ends; engines live as long as their process, bar tests.
    static LAST: RefCell<Option<Arc<Slot>>> = const { RefCell::new(None) };
}

/// Kept for `last_error` on this thread; lost on a thread that is exiting, past its
/// thread-locals, where a panic here would abort the process.
pub fn set_last_error(msg: impl Into<String>) {
    let msg = msg.into();
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = msg);
}

pub fn last_error() -> String {
    LAST_ERROR
        .try_with(|e| e.borrow().clone())
        .unwrap_or_default()
}

/// Runs `f`, turning a panic into `on_panic` and a last-error message, so nothing unwinds
/// across the boundary.
pub fn guarded<T>(on_panic: T, f: impl FnOnce() -> T + UnwindSafe) -> T {
    match catch_unwind(f) {
        Ok(v) => v,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(format!("jitgate internal error: {what}"));
            on_panic
        }
    }
}

/// Starts an engine and returns its handle (never 0), or 0 with the last error set.
pub fn open(config_text: &str) -> u64 {
    let started = Config::parse(config_text).and_then(Engine::start);
    let engine = match started {
        Ok(e) => e,
        Err(msg) => {
            set_last_error(msg);
            return 0;
        }
    };
    let _lock = OPEN_CLOSE.lock().unwrap_or_else(|p| p.into_inner());
    let Some(i) = TABLE.iter().position(|s| s.load().is_none()) else {
        engine.close();
        set_last_error(format!("too many open jitgate engines (at most {SLOTS})"));
        return 0;
    };
    let handle = (GENERATION.fetch_add(1, Ordering::Relaxed) << 8) | i as u64;
    TABLE[i].store(Some(Arc::new(Slot { handle, engine })));
    handle
}

/// Calls `f` with the engine of `handle`, or returns `None` when there is none (or it closed).
#[inline]
pub fn with_engine<T>(handle: u64, f: impl FnOnce(&Engine) -> T) -> Option<T> {
    let mut f = Some(f);
    // Some(answer) when this thread's last engine is the handle's (the answer None if it closed);
    // None when it is not, or on a thread exiting past its thread-locals.
    let cached = LAST
        .try_with(|last| {
            let last = last.try_borrow().ok()?;
            let s = last.as_ref().filter(|s| s.handle == handle)?;
            let f = f.take()?;
            Some((!s.engine.live().closed()).then(|| f(&s.engine)))
        })
        .ok()
        .flatten();
    if let Some(answer) = cached {
        return answer;
    }
    let slot = TABLE.get((handle & 0xff) as usize)?.load_full()?;
    if slot.handle != handle {
        return None;
    }
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(slot.clone());
        }
    });
    f.take().map(|f| f(&slot.engine))
}

/// Action bit of the C ABI and JNI: the access changes the entry itself (delete, rename), so
/// zones below it must be covered too.
pub(crate) const SUBTREE: u32 = c::JITGATE_SUBTREE;

/// The numbers C and Java share, by their names in include/jitgate.h (`JITGATE_<name>`) and in
/// Action.java and Decision.java. `c` ties each to the core's enums when it compiles; Java's
/// ConstantsTest asks the library for them (`JitGateNative.constant`).
pub(crate) const CONSTANTS: [(&str, i64); 14] = [
    ("READ", c::JITGATE_READ as i64),
    ("WRITE", c::JITGATE_WRITE as i64),
    ("EXPORT", c::JITGATE_EXPORT as i64),
    ("TRANSFORM", c::JITGATE_TRANSFORM as i64),
    ("SUBTREE", c::JITGATE_SUBTREE as i64),
    ("NOT_PROTECTED", c::JITGATE_NOT_PROTECTED as i64),
    ("ALLOW", c::JITGATE_ALLOW as i64),
    ("DENY_NO_GRANT", c::JITGATE_DENY_NO_GRANT as i64),
    ("DENY_NO_SNAPSHOT", c::JITGATE_DENY_NO_SNAPSHOT as i64),
    (
        "DENY_AUDIT_UNAVAILABLE",
        c::JITGATE_DENY_AUDIT_UNAVAILABLE as i64,
    ),
    ("DENY_BAD_INPUT", c::JITGATE_DENY_BAD_INPUT as i64),
    ("DENY_CLOSED", c::JITGATE_DENY_CLOSED as i64),
    ("DENY_INTERNAL", c::JITGATE_DENY_INTERNAL as i64),
    ("DENY_UNMAPPED", c::JITGATE_DENY_UNMAPPED as i64),
];

/// What a bare absolute path (`/lake/x`) is read with: it is an HDFS path, so the NameNode
/// passes its paths as they are (a concatenation per call spared).
pub(crate) const HDFS: &str = "hdfs:";

/// Where a bare absolute path takes its `hdfs:`: before its last leading slash, as Hadoop's
/// Path reads `//lake/x` (before the first, `lake` would read as a NameNode's host). None for
/// any other text.
fn bare_path(text: &[u8]) -> Option<usize> {
    text.iter()
        .take_while(|&&b| b == b'/')
        .count()
        .checked_sub(1)
}

/// A resource as both bridges read it: `text`, or `hdfs:<text>` for a bare absolute path.
pub fn resource(text: &str) -> Cow<'_, str> {
    match bare_path(text.as_bytes()) {
        Some(at) => Cow::Owned(format!("{HDFS}{}", &text[at..])),
        None => Cow::Borrowed(text),
    }
}

/// `resource` without allocating: `raw` is `HDFS.len()` bytes of room, then the text. None
/// when the text is not UTF-8.
pub fn resource_in_place(raw: &mut [u8]) -> Option<&str> {
    let start = match bare_path(&raw[HDFS.len()..]) {
        Some(at) => {
            raw[at..at + HDFS.len()].copy_from_slice(HDFS.as_bytes());
            at
        }
        None => HDFS.len(),
    };
    std::str::from_utf8(&raw[start..]).ok()
}

/// A decision's user, operation and context, which a bridge reads only when the answer needs
/// them: for JNI each read is a call into the JVM, about as costly as the decision itself.
pub trait Strings {
    /// Whether the caller passed a user at all (no read needed to tell).
    fn has_user(&self) -> bool;
    /// Reads user, operation and context (None: not passed, or unreadable) and hands them to `f`.
    fn read<T>(self, f: impl FnOnce(Option<&str>, Option<&str>, Option<&str>) -> T) -> T;
}

impl Strings for (Option<&str>, Option<&str>, Option<&str>) {
    fn has_user(&self) -> bool {
        self.0.is_some()
    }

    fn read<T>(self, f: impl FnOnce(Option<&str>, Option<&str>, Option<&str>) -> T) -> T {
        f(self.0, self.1, self.2)
    }
}

/// The decision of both bridges: `actions` (action bits, and `SUBTREE`) on `resource`, the
/// caller's text as `resource` (or `resource_in_place`) reads it. A missing user or
/// resource, or a resource the core cannot read, is bad input: denied and recorded, wherever
/// it lies, since the caller did not say who acts or on what. A closed or unknown handle is
/// denied with nothing recorded (there is no audit trail to record in).
pub fn decide(handle: u64, resource: Option<&str>, actions: u32, strings: impl Strings) -> i32 {
    with_engine(handle, |e| {
        let subtree = actions & SUBTREE != 0;
        let snap = e.snapshot();
        // The key and what it meets in the index, before any string is read: outside every
        // zone that is the whole answer.
        let found = match resource.map(canonical_key) {
            Some(Ok(key)) if strings.has_user() => match snap.on_path(&key, subtree) {
                Some(on_path) => Some((key, on_path)),
                None => return c::JITGATE_NOT_PROTECTED,
            },
            _ => None,
        };
        strings.read(|user, operation, context| {
            let access = Access {
                user: user.unwrap_or(""),
                resource: resource.unwrap_or(""),
                actions: ActionSet::from_bits(actions),
                subtree,
                operation,
                context,
            };
            match (&found, user) {
                (Some((key, on_path)), Some(_)) => e.decide_on(&snap, on_path, &access, key).code(),
                _ => e.refuse(&access, DenyReason::BadInput).code(),
            }
        })
    })
    .unwrap_or(DenyReason::Closed as i32)
}

/// A move's decision (rename, a concat's source into its target), the same for both bridges:
/// see `Engine::decide_move`. A missing string is bad input, recorded and denied.
pub fn decide_move(
    handle: u64,
    user: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    actions: u32,
    operation: Option<&str>,
    context: Option<&str>,
) -> i32 {
    let (from, to) = (from.map(resource), to.map(resource));
    with_engine(handle, |e| {
        let access = Access {
            user: user.unwrap_or(""),
            resource: from.as_deref().unwrap_or(""),
            actions: ActionSet::from_bits(actions),
            subtree: true,
            operation,
            context,
        };
        match (user, &from, &to) {
            (Some(_), Some(_), Some(to)) => e.decide_move(&access, to).code(),
            _ => e.refuse(&access, DenyReason::BadInput).code(),
        }
    })
    .unwrap_or(DenyReason::Closed as i32)
}

/// The denial message for `code`, the same for both bridges; `?` stands for a missing string.
pub fn explain(
    handle: u64,
    user: Option<&str>,
    resource: Option<&str>,
    actions: u32,
    code: i32,
) -> String {
    explain_with(
        handle,
        user,
        resource,
        actions,
        |e, user, resource, actions| e.explain(user, resource, actions, code),
    )
}

/// The denial message for a move `decide_move` refused: it names export when the move leaves
/// a zone.
pub fn explain_move(
    handle: u64,
    user: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    actions: u32,
    code: i32,
) -> String {
    let to = resource(to.unwrap_or_default());
    explain_with(handle, user, from, actions, |e, user, from, actions| {
        e.explain_move(user, from, &to, actions, code)
    })
}

/// `f`'s message with `?` for a missing user or resource; on a closed or unknown handle, the
/// message for that.
fn explain_with(
    handle: u64,
    user: Option<&str>,
    text: Option<&str>,
    actions: u32,
    f: impl FnOnce(&Engine, &str, &str, ActionSet) -> String,
) -> String {
    let user = user.unwrap_or("?");
    let shown = resource(text.unwrap_or("?"));
    let actions = ActionSet::from_bits(actions);
    with_engine(handle, |e| f(e, user, &shown, actions))
        .unwrap_or_else(|| engine::explain("", user, &shown, actions, DenyReason::Closed))
}

/// The engine's numbers as `name value` lines (`crate::metrics`), for both bridges; None on
/// a closed or unknown handle.
pub fn metrics(handle: u64) -> Option<String> {
    with_engine(handle, |e| e.metrics().text())
}

/// Closes the engine of `handle`; later calls with it are denied. Closing twice is harmless.
pub fn close(handle: u64) {
    let _lock = OPEN_CLOSE.lock().unwrap_or_else(|p| p.into_inner());
    let i = (handle & 0xff) as usize;
    let Some(cell) = TABLE.get(i) else { return };
    let current = cell.load_full();
    if let Some(slot) = current.filter(|s| s.handle == handle) {
        cell.store(None);
        slot.engine.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback_value_and_a_last_error() {
        let code = guarded(7, || -> i32 { panic!("boom") });
        assert_eq!(code, 7);
        assert_eq!(last_error(), "jitgate internal error: boom");
    }

    #[test]
    fn closed_and_forged_handles_find_no_engine() {
        let dir = std::env::temp_dir().join(format!("jitgate-bridge-test-{}", std::process::id()));
        let h = open(&format!("jitgate.cache.dir={}", dir.display()));
        assert_ne!(h, 0, "{}", last_error());
        assert_eq!(with_engine(h, |_| 1), Some(1));
        assert_eq!(
            with_engine(h ^ (1 << 8), |_| 1),
            None,
            "another generation of the same slot"
        );
        assert_eq!(
            with_engine(0xffff_ffff, |_| 1),
            None,
            "a slot that does not exist"
        );
        close(h);
        close(h);
        assert_eq!(with_engine(h, |_| 1), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_thread_switching_engines_finds_each_and_none_once_closed() {
        let dir = std::env::temp_dir().join(format!("jitgate-bridge-two-{}", std::process::id()));
        let config = |plugin| {
            format!(
                "jitgate.cache.dir={}\njitgate.plugin={plugin}",
                dir.display()
            )
        };
        let (a, b) = (open(&config("a")), open(&config("b")));
        assert!(a != 0 && b != 0, "{}", last_error());
        let plugin = |h| with_engine(h, |e| e.config().plugin.clone());
        for _ in 0..3 {
            assert_eq!(plugin(a).as_deref(), Some("a"));
            assert_eq!(plugin(b).as_deref(), Some("b"));
        }
        close(a); // b is this thread's last engine
        assert_eq!(plugin(a), None);
        assert_eq!(plugin(b).as_deref(), Some("b"));
        let other = std::thread::spawn(move || plugin(b)).join().unwrap();
        assert_eq!(
            other.as_deref(),
            Some("b"),
            "another thread finds it through the table"
        );
        close(b); // still this thread's last engine
        assert_eq!(plugin(b), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_shared_numbers_are_the_headers_defines() {
        let header = include_str!("../../include/jitgate.h");
        let mut defines: Vec<(&str, i64)> = header
            .lines()
            .filter_map(|l| l.strip_prefix("#define JITGATE_"))
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(name, value)| Some((name, value.parse().ok()?)))
            .collect();
        let mut shared = CONSTANTS.to_vec();
        defines.sort();
        shared.sort();
        assert_eq!(defines, shared);
    }

    #[test]
    fn a_bare_absolute_path_is_an_hdfs_path() {
        for (text, read) in [
            ("/lake/x", "hdfs:/lake/x"),
            ("//lake/x", "hdfs:/lake/x"),
            ("///lake//x", "hdfs:/lake//x"),
            ("/", "hdfs:/"),
            ("hdfs:/lake/x", "hdfs:/lake/x"),
            ("hive:sales.t", "hive:sales.t"),
            ("lake/x", "lake/x"),
            ("", ""),
        ] {
            assert_eq!(resource(text), read, "{text}");
            let mut raw = format!("{}{text}", "?".repeat(HDFS.len())).into_bytes();
            assert_eq!(resource_in_place(&mut raw), Some(read), "{text} in place");
        }
        let mut not_utf8 = b"?????/\xff".to_vec();
        assert_eq!(resource_in_place(&mut not_utf8), None);
    }

    #[test]
    fn a_bad_config_is_refused_with_its_reason() {
        assert_eq!(open("jitgate.nonsense=1"), 0);
        assert!(
            last_error().contains("jitgate.nonsense"),
            "{}",
            last_error()
        );
    }
}
