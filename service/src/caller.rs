//! The person acting on the service, as everything past `identity` sees them, and the one rule
//! their names follow. A leaf: `identity`, `oidc` and `tokens` all name people, none of them
//! through another.

/// A person acting on the service: their user name and the groups that make them an approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: String,
    pub groups: Vec<String>,
}

impl Caller {
    /// A person as a config names them: `user` or `user:group,group` (`auth.dev.users`,
    /// `[slack] users`).
    pub fn from_entry(entry: &str) -> Caller {
        let (user, groups) = entry.split_once(':').unwrap_or((entry, ""));
        Caller {
            user: user.trim().to_string(),
            groups: groups
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(String::from)
                .collect(),
        }
    }
}

/// The one rule user names follow before anything compares them (self-approval, distinct
/// approvers, grants the plugins match against Hadoop's short names): lower case, and no
/// Kerberos realm or host part (`Alice@EXAMPLE.COM`, `alice/host@EXAMPLE.COM` and `alice` are
/// one person). Only a realm in Kerberos's upper case is dropped: an e-mail address
/// (`alice@evil.example`, an OIDC `email` claim) names someone else than `alice`, and keeps
/// its domain.
pub fn canonical_user(name: &str) -> String {
    let name = name.trim();
    let short = match name.rsplit_once('@') {
        Some((principal, realm))
            if !realm.is_empty() && !realm.chars().any(|c| c.is_lowercase()) =>
        {
            principal.split('/').next().unwrap_or(principal)
        }
        _ => name,
    };
    short.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_lose_case_realm_and_host() {
        assert_eq!(canonical_user("Alice"), "alice");
        assert_eq!(canonical_user("ALICE@EXAMPLE.COM"), "alice");
        assert_eq!(canonical_user("alice/gw.example@EXAMPLE.COM"), "alice");
        assert_eq!(canonical_user(" bob "), "bob");
        // an e-mail address is not a Kerberos principal: another domain is another person
        assert_eq!(canonical_user("alice@evil.example"), "alice@evil.example");
        assert_eq!(canonical_user("Alice@Corp.Example"), "alice@corp.example");
        assert_eq!(canonical_user("@EXAMPLE.COM"), "");
    }
}
