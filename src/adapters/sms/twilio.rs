//! Twilio, two ways (chosen at start-up):
//! - Messages API: `POST <api>/2010-04-01/Accounts/{sid}/Messages.json` with
//!   `To`, `From` (the messaging service) and `Body`; we make and check the code.
//! - Verify API: `POST <verify>/v2/Services/{service}/Verifications` (`To`, `Channel=sms`,
//!   `Locale`) and `…/VerificationCheck` (`To`, `Code`); Twilio makes and checks the code.
//!
//! Both use HTTP basic auth with the account SID and auth token.

use futures_util::future::BoxFuture;
use reqwest::StatusCode;
use serde::Deserialize;

use crate::config::Secret;

use super::{CodeMessage, SmsError, SmsSender, rejected, transport};

/// Upstream selects Verify when the *account* SID starts with `VA`. A Verify service SID
/// (`VA…`) given as the messaging service selects it too: as a `From` it could never work.
pub(super) fn uses_verify(account_sid: &str, messaging_service_id: &str) -> bool {
    account_sid.starts_with("VA") || messaging_service_id.starts_with("VA")
}

pub struct TwilioMessages {
    pub(super) http: reqwest::Client,
    pub(super) base_url: String,
    pub(super) account_sid: String,
    pub(super) auth_token: Secret,
    pub(super) from: String,
}

impl SmsSender for TwilioMessages {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send_code<'a>(&'a self, msg: CodeMessage<'a>) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let res = self
                .http
                .post(format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    self.base_url, self.account_sid
                ))
                .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                .form(&[("To", msg.to), ("From", &self.from), ("Body", msg.body)])
                .send()
                .await
                .map_err(|e| transport("twilio", e))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(rejected("twilio", res).await)
            }
        })
    }
}

pub struct TwilioVerify {
    pub(super) http: reqwest::Client,
    pub(super) base_url: String,
    pub(super) account_sid: String,
    pub(super) auth_token: Secret,
    pub(super) service_sid: String,
}

#[derive(Deserialize)]
struct VerificationCheck {
    status: Option<String>,
}

impl SmsSender for TwilioVerify {
    fn name(&self) -> &'static str {
        "twilio-verify"
    }

    fn checks_codes(&self) -> bool {
        true
    }

    fn send_code<'a>(&'a self, msg: CodeMessage<'a>) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let res = self
                .http
                .post(format!(
                    "{}/v2/Services/{}/Verifications",
                    self.base_url, self.service_sid
                ))
                .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                .form(&[("To", msg.to), ("Channel", "sms"), ("Locale", msg.locale)])
                .send()
                .await
                .map_err(|e| transport("twilio-verify", e))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(rejected("twilio-verify", res).await)
            }
        })
    }

    fn check_code<'a>(
        &'a self,
        to: &'a str,
        code: &'a str,
    ) -> BoxFuture<'a, Result<bool, SmsError>> {
        Box::pin(async move {
            let res = self
                .http
                .post(format!(
                    "{}/v2/Services/{}/VerificationCheck",
                    self.base_url, self.service_sid
                ))
                .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                .form(&[("To", to), ("Code", code)])
                .send()
                .await
                .map_err(|e| transport("twilio-verify", e))?;
            // 404: no pending verification (expired, already approved, never started).
            if res.status() == StatusCode::NOT_FOUND {
                return Ok(false);
            }
            if !res.status().is_success() {
                return Err(rejected("twilio-verify", res).await);
            }
            let check: VerificationCheck = res
                .json()
                .await
                .map_err(|e| transport("twilio-verify", e))?;
            Ok(check.status.as_deref() == Some("approved"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::uses_verify;

    #[test]
    fn verify_is_chosen_by_a_va_sid() {
        assert!(!uses_verify("AC123", "MG123"));
        assert!(!uses_verify("AC123", "+15005550006"));
        assert!(uses_verify("VA123", "MG123"), "upstream's rule");
        assert!(uses_verify("AC123", "VA123"));
    }
}
