//! The service's Ed25519 signatures over what it sends plugins (docs/DESIGN.md, "Signed feed").
//!
//! The service signs three things, each under its own label so one can never pass for another:
//! a whole feed reply (the body's bytes, which carry the follower's nonce, so a recorded reply
//! cannot be played back), the zone list, and each grant. The reply's signature is checked as it
//! arrives; the zones' and the grants' travel into the cache file, where they are all that
//! vouches for what a restarted plugin enforces before the service answers. Keys and signatures
//! are written as lower-case hex.

use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};

use crate::wire::{Feed, Grant, Zone};

const REPLY: &[u8] = b"jitgate feed reply 1\n";
const ZONES: &[u8] = b"jitgate zones 1\n";
const GRANT: &[u8] = b"jitgate grant 1\n";

/// The key plugins pin (`jitgate.service.public.key`).
#[derive(Clone, Debug, PartialEq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads 64 hex digits, as `jitgate serve --print-public-key` prints them.
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let bytes: [u8; 32] = unhex(text.trim()).and_then(|b| b.try_into().ok()).ok_or(
            "a public key is 64 hex digits, as `jitgate serve --print-public-key` prints it",
        )?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "those 64 hex digits are not an Ed25519 public key".into())
    }

    pub fn reply(&self, body: &[u8], signature: Option<&str>) -> Result<(), String> {
        self.check(&[REPLY, body].concat(), signature, "the feed reply")
    }

    pub fn zones(&self, zones: &[Zone], signature: Option<&str>) -> Result<(), String> {
        self.check(&zones_message(zones), signature, "the zone list")
    }

    pub fn grant(&self, g: &Grant) -> Result<(), String> {
        let what = format!("grant {}", g.id);
        self.check(&grant_message(g), g.signature.as_deref(), &what)
    }

    fn check(&self, message: &[u8], signature: Option<&str>, what: &str) -> Result<(), String> {
        let signature = signature.ok_or_else(|| format!("{what} is not signed"))?;
        let bytes: [u8; 64] = unhex(signature)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("{what} carries a malformed signature"))?;
        self.0
            .verify(message, &Signature::from_bytes(&bytes))
            .map_err(|_| format!("{what} is not signed by the pinned service key"))
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex(self.0.as_bytes()))
    }
}

/// The service's private key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// From the 32 secret bytes (fresh ones from the OS random source for a new key).
    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn reply(&self, body: &[u8]) -> String {
        self.sign(&[REPLY, body].concat())
    }

    pub fn zones(&self, zones: &[Zone]) -> String {
        self.sign(&zones_message(zones))
    }

    pub fn grant(&self, g: &Grant) -> String {
        self.sign(&grant_message(g))
    }

    /// Signs `feed`'s zone list and each of its grants in place (as a saved snapshot holds them).
    pub fn sign_contents(&self, feed: &mut Feed) {
        feed.zones_signature = feed.zones.as_deref().map(|z| self.zones(z));
        for g in &mut feed.grants {
            g.signature = Some(self.grant(g));
        }
    }

    fn sign(&self, message: &[u8]) -> String {
        hex(&self.0.sign(message).to_bytes())
    }
}

/// What a zone list's signature covers: every field, in a fixed order (not the JSON as sent, so
/// a field a later service adds cannot change what an older plugin checks).
fn zones_message(zones: &[Zone]) -> Vec<u8> {
    let fields: Vec<_> = zones
        .iter()
        .map(|z| {
            (
                &z.name,
                &z.resources,
                &z.approvers,
                z.approvals,
                &z.actions,
                &z.max_duration,
            )
        })
        .collect();
    [
        ZONES,
        &serde_json::to_vec(&fields).expect("strings serialise"),
    ]
    .concat()
}

fn grant_message(g: &Grant) -> Vec<u8> {
    let fields = (
        &g.id,
        &g.request_id,
        &g.user,
        &g.resources,
        &g.actions,
        &g.not_before,
        &g.expires_at,
        &g.approvers,
        g.single_use,
    );
    [
        GRANT,
        &serde_json::to_vec(&fields).expect("strings serialise"),
    ]
    .concat()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            id: "g-1".into(),
            request_id: "r-1".into(),
            user: "alice".into(),
            resources: vec!["hdfs:/lake/sales".into()],
            actions: vec!["read".into()],
            not_before: "2026-12-05T10:00:00Z".into(),
            expires_at: "2026-12-05T10:15:00Z".into(),
            approvers: vec!["bob".into()],
            single_use: false,
            signature: None,
        }
    }

    #[test]
    fn each_signature_holds_only_for_what_it_signed_and_under_its_own_label() {
        let key = SigningKey::from_seed([7; 32]);
        let public = PublicKey::parse(&key.public().to_string()).unwrap();
        let mut g = grant();
        g.signature = Some(key.grant(&g));
        public.grant(&g).unwrap();
        // Any field changed, the signature no longer holds.
        let mut longer = g.clone();
        longer.expires_at = "2026-12-05T11:15:00Z".into();
        assert!(public.grant(&longer).is_err());
        let mut other = g.clone();
        other.user = "mallory".into();
        assert!(public.grant(&other).is_err());
        // Unsigned, malformed, or signed by another key.
        assert!(public.grant(&grant()).unwrap_err().contains("not signed"));
        let mut junk = g.clone();
        junk.signature = Some("zz".into());
        assert!(public.grant(&junk).unwrap_err().contains("malformed"));
        let stranger = SigningKey::from_seed([8; 32]);
        let mut forged = grant();
        forged.signature = Some(stranger.grant(&forged));
        assert!(public.grant(&forged).unwrap_err().contains("pinned"));
        // A reply's signature does not pass for the same bytes' signature under another label.
        let body = b"{\"reset\":true}";
        let sig = key.reply(body);
        public.reply(body, Some(&sig)).unwrap();
        assert!(public.reply(b"{\"reset\":false}", Some(&sig)).is_err());
        assert!(public.zones(&[], Some(&sig)).is_err());
        assert!(public.reply(body, None).is_err());
    }

    #[test]
    fn a_public_key_is_read_only_from_its_printed_form() {
        let key = SigningKey::from_seed([7; 32]);
        let text = key.public().to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(
            PublicKey::parse(&format!(" {text}\n")).unwrap(),
            key.public()
        );
        assert!(PublicKey::parse(&text[..62]).is_err());
        assert!(PublicKey::parse("not a key").is_err());
        assert_eq!(
            SigningKey::from_seed(key.seed()).public(),
            key.public(),
            "the seed is the key"
        );
    }
}
