//! A real `jitgate serve` process for the core's integration tests.

#![allow(dead_code)]

use std::io::BufRead;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TOKEN: &str = "test-plugin-token-5b8e";

/// The feed signing key the test service is given (an admin may provision it likewise), so a
/// plugin can pin its public key before the service first starts.
pub const SIGNING_SEED: [u8; 32] = [0x5b; 32];

/// The `jitgate.*` lines of a plugin whose cache dir is under `dir`, following `url` with the
/// test token and pinning the test service's key. `extra` comes last: a key it repeats wins.
pub fn plugin_config(url: &str, dir: &Path, extra: &str) -> String {
    std::fs::write(dir.join("plugin-token"), TOKEN).unwrap();
    format!(
        "jitgate.service.url={url}\njitgate.service.token.file={}\njitgate.cache.dir={}\n\
         jitgate.service.public.key={}\njitgate.plugin=test\njitgate.audit.flush.millis=50\n{extra}",
        dir.join("plugin-token").display(),
        dir.join("cache").display(),
        public_key()
    )
}

/// The `jitgate.service.public.key` of the test service.
pub fn public_key() -> String {
    jitgate::signature::SigningKey::from_seed(SIGNING_SEED)
        .public()
        .to_string()
}

/// target/<profile>, where cargo puts the `jitgate` binary and the cdylib.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

pub struct Service {
    pub dir: PathBuf,
    pub url: String,
    port: u16,
    child: Option<Child>,
    agent: ureq::Agent,
}

impl Service {
    /// Writes a config with the `sales` zone into `dir` and starts the service on a free port.
    pub fn start(dir: &Path) -> Service {
        Service::start_with(dir, None)
    }

