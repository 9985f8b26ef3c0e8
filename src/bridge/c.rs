//! The C ABI (header: include/jitgate.h, made by cbindgen).

use std::ffi::{c_char, CStr};

use super::{guarded, last_error, set_last_error};
use crate::model::Action;
use crate::snapshot::{Decision, DenyReason};

/// Action bits, combinable.
pub const JITGATE_READ: u32 = 1;
pub const JITGATE_WRITE: u32 = 2;
pub const JITGATE_EXPORT: u32 = 4;
pub const JITGATE_TRANSFORM: u32 = 8;
/// The access changes the entry itself (delete, rename): zones below it must be covered too.
pub const JITGATE_SUBTREE: u32 = 0x100;

/// Decision codes: not protected, allowed, and the reasons for a denial.
pub const JITGATE_NOT_PROTECTED: i32 = 0;
pub const JITGATE_ALLOW: i32 = 1;
pub const JITGATE_DENY_NO_GRANT: i32 = 2;
pub const JITGATE_DENY_NO_SNAPSHOT: i32 = 3;
pub const JITGATE_DENY_AUDIT_UNAVAILABLE: i32 = 4;
pub const JITGATE_DENY_BAD_INPUT: i32 = 5;
pub const JITGATE_DENY_CLOSED: i32 = 6;
pub const JITGATE_DENY_INTERNAL: i32 = 7;
/// A query engine's operation has no row in the core's mapping table (Java plugins' `check`).
pub const JITGATE_DENY_UNMAPPED: i32 = 8;

// The numbers C and Java see are the core's own. Each action and reason is named here (a new one
// fails the build until it has its constant) and must equal the enum's own number; java/common's
// ConstantsTest ties Action.java and Decision.java to these (`super::CONSTANTS`).
const fn action_bit(a: Action) -> u32 {
    match a {
        Action::Read => JITGATE_READ,
        Action::Write => JITGATE_WRITE,
        Action::Export => JITGATE_EXPORT,
        Action::Transform => JITGATE_TRANSFORM,
    }
}

const fn deny_code(r: DenyReason) -> i32 {
    match r {
        DenyReason::NoGrant => JITGATE_DENY_NO_GRANT,
        DenyReason::NoSnapshot => JITGATE_DENY_NO_SNAPSHOT,
        DenyReason::AuditUnavailable => JITGATE_DENY_AUDIT_UNAVAILABLE,
        DenyReason::BadInput => JITGATE_DENY_BAD_INPUT,
        DenyReason::Closed => JITGATE_DENY_CLOSED,
        DenyReason::Internal => JITGATE_DENY_INTERNAL,
        DenyReason::Unmapped => JITGATE_DENY_UNMAPPED,
    }
}

const _: () = {
    use Action::*;
    use DenyReason::*;
    let mut i = 0;
    let actions = [Read, Write, Export, Transform];
    while i < actions.len() {
        assert!(action_bit(actions[i]) == actions[i] as u32);
        assert!(action_bit(actions[i]) & JITGATE_SUBTREE == 0);
        i += 1;
    }
    let reasons = [
        NoGrant,
        NoSnapshot,
        AuditUnavailable,
        BadInput,
        Closed,
        Internal,
        Unmapped,
    ];
    let mut i = 0;
    while i < reasons.len() {
        assert!(deny_code(reasons[i]) == reasons[i] as i32);
        i += 1;
    }
    assert!(JITGATE_NOT_PROTECTED == Decision::<()>::NotProtected.code());
    assert!(JITGATE_ALLOW == Decision::Allow(()).code());
};

unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        return None;
    }
    CStr::from_ptr(p).to_str().ok()
}

/// Copies `s` into `buf` (NUL-terminated, truncated to fit) and returns the length `s` needs
/// without the NUL, so a caller can retry with a larger buffer.
unsafe fn copy_out(s: &str, buf: *mut c_char, len: usize) -> usize {
    if !buf.is_null() && len > 0 {
        let n = s.len().min(len - 1);
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
    }
    s.len()
}

/// Starts an engine from `key=value` lines (the `jitgate.*` keys). Returns its handle, or 0
/// on failure (see `jitgate_last_error`).
///
/// # Safety
/// `config` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn jitgate_open(config: *const c_char) -> u64 {
    guarded(0, || match unsafe { text(config) } {
        Some(c) => super::open(c),
        None => {
            set_last_error("config is NULL or not UTF-8");
            0
        }
    })
}

/// Decides one access: 0 not protected, 1 allowed, 2 and above denied (`JITGATE_DENY_*`).
/// `resource` is `hdfs:/path`, `hive:db.table`, or a bare absolute path, which is an HDFS path.
/// A NULL user or resource is denied as bad input (and recorded), wherever the resource lies.
/// `operation` and `context` may be NULL; they are recorded in the audit trail.
///
/// # Safety
/// Every pointer must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn jitgate_decide(
    engine: u64,
    user: *const c_char,
    resource: *const c_char,
    actions: u32,
    operation: *const c_char,
    context: *const c_char,
) -> i32 {
    guarded(DenyReason::Internal as i32, || unsafe {
        let resource = text(resource).map(super::resource);
        let strings = (text(user), text(operation), text(context));
        super::decide(engine, resource.as_deref(), actions, strings)
    })
}

/// Decides moving `source` to `destination` (a rename, a concat's source into its target):
/// `actions` on what moves, and `export` as well when the destination lies outside a zone the
/// source carries. Codes as for `jitgate_decide`.
///
/// # Safety
/// Every pointer must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn jitgate_decide_move(
    engine: u64,
    user: *const c_char,
    source: *const c_char,
    destination: *const c_char,
    actions: u32,
    operation: *const c_char,
    context: *const c_char,
) -> i32 {
    guarded(DenyReason::Internal as i32, || unsafe {
        super::decide_move(
            engine,
            text(user),
            text(source),
            text(destination),
            actions,
            text(operation),
            text(context),
        )
    })
}

/// Writes the denial message for `code` into `buf`; returns the length it needs.
///
/// # Safety
/// Strings as for `jitgate_decide`; `buf` must have room for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn jitgate_explain(
    engine: u64,
    user: *const c_char,
    resource: *const c_char,
    actions: u32,
    code: i32,
    buf: *mut c_char,
    len: usize,
) -> usize {
    guarded(0, || unsafe {
        let msg = super::explain(engine, text(user), text(resource), actions, code);
        copy_out(&msg, buf, len)
    })
}

/// The last error of this thread (from `jitgate_open`), copied like `jitgate_explain`.
///
/// # Safety
/// `buf` must have room for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn jitgate_last_error(buf: *mut c_char, len: usize) -> usize {
    guarded(0, || unsafe { copy_out(&last_error(), buf, len) })
}

/// Writes the engine's metrics into `buf` as `name value` lines (`decisions_allowed`,
/// `decisions_denied`, `feed_lag_millis`, `snapshot_age_millis`, `audit_queue_depth`,
/// `audit_spill_bytes`; docs/INTERFACE.md) and returns the length they need, copied like
/// `jitgate_explain`; 0 for a closed or unknown engine.
///
/// # Safety
/// `buf` must have room for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn jitgate_metrics(engine: u64, buf: *mut c_char, len: usize) -> usize {
    guarded(0, || unsafe {
        copy_out(&super::metrics(engine).unwrap_or_default(), buf, len)
    })
}

/// Stops the engine; its handle is refused from then on. Safe to call twice.
#[no_mangle]
pub extern "C" fn jitgate_close(engine: u64) {
    guarded((), || super::close(engine))
}
