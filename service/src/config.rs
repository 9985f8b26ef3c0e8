//! The service's TOML config (see CONTRACT.md), its defaults, and the example zones a newcomer
//! gets without any config. Everything is validated here, once, at start: an unknown key, a bad
//! resource or a zone nobody can approve stops the service with a message naming it.

use crate::identity::Cidr;
use crate::zones::{ZoneRule, Zones};
use jitgate::model::parse_duration;
use jitgate::wire;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";
pub const DEFAULT_DATA_DIR: &str = "./jitgate-data";
const DEFAULT_TRUSTED_PROXIES: [&str; 2] = ["127.0.0.1/32", "::1/128"];
const DEFAULT_PENDING_TIMEOUT: &str = "1h";

/// The validated settings the service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Base of the links the service hands out, when configured; see [`Settings::public_url`].
    pub configured_public_url: Option<String>,
    pub trusted_proxies: Vec<Cidr>,
    pub tokens_file: Option<PathBuf>,
    /// How long a request may wait for its approvals before it expires.
    pub pending_timeout: Duration,
    pub zones: Zones,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    pending_timeout: Option<String>,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    plugins: PluginsSection,
    zones: Option<Vec<ZoneSection>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    mode: Option<String>,
    trusted_proxies: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginsSection {
    tokens_file: Option<PathBuf>,
}

/// A zone as written in the file. Kept apart from `wire::Zone` so config-only keys can be
/// added (escalation, notifications) without plugins seeing them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneSection {
    name: String,
    resources: Vec<String>,
    #[serde(default)]
    approvers: Vec<String>,
    approvals: Option<i64>,
    actions: Option<Vec<String>>,
    max_duration: Option<String>,
}

/// Command-line values that win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

/// Reads the config file (or uses the built-in defaults without one) and validates it.
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Settings, String> {
    let (text, origin) = match path {
        Some(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read config file {}: {e}", p.display()))?,
            p.display().to_string(),
        ),
        None => (String::new(), String::new()),
    };
    let settings = if path.is_some() {
        parse(&text)
    } else {
        Ok(built_in())
    };
    let mut settings = settings.map_err(|e| format!("config file {origin}: {e}"))?;
    if let Some(listen) = &overrides.listen {
        settings.listen = listen.clone();
    }
    if let Some(dir) = &overrides.data_dir {
        settings.data_dir = dir.clone();
    }
    Ok(settings)
}

impl Settings {
    /// Base of the links the service hands out (no trailing `/`): `public_url`, or the
    /// listen address when none is configured.
    pub fn public_url(&self) -> String {
        match &self.configured_public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", self.listen),
        }
    }
}

/// Parses and validates the text of a config file.
pub fn parse(text: &str) -> Result<Settings, String> {
    let file: FileConfig =
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    let listen = file.listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
    let configured_public_url = file.public_url.map(|u| u.trim_end_matches('/').to_string());
    match file.auth.mode.as_deref() {
        None | Some("trusted-header") => {}
        Some("oidc") => {
            return Err(
                "auth.mode = \"oidc\" is not supported by this version yet; use \"trusted-header\""
                    .into(),
            )
        }
        Some(other) => {
            return Err(format!(
                "auth.mode = \"{other}\" is unknown; use \"trusted-header\""
            ))
        }
    }
    let trusted_proxies = match file.auth.trusted_proxies {
        Some(list) => list,
        None => DEFAULT_TRUSTED_PROXIES.map(String::from).to_vec(),
    }
    .iter()
    .map(|c| Cidr::parse(c).map_err(|e| format!("auth.trusted_proxies: {e}")))
    .collect::<Result<Vec<_>, _>>()?;
    let pending_timeout = parse_duration(
        file.pending_timeout
            .as_deref()
            .unwrap_or(DEFAULT_PENDING_TIMEOUT),
    )
    .map_err(|e| format!("pending_timeout: {e}"))?;
    let rules = file
        .zones
        .unwrap_or_default()
        .into_iter()
        .map(zone_rule)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Settings {
        listen,
        data_dir: file.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
        configured_public_url,
        trusted_proxies,
        tokens_file: file.plugins.tokens_file,
        pending_timeout,
        zones: Zones::new(rules)?,
    })
}

fn zone_rule(z: ZoneSection) -> Result<ZoneRule, String> {
    let defaults = wire::Zone {
        name: String::new(),
        resources: vec![],
        approvers: vec![],
        approvals: 1,
        actions: ["read", "write", "export", "transform"]
            .map(String::from)
            .to_vec(),
        max_duration: "15m".into(),
    };
    let approvals = match z.approvals {
        None => defaults.approvals,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("zone `{}`: approvals must be 1 or more", z.name))?,
    };
    ZoneRule::from_wire(&wire::Zone {
        name: z.name,
        resources: z.resources,
        approvers: z.approvers,
        approvals,
        actions: z.actions.unwrap_or(defaults.actions),
        max_duration: z.max_duration.unwrap_or(defaults.max_duration),
    })
}

/// The example config a newcomer runs with when no file is given.
pub const EXAMPLE: &str = r#"
[[zones]]
name = "sales"
resources = ["hdfs:/lake/sales", "hive:sales.*"]
approvers = ["sales-owners"]
approvals = 1
actions = ["read", "write", "export", "transform"]
max_duration = "15m"

