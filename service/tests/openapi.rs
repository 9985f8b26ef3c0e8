//! `/v1/openapi.json` held to the implementation: the routes the router declares and the
//! operations the document lists are the same set, every documented operation is answered by
//! a real handler (never the 404/405 fallbacks), the request examples are accepted as they
//! stand, and real responses carry exactly the documented fields.

mod common;

use common::{Server, PLUGIN_TOKEN};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const DOC: &str = include_str!("../src/openapi.json");
const ROUTER_SOURCES: [&str; 4] = [
    include_str!("../src/api.rs"),
    include_str!("../src/context.rs"),
    include_str!("../src/web/mod.rs"),
    include_str!("../src/slack.rs"),
];

/// (path, method) for every `.route("PATH", get(..).post(..))` in the router's sources.
fn declared_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for src in ROUTER_SOURCES {
        for part in src.split(".route(").skip(1) {
            let Some((path, rest)) = part
                .trim_start()
                .strip_prefix('"')
                .and_then(|p| p.split_once('"'))
            else {
                continue;
            };
            let end = [
                rest.find(".route("),
                rest.find(".fallback("),
                rest.find("\n}"),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(rest.len());
            let handlers = &rest[..end];
            for method in ["get", "post", "put", "patch", "delete"] {
                let token = format!("{method}(");
                let found = handlers.match_indices(&token).any(|(i, _)| {
                    i == 0
                        || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[i - 1] != b'_'
                });
                if found {
                    out.insert((path.to_string(), method.to_string()));
                }
            }
        }
    }
    out
}

fn documented() -> (Value, BTreeSet<(String, String)>) {
    let doc: Value = serde_json::from_str(DOC).expect("openapi.json is JSON");
    let ops = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (p.clone(), m.clone()))
        })
        .collect();
    (doc, ops)
}

#[test]
fn router_and_document_list_the_same_operations() {
    let declared = declared_routes();
    assert!(
        declared.len() > 20,
        "the source scan found the routes: {declared:?}"
    );
    let (_, doc) = documented();
    let undocumented: Vec<_> = declared.difference(&doc).collect();
    let unserved: Vec<_> = doc.difference(&declared).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
}

#[test]
fn every_documented_operation_reaches_a_handler() {
    let s = Server::start();
    let (_, doc) = documented();
    for (path, method) in doc {
        let concrete = path.replace("{id}", "x-none");
        let (status, body) = s.call(&method.to_uppercase(), &concrete, "alice", None);
        let text = body.to_string();
        assert!(
            !(status == 404 && text.contains("no such endpoint")) && status != 405,
            "{method} {path} fell through to a fallback: {status} {text}"
        );
    }
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

/// Checks that `v` has every required field of `schema` and nothing it does not list.
fn fields_match(doc: &Value, name: &str, v: &Value) {
    let mut required = BTreeSet::new();
    let mut listed = BTreeSet::new();
    let mut add = |s: &Value| {
        for r in s["required"].as_array().into_iter().flatten() {
            required.insert(r.as_str().unwrap().to_string());
        }
        for k in s["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.clone())
        {
            listed.insert(k);
        }
    };
    let s = schema(doc, name);
    match s["allOf"].as_array() {
        Some(parts) => {
            for part in parts {
                match part["$ref"].as_str() {
                    Some(r) => add(schema(doc, r.rsplit('/').next().unwrap())),
                    None => add(part),
                }
            }
        }
        None => add(s),
    }
    let keys: BTreeSet<String> = v.as_object().unwrap().keys().cloned().collect();
    let missing: Vec<_> = required.difference(&keys).collect();
    let extra: Vec<_> = keys.difference(&listed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}: missing {missing:?}, undocumented {extra:?} in {v}"
    );
}

fn example<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]
}

#[test]
fn examples_are_accepted_and_responses_have_the_documented_fields() {
    let s = Server::start();
    let (doc, _) = documented();
    let ask = example(&doc, "/v1/requests", "post").clone();
    let (status, r) = s.call("POST", "/v1/requests", "alice", Some(ask.clone()));
    assert_eq!(status, 201, "{r}");
    fields_match(&doc, "Request", &r);
    let id = r["id"].as_str().unwrap();
    let (status, r) = s.call(
        "POST",
        &format!("/v1/requests/{id}/approve"),
        "bob:sales-owners",
        Some(example(&doc, "/v1/requests/{id}/approve", "post").clone()),
    );
    assert_eq!(status, 200, "{r}");
    fields_match(&doc, "Request", &r);
    fields_match(&doc, "GrantView", &r["grant"]);
    for e in r["history"].as_array().unwrap() {
        fields_match(&doc, "Event", e);
    }
    for a in r["approvals"].as_array().unwrap() {
        fields_match(&doc, "Approval", a);
    }
    let (_, r2) = s.call("POST", "/v1/requests", "alice", Some(ask));
    let (status, r2) = s.call(
        "POST",
        &format!("/v1/requests/{}/deny", r2["id"].as_str().unwrap()),
        "bob:sales-owners",
        Some(example(&doc, "/v1/requests/{id}/deny", "post").clone()),
    );
    assert_eq!(
        (status, r2["decision_reason"].clone()),
        (200, json!("not during the freeze"))
    );
    let (status, a) = s.plugin(
        "POST",
        "/v1/audit",
        Some(PLUGIN_TOKEN),
        Some(example(&doc, "/v1/audit", "post").clone()),
    );
    assert_eq!((status, a["accepted"].clone()), (200, json!(1)), "{a}");
    let (_, f) = s.plugin("GET", "/v1/feed", Some(PLUGIN_TOKEN), None);
    fields_match(&doc, "Feed", &f);
    fields_match(&doc, "Grant", &f["grants"][0]);
    for query in [
        "resource=hive:sales.orders&action=read",
        "resource=hive:sales.orders&action=write",
        "resource=hdfs:/open&action=read",
    ] {
        let (status, c) = s.call("GET", &format!("/v1/check?{query}"), "alice", None);
        assert_eq!(status, 200, "{c}");
        fields_match(&doc, "Check", &c);
    }
}
