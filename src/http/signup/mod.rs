//! `POST /signup/*`.
pub mod email_password;
