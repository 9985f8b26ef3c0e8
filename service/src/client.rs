//! The client subcommands: thin callers of the HTTP API that print a table, or the JSON
//! with `--json`, and exit non-zero with the service's message on failure.

use crate::views::{AuditPage, CheckDecision, CheckView, GrantView, RequestView, Status, Verdict};
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct Options {
    /// Base URL of the jitgate service
    #[arg(
        long,
        global = true,
        env = "JITGATE_SERVER",
        default_value = "http://127.0.0.1:8470",
        value_name = "URL"
    )]
    pub server: String,
    /// Act as USER with GROUPs through the trusted headers (only from an address the service trusts)
    #[arg(long = "as", global = true, value_name = "USER[:GROUP,GROUP]")]
    pub as_user: Option<String>,
    /// Print JSON instead of a table
    #[arg(long, global = true)]
    pub json: bool,
    /// PEM certificates to trust for an https:// server instead of the system's roots
    #[arg(long, global = true, env = "JITGATE_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
pub enum AuditCheck {
    /// Walk the audit chain and name its first broken link (exit status 1 when one is broken)
    Verify {
        /// A chain hash written down earlier (a report's head): it must still be on the chain
        #[arg(long, value_name = "HASH")]
        expect: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum Command {
    /// Ask for actions on resources, for a while, with a reason
    Request(RequestArgs),
    /// What the plugins would decide now: exit 0 allowed (or in no zone), 1 denied, 2 on error
    Check {
        /// hdfs:/abs/path, hive:db.table or hive:db.*
        #[arg(value_name = "RESOURCE")]
        resource: String,
        /// read, write, export, transform (several: read,write)
        #[arg(
            long = "action",
            short = 'a',
            required = true,
            value_delimiter = ',',
            value_name = "ACTION[,ACTION]"
        )]
        actions: Vec<String>,
        /// Ask for another user (approvers of the resource's zones and auditors may)
        #[arg(long = "as-user", value_name = "USER")]
        user: Option<String>,
    },
    /// Ask for more time on a grant you hold: a request the same approvers decide; approved,
    /// the grant runs on without a gap
    Extend {
        /// The grant, g-...
        grant: String,
        /// How much longer, e.g. 10m (at most the zone's cap)
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Why you need more time; approvers read this
        #[arg(long)]
        reason: String,
        /// A ticket or incident id, shown to approvers
        #[arg(long)]
        ticket: Option<String>,
        /// Wait for the decision: exit 0 once approved, 1 if denied, cancelled or expired
        #[arg(long)]
        wait: bool,
    },
    /// Approve a request
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Deny a request
    Deny {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Cancel your own pending request
    Cancel { id: String },
    /// End a grant now (its grantee or an approver)
    Revoke { id: String },
    /// List requests, newest first
    Requests {
        /// pending, approved, denied, cancelled or expired
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// List active grants (all grants with --all)
    Grants {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show the audit trail, oldest first (or `audit verify`: check its chain)
    #[command(args_conflicts_with_subcommands = true)]
    Audit {
        #[command(subcommand)]
        check: Option<AuditCheck>,
        #[arg(long)]
        user: Option<String>,
        /// Events on this resource or under it
        #[arg(long)]
        resource: Option<String>,
        #[arg(long)]
        grant: Option<String>,
        /// RFC 3339 UTC time, e.g. 2026-11-27T21:00:00Z
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
        /// Start after the page that ended here (the `next` a page printed)
        #[arg(long, value_name = "CURSOR")]
        after: Option<String>,
        /// Print CSV (with a header row)
        #[arg(long, conflicts_with = "json")]
        csv: bool,
    },
}

#[derive(Args)]
pub struct RequestArgs {
    /// hdfs:/abs/path, hive:db.table or hive:db.* (each inside a zone)
    #[arg(required = true, value_name = "RESOURCE")]
    resources: Vec<String>,
    /// read, write, export, transform (several: read,write)
    #[arg(
        long = "action",
        short = 'a',
        required = true,
        value_delimiter = ',',
        value_name = "ACTION[,ACTION]"
    )]
    actions: Vec<String>,
    /// How long the grant should last, e.g. 10m (at most the zone's cap)
    #[arg(long = "for", value_name = "DURATION")]
    duration: String,
    /// Why you need it; approvers read this
    #[arg(long)]
    reason: String,
    /// A ticket or incident id, shown to approvers
    #[arg(long)]
    ticket: Option<String>,
    /// The grant is consumed by one query or call
    #[arg(long)]
    single_use: bool,
    /// When the window starts, e.g. 2026-12-06T09:00Z (UTC; within the service's
    /// schedule_horizon); the grant lasts --for from then
    #[arg(long, value_name = "TIME")]
    start: Option<String>,
    /// Wait for the decision: exit 0 once approved, 1 if denied, cancelled or expired
    #[arg(long)]
    wait: bool,
}

enum Auth {
    Headers { user: String, groups: String },
    Bearer(String),
}

struct Client {
    agent: ureq::Agent,
    server: String,
    auth: Auth,
}

/// Keeps only characters that need no escaping in a URL path segment.
fn segment(text: &str) -> String {
    crate::render::percent_encode(text, b"")
}

impl Client {
    fn new(opts: &Options) -> Result<Client, String> {
        let auth = match &opts.as_user {
            Some(who) => {
                let (user, groups) = who.split_once(':').unwrap_or((who, ""));
                if user.trim().is_empty() {
                    return Err("--as needs a user name: --as USER[:GROUP,GROUP]".into());
                }
                Auth::Headers {
                    user: user.trim().into(),
                    groups: groups.trim().into(),
                }
            }
            None => match std::env::var("JITGATE_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
            {
                Some(token) => Auth::Bearer(token.trim().into()),
                None => {
                    let user = std::env::var("USER")
                        .or_else(|_| std::env::var("LOGNAME"))
                        .ok()
                        .filter(|u| !u.is_empty())
                        .ok_or("no identity: use --as USER[:GROUP,GROUP] or set JITGATE_TOKEN")?;
                    Auth::Headers {
                        user,
                        groups: String::new(),
                    }
                }
            },
        };
        let mut agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(60));
        if opts.server.starts_with("https://") {
            agent = agent.tls_config(jitgate::service_client::tls_config(
                opts.ca_file.as_deref(),
            )?);
        }
        let agent = agent.build();
        Ok(Client {
            agent,
            server: opts.server.trim_end_matches('/').to_string(),
            auth,
        })
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, Option<&str>)],
        body: Option<Value>,
    ) -> Result<ureq::Response, String> {
        let mut req = self
            .agent
            .request(method, &format!("{}{path}", self.server));
        for (k, v) in query {
            if let Some(v) = v {
                req = req.query(k, v);
            }
        }
        req = match &self.auth {
            Auth::Headers { user, groups } if groups.is_empty() => {
                req.set("X-Forwarded-User", user)
            }
            Auth::Headers { user, groups } => req
                .set("X-Forwarded-User", user)
                .set("X-Forwarded-Groups", groups),
            Auth::Bearer(token) => req.set("Authorization", &format!("Bearer {token}")),
        };
        let result = match body {
            Some(b) => req.send_json(b),
            // the API takes state-changing calls only as JSON, even with no body
            None if method != "GET" => req.set("Content-Type", "application/json").send_string(""),
            None => req.call(),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                let message = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(String::from))
                    .unwrap_or_else(|| format!("the service answered {code}: {}", text.trim()));
                Err(message)
            }
            Err(e) => Err(format!(
                "cannot reach the jitgate service at {}: {e}",
                self.server
            )),
        }
    }

    fn json(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, Option<&str>)],
        body: Option<Value>,
    ) -> Result<Value, String> {
        self.call(method, path, query, body)?
            .into_json()
            .map_err(|e| format!("the service sent something that is not JSON: {e}"))
    }
}

