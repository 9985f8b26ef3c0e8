//! Web sign-in without an SSO proxy (`[auth.oidc] client_id`): the OIDC authorization code flow
//! with PKCE (S256), `state` and `nonce`, ending in a session cookie.
//!
//! Nothing is kept on the server: the sign-in in progress (state, nonce, PKCE verifier, the page
//! to return to) and the session both live in cookies signed with `session_secret_file`, so
//! every replica that reads the same secret accepts them. Both are HMAC-signed JWTs whose
//! audiences differ, so one can never stand for the other; an ID token (asymmetric only, see
//! `oidc`) can stand for neither.

use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use crate::oidc::{Endpoints, Oidc, SignInSettings};
use crate::render::percent_encode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// `__Host-`: the browser takes it only with `Secure`, `Path=/` and no `Domain`, so a
/// neighbouring subdomain cannot plant one.
pub const SESSION_COOKIE: &str = "__Host-jitgate_session";
pub const PENDING_COOKIE: &str = "__Host-jitgate_signin";
const SESSION_AUDIENCE: &str = "jitgate-session";
const PENDING_AUDIENCE: &str = "jitgate-signin";
/// How long a person has at the provider before the sign-in they started is forgotten.
const PENDING_LIFETIME_SECS: u64 = 600;
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);
pub const CALLBACK_PATH: &str = "/auth/callback";
pub const SIGNED_OUT_PATH: &str = "/auth/signed-out";

/// The session cookie's claims.
#[derive(Serialize, Deserialize)]
struct Session {
    aud: String,
    sub: String,
    groups: Vec<String>,
    iat: u64,
    exp: u64,
}

/// The sign-in in progress, in its cookie between leaving for the provider and coming back.
#[derive(Serialize, Deserialize)]
struct Pending {
    aud: String,
    exp: u64,
    state: String,
    nonce: String,
    verifier: String,
    /// The page to show once signed in (a local path).
    next: String,
}

/// What the provider sends back to `/auth/callback`.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer that answers, when the provider says.
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

pub struct SignIn {
    oidc: Arc<Oidc>,
    settings: SignInSettings,
    endpoints: Endpoints,
    public_url: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SignIn {
    /// Reads the issuer's discovery document; a service whose sign-in cannot work does not start.
    pub fn new(oidc: Arc<Oidc>, public_url: &str) -> Result<SignIn, String> {
        let settings = *oidc
            .settings()
            .sign_in
            .clone()
            .ok_or("auth.oidc: web sign-in needs client_id")?;
        if let Some(host) = public_url.strip_prefix("http://") {
            let host = host.split('/').next().unwrap_or(host);
            if !crate::tls::loopback_only(host) {
                return Err(format!(
                    "auth.oidc.client_id: the session cookie is `Secure`, which browsers keep only \
                     over https, but links use {public_url}: set [tls] or public_url = \"https://...\""
                ));
            }
        }
        let endpoints = oidc.discover()?;
        Ok(SignIn {
            encoding: EncodingKey::from_secret(&settings.session_secret),
            decoding: DecodingKey::from_secret(&settings.session_secret),
            oidc,
            settings,
            endpoints,
            public_url: public_url.to_string(),
        })
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url)
    }

