//! Who is calling. People arrive through an SSO proxy that sets `X-Forwarded-User` and
//! `X-Forwarded-Groups`, which are believed only when the peer is a configured proxy address;
//! plugins present a service token as a Bearer token. With `auth.mode = "oidc"` a person may
//! instead present an ID token as a Bearer token, or the session cookie of web sign-in
//! (`signin`); with `auth.mode = "dev"` the web pages' user picker names one of the configured
//! users. The rest of the service only ever sees a `Caller`.

use crate::caller::canonical_user;
use crate::error::{Result, ServiceError};
use crate::oidc::Oidc;
use crate::secret::constant_eq;
use crate::signin::{SignIn, SESSION_COOKIE};
use crate::tokens::{PluginTokens, Scope};
use axum::http::HeaderMap;
use std::net::IpAddr;
use std::sync::Arc;

// What this module yields; its home is the leaf `caller`, so `oidc` can make one too.
use crate::caller::Caller;

pub const USER_HEADER: &str = "x-forwarded-user";
const PROXY_SECRET_HEADER: &str = "x-jitgate-proxy-secret";
pub const GROUPS_HEADER: &str = "x-forwarded-groups";
/// Dev mode only: the picked user, as a header (CLI, tests) or the cookie the picker sets.
pub const DEV_USER_HEADER: &str = "x-jitgate-dev-user";
pub const DEV_USER_COOKIE: &str = "jitgate_dev_user";

