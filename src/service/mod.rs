//! Workflows. Each is a type whose fields are its dependencies (database pool, other
//! workflows, adapters, a [`SettingsHandle`](crate::settings::SettingsHandle)), built once
//! at start-up. They take parsed domain values, run the rules of upstream's contract, and
//! return plain data or an [`ApiError`](crate::error::ApiError); they know nothing about
//! HTTP.
//!
//! Building blocks shared by the others: [`accounts::Accounts`] (loading and checking
//! users), [`session::Sessions`] (issuing and rotating sessions), [`email::Mail`] (ticket
//! and code emails), [`password_check::NewPasswordRules`] and
//! [`registration::Registration`], the only way users are created.

pub mod accounts;
pub mod admin;
pub mod anonymous;
pub mod audit;
pub mod change_env;
pub mod custom_claims;
pub mod deanonymize;
pub mod email;
pub mod health;
pub mod lockout;
pub mod mfa;
pub mod oauth;
pub mod oauth2_clients;
pub mod oauth2_provider;
pub mod password;
pub mod password_check;
pub mod passwordless;
pub mod pat;
pub mod phone_change;
pub mod pkce;
pub mod registration;
pub mod session;
pub mod signin;
pub mod signup;
pub mod sms;
pub mod sms_deanonymize;
pub mod tickets;
pub mod user_check;
pub mod user_email;
pub mod verify;
pub mod webauthn;
