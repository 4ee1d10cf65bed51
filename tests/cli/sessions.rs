//! `hasura-auth sessions …`.

use serde_json::json;

use crate::{PASSWORD, Setup};

#[tokio::test]
async fn sessions_list_and_revoke_end_sessions_as_sign_out_does() {
    let setup = Setup::new(&[]).await;
    setup.user("s@example.com").await;
    let first = setup.signin("s@example.com", PASSWORD).await;
    let second = setup.signin("s@example.com", PASSWORD).await;
    let refresh = |reply: &crate::support::app::Reply| {
        reply.body["session"]["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned()
    };
    let (first_token, second_token) = (refresh(&first), refresh(&second));
    let first_id = first.body["session"]["refreshTokenId"]
        .as_str()
        .expect("id")
        .to_owned();

    let listed = setup.run(&["sessions", "list", "s@example.com"]).await;
    let sessions = listed.ok().json()["sessions"].clone();
    assert_eq!(sessions.as_array().map(Vec::len), Some(2), "{sessions}");
    assert_eq!(sessions[0]["type"], "regular");
    assert_eq!(sessions[0]["expired"], false);
    assert!(!listed.stdout.contains(&first_token), "no token values");

    let revoked = setup
        .run(&[
            "sessions",
            "revoke",
            "s@example.com",
            "--session",
            &first_id,
        ])
        .await;
    assert_eq!(revoked.ok().json(), json!({"revoked": 1}));
    setup
        .app
        .post("/token", json!({"refreshToken": first_token}))
        .await
        .assert_error(401, "invalid-refresh-token");
    let still = setup
        .app
        .post("/token", json!({"refreshToken": second_token}))
        .await;
    assert_eq!(still.status, 200, "{}", still.text);
    let second_token = still.body["refreshToken"]
        .as_str()
        .expect("rotated")
        .to_owned();

    setup
        .run(&[
            "sessions",
            "revoke",
            "s@example.com",
            "--session",
            &first_id,
        ])
        .await
        .fails(3, "session-not-found");
    setup
        .run(&["sessions", "revoke", "s@example.com", "--session", "nope"])
        .await
        .fails(2, "invalid-argument");

    let all = setup
        .run(&["sessions", "revoke", "s@example.com", "--all"])
        .await;
    assert_eq!(all.ok().json(), json!({"revoked": 1}));
    setup
        .app
        .post("/token", json!({"refreshToken": second_token}))
        .await
        .assert_error(401, "invalid-refresh-token");
    let text = setup.run_text(&["sessions", "list", "s@example.com"]).await;
    assert_eq!(
        text.ok().stdout.trim(),
        "ID  TYPE  CREATED  EXPIRES  EXPIRED"
    );
    setup
        .run(&["sessions", "list", "ghost@example.com"])
        .await
        .fails(3, "user-not-found");
}

#[tokio::test]
async fn operator_commands_do_not_migrate_a_database() {
    let db = crate::support::db::TestDb::empty().await;
    let args: Vec<String> = [
        "users".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            crate::support::app::HS256_SECRET
        ),
        "--json".to_owned(),
        "list".to_owned(),
    ]
    .into();
    let run = crate::run_binary(&args, None).await;
    run.fails(5, "schema-not-migrated");
    assert!(
        run.error()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("hasura-auth migrate")
    );
    let schemas: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth', 'hasura_auth')",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(schemas, 0, "the command left the database as it was");
}

#[tokio::test]
async fn a_reader_that_goes_away_is_not_an_error() {
    let setup = Setup::new(&[]).await;
    for i in 0..3 {
        setup.user(&format!("pipe{i}@example.com")).await;
    }
    let mut args = vec!["users".to_owned()];
    args.extend(setup_flags(&setup));
    args.push("list".into());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start");
    // Close the read end before anything is written (`| head -c0`).
    drop(child.stdout.take());
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("in time")
        .expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

fn setup_flags(setup: &Setup) -> Vec<String> {
    setup.flags.clone()
}
