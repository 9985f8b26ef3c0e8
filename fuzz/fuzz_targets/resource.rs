//! Resource parsing (`Resource::parse`, `canonical_key`): whatever the text, an answer and no
//! panic; a canonical key is its own canonical form, and parses to itself as it is.
#![no_main]

use jitgate::model::canonical_key;
use jitgate::Resource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Resource::parse(text) {
        let again = Resource::parse_exact(r.key()).expect("a resource's key parses");
        assert_eq!(again.key(), r.key(), "parsing a key changes it");
    }
    if let Ok(key) = canonical_key(text) {
        let again = canonical_key(&key).expect("a canonical key is canonical");
        assert_eq!(again, key, "canonicalising twice changes a key");
    }
});