    /// The same, serving HTTPS with a certificate for 127.0.0.1 and localhost issued by a test
    /// CA; returns the CA's certificate file too.
    pub fn start_tls(dir: &Path) -> (Service, PathBuf) {
        let ca = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "jitgate test CA");
        let ca_cert = params.self_signed(&ca).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
        let cert = params.signed_by(&key, &ca_cert, &ca).unwrap();
        let (ca_file, cert_file, key_file) = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        let tls = format!(
            "[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            cert_file.display(),
            key_file.display()
        );
        (Service::start_with(dir, Some((&tls, &ca_file))), ca_file)
    }

    fn start_with(dir: &Path, tls: Option<(&str, &Path)>) -> Service {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut agent = ureq::AgentBuilder::new();
        if let Some((_, ca)) = tls {
            agent = agent.tls_config(jitgate::service_client::tls_config(Some(ca)).unwrap());
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut s = Service {
            dir: dir.to_path_buf(),
            url: format!("{scheme}://127.0.0.1:{port}"),
            port,
            child: None,
            agent: agent.build(),
        };
        std::fs::write(dir.join("tokens"), format!("{TOKEN}\n")).unwrap();
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let key_file = dir.join("data").join("feed-signing-key");
        std::fs::write(&key_file, jitgate::signature::hex(&SIGNING_SEED)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(
            dir.join("jitgate.toml"),
            format!(
                r#"listen = "127.0.0.1:{port}"
data_dir = "{data}"
public_url = "{scheme}://127.0.0.1:{port}"

[auth]
mode = "trusted-header"

[plugins]
tokens_file = "{tokens}"

[[zones]]
name = "sales"
resources = ["hdfs:/lake/sales", "hive:sales.*"]
approvers = ["sales-owners"]
approvals = 1
actions = ["read", "write", "export", "transform"]
max_duration = "15m"
{tls}"#,
                data = dir.join("data").display(),
                tokens = dir.join("tokens").display(),
                tls = tls.map_or("", |t| t.0),
            ),
        )
        .unwrap();
        s.restart();
        s
    }

    /// Starts (again) on the same port and data dir, and waits until the feed answers.
    pub fn restart(&mut self) {
        let bin = target_dir().join("jitgate");
        assert!(
            bin.exists(),
            "build the service first: cargo build --release --workspace"
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("service.log"))
            .unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg("--config")
            .arg(self.dir.join("jitgate.toml"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("jitgate serve starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = self
                .agent
                .get(&format!("{}/v1/feed?wait=0", self.url))
                .set("Authorization", &format!("Bearer {TOKEN}"))
                .call()
                .is_ok();
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "service did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A second `jitgate serve` on this one's data dir (the same SQLite database, in WAL mode,
    /// and the same signing key) on a port of its own; its config and log go under `dir`.
    pub fn replica(&self, dir: &Path) -> Service {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = std::fs::read_to_string(self.dir.join("jitgate.toml"))
            .unwrap()
            .replace(
                &format!("127.0.0.1:{}\"", self.port),
                &format!("127.0.0.1:{port}\""),
            );
        std::fs::write(dir.join("jitgate.toml"), config).unwrap();
        let mut s = Service {
            dir: dir.to_path_buf(),
            url: self.url.replace(&self.port.to_string(), &port.to_string()),
            port,
            child: None,
            agent: self.agent.clone(),
        };
        s.restart();
        s
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("service.log")).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        user: &str,
        groups: &str,
        body: Option<Value>,
    ) -> Value {
        let req = self
            .agent
            .request(method, &format!("{}{path}", self.url))
            .set("X-Forwarded-User", user)
            .set("X-Forwarded-Groups", groups);
        let resp = match body {
            Some(b) => req.send_json(b),
            None if method != "GET" => req.set("Content-Type", "application/json").send_string(""),
            None => req.call(),
        };
        match resp {
            Ok(r) => r.into_json().unwrap(),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "{method} {path} as {user}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// alice asks for `actions` on `resource`; returns the request id.
    pub fn request(&self, user: &str, resource: &str, actions: &[&str], duration: &str) -> String {
        let body = serde_json::json!({
            "resources": [resource], "actions": actions, "duration": duration, "reason": "INC-4411 integration test"
        });
        self.call("POST", "/v1/requests", user, "analysts", Some(body))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// bob (a sales owner) approves; returns the grant id.
    pub fn approve(&self, request: &str) -> String {
        self.approve_grant(request)["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// bob approves; returns the grant object.
    pub fn approve_grant(&self, request: &str) -> Value {
        let r = self.call(
            "POST",
            &format!("/v1/requests/{request}/approve"),
            "bob",
            "sales-owners",
            Some(serde_json::json!({"comment": "ok"})),
        );
        assert_eq!(r["status"], "approved", "{r}");
        r["grant"].clone()
    }

    pub fn revoke(&self, grant: &str) {
        self.call(
            "POST",
            &format!("/v1/grants/{grant}/revoke"),
            "bob",
            "sales-owners",
            Some(serde_json::json!({})),
        );
    }

    /// `GET /v1/audit/verify`: the audit chain's check.
    pub fn verify_audit(&self) -> Value {
        self.call("GET", "/v1/audit/verify", "auditor", "auditors", None)
    }

    pub fn audit(&self, query: &str) -> Vec<Value> {
        let r = self.call(
            "GET",
            &format!("/v1/audit?{query}"),
            "auditor",
            "auditors",
            None,
        );
        r["events"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An HTTP/1.1 message's head (without the blank line) and its body, by Content-Length.
pub fn read_message(r: &mut impl BufRead) -> std::io::Result<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    r.read_exact(&mut body)?;
    Ok((head, body))
}

/// `head` for a body of `length` bytes on a connection that closes after it.
pub fn rebuild(head: &str, length: usize) -> String {
    let kept: String = head
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !l.is_empty() && !l.starts_with("content-length:") && !l.starts_with("connection:")
        })
        .map(|l| format!("{l}\r\n"))
        .collect();
    format!("{kept}content-length: {length}\r\nconnection: close\r\n\r\n")
}

/// Polls `f` until it returns Some, failing after `limit`; returns the value and the time it took.
pub fn eventually<T>(
    limit: Duration,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
) -> (T, Duration) {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return (v, start.elapsed());
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
