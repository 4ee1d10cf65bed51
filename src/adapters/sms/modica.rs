//! Modica: `POST <base>/rest/sms/v2/messages`, basic auth, JSON
//! `{"destination","content"}`; only `202 Accepted` means sent (as upstream).

use futures_util::future::BoxFuture;
use reqwest::StatusCode;

use crate::config::Secret;

use super::{CodeMessage, SmsError, SmsSender, rejected, transport};

pub struct ModicaSms {
    pub(super) http: reqwest::Client,
    pub(super) base_url: String,
    pub(super) username: String,
    pub(super) password: Secret,
}

impl SmsSender for ModicaSms {
    fn name(&self) -> &'static str {
        "modica"
    }

    fn send_code<'a>(&'a self, msg: CodeMessage<'a>) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let res = self
                .http
                .post(format!("{}/rest/sms/v2/messages", self.base_url))
                .basic_auth(&self.username, Some(self.password.expose()))
                .json(&serde_json::json!({"destination": msg.to, "content": msg.body}))
                .send()
                .await
                .map_err(|e| transport("modica", e))?;
            if res.status() == StatusCode::ACCEPTED {
                Ok(())
            } else {
                Err(rejected("modica", res).await)
            }
        })
    }
}
