//! The OIDC issuer (`auth.mode = "oidc"`): its ID tokens, checked against its JWKS for
//! signature, issuer, audience and lifetime, and the claims that name the person and their
//! groups; its discovery document, for web sign-in's endpoints. A token arrives as a Bearer
//! token (API, CLI) or from the sign-in flow (`signin`). Only asymmetric algorithms are
//! accepted, so a JWKS key can never be misused as an HMAC secret.

use crate::caller::Caller;
use crate::error::{Result, ServiceError};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

const ACCEPTED: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
];
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// `[auth.oidc]`, as `config` validated it: whose tokens to accept and which claims name
/// the person and their groups.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcSettings {
    pub issuer: String,
    pub audience: String,
    pub jwks: JwksSource,
    pub user_claim: String,
    pub groups_claim: String,
    /// Web sign-in, when `client_id` is configured (boxed: most services have none).
    pub sign_in: Option<Box<SignInSettings>>,
}

/// `[auth.oidc]`'s web sign-in keys, secrets read from their files.
#[derive(Clone, PartialEq)]
pub struct SignInSettings {
    pub client_id: String,
    pub client_secret: String,
    /// Signs session cookies; the same on every replica, so any of them accepts a session.
    pub session_secret: Vec<u8>,
    pub session_lifetime: Duration,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for SignInSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInSettings")
            .field("client_id", &self.client_id)
            .field("session_lifetime", &self.session_lifetime)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Where the issuer's discovery document says to send people and codes.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    /// RP-initiated logout, when the issuer offers it.
    pub end_session: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JwksSource {
    Url(String),
    File(PathBuf),
}

pub struct Oidc {
    settings: OidcSettings,
    keys: RwLock<JwkSet>,
}

impl Oidc {
    /// Loads the JWKS once; a service that cannot check tokens does not start.
    pub fn load(settings: OidcSettings) -> Result<Oidc, String> {
        let keys = fetch(&settings.jwks)?;
        Ok(Oidc {
            settings,
            keys: RwLock::new(keys),
        })
    }

    /// Re-reads the JWKS (the issuer rotates keys); keeps the old set when that fails.
    pub fn refresh(&self) -> Result<usize, String> {
        let keys = fetch(&self.settings.jwks)?;
        let n = keys.keys.len();
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(n)
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// Reads `<issuer>/.well-known/openid-configuration`. Its `issuer` must be the configured
    /// one, so one issuer's document cannot send people to another's endpoints.
    pub fn discover(&self) -> Result<Endpoints, String> {
        let issuer = &self.settings.issuer;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let doc: Value = ureq::get(&url)
            .timeout(FETCH_TIMEOUT)
            .call()
            .map_err(|e| format!("auth.oidc discovery {url}: {e}"))?
            .into_json()
            .map_err(|e| format!("auth.oidc discovery {url}: not JSON: {e}"))?;
        let field = |k: &str| doc.get(k).and_then(Value::as_str).map(String::from);
        if field("issuer").as_deref() != Some(issuer.as_str()) {
            return Err(format!(
                "auth.oidc discovery {url}: it names issuer {:?}, not {issuer}",
                field("issuer").unwrap_or_default()
            ));
        }
        let need = |k: &str| field(k).ok_or_else(|| format!("auth.oidc discovery {url}: no {k}"));
        Ok(Endpoints {
            authorization: need("authorization_endpoint")?,
            token: need("token_endpoint")?,
            end_session: field("end_session_endpoint"),
        })
    }

    pub fn key_count(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .len()
    }

    /// The person a Bearer token names, with their groups.
    pub fn caller(&self, token: &str) -> Result<Caller> {
        let claims = self.claims(token, &self.settings.audience, "the bearer token")?;
        self.caller_of(&claims, "the bearer token")
    }

    /// The claims of a token `what` names, once its signature, issuer, `audience` and
    /// lifetime hold.
    pub fn claims(&self, token: &str, audience: &str, what: &str) -> Result<Value> {
        let bad =
            |why: String| ServiceError::Unauthenticated(format!("{what} is not valid: {why}"));
        let header = decode_header(token).map_err(|e| bad(format!("not a JWT ({e})")))?;
        if !ACCEPTED.contains(&header.alg) {
            return Err(bad(format!(
                "algorithm {:?} is not accepted (use an asymmetric one such as RS256)",
                header.alg
            )));
        }
        let key = {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            let jwk = match &header.kid {
                Some(kid) => keys.find(kid),
                None if keys.keys.len() == 1 => keys.keys.first(),
                None => None,
            }
            .ok_or_else(|| {
                bad(format!(
                    "no key {} in the issuer's JWKS",
                    header.kid.as_deref().unwrap_or("(no kid)")
                ))
            })?;
            DecodingKey::from_jwk(jwk).map_err(|e| bad(format!("unusable JWKS key: {e}")))?
        };
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&self.settings.issuer]);
        v.set_audience(&[audience]);
        v.leeway = LEEWAY_SECS;
        // not on by default: a token issued for later must not serve now
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = decode::<Value>(token, &key, &v).map_err(|e| {
            bad(match e.kind() {
                ErrorKind::ExpiredSignature => "it has expired".into(),
                ErrorKind::ImmatureSignature => "it is not valid yet".into(),
                ErrorKind::InvalidIssuer => {
                    format!("it was not issued by {}", self.settings.issuer)
                }
                ErrorKind::InvalidAudience => {
                    format!("it is not meant for audience {audience}")
                }
                ErrorKind::InvalidSignature => "the signature does not verify".into(),
                ErrorKind::MissingRequiredClaim(c) => format!("claim `{c}` is missing"),
                _ => e.to_string(),
            })
        })?;
        Ok(data.claims)
    }

