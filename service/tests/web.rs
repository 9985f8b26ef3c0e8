//! The web pages against the real service: the prefilled form, CSRF protection, escaping,
//! the inbox's one-click approve, release from the grants page, the report, dev mode.

mod common;

use common::Server;
use serde_json::json;

const BOB: &str = "bob:sales-owners";

struct Browser<'a> {
    s: &'a Server,
    who: &'a str,
    csrf: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(s: &'a Server, who: &'a str) -> Self {
        Browser { s, who, csrf: None }
    }

    fn req(&self, method: &str, path: &str) -> ureq::Request {
        let (user, groups) = self.who.split_once(':').unwrap_or((self.who, ""));
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let mut r = agent
            .request(method, &format!("{}{path}", self.s.url))
            .set("X-Forwarded-User", user)
            .set("X-Forwarded-Groups", groups);
        if let Some(t) = &self.csrf {
            r = r.set("Cookie", &format!("jitgate_csrf={t}"));
        }
        r
    }

    /// GETs a page, keeping the CSRF cookie it sets; returns status and HTML.
    fn get(&mut self, path: &str) -> (u16, String) {
        let resp = match self.req("GET", path).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        for c in resp.all("set-cookie") {
            if let Some(v) = c.strip_prefix("jitgate_csrf=") {
                assert!(
                    c.contains("SameSite=Strict") && c.contains("HttpOnly"),
                    "{c}"
                );
                self.csrf = Some(v.split(';').next().unwrap().to_string());
            }
        }
        (resp.status(), resp.into_string().unwrap())
    }

    /// POSTs a form (with the page's token unless `token` overrides it); returns status,
    /// Location and body.
    fn post(
        &self,
        path: &str,
        form: &[(&str, &str)],
        token: Option<&str>,
        origin: Option<&str>,
    ) -> (u16, String, String) {
        let csrf = token
            .map(String::from)
            .or_else(|| self.csrf.clone())
            .unwrap_or_default();
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &csrf));
        let mut r = self.req("POST", path);
        if let Some(o) = origin {
            r = r.set("Origin", o);
        }
        let resp = match r.send_form(&fields) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        let loc = resp.header("location").unwrap_or("").to_string();
        (resp.status(), loc, resp.into_string().unwrap())
    }
}

#[test]
fn form_is_prefilled_escaped_and_csrf_protected() {
    let s = Server::start();
    let mut alice = Browser::new(&s, "alice");
    let (status, html) = alice.get("/request?resource=hive:sales.orders%3Cb%3E&action=read");
    assert_eq!(status, 200);
    assert!(html.contains("name=\"viewport\""));
    assert!(
        html.contains(">hive:sales.orders&lt;b&gt;</textarea>"),
        "{html}"
    );
    assert!(html.contains("name=\"action_read\" value=\"1\" checked"));
    let form = [
        ("resources", "hive:sales.orders"),
        ("action_read", "1"),
        ("duration", "10m"),
        ("reason", "<img src=x onerror=alert(1)>"),
    ];

    let (status, _, body) = alice.post("/request", &form, Some("0".repeat(64).as_str()), None);
    assert_eq!(status, 403, "a wrong token is refused");
    assert!(body.contains("not sent from a jitgate page"), "{body}");
    let (status, _, _) = alice.post("/request", &form, None, Some("https://evil.example"));
    assert_eq!(status, 403, "another origin is refused");
    let origin = s.url.clone();
    let (status, location, _) = alice.post("/request", &form, None, Some(&origin));
    assert_eq!(status, 303);
    let id = location.strip_prefix("/requests/").unwrap().to_string();
    let (_, page) = alice.get(&location);
    assert!(!page.contains("<img src=x"), "reason is escaped");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("Cancel this request"));
    assert!(page.contains("data-stamp="), "the page refreshes itself");

    // A refused request shows the form again with the service's message.
    let (status, _, body) = alice.post(
        "/request",
        &[
            ("resources", "hive:sales.orders"),
            ("action_read", "1"),
            ("duration", "2h"),
            ("reason", "r"),
        ],
        None,
        None,
    );
    assert_eq!(status, 400);
    assert!(body.contains("exceeds the 15m cap of zone sales"), "{body}");

    // Bob approves in one click from his inbox; alice releases from the grants page.
    let mut bob = Browser::new(&s, BOB);
    let (_, inbox) = bob.get("/inbox");
    assert!(
        inbox.contains(&format!("action=\"/requests/{id}/approve\"")),
        "{inbox}"
    );
    let (_, alice_inbox) = alice.get("/inbox");
    assert!(!alice_inbox.contains(&format!("/requests/{id}/approve")));
    let (status, location, _) = bob.post(
        &format!("/requests/{id}/approve"),
        &[("comment", "ok"), ("back", "/inbox")],
        None,
        None,
    );
    assert_eq!((status, location.as_str()), (303, "/inbox"));
    let (_, grants) = alice.get("/grants");
    assert!(
        grants.contains("data-expires=") && grants.contains(">Release</button>"),
        "{grants}"
    );
    let (_, r) = s.call("GET", &format!("/v1/requests/{id}"), "alice", None);
    let gid = r["grant"]["id"].as_str().unwrap();
    let (status, _, _) = alice.post(
        &format!("/grants/{gid}/revoke"),
        &[("back", "//evil.example")],
        None,
        None,
    );
    assert_eq!(status, 303);
    let (_, r) = s.call("GET", &format!("/v1/requests/{id}"), "alice", None);
    assert_eq!(r["grant"]["released"], true);
}

