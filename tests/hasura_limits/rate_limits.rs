//! Rate limits (SPEC §9): every bucket reached and reset, headers, stores, clients that
//! spoof X-Forwarded-For, and two instances sharing one memcached.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hasura_auth::http::policy::{EmailLimit, Gate, Limits, Policy};
use hasura_auth::http::routes::{Mount, table};
use reqwest::Method;
use serde_json::json;

use crate::NO_VERIFY;
use crate::memcached::MemcachedServer;
use crate::redis_server::RedisServer;
use crate::support::app::{Reply, TestApp};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Waits for the start of a window of `window_ms`, so a burst fits in one window.
async fn window_start(window_ms: u64) {
    let offset = now_ms() % window_ms;
    if offset > 100 {
        tokio::time::sleep(Duration::from_millis(window_ms - offset + 5)).await;
    }
}

fn header(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn app(args: &[&str]) -> TestApp {
    let mut all = vec!["--rate-limit-enable"];
    all.extend_from_slice(args);
    TestApp::with(&all).await
}

async fn post_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> Reply {
    let mut req = app.http.post(app.url(path)).json(&json!({}));
    if let Some(xff) = forwarded_for {
        req = req.header("X-Forwarded-For", xff);
    }
    Reply::read(req.send().await.unwrap()).await
}

async fn get_from(app: &TestApp, path: &str, forwarded_for: Option<&str>) -> Reply {
    let mut req = app.http.get(app.url(path));
    if let Some(xff) = forwarded_for {
        req = req.header("X-Forwarded-For", xff);
    }
    Reply::read(req.send().await.unwrap()).await
}

#[tokio::test]
async fn rate_limit_global_is_reached_then_resets_with_headers() {
    let app = app(&[
        "--rate-limit-global-burst=3",
        "--rate-limit-global-interval=4s",
    ])
    .await;
    // The four requests must fall in one window (a new window would carry only 2 of 3).
    window_start(4000).await;
    for remaining in ["2", "1", "0"] {
        let r = app.get("/healthz").await;
        assert_eq!(r.status, 200);
        assert_eq!(header(&r, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            header(&r, "ratelimit-remaining").as_deref(),
            Some(remaining)
        );
        assert_eq!(header(&r, "ratelimit-policy").as_deref(), Some("3;w=4"));
        let reset: u64 = header(&r, "ratelimit-reset").unwrap().parse().unwrap();
        assert!((1..=4).contains(&reset));
        assert!(header(&r, "retry-after").is_none());
    }
    let r = app.get("/version").await;
    assert_eq!(r.status, 429, "every route counts");
    assert_eq!(r.text, "", "empty body, as upstream");
    assert_eq!(header(&r, "ratelimit-remaining").as_deref(), Some("0"));
    let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=5).contains(&retry), "{retry}");
    assert_eq!(
        app.get("/healthz").await.status,
        429,
        "unknown to the handler"
    );

    tokio::time::sleep(Duration::from_secs(retry)).await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, 200, "allowed again after Retry-After");
}

#[tokio::test]
async fn rate_limit_disabled_by_default_sends_no_headers() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        let r = app.get("/healthz").await;
        assert_eq!(r.status, 200);
        assert!(header(&r, "ratelimit-limit").is_none());
    }
}

