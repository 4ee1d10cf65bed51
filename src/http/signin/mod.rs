//! `POST /signin/*`.
pub mod anonymous;
pub mod email_password;
pub mod mfa_totp;
pub mod otp_email;
pub mod passwordless_email;
pub mod passwordless_sms;
pub mod pat;
