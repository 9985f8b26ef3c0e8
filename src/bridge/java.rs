//! JNI entry points of `org.jitgate.JitGateNative` (java/common).
//!
//! The hot path is `decide`, and much of what it pays for is calls into the JVM: each JNI
//! function costs a thread-state transition, some 15 ns, about what the decision itself costs.
//! So `decide` makes one such call outside zones and three inside one. The resource arrives as
//! UTF-8 bytes (Java encodes an ASCII string with one vectorised copy; reading a String here
//! would cost two conversion passes in the JVM) and is copied into a stack buffer; user,
//! operation and context are read only when the resource is protected, one call each. Java
//! passes every length along, which spares the calls that would ask for them. Every decision
//! is `super::decide`'s, the C ABI's too.

use std::panic::AssertUnwindSafe;

use std::mem::MaybeUninit;

use jni::objects::{
    JBooleanArray, JByteArray, JClass, JIntArray, JObject, JObjectArray, JString, JValue,
};
use jni::sys::{jboolean, jbyteArray, jint, jintArray, jlong, jobject, jobjectArray, jstring};
use jni::JNIEnv;

use super::{guarded, last_error, with_engine, HDFS};
use crate::model::ActionSet;
use crate::query::{QueryAccess, Verdict};
use crate::snapshot::DenyReason;

const STACK: usize = 1024;

/// Reads the resource's `len` UTF-8 bytes (the Java caller passes `bytes.length`) into `buf`
/// behind room for `hdfs:`, which `super::resource_in_place` fills in for a bare absolute path.
/// Long resources go to `heap`. No allocation otherwise.
fn read_resource<'b>(
    env: &mut JNIEnv,
    bytes: &JByteArray,
    len: jint,
    buf: &'b mut [MaybeUninit<u8>; STACK],
    heap: &'b mut Vec<u8>,
) -> Option<&'b str> {
    if bytes.is_null() || len < 0 {
        return None;
    }
    let len = len as usize;
    let raw: &'b mut [u8] = if HDFS.len() + len <= STACK {
        let raw_env = env.get_raw();
        // SAFETY: a valid env and a non-null byte[]. The region is zeroed before the JVM copies
        // into it, so it is initialised even if the copy were refused (a length that is not the
        // array's; JitGate, the only caller, passes its own array's), and it lies inside `buf`.
        unsafe {
            let f = &**raw_env;
            let whole = buf.as_mut_ptr().cast::<u8>();
            std::ptr::write_bytes(whole, 0, HDFS.len() + len);
            let dst = whole.add(HDFS.len());
            (f.GetByteArrayRegion?)(raw_env, bytes.as_raw(), 0, len as jint, dst.cast());
            std::slice::from_raw_parts_mut(whole, HDFS.len() + len)
        }
    } else {
        *heap = vec![0; HDFS.len()];
        heap.extend_from_slice(&env.convert_byte_array(bytes).ok()?);
        heap.as_mut_slice()
    };
    super::resource_in_place(raw)
}

fn read_owned(env: &mut JNIEnv, s: &JString) -> Option<String> {
    if s.is_null() {
        return None;
    }
    // SAFETY: every JString reaching here is a parameter or a `String[]` element that the Java
    // declaration (JitGateNative) types as String, so the JVM guarantees it is one. The checked
    // `get_string` would look the String class up by name on every call (FindClass), which was
    // most of the cost of a protected NameNode decision.
    unsafe { env.get_string_unchecked(s) }.ok().map(Into::into)
}

/// Room for 169 characters (3 bytes each, and a 0): user and operation names, and HDFS's caller
/// contexts (128 bytes at most by default).
const SMALL: usize = 512;