#[tokio::test]
async fn rate_limit_email_bucket() {
    let app = app(&["--rate-limit-email-burst=2"]).await;
    for _ in 0..2 {
        assert_ne!(
            post_from(&app, "/user/password/reset", None).await.status,
            429
        );
    }
    let r = post_from(&app, "/user/email/change", None).await;
    assert_eq!(r.status, 429, "the email endpoints share one bucket");
    assert_eq!(header(&r, "ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "other routes unaffected"
    );
    // With verification required (the default) sign-up sends an email: same bucket.
    assert_eq!(
        post_from(&app, "/signup/email-password", None).await.status,
        429
    );
}

#[tokio::test]
async fn rate_limit_email_bucket_can_be_global() {
    let per_client = app(&["--rate-limit-email-burst=1", "--trusted-proxies=127.0.0.1"]).await;
    assert_ne!(
        post_from(&per_client, "/user/password/reset", Some("198.51.100.1"))
            .await
            .status,
        429
    );
    assert_ne!(
        post_from(&per_client, "/user/password/reset", Some("198.51.100.2"))
            .await
            .status,
        429
    );

    let global = app(&[
        "--rate-limit-email-burst=1",
        "--rate-limit-email-is-global",
        "--trusted-proxies=127.0.0.1",
    ])
    .await;
    assert_ne!(
        post_from(&global, "/user/password/reset", Some("198.51.100.1"))
            .await
            .status,
        429
    );
    assert_eq!(
        post_from(&global, "/user/password/reset", Some("198.51.100.2"))
            .await
            .status,
        429,
        "one counter for everybody"
    );
}

#[tokio::test]
async fn rate_limit_sms_bucket() {
    let app = app(&["--rate-limit-sms-burst=1"]).await;
    assert_ne!(
        post_from(&app, "/signin/passwordless/sms", None)
            .await
            .status,
        429
    );
    let r = post_from(&app, "/signin/passwordless/sms", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(header(&r, "ratelimit-limit").as_deref(), Some("1"));
    // The brute-force bucket (10) still has room for other sign-in routes.
    assert_ne!(
        post_from(&app, "/signin/passwordless/email", None)
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn rate_limit_brute_force_bucket() {
    let app = app(&[NO_VERIFY, "--rate-limit-brute-force-burst=3"]).await;
    let wrong = json!({"email": "b@example.com", "password": "wrong-one"});
    assert_eq!(
        app.post("/signin/email-password", wrong.clone())
            .await
            .status,
        401
    );
    assert_eq!(
        app.post("/token/verify", json!({})).await.status,
        400,
        "…/verify counts"
    );
    assert_ne!(
        post_from(&app, "/signin/passwordless/sms/otp", None)
            .await
            .status,
        429
    );
    let r = app.post("/signin/email-password", wrong).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text, "");
}

#[tokio::test]
async fn rate_limit_signups_have_their_own_bucket() {
    let app = app(&[
        NO_VERIFY,
        "--rate-limit-brute-force-burst=2",
        "--rate-limit-signups-burst=2",
    ])
    .await;
    let wrong = json!({"email": "s@example.com", "password": "wrong-one"});
    for _ in 0..2 {
        assert_eq!(
            app.post("/signin/email-password", wrong.clone())
                .await
                .status,
            401
        );
    }
    // Upstream counted sign-ups in the brute-force bucket: these would be refused.
    for i in 0..2 {
        let r = app
            .post(
                "/signup/email-password",
                json!({"email": format!("s{i}@example.com"), "password": "hunter22"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "s9@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(app.post("/signin/email-password", wrong).await.status, 429);
}

#[tokio::test]
async fn rate_limit_exceeded_bucket_stops_the_request() {
    // Verification required: sign-up is in the email bucket (1) and the sign-up bucket.
    let app = app(&["--rate-limit-email-burst=1"]).await;
    let first = app
        .post(
            "/signup/email-password",
            json!({"email": "first@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second = app
        .post(
            "/signup/email-password",
            json!({"email": "second@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(second.status, 429);
    let n: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "the refused sign-up never reached the handler");
}

#[tokio::test]
async fn rate_limit_spoofed_forwarded_for_does_not_help() {
    let app = app(&["--rate-limit-global-burst=2"]).await;
    assert_eq!(
        get_from(&app, "/healthz", Some("198.51.100.1"))
            .await
            .status,
        200
    );
    assert_eq!(
        get_from(&app, "/healthz", Some("198.51.100.2"))
            .await
            .status,
        200
    );
    let r = Reply::read(
        app.http
            .get(app.url("/healthz"))
            .header("X-Forwarded-For", "198.51.100.3")
            .header("X-Real-IP", "198.51.100.4")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status, 429,
        "forwarded headers from an untrusted peer are ignored"
    );
    let metrics = app.state.metrics.render(app.state.db.status());
    assert!(
        metrics.contains(r#"hasura_auth_rate_limited_total{bucket="user-global"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn rate_limit_trusted_proxy_forwards_the_client_address() {
    let app = app(&[
        "--rate-limit-global-burst=1",
        "--trusted-proxies=127.0.0.0/8",
    ])
    .await;
    assert_eq!(
        get_from(&app, "/healthz", Some("198.51.100.1"))
            .await
            .status,
        200
    );
    assert_eq!(
        get_from(&app, "/healthz", Some("198.51.100.2"))
            .await
            .status,
        200
    );
    assert_eq!(
        get_from(&app, "/healthz", Some("198.51.100.1"))
            .await
            .status,
        429
    );
    // A client-supplied left-most value does not change who the proxy saw.
    assert_eq!(
        get_from(&app, "/healthz", Some("203.0.113.77, 198.51.100.2"))
            .await
            .status,
        429
    );
}

/// Issue 18: a trusted proxy that appends its own `X-Forwarded-For` line after the
/// client's (HAProxy's `option forwardfor`) — the lines are one list, so a client that
/// changes its own line on every attempt is still counted under the address the proxy saw.
#[tokio::test]
async fn rate_limit_forwarded_for_lines_appended_by_the_proxy_are_joined() {
    let app = app(&[
        NO_VERIFY,
        "--rate-limit-brute-force-burst=3",
        "--trusted-proxies=127.0.0.1",
    ])
    .await;
    let wrong = json!({"email": "b@example.com", "password": "wrong-one"});
    let mut statuses = Vec::new();
    for i in 1..=5 {
        let r = Reply::read(
            app.http
                .post(app.url("/signin/email-password"))
                .json(&wrong)
                .header("X-Forwarded-For", format!("5.5.5.{i}"))
                .header("X-Forwarded-For", "203.0.113.6")
                .send()
                .await
                .unwrap(),
        )
        .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429], "{statuses:?}");
    // Another client behind the same proxy has its own budget.
    let r = Reply::read(
        app.http
            .post(app.url("/signin/email-password"))
            .json(&wrong)
            .header("X-Forwarded-For", "5.5.5.1")
            .header("X-Forwarded-For", "203.0.113.7")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn rate_limit_with_api_prefix_matches_stripped_paths() {
    let app = app(&[
        NO_VERIFY,
        "--api-prefix=/v1",
        "--rate-limit-brute-force-burst=1",
    ])
    .await;
    let wrong = json!({"email": "p@example.com", "password": "wrong-one"});
    assert_eq!(
        app.post("/v1/signin/email-password", wrong.clone())
            .await
            .status,
        401
    );
    assert_eq!(
        app.post("/v1/signin/email-password", wrong).await.status,
        429
    );
}

/// Every operation of the route table as a URL under `prefix` (`""` for none), with its
/// policy; `HEAD` aside, `{provider}` as `github`.
pub fn operations(prefix: &str) -> Vec<(Method, String, Policy)> {
    let mut ops = Vec::new();
    for route in table() {
        let url = match route.mount {
            Mount::Api => format!("{prefix}{}", route.path.replace("{provider}", "github")),
            Mount::RootWhenPrefixed if !prefix.is_empty() => route.path.to_owned(),
            Mount::RootWhenPrefixed => continue,
        };
        for method in route.methods.iter().filter(|m| **m != Method::HEAD) {
            ops.push((method.clone(), url.clone(), route.policy));
        }
    }
    ops
}

/// One request of `method` with an empty JSON object for a body (`POST`).
pub async fn send(app: &TestApp, method: &Method, url_path: &str) -> Reply {
    let mut req = app.http.request(method.clone(), app.url(url_path));
    if *method == Method::POST {
        req = req.json(&json!({}));
    }
    Reply::read(req.send().await.unwrap()).await
}

/// The one bucket that allows nothing in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Only {
    Global,
    Email,
    Sms,
    BruteForce,
    Signups,
    OAuth2Server,
}

impl Only {
    const ALL: [Only; 6] = [
        Only::Global,
        Only::Email,
        Only::Sms,
        Only::BruteForce,
        Only::Signups,
        Only::OAuth2Server,
    ];

    fn flag(self, burst: u32) -> String {
        let name = match self {
            Only::Global => "global",
            Only::Email => "email",
            Only::Sms => "sms",
            Only::BruteForce => "brute-force",
            Only::Signups => "signups",
            Only::OAuth2Server => "oauth2-server",
        };
        format!("--rate-limit-{name}-burst={burst}")
    }

    fn counts(self, limits: &Limits, verifying: bool) -> bool {
        match self {
            Only::Global => true,
            Only::Email => match limits.email {
                EmailLimit::Never => false,
                EmailLimit::Always => true,
                EmailLimit::WhileVerificationRequired => verifying,
            },
            Only::Sms => limits.sms,
            Only::BruteForce => limits.brute_force,
            Only::Signups => limits.signups,
            Only::OAuth2Server => limits.oauth2_server,
        }
    }
}

/// One bucket at a time allows nothing: a request is refused exactly when its route
/// counts in that bucket. Every route of the table, with and without `AUTH_API_PREFIX`;
/// requests no route matches count in the global bucket only, and a method the route
/// does not serve in the route's buckets (as before routes declared them).
#[tokio::test]
async fn rate_limit_every_route_counts_in_the_buckets_it_declares() {
    let cases = [
        (Only::Global, true),
        (Only::Email, true),
        (Only::Email, false),
        (Only::Sms, true),
        (Only::BruteForce, true),
        (Only::Signups, true),
        (Only::OAuth2Server, true),
    ];
    for prefix in ["", "/v1"] {
        for (only, verifying) in cases {
            // Room for every request in the other buckets.
            let mut args: Vec<String> = Only::ALL
                .iter()
                .map(|b| b.flag(if *b == only { 0 } else { 1000 }))
                .collect();
            args.push(format!("--email-verification-required={verifying}"));
            if !prefix.is_empty() {
                args.push(format!("--api-prefix={prefix}"));
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let app = app(&args).await;
            for (method, url, policy) in operations(prefix) {
                let r = send(&app, &method, &url).await;
                // A route mounted only when its feature is on (off here: the built-in
                // consent page, /change-env) is not routed: it counts as unrouted
                // requests do, in the global bucket only.
                let counts = match policy.gate {
                    Gate::Mounted(_) => only == Only::Global,
                    _ => only.counts(&policy.limits, verifying),
                };
                assert_eq!(
                    r.status == 429,
                    counts,
                    "{method} {url} in {only:?} (verification required: {verifying}): {} {}",
                    r.status,
                    r.text
                );
            }
            for unrouted in [
                "/nothing-here",
                "/signin/nothing-here",
                "/signup/nothing/verify",
            ] {
                let r = send(&app, &Method::POST, &format!("{prefix}{unrouted}")).await;
                let limited = matches!(only, Only::Global);
                assert_eq!(r.status == 429, limited, "{unrouted} in {only:?}");
                if !limited {
                    assert_eq!(r.status, 404);
                }
            }
            // A method the route does not serve still counts as the route (405).
            let r = send(
                &app,
                &Method::GET,
                &format!("{prefix}/signin/email-password"),
            )
            .await;
            let limited = matches!(only, Only::Global | Only::BruteForce);
            assert_eq!(
                r.status == 429,
                limited,
                "GET /signin/email-password in {only:?}"
            );
            if !limited {
                assert_eq!(r.status, 405);
            }
        }
    }
}

#[tokio::test]
async fn rate_limit_email_bucket_follows_the_verification_setting_at_runtime() {
    let app = app(&["--rate-limit-email-burst=0", "--enable-change-env"]).await;
    assert_eq!(
        post_from(&app, "/user/email/send-verification-email", None)
            .await
            .status,
        429,
        "verification required (the default): the route sends email"
    );
    let r = app
        .post(
            "/change-env",
            json!({"AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(
        post_from(&app, "/user/email/send-verification-email", None)
            .await
            .status,
        429
    );
}

/// Every test below needs a real memcached.
async fn memcached() -> Option<MemcachedServer> {
    MemcachedServer::start().await
}

#[tokio::test]
async fn rate_limit_memcached_limit_is_shared_by_two_instances() {
    let Some(mc) = memcached().await else { return };
    let server = format!("--rate-limit-memcache-server={}", mc.addr);
    let args = [
        server.as_str(),
        "--rate-limit-memcache-prefix=shared:",
        "--rate-limit-global-burst=4",
        "--rate-limit-global-interval=1h",
    ];
    let one = app(&args).await;
    let two = app(&args).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let instance = if i % 2 == 0 { &one } else { &two };
        statuses.push(instance.get("/healthz").await.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    // Upstream's key layout: <prefix><bucket><window index>:<client>.
    let index = now_ms() / 3_600_000;
    let value = mc
        .get(&format!("shared:user-global{index}:127.0.0.1"))
        .await;
    assert_eq!(
        value.as_deref(),
        Some("4"),
        "denied requests are not counted"
    );
    // A third instance with another prefix has its own counters.
    let other = app(&[
        server.as_str(),
        "--rate-limit-memcache-prefix=other:",
        "--rate-limit-global-burst=4",
        "--rate-limit-global-interval=1h",
    ])
    .await;
    assert_eq!(other.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn rate_limit_memcached_denial_does_not_count_in_later_buckets() {
    let Some(mc) = memcached().await else { return };
    let app = app(&[
        &format!("--rate-limit-memcache-server={}", mc.addr),
        "--rate-limit-email-burst=1",
        "--rate-limit-email-interval=1h",
        "--rate-limit-signups-interval=1h",
    ])
    .await;
    for (i, expected) in [(0, 200), (1, 429)] {
        let r = app
            .post(
                "/signup/email-password",
                json!({"email": format!("m{i}@example.com"), "password": "hunter22"}),
            )
            .await;
        assert_eq!(r.status, expected, "{}", r.text);
    }
    let index = now_ms() / 3_600_000;
    assert_eq!(
        mc.get(&format!("user-email{index}:127.0.0.1"))
            .await
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        mc.get(&format!("user-signups{index}:127.0.0.1"))
            .await
            .as_deref(),
        Some("1"),
        "the second sign-up stopped at the email bucket"
    );
}

#[tokio::test]
async fn rate_limit_memcached_outage_fails_open() {
    let nobody = crate::fakes::reserved_addr().await;
    let app = app(&[
        &format!("--rate-limit-memcache-server={nobody}"),
        "--rate-limit-global-burst=1",
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status, 200);
    }
}

/// The Redis tests below use the machine's Redis with a prefix of their own.
async fn redis() -> Option<RedisServer> {
    RedisServer::connect().await
}

#[tokio::test]
async fn rate_limit_redis_limit_is_shared_by_two_instances() {
    let Some(rd) = redis().await else { return };
    let url = format!("--rate-limit-redis-url={}", rd.url);
    let prefix = format!("--rate-limit-redis-prefix={}", rd.prefix);
    let args = [
        url.as_str(),
        prefix.as_str(),
        "--rate-limit-global-burst=4",
        "--rate-limit-global-interval=1h",
    ];
    let one = app(&args).await;
    let two = app(&args).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let instance = if i % 2 == 0 { &one } else { &two };
        statuses.push(instance.get("/healthz").await.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    // The memcached key layout: <prefix><bucket><window index>:<client>.
    let index = now_ms() / 3_600_000;
    let key = format!("{}user-global{index}:127.0.0.1", rd.prefix);
    assert_eq!(
        rd.get(&key).await.as_deref(),
        Some("4"),
        "denied requests are not counted"
    );
    // Created with its time to live (two windows, as in memcached), never without one.
    let ttl = rd.pttl(&key).await;
    assert!(ttl > 3_600_000 && ttl <= 2 * 3_600_000, "pttl {ttl}");
    // A third instance with another prefix has its own counters.
    let other_prefix = format!("--rate-limit-redis-prefix={}other:", rd.prefix);
    let other = app(&[
        url.as_str(),
        other_prefix.as_str(),
        "--rate-limit-global-burst=4",
        "--rate-limit-global-interval=1h",
    ])
    .await;
    assert_eq!(other.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn rate_limit_redis_concurrent_increments_are_exact() {
    let Some(rd) = redis().await else { return };
    let url = format!("--rate-limit-redis-url={}", rd.url);
    let prefix = format!("--rate-limit-redis-prefix={}", rd.prefix);
    let args = [
        url.as_str(),
        prefix.as_str(),
        "--rate-limit-global-burst=10",
        "--rate-limit-global-interval=1h",
    ];
    let one = app(&args).await;
    let two = app(&args).await;
    // 30 requests at once over two instances: exactly 10 pass.
    let mut calls = Vec::new();
    for i in 0..30 {
        let instance = if i % 2 == 0 { &one } else { &two };
        calls.push(instance.get("/healthz"));
    }
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.status.as_u16())
        .collect();
    let passed = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(passed, 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20);
}

#[tokio::test]
async fn rate_limit_redis_outage_fails_open() {
    let nobody = crate::fakes::reserved_addr().await;
    let app = app(&[
        &format!("--rate-limit-redis-url=redis://:hunter2@{nobody}"),
        "--rate-limit-global-burst=1",
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status, 200);
    }
}
