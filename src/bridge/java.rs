//! JNI entry points of `org.jitgate.JitGateNative` (java/common).
//!
//! The hot path is `decide`: it copies only the resource string, into a stack buffer, and
//! reads user, operation and context only when the resource is protected. A resource that is
//! a bare absolute path (`/lake/x`) is an HDFS path, which spares the NameNode a string concat.

use std::panic::AssertUnwindSafe;

use jni::objects::{JClass, JString};
use jni::sys::{jint, jlong, jstring};
use jni::JNIEnv;

use super::{guarded, last_error, with_engine};
use crate::engine::Access;
use crate::model::{canonical_key, ActionSet};
use crate::snapshot::DenyReason;

const STACK: usize = 1024;
const SUBTREE: jint = 0x100;

/// Reads a Java string into `buf` after `prefix` without allocating when it fits and is
/// plain UTF-8; otherwise into `heap` with a full conversion.
fn read_into<'b>(
    env: &mut JNIEnv,
    s: &JString,
    prefix: &str,
    buf: &'b mut [u8; STACK],
    heap: &'b mut String,
) -> Option<&'b str> {
    if s.is_null() {
        return None;
    }
    let raw_env = env.get_raw();
    // SAFETY: a valid env and a non-null string reference from the JVM; the region written is
    // at most GetStringUTFLength bytes plus a NUL, which the size check below leaves room for.
    let fast = unsafe {
        let f = &**raw_env;
        let chars = (f.GetStringLength?)(raw_env, s.as_raw());
        let bytes = (f.GetStringUTFLength?)(raw_env, s.as_raw()) as usize;
        if prefix.len() + bytes + 1 <= STACK {
            buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
            (f.GetStringUTFRegion?)(raw_env, s.as_raw(), 0, chars, buf.as_mut_ptr().add(prefix.len()).cast());
            Some(prefix.len() + bytes)
        } else {
            None
        }
    };
    if let Some(n) = fast {
        let bytes = &buf[..n];
        // Modified UTF-8 differs from UTF-8 only in 0xC0 0x80 (NUL) and surrogate pairs (0xED..).
        if !bytes.iter().any(|b| *b == 0xC0 || *b == 0xED) {
            return std::str::from_utf8(bytes).ok();
        }
    }
    let s: String = env.get_string(s).ok()?.into();
    heap.clear();
    heap.push_str(prefix);
    heap.push_str(&s);
    Some(heap.as_str())
}

fn read_owned(env: &mut JNIEnv, s: &JString) -> Option<String> {
    if s.is_null() {
        return None;
    }
    env.get_string(s).ok().map(Into::into)
}

fn new_string(env: &mut JNIEnv, s: &str) -> jstring {
    env.new_string(s).map(|j| j.into_raw()).unwrap_or(std::ptr::null_mut())
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_open(mut env: JNIEnv, _: JClass, config: JString) -> jlong {
    guarded(0, AssertUnwindSafe(|| match read_owned(&mut env, &config) {
        Some(c) => super::open(&c) as jlong,
        None => {
            super::set_last_error("config is null");
            0
        }
    }))
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_lastError(mut env: JNIEnv, _: JClass) -> jstring {
    guarded(std::ptr::null_mut(), AssertUnwindSafe(|| new_string(&mut env, &last_error())))
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_jitgate_JitGateNative_decide(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    user: JString,
    resource: JString,
    actions: jint,
    operation: JString,
    context: JString,
) -> jint {
    guarded(DenyReason::Internal as i32, AssertUnwindSafe(|| {
        let (mut buf, mut heap) = ([0u8; STACK], String::new());
        let prefix = if starts_with_slash(&mut env, &resource) { "hdfs:" } else { "" };
        let Some(resource) = read_into(&mut env, &resource, prefix, &mut buf, &mut heap) else {
            return DenyReason::BadInput as i32;
        };
        let subtree = actions & SUBTREE != 0;
        with_engine(engine as u64, |e| {
            let snap = e.snapshot();
            let key = canonical_key(resource);
            if let Ok(k) = &key {
                if !snap.protects(k, subtree) {
                    return 0;
                }
            }
            let user = read_owned(&mut env, &user);
            let operation = read_owned(&mut env, &operation);
            let context = read_owned(&mut env, &context);
            let access = Access {
                user: user.as_deref().unwrap_or(""),
                resource,
                actions: ActionSet::from_bits(actions as u32),
                subtree,
                operation: operation.as_deref(),
                context: context.as_deref(),
            };
            match (&key, &user) {
                (Ok(k), Some(_)) => e.decide_protected(&snap, &access, k).code(),
                // an unreadable resource or a missing user is recorded and denied
                _ => e.refuse(&access, DenyReason::BadInput).code(),
            }
        })
        .unwrap_or(DenyReason::Closed as i32)
    }))
}

/// Peeks at the first character without copying the string.
fn starts_with_slash(env: &mut JNIEnv, s: &JString) -> bool {
    if s.is_null() {
        return false;
    }
    let raw_env = env.get_raw();
    // SAFETY: valid env, non-null string, one UTF-16 unit read into a local.
    unsafe {
        let f = &**raw_env;
        let (Some(len), Some(region)) = (f.GetStringLength, f.GetStringRegion) else { return false };
        if len(raw_env, s.as_raw()) == 0 {
            return false;
        }
        let mut c: u16 = 0;
        region(raw_env, s.as_raw(), 0, 1, &mut c);
        c == b'/' as u16
    }
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_explain(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    user: JString,
    resource: JString,
    actions: jint,
    code: jint,
) -> jstring {
    guarded(std::ptr::null_mut(), AssertUnwindSafe(|| {
        let user = read_owned(&mut env, &user).unwrap_or_else(|| "?".into());
        let mut resource = read_owned(&mut env, &resource).unwrap_or_else(|| "?".into());
        if resource.starts_with('/') {
            resource.insert_str(0, "hdfs:");
        }
        let actions = ActionSet::from_bits(actions as u32);
        let msg = with_engine(engine as u64, |e| e.explain(&user, &resource, actions, code))
            .unwrap_or_else(|| crate::engine::explain("", &user, &resource, actions, DenyReason::Closed));
        new_string(&mut env, &msg)
    }))
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_close(_env: JNIEnv, _: JClass, engine: jlong) {
    guarded((), || super::close(engine as u64))
}