    /// Starts a sign-in that returns to `next`: the provider's URL to send the browser to, and
    /// the pending-sign-in cookie (a `Set-Cookie` value) it must carry back.
    pub fn begin(&self, next: &str) -> (String, String) {
        let pending = Pending {
            aud: PENDING_AUDIENCE.into(),
            exp: now_secs() + PENDING_LIFETIME_SECS,
            state: crate::secret::random_token(),
            nonce: crate::secret::random_token(),
            verifier: crate::secret::random_token(),
            next: next.to_string(),
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let params = [
            ("response_type", "code"),
            ("client_id", &self.settings.client_id),
            ("redirect_uri", &self.redirect_uri()),
            ("scope", &self.settings.scopes.join(" ")),
            ("state", &pending.state),
            ("nonce", &pending.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        let url = with_query(&self.endpoints.authorization, &params);
        let cookie = set_cookie(PENDING_COOKIE, &self.seal(&pending), PENDING_LIFETIME_SECS);
        (url, cookie)
    }

    /// Ends a sign-in: checks the provider's answer against the sign-in this browser started
    /// (`pending`, its cookie), redeems the code with the PKCE verifier, and verifies the ID
    /// token (signature, issuer, audience = client_id, expiry, nonce). Blocks on the provider.
    /// Returns the person and the page to go to.
    pub fn finish(&self, pending: Option<&str>, answer: &Callback) -> Result<(Caller, String)> {
        let refused = |why: String| ServiceError::Unauthenticated(why);
        let pending: Pending = pending
            .and_then(|p| self.open::<Pending>(p, PENDING_AUDIENCE).ok())
            .ok_or_else(|| {
                ServiceError::BadInput(
                    "no sign-in is in progress in this browser (it was finished already, took \
                     longer than 10 minutes, or was started elsewhere): sign in again"
                        .into(),
                )
            })?;
        let state = answer.state.as_deref().unwrap_or("");
        if !crate::secret::constant_eq(state, &pending.state) {
            return Err(ServiceError::BadInput(
                "this answer from the identity provider does not belong to the sign-in this \
                 browser started (its state differs): sign in again"
                    .into(),
            ));
        }
        if let Some(error) = &answer.error {
            return Err(refused(format!(
                "the identity provider refused the sign-in: {error}{}",
                answer
                    .error_description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            )));
        }
        if let Some(iss) = &answer.iss {
            if iss != &self.oidc.settings().issuer {
                return Err(refused(format!(
                    "the answer comes from issuer {iss}, not {}",
                    self.oidc.settings().issuer
                )));
            }
        }
        let code = answer
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| ServiceError::BadInput("the identity provider sent no code".into()))?;
        let id_token = self.redeem(code, &pending.verifier)?;
        let what = "the ID token";
        let claims = self
            .oidc
            .claims(&id_token, &self.settings.client_id, what)?;
        match claims.get("nonce").and_then(Value::as_str) {
            None => return Err(refused(format!("{what} is not valid: it carries no nonce"))),
            Some(n) if !crate::secret::constant_eq(n, &pending.nonce) => {
                return Err(refused(format!(
                    "{what} is not valid: its nonce is not this sign-in's"
                )))
            }
            Some(_) => {}
        }
        // Meant for several clients: the one it was issued to must be this one.
        if claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1)
            && claims.get("azp").and_then(Value::as_str) != Some(&self.settings.client_id)
        {
            return Err(refused(format!(
                "{what} is not valid: it was issued to another client (azp)"
            )));
        }
        let caller = self.oidc.caller_of(&claims, what)?;
        Ok((caller, pending.next))
    }

    /// The authorization code and PKCE verifier for an ID token, at the token endpoint, as a
    /// confidential client (`client_secret_basic`).
    fn redeem(&self, code: &str, verifier: &str) -> Result<String> {
        let basic = STANDARD.encode(format!(
            "{}:{}",
            percent_encode(&self.settings.client_id, b""),
            percent_encode(&self.settings.client_secret, b"")
        ));
        let sent = ureq::post(&self.endpoints.token)
            .timeout(TOKEN_TIMEOUT)
            .set("Authorization", &format!("Basic {basic}"))
            .send_form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri()),
                ("code_verifier", verifier),
            ]);
        let body: Value = match sent {
            Ok(r) => r.into_json().map_err(|e| {
                ServiceError::Internal(format!("the token endpoint's answer is not JSON: {e}"))
            })?,
            Err(ureq::Error::Status(status, r)) => {
                let v: Value = r.into_json().unwrap_or(Value::Null);
                let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                return Err(ServiceError::Unauthenticated(format!(
                    "the identity provider refused the code ({status} {}{}): sign in again",
                    text("error"),
                    match text("error_description") {
                        d if d.is_empty() => String::new(),
                        d => format!(": {d}"),
                    }
                )));
            }
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "the identity provider's token endpoint cannot be reached: {e}"
                )))
            }
        };
        body.get("id_token")
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| {
                ServiceError::Unauthenticated(
                    "the identity provider sent no ID token (is `openid` among auth.oidc.scopes?)"
                        .into(),
                )
            })
    }

    /// The session cookie (a `Set-Cookie` value) for `caller`, good for `session_lifetime`.
    pub fn session_cookie(&self, caller: &Caller) -> String {
        let now = now_secs();
        let lifetime = self.settings.session_lifetime.as_secs();
        let session = Session {
            aud: SESSION_AUDIENCE.into(),
            sub: caller.user.clone(),
            groups: caller.groups.clone(),
            iat: now,
            exp: now + lifetime,
        };
        set_cookie(SESSION_COOKIE, &self.seal(&session), lifetime)
    }

    /// The person a session cookie's value names, if it is this service's and still current.
    pub fn session(&self, value: &str) -> Result<Caller> {
        match self.open::<Session>(value, SESSION_AUDIENCE) {
            Ok(s) => Ok(Caller {
                user: s.sub,
                groups: s.groups,
            }),
            Err(ErrorKind::ExpiredSignature) => Err(ServiceError::Unauthenticated(
                "your session has expired: sign in again".into(),
            )),
            Err(_) => Err(ServiceError::Unauthenticated(
                "the session cookie is not valid (not signed by this service): sign in again"
                    .into(),
            )),
        }
    }

    /// The provider's end-session URL (RP-initiated logout), when it has one: signed out there
    /// too, the next sign-in asks the person again instead of passing silently. It comes back
    /// to `/auth/signed-out`.
    pub fn provider_sign_out_url(&self) -> Option<String> {
        let back = format!("{}{SIGNED_OUT_PATH}", self.public_url);
        self.endpoints.end_session.as_ref().map(|end| {
            with_query(
                end,
                &[
                    ("client_id", &self.settings.client_id),
                    ("post_logout_redirect_uri", &back),
                ],
            )
        })
    }

    fn seal<T: Serialize>(&self, claims: &T) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("a struct of strings and numbers serializes")
    }

    fn open<T: for<'de> Deserialize<'de>>(
        &self,
        value: &str,
        audience: &str,
    ) -> Result<T, ErrorKind> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_audience(&[audience]);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "aud"]);
        decode::<T>(value, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| e.into_kind())
    }
}