#[test]
fn audit_and_report_pages_list_accesses_with_exports() {
    let s = Server::start();
    let id = s.ask("hive:sales.orders", "10m");
    let (_, r) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    let now = jitgate::wire::format_time(jitgate::wire::now_millis());
    let (status, _) = s.plugin(
        "POST",
        "/v1/audit",
        Some(common::PLUGIN_TOKEN),
        Some(json!({"events": [{"id": "e1", "time": now, "plugin": "hive", "host": "hs2", "user": "alice",
            "resource": "hive:sales.orders", "action": "read", "decision": "allow", "grant_id": gid, "request_id": id}]})),
    );
    assert_eq!(status, 200);
    let mut auditor = Browser::new(&s, "audrey:auditors");
    let (status, audit) = auditor.get("/audit?user=alice");
    assert_eq!(status, 200);
    assert!(
        audit.contains(&format!("<a href=\"/requests/{id}\">{id}</a>")),
        "{audit}"
    );
    assert!(
        audit.contains("/v1/audit?user=alice&amp;format=csv"),
        "{audit}"
    );
    let (status, bad) = auditor.get("/audit?since=yesterday");
    assert_eq!(status, 400);
    assert!(bad.contains("since `yesterday` is not a time"));
    let (_, report) = auditor.get("/report");
    assert!(
        report.contains("INC-4411") && report.contains("bob"),
        "{report}"
    );
    let (status, csv) = auditor.get("/report?format=csv");
    assert_eq!(status, 200);
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("user,resource,time,action,decision"));
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("alice,hive:sales.orders,")
            && row.contains(&id)
            && row.contains(",INC-4411,")
            && row.contains(",bob,"),
        "{row}"
    );
}

