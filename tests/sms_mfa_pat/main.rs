//! Passwordless SMS, TOTP MFA, personal access tokens and the elevated-claim policy.
//! Each test starts its own server on a fresh database; SMS providers are local HTTP
//! servers speaking the Twilio and Modica APIs, or taking the generic provider's webhook
//! (`provider.rs`).

#[path = "../support/mod.rs"]
mod support;

mod common;
mod elevation;
mod generic_sms;
mod mfa;
mod mfa_encryption;
mod pat;
mod phone_change;
mod provider;
mod sms;
mod sms_deanonymize;
mod sms_staging;
