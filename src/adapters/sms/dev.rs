//! `AUTH_SMS_PROVIDER=dev`: nothing is sent; the message (with its code) is logged.

use futures_util::future::BoxFuture;

use super::{CodeMessage, SmsError, SmsSender};

pub struct DevSms;

impl SmsSender for DevSms {
    fn name(&self) -> &'static str {
        "dev"
    }

    fn send_code<'a>(&'a self, msg: CodeMessage<'a>) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            tracing::info!(to = %msg.to, body = %msg.body, "Dev SMS sent");
            Ok(())
        })
    }
}
