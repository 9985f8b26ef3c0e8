//! The service's TOML config (docs/INTERFACE.md), its defaults, and the example zones a newcomer
//! gets without any config. Everything is validated here, once, at start: an unknown key, a bad
//! resource or a zone nobody can approve stops the service with a message naming it.

use crate::caller::Caller;
use crate::context::{ContextSettings, Source, DEFAULT_TTL as DEFAULT_CONTEXT_TTL};
use crate::identity::Cidr;
use crate::oidc::{JwksSource, OidcSettings, SignInSettings};
use crate::slack::{SlackSettings, DEFAULT_RESPONSE_URL_PREFIX};
use crate::store::Location;
use crate::zones::{AutoRule, ZoneRule, Zones};
use jitgate::model::{format_duration, parse_duration, ActionSet};
use jitgate::wire;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";
pub const DEFAULT_DATA_DIR: &str = "./jitgate-data";
const DEFAULT_TRUSTED_PROXIES: [&str; 2] = ["127.0.0.1/32", "::1/128"];
const DEFAULT_PENDING_TIMEOUT: &str = "1h";
const DEFAULT_SCHEDULE_HORIZON: &str = "7d";

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
    /// How far ahead a request may ask its window to start (`schedule_horizon`).
    pub schedule_horizon: Duration,
    pub zones: Zones,
    pub auth: AuthMode,
    pub webhooks: Vec<Webhook>,
    /// What a trusted proxy must also send in `X-Jitgate-Proxy-Secret` (`auth.proxy_secret_file`).
    pub proxy_secret: Option<String>,
    /// Whether user names keep their case and realm (`auth.user_names = "exact"`); by default
    /// they are lower-cased with any realm or host part dropped, as Hadoop's short names are.
    pub exact_user_names: bool,
    /// `[tls]`: serve HTTPS with this certificate chain and key (PEM files).
    pub tls: Option<Tls>,
    /// `auth.auditors`: groups whose members may ask what the plugins would decide for anyone.
    pub auditors: Vec<String>,
    /// `[store] url`: the PostgreSQL database replicas share; None keeps SQLite in `data_dir`.
    pub postgres: Option<postgres::Config>,
    /// `[slack]`: approve from chat (`POST /v1/slack/actions`).
    pub slack: Option<SlackSettings>,
    /// `[context]`: where approvers learn what a requested resource is.
    pub context: ContextSettings,
}

