//! The core's HTTP client of the approval service: the change feed and audit ingest.

use std::path::PathBuf;
use std::time::Duration;

use crate::wire::Feed;

pub struct ServiceClient {
    agent: ureq::Agent,
    base: String,
    token_file: Option<PathBuf>,
}

impl ServiceClient {
    pub fn new(base: &str, token_file: Option<PathBuf>, feed_wait: Duration) -> ServiceClient {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            // the long poll may hold the answer for `feed_wait`
            .timeout(feed_wait + Duration::from_secs(15))
            .build();
        ServiceClient {
            agent,
            base: base.to_string(),
            token_file,
        }
    }

    /// Read on every call so a rotated token file is picked up without a restart.
    fn authorization(&self) -> Result<Option<String>, String> {
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read jitgate.service.token.file {}: {e}",
                path.display()
            )
        })?;
        let token = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        token
            .map(|t| Some(format!("Bearer {t}")))
            .ok_or_else(|| format!("{} holds no token", path.display()))
    }

    fn with_auth(&self, req: ureq::Request) -> Result<ureq::Request, String> {
        Ok(match self.authorization()? {
            Some(a) => req.set("Authorization", &a),
            None => req,
        })
    }

    pub fn feed(&self, after: u64, wait: Duration) -> Result<Feed, String> {
        let url = format!(
            "{}/v1/feed?after={after}&wait={}",
            self.base,
            wait.as_secs()
        );
        let resp = self
            .with_auth(self.agent.get(&url))?
            .call()
            .map_err(describe)?;
        resp.into_json::<Feed>()
            .map_err(|e| format!("unreadable feed from {url}: {e}"))
    }

    /// Posts a `wire::AuditBatch` the audit buffer wrote as JSON itself.
    pub fn post_audit(&self, batch: &[u8]) -> Result<(), String> {
        let url = format!("{}/v1/audit", self.base);
        self.with_auth(self.agent.post(&url))?
            .set("Content-Type", "application/json")
            .send_bytes(batch)
            .map_err(describe)?;
        Ok(())
    }
}

/// Body of `POST /v1/grants/{id}/consume`.
#[derive(serde::Serialize)]
struct Consume<'a> {
    context: &'a str,
}

impl ServiceClient {
    /// Consumes a single-use grant: Ok(true) when this call used it, Ok(false) when it was
    /// already used (409); an error when the service could not say.
    pub fn consume(&self, grant_id: &str, context: &str) -> Result<bool, String> {
        let url = format!("{}/v1/grants/{}/consume", self.base, path_segment(grant_id));
        match self
            .with_auth(self.agent.post(&url))?
            .send_json(Consume { context })
        {
            Ok(_) => Ok(true),
            Err(ureq::Error::Status(409, _)) => Ok(false),
            Err(e) => Err(describe(e)),
        }
    }
}

/// Grant ids are the service's own (`g-...`); anything else is encoded rather than trusted.
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, resp) => {
            let url = resp.get_url().to_string();
            let body = resp.into_string().unwrap_or_default();
            format!("{url} answered {code}: {}", body.trim())
        }
        other => other.to_string(),
    }
}
