//! `hasura-auth oauth2-clients …`: the rows it writes are what the identity provider (and
//! Nhost 0.52, which reads the same table) expects: bcrypt-hashed secrets shown once,
//! public clients without one, deletion cascading to the client's tokens.

use serde_json::Value;

use crate::Setup;
use crate::support::db::TestDb;

const V18: &str = include_str!("../fixtures/upstream/v18.sql");

/// The stored secret hash of a client, straight from the table.
async fn stored_hash(setup: &Setup, client_id: &str) -> Option<String> {
    let db = setup.app.db.client().await;
    db.query_one(
        "SELECT client_secret_hash FROM auth.oauth2_clients WHERE client_id = $1",
        &[&client_id],
    )
    .await
    .expect("client row")
    .get(0)
}

/// `oauth2-clients create ARGS…` (JSON), which must succeed: what it printed, and the id.
async fn create(setup: &Setup, args: &[&str]) -> (Value, String) {
    let mut argv = vec!["oauth2-clients", "create"];
    argv.extend_from_slice(args);
    let created = setup.run(&argv).await.ok().json();
    let id = field(&created["client"], "clientId").to_owned();
    (created, id)
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} in {value}"))
}

#[tokio::test]
async fn a_confidential_client_gets_a_secret_once_and_only_its_bcrypt_hash_is_stored() {
    let setup = Setup::new(&[]).await;
    let created = setup
        .run(&[
            "oauth2-clients",
            "create",
            "--redirect-uri",
            "https://app.example.com/callback",
            "--redirect-uri",
            "http://127.0.0.1:8400/cb",
            "--scope",
            "openid",
            "--scope",
            "graphql:role:editor",
        ])
        .await;
    let created = created.ok().json();
    let client = &created["client"];
    let id = field(client, "clientId");
    assert!(id.starts_with("nhoa_") && id.len() == 21, "{id}");
    assert_eq!(client["kind"], "confidential");
    assert_eq!(client["source"], "registered");
    assert_eq!(
        client["redirectUris"],
        serde_json::json!([
            "https://app.example.com/callback",
            "http://127.0.0.1:8400/cb"
        ])
    );
    assert_eq!(
        client["scopes"],
        serde_json::json!(["openid", "graphql:role:editor"])
    );
    let secret = field(&created, "clientSecret").to_owned();
    assert_eq!(secret.len(), 43);

    let hash = stored_hash(&setup, id).await.expect("a hash");
    assert!(hash.starts_with("$2"), "{hash}");
    assert!(!hash.contains(&secret));
    assert!(bcrypt::verify(&secret, &hash).expect("bcrypt"));

    // Never shown again: neither by list nor by show.
    let listed = setup.run(&["oauth2-clients", "list"]).await;
    assert!(!listed.ok().stdout.contains(&secret));
    assert_eq!(listed.json()["clients"][0]["clientId"], id);
    let shown = setup.run(&["oauth2-clients", "show", id]).await;
    assert!(!shown.ok().stdout.contains(&secret));
    assert!(!shown.stdout.contains("$2"), "no hash either");
    assert_eq!(shown.json()["client"]["kind"], "confidential");

    // The text form shows the secret with its warning, on the create only.
    let text = setup
        .run_text(&[
            "oauth2-clients",
            "create",
            "--redirect-uri",
            "https://b.example.com/cb",
        ])
        .await;
    assert!(text.ok().stdout.contains("client secret"), "{text:?}");
    assert!(text.stdout.contains("shown only now"), "{text:?}");
    let listed = setup.run_text(&["oauth2-clients", "list"]).await;
    assert!(listed.ok().stdout.contains("CLIENT ID"), "{listed:?}");
    assert_eq!(listed.stdout.lines().count(), 3, "{listed:?}");
}

#[tokio::test]
async fn rotating_a_secret_makes_the_old_one_useless() {
    let setup = Setup::new(&[]).await;
    let (created, id) = create(&setup, &["--redirect-uri", "https://app.example.com/cb"]).await;
    let old = field(&created, "clientSecret").to_owned();
    // Default scopes: the table's.
    assert_eq!(
        created["client"]["scopes"],
        serde_json::json!([
            "openid",
            "profile",
            "email",
            "phone",
            "offline_access",
            "graphql"
        ])
    );

    let rotated = setup.run(&["oauth2-clients", "rotate-secret", &id]).await;
    let rotated = rotated.ok().json();
    let new = field(&rotated, "clientSecret").to_owned();
    assert_ne!(new, old);
    let hash = stored_hash(&setup, &id).await.expect("a hash");
    assert!(bcrypt::verify(&new, &hash).expect("bcrypt"));
    assert!(!bcrypt::verify(&old, &hash).expect("bcrypt"));

    setup
        .run(&["oauth2-clients", "rotate-secret", "nhoa_0000000000000000"])
        .await
        .fails(3, "client-not-found");
}