/// An address block such as `127.0.0.1/32` or `::1/128`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let bad = || format!("bad address block `{text}`: use a form like 10.0.0.0/8 or ::1/128");
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_matches(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_matches(net: &[u8], ip: &[u8], prefix: u8) -> bool {
    let (whole, rest) = ((prefix / 8) as usize, prefix % 8);
    if net[..whole] != ip[..whole] {
        return false;
    }
    rest == 0 || (net[whole] ^ ip[whole]) & (0xffu8 << (8 - rest)) == 0
}

/// How the service recognises callers: the trusted proxies for people, the tokens for plugins.
pub struct Identity {
    trusted_proxies: Vec<Cidr>,
    /// What a trusted proxy must also send in `X-Jitgate-Proxy-Secret`, when set.
    proxy_secret: Option<String>,
    /// Keep user names as sent (`auth.user_names = "exact"`).
    exact_user_names: bool,
    plugin_tokens: Arc<PluginTokens>,
    oidc: Option<Arc<Oidc>>,
    /// Web sign-in: its session cookie names people too.
    sign_in: Option<Arc<SignIn>>,
    /// Dev mode: the people the picker offers.
    dev_users: Vec<Caller>,
    /// `auth.auditors`: the groups that may ask what the plugins would decide for anyone.
    auditors: Vec<String>,
}

impl Identity {
    pub fn new(trusted_proxies: Vec<Cidr>, plugin_tokens: Arc<PluginTokens>) -> Identity {
        Identity {
            trusted_proxies,
            proxy_secret: None,
            exact_user_names: false,
            plugin_tokens,
            oidc: None,
            sign_in: None,
            dev_users: vec![],
            auditors: vec![],
        }
    }

    /// Members of `groups` are auditors (`auth.auditors`).
    pub fn with_auditors(mut self, groups: Vec<String>) -> Identity {
        self.auditors = groups;
        self
    }

    pub fn is_auditor(&self, caller: &Caller) -> bool {
        self.auditors.iter().any(|g| caller.groups.contains(g))
    }

    /// A user name someone typed, under the rule callers' names follow (`auth.user_names`).
    pub fn user_name(&self, name: &str) -> String {
        if self.exact_user_names {
            name.trim().to_string()
        } else {
            canonical_user(name)
        }
    }

    /// A trusted proxy must also send `secret` in `X-Jitgate-Proxy-Secret`.
    pub fn with_proxy_secret(mut self, secret: Option<String>) -> Identity {
        self.proxy_secret = secret;
        self
    }

    /// Keep user names as sent, case and realm included.
    pub fn with_exact_user_names(mut self, exact: bool) -> Identity {
        self.exact_user_names = exact;
        self
    }

    /// Accepts OIDC ID tokens as Bearer tokens too.
    pub fn with_oidc(mut self, oidc: Arc<Oidc>) -> Identity {
        self.oidc = Some(oidc);
        self
    }

    /// Accepts web sign-in's session cookie.
    pub fn with_sign_in(mut self, sign_in: Arc<SignIn>) -> Identity {
        self.sign_in = Some(sign_in);
        self
    }

    /// Web sign-in, when configured (`[auth.oidc] client_id`).
    pub fn sign_in(&self) -> Option<&Arc<SignIn>> {
        self.sign_in.as_ref()
    }

    /// Dev mode: anyone may act as one of `users` (`user` or `user:group,group`).
    pub fn with_dev_users(mut self, users: &[String]) -> Identity {
        self.dev_users = users.iter().map(|u| Caller::from_entry(u)).collect();
        self
    }

    /// The groups of `user` when this identity source can name them without the person
    /// present: only dev mode's configured users (headers and ID tokens come with the caller).
    pub fn known_groups(&self, user: &str) -> Option<Vec<String>> {
        self.dev_users
            .iter()
            .find(|c| c.user == user)
            .map(|c| c.groups.clone())
    }

    /// The people the dev-mode picker offers; empty unless `auth.mode = "dev"`.
    pub fn dev_users(&self) -> &[Caller] {
        &self.dev_users
    }

    /// The person behind a request: an OIDC bearer token when that mode is on, then web
    /// sign-in's session cookie, the dev picker's choice in dev mode, else the trusted headers.
    /// `peer` is None when the transport gives no address, which is never trusted.
    pub fn caller(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<Caller> {
        let mut caller = self.who(peer, headers)?;
        if !self.exact_user_names {
            caller.user = canonical_user(&caller.user);
            if caller.user.is_empty() {
                // `@EXAMPLE.COM` names no one
                return Err(ServiceError::Unauthenticated(
                    "the user name is empty once its realm is dropped".into(),
                ));
            }
        }
        Ok(caller)
    }

    fn who(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Result<Caller> {
        if let (Some(oidc), Some(token)) = (&self.oidc, bearer(headers)) {
            return oidc.caller(token);
        }
        // A bad session is never overridden by headers either: the pages send it to sign in.
        if let (Some(sign_in), Some(session)) = (&self.sign_in, cookie(headers, SESSION_COOKIE)) {
            return sign_in.session(&session);
        }
        if !self.dev_users.is_empty() {
            let picked = headers
                .get(DEV_USER_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .or_else(|| cookie(headers, DEV_USER_COOKIE));
            if let Some(name) = picked {
                return self
                    .dev_users
                    .iter()
                    .find(|c| c.user == name.trim())
                    .cloned()
                    .ok_or_else(|| {
                        ServiceError::Unauthenticated(format!(
                            "dev mode: `{}` is not one of the configured users (auth.dev.users)",
                            name.trim()
                        ))
                    });
            }
        }
        let Some(user) = headers.get(USER_HEADER) else {
            if self.oidc.is_some() {
                return Err(ServiceError::Unauthenticated(format!(
                    "not signed in: {}send `Authorization: Bearer <ID token>` (JITGATE_TOKEN for \
                     the CLI)",
                    if self.sign_in.is_some() {
                        "sign in on the web pages (/auth/signin), or "
                    } else {
                        ""
                    }
                )));
            }
            if !self.dev_users.is_empty() {
                return Err(ServiceError::Unauthenticated(
                    "dev mode: pick a user first (the picker on any page, or the \
                     X-Jitgate-Dev-User header)"
                        .into(),
                ));
            }
            if bearer(headers).is_some() {
                return Err(ServiceError::Unauthenticated(
                    "bearer tokens are not accepted for people yet: this service uses \
                     auth.mode = \"trusted-header\" (sign in through the SSO proxy, or use \
                     `jitgate --as USER` from a trusted address)"
                        .into(),
                ));
            }
            return Err(ServiceError::Unauthenticated(
                "not signed in: no X-Forwarded-User header (sign in through the SSO proxy, or \
                 use `jitgate --as USER` from a trusted address)"
                    .into(),
            ));
        };
        let trusted = peer.is_some_and(|ip| self.trusted_proxies.iter().any(|c| c.contains(ip)));
        if !trusted {
            let from = peer
                .map(|p| p.to_string())
                .unwrap_or_else(|| "an unknown address".into());
            return Err(ServiceError::Unauthenticated(format!(
                "X-Forwarded-User is accepted only from a trusted proxy (auth.trusted_proxies), \
                 not from {from}"
            )));
        }
        if let Some(secret) = &self.proxy_secret {
            let sent = headers
                .get(PROXY_SECRET_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_eq(sent, secret) {
                return Err(ServiceError::Unauthenticated(
                    "X-Forwarded-User is accepted only with the proxy's secret \
                     (X-Jitgate-Proxy-Secret, auth.proxy_secret_file)"
                        .into(),
                ));
            }
        }
        let user = user
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                ServiceError::Unauthenticated("X-Forwarded-User is empty or not text".into())
            })?;
        let groups = match headers.get(GROUPS_HEADER) {
            None => vec![],
            Some(v) => v
                .to_str()
                .map_err(|_| ServiceError::BadInput("X-Forwarded-Groups is not text".into()))?
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect(),
        };
        Ok(Caller {
            user: user.to_string(),
            groups,
        })
    }

    /// What the plugin token the request carries as a Bearer token may act for.
    pub fn check_plugin(&self, headers: &HeaderMap) -> Result<Scope> {
        let Some(token) = bearer(headers) else {
            return Err(ServiceError::Unauthenticated(
                "a plugin token is required: send `Authorization: Bearer <token>` \
                 (jitgate.service.token.file in the plugin's config)"
                    .into(),
            ));
        };
        self.plugin_tokens
            .check(token)
            .ok_or_else(|| ServiceError::Unauthenticated("the plugin token is not valid".into()))
    }
}

/// The value of cookie `name`, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether a request a browser may have sent comes from this service's own pages: no `Origin`
/// header (not a browser's cross-site request), or one naming the host the request was sent to.
pub fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    use axum::http::header;
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn identity() -> Identity {
        let proxies = ["127.0.0.1/32", "::1/128", "10.1.0.0/16"].map(|c| Cidr::parse(c).unwrap());
        let tokens = Arc::new(PluginTokens::fixed(&["secret-token"]));
        Identity::new(proxies.to_vec(), tokens)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn address_blocks_match_on_prefix_bits() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/12")
            .unwrap()
            .contains("10.15.255.255".parse().unwrap()));
        assert!(!Cidr::parse("10.0.0.0/12")
            .unwrap()
            .contains("10.16.0.0".parse().unwrap()));
        assert!(Cidr::parse("127.0.0.1")
            .unwrap()
            .contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("localhost").is_err());
    }

    /// The name rule itself is `caller::canonical_user`'s (tested there).
    #[test]
    fn a_user_name_that_is_only_a_realm_names_no_one() {
        let id = Identity::new(
            vec![Cidr::parse("127.0.0.1/32").unwrap()],
            Arc::new(PluginTokens::fixed(&[])),
        );
        let mut h = HeaderMap::new();
        h.insert(USER_HEADER, "@EXAMPLE.COM".parse().unwrap());
        let err = id
            .caller(Some("127.0.0.1".parse().unwrap()), &h)
            .unwrap_err();
        assert_eq!(err.status(), 401, "{err}");
    }

    #[test]
    fn trusted_headers_give_user_and_groups() {
        let h = headers(&[
            (USER_HEADER, "alice"),
            (GROUPS_HEADER, "sales-owners, ops ,"),
        ]);
        let c = identity()
            .caller(Some("127.0.0.1".parse().unwrap()), &h)
            .unwrap();
        assert_eq!(
            c,
            Caller {
                user: "alice".into(),
                groups: vec!["sales-owners".into(), "ops".into()]
            }
        );
    }

    #[test]
    fn trusted_headers_from_an_untrusted_peer_are_refused() {
        let h = headers(&[(USER_HEADER, "alice")]);
        let err = identity()
            .caller(Some("192.0.2.7".parse().unwrap()), &h)
            .unwrap_err();
        assert_eq!(err.status(), 401);
        assert!(err.message().contains("192.0.2.7"), "{err}");
        assert!(identity().caller(None, &h).is_err());
    }

    #[test]
    fn missing_user_header_is_unauthenticated() {
        let err = identity()
            .caller(Some("127.0.0.1".parse().unwrap()), &HeaderMap::new())
            .unwrap_err();
        assert_eq!(err.status(), 401);
        let h = headers(&[("authorization", "Bearer eyJ...")]);
        let err = identity()
            .caller(Some("127.0.0.1".parse().unwrap()), &h)
            .unwrap_err();
        assert!(err.message().contains("trusted-header"), "{err}");
    }

    #[test]
    fn plugin_token_must_match_exactly() {
        let id = identity();
        assert!(id
            .check_plugin(&headers(&[("authorization", "Bearer secret-token")]))
            .is_ok());
        assert!(id
            .check_plugin(&headers(&[("authorization", "bearer secret-token")]))
            .is_ok());
        assert!(id
            .check_plugin(&headers(&[("authorization", "Bearer secret-toke")]))
            .is_err());
        assert!(id
            .check_plugin(&headers(&[("authorization", "Bearer secret-token2")]))
            .is_err());
        assert!(id.check_plugin(&HeaderMap::new()).is_err());
    }

    #[test]
    fn oidc_bearer_tokens_name_the_caller_and_headers_still_need_a_trusted_peer() {
        use crate::oidc::tests::{claims, settings, token_with, KEY};
        let id = identity().with_oidc(Arc::new(Oidc::load(settings()).unwrap()));
        let token = token_with(KEY, "test-key-1", claims("bob", &["sales-owners"]));
        let auth = format!("Bearer {token}");
        let c = id
            .caller(
                Some("192.0.2.7".parse().unwrap()),
                &headers(&[("authorization", &auth)]),
            )
            .unwrap();
        assert_eq!(
            (c.user.as_str(), c.groups.clone()),
            ("bob", vec!["sales-owners".to_string()])
        );
        // A token wins over headers; a bad token is never overridden by them.
        let h = headers(&[("authorization", "Bearer junk"), (USER_HEADER, "alice")]);
        assert_eq!(
            id.caller(Some("127.0.0.1".parse().unwrap()), &h)
                .unwrap_err()
                .status(),
            401
        );
        let h = headers(&[(USER_HEADER, "alice")]);
        assert!(id.caller(Some("192.0.2.7".parse().unwrap()), &h).is_err());
        assert_eq!(
            id.caller(Some("127.0.0.1".parse().unwrap()), &h)
                .unwrap()
                .user,
            "alice"
        );
        let err = id
            .caller(Some("192.0.2.7".parse().unwrap()), &HeaderMap::new())
            .unwrap_err();
        assert!(err.message().contains("Bearer <ID token>"), "{err}");
    }

    #[test]
    fn dev_mode_picks_only_configured_users() {
        let id = identity().with_dev_users(&["alice".into(), "bob:sales-owners, ops".into()]);
        let anywhere = Some("192.0.2.7".parse().unwrap());
        let c = id
            .caller(
                anywhere,
                &headers(&[("cookie", "x=1; jitgate_dev_user=bob")]),
            )
            .unwrap();
        assert_eq!(c.groups, ["sales-owners", "ops"]);
        assert_eq!(
            id.caller(anywhere, &headers(&[(DEV_USER_HEADER, "alice")]))
                .unwrap()
                .user,
            "alice"
        );
        let err = id
            .caller(anywhere, &headers(&[(DEV_USER_HEADER, "mallory")]))
            .unwrap_err();
        assert!(
            err.message().contains("not one of the configured users"),
            "{err}"
        );
        assert!(id
            .caller(anywhere, &HeaderMap::new())
            .unwrap_err()
            .message()
            .contains("pick a user"));
        // Without dev mode the picker means nothing.
        assert!(identity()
            .caller(anywhere, &headers(&[(DEV_USER_HEADER, "alice")]))
            .is_err());
    }
}
