//! Shared test helpers. Each integration test file includes this module with
//! `mod support;` and uses what it needs.
#![allow(dead_code)]

pub mod app;
pub mod browser;
pub mod db;
pub mod pgbouncer;
pub mod pgproxy;
pub mod smtp;
pub mod tools;
