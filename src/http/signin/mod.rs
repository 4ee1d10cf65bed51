//! `POST /signin/*`.
pub mod anonymous;
pub mod email_password;
pub mod idtoken;
pub mod mfa_totp;
pub mod passwordless_sms;
pub mod pat;
pub mod provider;