impl Settings {
    /// Where the store lives.
    pub fn store_location(&self) -> Location {
        match &self.postgres {
            Some(c) => Location::Postgres(c.clone()),
            None => Location::Sqlite(Some(self.data_dir.join("jitgate.db"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// How people are recognised (`auth.mode`).
#[derive(Debug, Clone, PartialEq)]
pub enum AuthMode {
    TrustedHeader,
    Oidc(OidcSettings),
    /// Anyone picks a user on the web pages; for trying jitgate out only.
    Dev {
        users: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    Slack,
    Json,
}

/// `[[notify.webhooks]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub url: String,
    pub kind: WebhookKind,
    /// The HMAC key for `X-Jitgate-Signature` (read from `secret_file` at start).
    pub secret: Option<Vec<u8>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    pending_timeout: Option<String>,
    schedule_horizon: Option<String>,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    plugins: PluginsSection,
    zones: Option<Vec<ZoneSection>>,
    #[serde(default)]
    notify: NotifySection,
    tls: Option<TlsSection>,
    store: Option<StoreSection>,
    slack: Option<SlackSection>,
    context: Option<ContextSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextSection {
    hdfs: Option<String>,
    webhdfs_url: Option<String>,
    webhdfs_user: Option<String>,
    hive: Option<String>,
    ttl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreSection {
    url: String,
    password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlackSection {
    signing_secret_file: PathBuf,
    /// Slack user id to `user` or `user:group,group`.
    #[serde(default)]
    users: BTreeMap<String, String>,
    #[serde(default)]
    match_usernames: bool,
    username_suffix: Option<String>,
    response_url_prefix: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsSection {
    cert_file: PathBuf,
    key_file: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    mode: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    proxy_secret_file: Option<PathBuf>,
    user_names: Option<String>,
    #[serde(default)]
    auditors: Vec<String>,
    oidc: Option<OidcSection>,
    dev: Option<DevSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcSection {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    jwks_file: Option<PathBuf>,
    user_claim: Option<String>,
    groups_claim: Option<String>,
    /// Web sign-in (authorization code flow): this service's client at the issuer.
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    /// The key that signs session cookies; every replica must read the same one.
    session_secret_file: Option<PathBuf>,
    session_lifetime: Option<String>,
    scopes: Option<Vec<String>>,
}

const DEFAULT_SESSION_LIFETIME: &str = "1h";
/// Sessions are short: the provider is asked again, usually without a prompt, after this.
const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
const MIN_SESSION_SECRET: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DevSection {
    /// `user` or `user:group,group` entries offered by the picker.
    users: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifySection {
    #[serde(default)]
    webhooks: Vec<WebhookSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSection {
    url: String,
    kind: Option<String>,
    secret_file: Option<PathBuf>,
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
    #[serde(default)]
    auto_approve: Vec<AutoSection>,
    escalate_after: Option<String>,
    escalate_to: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoSection {
    name: Option<String>,
    group: String,
    actions: Vec<String>,
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
            None if self.tls.is_some() => format!("https://{}", self.listen),
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
    let auth = auth_mode(file.auth.mode.as_deref(), file.auth.oidc, file.auth.dev)?;
    let webhooks = file
        .notify
        .webhooks
        .into_iter()
        .enumerate()
        .map(|(i, w)| webhook(w).map_err(|e| format!("notify.webhooks[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    // With OIDC sign-in, trusted headers count only from proxies the admin names.
    let trusted_proxies = match file.auth.trusted_proxies {
        Some(list) => list,
        None if matches!(auth, AuthMode::Oidc(_)) => vec![],
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
    let schedule_horizon = parse_duration(
        file.schedule_horizon
            .as_deref()
            .unwrap_or(DEFAULT_SCHEDULE_HORIZON),
    )
    .map_err(|e| format!("schedule_horizon: {e}"))?;
    let rules = file
        .zones
        .unwrap_or_default()
        .into_iter()
        .map(zone_rule)
        .collect::<Result<Vec<_>, _>>()?;
    if rules.is_empty() {
        // Plugins would find every resource outside every zone, and allow it.
        return Err(
            "the config defines no [[zones]]: jitgate would protect nothing; add at least one"
                .into(),
        );
    }
    let proxy_secret = match &file.auth.proxy_secret_file {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("auth.proxy_secret_file {}: {e}", p.display()))?;
            let secret = text.trim().to_string();
            if secret.len() < 16 {
                return Err(format!(
                    "auth.proxy_secret_file {}: the secret is shorter than 16 characters",
                    p.display()
                ));
            }
            Some(secret)
        }
    };
    let exact_user_names = match file.auth.user_names.as_deref() {
        None | Some("canonical") => false,
        Some("exact") => true,
        Some(other) => {
            return Err(format!(
                "auth.user_names = \"{other}\" is unknown; use \"canonical\" (the default) or \"exact\""
            ))
        }
    };
    let postgres = file.store.map(store_config).transpose()?;
    let slack = file.slack.map(slack).transpose()?;
    let context = file.context.map(context).transpose()?.unwrap_or_default();
    Ok(Settings {
        listen,
        data_dir: file.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into()),
        configured_public_url,
        trusted_proxies,
        tokens_file: file.plugins.tokens_file,
        pending_timeout,
        schedule_horizon,
        zones: Zones::new(rules)?,
        auth,
        webhooks,
        proxy_secret,
        exact_user_names,
        tls: file.tls.map(|t| Tls {
            cert_file: t.cert_file,
            key_file: t.key_file,
        }),
        auditors: file
            .auth
            .auditors
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect(),
        postgres,
        slack,
        context,
    })
}

fn context(c: ContextSection) -> Result<ContextSettings, String> {
    let hdfs = match c.hdfs.as_deref() {
        None => None,
        Some("plugin") => Some(Source::Plugin),
        Some("webhdfs") => {
            let url = c.webhdfs_url.clone().ok_or(
                "context.hdfs = \"webhdfs\" needs context.webhdfs_url (http://namenode:9870)",
            )?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("context.webhdfs_url `{url}` is not an http(s) URL"));
            }
            Some(Source::WebHdfs {
                url: url.trim_end_matches('/').to_string(),
                user: c.webhdfs_user.clone().unwrap_or_else(|| "jitgate".into()),
            })
        }
        Some(other) => {
            return Err(format!(
                "context.hdfs = \"{other}\" is unknown: use \"plugin\" or \"webhdfs\""
            ))
        }
    };
    if !matches!(hdfs, Some(Source::WebHdfs { .. }))
        && (c.webhdfs_url.is_some() || c.webhdfs_user.is_some())
    {
        return Err(
            "context.webhdfs_url and webhdfs_user apply only with context.hdfs = \"webhdfs\""
                .into(),
        );
    }
    let hive = match c.hive.as_deref() {
        None => None,
        Some("plugin") => Some(Source::Plugin),
        Some(other) => {
            return Err(format!(
                "context.hive = \"{other}\" is unknown: use \"plugin\" (HiveServer2's)"
            ))
        }
    };
    let ttl = match c.ttl.as_deref() {
        None => DEFAULT_CONTEXT_TTL,
        Some(t) => parse_duration(t).map_err(|e| format!("context.ttl: {e}"))?,
    };
    if !(Duration::from_secs(10)..=Duration::from_secs(24 * 3600)).contains(&ttl) {
        return Err("context.ttl must be between 10s and 24h".into());
    }
    Ok(ContextSettings { hdfs, hive, ttl })
}

fn slack(s: SlackSection) -> Result<SlackSettings, String> {
    let p = &s.signing_secret_file;
    let secret = std::fs::read_to_string(p)
        .map_err(|e| format!("slack.signing_secret_file {}: {e}", p.display()))?
        .trim()
        .to_string();
    if secret.is_empty() {
        return Err(format!(
            "slack.signing_secret_file {} is empty",
            p.display()
        ));
    }
    let mut users = BTreeMap::new();
    for (id, entry) in s.users {
        let caller = Caller::from_entry(&entry);
        if id.trim().is_empty() || caller.user.is_empty() {
            return Err(format!(
                "slack.users: \"{id}\" = \"{entry}\" names no one; use \"U0123ABC\" = \"bob\" or \"bob:sales-owners\""
            ));
        }
        users.insert(id.trim().to_string(), caller);
    }
    if users.is_empty() && !s.match_usernames {
        return Err(
            "[slack] maps no one: set users (Slack user id = \"name\") or match_usernames = true"
                .into(),
        );
    }
    let prefix = s
        .response_url_prefix
        .unwrap_or_else(|| DEFAULT_RESPONSE_URL_PREFIX.into());
    // Up to a `/` after the host, so `https://hooks.example` cannot also match `https://hooks.example.evil`.
    let names_host = match prefix.split_once("://") {
        Some(("http" | "https", rest)) => rest.find('/').is_some_and(|i| i > 0),
        _ => false,
    };
    if !names_host {
        return Err(format!(
            "slack.response_url_prefix `{prefix}` must be an http(s) URL up to a `/` after the host"
        ));
    }
    Ok(SlackSettings {
        signing_secret: secret,
        users,
        match_usernames: s.match_usernames,
        username_suffix: s.username_suffix.filter(|x| !x.is_empty()),
        response_url_prefix: prefix,
    })
}

/// `[store]`: a `postgres://user@host:port/db` URL; the password from `password_file`, else
/// the URL, else `PGPASSWORD`, as PostgreSQL's own tools look for it.
fn store_config(s: StoreSection) -> Result<postgres::Config, String> {
    if !(s.url.starts_with("postgres://") || s.url.starts_with("postgresql://")) {
        return Err(format!(
            "store.url `{}` is not a postgres:// URL (leave [store] out to keep SQLite in data_dir)",
            s.url.split('@').next_back().unwrap_or_default()
        ));
    }
    let mut config: postgres::Config = s
        .url
        .parse()
        .map_err(|e| format!("store.url is not a PostgreSQL URL: {e}"))?;
    if let Some(p) = &s.password_file {
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("store.password_file {}: {e}", p.display()))?;
        config.password(text.trim_end_matches(['\r', '\n']));
    } else if config.get_password().is_none() {
        if let Ok(p) = std::env::var("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_dbname().is_none() || config.get_user().is_none() {
        return Err(
            "store.url must name the user and the database: postgres://user@host:port/db".into(),
        );
    }
    config.application_name("jitgate");
    config.connect_timeout(Duration::from_secs(5));
    Ok(config)
}

fn auth_mode(
    mode: Option<&str>,
    oidc: Option<OidcSection>,
    dev: Option<DevSection>,
) -> Result<AuthMode, String> {
    match mode {
        None | Some("trusted-header") => Ok(AuthMode::TrustedHeader),
        Some("oidc") => {
            let o = oidc.ok_or("auth.mode = \"oidc\" needs an [auth.oidc] section with issuer, audience and jwks_url or jwks_file")?;
            let sign_in = sign_in(&o)?;
            let jwks = match (o.jwks_url, o.jwks_file) {
                (Some(u), None) => JwksSource::Url(u),
                (None, Some(f)) => JwksSource::File(f),
                _ => return Err("auth.oidc: set exactly one of jwks_url and jwks_file".into()),
            };
            if o.issuer.trim().is_empty() || o.audience.trim().is_empty() {
                return Err("auth.oidc: issuer and audience must not be empty".into());
            }
            let user_claim = o.user_claim.unwrap_or_else(|| "sub".into());
            if user_claim != "sub" && user_claim != "preferred_username" && user_claim != "email" {
                return Err(format!(
                    "auth.oidc.user_claim = \"{user_claim}\": use sub, preferred_username or email"
                ));
            }
            Ok(AuthMode::Oidc(OidcSettings {
                issuer: o.issuer,
                audience: o.audience,
                jwks,
                user_claim,
                groups_claim: o.groups_claim.unwrap_or_else(|| "groups".into()),
                sign_in,
            }))
        }
        Some("dev") => {
            let users = dev
                .map(|d| d.users)
                .filter(|u| !u.is_empty())
                .ok_or("auth.mode = \"dev\" needs [auth.dev] users = [\"alice\", \"bob:sales-owners\"], the people the picker offers")?;
            Ok(AuthMode::Dev { users })
        }
        Some(other) => Err(format!(
            "auth.mode = \"{other}\" is unknown; use \"trusted-header\", \"oidc\" or \"dev\""
        )),
    }
}

/// `[auth.oidc]`'s web sign-in keys: all of client_id, client_secret_file and
/// session_secret_file, or none of them.
fn sign_in(o: &OidcSection) -> Result<Option<Box<SignInSettings>>, String> {
    let Some(client_id) = o
        .client_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    else {
        if o.client_secret_file.is_some()
            || o.session_secret_file.is_some()
            || o.session_lifetime.is_some()
            || o.scopes.is_some()
        {
            return Err("auth.oidc: web sign-in needs client_id (with client_secret_file and session_secret_file)".into());
        }
        return Ok(None);
    };
    let read = |key: &str, path: &Option<PathBuf>| -> Result<String, String> {
        let p = path
            .as_ref()
            .ok_or_else(|| format!("auth.oidc: web sign-in (client_id) needs {key}"))?;
        let text = std::fs::read_to_string(p)
            .map_err(|e| format!("auth.oidc.{key} {}: {e}", p.display()))?;
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(format!("auth.oidc.{key} {} is empty", p.display()));
        }
        Ok(text)
    };
    let client_secret = read("client_secret_file", &o.client_secret_file)?;
    let session_secret = read("session_secret_file", &o.session_secret_file)?;
    if session_secret.len() < MIN_SESSION_SECRET {
        return Err(format!(
            "auth.oidc.session_secret_file: the secret is shorter than {MIN_SESSION_SECRET} characters \
             (make one with `head -c 32 /dev/urandom | xxd -p -c 64`)"
        ));
    }
    let session_lifetime = parse_duration(
        o.session_lifetime
            .as_deref()
            .unwrap_or(DEFAULT_SESSION_LIFETIME),
    )
    .map_err(|e| format!("auth.oidc.session_lifetime: {e}"))?;
    if session_lifetime > MAX_SESSION_LIFETIME {
        return Err(format!(
            "auth.oidc.session_lifetime: at most {} (sessions are short; signing in again is \
             usually silent)",
            format_duration(MAX_SESSION_LIFETIME)
        ));
    }
    let scopes = o
        .scopes
        .clone()
        .unwrap_or_else(|| ["openid", "profile", "email"].map(String::from).to_vec());
    if !scopes.iter().any(|s| s == "openid") {
        return Err("auth.oidc.scopes must include \"openid\"".into());
    }
    Ok(Some(Box::new(SignInSettings {
        client_id: client_id.to_string(),
        client_secret,
        session_secret: session_secret.into_bytes(),
        session_lifetime,
        scopes,
    })))
}

fn webhook(w: WebhookSection) -> Result<Webhook, String> {
    if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
        return Err(format!(
            "url `{}` must start with http:// or https://",
            w.url
        ));
    }
    let kind = match w.kind.as_deref() {
        None | Some("json") => WebhookKind::Json,
        Some("slack") => WebhookKind::Slack,
        Some(other) => return Err(format!("kind `{other}` is unknown: use slack or json")),
    };
    let secret = match w.secret_file {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| format!("cannot read secret_file {}: {e}", p.display()))?;
            let text = text.trim();
            if text.is_empty() {
                return Err(format!("secret_file {} is empty", p.display()));
            }
            Some(text.as_bytes().to_vec())
        }
    };
    Ok(Webhook {
        url: w.url,
        kind,
        secret,
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
    let mut rule = ZoneRule::from_wire(&wire::Zone {
        name: z.name,
        resources: z.resources,
        approvers: z.approvers,
        approvals,
        actions: z.actions.unwrap_or(defaults.actions),
        max_duration: z.max_duration.unwrap_or(defaults.max_duration),
    })?;
    let name = rule.name.clone();
    for a in z.auto_approve {
        let rule_name = a.name.unwrap_or_else(|| a.group.clone());
        let at =
            |e: &dyn std::fmt::Display| format!("zone `{name}`: auto_approve `{rule_name}`: {e}");
        if a.group.trim().is_empty() {
            return Err(at(&"group is empty"));
        }
        let actions = ActionSet::parse(a.actions.iter().map(String::as_str)).map_err(|e| at(&e))?;
        if !rule.actions.contains(actions) {
            return Err(at(&format!(
                "actions {} are not all allowed in the zone (allowed: {})",
                actions.names().join(", "),
                rule.actions.names().join(", ")
            )));
        }
        let max_duration = match a.max_duration {
            Some(d) => parse_duration(&d).map_err(|e| at(&e))?,
            None => rule.max_duration,
        };
        if max_duration > rule.max_duration {
            return Err(at(&format!(
                "max_duration {} exceeds the zone's cap {}",
                format_duration(max_duration),
                format_duration(rule.max_duration)
            )));
        }
        if rule.auto_approve.iter().any(|r| r.name == rule_name) {
            return Err(at(&"two rules have this name; set `name`"));
        }
        rule.auto_approve.push(AutoRule {
            name: rule_name.clone(),
            group: a.group.trim().to_string(),
            actions,
            max_duration,
        });
    }
    match (z.escalate_after, z.escalate_to) {
        (None, None) => {}
        (Some(after), Some(to)) if !to.is_empty() => {
            rule.escalate_after = Some(
                parse_duration(&after).map_err(|e| format!("zone `{name}`: escalate_after: {e}"))?,
            );
            rule.escalate_to = to.into_iter().map(|g| g.trim().to_string()).collect();
        }
        _ => {
            return Err(format!(
                "zone `{name}`: escalate_after and escalate_to (a non-empty list of groups) go together"
            ))
        }
    }
    Ok(rule)
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

    /// With OIDC sign-in, trusted headers count only from proxies the admin names.
    #[test]
    fn oidc_mode_trusts_no_proxy_unless_told() {
        let zones = "[[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\n";
        let oidc =
            "[auth]\nmode = \"oidc\"\n[auth.oidc]\nissuer = \"https://idp\"\naudience = \"a\"\n\
                    jwks_file = \"/etc/jwks.json\"\n";
        assert!(parse(&format!("{oidc}{zones}"))
            .unwrap()
            .trusted_proxies
            .is_empty());
        let named = parse(&format!(
            "[auth]\nmode = \"oidc\"\ntrusted_proxies = [\"10.0.0.5/32\"]\n[auth.oidc]\nissuer = \"https://idp\"\n\
             audience = \"a\"\njwks_file = \"/etc/jwks.json\"\n{zones}"
        ))
        .unwrap();
        assert_eq!(named.trusted_proxies.len(), 1);
        assert!(
            !parse(zones).unwrap().trusted_proxies.is_empty(),
            "trusted-header mode: loopback"
        );
        assert!(parse(&format!("[auth]\nuser_names = \"odd\"\n{zones}")).is_err());
    }

    #[test]
    fn the_context_section_names_a_source_per_kind_and_webhdfs_needs_its_url() {
        let zones = "[[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\n";
        let with = |keys: &str| parse(&format!("{zones}[context]\n{keys}\n"));
        assert_eq!(parse(zones).unwrap().context, ContextSettings::default());
        let c = with("hdfs = \"webhdfs\"\nwebhdfs_url = \"http://nn:9870/\"\nhive = \"plugin\"\nttl = \"2m\"")
            .unwrap()
            .context;
        assert_eq!(
            c.hdfs,
            Some(Source::WebHdfs {
                url: "http://nn:9870".into(),
                user: "jitgate".into()
            })
        );
        assert_eq!(c.hive, Some(Source::Plugin));
        assert_eq!(c.ttl, Duration::from_secs(120));
        let err = |keys: &str| with(keys).unwrap_err();
        assert!(err("hdfs = \"webhdfs\"").contains("needs context.webhdfs_url"));
        assert!(err("hdfs = \"webhdfs\"\nwebhdfs_url = \"nn:9870\"").contains("not an http(s) URL"));
        assert!(err("hdfs = \"plugin\"\nwebhdfs_user = \"hdfs\"").contains("apply only with"));
        assert!(err("hdfs = \"namenode\"").contains("is unknown"));
        assert!(err("hive = \"webhdfs\"").contains("is unknown"));
        assert!(err("ttl = \"1s\"").contains("between 10s and 24h"));
        assert!(err("colour = \"red\"").contains("unknown field"));
    }

    #[test]
    fn the_slack_section_needs_a_secret_a_mapping_and_a_prefix_up_to_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let zones = "[[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\n";
        let with = |keys: &str| {
            parse(&format!(
                "[slack]\nsigning_secret_file = \"{}\"\n{keys}\n{zones}",
                secret.display()
            ))
        };
        let s = with("[slack.users]\nU1 = \"Bob:sales-owners, ops\"").unwrap();
        let slack = s.slack.unwrap();
        assert_eq!(slack.signing_secret, "s3cret");
        assert_eq!(slack.users["U1"].groups, ["sales-owners", "ops"]);
        assert_eq!(slack.response_url_prefix, "https://hooks.slack.com/");
        assert!(with("").unwrap_err().contains("maps no one"));
        assert!(with("match_usernames = true").is_ok());
        assert!(
            with("match_usernames = true\nresponse_url_prefix = \"https://hooks.example\"")
                .unwrap_err()
                .contains("up to a `/` after the host")
        );
        assert!(with("[slack.users]\nU1 = \":g\"")
            .unwrap_err()
            .contains("names no one"));
        std::fs::write(&secret, " \n").unwrap();
        assert!(with("match_usernames = true")
            .unwrap_err()
            .contains("is empty"));
    }

    #[test]
    fn web_sign_in_needs_its_client_and_a_long_session_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let (client, long, short) = (
            file("client", "s3cret\n"),
            file("long", &"k".repeat(40)),
            file("short", "k"),
        );
        let config = |keys: &str| {
            parse(&format!(
                "[auth]\nmode = \"oidc\"\n[auth.oidc]\nissuer = \"https://idp\"\naudience = \"a\"\n\
                 jwks_file = \"/etc/jwks.json\"\n{keys}\n\
                 [[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\n"
            ))
        };
        let s = config(&format!(
            "client_id = \"jitgate\"\nclient_secret_file = \"{client}\"\nsession_secret_file = \"{long}\"\n\
             session_lifetime = \"30m\""
        ))
        .unwrap();
        let AuthMode::Oidc(o) = &s.auth else {
            panic!("{:?}", s.auth)
        };
        let sign_in = o.sign_in.as_ref().unwrap();
        assert_eq!(sign_in.client_secret, "s3cret");
        assert_eq!(sign_in.session_lifetime, Duration::from_secs(1800));
        assert_eq!(sign_in.scopes, ["openid", "profile", "email"]);
        assert!(
            !format!("{sign_in:?}").contains("s3cret"),
            "secrets stay out of logs"
        );
        let refused = |keys: String, why: &str| {
            let err = config(&keys).unwrap_err();
            assert!(err.contains(why), "{keys}: {err}");
        };
        refused(
            format!("client_id = \"j\"\nsession_secret_file = \"{long}\""),
            "needs client_secret_file",
        );
        refused(
            format!("client_id = \"j\"\nclient_secret_file = \"{client}\""),
            "needs session_secret_file",
        );
        refused(
            format!("client_id = \"j\"\nclient_secret_file = \"{client}\"\nsession_secret_file = \"{short}\""),
            "shorter than 32",
        );
        refused(
            format!("client_id = \"j\"\nclient_secret_file = \"{client}\"\nsession_secret_file = \"{long}\"\nsession_lifetime = \"2d\""),
            "at most 12h",
        );
        refused(
            format!("client_id = \"j\"\nclient_secret_file = \"{client}\"\nsession_secret_file = \"{long}\"\nscopes = [\"profile\"]"),
            "must include \"openid\"",
        );
        refused(
            format!("client_secret_file = \"{client}\""),
            "needs client_id",
        );
    }

    #[test]
    fn a_config_with_no_zones_is_refused() {
        let err = parse("listen = \"127.0.0.1:8470\"\n").unwrap_err();
        assert!(err.contains("no [[zones]]"), "{err}");
    }

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
            .contains("needs an [auth.oidc] section"));
        assert!(parse("[auth]\nmode = \"dev\"\n")
            .unwrap_err()
            .contains("needs [auth.dev] users"));
        assert!(parse("[auth]\nmode = \"anyone\"\n")
            .unwrap_err()
            .contains("unknown"));
        assert!(parse("[auth]\ntrusted_proxies = [\"10.0.0.0/40\"]\n")
            .unwrap_err()
            .contains("auth.trusted_proxies"));
    }

    #[test]
    fn workflow_keys_of_a_zone_parse() {
        let s = parse(
            r#"
[[zones]]
name = "sales"
resources = ["hive:sales.*"]
approvers = ["sales-owners"]
escalate_after = "30m"
escalate_to = ["security"]
[[zones.auto_approve]]
group = "oncall"
actions = ["read"]
max_duration = "5m"
"#,
        )
        .unwrap();
        let z = s.zones.get("sales").unwrap();
        assert_eq!(z.escalate_after, Some(Duration::from_secs(1800)));
        assert_eq!(z.escalate_to, ["security"]);
        assert_eq!(z.auto_approve[0].name, "oncall");
        assert_eq!(z.auto_approve[0].max_duration, Duration::from_secs(300));
        assert_eq!(z.auto_approve[0].actions.names(), ["read"]);
    }

    #[test]
    fn bad_workflow_keys_are_refused_with_the_zone_named() {
        let zone = |extra: &str| {
            parse(&format!("[[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\nactions = [\"read\"]\n{extra}\n"))
        };
        assert!(zone("escalate_after = \"30m\"")
            .unwrap_err()
            .contains("zone `z`: escalate_after and escalate_to"));
        assert!(zone("escalate_after = \"soon\"\nescalate_to = [\"s\"]")
            .unwrap_err()
            .contains("zone `z`: escalate_after: bad duration"));
        assert!(
            zone("[[zones.auto_approve]]\ngroup = \"oncall\"\nactions = [\"write\"]")
                .unwrap_err()
                .contains("zone `z`: auto_approve `oncall`: actions write are not all allowed")
        );
        assert!(zone("[[zones.auto_approve]]\ngroup = \"oncall\"\nactions = [\"read\"]\nmax_duration = \"1h\"")
            .unwrap_err()
            .contains("max_duration 1h exceeds the zone's cap 15m"));
    }

    #[test]
    fn oidc_dev_and_webhook_sections_parse() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let s = parse(&format!(
            r#"
[auth]
mode = "oidc"
[auth.oidc]
issuer = "https://idp.example"
audience = "jitgate"
jwks_file = "/etc/jitgate/jwks.json"
user_claim = "preferred_username"

[[notify.webhooks]]
url = "http://127.0.0.1:9/hook"
kind = "json"
secret_file = "{}"
[[notify.webhooks]]
url = "https://chat.example/hook"
kind = "slack"

[[zones]]
name = "z"
resources = ["hdfs:/a"]
approvers = ["g"]
"#,
            secret.display()
        ))
        .unwrap();
        match &s.auth {
            AuthMode::Oidc(o) => {
                assert_eq!(o.jwks, JwksSource::File("/etc/jitgate/jwks.json".into()));
                assert_eq!(
                    (o.user_claim.as_str(), o.groups_claim.as_str()),
                    ("preferred_username", "groups")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.webhooks.len(), 2);
        assert_eq!(s.webhooks[0].secret.as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(s.webhooks[1].kind, WebhookKind::Slack);
        let err = parse("[[notify.webhooks]]\nurl = \"ftp://x\"\n").unwrap_err();
        assert!(err.contains("notify.webhooks[0]: url `ftp://x`"), "{err}");
        let err = parse("[auth]\nmode = \"oidc\"\n[auth.oidc]\nissuer = \"i\"\naudience = \"a\"\n")
            .unwrap_err();
        assert!(
            err.contains("exactly one of jwks_url and jwks_file"),
            "{err}"
        );
        let s = parse(
            "[auth]\nmode = \"dev\"\n[auth.dev]\nusers = [\"alice\", \"bob:sales-owners\"]\n\
             [[zones]]\nname = \"z\"\nresources = [\"hdfs:/a\"]\napprovers = [\"g\"]\n",
        )
        .unwrap();
        assert_eq!(
            s.auth,
            AuthMode::Dev {
                users: vec!["alice".into(), "bob:sales-owners".into()]
            }
        );
    }
}
