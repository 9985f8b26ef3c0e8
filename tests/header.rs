//! The checked-in C header must match what cbindgen makes from the code today.

use std::path::Path;

#[test]
fn checked_in_header_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::generate_with_config(root, config)
        .expect("cbindgen runs")
        .write(&mut fresh);
    let path = root.join("include/jitgate.h");
    if std::env::var_os("JITGATE_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let current = std::fs::read(&path).unwrap_or_default();
    assert!(
        current == fresh,
        "include/jitgate.h is stale: run `JITGATE_BLESS=1 cargo test --release --test header` and commit it"
    );
}
