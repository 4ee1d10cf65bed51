//! `POST /signup/*`.
pub mod email_password;
pub mod webauthn;
