//! Web sign-in against the real `jitgate serve`: the authorization code flow with PKCE, state
//! and nonce, the session cookie it ends in, sign-out, and every refusal (a forged or expired
//! session, a wrong state, a replayed code, a missing or wrong nonce, a provider's error).
//!
//! The provider here is a stand-in served by the test on loopback: a discovery document and a
//! token endpoint that redeems the codes the test hands it, each once, for the verifier whose
//! S256 challenge the service sent. (The e2e signs in at a real OIDC provider in Chromium.)

mod common;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::Server;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const KEY: &str = include_str!("data/oidc-test-key.pem");
const OTHER_KEY: &str = include_str!("data/oidc-other-key.pem");
const SESSION_SECRET: &str = "a-session-secret-of-at-least-32-characters";
const CLIENT_SECRET: &str = "client-secret-1";

/// What the token endpoint hands out for a code: the challenge it was issued for and the ID token.
type Codes = Arc<Mutex<HashMap<String, (String, String)>>>;

struct Provider {
    url: String,
    codes: Codes,
}

impl Provider {
    fn start() -> Provider {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let codes: Codes = Arc::default();
        let app = Router::new()
            .route("/.well-known/openid-configuration", routing::get(discovery))
            .route("/token", routing::post(token))
            .with_state((url.clone(), codes.clone()));
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(l, app).await.unwrap();
            });
        });
        Provider { url, codes }
    }

    /// The provider's side of a sign-in: `code` will redeem to `id_token` for `challenge`.
    fn issue(&self, code: &str, challenge: &str, id_token: String) {
        self.codes
            .lock()
            .unwrap()
            .insert(code.into(), (challenge.into(), id_token));
    }

    fn id_token(&self, key: &str, user: &str, groups: &[&str], extra: Value) -> String {
        let now = jitgate::wire::now_millis() / 1000;
        let mut claims = json!({"iss": self.url, "aud": "jitgate-web", "sub": format!("id-{user}"),
            "preferred_username": user, "groups": groups, "iat": now, "exp": now + 300});
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some("test-key-1".into());
        encode(
            &h,
            &claims,
            &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
        )
        .unwrap()
    }
}

async fn discovery(State((url, _)): State<(String, Codes)>) -> Json<Value> {
    Json(
        json!({"issuer": url, "authorization_endpoint": format!("{url}/auth"),
        "token_endpoint": format!("{url}/token"), "end_session_endpoint": format!("{url}/logout"),
        "jwks_uri": format!("{url}/jwks")}),
    )
}

async fn token(
    State((_, codes)): State<(String, Codes)>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let refuse = |why: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": why})),
        )
    };
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("jitgate-web:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        );
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refuse("grant_type");
    }
    // A code redeems once.
    let Some((challenge, id_token)) = f.get("code").and_then(|c| codes.lock().unwrap().remove(c))
    else {
        return refuse("code unknown or used");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return refuse("PKCE verification failed");
    }
    (
        StatusCode::OK,
        Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token})),
    )
}

fn signin_server(p: &Provider) -> Server {
    let secrets = tempfile::tempdir().unwrap().keep();
    std::fs::write(secrets.join("client"), CLIENT_SECRET).unwrap();
    std::fs::write(secrets.join("session"), SESSION_SECRET).unwrap();
    Server::start_with(&format!(
        "[auth]\nmode = \"oidc\"\n[auth.oidc]\nissuer = \"{}\"\naudience = \"jitgate-web\"\n\
         jwks_file = \"{}/tests/data/oidc-test-jwks.json\"\nuser_claim = \"preferred_username\"\n\
         client_id = \"jitgate-web\"\nclient_secret_file = \"{}/client\"\n\
         session_secret_file = \"{}/session\"\n[plugins]\ntokens_file = \"{{dir}}/tokens\"\n{}",
        p.url,
        env!("CARGO_MANIFEST_DIR"),
        secrets.display(),
        secrets.display(),
        common::ZONES
    ))
}

fn no_redirects() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

