//! hasura-auth: a drop-in reimplementation of Nhost's Hasura Auth.
//!
//! Layers, outermost first:
//! - [`http`]: axum routes, one module per workflow; extract input, call a service, map the result;
//! - [`service`]: the workflows (sign-up, sign-in, sessions, tickets), free of HTTP types;
//! - [`domain`]: values parsed once at the edge (emails, passwords, options, redirect rules);
//! - [`db`]: every SQL statement, plus the embedded schema migrations;
//! - [`tokens`]: JWT signing/verification and refresh-token hashing;
//! - [`adapters`]: the outside world (SMTP, templates, later SMS, OAuth, Hasura).

pub mod adapters;
pub mod config;
pub mod db;
pub mod devmode;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod otel;
pub mod pg_cluster;
pub mod service;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod tls;
pub mod tokens;
