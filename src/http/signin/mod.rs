//! `POST /signin/*`.
pub mod anonymous;
pub mod email_password;
pub mod otp_email;
pub mod passwordless_email;
