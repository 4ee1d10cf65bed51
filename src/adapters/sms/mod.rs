//! SMS providers behind one trait: Twilio (Messages API, or Verify API), Modica, a generic
//! HTTP webhook (Nhost Auth 0.52's), and a development provider that only logs (and may
//! write each message to a file). The services never see a provider's HTTP API.

mod dev;
mod generic;
mod modica;
mod twilio;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::config::{Config, SmsProvider as ProviderKind};
use crate::tls::Tls;

pub use dev::DevSms;
pub use generic::{GenericSettings, GenericSms};
pub use modica::ModicaSms;
pub use twilio::{TwilioMessages, TwilioVerify};

/// Upstream's client timeout for Modica; used for every provider but the generic one
/// (`AUTH_SMS_GENERIC_TIMEOUT`).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A sign-in code to deliver.
pub struct CodeMessage<'a> {
    /// E.164 number.
    pub to: &'a str,
    /// The rendered `signin-passwordless-sms` text (contains the code).
    pub body: &'a str,
    /// The user's locale (providers that write their own text use it).
    pub locale: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    #[error("{provider}: request failed: {cause}")]
    Transport {
        provider: &'static str,
        cause: String,
    },
    #[error("{provider}: answered HTTP {status}: {body}")]
    Rejected {
        provider: &'static str,
        status: u16,
        body: String,
    },
    #[error("{0} does not check codes itself")]
    Unsupported(&'static str),
}

pub trait SmsSender: Send + Sync {
    fn name(&self) -> &'static str;

    /// True when the provider makes and checks the codes itself (Twilio Verify): we then
    /// keep no code of our own.
    fn checks_codes(&self) -> bool {
        false
    }

    /// Delivers a sign-in code. A provider that checks codes itself starts a
    /// verification instead and ignores `body`.
    fn send_code<'a>(&'a self, msg: CodeMessage<'a>) -> BoxFuture<'a, Result<(), SmsError>>;

    /// Asks the provider whether `code` is the one it sent to `to` (only when
    /// [`checks_codes`](Self::checks_codes)).
    fn check_code<'a>(
        &'a self,
        _to: &'a str,
        _code: &'a str,
    ) -> BoxFuture<'a, Result<bool, SmsError>> {
        let name = self.name();
        Box::pin(async move { Err(SmsError::Unsupported(name)) })
    }
}

pub type Sms = Arc<dyn SmsSender>;

#[derive(Debug, thiserror::Error)]
#[error("SMS provider {provider}: missing {missing}")]
pub struct SmsConfigError {
    pub provider: &'static str,
    pub missing: String,
}

fn require(provider: &'static str, settings: &[(&str, &str)]) -> Result<(), SmsConfigError> {
    let missing: Vec<&str> = settings
        .iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(SmsConfigError {
            provider,
            missing: missing.join(", "),
        })
    }
}

fn http_client(provider: &'static str, tls: &Tls) -> Result<reqwest::Client, SmsConfigError> {
    tls.http_client()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| SmsConfigError {
            provider,
            missing: format!("a usable HTTP client ({e})"),
        })
}

/// The provider `AUTH_SMS_PROVIDER` selects, with its settings checked.
pub fn from_config(config: &Config, tls: &Tls) -> Result<Sms, SmsConfigError> {
    match config.sms.sms_provider {
        ProviderKind::Dev => Ok(Arc::new(DevSms {
            output_dir: Some(config.sms.sms_dev_output_dir.trim())
                .filter(|d| !d.is_empty())
                .map(std::path::PathBuf::from),
        })),
        ProviderKind::Generic => Ok(Arc::new(GenericSms::new(
            GenericSettings {
                url: &config.sms.sms_generic_url,
                content_type: &config.sms.sms_generic_content_type,
                headers: &config.sms.sms_generic_headers,
                timeout: config.sms.sms_generic_timeout,
                body_template: &config.sms.sms_generic_body_template,
            },
            tls,
        )?)),
        ProviderKind::Modica => {
            require(
                "modica",
                &[
                    ("AUTH_SMS_MODICA_USERNAME", &config.sms.sms_modica_username),
                    (
                        "AUTH_SMS_MODICA_PASSWORD",
                        config.sms.sms_modica_password.expose(),
                    ),
                ],
            )?;
            Ok(Arc::new(ModicaSms {
                http: http_client("modica", tls)?,
                base_url: config
                    .sms
                    .sms_modica_api_url
                    .trim_end_matches('/')
                    .to_owned(),
                username: config.sms.sms_modica_username.clone(),
                password: config.sms.sms_modica_password.clone(),
            }))
        }
        ProviderKind::Twilio => {
            require(
                "twilio",
                &[
                    (
                        "AUTH_SMS_TWILIO_ACCOUNT_SID",
                        &config.sms.sms_twilio_account_sid,
                    ),
                    (
                        "AUTH_SMS_TWILIO_AUTH_TOKEN",
                        config.sms.sms_twilio_auth_token.expose(),
                    ),
                    (
                        "AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID",
                        &config.sms.sms_twilio_messaging_service_id,
                    ),
                ],
            )?;
            let http = http_client("twilio", tls)?;
            if twilio::uses_verify(
                &config.sms.sms_twilio_account_sid,
                &config.sms.sms_twilio_messaging_service_id,
            ) {
                Ok(Arc::new(TwilioVerify {
                    http,
                    base_url: config
                        .sms
                        .sms_twilio_verify_api_url
                        .trim_end_matches('/')
                        .to_owned(),
                    account_sid: config.sms.sms_twilio_account_sid.clone(),
                    auth_token: config.sms.sms_twilio_auth_token.clone(),
                    service_sid: config.sms.sms_twilio_messaging_service_id.clone(),
                }))
            } else {
                Ok(Arc::new(TwilioMessages {
                    http,
                    base_url: config
                        .sms
                        .sms_twilio_api_url
                        .trim_end_matches('/')
                        .to_owned(),
                    account_sid: config.sms.sms_twilio_account_sid.clone(),
                    auth_token: config.sms.sms_twilio_auth_token.clone(),
                    from: config.sms.sms_twilio_messaging_service_id.clone(),
                }))
            }
        }
    }
}

/// Reads a provider's answer: a 2xx status (or exactly `expected`) is success.
async fn rejected(provider: &'static str, res: reqwest::Response) -> SmsError {
    let status = res.status().as_u16();
    let mut body = res.text().await.unwrap_or_default();
    body.truncate(500);
    SmsError::Rejected {
        provider,
        status,
        body,
    }
}

fn transport(provider: &'static str, e: reqwest::Error) -> SmsError {
    SmsError::Transport {
        provider,
        cause: e.to_string(),
    }
}
