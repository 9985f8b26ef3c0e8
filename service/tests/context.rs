//! What a requested resource is, on the real `jitgate serve` with `[context]` naming the plugins:
//! a filed request's resources are handed to plugins, their answers are shown to those who may
//! decide and auditors (not to the requester), and a plugin can neither describe what nobody
//! asked about nor answer for a scheme the service takes from elsewhere.

mod common;

use common::{Server, PLUGIN_TOKEN, ZONES};
use serde_json::{json, Value};

const BOB: &str = "bob:sales-owners";
const BOUND_TOKEN: &str = "spark-driver-token-of-alice";

fn server(context: &str) -> Server {
    let s = Server::start_with(&format!(
        "[auth]\nauditors = [\"auditors\"]\n[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{ZONES}\n{context}"
    ));
    // A token bound to one user, as a Spark driver's is; the file is read again when it changes.
    let tokens = s.dir.path().join("tokens");
    let mut text = std::fs::read_to_string(&tokens).unwrap();
    text += &format!("{BOUND_TOKEN} user=alice\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(tokens, text).unwrap();
    s
}

fn file(s: &Server, resources: &[&str]) -> String {
    let (status, r) = s.call(
        "POST",
        "/v1/requests",
        "alice:analysts",
        Some(json!({"resources": resources, "actions": ["read"], "duration": "5m", "reason": "INC-1"})),
    );
    assert_eq!(status, 201, "{r}");
    r["id"].as_str().unwrap().to_string()
}

fn wanted(s: &Server, scheme: &str) -> Value {
    let (status, body) = s.plugin(
        "GET",
        &format!("/v1/context/wanted?scheme={scheme}"),
        Some(PLUGIN_TOKEN),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["resources"].clone()
}

fn report(s: &Server, token: &str, contexts: Value) -> (u16, Value) {
    s.plugin(
        "POST",
        "/v1/context",
        Some(token),
        Some(json!({ "contexts": contexts })),
    )
}

#[test]
fn plugins_describe_what_approvers_wait_for_and_only_deciders_see_it() {
    let s = server("[context]\nhdfs = \"plugin\"\nhive = \"plugin\"\n");
    assert_eq!(wanted(&s, "hdfs"), json!([]));
    let id = file(&s, &["hdfs:/lake/sales/orders", "hive:sales.*"]);
    assert_eq!(wanted(&s, "hdfs"), json!(["hdfs:/lake/sales/orders"]));
    assert_eq!(wanted(&s, "hive"), json!(["hive:sales"]));

    // Before any answer: asked.
    let (status, shown) = s.call("GET", &format!("/v1/requests/{id}/context"), BOB, None);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["resources"][0]["state"], "asked", "{shown}");

    let (status, body) = report(
        &s,
        PLUGIN_TOKEN,
        json!([
            {"resource": "hdfs:/lake/sales/orders", "kind": "directory", "files": 1204, "directories": 3, "bytes": 13107200},
            {"resource": "hive:sales", "kind": "database", "location": "hdfs://nn/warehouse/<b>sales</b>.db"},
            // nobody asked about this one: dropped
            {"resource": "hdfs:/lake/sales/other", "files": 1}
        ]),
    );
    assert_eq!((status, &body["recorded"]), (200, &json!(2)), "{body}");
    assert_eq!(wanted(&s, "hdfs"), json!([]), "answered");

    let (_, shown) = s.call("GET", &format!("/v1/requests/{id}/context"), BOB, None);
    let orders = &shown["resources"][0];
    assert_eq!(orders["state"], "known", "{shown}");
    assert_eq!(orders["files"], 1204);
    assert_eq!(orders["bytes"], 13107200);
    assert_eq!(orders["source"], "plugin", "the token is bound to no host");
    assert_eq!(shown["resources"][1]["resource"], "hive:sales.*");
    assert_eq!(shown["resources"][1]["kind"], "database");
    let (status, _) = s.call(
        "GET",
        &format!("/v1/requests/{id}/context"),
        "eve:auditors",
        None,
    );
    assert_eq!(status, 200, "auditors see it");

    // The requester, who may not read the data yet, is not told how big it is.
    let (status, body) = s.call(
        "GET",
        &format!("/v1/requests/{id}/context"),
        "alice:analysts",
        None,
    );
    assert_eq!(status, 403, "{body}");

    // The page: bob sees the section, escaped; alice does not.
    let page = |who: &str| {
        let (user, groups) = who.split_once(':').unwrap();
        ureq::get(&format!("{}/requests/{id}", s.url))
            .set("X-Forwarded-User", user)
            .set("X-Forwarded-Groups", groups)
            .call()
            .unwrap()
            .into_string()
            .unwrap()
    };
    let bobs = page(BOB);
    assert!(bobs.contains("<h2>What it is</h2>"), "{bobs}");
    assert!(
        bobs.contains("directory: 1,204 files in 3 directories, 12.5 MiB"),
        "{bobs}"
    );
    assert!(bobs.contains("&lt;b&gt;sales&lt;/b&gt;.db"), "{bobs}");
    assert!(!bobs.contains("<b>sales</b>"), "{bobs}");
    let alices = page("alice:analysts");
    assert!(!alices.contains("What it is"), "{alices}");
    assert!(!alices.contains("1,204"), "{alices}");
}

#[test]
fn a_plugin_cannot_answer_out_of_turn() {
    let s = server("[context]\nhdfs = \"plugin\"\n");
    file(&s, &["hdfs:/lake/sales/orders", "hive:sales.orders"]);
    // Hive's context has no source here: nothing is handed out, and no answer is taken.
    assert_eq!(wanted(&s, "hive"), json!([]));
    let (status, body) = report(
        &s,
        PLUGIN_TOKEN,
        json!([{"resource": "hive:sales.orders", "location": "/x"}]),
    );
    assert_eq!(status, 400, "{body}");
    // Only canonical resources.
    let (status, body) = report(
        &s,
        PLUGIN_TOKEN,
        json!([{"resource": "hdfs:/lake//sales/orders/", "files": 1}]),
    );
    assert_eq!(status, 400, "{body}");
    // A token bound to one person is not an engine's plugin.
    let (status, body) = s.plugin(
        "GET",
        "/v1/context/wanted?scheme=hdfs",
        Some(BOUND_TOKEN),
        None,
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) = report(
        &s,
        BOUND_TOKEN,
        json!([{"resource": "hdfs:/lake/sales/orders", "files": 1}]),
    );
    assert_eq!(status, 403, "{body}");
    // People are not plugins.
    let (status, _) = s.call("GET", "/v1/context/wanted?scheme=hdfs", BOB, None);
    assert_eq!(status, 401);
    let (status, _) = s.plugin(
        "GET",
        "/v1/context/wanted?scheme=s3",
        Some(PLUGIN_TOKEN),
        None,
    );
    assert_eq!(status, 400);
}

#[test]
fn without_a_source_a_resource_is_shown_as_unknown() {
    let s = server("");
    let id = file(&s, &["hdfs:/lake/sales/orders"]);
    let (status, shown) = s.call("GET", &format!("/v1/requests/{id}/context"), BOB, None);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["resources"][0]["state"], "unknown", "{shown}");
    assert_eq!(wanted(&s, "hdfs"), json!([]));
}

/// A new request takes a recent answer as it is (filing requests must not make the NameNode
/// count a tree again and again) but asks again where the last answer was a failure (a path
/// created since).
#[test]
fn a_new_request_asks_again_after_a_failure_not_after_a_recent_answer() {
    let s = server("[context]\nhdfs = \"plugin\"\n");
    file(&s, &["hdfs:/lake/sales/orders", "hdfs:/lake/sales/new"]);
    let (status, body) = report(
        &s,
        PLUGIN_TOKEN,
        json!([
            {"resource": "hdfs:/lake/sales/orders", "kind": "directory", "files": 2, "directories": 1, "bytes": 10},
            {"resource": "hdfs:/lake/sales/new", "error": "no such path"}
        ]),
    );
    assert_eq!((status, &body["recorded"]), (200, &json!(2)), "{body}");
    assert_eq!(wanted(&s, "hdfs"), json!([]));
    file(&s, &["hdfs:/lake/sales/orders", "hdfs:/lake/sales/new"]);
    assert_eq!(wanted(&s, "hdfs"), json!(["hdfs:/lake/sales/new"]));
}
