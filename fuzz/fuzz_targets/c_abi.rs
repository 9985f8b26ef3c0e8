//! The C ABI (`include/jitgate.h`) on an engine started from a signed cached snapshot: any
//! strings (or NULL), any action bits, any engine handle, any output buffer length. No input
//! may panic, crash, or write past the buffer it was given.
#![no_main]

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use jitgate::bridge::c::{jitgate_decide, jitgate_decide_move, jitgate_explain, jitgate_open};
use jitgate::signature::SigningKey;
use jitgate::wire::{self, Feed, Grant, Zone};
use libfuzzer_sys::fuzz_target;

/// One engine for the whole run, on a snapshot with a zone and a grant, its audit spilled
/// to a file that may grow to 256 MB.
fn engine() -> u64 {
    static ENGINE: OnceLock<u64> = OnceLock::new();
    *ENGINE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("jitgate-fuzz-{}", std::process::id()));
        let cache = dir.join("cache");
        std::fs::create_dir_all(&cache).unwrap();
        let key = SigningKey::from_seed([42; 32]);
        let now = wire::now_millis();
        let mut feed = Feed {
            cursor: 1,
            server_time: wire::format_time(now),
            reset: true,
            zones: Some(vec![Zone {
                name: "sales".into(),
                resources: vec!["hdfs:/lake/sales".into(), "hive:sales.*".into()],
                approvers: vec![],
                approvals: 1,
                actions: vec!["read".into(), "write".into()],
                max_duration: "15m".into(),
            }]),
            zones_signature: None,
            grants: vec![Grant {
                id: "g-1".into(),
                request_id: "r-1".into(),
                user: "alice".into(),
                resources: vec!["hdfs:/lake/sales/orders".into()],
                actions: vec!["read".into()],
                not_before: wire::format_time(now - 1000),
                expires_at: wire::format_time(now + 86_400_000),
                approvers: vec!["bob".into()],
                single_use: false,
                signature: None,
            }],
            revoked: vec![],
            nonce: None,
        };
        key.sign_contents(&mut feed);
        std::fs::write(cache.join("snapshot.json"), jitgate::cache::encode(&feed)).unwrap();
        let config = CString::new(format!(
            "jitgate.cache.dir={}\njitgate.service.public.key={}\njitgate.plugin=fuzz\n\
             jitgate.audit.spill.max.bytes=268435456\n",
            cache.display(),
            key.public()
        ))
        .unwrap();
        let e = unsafe { jitgate_open(config.as_ptr()) };
        assert_ne!(e, 0, "the engine opens");
        e
    })
}

/// The `n`th 0xFF-separated part of `data` as a C string (interior NULs end it), or NULL when
/// the part is absent.
fn part(data: &[u8], n: usize) -> Option<CString> {
    let bytes = data.split(|b| *b == 0xFF).nth(n)?;
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).ok()
}

fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    // One engine handle in eight is made up: it must be refused, not followed.
    let engine = if head & 7 == 7 { u64::from(head) << 32 | 5 } else { engine() };
    let actions = u32::from(head >> 3);
    let (user, resource, to, operation, context) =
        (part(rest, 0), part(rest, 1), part(rest, 2), part(rest, 3), part(rest, 4));
    unsafe {
        let code = jitgate_decide(engine, ptr(&user), ptr(&resource), actions, ptr(&operation), ptr(&context));
        let _ = jitgate_decide_move(
            engine,
            ptr(&user),
            ptr(&resource),
            ptr(&to),
            actions,
            ptr(&operation),
            ptr(&context),
        );
        // A buffer with guard bytes after the length given: they must stay untouched.
        let len = usize::from(head) % 96;
        let mut buf = vec![0x55u8; len + 16];
        let _ = jitgate_explain(
            engine,
            ptr(&user),
            ptr(&resource),
            actions,
            code,
            buf.as_mut_ptr().cast(),
            len,
        );
        assert!(buf[len..].iter().all(|b| *b == 0x55), "explain wrote past its buffer");
    }
});
