//! A private PostgreSQL server for one test (`tools/postgres.sh`: its own cluster in a temporary
//! directory, a free loopback port), stopped and removed when dropped.

use std::process::Command;

pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    pub url: String,
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/postgres.sh");

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let url = script(&[
            "start",
            &dir.path().display().to_string(),
            &port.to_string(),
        ]);
        Postgres { dir, port, url }
    }

    /// Stops the server: `fast` (sessions ended, a clean shutdown) or `immediate` (as a crash).
    pub fn stop(&self, mode: &str) {
        script(&["stop", &self.dir.path().display().to_string(), mode]);
    }

    /// Starts the stopped server again on its port.
    pub fn start_again(&self) {
        script(&[
            "start",
            &self.dir.path().display().to_string(),
            &self.port.to_string(),
        ]);
    }

    /// The `[store]` section of a replica's config.
    pub fn store_section(&self) -> String {
        format!("[store]\nurl = \"{}\"\n", self.url)
    }
}

fn script(args: &[&str]) -> String {
    let out = Command::new("sh").arg(SCRIPT).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "tools/postgres.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}
