//! Cloudflare Turnstile `siteverify` (SPEC §8.21): `POST {"secret","response"}` as JSON.
//! Unlike upstream, the body is built with a JSON encoder, so a response token cannot
//! inject fields into the request.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("turnstile verification request failed: {0}")]
pub struct TurnstileError(String);

/// The fields of Cloudflare's answer we use.
#[derive(Debug, Deserialize)]
pub struct Verdict {
    pub success: bool,
    #[serde(default)]
    pub messages: Option<Vec<String>>,
    #[serde(default, rename = "error-codes")]
    pub error_codes: Option<Vec<String>>,
}

impl Verdict {
    /// Go's `%v` of the messages list, as upstream prints it: `[a b]`.
    pub fn messages_text(&self) -> String {
        format!(
            "[{}]",
            self.messages.as_deref().unwrap_or_default().join(" ")
        )
    }
}

pub async fn verify(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    response: &str,
) -> Result<Verdict, TurnstileError> {
    let res = client
        .post(url)
        .timeout(REQUEST_TIMEOUT)
        .json(&json!({ "secret": secret, "response": response }))
        .send()
        .await
        .map_err(|e| TurnstileError(e.to_string()))?;
    let text = res
        .text()
        .await
        .map_err(|e| TurnstileError(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| TurnstileError(format!("{e}: {text}")))
}