#[test]
fn dev_mode_says_so_on_every_page_and_picks_only_listed_users() {
    let s = Server::start_with(&format!(
        "[auth]\nmode = \"dev\"\n[auth.dev]\nusers = [\"alice\", \"bob:sales-owners\"]\n[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{}",
        common::ZONES
    ));
    let get = |path: &str, cookie: &str| {
        let r = ureq::get(&format!("{}{path}", s.url)).set("Cookie", cookie);
        match r.call() {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    for path in ["/request", "/my", "/inbox", "/grants", "/audit", "/report"] {
        let (_, html) = get(path, "jitgate_dev_user=bob");
        assert!(html.contains("DEV MODE"), "{path}");
    }
    let (status, html) = get("/my", "");
    assert_eq!(status, 401);
    assert!(html.contains("Pick a user above"));
    let (status, _) = get("/my", "jitgate_dev_user=mallory");
    assert_eq!(status, 401);
    let (status, html) = get("/inbox", "jitgate_dev_user=bob");
    assert_eq!(status, 200);
    assert!(html.contains("<option selected>bob</option>"), "{html}");
}

/// A zone of Hive tables with no HDFS storage leaves its tables' files outside every zone: the
/// service says so when it starts, and the request form says so to whoever asks for it.
#[test]
fn a_zone_without_storage_is_warned_about_at_start_and_on_the_form() {
    let s = Server::start_with(
        "[plugins]\ntokens_file = \"{dir}/tokens\"\n\
         [[zones]]\nname = \"web\"\nresources = [\"hive:web.*\"]\napprovers = [\"web-owners\"]\n\
         actions = [\"read\"]\nmax_duration = \"15m\"\n",
    );
    let mut alice = Browser::new(&s, "alice");
    let (status, html) = alice.get("/request?resource=hive:web.logs&action=read");
    assert_eq!(status, 200);
    assert!(
        html.contains("class=\"warning\"")
            && html.contains("zone `web` names hive: tables but no hdfs: storage"),
        "{html}"
    );
    let (_, other) = alice.get("/request?resource=hdfs:/elsewhere&action=read");
    assert!(!other.contains("class=\"warning\""), "{other}");
    assert!(
        s.log()
            .contains("WARNING: zone `web` names hive: tables but no hdfs: storage"),
        "{}",
        s.log()
    );
}

/// `lake` (hdfs:/lake) with `sales` nested inside it: a request on all of hdfs:/lake touches
/// both, so both zones' approvers decide it.
const NESTED_ZONES: &str = "[plugins]\ntokens_file = \"{dir}/tokens\"\n\
    [[zones]]\nname = \"lake\"\nresources = [\"hdfs:/lake\"]\napprovers = [\"lake-owners\"]\n\
    actions = [\"read\"]\nmax_duration = \"15m\"\n\
    [[zones]]\nname = \"sales\"\nresources = [\"hdfs:/lake/sales\"]\napprovers = [\"sales-owners\"]\n\
    actions = [\"read\"]\nmax_duration = \"15m\"\n";

/// Whoever the API lets revoke a grant finds it on `/grants` and on its request's page, with
/// the button; whoever it refuses finds neither. Here `bob` approves the nested zone `sales`
/// that a grant on all of `hdfs:/lake` reaches into, though no zone of his holds `hdfs:/lake`.
#[test]
fn the_grants_page_and_the_revoke_call_agree_on_who_may_revoke() {
    let s = Server::start_with(NESTED_ZONES);
    let id = s.ask("hdfs:/lake", "10m");
    let (status, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        "lena:lake-owners",
        None,
    );
    assert_eq!(status, 200, "{r}");
    let (status, r) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    assert_eq!(
        (status, r["status"].as_str()),
        (200, Some("approved")),
        "{r}"
    );
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    let button = format!("action=\"/grants/{gid}/revoke\"");

    let mut bob = Browser::new(&s, BOB);
    let (_, grants) = bob.get("/grants");
    assert!(
        grants.contains(&button),
        "bob may revoke it, so /grants lists it: {grants}"
    );
    let (_, page) = bob.get(&format!("/requests/{id}"));
    assert!(page.contains(&button), "{page}");

    let mut mallory = Browser::new(&s, "mallory:hr-owners");
    let (_, grants) = mallory.get("/grants");
    assert!(!grants.contains(&gid), "{grants}");
    let (_, page) = mallory.get(&format!("/requests/{id}"));
    assert!(!page.contains(&button), "{page}");
    let (status, _) = s.call(
        "POST",
        &format!("/v1/grants/{gid}/revoke"),
        "mallory:hr-owners",
        None,
    );
    assert_eq!(status, 403);

    let (status, g) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), BOB, None);
    assert_eq!(
        (status, g["revoked_by"].as_str()),
        (200, Some("bob")),
        "{g}"
    );
}