/// A `Set-Cookie` value for this service's sign-in cookies; `max_age` 0 clears it.
pub fn set_cookie(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax")
}

fn now_secs() -> u64 {
    (jitgate::wire::now_millis() / 1000) as u64
}

fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v, b"")))
        .collect();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::tests::{settings, token_with, KEY};
    use crate::oidc::Endpoints;

    fn sign_in(secret: &[u8]) -> SignIn {
        let mut s = settings();
        let sign_in = SignInSettings {
            client_id: "jitgate-web".into(),
            client_secret: "client secret".into(),
            session_secret: secret.to_vec(),
            session_lifetime: Duration::from_secs(3600),
            scopes: vec!["openid".into()],
        };
        s.sign_in = Some(Box::new(sign_in.clone()));
        SignIn {
            oidc: Arc::new(Oidc::load(s).unwrap()),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            settings: sign_in,
            endpoints: Endpoints {
                authorization: "https://idp.test/auth".into(),
                // nothing listens here: a test that reaches it fails
                token: "http://127.0.0.1:9/token".into(),
                end_session: None,
            },
            public_url: "https://jitgate.test".into(),
        }
    }

    fn value(set_cookie: &str) -> &str {
        set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
    }

    #[test]
    fn a_session_names_its_person_on_any_replica_with_the_same_secret() {
        let secret = [b'k'; 32];
        let caller = Caller {
            user: "bob".into(),
            groups: vec!["sales-owners".into()],
        };
        let cookie = sign_in(&secret).session_cookie(&caller);
        assert!(cookie.starts_with("__Host-jitgate_session="), "{cookie}");
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        // another process, same configured secret
        assert_eq!(sign_in(&secret).session(value(&cookie)).unwrap(), caller);
        let err = sign_in(&[b'x'; 32]).session(value(&cookie)).unwrap_err();
        assert!(
            err.message().contains("not signed by this service"),
            "{err}"
        );
    }

    #[test]
    fn expired_forged_and_misused_cookies_name_no_one() {
        let s = sign_in(&[b'k'; 32]);
        let expired = s.seal(&Session {
            aud: SESSION_AUDIENCE.into(),
            sub: "bob".into(),
            groups: vec![],
            iat: now_secs() - 7200,
            exp: now_secs() - 1,
        });
        assert!(s
            .session(&expired)
            .unwrap_err()
            .message()
            .contains("expired"));
        // a pending sign-in is not a session, though the same key signed it
        let (_, pending) = s.begin("/inbox");
        assert!(s.session(value(&pending)).is_err());
        // an ID token is not a session either
        let id_token = token_with(KEY, "test-key-1", crate::oidc::tests::claims("bob", &[]));
        assert!(s.session(&id_token).is_err());
        assert!(s.session("junk").is_err());
    }

    #[test]
    fn begin_sends_state_nonce_and_an_s256_challenge_of_the_cookies_verifier() {
        let s = sign_in(&[b'k'; 32]);
        let (url, cookie) = s.begin("/requests/r-1");
        let pending: Pending = s.open(value(&cookie), PENDING_AUDIENCE).unwrap();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        assert!(url.starts_with("https://idp.test/auth?response_type=code&client_id=jitgate-web"));
        for part in [
            format!("state={}", pending.state),
            format!("nonce={}", pending.nonce),
            format!("code_challenge={challenge}"),
            "code_challenge_method=S256".into(),
            "redirect_uri=https%3A%2F%2Fjitgate.test%2Fauth%2Fcallback".into(),
        ] {
            assert!(url.contains(&part), "{url} lacks {part}");
        }
        assert!(!url.contains(&pending.verifier));
        assert_eq!(pending.next, "/requests/r-1");
        let (again, _) = s.begin("/");
        assert_ne!(url, again, "every sign-in has its own state");
    }

    /// Refused before any code is redeemed: the token endpoint is never reached.
    #[test]
    fn answers_that_do_not_match_the_pending_sign_in_are_refused() {
        let s = sign_in(&[b'k'; 32]);
        let (_, cookie) = s.begin("/inbox");
        let pending: Pending = s.open(value(&cookie), PENDING_AUDIENCE).unwrap();
        let answer = |state: &str| Callback {
            code: Some("c".into()),
            state: Some(state.into()),
            ..Default::default()
        };
        let err = s
            .finish(Some(value(&cookie)), &answer("other"))
            .unwrap_err();
        assert!(err.message().contains("state differs"), "{err}");
        let err = s.finish(None, &answer(&pending.state)).unwrap_err();
        assert!(err.message().contains("no sign-in is in progress"), "{err}");
        let forged = sign_in(&[b'x'; 32]).begin("/").1;
        let err = s
            .finish(Some(value(&forged)), &answer(&pending.state))
            .unwrap_err();
        assert!(err.message().contains("no sign-in is in progress"), "{err}");
        let err = s
            .finish(
                Some(value(&cookie)),
                &Callback {
                    state: Some(pending.state.clone()),
                    error: Some("access_denied".into()),
                    error_description: Some("the person said no".into()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(
            err.message()
                .contains("refused the sign-in: access_denied (the person said no)"),
            "{err}"
        );
        // A refusal is believed only with this sign-in's state, as any answer is.
        let err = s
            .finish(
                Some(value(&cookie)),
                &Callback {
                    state: Some("other".into()),
                    error: Some("access_denied".into()),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(err.message().contains("state differs"), "{err}");
        let mut mixed_up = answer(&pending.state);
        mixed_up.iss = Some("https://evil.test".into());
        let err = s.finish(Some(value(&cookie)), &mixed_up).unwrap_err();
        assert!(err.message().contains("not https://idp.test"), "{err}");
    }

    #[test]
    fn sign_out_goes_through_the_providers_end_session_endpoint_when_it_has_one() {
        let mut s = sign_in(&[b'k'; 32]);
        assert_eq!(s.provider_sign_out_url(), None);
        s.endpoints.end_session = Some("https://idp.test/logout".into());
        assert_eq!(
            s.provider_sign_out_url().unwrap(),
            "https://idp.test/logout?client_id=jitgate-web&post_logout_redirect_uri=\
             https%3A%2F%2Fjitgate.test%2Fauth%2Fsigned-out"
        );
    }
}