/// A Java string of `chars` UTF-16 units (the caller passes `length()`) as UTF-8, read into
/// `buf` with one JNI call when it is short, else into `heap`; None for null. For the protected
/// path of `decide`, which reads user, operation and context on every NameNode call in a zone.
fn read_str<'b>(
    env: &mut JNIEnv,
    s: &JString,
    chars: jint,
    buf: &'b mut [MaybeUninit<u8>; SMALL],
    heap: &'b mut String,
) -> Option<&'b str> {
    if s.is_null() {
        return None;
    }
    // A UTF-16 unit takes at most 3 bytes of modified UTF-8, which never holds a 0 byte (it
    // writes NUL as C0 80). So in a zeroed buffer the text ends at the first 0, whether or not
    // the JVM writes a terminator; no call needs to ask for the byte length.
    if chars >= 0 && (chars as usize) < SMALL / 3 {
        let room = chars as usize * 3 + 1;
        let raw_env = env.get_raw();
        // SAFETY: a valid env and a non-null String (see read_owned) of `chars` units; the JVM
        // writes at most `room` bytes, which were zeroed first and lie inside `buf`, so the
        // slice made covers initialised bytes only.
        let written = unsafe {
            let f = &**raw_env;
            let dst = buf.as_mut_ptr().cast::<u8>();
            std::ptr::write_bytes(dst, 0, room);
            (f.GetStringUTFRegion?)(raw_env, s.as_raw(), 0, chars, dst.cast());
            std::slice::from_raw_parts(dst, room)
        };
        let end = written.iter().position(|&b| b == 0).unwrap_or(room);
        // Modified UTF-8 is UTF-8 unless the string holds NUL or characters beyond the BMP;
        // then this fails and the string is read the slow way, which decodes them.
        if let Ok(text) = std::str::from_utf8(&written[..end]) {
            return Some(text);
        }
    }
    *heap = read_owned(env, s)?;
    Some(heap.as_str())
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
    user_length: jint,
    resource: JByteArray,
    resource_length: jint,
    actions: jint,
    operation: JString,
    operation_length: jint,
    context: JString,
    context_length: jint,
) -> jint {
    guarded(
        DenyReason::Internal as i32,
        AssertUnwindSafe(|| {
            let (mut buf, mut heap) = ([const { MaybeUninit::uninit() }; STACK], Vec::new());
            let resource = read_resource(&mut env, &resource, resource_length, &mut buf, &mut heap);
            let strings = JavaStrings {
                env: &mut env,
                user: (&user, user_length),
                operation: (&operation, operation_length),
                context: (&context, context_length),
            };
            super::decide(engine as u64, resource, actions as u32, strings)
        }),
    )
}

/// `decide`'s user, operation and context, each with its length, read only when asked.
struct JavaStrings<'e, 'l, 's> {
    env: &'e mut JNIEnv<'l>,
    user: (&'s JString<'s>, jint),
    operation: (&'s JString<'s>, jint),
    context: (&'s JString<'s>, jint),
}

impl super::Strings for JavaStrings<'_, '_, '_> {
    fn has_user(&self) -> bool {
        !self.user.0.is_null()
    }

    fn read<T>(self, f: impl FnOnce(Option<&str>, Option<&str>, Option<&str>) -> T) -> T {
        let mut bufs = [const { [const { MaybeUninit::uninit() }; SMALL] }; 3];
        let mut heaps = [String::new(), String::new(), String::new()];
        let [ub, ob, cb] = &mut bufs;
        let [uh, oh, ch] = &mut heaps;
        let env = self.env;
        let user = read_str(env, self.user.0, self.user.1, ub, uh);
        let operation = read_str(env, self.operation.0, self.operation.1, ob, oh);
        let context = read_str(env, self.context.0, self.context.1, cb, ch);
        f(user, operation, context)
    }
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_jitgate_JitGateNative_decideMove(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    user: JString,
    source: JString,
    destination: JString,
    actions: jint,
    operation: JString,
    context: JString,
) -> jint {
    guarded(
        DenyReason::Internal as i32,
        AssertUnwindSafe(|| {
            let user = read_owned(&mut env, &user);
            let from = read_owned(&mut env, &source);
            let to = read_owned(&mut env, &destination);
            let operation = read_owned(&mut env, &operation);
            let context = read_owned(&mut env, &context);
            super::decide_move(
                engine as u64,
                user.as_deref(),
                from.as_deref(),
                to.as_deref(),
                actions as u32,
                operation.as_deref(),
                context.as_deref(),
            )
        }),
    )
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_jitgate_JitGateNative_explainMove(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    user: JString,
    source: JString,
    destination: JString,
    actions: jint,
    code: jint,
) -> jstring {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let user = read_owned(&mut env, &user);
            let from = read_owned(&mut env, &source);
            let to = read_owned(&mut env, &destination);
            let msg = super::explain_move(
                engine as u64,
                user.as_deref(),
                from.as_deref(),
                to.as_deref(),
                actions as u32,
                code,
            );
            new_string(&mut env, &msg)
        }),
    )
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_snapshotFile(
    mut env: JNIEnv,
    _: JClass,
    feed: JString,
    seed: JByteArray,
) -> jbyteArray {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let Some(key) = signing_key(&mut env, &seed) else {
                return std::ptr::null_mut();
            };
            let Some(text) = read_owned(&mut env, &feed) else {
                return std::ptr::null_mut();
            };
            let Ok(mut feed) = serde_json::from_str::<crate::wire::Feed>(&text) else {
                return std::ptr::null_mut();
            };
            if !feed.reset || feed.zones.is_none() {
                return std::ptr::null_mut();
            }
            key.sign_contents(&mut feed);
            env.byte_array_from_slice(&crate::cache::encode(&feed))
                .map(|a| a.into_raw())
                .unwrap_or(std::ptr::null_mut())
        }),
    )
}

