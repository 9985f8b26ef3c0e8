//! The core's HTTP client of the approval service: the change feed, audit ingest and grant
//! consumption, over HTTPS when a service URL says so (`tls_config`), failing over between the
//! service's replicas (`each_replica`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::signature::PublicKey;
use crate::wire::{unguessable, ContextWanted, Feed, ResourceContext};

/// The largest feed reply read (a reset carries every live grant: ~300 bytes each).
const MAX_FEED_BYTES: u64 = 1 << 30;

pub struct ServiceClient {
    agent: ureq::Agent,
    /// The replicas' base URLs, in the order `jitgate.service.url` lists them.
    bases: Vec<String>,
    /// Which of `bases` answered last: calls stick to it until it fails.
    current: AtomicUsize,
    token_file: Option<PathBuf>,
    key: Option<PublicKey>,
}

/// How this client trusts the service's certificate: the system's roots, or the PEM certificates
/// of `ca_file` alone (`jitgate.service.ca.file`, the CLI's `--ca-file`). Loaded once, at start.
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let shown = path.display();
            for cert in CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read the CA file {shown}: {e}"))?
            {
                let cert = cert.map_err(|e| format!("the CA file {shown}: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("the CA file {shown}: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("the CA file {shown} holds no PEM certificate"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(format!(
                    "no CA certificates found on this system ({:?}): name one with \
                     jitgate.service.ca.file",
                    found.errors
                ));
            }
        }
    }
    // ring builds with a C compiler alone (aws-lc-rs, which rustls now prefers for its
    // post-quantum key exchange, needs cmake and more).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl ServiceClient {
    /// `bases` are the replicas of one service (one state, one signing key); `tls` is used for
    /// those that are `https:` URLs.
    pub fn new(
        bases: &[String],
        token_file: Option<PathBuf>,
        key: Option<PublicKey>,
        tls: Option<Arc<rustls::ClientConfig>>,
        feed_wait: Duration,
    ) -> ServiceClient {
        let mut agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            // the long poll may hold the answer for `feed_wait`
            .timeout(feed_wait + Duration::from_secs(15));
        if let Some(tls) = tls {
            agent = agent.tls_config(tls);
        }
        let agent = agent.build();
        ServiceClient {
            agent,
            bases: bases.to_vec(),
            current: AtomicUsize::new(0),
            token_file,
            key,
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

    /// The changes after `after`, taken only when the reply is signed by the pinned key and
    /// answers this call's own nonce (so neither a forged nor a recorded reply is applied).
    pub fn feed(&self, after: u64, wait: Duration) -> Result<Feed, String> {
        let key = self
            .key
            .as_ref()
            .ok_or("no jitgate.service.public.key to verify the feed with: refusing it")?;
        self.each_replica(|base| self.feed_from(base, key, after, wait))
    }

    /// One replica's answer to `feed`; one that fails verification is a failure like any other.
    fn feed_from(
        &self,
        base: &str,
        key: &PublicKey,
        after: u64,
        wait: Duration,
    ) -> Result<Feed, String> {
        let nonce = format!("{:016x}{:016x}", unguessable(), unguessable());
        let url = format!(
            "{base}/v1/feed?after={after}&wait={}&nonce={nonce}",
            wait.as_secs()
        );
        let resp = self
            .with_auth(self.agent.get(&url))?
            .call()
            .map_err(describe)?;
        let signature = resp.header(SIGNATURE_HEADER).map(str::to_string);
        let mut body = vec![];
        resp.into_reader()
            .take(MAX_FEED_BYTES)
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the feed from {url}: {e}"))?;
        key.reply(&body, signature.as_deref())
            .map_err(|e| format!("refusing the feed from {url}: {e}"))?;
        let feed: Feed = serde_json::from_slice(&body)
            .map_err(|e| format!("unreadable feed from {url}: {e}"))?;
        if feed.nonce.as_deref() != Some(nonce.as_str()) {
            return Err(format!(
                "refusing the feed from {url}: a signed reply to another request (played back)"
            ));
        }
        Ok(feed)
    }

    /// Posts a `wire::AuditBatch` the audit buffer wrote as JSON itself.
    ///
    /// A batch whose answer was lost goes to the next replica whole: the service stores each
    /// event once by its id, so one that arrived twice is kept once.
    pub fn post_audit(&self, batch: &[u8]) -> Result<(), String> {
        self.each_replica(|base| {
            self.with_auth(self.agent.post(&format!("{base}/v1/audit")))?
                .set("Content-Type", "application/json")
                .send_bytes(batch)
                .map_err(describe)?;
            Ok(())
        })
    }

    /// Calls `call` with each replica's base URL in turn, from the one that answered last on,
    /// round robin, until one answers; the next call starts from that one. Fails only when none
    /// answered, with what each said. A replica that answers wrongly (an error status, a reply
    /// that fails verification) is passed over like one that is down, so no replica can keep
    /// this client from the others.
    fn each_replica<T>(
        &self,
        mut call: impl FnMut(&str) -> Result<T, String>,
    ) -> Result<T, String> {
        let start = self.current.load(Ordering::Relaxed);
        let mut failures = vec![];
        for i in 0..self.bases.len() {
            let at = (start + i) % self.bases.len();
            match call(&self.bases[at]) {
                Ok(answer) => {
                    if i > 0 {
                        self.current.store(at, Ordering::Relaxed);
                        eprintln!(
                            "jitgate: failing over to the service at {} ({})",
                            self.bases[at],
                            failures.join("; ")
                        );
                    }
                    return Ok(answer);
                }
                Err(e) => failures.push(e),
            }
        }
        Err(failures.join("; "))
    }
}

/// The header carrying a feed reply's signature.
const SIGNATURE_HEADER: &str = "X-Jitgate-Signature";

/// Body of `POST /v1/grants/{id}/consume`.
#[derive(serde::Serialize)]
struct Consume<'a> {
    context: &'a str,
}

impl ServiceClient {
    /// Consumes a single-use grant: Ok(true) when this call used it, Ok(false) when it was
    /// already used (409); an error when the service could not say.
    ///
    /// A consume whose answer was lost and is sent to the next replica is told "already used":
    /// the query is denied, never allowed twice.
    pub fn consume(&self, grant_id: &str, context: &str) -> Result<bool, String> {
        self.each_replica(|base| {
            let url = format!("{base}/v1/grants/{}/consume", path_segment(grant_id));
            match self
                .with_auth(self.agent.post(&url))?
                .send_json(Consume { context })
            {
                Ok(_) => Ok(true),
                Err(ureq::Error::Status(409, _)) => Ok(false),
                Err(e) => Err(describe(e)),
            }
        })
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

/// Body of `POST /v1/context`.
#[derive(serde::Serialize)]
struct ContextReport<'a> {
    contexts: &'a [ResourceContext],
}

impl ServiceClient {
    /// The resources of `scheme` (`hdfs`, `hive`) whose context approvers wait for.
    pub fn context_wanted(&self, scheme: &str) -> Result<Vec<String>, String> {
        self.each_replica(|base| {
            let url = format!("{base}/v1/context/wanted?scheme={}", path_segment(scheme));
            let wanted: ContextWanted = self
                .with_auth(self.agent.get(&url))?
                .call()
                .map_err(describe)?
                .into_json()
                .map_err(|e| format!("unreadable answer from {url}: {e}"))?;
            Ok(wanted.resources)
        })
    }

    /// Answers `context_wanted`.
    pub fn report_context(&self, contexts: &[ResourceContext]) -> Result<(), String> {
        self.each_replica(|base| {
            self.with_auth(self.agent.post(&format!("{base}/v1/context")))?
                .send_json(ContextReport { contexts })
                .map_err(describe)?;
            Ok(())
        })
    }
}
