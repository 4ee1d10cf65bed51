//! hasura-auth: a drop-in reimplementation of Nhost's Hasura Auth.
//!
//! Layers, outermost first; each imports only the ones below it (checked by
//! `tests/architecture.rs`):
//! - [`startup`]: builds everything once (adapters, then workflows) and serves, or hands
//!   the operator's workflows to [`cli`];
//! - [`http`]: the route table with each route's policy, the router's state, and one
//!   handler module per URL that extracts input, calls its workflow and maps the result;
//! - [`cli`]: the operator's commands (`users`, `sessions`, `keys`), the other door to the
//!   same workflows;
//! - [`service`]: the workflows, each a type holding only its dependencies, free of HTTP;
//! - [`settings`]: the runtime-replaceable configuration and what is derived from it;
//! - [`domain`]: values parsed once at the edge (emails, passwords, options, redirect
//!   rules) and the sign-up policy;
//! - [`db`]: every SQL statement, plus the embedded schema migrations;
//! - [`tokens`]: JWTs, refresh-token and password hashing, redacted secrets;
//! - [`adapters`]: the outside world (SMTP, templates, SMS, OAuth, Hasura, WebAuthn);
//! - [`contract`]: which upstream generation's contract is served (imports nothing);
//! - [`tls`], [`error`], [`config`]: the outbound TLS configuration, the error policy and
//!   upstream's flags; [`stdout`]: command output that survives a closed pipe.

pub mod adapters;
pub mod cli;
pub mod config;
pub mod contract;
pub mod db;
pub mod devmode;
pub mod domain;
pub mod error;
pub mod http;
pub mod log_writer;
pub mod memory;
pub mod metrics;
pub mod otel;
pub mod pg_cluster;
pub mod request_log;
pub mod service;
pub mod settings;
pub mod startup;
pub mod stdout;
pub mod telemetry;
pub mod tls;
pub mod tokens;
