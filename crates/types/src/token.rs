//! Short-lived capability tokens the orchestrator hands to arms.
//!
//! Format: `v1.<base64url(claims json)>.<base64url(hmac-sha256)>`. The MAC
//! covers the version tag and the encoded claims, so neither can be swapped.
//! Verification compares MACs in constant time (`hmac::Mac::verify_slice`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION_TAG: &str = "v1";

/// Capabilities an executor action may need.
/// The header a call that has no JSON body carries its token in (the
/// executor's workspace calls).
pub const HEADER: &str = "x-capability-token";

pub mod caps {
    pub const SHELL_READ: &str = "shell_read";
    pub const SHELL_WRITE: &str = "shell_write";
    pub const PYTHON_EXEC: &str = "python_exec";
    pub const HTTP_GET: &str = "http_get";
}

/// What a token grants.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Claims {
    /// Who the token was issued to (a task id, usually).
    pub sub: String,
    /// Granted capabilities.
    pub caps: Vec<String>,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// The hosts an `http_get` may reach, when the task narrowed the
    /// executor's list; absent means the executor's own list applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// The one task workspace the bearer may run in, read and remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ws: Option<String>,
}

impl Claims {
    pub fn allows(&self, capability: &str) -> bool {
        self.caps.iter().any(|c| c == capability)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("capability token is malformed")]
    Malformed,
    #[error("capability token signature is invalid")]
    BadSignature,
    #[error("capability token expired")]
    Expired,
    #[error("capability token secret is empty")]
    EmptySecret,
}

/// Signs `claims` with `secret`.
pub fn issue(secret: &[u8], claims: &Claims) -> Result<String, TokenError> {
    if secret.is_empty() {
        return Err(TokenError::EmptySecret);
    }
    let json = serde_json::to_vec(claims).map_err(|_| TokenError::Malformed)?;
    let body = URL_SAFE_NO_PAD.encode(json);
    let sig = URL_SAFE_NO_PAD.encode(mac(secret, &body)?.finalize().into_bytes());
    Ok(format!("{VERSION_TAG}.{body}.{sig}"))
}

/// A configured secret as key bytes; an empty setting means tokens are off.
/// Every component reads its `token_secret` setting through this.
pub fn secret(configured: &str) -> Option<Vec<u8>> {
    (!configured.is_empty()).then(|| configured.as_bytes().to_vec())
}

/// Issues a token for `sub` with `caps`, valid for `ttl_seconds` from now.
pub fn issue_for(
    secret: &[u8],
    sub: &str,
    caps: &[&str],
    ttl_seconds: i64,
) -> Result<String, TokenError> {
    issue_scoped(secret, sub, caps, None, ttl_seconds)
}

/// As [`issue_for`], with the hosts an `http_get` may reach narrowed to
/// `hosts` when given.
pub fn issue_scoped(
    secret: &[u8],
    sub: &str,
    caps: &[&str],
    hosts: Option<Vec<String>>,
    ttl_seconds: i64,
) -> Result<String, TokenError> {
    let now = chrono::Utc::now().timestamp();
    issue(
        secret,
        &Claims {
            sub: sub.to_string(),
            caps: caps.iter().map(|c| c.to_string()).collect(),
            iat: now,
            exp: now + ttl_seconds,
            hosts,
            ws: None,
        },
    )
}

/// Checks the signature and expiry of `token` at time `now` (Unix seconds).
pub fn verify_at(secret: &[u8], token: &str, now: i64) -> Result<Claims, TokenError> {
    if secret.is_empty() {
        return Err(TokenError::EmptySecret);
    }
    let mut parts = token.trim().splitn(3, '.');
    let (Some(tag), Some(body), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    if tag != VERSION_TAG {
        return Err(TokenError::Malformed);
    }
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    mac(secret, body)?
        .verify_slice(&sig)
        .map_err(|_| TokenError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// Checks `token` against the current time.
pub fn verify(secret: &[u8], token: &str) -> Result<Claims, TokenError> {
    verify_at(secret, token, chrono::Utc::now().timestamp())
}

fn mac(secret: &[u8], body: &str) -> Result<HmacSha256, TokenError> {
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| TokenError::EmptySecret)?;
    mac.update(VERSION_TAG.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_claims() {
        let t = issue_for(b"k", "task-1", &[caps::SHELL_READ], 60).unwrap();
        let c = verify(b"k", &t).unwrap();
        assert_eq!(c.sub, "task-1");
        assert!(c.allows(caps::SHELL_READ));
        assert!(!c.allows(caps::HTTP_GET));
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let t = issue_for(b"k", "t", &[caps::SHELL_READ], 60).unwrap();
        assert_eq!(verify(b"other", &t), Err(TokenError::BadSignature));
    }

    #[test]
    fn expired_token_is_rejected() {
        let t = issue_for(b"k", "t", &[caps::SHELL_READ], 10).unwrap();
        let later = chrono::Utc::now().timestamp() + 11;
        assert_eq!(verify_at(b"k", &t, later), Err(TokenError::Expired));
    }

    #[test]
    fn tampered_claims_are_rejected() {
        let t = issue_for(b"k", "t", &[caps::SHELL_READ], 60).unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                sub: "t".into(),
                caps: vec![caps::SHELL_READ.into(), caps::PYTHON_EXEC.into()],
                iat: 0,
                exp: i64::MAX,
                hosts: None,
                ws: None,
            })
            .unwrap(),
        );
        let sig = t.rsplit('.').next().unwrap();
        let forged = format!("v1.{forged_claims}.{sig}");
        assert_eq!(verify(b"k", &forged), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed() {
        for bad in ["", "v1", "v1.a", "v2.a.b", "v1.!!.??"] {
            assert!(verify(b"k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_secret_cannot_issue() {
        assert_eq!(issue_for(b"", "t", &[], 60), Err(TokenError::EmptySecret));
    }
}
