//! Delivery of audit events to an operator's webhook (`AUTH_AUDIT_WEBHOOK_URL`): one
//! JSON POST per event, signed with HMAC-SHA256 when `AUTH_AUDIT_WEBHOOK_SECRET` is set.

use std::time::Duration;

/// The header carrying the signature of the body: `sha256=<lowercase hex>`.
pub const SIGNATURE_HEADER: &str = "x-hasura-auth-signature";

/// How long one attempt may take (connect, send, answer).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), body);
    format!("sha256={}", hex::encode(tag.as_ref()))
}

/// One attempt: `Ok` when the receiver answered 2xx.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&[u8]>,
    body: &str,
) -> Result<(), String> {
    let mut req = client
        .post(url)
        .timeout(ATTEMPT_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_owned());
    if let Some(secret) = secret {
        req = req.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("status {}", res.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
