//! Have I Been Pwned, k-anonymity range API (SPEC §8.1.6): only the first five hex
//! digits of the password's SHA-1 leave the service, and `Add-Padding: true` asks for
//! padded answers (padding lines have a count of 0) so the answer's size tells an
//! observer nothing either. Upstream's retry rule is kept: on 429 wait 3 s, at most 3
//! retries.

use std::time::Duration;

use sha1::{Digest, Sha1};

/// Time limit of one range request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const RATE_LIMITED_WAIT: Duration = Duration::from_secs(3);
const MAX_RETRIES: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum HibpError {
    #[error("HIBP range request failed: {0}")]
    Request(String),
    #[error("HIBP answered HTTP {0}")]
    Status(u16),
}

/// `(prefix, suffix)`: upper-case hex SHA-1 split after five digits.
pub fn hash_parts(password: &str) -> (String, String) {
    let hex = hex::encode_upper(Sha1::digest(password.as_bytes()));
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_owned(), suffix.to_owned())
}

/// Whether the password appears in the breach corpus.
pub async fn is_breached(
    client: &reqwest::Client,
    base_url: &str,
    password: &str,
) -> Result<bool, HibpError> {
    let (prefix, suffix) = hash_parts(password);
    let url = format!("{}/range/{prefix}", base_url.trim_end_matches('/'));
    let mut retries = 0;
    let body = loop {
        let res = client
            .get(&url)
            .header("Add-Padding", "true")
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| HibpError::Request(e.to_string()))?;
        match res.status().as_u16() {
            200 => {
                break res
                    .text()
                    .await
                    .map_err(|e| HibpError::Request(e.to_string()))?;
            }
            429 if retries < MAX_RETRIES => {
                retries += 1;
                tokio::time::sleep(RATE_LIMITED_WAIT).await;
            }
            status => return Err(HibpError::Status(status)),
        }
    };
    Ok(contains_suffix(&body, &suffix))
}

/// Lines are `SUFFIX:COUNT`; padding lines (count 0) never match.
fn contains_suffix(body: &str, suffix: &str) -> bool {
    body.lines().any(|line| {
        let Some((candidate, count)) = line.trim().split_once(':') else {
            return false;
        };
        candidate.eq_ignore_ascii_case(suffix) && count.trim().parse::<u64>().is_ok_and(|n| n > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hibp_hash_parts_are_upper_case_sha1() {
        let (prefix, suffix) = hash_parts("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
    }

    #[test]
    fn hibp_padding_lines_do_not_match() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n";
        assert!(contains_suffix(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        assert!(contains_suffix(
            &body.to_lowercase(),
            "1E4C9B93F3F0682250B6CF8331B7EE68FD8"
        ));
        assert!(!contains_suffix(
            body,
            "0018A45C4D1DEF81644B54AB7F969B88D65"
        ));
        assert!(!contains_suffix(body, "FFFFF"));
    }
}
