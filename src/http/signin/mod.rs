//! `POST /signin/*`.
pub mod anonymous;
pub mod email_password;
pub mod webauthn;
