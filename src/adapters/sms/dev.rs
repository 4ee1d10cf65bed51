//! `AUTH_SMS_PROVIDER=dev`: nothing is sent; the message (with its code) is logged, and with
//! `AUTH_SMS_DEV_OUTPUT_DIR` also written to `<dir>/<phone>.txt` (replacing the previous
//! message to that number), which is how an end-to-end suite reads the codes.

use std::path::PathBuf;

use futures_util::future::BoxFuture;

use super::{CodeMessage, SmsError, SmsSender};

#[derive(Default)]
pub struct DevSms {
    /// Where each message is written, when set.
    pub(super) output_dir: Option<PathBuf>,
}

/// The file name for a number: the number is user input, so only `+`, ASCII digits and
/// (for anything else) `_` appear, at most 64 of them: never a path separator, never `..`.
pub(super) fn file_name(phone: &str) -> String {
    let safe: String = phone
        .chars()
        .take(64)
        .map(|c| {
            if c == '+' || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() {
        "_".to_owned()
    } else {
        safe
    };
    format!("{safe}.txt")
}

impl SmsSender for DevSms {
    fn name(&self) -> &'static str {
        "dev"
    }

    fn send_code<'a>(&'a self, msg: CodeMessage<'a>) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            tracing::info!(to = %msg.to, body = %msg.body, "Dev SMS sent");
            let Some(dir) = &self.output_dir else {
                return Ok(());
            };
            let failed = |e: std::io::Error| SmsError::Transport {
                provider: "dev",
                cause: format!("writing to {}: {e}", dir.display()),
            };
            tokio::fs::create_dir_all(dir).await.map_err(failed)?;
            tokio::fs::write(dir.join(file_name(msg.to)), msg.body)
                .await
                .map_err(failed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn file_names_cannot_leave_the_directory() {
        assert_eq!(file_name("+33612345678"), "+33612345678.txt");
        assert_eq!(
            file_name("../../etc/passwd"),
            format!("{}.txt", "_".repeat(16))
        );
        assert_eq!(file_name("+1/../x"), "+1_____.txt");
        assert_eq!(file_name(""), "_.txt");
        assert_eq!(file_name(&"9".repeat(200)).len(), 64 + 4);
    }
}
