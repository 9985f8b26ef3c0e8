//! What a requested resource is, for the people who decide on it (`[context]`): an `hdfs:`
//! path's file count and size, from WebHDFS or from the NameNode plugin; a `hive:` table's or
//! database's location, from the HiveServer2 plugin. Answers are kept in the store
//! (`store::context`) for `ttl`, so every replica shows them and no page waits on an engine
//! twice; a resource whose scheme has no source is shown as unknown.
//!
//! The numbers describe data the requester may not read yet, so only the request's possible
//! deciders and auditors see them, never the requester as such.

use crate::api::{JsonBody, Plugin};
use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use crate::render::percent_encode;
use crate::state::AppState;
use crate::store::{read_contexts, wanted_contexts, StoredContext};
use crate::views::RequestView;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use jitgate::model::{Resource, Scheme};
use jitgate::wire::{format_time, now_millis, parse_time, ContextWanted, ResourceContext};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long WebHDFS may take to answer one resource: the page that asked waits for it.
const WEBHDFS_TIMEOUT: Duration = Duration::from_secs(3);
/// How many resources one page read asks WebHDFS about; the rest wait for the next read.
const WEBHDFS_PER_READ: usize = 10;
/// How many resources one `GET /v1/context/wanted` names at most.
const WANTED_LIMIT: usize = 100;
/// How long an answer that says why nothing could be learnt (no such path yet) is shown.
const FAILED_FOR_MS: i64 = 60_000;
/// How old an answer may be for a new request naming the resource to take it as it is.
const REASK_AFTER_MS: i64 = 60_000;
/// The longest location, kind or error kept from a plugin.
const MAX_TEXT: usize = 4096;

/// Where the context of one scheme's resources comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The engine's plugin answers `GET /v1/context/wanted`.
    Plugin,
    /// The service asks the NameNode's WebHDFS (`webhdfs_url`) as `webhdfs_user` (simple auth).
    WebHdfs { url: String, user: String },
}

/// `[context]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextSettings {
    pub hdfs: Option<Source>,
    pub hive: Option<Source>,
    /// How long an answer is shown before it is asked again.
    pub ttl: Duration,
}

pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

impl Default for ContextSettings {
    fn default() -> ContextSettings {
        ContextSettings {
            hdfs: None,
            hive: None,
            ttl: DEFAULT_TTL,
        }
    }
}

impl ContextSettings {
    fn source(&self, scheme: Scheme) -> Option<&Source> {
        match scheme {
            Scheme::Hdfs => self.hdfs.as_ref(),
            Scheme::Hive => self.hive.as_ref(),
        }
    }

    fn ttl_ms(&self) -> i64 {
        self.ttl.as_millis() as i64
    }
}

/// How much is known of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextState {
    /// Answered.
    Known,
    /// Answered with why nothing could be learnt.
    Failed,
    /// Asked; no answer yet.
    Asked,
    /// No source is configured for this kind of resource.
    Unknown,
}

impl ContextState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContextState::Known => "known",
            ContextState::Failed => "failed",
            ContextState::Asked => "asked",
            ContextState::Unknown => "unknown",
        }
    }
}

