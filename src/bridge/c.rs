//! The C ABI (header: include/jitgate.h, made by cbindgen).

use std::ffi::{c_char, CStr};

use super::{guarded, last_error, set_last_error, with_engine};
use crate::engine::Access;
use crate::model::ActionSet;
use crate::snapshot::DenyReason;

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

// The numbers C and Java see are the core's own: a change to one side fails the build here (and
// java/common's ConstantsTest ties Action.java and Decision.java to this header).
const _: () = {
    use crate::model::Action;
    assert!(JITGATE_READ == Action::Read as u32);
    assert!(JITGATE_WRITE == Action::Write as u32);
    assert!(JITGATE_EXPORT == Action::Export as u32);
    assert!(JITGATE_TRANSFORM == Action::Transform as u32);
    assert!(
        JITGATE_SUBTREE & 0xff == 0,
        "the subtree bit lies above every action bit"
    );
    assert!(JITGATE_DENY_NO_GRANT == DenyReason::NoGrant as i32);
    assert!(JITGATE_DENY_NO_SNAPSHOT == DenyReason::NoSnapshot as i32);
    assert!(JITGATE_DENY_AUDIT_UNAVAILABLE == DenyReason::AuditUnavailable as i32);
    assert!(JITGATE_DENY_BAD_INPUT == DenyReason::BadInput as i32);
    assert!(JITGATE_DENY_CLOSED == DenyReason::Closed as i32);
    assert!(JITGATE_DENY_INTERNAL == DenyReason::Internal as i32);
    assert!(JITGATE_DENY_UNMAPPED == DenyReason::Unmapped as i32);
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
    guarded(DenyReason::Internal as i32, || {
        let (Some(user), Some(resource)) = (unsafe { text(user) }, unsafe { text(resource) })
        else {
            return DenyReason::BadInput as i32;
        };
        let access = Access {
            user,
            resource,
            actions: ActionSet::from_bits(actions),
            subtree: actions & JITGATE_SUBTREE != 0,
            operation: unsafe { text(operation) },
            context: unsafe { text(context) },
        };
        with_engine(engine, |e| e.decide(&access).code()).unwrap_or(DenyReason::Closed as i32)
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
    guarded(0, || {
        let user = unsafe { text(user) }.unwrap_or("?");
        let resource = unsafe { text(resource) }.unwrap_or("?");
        let actions = ActionSet::from_bits(actions);
        let msg = with_engine(engine, |e| e.explain(user, resource, actions, code)).unwrap_or_else(
            || crate::engine::explain("", user, resource, actions, DenyReason::Closed),
        );
        unsafe { copy_out(&msg, buf, len) }
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

/// Stops the engine; its handle is refused from then on. Safe to call twice.
#[no_mangle]
pub extern "C" fn jitgate_close(engine: u64) {
    guarded((), || super::close(engine))
}
