//! Refresh-token reuse detection (`AUTH_REFRESH_TOKEN_REUSE_DETECTION`,
//! `AUTH_REFRESH_TOKEN_REUSE_INTERVAL`).

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::support::app::TestApp;

const NO_VERIFY: &str = "--email-verification-required=false";

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db
        .client()
        .await
        .query_one(sql, &[])
        .await
        .expect("count")
        .get(0)
}

fn metrics(app: &TestApp) -> String {
    app.state.metrics.render(app.state.db.status())
}

#[tokio::test]
async fn fifty_concurrent_refreshes_of_one_token_all_get_a_session_of_one_chain() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("race@example.com", "hunter22").await;
    let body = json!({"refreshToken": s["refreshToken"]});
    let replies = join_all((0..50).map(|_| app.post("/token", body.clone()))).await;
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["refreshTokenId"], s["refreshTokenId"]);
        assert_ne!(r.body["refreshToken"], s["refreshToken"]);
    }
    // One chain, rotated once: the racers all hold the winner's token.
    assert_eq!(
        count(&app, "SELECT count(*) FROM auth.refresh_tokens").await,
        1
    );
    let first = &replies[0].body["refreshToken"];
    assert!(replies.iter().all(|r| &r.body["refreshToken"] == first));
    // Every racer's access token works, and so does its refresh token, even when they
    // all refresh again at once.
    let me = app
        .get_auth(
            "/user",
            replies[49].body["accessToken"].as_str().unwrap_or_default(),
        )
        .await;
    assert_eq!(me.status, 200, "{}", me.text);
    let again = join_all(
        replies
            .iter()
            .map(|r| app.post("/token", json!({"refreshToken": r.body["refreshToken"]}))),
    )
    .await;
    for r in &again {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["refreshTokenId"], s["refreshTokenId"]);
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM auth.refresh_tokens").await,
        1
    );
    assert!(
        metrics(&app)
            .contains(r#"hasura_auth_refresh_token_reuse_total{outcome="within-interval"}"#),
        "{}",
        metrics(&app)
    );
}

#[tokio::test]
async fn a_token_replayed_within_the_interval_gets_the_chains_current_token() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("walk@example.com", "hunter22").await;
    let t0 = s["refreshToken"].clone();
    let t1 = app.post("/token", json!({"refreshToken": t0})).await;
    assert_eq!(t1.status, 200, "{}", t1.text);
    let t2 = app
        .post("/token", json!({"refreshToken": t1.body["refreshToken"]}))
        .await;
    assert_eq!(t2.status, 200, "{}", t2.text);
    // Two rotations later the first token still leads to the current one, not a new one.
    let late = app.post("/token", json!({"refreshToken": t0})).await;
    assert_eq!(late.status, 200, "{}", late.text);
    assert_eq!(late.body["refreshToken"], t2.body["refreshToken"]);
    assert_eq!(late.body["refreshTokenId"], s["refreshTokenId"]);
    // A replay is not a rotation: the current token is still the one t2 holds.
    let next = app
        .post("/token", json!({"refreshToken": t2.body["refreshToken"]}))
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
}

#[tokio::test]
async fn a_rotated_token_replayed_after_the_interval_revokes_the_chain() {
    let app = TestApp::with(&[NO_VERIFY, "--refresh-reuse-interval=1s"]).await;
    let victim = app.signup("theft@example.com", "hunter22").await;
    // Another session of the same user, which the theft must not end.
    let other = app
        .post(
            "/signin/email-password",
            json!({"email": "theft@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.text);
    let stolen = victim["refreshToken"].clone();
    let rotated = app.post("/token", json!({"refreshToken": stolen})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    tokio::time::sleep(Duration::from_millis(1300)).await;

    app.post("/token", json!({"refreshToken": stolen}))
        .await
        .assert_error(401, "invalid-refresh-token");
    // The victim's current token is dead too: the chain is gone.
    app.post(
        "/token",
        json!({"refreshToken": rotated.body["refreshToken"]}),
    )
    .await
    .assert_error(401, "invalid-refresh-token");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM auth.refresh_tokens WHERE id = '{}'",
                victim["refreshTokenId"].as_str().unwrap_or_default()
            )
        )
        .await,
        0
    );
    // A second replay finds nothing left to revoke, and is still refused.
    app.post("/token", json!({"refreshToken": stolen}))
        .await
        .assert_error(401, "invalid-refresh-token");
    let other_token = &other.body["session"]["refreshToken"];
    let r = app
        .post("/token", json!({"refreshToken": other_token}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        metrics(&app).contains(r#"hasura_auth_refresh_token_reuse_total{outcome="revoked"} 1"#),
        "{}",
        metrics(&app)
    );
}

#[tokio::test]
async fn a_replay_within_the_interval_refuses_a_disabled_user() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let s = app.signup("off@example.com", "hunter22").await;
    let r = app
        .post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await
        .assert_error(401, "disabled-user");
}

#[tokio::test]
async fn with_detection_off_one_of_concurrent_refreshes_wins_and_replays_do_nothing() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--refresh-reuse-detection=false",
        "--refresh-reuse-interval=1s",
    ])
    .await;
    let s = app.signup("off@example.com", "hunter22").await;
    let body = json!({"refreshToken": s["refreshToken"]});
    let replies = join_all((0..10).map(|_| app.post("/token", body.clone()))).await;
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_error(401, "invalid-refresh-token");
    }
    // A late replay is refused without ending the session.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    app.post("/token", body.clone())
        .await
        .assert_error(401, "invalid-refresh-token");
    let r = app
        .post(
            "/token",
            json!({"refreshToken": winners[0].body["refreshToken"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn reuse_settings_parse_like_upstreams_durations() {
    for bad in [
        "--refresh-reuse-interval=10",
        "--refresh-reuse-interval=ten",
    ] {
        let argv = ["hasura-auth", bad];
        assert!(
            hasura_auth::config::Config::from_args(argv).is_err(),
            "{bad} is refused"
        );
    }
    let c = hasura_auth::config::Config::from_args(["hasura-auth"]).expect("defaults");
    assert!(c.jwt.refresh_reuse_detection);
    assert_eq!(c.jwt.refresh_reuse_interval, Duration::from_secs(10));
}