/// What the request's page and `GET /v1/requests/{id}/context` show of one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shown {
    pub state: ContextState,
    #[serde(flatten)]
    pub context: ResourceContext,
    /// When the answer was learnt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// `webhdfs`, or the host of the plugin that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Shown {
    /// One line for people: `directory: 1,204 files in 3 directories, 12.5 MiB`,
    /// `EXTERNAL_TABLE at hdfs://nn/lake/sales/orders`, or why it is not known.
    pub fn summary(&self) -> String {
        let c = &self.context;
        match self.state {
            ContextState::Unknown => "unknown: no source is configured for it ([context])".into(),
            ContextState::Asked => "asked; no answer yet".into(),
            ContextState::Failed => format!(
                "could not tell: {}",
                c.error.as_deref().unwrap_or("no reason given")
            ),
            ContextState::Known => {
                let mut parts = vec![];
                if let Some(files) = c.files {
                    let mut p = format!("{} {}", thousands(files), plural(files, "file"));
                    if let Some(d) = c.directories.filter(|&d| d > 0) {
                        p += &format!(" in {} {}", thousands(d), plural(d, "directory"));
                    }
                    parts.push(p);
                }
                if let Some(b) = c.bytes {
                    parts.push(size(b));
                }
                let mut line = match (&c.kind, parts.is_empty()) {
                    (Some(k), true) => k.clone(),
                    (Some(k), false) => format!("{k}: {}", parts.join(", ")),
                    (None, _) => parts.join(", "),
                };
                if let Some(l) = &c.location {
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line += &format!("at {l}");
                }
                line
            }
        }
    }
}

