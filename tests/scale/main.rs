//! Scale-out proven (issue 15): every flow whose steps are separate requests works when
//! consecutive steps are served by different instances, behind HAProxy, with limits
//! shared in Redis; three instances started together on an empty database migrate it
//! once. See `bed.rs` for the set-up and `scale/run.sh` for the long form.
//!
//! One test runs every flow on one bed (three server processes cost start-up time); each
//! flow checks that its consecutive steps changed instance (`X-Served-By`).
//! `SCALE_ROUNDS=n` (the script's long form) repeats the flows n times, several at once.

#[path = "../support/mod.rs"]
mod support;

// Shared with other test binaries, which use more of them.
#[allow(dead_code)]
#[path = "../webauthn/authenticator.rs"]
mod authenticator;
mod bed;
#[allow(dead_code)]
#[path = "../oauth/fake_provider.rs"]
mod fake_provider;
mod flows;
#[allow(dead_code)]
#[path = "../oauth/keys.rs"]
mod keys;
#[allow(dead_code)]
#[path = "../sms_mfa_pat/provider.rs"]
mod provider;

use std::time::Duration;

use bed::{BRUTE_FORCE_BURST, Bed, INSTANCES};
use serde_json::json;

pub fn redis_url() -> String {
    std::env::var("REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned())
}

pub async fn redis_answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .is_ok_and(|c| c.is_ok())
}

fn rounds() -> usize {
    std::env::var("SCALE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1)
        .max(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_three_instances_behind_haproxy_run_every_flow() {
    let Some(bed) = Bed::start().await else {
        return;
    };
    migrated_once(&bed).await;
    rate_limit_holds_across_instances(&bed).await;

    for round in 0..rounds() {
        // In the long form, several users run the flows at once.
        let users = if round == 0 { 1 } else { 4 };
        let mut all = Vec::new();
        for u in 0..users {
            let bed = &bed;
            all.push(async move {
                let tag = format!("r{round}u{u}");
                flows::oauth_start_and_callback(bed).await;
                flows::email_verification_link(bed, &tag).await;
                flows::password_reset_link(bed, &tag).await;
                flows::magic_link(bed, &tag).await;
                flows::magic_link_pkce(bed, &tag).await;
                flows::email_otp(bed, &tag).await;
                flows::sms_otp(bed, round * 10 + u).await;
                flows::totp_activation_and_mfa_sign_in(bed, &tag).await;
                flows::webauthn_ceremonies(bed, &tag).await;
                flows::refresh_rotation_and_concurrent_refresh(bed, &tag).await;
                flows::sign_out_everywhere(bed, &tag).await;
            });
        }
        futures_util::future::join_all(all).await;
    }
}

/// The three instances raced for the migration lock: exactly one applied migrations, the
/// others found the schema current; the ledger holds each version once.
async fn migrated_once(bed: &Bed) {
    let ready: Vec<(String, u64)> = bed
        .log_lines()
        .into_iter()
        .filter(|(_, l)| {
            l["fields"]["message"] == "database schema ready"
                || l["message"] == "database schema ready"
        })
        .map(|(name, l)| {
            let applied = l["fields"]["applied"]
                .as_u64()
                .or_else(|| l["applied"].as_u64())
                .unwrap_or(0);
            (name, applied)
        })
        .collect();
    assert_eq!(ready.len(), INSTANCES, "{ready:?}\n{}", bed.logs());
    let migrating: Vec<_> = ready.iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(migrating.len(), 1, "one instance migrates: {ready:?}");
    let client = bed.db.client().await;
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT version) FROM auth.schema_migrations",
            &[],
        )
        .await
        .expect("ledger");
    let (rows, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(rows, distinct, "each version recorded once");
}

/// A limit of 10 holds at 10 across three instances: 15 wrong passwords from one client
/// (named by `X-Forwarded-For`, which HAProxy extends and the instances trust) get ten 401s
/// and then 429s, whichever instance answers; another client is not affected.
async fn rate_limit_holds_across_instances(bed: &Bed) {
    let client_ip = "203.0.113.7";
    let mut statuses = Vec::new();
    let mut instances = std::collections::HashSet::new();
    for _ in 0..(BRUTE_FORCE_BURST + 5) {
        let hop = bed
            .post_from(
                "/signin/email-password",
                client_ip,
                json!({"email": "nobody@example.com", "password": "wrong-password"}),
            )
            .await;
        instances.insert(hop.served_by.clone());
        statuses.push(hop.reply.status.as_u16());
    }
    assert_eq!(
        instances.len(),
        INSTANCES,
        "spread over every instance: {instances:?}"
    );
    let passed = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(passed, BRUTE_FORCE_BURST as usize, "{statuses:?}");
    assert!(
        statuses[BRUTE_FORCE_BURST as usize..]
            .iter()
            .all(|s| *s == 429),
        "{statuses:?}"
    );
    let other = bed
        .post_from(
            "/signin/email-password",
            "203.0.113.8",
            json!({"email": "nobody@example.com", "password": "wrong-password"}),
        )
        .await;
    assert_eq!(
        other.reply.status, 401,
        "another client has its own counter"
    );
    // One counter in Redis, not one per instance.
    let conn = redis::Client::open(redis_url().as_str()).expect("redis url");
    let mut conn = conn
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}user-bruteforce*:{client_ip}", bed.redis_prefix))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let count: u64 = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .expect("get");
    assert_eq!(count, u64::from(BRUTE_FORCE_BURST));
}
