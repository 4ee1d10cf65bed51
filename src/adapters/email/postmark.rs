//! Delivery through Postmark's HTTP API (`AUTH_SMTP_HOST=postmark`), as upstream does it:
//! one `POST /email/withTemplate` per email, naming a template stored at Postmark
//! (`<locale>.<template>`) and passing upstream's template variables as its model. No
//! local template is rendered and there is no locale fallback.

use std::time::Duration;

use serde::Serialize;

use super::{MailError, TemplateName, TemplateVars};
use crate::config::Secret;
use crate::tls::Tls;

/// Time-outs: connecting, and the whole request.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Postmark's production API.
pub const DEFAULT_API_URL: &str = "https://api.postmarkapp.com";

pub struct PostmarkMailer {
    client: reqwest::Client,
    endpoint: url::Url,
    server_token: Secret,
    sender: String,
}

impl std::fmt::Debug for PostmarkMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostmarkMailer")
            .field("endpoint", &self.endpoint.as_str())
            .field("server_token", &self.server_token)
            .field("sender", &self.sender)
            .finish()
    }
}

/// The request body, with Postmark's field names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WithTemplate<'a> {
    template_alias: String,
    template_model: Model<'a>,
    from: &'a str,
    to: &'a str,
}

/// Upstream's template variables (`TemplateData`), with their camelCase names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Model<'a> {
    link: &'a str,
    display_name: &'a str,
    email: &'a str,
    new_email: &'a str,
    ticket: &'a str,
    redirect_to: &'a str,
    locale: &'a str,
    server_url: &'a str,
    client_url: &'a str,
}

impl PostmarkMailer {
    /// `api_url` is the API's base URL (`AUTH_SMTP_POSTMARK_API_URL`); the server token is
    /// `AUTH_SMTP_PASS`, as upstream.
    pub fn new(
        api_url: &str,
        server_token: &Secret,
        sender: &str,
        tls: &Tls,
    ) -> Result<Self, MailError> {
        if server_token.is_empty() {
            return Err(MailError::Config(
                "AUTH_SMTP_HOST=postmark needs the Postmark server token in AUTH_SMTP_PASS".into(),
            ));
        }
        let base = url::Url::parse(api_url.trim()).map_err(|e| {
            MailError::Config(format!(
                "AUTH_SMTP_POSTMARK_API_URL {api_url:?} is not a URL: {e}"
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(MailError::Config(format!(
                "AUTH_SMTP_POSTMARK_API_URL {api_url:?} must be an http(s) URL"
            )));
        }
        let endpoint = url::Url::parse(&format!(
            "{}/email/withTemplate",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| MailError::Config(format!("AUTH_SMTP_POSTMARK_API_URL: {e}")))?;
        let client = tls
            .http_client()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| MailError::Config(format!("HTTP client: {e}")))?;
        Ok(PostmarkMailer {
            client,
            endpoint,
            server_token: server_token.clone(),
            sender: sender.to_owned(),
        })
    }

    /// Sends `template` in `locale` to `to`; anything but 200 is a failure.
    pub async fn send_template(
        &self,
        to: &str,
        template: TemplateName,
        locale: &str,
        vars: &TemplateVars,
    ) -> Result<(), MailError> {
        let body = WithTemplate {
            template_alias: format!("{locale}.{}", template.as_str()),
            template_model: Model {
                link: &vars.link,
                display_name: &vars.display_name,
                email: &vars.email,
                new_email: &vars.new_email,
                ticket: &vars.ticket,
                redirect_to: &vars.redirect_to,
                locale,
                server_url: &vars.server_url,
                client_url: &vars.client_url,
            },
            from: &self.sender,
            to,
        };
        let res = self
            .client
            .post(self.endpoint.clone())
            .header("Accept", "application/json")
            .header("X-Postmark-Server-Token", self.server_token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| MailError::Postmark(format!("request failed: {e}")))?;
        let status = res.status();
        if status == reqwest::StatusCode::OK {
            return Ok(());
        }
        // Postmark explains failures as {"ErrorCode":…,"Message":…}; keep it for the log.
        let text = res.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(300).collect();
        Err(MailError::Postmark(format!(
            "HTTP {}: {excerpt}",
            status.as_u16()
        )))
    }
}
