//! Start-up metadata sync (SPEC §6).

use std::time::{Duration, Instant};

use hasura_auth::config::Config;
use hasura_auth::startup::{StartupError, build_state};
use serde_json::{Value, json};

use crate::ADMIN_SECRET;
use crate::fakes::{Answer, Fake, reserved_addr};
use crate::support::app::{CLIENT_URL, HS256_SECRET, TestApp};
use crate::support::db::TestDb;

const V18: &str = include_str!("../fixtures/upstream/v18.sql");

/// A TestApp on a database upstream v0.42 left at version 18 (it stays there).
async fn v18_app(args: &[&str]) -> TestApp {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(V18)
        .await
        .expect("load v18 fixture");
    TestApp::with_db(db, args).await
}

/// v0.42's nine requests: (table, custom name, the nine root fields in upstream's order,
/// custom column names).
fn expected_requests() -> Vec<Value> {
    let tables: [(&str, &str, [&str; 9], Value); 9] = [
        (
            "provider_requests",
            "authProviderRequests",
            [
                "authProviderRequests",
                "authProviderRequest",
                "authProviderRequestsAggregate",
                "insertAuthProviderRequests",
                "insertAuthProviderRequest",
                "updateAuthProviderRequests",
                "updateAuthProviderRequest",
                "deleteAuthProviderRequests",
                "deleteAuthProviderRequest",
            ],
            json!({"id": "id", "options": "options"}),
        ),
        (
            "refresh_token_types",
            "authRefreshTokenTypes",
            [
                "authRefreshTokenTypes",
                "authRefreshTokenType",
                "authRefreshTokenTypesAggregate",
                "insertAuthRefreshTokenTypes",
                "insertAuthRefreshTokenType",
                "updateAuthRefreshTokenTypes",
                "updateAuthRefreshTokenType",
                "deleteAuthRefreshTokenTypes",
                "deleteAuthRefreshTokenType",
            ],
            Value::Null,
        ),
        (
            "refresh_tokens",
            "authRefreshTokens",
            [
                "authRefreshTokens",
                "authRefreshToken",
                "authRefreshTokensAggregate",
                "insertAuthRefreshTokens",
                "insertAuthRefreshToken",
                "updateAuthRefreshTokens",
                "updateAuthRefreshToken",
                "deleteAuthRefreshTokens",
                "deleteAuthRefreshToken",
            ],
            json!({
                "refresh_token_hash": "refreshTokenHash",
                "created_at": "createdAt",
                "expires_at": "expiresAt",
                "user_id": "userId"
            }),
        ),
        (
            "roles",
            "authRoles",
            [
                "authRoles",
                "authRole",
                "authRolesAggregate",
                "insertAuthRoles",
                "insertAuthRole",
                "updateAuthRoles",
                "updateAuthRole",
                "deleteAuthRoles",
                "deleteAuthRole",
            ],
            json!({"role": "role"}),
        ),
        (
            "user_providers",
            "authUserProviders",
            [
                "authUserProviders",
                "authUserProvider",
                "authUserProvidersAggregate",
                "insertAuthUserProviders",
                "insertAuthUserProvider",
                "updateAuthUserProviders",
                "updateAuthUserProvider",
                "deleteAuthUserProviders",
                "deleteAuthUserProvider",
            ],
            json!({
                "id": "id",
                "created_at": "createdAt",
                "updated_at": "updatedAt",
                "user_id": "userId",
                "access_token": "accessToken",
                "refresh_token": "refreshToken",
                "provider_id": "providerId",
                "provider_user_id": "providerUserId"
            }),
        ),
        (
            "user_roles",
            "authUserRoles",
            [
                "authUserRoles",
                "authUserRole",
                "authUserRolesAggregate",
                "insertAuthUserRoles",
                "insertAuthUserRole",
                "updateAuthUserRoles",
                "updateAuthUserRole",
                "deleteAuthUserRoles",
                "deleteAuthUserRole",
            ],
            json!({"id": "id", "created_at": "createdAt", "user_id": "userId", "role": "role"}),
        ),
        (
            "users",
            "users",
            [
                "users",
                "user",
                "usersAggregate",
                "insertUsers",
                "insertUser",
                "updateUsers",
                "updateUser",
                "deleteUsers",
                "deleteUser",
            ],
            json!({
                "id": "id",
                "created_at": "createdAt",
                "updated_at": "updatedAt",
                "last_seen": "lastSeen",
                "disabled": "disabled",
                "display_name": "displayName",
                "avatar_url": "avatarUrl",
                "locale": "locale",
                "email": "email",
                "phone_number": "phoneNumber",
                "password_hash": "passwordHash",
                "email_verified": "emailVerified",
                "phone_number_verified": "phoneNumberVerified",
                "new_email": "newEmail",
                "otp_method_last_used": "otpMethodLastUsed",
                "otp_hash": "otpHash",
                "otp_hash_expires_at": "otpHashExpiresAt",
                "default_role": "defaultRole",
                "is_anonymous": "isAnonymous",
                "totp_secret": "totpSecret",
                "active_mfa_type": "activeMfaType",
                "ticket": "ticket",
                "ticket_expires_at": "ticketExpiresAt",
                "webauthn_current_challenge": "currentChallenge"
            }),
        ),
        (
            "providers",
            "authProviders",
            [
                "authProviders",
                "authProvider",
                "authProvidersAggregate",
                "insertAuthProviders",
                "insertAuthProvider",
                "updateAuthProviders",
                "updateAuthProvider",
                "deleteAuthProviders",
                "deleteAuthProvider",
            ],
            json!({"id": "id"}),
        ),
        (
            "user_security_keys",
            "authUserSecurityKeys",
            [
                "authUserSecurityKeys",
                "authUserSecurityKey",
                "authUserSecurityKeysAggregate",
                "insertAuthUserSecurityKeys",
                "insertAuthUserSecurityKey",
                "updateAuthUserSecurityKeys",
                "updateAuthUserSecurityKey",
                "deleteAuthUserSecurityKeys",
                "deleteAuthUserSecurityKey",
            ],
            json!({
                "id": "id",
                "user_id": "userId",
                "credential_id": "credentialId",
                "credential_public_key": "credentialPublicKey"
            }),
        ),
    ];
    tables
        .into_iter()
        .map(|(table, name, f, columns)| {
            json!({
                "type": "pg_track_table",
                "args": {
                    "source": "default",
                    "table": {"schema": "auth", "name": table},
                    "configuration": {
                        "custom_name": name,
                        "custom_root_fields": {
                            "select": f[0], "select_by_pk": f[1], "select_aggregate": f[2],
                            "insert": f[3], "insert_one": f[4],
                            "update": f[5], "update_by_pk": f[6],
                            "delete": f[7], "delete_by_pk": f[8]
                        },
                        "custom_column_names": columns
                    }
                }
            })
        })
        .collect()
}

