//! `POST /elevate/*`.
pub mod webauthn;
