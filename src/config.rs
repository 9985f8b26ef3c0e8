//! Plugin configuration: the `jitgate.*` keys an engine's config file carries (docs/DESIGN.md),
//! handed to the core as `key=value` lines so every engine passes them the same way.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::Resource;
use crate::signature::PublicKey;

/// Keys under these belong to an engine's plugin (its own behaviour, e.g. Hive's fallback), not
/// to the core, which passes over them.
const ENGINE_PREFIXES: [&str; 4] = [
    "jitgate.hdfs.",
    "jitgate.hive.",
    "jitgate.spark.",
    "jitgate.ranger.",
];

#[derive(Debug, Clone)]
pub struct Config {
    /// The service's replicas (`jitgate.service.url`, comma-separated), in the order they are
    /// tried; empty without a service. Every one is held to the same key and CA.
    pub service_urls: Vec<String>,
    pub token_file: Option<PathBuf>,
    /// The service's key every feed reply and the cache file must be signed with
    /// (`jitgate.service.public.key`, or the file `jitgate.service.public.key.file` holds it in).
    pub service_key: Option<PublicKey>,
    /// PEM certificates to trust for an `https:` service URL instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    pub cache_dir: PathBuf,
    pub request_url: Option<String>,
    pub plugin: String,
    pub host: String,
    pub fallback_zones: Vec<Resource>,
    pub feed_wait: Duration,
    /// How long opening an engine waits for the service's first answer (so a new process does
    /// not deny its first queries for want of a snapshot); zero to not wait.
    pub start_wait: Duration,
    pub audit_spill_max_bytes: u64,
    pub audit_queue_capacity: usize,
    pub audit_flush: Duration,
    /// How far the host's clock may differ from the service's before decisions use the
    /// service's time for expiry (`jitgate.clock.skew.millis`).
    pub clock_skew: Duration,
}

impl Config {
    /// Reads `key=value` lines. Unknown `jitgate.*` keys are refused so a typo can't silently
    /// leave a setting at its default; lines without the prefix are ignored (engines pass theirs).
    pub fn parse(text: &str) -> Result<Config, String> {
        let user = std::env::var("USER").unwrap_or_else(|_| "jitgate".into());
        let mut c = Config {
            service_urls: vec![],
            token_file: None,
            service_key: None,
            ca_file: None,
            cache_dir: std::env::temp_dir().join(format!("jitgate-{user}")),
            request_url: None,
            plugin: "core".into(),
            host: hostname(),
            fallback_zones: vec![],
            feed_wait: Duration::from_secs(30),
            start_wait: Duration::from_secs(5),
            clock_skew: Duration::from_secs(2),
            audit_spill_max_bytes: 256 << 20,
            audit_queue_capacity: 65_536,
            audit_flush: Duration::from_millis(200),
        };
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("config line `{line}` is not key=value"));
            };
            let (key, value) = (key.trim(), value.trim());
            if !key.starts_with("jitgate.") || ENGINE_PREFIXES.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{key} must be a whole number, not `{v}`"))
            };
            match key {
                "jitgate.service.url" => {
                    c.service_urls = value
                        .split(',')
                        .map(|u| u.trim().trim_end_matches('/'))
                        .filter(|u| !u.is_empty())
                        .map(String::from)
                        .collect()
                }
                "jitgate.service.token.file" => c.token_file = non_empty(value).map(PathBuf::from),
                "jitgate.service.public.key" => {
                    c.service_key = non_empty(value)
                        .map(|v| PublicKey::parse(v).map_err(|e| format!("{key}: {e}")))
                        .transpose()?
                }
                "jitgate.service.public.key.file" => {
                    c.service_key = non_empty(value)
                        .map(|path| {
                            std::fs::read_to_string(path)
                                .map_err(|e| format!("{key}: cannot read {path}: {e}"))
                                .and_then(|t| {
                                    PublicKey::parse(&t).map_err(|e| format!("{key} {path}: {e}"))
                                })
                        })
                        .transpose()?
                }
                "jitgate.service.ca.file" => c.ca_file = non_empty(value).map(PathBuf::from),
                "jitgate.cache.dir" => c.cache_dir = PathBuf::from(value),
                "jitgate.request.url" => {
                    c.request_url = non_empty(value).map(|v| v.trim_end_matches('/').to_string())
                }
                "jitgate.plugin" => c.plugin = value.to_string(),
                "jitgate.host" => c.host = value.to_string(),
                "jitgate.fallback.zones" => {
                    c.fallback_zones = value
                        .split(',')
                        .filter(|r| !r.trim().is_empty())
                        .map(|r| {
                            Resource::parse(r).map_err(|e| format!("jitgate.fallback.zones: {e}"))
                        })
                        .collect::<Result<_, _>>()?
                }
                "jitgate.feed.wait.seconds" => {
                    c.feed_wait = Duration::from_secs(number(value)?.clamp(1, 60))
                }
                "jitgate.clock.skew.millis" => c.clock_skew = Duration::from_millis(number(value)?),
                "jitgate.start.wait.millis" => {
                    c.start_wait = Duration::from_millis(number(value)?.min(600_000))
                }
                "jitgate.audit.spill.max.bytes" => c.audit_spill_max_bytes = number(value)?,
                "jitgate.audit.queue.capacity" => {
                    c.audit_queue_capacity = number(value)?.max(1) as usize
                }
                "jitgate.audit.flush.millis" => {
                    c.audit_flush = Duration::from_millis(number(value)?.max(1))
                }
                _ => {
                    return Err(format!(
                        "unknown config key `{key}` (see docs/DESIGN.md for the jitgate.* keys)"
                    ))
                }
            }
        }
        Ok(c)
    }

    /// Base of the link printed in denials: `jitgate.request.url`, else the first replica.
    pub fn request_base(&self) -> &str {
        self.request_url
            .as_deref()
            .or(self.service_urls.first().map(String::as_str))
            .unwrap_or("http://127.0.0.1:8470")
    }
}