/// The public half of the key `seed` makes, as `jitgate.service.public.key` takes it.
#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_publicKey(
    mut env: JNIEnv,
    _: JClass,
    seed: JByteArray,
) -> jstring {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let Some(key) = signing_key(&mut env, &seed) else {
                return std::ptr::null_mut();
            };
            env.new_string(key.public().to_string())
                .map(|s| s.into_raw())
                .unwrap_or(std::ptr::null_mut())
        }),
    )
}

/// A signing key from 32 bytes of Java's (for snapshots written by tools and tests).
fn signing_key(env: &mut JNIEnv, seed: &JByteArray) -> Option<crate::signature::SigningKey> {
    let bytes: [u8; 32] = env.convert_byte_array(seed).ok()?.try_into().ok()?;
    Some(crate::signature::SigningKey::from_seed(bytes))
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
            let user = read_owned(&mut env, &user);
            let resource = read_owned(&mut env, &resource);
            let msg = super::explain(
                engine as u64,
                user.as_deref(),
                resource.as_deref(),
                actions as u32,
                code,
            );
            new_string(&mut env, &msg)
        }),
    )
}

/// The engine's metrics as `name value` lines, or null on a closed or unknown handle.
#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_metrics(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
) -> jstring {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| match super::metrics(engine as u64) {
            Some(text) => new_string(&mut env, &text),
            None => std::ptr::null_mut(),
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

/// One access of a `check` call as read from Java: resource, action bits, output, view read through.
type ReadAccess = (String, u32, bool, Option<String>);

/// The accesses of a `check` call, or None when the arrays are missing or of different lengths.
fn read_accesses(
    env: &mut JNIEnv,
    resources: &JObjectArray,
    actions: &JIntArray,
    outputs: &JBooleanArray,
    vias: &JObjectArray,
) -> Option<Vec<ReadAccess>> {
    if resources.is_null() || actions.is_null() || outputs.is_null() || vias.is_null() {
        return None;
    }
    let n = env.get_array_length(resources).ok()? as usize;
    if env.get_array_length(actions).ok()? as usize != n
        || env.get_array_length(outputs).ok()? as usize != n
        || env.get_array_length(vias).ok()? as usize != n
    {
        return None;
    }
    let mut bits = vec![0 as jint; n];
    env.get_int_array_region(actions, 0, &mut bits).ok()?;
    let mut written = vec![0 as jboolean; n];
    env.get_boolean_array_region(outputs, 0, &mut written)
        .ok()?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let element = JString::from(env.get_object_array_element(resources, i as jint).ok()?);
        let resource = read_owned(env, &element)?;
        env.delete_local_ref(element).ok()?;
        let element = JString::from(env.get_object_array_element(vias, i as jint).ok()?);
        let via = if element.is_null() {
            None
        } else {
            Some(read_owned(env, &element)?)
        };
        env.delete_local_ref(element).ok()?;
        out.push((resource, bits[i] as u32, written[i] != 0, via));
    }
    Some(out)
}

/// A `Verdict` (java/common): the code, the message of a denial, the grants relied on.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_jitgate_JitGateNative_check(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    user: JString,
    resources: JObjectArray,
    actions: JIntArray,
    outputs: JBooleanArray,
    vias: JObjectArray,
    operation: JString,
    context: JString,
) -> jobject {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let user = read_owned(&mut env, &user);
            let operation = read_owned(&mut env, &operation);
            let context = read_owned(&mut env, &context);
            let accesses = read_accesses(&mut env, &resources, &actions, &outputs, &vias);
            let shown_user = user.as_deref().unwrap_or("?");
            let (code, message, grants) = with_engine(engine as u64, |e| {
                let verdict = match (&user, &accesses) {
                    (Some(user), Some(list)) => {
                        let list: Vec<QueryAccess> = list
                            .iter()
                            .map(|(r, a, o, v)| QueryAccess {
                                resource: r,
                                actions: ActionSet::from_bits(*a),
                                output: *o,
                                via: v.as_deref(),
                            })
                            .collect();
                        e.check(user, &list, operation.as_deref(), context.as_deref())
                    }
                    _ => Verdict::Deny("?".into(), ActionSet::default(), DenyReason::BadInput),
                };
                let code = verdict.code();
                match verdict {
                    Verdict::Deny(resource, actions, _) => {
                        let message = e.explain(shown_user, &resource, actions, code);
                        (code, Some(message), vec![])
                    }
                    Verdict::NotProtected => (code, None, vec![]),
                    Verdict::Allow(grants) => (code, None, grants),
                }
            })
            .unwrap_or_else(|| {
                let reason = DenyReason::Closed;
                let message =
                    crate::engine::explain("", shown_user, "?", ActionSet::default(), reason);
                (reason as i32, Some(message), vec![])
            });
            new_verdict(&mut env, code, message.as_deref(), &grants).unwrap_or(std::ptr::null_mut())
        }),
    )
}