/// `/grants` shows the grants its viewer may revoke however many newer ones they may not.
#[test]
fn the_grants_page_finds_a_held_grant_behind_many_newer_ones_of_others() {
    let s = Server::start();
    let mine = s.ask("hive:sales.orders", "10m");
    let (status, r) = s.call("POST", &format!("/v1/requests/{mine}/approve"), BOB, None);
    assert_eq!(status, 200, "{r}");
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    // More newer active grants of someone else than the page lists at once.
    for _ in 0..201 {
        let (status, r) = s.call(
            "POST",
            "/v1/requests",
            "zed:analysts",
            Some(json!({"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "10m", "reason": "load"})),
        );
        assert_eq!(status, 201, "{r}");
        let other = r["id"].as_str().unwrap();
        let (status, r) = s.call("POST", &format!("/v1/requests/{other}/approve"), BOB, None);
        assert_eq!(status, 200, "{r}");
    }
    let mut alice = Browser::new(&s, "alice:analysts");
    let (status, grants) = alice.get("/grants");
    assert_eq!(status, 200);
    assert!(
        grants.contains(&format!("action=\"/grants/{gid}/revoke\""))
            && !grants.contains("No active grants"),
        "{grants}"
    );
}

/// The inbox lists the requests its viewer may decide before it applies its limit, as /grants
/// does: more newer pending requests of another zone than the page lists at once must not hide
/// one the viewer approves.
#[test]
fn the_inbox_finds_a_request_to_decide_behind_many_newer_ones_of_another_zone() {
    let s = Server::start();
    let mine = s.ask("hive:sales.orders", "10m");
    for _ in 0..201 {
        let (status, r) = s.call(
            "POST",
            "/v1/requests",
            "zed:analysts",
            Some(json!({"resources": ["hive:hr.people"], "actions": ["read"], "duration": "10m", "reason": "load"})),
        );
        assert_eq!(status, 201, "{r}");
    }
    let mut bob = Browser::new(&s, BOB);
    let (status, inbox) = bob.get("/inbox");
    assert_eq!(status, 200);
    assert!(
        inbox.contains(&format!("action=\"/requests/{mine}/approve\"")),
        "{inbox}"
    );
}

/// A plugin posts 53 audited accesses under a grant (3 of them denied) and one under no grant:
/// the request's page lists the newest 50, newest first, links to the rest, and draws one mark
/// per access on the grant's timeline; the report draws the same per user.
#[test]
fn a_request_s_page_shows_what_was_done_under_its_grant_on_a_timeline() {
    let s = Server::start();
    let id = s.ask("hive:sales.orders", "10m");
    let mut approver = Browser::new(&s, BOB);
    let (_, before) = approver.get(&format!("/requests/{id}"));
    assert!(
        !before.contains("Accesses under this grant"),
        "no grant yet"
    );
    let (_, r) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    let (_, empty) = approver.get(&format!("/requests/{id}"));
    assert!(
        empty.contains("No access has been audited under grant")
            && empty.matches("class=\"mark ").count() == 0,
        "{empty}"
    );
    let from = jitgate::wire::parse_time(r["grant"]["not_before"].as_str().unwrap()).unwrap();
    // Six seconds apart: each its own column on a ten-minute chart 584 points wide.
    let events: Vec<_> = (0..53)
        .map(|i| {
            json!({"id": format!("e{i}"), "time": jitgate::wire::format_time(from + i * 6_000),
                "plugin": "hive", "host": "hs2-1", "user": "alice", "resource": "hive:sales.orders",
                "action": "read", "decision": if i % 20 == 7 { "deny" } else { "allow" },
                "grant_id": gid, "request_id": id, "operation": format!("QUERY-{i}"),
                "context": format!("hive_query_{i}")})
        })
        .chain([
            json!({"id": "other", "time": jitgate::wire::format_time(from), "plugin": "hdfs",
            "host": "nn", "user": "alice", "resource": "hdfs:/open/x", "action": "read",
            "decision": "allow", "operation": "OTHER-OP"}),
        ])
        .collect();
    let (status, a) = s.plugin(
        "POST",
        "/v1/audit",
        Some(common::PLUGIN_TOKEN),
        Some(json!({ "events": events })),
    );
    assert_eq!((status, a["accepted"].clone()), (200, json!(54)), "{a}");

    let (status, page) = approver.get(&format!("/requests/{id}"));
    assert_eq!(status, 200);
    assert!(
        page.contains("<h2>Accesses under this grant</h2>"),
        "{page}"
    );
    let svg = &page[page.find("<svg").unwrap()..page.find("</svg>").unwrap()];
    assert_eq!(svg.matches("class=\"mark allow\"").count(), 50, "{svg}");
    assert_eq!(svg.matches("class=\"mark deny\"").count(), 3, "{svg}");
    assert!(svg.contains(&format!("Accesses under grant {gid} over its window")));
    assert!(
        svg.contains("53 accesses from") && svg.contains("3 denied"),
        "{svg}"
    );
    assert!(!svg.contains("<script"), "the chart needs no script");
    let table = &page[page.find("<table class=\"accesses\">").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr><td>").count(), 50, "the newest 50");
    let newest = table.find("QUERY-52").unwrap();
    assert!(newest < table.find("QUERY-3<").unwrap(), "newest first");
    assert!(!table.contains("QUERY-2<"), "older than the newest 50");
    assert!(table.contains("<code>hive_query_52</code>") && table.contains("hive on hs2-1"));
    assert!(!page.contains("OTHER-OP"), "only accesses under this grant");
    assert!(
        page.contains(&format!(
            "The newest 50 of 53 accesses; <a href=\"/audit?grant={gid}\">"
        )),
        "{page}"
    );

    let period = format!(
        "/report?since={}&until={}",
        jitgate::wire::format_time(from - 60_000),
        jitgate::wire::format_time(from + 600_000)
    );
    let (_, report) = Browser::new(&s, "audrey:auditors").get(&period);
    assert!(report.contains("<h2>Accesses per user</h2>"), "{report}");
    let alice = &report[report.find("<figcaption>alice</figcaption>").unwrap()..];
    let alice = &alice[..alice.find("</svg>").unwrap()];
    assert!(alice.contains("54 accesses from"), "{alice}");
    assert_eq!(
        (
            alice.matches("class=\"mark allow\"").count(),
            alice.matches("class=\"mark deny\"").count()
        ),
        (50, 3),
        "one mark per access, denials told apart (the unguarded read shares the first's column)"
    );
}

/// The Extend form on a grant: only its holder sees it, and only while the grant is live and
/// reusable. A post from anyone else, or without the form token, files nothing; the holder's
/// files a request linked to the grant, which the zone's approver approves, and the grant then
/// ends exactly the asked duration later. An ended grant is refused (409) and offers no form.
#[test]
fn the_holder_extends_a_grant_from_its_page_and_the_approver_decides_it() {
    let s = Server::start();
    let id = s.ask("hive:sales.orders", "10m");
    let (_, r) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    let ends = |s: &Server| {
        let (_, g) = s.call("GET", &format!("/v1/grants/{gid}"), "alice", None);
        jitgate::wire::parse_time(g["expires_at"].as_str().unwrap()).unwrap()
    };
    let before = ends(&s);
    let filed = |s: &Server| {
        let (_, all) = s.call("GET", "/v1/requests", "alice", None);
        all["requests"].as_array().unwrap().len()
    };
    let form = format!("action=\"/grants/{gid}/extend\"");

    let mut alice = Browser::new(&s, "alice:analysts");
    let (_, page) = alice.get(&format!("/requests/{id}"));
    assert!(
        page.contains(&form) && page.contains(">Extend</button>"),
        "{page}"
    );
    let (_, grants) = alice.get("/grants");
    assert!(grants.contains(&form), "{grants}");
    let mut bob = Browser::new(&s, BOB);
    let (_, page) = bob.get(&format!("/requests/{id}"));
    assert!(
        page.contains(&format!("action=\"/grants/{gid}/revoke\"")) && !page.contains(&form),
        "bob may revoke it but does not hold it: {page}"
    );
    let (_, grants) = bob.get("/grants");
    assert!(!grants.contains(&form), "{grants}");

    // bob, with a good form token of his own, is not the holder.
    let ask = [("duration", "5m"), ("reason", "INC-4411 runs long")];
    let (status, _, body) = bob.post(&format!("/grants/{gid}/extend"), &ask, None, None);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("only its holder may ask to extend it"),
        "{body}"
    );
    assert_eq!(filed(&s), 1, "nothing filed");
    // alice's post without the form token field.
    let resp = alice
        .req("POST", &format!("/grants/{gid}/extend"))
        .send_form(&ask);
    let (status, body) = match resp {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("not sent from a jitgate page"), "{body}");
    assert_eq!(filed(&s), 1, "nothing filed");

    let (status, location, body) = alice.post(&format!("/grants/{gid}/extend"), &ask, None, None);
    assert_eq!(status, 303, "{body}");
    let ext = location.strip_prefix("/requests/").unwrap().to_string();
    assert_ne!(ext, id);
    let (_, r) = s.call("GET", &format!("/v1/requests/{ext}"), "alice", None);
    assert_eq!(
        (
            r["status"].as_str(),
            r["extends"].as_str(),
            r["duration"].as_str()
        ),
        (Some("pending"), Some(gid.as_str()), Some("5m")),
        "{r}"
    );
    let (_, page) = bob.get(&location);
    assert!(
        page.contains("Extends grant") && page.contains(&gid),
        "{page}"
    );
    let (status, _, body) = bob.post(&format!("/requests/{ext}/approve"), &[], None, None);
    assert_eq!(status, 303, "{body}");
    assert_eq!(ends(&s) - before, 5 * 60_000, "the grant ends 5m later");
    let (_, g) = s.call("GET", &format!("/v1/grants/{gid}"), "alice", None);
    let (_, page) = alice.get(&format!("/requests/{id}"));
    assert!(
        page.contains(&format!(
            "data-expires=\"{}\"",
            g["expires_at"].as_str().unwrap()
        )),
        "the request's page shows the later end: {page}"
    );

    // Released, the grant has ended: no form, and a post is refused.
    let (status, _) = s.call("POST", &format!("/v1/grants/{gid}/revoke"), "alice", None);
    assert_eq!(status, 200);
    let (_, page) = alice.get(&format!("/requests/{id}"));
    assert!(!page.contains(&form), "{page}");
    let (status, _, body) = alice.post(&format!("/grants/{gid}/extend"), &ask, None, None);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("has ended"), "{body}");
    assert_eq!(filed(&s), 2, "only the holder's one extension");
}

/// A single-use grant cannot be extended: its page offers no Extend form.
#[test]
fn a_single_use_grant_offers_no_extend_form() {
    let s = Server::start();
    let (status, r) = s.call(
        "POST",
        "/v1/requests",
        "alice:analysts",
        Some(
            json!({"resources": ["hive:sales.orders"], "actions": ["read"], "duration": "10m",
                    "reason": "INC-1", "single_use": true}),
        ),
    );
    assert_eq!(status, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let (_, r) = s.call("POST", &format!("/v1/requests/{id}/approve"), BOB, None);
    let gid = r["grant"]["id"].as_str().unwrap().to_string();
    let mut alice = Browser::new(&s, "alice:analysts");
    let (_, page) = alice.get(&format!("/requests/{id}"));
    assert!(
        page.contains(&gid) && !page.contains(&format!("/grants/{gid}/extend")),
        "{page}"
    );
}
