//! jitgate's decision core: zones and grants in an immutable snapshot, a decision that reads
//! only that snapshot and the clock, a follower of the service's change feed, and an audit
//! buffer that never drops what it is given. `bridge` adapts it to C and Java.

pub mod audit;
pub mod bridge;
pub mod cache;
pub mod config;
pub mod engine;
pub mod follower;
pub mod live;
pub mod mapping;
pub mod metrics;
pub mod model;
pub mod places;
pub mod query;
pub mod service_client;
pub mod signature;
pub mod snapshot;
pub mod trie;
pub mod wire;

pub use config::Config;
pub use engine::{Access, Engine};
pub use model::{Action, ActionSet, Resource};
pub use query::{QueryAccess, Verdict};
pub use snapshot::{Decision, DenyReason};