/// A Java `String[]` of `items`; None with a Java exception pending when the JVM refuses.
fn string_array<'e>(env: &mut JNIEnv<'e>, items: &[impl AsRef<str>]) -> Option<JObjectArray<'e>> {
    let array = env
        .new_object_array(items.len() as jint, "java/lang/String", JObject::null())
        .ok()?;
    for (i, item) in items.iter().enumerate() {
        let s = env.new_string(item.as_ref()).ok()?;
        env.set_object_array_element(&array, i as jint, &s).ok()?;
        env.delete_local_ref(s).ok()?;
    }
    Some(array)
}

/// `new Verdict(code, message, grants)`; None with a Java exception pending when the JVM
/// refuses (out of memory), which `JitGate.check`'s caller meets as a failure, never an allow.
fn new_verdict(
    env: &mut JNIEnv,
    code: i32,
    message: Option<&str>,
    grants: &[std::sync::Arc<str>],
) -> Option<jobject> {
    let message = match message {
        Some(m) => JObject::from(env.new_string(m).ok()?),
        None => JObject::null(),
    };
    let ids = string_array(env, grants)?;
    let verdict = env
        .new_object(
            "org/jitgate/Verdict",
            "(ILjava/lang/String;[Ljava/lang/String;)V",
            &[
                JValue::Int(code),
                JValue::Object(&message),
                JValue::Object(&ids),
            ],
        )
        .ok()?;
    Some(verdict.into_raw())
}

/// The number include/jitgate.h and Action.java or Decision.java give `name`
/// (`super::CONSTANTS`); `Long.MIN_VALUE` for a name the core does not know.
#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_constant(
    mut env: JNIEnv,
    _: JClass,
    name: JString,
) -> jlong {
    guarded(
        jlong::MIN,
        AssertUnwindSafe(|| {
            let name = read_owned(&mut env, &name);
            super::CONSTANTS
                .iter()
                .find(|(n, _)| Some(*n) == name.as_deref())
                .map_or(jlong::MIN, |(_, value)| *value)
        }),
    )
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_grantLive(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    grant: JString,
) -> jboolean {
    guarded(
        0,
        AssertUnwindSafe(|| {
            let Some(grant) = read_owned(&mut env, &grant) else {
                return 0;
            };
            with_engine(engine as u64, |e| e.grant_live(&grant) as jboolean).unwrap_or(0)
        }),
    )
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_coveringGrant(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    user: JString,
    resource: JString,
    actions: jint,
) -> jstring {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let (Some(user), Some(resource)) =
                (read_owned(&mut env, &user), read_owned(&mut env, &resource))
            else {
                return std::ptr::null_mut();
            };
            let actions = ActionSet::from_bits(actions as u32);
            let resource = super::resource(&resource);
            match with_engine(engine as u64, |e| {
                e.covering_grant(&user, &resource, actions)
            }) {
                Some(Some(grant)) => new_string(&mut env, &grant),
                _ => std::ptr::null_mut(),
            }
        }),
    )
}

/// The engine and operation naming a row of the core's mapping tables.
fn read_row_name(env: &mut JNIEnv, engine: &JString, name: &JString) -> Option<(String, String)> {
    Some((read_owned(env, engine)?, read_owned(env, name)?))
}