/// A page or call's answer: status, `Location`, the `Set-Cookie` values, body.
struct Answer {
    status: u16,
    location: String,
    refresh: String,
    cookies: Vec<String>,
    body: String,
}

fn get(url: &str, cookies: &str) -> Answer {
    let mut req = no_redirects().get(url);
    if !cookies.is_empty() {
        req = req.set("Cookie", cookies);
    }
    answer(req.call())
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> Answer {
    let r = match r {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    Answer {
        status: r.status(),
        location: r.header("location").unwrap_or("").to_string(),
        refresh: r.header("refresh").unwrap_or("").to_string(),
        cookies: r.all("set-cookie").iter().map(|c| c.to_string()).collect(),
        body: r.into_string().unwrap(),
    }
}

impl Answer {
    /// The value this answer sets for cookie `name` (empty when it clears it).
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find_map(|c| {
            let (k, v) = c.split(';').next()?.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }

    fn param(&self, name: &str) -> String {
        self.location
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {}", self.location))
            .to_string()
    }

    /// Set no session: either no session cookie or one that clears it.
    fn sets_no_session(&self) -> bool {
        self.cookie("__Host-jitgate_session")
            .is_none_or(|v| v.is_empty())
    }
}

/// A sign-in started at the service: the pending cookie, the state, the nonce and challenge sent.
struct Started {
    pending: String,
    state: String,
    nonce: String,
    challenge: String,
}

fn start(s: &Server, p: &Provider, next: &str) -> Started {
    let a = get(&format!("{}/auth/signin?next={next}", s.url), "");
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(
        a.location.starts_with(&format!("{}/auth?", p.url)),
        "{}",
        a.location
    );
    assert_eq!(a.param("code_challenge_method"), "S256");
    assert_eq!(a.param("client_id"), "jitgate-web");
    Started {
        pending: a.cookie("__Host-jitgate_signin").unwrap(),
        state: a.param("state"),
        nonce: a.param("nonce"),
        challenge: a.param("code_challenge"),
    }
}

fn callback(s: &Server, pending: &str, query: &str) -> Answer {
    get(
        &format!("{}/auth/callback?{query}", s.url),
        &format!("__Host-jitgate_signin={pending}"),
    )
}

fn session_cookie(user: &str, groups: &[&str], secret: &str, exp_from_now: i64) -> String {
    let now = (jitgate::wire::now_millis() / 1000) as i64;
    let v = encode(
        &Header::new(Algorithm::HS256),
        &json!({"aud": "jitgate-session", "sub": user, "groups": groups, "iat": now - 10,
                "exp": now + exp_from_now}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    format!("__Host-jitgate_session={v}")
}

#[test]
fn signing_in_by_code_flow_gives_a_session_that_approves_and_the_code_redeems_once() {
    let p = Provider::start();
    let s = signin_server(&p);
    let asked = answer(
        no_redirects()
            .post(&format!("{}/v1/requests", s.url))
            .set(
                "Cookie",
                &session_cookie("alice", &["analysts"], SESSION_SECRET, 600),
            )
            .send_json(
                json!({"resources": ["hive:sales.orders"], "actions": ["read"],
                              "duration": "5m", "reason": "INC-7"}),
            ),
    );
    assert_eq!(asked.status, 201, "{}", asked.body);
    let id = serde_json::from_str::<Value>(&asked.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let started = start(&s, &p, &format!("/requests/{id}"));
    let token = p.id_token(
        KEY,
        "bob",
        &["sales-owners"],
        json!({"nonce": started.nonce}),
    );
    p.issue("code-1", &started.challenge, token);
    let query = format!("code=code-1&state={}&iss={}", started.state, p.url);
    let a = callback(&s, &started.pending, &query);
    assert_eq!(
        (a.status, a.location.as_str()),
        (303, format!("/requests/{id}").as_str()),
        "{}",
        a.body
    );
    let set = a
        .cookies
        .iter()
        .find(|c| c.starts_with("__Host-jitgate_session="))
        .unwrap();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=3600",
    ] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert_eq!(
        a.cookie("__Host-jitgate_signin").as_deref(),
        Some(""),
        "the pending sign-in is used up"
    );
    let session = format!(
        "__Host-jitgate_session={}",
        a.cookie("__Host-jitgate_session").unwrap()
    );

    let page = get(&format!("{}/requests/{id}", s.url), &session);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<span class=\"who\">bob"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("action=\"/auth/signout\""),
        "{}",
        page.body
    );
    let approved = answer(
        no_redirects()
            .post(&format!("{}/v1/requests/{id}/approve", s.url))
            .set("Cookie", &session)
            .set("Content-Type", "application/json")
            .send_string(""),
    );
    assert_eq!(approved.status, 200, "{}", approved.body);
    let approved: Value = serde_json::from_str(&approved.body).unwrap();
    assert_eq!(approved["grant"]["approvers"], json!(["bob"]));

    // Someone holding both the answer and the pending cookie replays them: the code is spent.
    let replay = callback(&s, &started.pending, &query);
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert!(
        replay.body.contains("refused the code (400 invalid_grant"),
        "{}",
        replay.body
    );
    assert!(replay.sets_no_session());
    // The browser's own replay has no pending sign-in left.
    let replay = get(&format!("{}/auth/callback?{query}", s.url), "");
    assert_eq!(replay.status, 400);
    assert!(
        replay.body.contains("no sign-in is in progress"),
        "{}",
        replay.body
    );
    assert!(replay.sets_no_session());
}

#[test]
fn bad_callbacks_get_an_error_page_and_no_session() {
    let p = Provider::start();
    let s = signin_server(&p);
    let refused = |pending: &str, query: &str, status: u16, why: &str| {
        let a = callback(&s, pending, query);
        assert_eq!(a.status, status, "{query}: {}", a.body);
        assert!(a.body.contains("Sign-in failed"), "{}", a.body);
        assert!(a.body.contains(why), "{query}: wanted {why}: {}", a.body);
        assert!(a.sets_no_session(), "{query}: {:?}", a.cookies);
        assert_eq!(a.cookie("__Host-jitgate_signin").as_deref(), Some(""));
    };
    let mut n = 0;
    let mut with_token = |key: &str, extra: Value, why: &str| {
        let st = start(&s, &p, "/inbox");
        n += 1;
        let mut extra = extra;
        if extra.get("nonce") == Some(&json!("SENT")) {
            extra["nonce"] = json!(st.nonce);
        }
        p.issue(
            &format!("c{n}"),
            &st.challenge,
            p.id_token(key, "bob", &["sales-owners"], extra),
        );
        refused(
            &st.pending,
            &format!("code=c{n}&state={}", st.state),
            401,
            why,
        );
    };
    with_token(KEY, json!({}), "it carries no nonce");
    with_token(
        KEY,
        json!({"nonce": "someone-elses"}),
        "its nonce is not this sign-in",
    );
    with_token(
        KEY,
        json!({"nonce": "SENT", "aud": "other-app"}),
        "not meant for audience jitgate-web",
    );
    with_token(
        OTHER_KEY,
        json!({"nonce": "SENT"}),
        "signature does not verify",
    );
    with_token(KEY, json!({"nonce": "SENT", "exp": 1000}), "it has expired");
    with_token(
        KEY,
        json!({"nonce": "SENT", "iss": "https://evil.test"}),
        "not issued by",
    );

    let st = start(&s, &p, "/inbox");
    p.issue(
        "good",
        &st.challenge,
        p.id_token(KEY, "bob", &[], json!({"nonce": st.nonce})),
    );
    refused(
        &st.pending,
        "code=good&state=wrong",
        400,
        "its state differs",
    );
    refused(
        "",
        &format!("code=good&state={}", st.state),
        400,
        "no sign-in is in progress",
    );
    refused(
        &st.pending,
        &format!(
            "error=access_denied&error_description=no+thanks&state={}",
            st.state
        ),
        401,
        "the identity provider refused the sign-in: access_denied (no thanks)",
    );
    // The code was bound to this sign-in's verifier: another sign-in's cannot redeem it.
    let other = start(&s, &p, "/inbox");
    refused(
        &other.pending,
        &format!("code=good&state={}", other.state),
        401,
        "PKCE verification failed",
    );
}

#[test]
fn forged_and_expired_sessions_are_refused_and_pages_send_people_to_sign_in() {
    let p = Provider::start();
    let s = signin_server(&p);
    let good = session_cookie("bob", &["sales-owners"], SESSION_SECRET, 600);
    assert_eq!(get(&format!("{}/inbox", s.url), &good).status, 200);
    let api = |cookie: &str| get(&format!("{}/v1/requests", s.url), cookie);
    assert_eq!(api(&good).status, 200);

    let forged = session_cookie(
        "bob",
        &["sales-owners"],
        "another-secret-of-at-least-32-chars!",
        600,
    );
    let a = api(&forged);
    assert_eq!(a.status, 401);
    assert!(a.body.contains("not signed by this service"), "{}", a.body);
    let expired = session_cookie("bob", &["sales-owners"], SESSION_SECRET, -1);
    let a = api(&expired);
    assert_eq!(a.status, 401);
    assert!(a.body.contains("session has expired"), "{}", a.body);
    // A session is never overridden by the trusted headers (none are trusted in oidc mode anyway).
    for cookie in [forged.as_str(), expired.as_str(), ""] {
        let page = get(&format!("{}/inbox?zone=sales", s.url), cookie);
        assert_eq!(page.status, 303, "{cookie}");
        assert_eq!(page.location, "/auth/signin?next=/inbox%3Fzone%3Dsales");
    }
    // The request form is only of use signed in: it sends to sign-in first.
    let form = get(&format!("{}/request?resource=hive:sales.x", s.url), "");
    assert_eq!(
        (form.status, form.location.as_str()),
        (303, "/auth/signin?next=/request%3Fresource%3Dhive:sales.x")
    );
    // A failed sign-in's page offers to sign in again, never to come back to the callback.
    let failed = get(&format!("{}/auth/callback?state=x", s.url), "");
    assert_eq!(failed.status, 400);
    assert!(!failed.body.contains("next=/auth/"), "{}", failed.body);
}

#[test]
fn sign_out_needs_the_form_token_and_clears_the_session_here_and_at_the_provider() {
    let p = Provider::start();
    let s = signin_server(&p);
    let session = session_cookie("bob", &["sales-owners"], SESSION_SECRET, 600);
    let page = get(&format!("{}/my", s.url), &session);
    let csrf = page.cookie("jitgate_csrf").unwrap();
    let post = |form: &str, cookies: &str| {
        answer(
            no_redirects()
                .post(&format!("{}/auth/signout", s.url))
                .set("Cookie", cookies)
                .set("Content-Type", "application/x-www-form-urlencoded")
                .send_string(form),
        )
    };
    let a = post("csrf=forged", &format!("{session}; jitgate_csrf={csrf}"));
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.cookie("__Host-jitgate_session").is_none());
    let a = post(
        &format!("csrf={csrf}"),
        &format!("{session}; jitgate_csrf={csrf}"),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.cookie("__Host-jitgate_session").as_deref(), Some(""));
    assert!(a.cookies.iter().any(|c| c.contains("Max-Age=0")));
    let back = format!("{}/auth/signed-out", s.url)
        .replace(':', "%3A")
        .replace('/', "%2F");
    assert_eq!(
        a.refresh,
        format!(
            "0; url={}/logout?client_id=jitgate-web&post_logout_redirect_uri={back}",
            p.url
        )
    );
    assert!(a.body.contains("id=\"provider-sign-out\""), "{}", a.body);
    let out = get(&format!("{}/auth/signed-out", s.url), "");
    assert_eq!(out.status, 200);
    assert!(out.body.contains("You are signed out"));
}