fn plural(n: u64, word: &str) -> String {
    match (n, word) {
        (1, w) => w.to_string(),
        (_, "directory") => "directories".into(),
        (_, w) => format!("{w}s"),
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Bytes in binary units, one decimal: `12.5 MiB`; exact below a KiB.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} {}", plural(bytes, "byte"));
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// May `caller` see what the resources of `r` are: someone who may decide it now, an approver
/// of one of its zones, or an auditor.
pub fn may_see(st: &AppState, caller: &Caller, r: &RequestView, now: i64) -> bool {
    let created = parse_time(&r.created_at).unwrap_or(now);
    st.identity.is_auditor(caller)
        || st.zones.approves_any(caller, &r.zones)
        || st.zones.may_decide(caller, &r.user, &r.zones, created, now)
}

/// Why a resource's row is read: what decides how long its answer is good for.
#[derive(Clone, Copy, PartialEq)]
enum Asking {
    /// A page or an API call shows it: an answer is good for `ttl`, a failure for a minute.
    Read,
    /// A new request names it: an answer over a minute old, or any failure, is asked again
    /// (a table created since, a path filled since). Not every time: filing requests must not
    /// make the NameNode count a large tree again and again.
    Filed,
}

impl ContextSettings {
    /// How long `c` is good for when asking as `why`.
    fn kept_ms(&self, c: &StoredContext, why: Asking) -> i64 {
        match (c.context.error.is_some(), why) {
            (true, Asking::Filed) => 0,
            (true, Asking::Read) => FAILED_FOR_MS.min(self.ttl_ms()),
            (false, Asking::Filed) => REASK_AFTER_MS.min(self.ttl_ms()),
            (false, Asking::Read) => self.ttl_ms(),
        }
    }
}

/// The canonical keys of those of `resources` whose scheme has a source, in order; None for
/// the others.
fn keys(settings: &ContextSettings, resources: &[String]) -> Vec<Option<String>> {
    resources
        .iter()
        .map(|r| {
            Resource::parse(r)
                .ok()
                .filter(|r| settings.source(r.scheme()).is_some())
                .map(|r| r.key().to_string())
        })
        .collect()
}

/// The stored rows of `keys`, and those of `keys` to ask again: missing, or no longer good.
async fn read_stale(
    st: &AppState,
    keys: Vec<String>,
    now: i64,
    why: Asking,
) -> Result<(Vec<StoredContext>, Vec<String>)> {
    let stored = {
        let keys = keys.clone();
        st.db.read(move |tx| read_contexts(tx, &keys)).await?
    };
    let good = |c: &StoredContext| {
        c.fetched_at
            .is_some_and(|t| t > now - st.context.kept_ms(c, why))
    };
    let stale = keys
        .into_iter()
        .filter(|k| !stored.iter().any(|c| &c.context.resource == k && good(c)))
        .collect();
    Ok((stored, stale))
}

/// What each of `resources` (as a request lists them) is, asking its source again for what is
/// missing or stale: WebHDFS before answering, a plugin at its next poll.
pub async fn lookup(st: &AppState, resources: &[String]) -> Result<Vec<Shown>> {
    let now = now_millis();
    let keys = keys(&st.context, resources);
    let sourced: Vec<String> = keys.iter().flatten().cloned().collect();
    let (mut stored, stale) = read_stale(st, sourced, now, Asking::Read).await?;
    if !stale.is_empty() {
        let wanted = stale.clone();
        st.db.call(move |s| s.want_context(&wanted, now)).await?;
        for c in ask_webhdfs(st, stale).await? {
            stored.retain(|s| s.context.resource != c.context.resource);
            stored.push(c);
        }
    }
    Ok(keys
        .iter()
        .zip(resources)
        .map(|(key, text)| {
            let row = key
                .as_ref()
                .and_then(|k| stored.iter().find(|c| &c.context.resource == k));
            let mut shown = shown(key.is_some(), row);
            // As the request names it (`hive:sales.*`, whose key is `hive:sales`).
            shown.context.resource = text.clone();
            shown
        })
        .collect())
}

/// A request was filed: what is stale of its resources is asked about again before the caller
/// is answered, so a plugin's next poll finds it, and WebHDFS is asked in the background, so
/// the first approver to open the request finds the answer there. Best effort: a failure is
/// logged, and the page asks again.
pub async fn asked(st: &AppState, resources: &[String]) {
    let sourced: Vec<String> = keys(&st.context, resources).into_iter().flatten().collect();
    if sourced.is_empty() {
        return;
    }
    let now = now_millis();
    let asked = async {
        let (_, stale) = read_stale(st, sourced, now, Asking::Filed).await?;
        let wanted = stale.clone();
        st.db.call(move |s| s.want_context(&wanted, now)).await?;
        Ok::<_, ServiceError>(stale)
    };
    match asked.await {
        Ok(stale) if !stale.is_empty() => {
            let st = st.clone();
            tokio::spawn(async move {
                if let Err(e) = ask_webhdfs(&st, stale).await {
                    log_event!("context: {e}");
                }
            });
        }
        Ok(_) => {}
        Err(e) => log_event!("context: could not ask about {}: {e}", resources.join(", ")),
    }
}

fn shown(has_source: bool, row: Option<&StoredContext>) -> Shown {
    match row {
        Some(c) if c.fetched_at.is_some() => Shown {
            state: if c.context.error.is_some() {
                ContextState::Failed
            } else {
                ContextState::Known
            },
            context: c.context.clone(),
            as_of: c.fetched_at.map(format_time),
            source: c.source.clone(),
        },
        _ => Shown {
            state: if has_source {
                ContextState::Asked
            } else {
                ContextState::Unknown
            },
            context: ResourceContext::default(),
            as_of: None,
            source: None,
        },
    }
}

/// Asks WebHDFS, when it is the source of `hdfs:`, about the `hdfs:` ones of `stale`
/// (at most `WEBHDFS_PER_READ`), and keeps its answers; returns them as stored.
async fn ask_webhdfs(st: &AppState, stale: Vec<String>) -> Result<Vec<StoredContext>> {
    let Some(Source::WebHdfs { url, user }) = st.context.hdfs.clone() else {
        return Ok(vec![]);
    };
    let paths: Vec<String> = stale
        .into_iter()
        .filter(|k| k.starts_with("hdfs:"))
        .take(WEBHDFS_PER_READ)
        .collect();
    if paths.is_empty() {
        return Ok(vec![]);
    }
    let answers = tokio::task::spawn_blocking(move || {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(WEBHDFS_TIMEOUT)
            .timeout(WEBHDFS_TIMEOUT)
            .build();
        paths
            .iter()
            .filter_map(|k| match content_summary(&agent, &url, &user, k) {
                Ok(c) => Some(c),
                // Not kept: the next read asks again rather than showing an outage for `ttl`.
                Err(e) => {
                    log_event!("context: WebHDFS could not say what {k} is: {e}");
                    None
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("asking WebHDFS: {e}")))?;
    let at = now_millis();
    let mut stored = vec![];
    for c in answers {
        let kept = c.clone();
        st.db
            .call(move |s| s.record_context(&kept, "webhdfs", at))
            .await?;
        stored.push(StoredContext {
            context: c,
            wanted_at: at,
            fetched_at: Some(at),
            source: Some("webhdfs".into()),
        });
    }
    Ok(stored)
}

/// `GETCONTENTSUMMARY` of the path of `key` (`hdfs:/...`). A path that does not exist is an
/// answer (with `error`); a NameNode that cannot be reached is an `Err`.
fn content_summary(
    agent: &ureq::Agent,
    base: &str,
    user: &str,
    key: &str,
) -> std::result::Result<ResourceContext, String> {
    let path = key.strip_prefix("hdfs:").unwrap_or(key);
    let url = format!(
        "{}/webhdfs/v1{}?op=GETCONTENTSUMMARY&user.name={}",
        base.trim_end_matches('/'),
        percent_encode(path, b"/"),
        percent_encode(user, b"")
    );
    let mut answer = ResourceContext {
        resource: key.to_string(),
        ..Default::default()
    };
    match agent.get(&url).call() {
        Ok(resp) => {
            let v: serde_json::Value = resp
                .into_json()
                .map_err(|e| format!("{url}: unreadable answer: {e}"))?;
            let s = &v["ContentSummary"];
            let count = |k: &str| {
                s[k].as_u64()
                    .ok_or_else(|| format!("{url}: the answer has no {k}"))
            };
            let directories = count("directoryCount")?;
            // The count includes the path itself: a file has none.
            answer.kind = Some(
                if directories == 0 {
                    "file"
                } else {
                    "directory"
                }
                .into(),
            );
            answer.files = Some(count("fileCount")?);
            answer.directories = Some(directories);
            answer.bytes = Some(count("length")?);
            Ok(answer)
        }
        Err(ureq::Error::Status(404, _)) => {
            answer.error = Some("no such path".into());
            Ok(answer)
        }
        Err(ureq::Error::Status(code, resp)) => {
            let body: serde_json::Value = resp.into_json().unwrap_or_default();
            let why = body["RemoteException"]["message"]
                .as_str()
                .unwrap_or("no reason given");
            answer.error = Some(bounded(format!("WebHDFS answered {code}: {why}")));
            Ok(answer)
        }
        Err(e) => Err(format!("{base}: {e}")),
    }
}

fn bounded(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The plugins' side (`GET /v1/context/wanted`, `POST /v1/context`) and the deciders'
/// (`GET /v1/requests/{id}/context`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/context/wanted", get(wanted))
        .route("/v1/context", post(report))
        .route("/v1/requests/{id}/context", get(request_context))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WantedQuery {
    scheme: String,
}

/// A token bound to one user (a Spark driver's) acts for that user alone: it is not a plugin
/// that may describe anyone's data.
fn engine_plugin(Plugin(scope): &Plugin) -> Result<()> {
    match &scope.user {
        Some(u) => Err(ServiceError::Forbidden(format!(
            "this plugin token is bound to user {u}: only an engine's plugin answers for context"
        ))),
        None => Ok(()),
    }
}

fn scheme_of(name: &str) -> Result<Scheme> {
    match name {
        "hdfs" => Ok(Scheme::Hdfs),
        "hive" => Ok(Scheme::Hive),
        other => Err(ServiceError::BadInput(format!(
            "scheme `{other}` is unknown: use hdfs or hive"
        ))),
    }
}

async fn wanted(
    State(st): State<AppState>,
    plugin: Plugin,
    Query(q): Query<WantedQuery>,
) -> Result<Json<ContextWanted>> {
    engine_plugin(&plugin)?;
    let scheme = scheme_of(&q.scheme)?;
    if st.context.source(scheme) != Some(&Source::Plugin) {
        return Ok(Json(ContextWanted::default()));
    }
    let name = q.scheme;
    let resources = st
        .db
        .read(move |tx| wanted_contexts(tx, &name, now_millis(), WANTED_LIMIT))
        .await?;
    Ok(Json(ContextWanted { resources }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    contexts: Vec<ResourceContext>,
}

#[derive(Serialize)]
struct Recorded {
    /// How many answers were kept; one for a resource nobody asked about is dropped.
    recorded: usize,
}

/// A plugin's answers. Only for resources of a scheme whose source is the plugin, in canonical
/// form: a plugin cannot overwrite what WebHDFS said.
async fn report(
    State(st): State<AppState>,
    plugin: Plugin,
    JsonBody(body): JsonBody<Report>,
) -> Result<Json<Recorded>> {
    engine_plugin(&plugin)?;
    let mut answers = Vec::with_capacity(body.contexts.len());
    for mut c in body.contexts {
        let r = Resource::parse_exact(&c.resource)
            .map_err(|e| ServiceError::BadInput(e.to_string()))?;
        if r.key() != c.resource {
            return Err(ServiceError::BadInput(format!(
                "`{}` is not a canonical resource (`{}`)",
                c.resource,
                r.key()
            )));
        }
        if st.context.source(r.scheme()) != Some(&Source::Plugin) {
            return Err(ServiceError::BadInput(format!(
                "[context] does not take {} from plugins",
                c.resource
            )));
        }
        c.kind = c.kind.map(bounded);
        c.location = c.location.map(bounded);
        c.error = c.error.map(bounded);
        answers.push(c);
    }
    let source = plugin.0.host.clone().unwrap_or_else(|| "plugin".into());
    let now = now_millis();
    let recorded = st
        .db
        .call(move |s| {
            let mut n = 0;
            for c in &answers {
                n += s.record_context(c, &source, now)? as usize;
            }
            Ok(n)
        })
        .await?;
    Ok(Json(Recorded { recorded }))
}

#[derive(Serialize)]
struct RequestContext {
    resources: Vec<Shown>,
}

async fn request_context(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RequestContext>> {
    let r = st.db.call(move |s| s.request(&id, now_millis())).await?;
    if !may_see(&st, &caller, &r, now_millis()) {
        return Err(ServiceError::Forbidden(format!(
            "what the resources of {} are is shown to its approvers and auditors only",
            r.id
        )));
    }
    Ok(Json(RequestContext {
        resources: lookup(&st, &r.resources).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(c: ResourceContext) -> Shown {
        Shown {
            state: ContextState::Known,
            context: c,
            as_of: None,
            source: None,
        }
    }

    #[test]
    fn a_summary_reads_like_a_sentence() {
        let dir = known(ResourceContext {
            resource: "hdfs:/lake/sales".into(),
            kind: Some("directory".into()),
            files: Some(1204),
            directories: Some(3),
            bytes: Some(13_107_200),
            ..Default::default()
        });
        assert_eq!(
            dir.summary(),
            "directory: 1,204 files in 3 directories, 12.5 MiB"
        );
        let file = known(ResourceContext {
            resource: "hdfs:/lake/sales/a".into(),
            kind: Some("file".into()),
            files: Some(1),
            directories: Some(0),
            bytes: Some(1),
            ..Default::default()
        });
        assert_eq!(file.summary(), "file: 1 file, 1 byte");
        let table = known(ResourceContext {
            resource: "hive:sales.orders".into(),
            kind: Some("EXTERNAL_TABLE".into()),
            location: Some("hdfs://nn/lake/sales/orders".into()),
            ..Default::default()
        });
        assert_eq!(
            table.summary(),
            "EXTERNAL_TABLE at hdfs://nn/lake/sales/orders"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(size(5 << 40), "5.0 TiB");
    }
}