    /// The person `claims` name (`user_claim`) and their groups (`groups_claim`).
    pub fn caller_of(&self, claims: &Value, what: &str) -> Result<Caller> {
        let bad =
            |why: String| ServiceError::Unauthenticated(format!("{what} is not valid: {why}"));
        let user = claims
            .get(&self.settings.user_claim)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                bad(format!(
                    "claim `{}` (auth.oidc.user_claim) is missing or empty",
                    self.settings.user_claim
                ))
            })?;
        let groups = match claims.get(&self.settings.groups_claim) {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect(),
            Some(_) => {
                return Err(bad(format!(
                    "claim `{}` is neither a list nor a string",
                    self.settings.groups_claim
                )))
            }
        };
        Ok(Caller {
            user: user.to_string(),
            groups,
        })
    }
}

fn fetch(source: &JwksSource) -> Result<JwkSet, String> {
    let (text, from) = match source {
        JwksSource::File(p) => (
            std::fs::read_to_string(p)
                .map_err(|e| format!("auth.oidc.jwks_file {}: {e}", p.display()))?,
            p.display().to_string(),
        ),
        JwksSource::Url(u) => (
            ureq::get(u)
                .timeout(FETCH_TIMEOUT)
                .call()
                .map_err(|e| format!("auth.oidc.jwks_url {u}: {e}"))?
                .into_string()
                .map_err(|e| format!("auth.oidc.jwks_url {u}: {e}"))?,
            u.clone(),
        ),
    };
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|e| format!("{from} is not a JWKS: {e}"))?;
    if set.keys.is_empty() {
        return Err(format!("{from} holds no keys"));
    }
    Ok(set)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    pub const KEY: &str = include_str!("../tests/data/oidc-test-key.pem");
    const OTHER_KEY: &str = include_str!("../tests/data/oidc-other-key.pem");

    pub fn settings() -> OidcSettings {
        OidcSettings {
            issuer: "https://idp.test".into(),
            audience: "jitgate".into(),
            jwks: JwksSource::File(
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/data/oidc-test-jwks.json"
                )
                .into(),
            ),
            user_claim: "preferred_username".into(),
            groups_claim: "groups".into(),
            sign_in: None,
        }
    }

    pub fn token_with(key: &str, kid: &str, claims: Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        encode(
            &h,
            &claims,
            &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn now() -> u64 {
        (jitgate::wire::now_millis() / 1000) as u64
    }

    pub fn claims(user: &str, groups: &[&str]) -> Value {
        json!({"iss": "https://idp.test", "aud": "jitgate", "sub": "id-123",
               "preferred_username": user, "groups": groups, "exp": now() + 300, "iat": now()})
    }

    #[test]
    fn a_valid_token_names_the_user_and_groups() {
        let o = Oidc::load(settings()).unwrap();
        let c = o
            .caller(&token_with(
                KEY,
                "test-key-1",
                claims("bob", &["sales-owners"]),
            ))
            .unwrap();
        assert_eq!(
            c,
            Caller {
                user: "bob".into(),
                groups: vec!["sales-owners".into()]
            }
        );
        let mut s = settings();
        s.user_claim = "sub".into();
        let c = Oidc::load(s)
            .unwrap()
            .caller(&token_with(KEY, "test-key-1", claims("bob", &[])))
            .unwrap();
        assert_eq!(c.user, "id-123");
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason() {
        let o = Oidc::load(settings()).unwrap();
        let refused = |token: String| {
            let e = o.caller(&token).unwrap_err();
            assert_eq!(e.status(), 401);
            e.message().to_string()
        };
        let mut c = claims("bob", &[]);
        c["exp"] = json!(now() - 120);
        assert!(refused(token_with(KEY, "test-key-1", c)).contains("expired"));
        let mut c = claims("bob", &[]);
        c["nbf"] = json!(now() + 120);
        assert!(refused(token_with(KEY, "test-key-1", c)).contains("not valid yet"));
        let mut c = claims("bob", &[]);
        c["iss"] = json!("https://evil.test");
        assert!(
            refused(token_with(KEY, "test-key-1", c)).contains("not issued by https://idp.test")
        );
        let mut c = claims("bob", &[]);
        c["aud"] = json!("other-app");
        assert!(refused(token_with(KEY, "test-key-1", c)).contains("audience jitgate"));
        assert!(
            refused(token_with(OTHER_KEY, "test-key-1", claims("bob", &[])))
                .contains("signature does not verify")
        );
        assert!(refused(token_with(KEY, "rotated-away", claims("bob", &[])))
            .contains("no key rotated-away"));
        let mut c = claims("bob", &[]);
        c.as_object_mut().unwrap().remove("preferred_username");
        assert!(refused(token_with(KEY, "test-key-1", c)).contains("claim `preferred_username`"));
        assert!(refused("not-a-jwt".into()).contains("not a JWT"));
        // An HMAC token "signed" with public material is refused before any key is tried.
        let hs = encode(
            &Header::new(Algorithm::HS256),
            &claims("bob", &[]),
            &EncodingKey::from_secret(b"public"),
        )
        .unwrap();
        assert!(refused(hs).contains("HS256"));
    }

    #[test]
    fn a_missing_or_empty_jwks_stops_the_start() {
        let mut s = settings();
        s.jwks = JwksSource::File("/nonexistent/jwks.json".into());
        assert!(Oidc::load(s).err().unwrap().contains("auth.oidc.jwks_file"));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("j.json");
        std::fs::write(&f, "{\"keys\": []}").unwrap();
        let mut s = settings();
        s.jwks = JwksSource::File(f);
        assert!(Oidc::load(s).err().unwrap().contains("holds no keys"));
    }
}