fn non_empty(v: &str) -> Option<&str> {
    (!v.is_empty()).then_some(v)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_and_other_engines_keys_ignored() {
        let c = Config::parse(
            "jitgate.service.url=http://h:1/\ndfs.replication=3\njitgate.hive.fallback=deny\njitgate.fallback.zones=hdfs:/lake/sales, hive:sales.*\n",
        )
        .unwrap();
        assert_eq!(c.service_urls, ["http://h:1"]);
        assert_eq!(c.fallback_zones.len(), 2);
        assert_eq!(c.request_base(), "http://h:1");
    }

    #[test]
    fn the_service_url_lists_replicas_in_the_order_they_are_tried() {
        let c = Config::parse("jitgate.service.url= https://a:1/ ,https://b:2,, http://c:3/x/\n")
            .unwrap();
        assert_eq!(
            c.service_urls,
            ["https://a:1", "https://b:2", "http://c:3/x"]
        );
        assert_eq!(c.request_base(), "https://a:1");
        assert!(Config::parse("jitgate.service.url=")
            .unwrap()
            .service_urls
            .is_empty());
    }

    #[test]
    fn the_service_key_is_read_from_the_config_or_a_file() {
        let key = crate::signature::SigningKey::from_seed([3; 32]).public();
        let c = Config::parse(&format!("jitgate.service.public.key={key}")).unwrap();
        assert_eq!(c.service_key, Some(key.clone()));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("service.pub");
        std::fs::write(&file, format!("{key}\n")).unwrap();
        let c = Config::parse(&format!(
            "jitgate.service.public.key.file={}",
            file.display()
        ));
        assert_eq!(c.unwrap().service_key, Some(key));
        let missing = format!(
            "jitgate.service.public.key.file={}/none",
            dir.path().display()
        );
        assert!(Config::parse(&missing).unwrap_err().contains("cannot read"));
        assert!(Config::parse("jitgate.service.public.key=abc")
            .unwrap_err()
            .contains("jitgate.service.public.key"));
    }

    #[test]
    fn typos_and_bad_values_are_refused_with_the_key_named() {
        assert!(Config::parse("jitgate.servce.url=x")
            .unwrap_err()
            .contains("jitgate.servce.url"));
        assert!(Config::parse("jitgate.feed.wait.seconds=soon")
            .unwrap_err()
            .contains("whole number"));
        assert!(Config::parse("jitgate.fallback.zones=/lake")
            .unwrap_err()
            .contains("unknown resource"));
    }
}
