//! Starts the real `jitgate serve` on a free loopback port with a temporary config and data
//! directory, and talks to it over HTTP as a person (trusted headers) or a plugin (token).
#![allow(dead_code)]

pub mod receiver;

use serde_json::Value;
use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const PLUGIN_TOKEN: &str = "test-plugin-token-1";

/// `sales` (1 approval, all actions, 15m) and `hr` (2 approvals, read only, 30m).
pub const ZONES: &str = r#"
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
approvals = 2
actions = ["read"]
max_duration = "30m"
"#;

pub struct Server {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
    log: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// A server with the test zones and a tokens file holding [`PLUGIN_TOKEN`].
    pub fn start() -> Server {
        Server::start_with(&format!(
            "[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{ZONES}"
        ))
    }

    /// A server whose config is `config` (with `{dir}` replaced by the temp directory) plus
    /// the listen address and data directory.
    pub fn start_with(config: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::write(
            dir.path().join("tokens"),
            format!("# test\n{PLUGIN_TOKEN}\n"),
        )
        .unwrap();
        // A port free now may be taken before the server binds it (tests run in parallel): a
        // server is ready when it says it listens on its port, and one that found the port
        // taken is started again on another.
        for _ in 0..5 {
            let port = free_port();
            let text = format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{d}/data\"\n{}",
                config.replace("{dir}", &d)
            );
            let config_path = dir.path().join("jitgate.toml");
            std::fs::write(&config_path, text).unwrap();
            let log = dir.path().join("serve.log");
            let out = std::fs::File::create(&log).unwrap();
            let mut child = Command::new(env!("CARGO_BIN_EXE_jitgate"))
                .args(["serve", "--config"])
                .arg(&config_path)
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap();
            let listening = format!("listening on http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains(&listening) {
                    return Server {
                        child,
                        url: format!("http://127.0.0.1:{port}"),
                        dir,
                        log,
                    };
                }
                if let Ok(Some(status)) = child.try_wait() {
                    if text.contains("in use") {
                        break; // another test's server took the port first
                    }
                    panic!("jitgate serve exited with {status}: {text}");
                }
                assert!(
                    Instant::now() < deadline,
                    "jitgate serve did not listen in time: {text}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("jitgate serve found no free port in five tries");
    }

    /// Kills the service at once (SIGKILL), as a crash does.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The service process's resident memory now and at its peak (VmRSS, VmHWM), in MiB.
    pub fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        };
        (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
    }

    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Calls the API as `who` (`user` or `user:group,group`); returns the status and JSON body.
    pub fn call(&self, method: &str, path: &str, who: &str, body: Option<Value>) -> (u16, Value) {
        let (user, groups) = who.split_once(':').unwrap_or((who, ""));
        let req = ureq::request(method, &format!("{}{path}", self.url))
            .set("X-Forwarded-User", user)
            .set("X-Forwarded-Groups", groups);
        finish(match body {
            Some(b) => req.send_json(b),
            None if method != "GET" => req.set("Content-Type", "application/json").send_string(""),
            None => req.call(),
        })
    }

    /// Calls the API with a Bearer token (None: no Authorization header).
    pub fn plugin(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = ureq::request(method, &format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        finish(match body {
            Some(b) => req.send_json(b),
            None if method != "GET" => req.set("Content-Type", "application/json").send_string(""),
            None => req.call(),
        })
    }

    /// Creates a request as alice and returns its id.
    pub fn ask(&self, resource: &str, duration: &str) -> String {
        let (status, r) = self.call(
            "POST",
            "/v1/requests",
            "alice:analysts",
            Some(serde_json::json!({"resources": [resource], "actions": ["read"], "duration": duration, "reason": "INC-4411"})),
        );
        assert_eq!(status, 201, "{r}");
        r["id"].as_str().unwrap().to_string()
    }
}

fn finish(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- jitgate serve log ---\n{}", self.log());
        }
    }
}
pub mod postgres;