fn graphql_url(fake: &Fake) -> String {
    format!("--graphql-url={}/v1/graphql", fake.base)
}

fn secret_flag() -> String {
    format!("--hasura-admin-secret={ADMIN_SECRET}")
}

/// Builds the state as `TestApp` does, but returns the start-up result.
async fn start(args: &[String]) -> (Result<(), StartupError>, TestDb) {
    let db = TestDb::empty().await;
    let mut argv: Vec<String> = vec![
        "hasura-auth".into(),
        format!("--postgres={}", db.url),
        format!("--hasura-graphql-jwt-secret={HS256_SECRET}"),
        format!("--client-url={CLIENT_URL}"),
        "--templates-path=/nonexistent-test-templates".into(),
    ];
    argv.extend(args.iter().cloned());
    let config = Config::from_args(argv).expect("configuration parses");
    let result = build_state(config).await.map(|_| ());
    (result, db)
}

#[tokio::test]
async fn metadata_sync_sends_v0_42s_nine_track_table_requests_on_a_v18_schema() {
    let hasura = Fake::start(|_, _| Answer::json(200, json!({"message": "success"}))).await;
    let app = v18_app(&[&graphql_url(&hasura), &secret_flag()]).await;

    let requests = hasura.requests();
    assert_eq!(requests.len(), 9, "one request per table");
    let expected = expected_requests();
    for (request, expected) in requests.iter().zip(&expected) {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.path, "/v1/metadata",
            "graphql URL with /v1/metadata"
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
        assert_eq!(request.header("x-hasura-admin-secret"), Some(ADMIN_SECRET));
        assert_eq!(&request.json(), expected);
    }
    // Byte for byte what Go's encoder writes for upstream's structs.
    assert_eq!(
        std::str::from_utf8(&requests[3].body).unwrap(),
        r#"{"type":"pg_track_table","args":{"source":"default","table":{"schema":"auth","name":"roles"},"configuration":{"custom_name":"authRoles","custom_root_fields":{"select":"authRoles","select_by_pk":"authRole","select_aggregate":"authRolesAggregate","insert":"insertAuthRoles","insert_one":"insertAuthRole","update":"updateAuthRoles","update_by_pk":"updateAuthRole","delete":"deleteAuthRoles","delete_by_pk":"deleteAuthRole"},"custom_column_names":{"role":"role"}}}}"#
    );
    assert!(
        std::str::from_utf8(&requests[1].body)
            .unwrap()
            .ends_with(r#""custom_column_names":null}}}"#)
    );
    assert_eq!(app.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn metadata_already_tracked_or_existing_counts_as_success() {
    let hasura = Fake::start(|_, n| {
        let code = if n % 2 == 0 {
            "already-tracked"
        } else {
            "already-exists"
        };
        Answer::json(
            400,
            json!({"path": "$.args", "error": "view/table already tracked", "code": code}),
        )
    })
    .await;
    let (result, _db) = start(&[graphql_url(&hasura), secret_flag()]).await;
    result.expect("start-up succeeds");
    assert_eq!(hasura.requests().len(), V052_REQUESTS);
}

/// 0.52's thirteen track requests and its 28 relationships.
const V052_REQUESTS: usize = 13 + 28;

#[tokio::test]
async fn metadata_sync_sends_0_52s_tables_and_relationships_on_a_v27_schema() {
    let hasura = Fake::start(|_, _| Answer::json(200, json!({"message": "success"}))).await;
    let app = TestApp::with(&[&graphql_url(&hasura), &secret_flag()]).await;

    let requests = hasura.requests();
    assert_eq!(requests.len(), V052_REQUESTS);
    let bodies: Vec<Value> = requests.iter().map(|r| r.json()).collect();
    let tracked: Vec<&str> = bodies[..13]
        .iter()
        .map(|b| {
            assert_eq!(b["type"], "pg_track_table");
            b["args"]["table"]["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        tracked,
        [
            "provider_requests",
            "refresh_token_types",
            "refresh_tokens",
            "roles",
            "user_providers",
            "user_roles",
            "users",
            "providers",
            "user_security_keys",
            "oauth2_clients",
            "oauth2_auth_requests",
            "oauth2_authorization_codes",
            "oauth2_refresh_tokens",
        ]
    );
    // The nine keep v0.42's names and root fields; refresh_token_types becomes an enum
    // table with named columns.
    let v042 = expected_requests();
    for (i, expected) in v042.iter().enumerate() {
        let conf = &bodies[i]["args"]["configuration"];
        assert_eq!(
            conf["custom_name"],
            expected["args"]["configuration"]["custom_name"]
        );
        assert_eq!(
            conf["custom_root_fields"],
            expected["args"]["configuration"]["custom_root_fields"]
        );
    }
    assert_eq!(bodies[1]["is_enum"], true);
    assert_eq!(
        bodies[1]["args"]["configuration"]["custom_column_names"],
        json!({"value": "value", "comment": "comment"})
    );
    assert!(bodies[0].get("is_enum").is_none());

    // Byte for byte what 0.52 sends for auth.oauth2_clients (hasura.go @92ec54cf).
    assert_eq!(
        std::str::from_utf8(&requests[9].body).unwrap(),
        r#"{"type":"pg_track_table","args":{"source":"default","table":{"schema":"auth","name":"oauth2_clients"},"configuration":{"custom_name":"authOauth2Clients","custom_root_fields":{"select":"authOauth2Clients","select_by_pk":"authOauth2Client","select_aggregate":"authOauth2ClientsAggregate","insert":"insertAuthOauth2Clients","insert_one":"insertAuthOauth2Client","update":"updateAuthOauth2Clients","update_by_pk":"updateAuthOauth2Client","delete":"deleteAuthOauth2Clients","delete_by_pk":"deleteAuthOauth2Client"},"custom_column_names":{"client_id":"clientId","client_secret_hash":"clientSecretHash","created_at":"createdAt","created_by":"createdBy","metadata":"metadata","metadata_document_fetched_at":"metadataDocumentFetchedAt","redirect_uris":"redirectUris","scopes":"scopes","type":"type","updated_at":"updatedAt"}},"object_relationships":[{"name":"createdByUser","using":{"foreign_key_constraint_on":"created_by"}}],"array_relationships":[{"name":"authRequests","using":{"foreign_key_constraint_on":{"table":{"schema":"auth","name":"oauth2_auth_requests"},"columns":["client_id"]}}},{"name":"oauth2RefreshTokens","using":{"foreign_key_constraint_on":{"table":{"schema":"auth","name":"oauth2_refresh_tokens"},"columns":["client_id"]}}}]}}"#
    );

    // Then every relationship, table by table, object ones first.
    let relationships: Vec<(String, String, String)> = bodies[13..]
        .iter()
        .map(|b| {
            (
                b["type"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("pg_create_")
                    .to_owned(),
                b["args"]["table"]["name"].as_str().unwrap().to_owned(),
                b["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("array", "refresh_token_types", "refreshTokens"),
        ("object", "refresh_tokens", "user"),
        ("array", "roles", "userRoles"),
        ("array", "roles", "usersByDefaultRole"),
        ("object", "user_providers", "user"),
        ("object", "user_providers", "provider"),
        ("object", "user_roles", "user"),
        ("object", "user_roles", "roleByRole"),
        ("object", "users", "defaultRoleByRole"),
        ("array", "users", "userProviders"),
        ("array", "users", "roles"),
        ("array", "users", "refreshTokens"),
        ("array", "users", "securityKeys"),
        ("array", "users", "oauth2AuthRequests"),
        ("array", "users", "oauth2RefreshTokens"),
        ("array", "providers", "userProviders"),
        ("object", "user_security_keys", "user"),
        ("object", "oauth2_clients", "createdByUser"),
        ("array", "oauth2_clients", "authRequests"),
        ("array", "oauth2_clients", "oauth2RefreshTokens"),
        ("object", "oauth2_auth_requests", "client"),
        ("object", "oauth2_auth_requests", "user"),
        ("array", "oauth2_auth_requests", "authorizationCodes"),
        ("array", "oauth2_auth_requests", "refreshTokens"),
        ("object", "oauth2_authorization_codes", "authRequest"),
        ("object", "oauth2_refresh_tokens", "authRequest"),
        ("object", "oauth2_refresh_tokens", "client"),
        ("object", "oauth2_refresh_tokens", "user"),
    ]
    .iter()
    .map(|(k, t, n)| {
        (
            format!("{k}_relationship"),
            (*t).to_owned(),
            (*n).to_owned(),
        )
    })
    .collect();
    assert_eq!(relationships, expected);
    let object = requests
        .iter()
        .find(|r| {
            r.json()["args"]["name"] == "createdByUser" && r.json()["type"] != "pg_track_table"
        })
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&object.body).unwrap(),
        r#"{"type":"pg_create_object_relationship","args":{"table":{"schema":"auth","name":"oauth2_clients"},"name":"createdByUser","source":"default","using":{"foreign_key_constraint_on":["created_by"]}}}"#
    );
    assert_eq!(
        std::str::from_utf8(&requests[13 + 13].body).unwrap(),
        r#"{"type":"pg_create_array_relationship","args":{"table":{"schema":"auth","name":"users"},"name":"oauth2AuthRequests","source":"default","using":{"foreign_key_constraint_on":{"table":{"schema":"auth","name":"oauth2_auth_requests"},"columns":["user_id"]}}}}"#
    );
    assert_eq!(app.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn metadata_sync_waits_for_a_hasura_that_is_still_starting() {
    let addr = reserved_addr().await;
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        // Starting up: two 503s, then it works.
        Fake::start_on(addr, |_, n| {
            if n < 2 {
                Answer::text(503, "starting")
            } else {
                Answer::json(200, json!({"message": "success"}))
            }
        })
        .await
    });
    let (result, _db) = start(&[
        format!("--graphql-url=http://{addr}/v1/graphql"),
        secret_flag(),
        "--hasura-metadata-sync-timeout=30s".into(),
    ])
    .await;
    result.expect("start-up succeeds once Hasura answers");
    let hasura = late.await.unwrap();
    let requests = hasura.requests();
    assert_eq!(requests.len(), 2 + V052_REQUESTS, "two refused, then all");
    let tables: Vec<String> = requests[2..]
        .iter()
        .map(|r| {
            r.json()["args"]["table"]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(tables[0], "provider_requests");
    assert_eq!(tables[8], "user_security_keys");
}

#[tokio::test]
async fn metadata_sync_gives_up_after_its_time_with_a_clear_message() {
    let addr = reserved_addr().await;
    let started = Instant::now();
    let (result, _db) = start(&[
        format!("--graphql-url=http://{addr}/v1/graphql"),
        "--hasura-metadata-sync-timeout=1s".into(),
    ])
    .await;
    let message = result.expect_err("no Hasura: start-up fails").to_string();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(message.contains("auth.provider_requests"), "{message}");
    assert!(
        message.contains("AUTH_HASURA_METADATA_SYNC=false"),
        "{message}"
    );
    assert!(message.contains("attempts"), "{message}");
}

#[tokio::test]
async fn metadata_sync_fails_at_once_on_a_real_error() {
    let hasura = Fake::start(|_, _| {
        Answer::json(
            400,
            json!({"path": "$", "error": "invalid x-hasura-admin-secret/x-hasura-access-key", "code": "access-denied"}),
        )
    })
    .await;
    let started = Instant::now();
    let (result, _db) = start(&[graphql_url(&hasura), "--hasura-admin-secret=wrong".into()]).await;
    let message = result.expect_err("refused").to_string();
    assert!(started.elapsed() < Duration::from_secs(10), "no retry loop");
    assert_eq!(hasura.requests().len(), 1);
    assert!(message.contains("access-denied"), "{message}");
    assert!(message.contains("HTTP 400"), "{message}");
}

#[tokio::test]
async fn metadata_sync_can_be_skipped() {
    let hasura = Fake::start(|_, _| Answer::json(500, json!({}))).await;
    let app = TestApp::with(&[
        &graphql_url(&hasura),
        &secret_flag(),
        "--hasura-metadata-sync=false",
    ])
    .await;
    assert_eq!(app.get("/healthz").await.status, 200);
    assert!(hasura.requests().is_empty());
    // No GraphQL URL at all (development): skipped too, the server starts.
    let dev = TestApp::spawn().await;
    assert_eq!(dev.get("/healthz").await.status, 200);
}