pub fn run(opts: &Options, command: Command) -> ExitCode {
    // `check` answers with 1 for "denied", so its failures need another code
    let failed = match command {
        Command::Check { .. } => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    };
    let result = Client::new(opts).and_then(|client| execute(&client, opts.json, command));
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("jitgate: {message}");
            failed
        }
    }
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values print")
    );
}

/// Reads a view the service sent (`crate::views`); `--json` prints what was sent as it is.
fn view<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    T::deserialize(v)
        .map_err(|e| format!("the service sent an answer this jitgate cannot read: {e}"))
}

/// A full audit page says where the next one starts; on stderr, so the data on stdout stays clean.
fn more_follow(next: Option<&str>) {
    if let Some(next) = next {
        eprintln!("jitgate: more events follow: add --after {next}");
    }
}

fn or_empty(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

fn execute(c: &Client, as_json: bool, command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Request(args) => request(c, as_json, args),
        Command::Extend {
            grant,
            duration,
            reason,
            ticket,
            wait,
        } => {
            let body = json!({ "duration": duration, "reason": reason, "ticket": ticket });
            let path = format!("/v1/grants/{}/extend", segment(&grant));
            submit(c, as_json, &path, body, wait)
        }
        Command::Check {
            resource,
            actions,
            user,
        } => check(c, as_json, &resource, &actions.join(","), user.as_deref()),
        Command::Approve { id, comment } => {
            let r = c.json(
                "POST",
                &format!("/v1/requests/{}/approve", segment(&id)),
                &[],
                Some(json!({ "comment": comment.unwrap_or_default() })),
            )?;
            if as_json {
                print_json(&r);
                return Ok(ExitCode::SUCCESS);
            }
            let r: RequestView = view(&r)?;
            match &r.grant {
                Some(g) => println!(
                    "request {} approved: grant {} lets {} {} {} until {}",
                    r.id,
                    g.grant.id,
                    g.grant.user,
                    g.grant.actions.join(","),
                    g.grant.resources.join(","),
                    g.grant.expires_at
                ),
                None => println!(
                    "approval recorded; request {} is {} (more approvals needed)",
                    r.id,
                    r.status.as_str()
                ),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Deny { id, reason } => {
            let r = c.json(
                "POST",
                &format!("/v1/requests/{}/deny", segment(&id)),
                &[],
                Some(json!({ "reason": reason })),
            )?;
            if as_json {
                print_json(&r)
            } else {
                println!("request {} denied", view::<RequestView>(&r)?.id)
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel { id } => {
            let r = c.json(
                "POST",
                &format!("/v1/requests/{}/cancel", segment(&id)),
                &[],
                Some(json!({})),
            )?;
            if as_json {
                print_json(&r)
            } else {
                println!("request {} cancelled", view::<RequestView>(&r)?.id)
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke { id } => {
            let g = c.json(
                "POST",
                &format!("/v1/grants/{}/revoke", segment(&id)),
                &[],
                Some(json!({})),
            )?;
            if as_json {
                print_json(&g)
            } else {
                println!("grant {} revoked", view::<GrantView>(&g)?.grant.id)
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Requests {
            status,
            user,
            limit,
        } => {
            let limit = limit.map(|l| l.to_string());
            let r = c.json(
                "GET",
                "/v1/requests",
                &[
                    ("status", status.as_deref()),
                    ("user", user.as_deref()),
                    ("limit", limit.as_deref()),
                ],
                None,
            )?;
            let items: Vec<RequestView> = view(&r["requests"])?;
            if as_json {
                print_json(&r["requests"]);
            } else {
                let rows = items
                    .iter()
                    .map(|q| {
                        vec![
                            q.id.clone(),
                            q.status.as_str().into(),
                            q.user.clone(),
                            q.actions.join(","),
                            q.resources.join(","),
                            q.duration.clone(),
                            q.created_at.clone(),
                            clip(&q.reason, 40),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "ID",
                            "STATUS",
                            "USER",
                            "ACTIONS",
                            "RESOURCES",
                            "FOR",
                            "CREATED",
                            "REASON"
                        ],
                        rows
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Grants { all, user, limit } => {
            let limit = limit.map(|l| l.to_string());
            let active = if all { None } else { Some("true") };
            let r = c.json(
                "GET",
                "/v1/grants",
                &[
                    ("active", active),
                    ("user", user.as_deref()),
                    ("limit", limit.as_deref()),
                ],
                None,
            )?;
            let items: Vec<GrantView> = view(&r["grants"])?;
            if as_json {
                print_json(&r["grants"]);
            } else {
                let now = jitgate::wire::now_millis();
                let rows = items
                    .iter()
                    .map(|g| {
                        let state = if g.revoked_at.is_some() {
                            "revoked"
                        } else if jitgate::wire::parse_time(&g.grant.expires_at)
                            .is_some_and(|t| t <= now)
                        {
                            "expired"
                        } else {
                            "active"
                        };
                        let g = &g.grant;
                        vec![
                            g.id.clone(),
                            g.user.clone(),
                            g.actions.join(","),
                            g.resources.join(","),
                            g.expires_at.clone(),
                            state.into(),
                            g.request_id.clone(),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "ID",
                            "USER",
                            "ACTIONS",
                            "RESOURCES",
                            "EXPIRES",
                            "STATE",
                            "REQUEST"
                        ],
                        rows
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            check: Some(AuditCheck::Verify { expect }),
            ..
        } => {
            let v = c.json(
                "GET",
                "/v1/audit/verify",
                &[("expect", expect.as_deref())],
                None,
            )?;
            let verdict: Verdict = view(&v)?;
            if as_json {
                print_json(&v);
            } else {
                match &verdict.broken {
                    None => println!(
                        "audit chain holds: {} links, head {} {}{}",
                        verdict.links,
                        verdict
                            .head
                            .as_ref()
                            .map_or("null".into(), |h| h.seq.to_string()),
                        verdict.head.as_ref().map_or("(none)", |h| h.hash.as_str()),
                        match verdict.unchained {
                            n if n > 0 => format!("; {n} older rows predate the chain"),
                            _ => String::new(),
                        }
                    ),
                    Some(b) => println!(
                        "audit chain BROKEN at link {}: {}: {}",
                        b.seq, b.record, b.why
                    ),
                }
                if verdict.expected_found == Some(false) {
                    println!(
                        "the expected head {} is NOT on the chain",
                        expect.unwrap_or_default()
                    );
                }
            }
            Ok(if verdict.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Audit {
            check: None,
            user,
            resource,
            grant,
            since,
            until,
            limit,
            after,
            csv,
        } => {
            let limit = limit.map(|l| l.to_string());
            let query = [
                ("after", after.as_deref()),
                ("user", user.as_deref()),
                ("resource", resource.as_deref()),
                ("grant", grant.as_deref()),
                ("since", since.as_deref()),
                ("until", until.as_deref()),
                ("limit", limit.as_deref()),
                ("format", csv.then_some("csv")),
            ];
            if csv {
                let reply = c.call("GET", "/v1/audit", &query, None)?;
                // Sent on every page; empty on the last.
                let next = reply
                    .header("X-Jitgate-Next")
                    .filter(|n| !n.is_empty())
                    .map(str::to_string);
                print!("{}", reply.into_string().map_err(|e| e.to_string())?);
                more_follow(next.as_deref());
                return Ok(ExitCode::SUCCESS);
            }
            let r = c.json("GET", "/v1/audit", &query, None)?;
            let page: AuditPage = view(&r)?;
            more_follow(page.next.as_deref());
            if as_json {
                print_json(&r["events"]);
            } else {
                let rows = page
                    .events
                    .iter()
                    .map(|e| {
                        vec![
                            e.time.clone(),
                            e.plugin.clone(),
                            e.user.clone(),
                            e.decision.clone(),
                            e.action.clone(),
                            e.resource.clone(),
                            or_empty(&e.grant_id).into(),
                            or_empty(&e.request_id).into(),
                            clip(or_empty(&e.operation), 40),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(
                        &[
                            "TIME",
                            "PLUGIN",
                            "USER",
                            "DECISION",
                            "ACTION",
                            "RESOURCE",
                            "GRANT",
                            "REQUEST",
                            "OPERATION"
                        ],
                        rows
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn request(c: &Client, as_json: bool, args: RequestArgs) -> Result<ExitCode, String> {
    let body = json!({
        "resources": args.resources,
        "actions": args.actions,
        "duration": args.duration,
        "reason": args.reason,
        "ticket": args.ticket,
        "single_use": args.single_use,
        "start": args.start,
    });
    submit(c, as_json, "/v1/requests", body, args.wait)
}

/// Posts a new request (or extension), prints it, and with `wait` waits for its decision.
fn submit(
    c: &Client,
    as_json: bool,
    path: &str,
    body: serde_json::Value,
    wait: bool,
) -> Result<ExitCode, String> {
    let r = c.json("POST", path, &[], Some(body))?;
    let created: RequestView = view(&r)?;
    let id = created.id.clone();
    let links = format!(
        "  status: {0}/v1/requests/{1}\n  web:    {0}/requests/{1}",
        c.server, id
    );
    if !wait {
        if as_json {
            print_json(&r);
        } else {
            println!("{}", describe(&created));
            println!("{links}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // While waiting, progress goes to stderr so `--json` output stays one document.
    if as_json {
        eprintln!("{}\n{links}\nwaiting for a decision...", describe(&created));
    } else {
        println!("{}\n{links}\nwaiting for a decision...", describe(&created));
        let _ = std::io::stdout().flush();
    }
    let mut failures = 0;
    let (sent, decided) = loop {
        std::thread::sleep(Duration::from_millis(500));
        match c.json("GET", &format!("/v1/requests/{}", segment(&id)), &[], None) {
            Ok(now) => {
                let seen: RequestView = view(&now)?;
                if seen.status != Status::Pending {
                    break (now, seen);
                }
                failures = 0;
            }
            // Ride out a short outage of the service; give up after about half a minute.
            Err(e) if e.starts_with("cannot reach") && failures < 60 => failures += 1,
            Err(e) => return Err(e),
        }
    };
    if as_json {
        print_json(&sent);
    }
    if decided.status == Status::Approved {
        if let (false, Some(g)) = (as_json, &decided.grant) {
            println!(
                "approved: grant {} valid until {}",
                g.grant.id, g.grant.expires_at
            );
        }
        Ok(ExitCode::SUCCESS)
    } else {
        let by = match (&decided.decided_by, &decided.decision_reason) {
            (Some(who), Some(why)) => format!(" by {who}: {why}"),
            (Some(who), None) => format!(" by {who}"),
            _ => String::new(),
        };
        eprintln!("jitgate: request {id} was {}{by}", decided.status.as_str());
        Ok(ExitCode::FAILURE)
    }
}

fn check(
    c: &Client,
    as_json: bool,
    resource: &str,
    action: &str,
    user: Option<&str>,
) -> Result<ExitCode, String> {
    let v = c.json(
        "GET",
        "/v1/check",
        &[
            ("resource", Some(resource)),
            ("action", Some(action)),
            ("user", user),
        ],
        None,
    )?;
    let answer: CheckView = view(&v)?;
    if as_json {
        print_json(&v);
    } else {
        println!("{}", check_line(&answer));
    }
    Ok(if answer.decision == CheckDecision::Deny {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One line saying what the plugins would decide, and what to do about a denial.
fn check_line(a: &CheckView) -> String {
    let (verb, res) = (a.actions.join(" and "), &a.resource);
    let zones = a
        .zones
        .iter()
        .map(|z| format!("{} (approvers: {})", z.name, z.approvers.join(", ")))
        .collect::<Vec<_>>()
        .join("; ");
    match a.decision {
        CheckDecision::Allow => format!(
            "allowed: {} may {verb} {res} by grant {} until {}",
            a.user,
            a.grants
                .iter()
                .map(|g| format!("{} (request {})", g.id, g.request_id))
                .collect::<Vec<_>>()
                .join(", "),
            a.expires_at.as_deref().unwrap_or("?")
        ),
        CheckDecision::NotProtected => format!(
            "not protected: {} lies in no zone; jitgate leaves {} to the engine's own permissions",
            a.resource, a.user
        ),
        CheckDecision::Deny => format!(
            "denied: {} may not {verb} {res} ({}) in {} {zones}. Request it: {}",
            a.user,
            a.reason.as_deref().unwrap_or("denied"),
            if a.zones.len() == 1 { "zone" } else { "zones" },
            a.request_url.as_deref().unwrap_or("")
        ),
    }
}

fn describe(r: &RequestView) -> String {
    let when = match (&r.extends, &r.starts_at) {
        (Some(g), _) => format!(" more on grant {g}"),
        (None, Some(t)) => format!(" from {t}"),
        (None, None) => String::new(),
    };
    format!(
        "request {} {}: {} on {} for {}{when} (zones: {})",
        r.id,
        r.status.as_str(),
        r.actions.join(","),
        r.resources.join(" "),
        r.duration,
        r.zones.join(", ")
    )
}

fn clip(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        format!("{}…", one_line.chars().take(max - 1).collect::<String>())
    }
}

fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("r-abc123"), "r-abc123");
        assert_eq!(segment("../x?y"), "..%2Fx%3Fy");
    }

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["ID", "USER"],
            vec![
                vec!["r-1".into(), "alice".into()],
                vec!["r-22222".into(), "b".into()],
            ],
        );
        assert_eq!(t, "ID       USER\nr-1      alice\nr-22222  b\n");
    }
}