[[zones]]
name = "hr"
resources = ["hdfs:/lake/hr", "hive:hr.*"]
approvers = ["hr-owners"]
approvals = 1
actions = ["read", "write", "export", "transform"]
max_duration = "15m"
"#;

fn built_in() -> Settings {
    parse(EXAMPLE).expect("the built-in example config is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_config_gives_loopback_defaults_and_example_zones() {
        let s = load(None, &Overrides::default()).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8470");
        assert_eq!(s.data_dir, PathBuf::from("./jitgate-data"));
        assert_eq!(s.public_url(), "http://127.0.0.1:8470");
        assert_eq!(s.pending_timeout, Duration::from_secs(3600));
        assert!(s
            .trusted_proxies
            .iter()
            .any(|c| c.contains("127.0.0.1".parse().unwrap())));
        assert!(!s
            .trusted_proxies
            .iter()
            .any(|c| c.contains("10.0.0.1".parse().unwrap())));
        let sales = s.zones.get("sales").unwrap().to_wire();
        assert_eq!(sales.resources, ["hdfs:/lake/sales", "hive:sales.*"]);
        assert_eq!(sales.approvers, ["sales-owners"]);
        assert_eq!(sales.actions, ["read", "write", "export", "transform"]);
        assert_eq!(sales.max_duration, "15m");
        assert!(s.zones.get("hr").is_some());
    }

    #[test]
    fn command_line_overrides_win_and_move_the_public_url() {
        let o = Overrides {
            listen: Some("127.0.0.1:9999".into()),
            data_dir: Some("/tmp/x".into()),
        };
        let s = load(None, &o).unwrap();
        assert_eq!(s.listen, "127.0.0.1:9999");
        assert_eq!(s.public_url(), "http://127.0.0.1:9999");
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn the_contract_example_parses() {
        let s = parse(
            r#"
listen = "0.0.0.0:8470"
data_dir = "/var/lib/jitgate"
public_url = "https://jitgate.example.org/"

[auth]
mode = "trusted-header"
trusted_proxies = ["10.0.0.5/32", "::1/128"]

[plugins]
tokens_file = "/etc/jitgate/plugin-tokens"

[[zones]]
name = "sales"
resources = ["hdfs:/lake/sales", "hive:sales.*"]
approvers = ["sales-owners"]
approvals = 2
actions = ["read", "export"]
max_duration = "30m"
"#,
        )
        .unwrap();
        assert_eq!(s.public_url(), "https://jitgate.example.org");
        assert_eq!(
            s.tokens_file,
            Some(PathBuf::from("/etc/jitgate/plugin-tokens"))
        );
        let z = s.zones.get("sales").unwrap();
        assert_eq!(z.approvals, 2);
        assert_eq!(z.max_duration, Duration::from_secs(1800));
        assert_eq!(z.to_wire().actions, ["read", "export"]);
        assert!(s.trusted_proxies[0].contains("10.0.0.5".parse().unwrap()));
    }

    #[test]
    fn zone_defaults_are_one_approval_all_actions_fifteen_minutes() {
        let s = parse("[[zones]]\nname = \"a\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\n")
            .unwrap();
        let z = s.zones.get("a").unwrap().to_wire();
        assert_eq!((z.approvals, z.max_duration.as_str()), (1, "15m"));
        assert_eq!(z.actions.len(), 4);
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = parse("listn = \"127.0.0.1:1\"\n").unwrap_err();
        assert!(err.contains("unknown field `listn`"), "{err}");
        let err = parse("[auth]\ntrusted_proxy = []\n").unwrap_err();
        assert!(err.contains("unknown field `trusted_proxy`"), "{err}");
        let err = parse(
            "[[zones]]\nname = \"a\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\nmax_durration = \"5m\"\n",
        )
        .unwrap_err();
        assert!(err.contains("unknown field `max_durration`"), "{err}");
    }

    #[test]
    fn bad_zone_values_are_refused_with_the_zone_named() {
        let zone = |extra: &str| {
            parse(&format!("[[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\n{extra}\n"))
        };
        assert!(zone("").is_ok());
        assert!(zone("approvals = 0")
            .unwrap_err()
            .contains("zone `z`: approvals must be 1 or more"));
        assert!(zone("approvals = -3")
            .unwrap_err()
            .contains("approvals must be 1 or more"));
        assert!(zone("actions = [\"read\", \"delete\"]")
            .unwrap_err()
            .contains("unknown action `delete`"));
        assert!(zone("max_duration = \"a while\"")
            .unwrap_err()
            .contains("zone `z`: max_duration: bad duration"));
        let err = parse(
            "[[zones]]\nname = \"z\"\nresources = [\"hdfs:relative\"]\napprovers = [\"g\"]\n",
        )
        .unwrap_err();
        assert!(
            err.contains("zone `z`: resources: bad HDFS resource"),
            "{err}"
        );
        let err = parse("[[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\n").unwrap_err();
        assert!(err.contains("approvers is empty"), "{err}");
    }

    #[test]
    fn bad_auth_settings_are_refused() {
        assert!(parse("[auth]\nmode = \"oidc\"\n")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse("[auth]\nmode = \"anyone\"\n")
            .unwrap_err()
            .contains("unknown"));
        assert!(parse("[auth]\ntrusted_proxies = [\"10.0.0.0/40\"]\n")
            .unwrap_err()
            .contains("auth.trusted_proxies"));
    }
}
