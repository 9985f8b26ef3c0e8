//! jitgate's decision core: zones and grants in an immutable snapshot, a decision that reads
//! only that snapshot and the clock, a follower of the service's change feed, and an audit
//! buffer that never drops what it is given. `ffi` and `jni` adapt it to C and Java.

pub mod model;
pub mod wire;