#[tokio::test]
async fn a_public_client_has_no_secret_to_store_or_rotate() {
    let setup = Setup::new(&[]).await;
    let (created, id) = create(
        &setup,
        &[
            "--public",
            "--redirect-uri",
            "com.example.app:/oauth2redirect",
        ],
    )
    .await;
    assert_eq!(created["client"]["kind"], "public");
    assert_eq!(created["clientSecret"], Value::Null);
    assert_eq!(stored_hash(&setup, &id).await, None);
    setup
        .run(&["oauth2-clients", "rotate-secret", &id])
        .await
        .fails(2, "invalid-argument");
}

#[tokio::test]
async fn deleting_a_client_takes_its_authorizations_and_tokens_with_it() {
    let setup = Setup::new(&[]).await;
    let user = setup.user("owner@example.com").await;
    let (_, id) = create(&setup, &["--redirect-uri", "https://app.example.com/cb"]).await;
    let db = setup.app.db.client().await;
    let user_id = uuid::Uuid::parse_str(&user).expect("uuid");
    db.execute(
        "INSERT INTO auth.oauth2_refresh_tokens (token_hash, client_id, user_id, scopes, expires_at) \
         VALUES ('abc', $1, $2, '{openid}', now() + interval '1 day')",
        &[&id, &user_id],
    )
    .await
    .expect("token row");
    db.execute(
        "INSERT INTO auth.oauth2_auth_requests (client_id, redirect_uri, response_type, expires_at) \
         VALUES ($1, 'https://app.example.com/cb', 'code', now() + interval '10 minutes')",
        &[&id],
    )
    .await
    .expect("request row");

    setup
        .run(&["oauth2-clients", "delete", &id])
        .await
        .fails(2, "invalid-argument");
    let deleted = setup.run(&["oauth2-clients", "delete", &id, "--yes"]).await;
    assert_eq!(deleted.ok().json()["deleted"]["clientId"], id.as_str());
    for table in [
        "oauth2_clients",
        "oauth2_refresh_tokens",
        "oauth2_auth_requests",
    ] {
        let left: i64 = db
            .query_one(&format!("SELECT count(*) FROM auth.{table}"), &[])
            .await
            .expect("count")
            .get(0);
        assert_eq!(left, 0, "{table}");
    }
    setup
        .run(&["oauth2-clients", "delete", &id, "--yes"])
        .await
        .fails(3, "client-not-found");
    setup
        .run(&["oauth2-clients", "show", &id])
        .await
        .fails(3, "client-not-found");
}

#[tokio::test]
async fn unsafe_redirect_uris_and_unknown_scopes_are_refused() {
    let setup = Setup::new(&[]).await;
    for uri in [
        "http://app.example.com/cb",
        "https://app.example.com/cb#fragment",
        "javascript:alert(document.cookie)",
        "/relative",
        "https://x.example.com/'; DROP TABLE auth.users; --#",
    ] {
        setup
            .run(&["oauth2-clients", "create", "--redirect-uri", uri])
            .await
            .fails(2, "invalid-argument");
    }
    for scope in ["admin", "graphql:role:", "openid profile", "<script>"] {
        setup
            .run(&[
                "oauth2-clients",
                "create",
                "--redirect-uri",
                "https://app.example.com/cb",
                "--scope",
                scope,
            ])
            .await
            .fails(2, "invalid-argument");
    }
    // A redirect URI is required (clap's own usage error).
    let run = setup.run(&["oauth2-clients", "create"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let listed = setup.run(&["oauth2-clients", "list"]).await;
    assert_eq!(listed.ok().json()["clients"], serde_json::json!([]));
}

/// A v0.42 database stays at 18 unless the operator opts in: it has no client table, and
/// the commands say how to get one instead of failing on SQL.
#[tokio::test]
async fn a_v18_database_has_no_client_table_and_the_command_says_so() {
    let db = TestDb::empty().await;
    db.client().await.batch_execute(V18).await.expect("v18");
    let setup = Setup::on_db(db, &[]).await;
    let run = setup.run(&["oauth2-clients", "list"]).await;
    run.fails(5, "schema-not-migrated");
    assert!(run.stderr.contains("AUTH_MIGRATE_TO_LATEST"), "{run:?}");
}