/// Every row name of an engine's mapping table, or null when the engine has none or the array
/// cannot be made (JitGate.mappingNames).
#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_mappingNames(
    mut env: JNIEnv,
    _: JClass,
    engine: JString,
) -> jobjectArray {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let Some(names) = read_owned(&mut env, &engine).and_then(|e| crate::mapping::names(&e))
            else {
                return std::ptr::null_mut();
            };
            string_array(&mut env, &names).map_or(std::ptr::null_mut(), |a| a.into_raw())
        }),
    )
}

/// The FIELDS of a row of the core's mapping table (`""` when it has none), or null when the
/// row is unknown (JitGate.fields).
#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_fields(
    mut env: JNIEnv,
    _: JClass,
    engine: JString,
    name: JString,
) -> jstring {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let Some((engine, name)) = read_row_name(&mut env, &engine, &name) else {
                return std::ptr::null_mut();
            };
            match crate::mapping::fields(&engine, &name) {
                Some(fields) => new_string(&mut env, fields),
                None => std::ptr::null_mut(),
            }
        }),
    )
}

/// The release lines of the engine that have a row's operation (`""`: every line), or null when
/// the row is unknown (JitGate.mappingLines).
#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_mappingLines(
    mut env: JNIEnv,
    _: JClass,
    engine: JString,
    name: JString,
) -> jstring {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let Some((engine, name)) = read_row_name(&mut env, &engine, &name) else {
                return std::ptr::null_mut();
            };
            match crate::mapping::lines(&engine, &name) {
                Some(lines) => new_string(&mut env, lines),
                None => std::ptr::null_mut(),
            }
        }),
    )
}

#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_mapping(
    mut env: JNIEnv,
    _: JClass,
    engine: JString,
    name: JString,
) -> jintArray {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let Some((engine, name)) = read_row_name(&mut env, &engine, &name) else {
                return std::ptr::null_mut();
            };
            let Some((input, output)) = crate::mapping::mapping(&engine, &name) else {
                return std::ptr::null_mut();
            };
            let Ok(array) = env.new_int_array(2) else {
                return std::ptr::null_mut();
            };
            let values = [input.0 as jint, output.0 as jint];
            match env.set_int_array_region(&array, 0, &values) {
                Ok(()) => array.into_raw(),
                Err(_) => std::ptr::null_mut(),
            }
        }),
    )
}

/// The resources of `scheme` whose context the service's approvers wait for
/// (`Engine::context_wanted`); null with the last error set when the service cannot be asked
/// or the handle is closed.
#[no_mangle]
pub extern "system" fn Java_org_jitgate_JitGateNative_contextWanted(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    scheme: JString,
) -> jobjectArray {
    guarded(
        std::ptr::null_mut(),
        AssertUnwindSafe(|| {
            let Some(scheme) = read_owned(&mut env, &scheme) else {
                super::set_last_error("no scheme given");
                return std::ptr::null_mut();
            };
            match with_engine(engine as u64, |e| e.context_wanted(&scheme)) {
                Some(Ok(resources)) => string_array(&mut env, &resources)
                    .map_or(std::ptr::null_mut(), |a| a.into_raw()),
                Some(Err(msg)) => {
                    super::set_last_error(msg);
                    std::ptr::null_mut()
                }
                None => {
                    super::set_last_error("the jitgate engine is closed");
                    std::ptr::null_mut()
                }
            }
        }),
    )
}

/// Sends what the plugin learnt of one resource; a negative count is unknown. False with the
/// last error set when the service did not take it.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_jitgate_JitGateNative_reportContext(
    mut env: JNIEnv,
    _: JClass,
    engine: jlong,
    resource: JString,
    kind: JString,
    files: jlong,
    directories: jlong,
    bytes: jlong,
    location: JString,
    error: JString,
) -> jboolean {
    guarded(
        0,
        AssertUnwindSafe(|| {
            let Some(resource) = read_owned(&mut env, &resource) else {
                super::set_last_error("no resource given");
                return 0;
            };
            let count = |n: jlong| u64::try_from(n).ok();
            let c = crate::wire::ResourceContext {
                resource,
                kind: read_owned(&mut env, &kind),
                files: count(files),
                directories: count(directories),
                bytes: count(bytes),
                location: read_owned(&mut env, &location),
                error: read_owned(&mut env, &error),
            };
            match with_engine(engine as u64, |e| e.report_context(&[c])) {
                Some(Ok(())) => 1,
                Some(Err(msg)) => {
                    super::set_last_error(msg);
                    0
                }
                None => {
                    super::set_last_error("the jitgate engine is closed");
                    0
                }
            }
        }),
    )
}
