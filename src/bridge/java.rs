//! JNI entry points of `org.jitgate.JitGateNative` (java/common).
//!
//! The hot path is `decide`: the resource arrives as UTF-8 bytes (Java encodes an ASCII string
//! with one vectorised copy; reading a String here would cost two conversion passes in the JVM)
//! and is copied into a stack buffer; user, operation and context are read only when the
//! resource is protected. A bare absolute path (`/lake/x`) is an HDFS path, which spares the
//! NameNode a string concatenation.

use std::panic::AssertUnwindSafe;

use std::mem::MaybeUninit;

use jni::objects::{JByteArray, JClass, JString};
use jni::sys::{jint, jlong, jstring};
use jni::JNIEnv;

use super::{guarded, last_error, with_engine};
use crate::engine::Access;
use crate::model::{canonical_key, ActionSet};
use crate::snapshot::DenyReason;

const STACK: usize = 1024;
const SUBTREE: jint = 0x100;
const HDFS: &[u8] = b"hdfs:";

/// Reads the resource's UTF-8 bytes into `buf` behind room for `hdfs:`, which is filled in when
/// the resource is a bare absolute path. Long resources go to `heap`. No allocation otherwise.
fn read_resource<'b>(
    env: &mut JNIEnv,
    bytes: &JByteArray,
    buf: &'b mut [MaybeUninit<u8>; STACK],
    heap: &'b mut Vec<u8>,
) -> Option<&'b str> {
    if bytes.is_null() {
        return None;
    }
    let len = env.get_array_length(bytes).ok()? as usize;
    let raw: &'b mut [u8] = if HDFS.len() + len <= STACK {
        let raw_env = env.get_raw();
        for (slot, b) in buf.iter_mut().zip(HDFS) {
            slot.write(*b);
        }
        // SAFETY: a valid env and a non-null byte[] of `len` bytes; the region written lies
        // inside `buf`, and the slice made covers only the prefix written above and the region.
        unsafe {
            let f = &**raw_env;
            let dst = buf.as_mut_ptr().add(HDFS.len()).cast::<jni::sys::jbyte>();
            (f.GetByteArrayRegion?)(raw_env, bytes.as_raw(), 0, len as jint, dst);
            std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), HDFS.len() + len)
        }
    } else {
        *heap = HDFS.to_vec();
        heap.extend_from_slice(&env.convert_byte_array(bytes).ok()?);
        heap.as_mut_slice()
    };
    let start = if raw.get(HDFS.len()) == Some(&b'/') {
        0
    } else {
        HDFS.len()
    };
    std::str::from_utf8(&raw[start..]).ok()
}

fn read_owned(env: &mut JNIEnv, s: &JString) -> Option<String> {
    if s.is_null() {
        return None;
    }
    env.get_string(s).ok().map(Into::into)
}

fn new_string(env: &mut JNIEnv, s: &str) -> jstring {
    env.new_string(s)
        .map(|j| j.into_raw())
        .unwrap_or(std::ptr::null_mut())
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_open(
    mut env: JNIEnv,
    _: JClass,
    config: JString,
) -> jlong {
    guarded(
        0,
        AssertUnwindSafe(|| match read_owned(&mut env, &config) {
            Some(c) => super::open(&c) as jlong,
            None => {
                super::set_last_error("config is null");
                0
            }
        }),
    )
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_lastError(
    mut env: JNIEnv,
    _: JClass,
) -> jstring {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| new_string(&mut env, &last_error())),
    )
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_jitgate_JitGateNative_decide(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    user: JString,
    resource: JByteArray,
    actions: jint,
    operation: JString,
    context: JString,
) -> jint {
    guarded(
        DenyReason::Internal as i32,
        AssertUnwindSafe(|| {
            let (mut buf, mut heap) = ([const { MaybeUninit::uninit() }; STACK], Vec::new());
            let Some(resource) = read_resource(&mut env, &resource, &mut buf, &mut heap) else {
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
        }),
    )
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
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let user = read_owned(&mut env, &user).unwrap_or_else(|| "?".into());
            let mut resource = read_owned(&mut env, &resource).unwrap_or_else(|| "?".into());
            if resource.starts_with('/') {
                resource.insert_str(0, "hdfs:");
            }
            let actions = ActionSet::from_bits(actions as u32);
            let msg = with_engine(engine as u64, |e| {
                e.explain(&user, &resource, actions, code)
            })
            .unwrap_or_else(|| {
                crate::engine::explain("", &user, &resource, actions, DenyReason::Closed)
            });
            new_string(&mut env, &msg)
        }),
    )
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_close(
    _env: JNIEnv,
    _: JClass,
    engine: jlong,
) {
    guarded((), || super::close(engine as u64))
}
