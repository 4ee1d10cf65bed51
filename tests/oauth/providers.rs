//! Each OAuth 2.0 provider signs a new user up through the full redirect flow against a
//! local server answering with the provider's documented profile JSON; the user gets
//! the provider's id, email, verification flag, name and avatar as upstream maps them.
//! (Apple, Twitter and the generic OpenID Connect provider have their own files.)

use serde_json::{Value, json};

use super::fake_provider::{ClientAuth, FakeProvider, Settings};
use super::flow;
use super::support::app::TestApp;
use super::{app, oauth2_flags};

struct Expect {
    id: &'static str,
    email: Option<&'static str>,
    verified: bool,
    name: &'static str,
    avatar: &'static str,
}

/// Signs up through the provider and checks the new user and its link.
async fn signs_up(app: &TestApp, provider: &str, query: &str, expect: Expect) -> Value {
    let landing = flow::sign_in(app, provider, query).await;
    assert_eq!(
        landing.base(),
        "http://localhost:3000/",
        "{}",
        landing.location
    );
    let session = flow::session(app, &landing.refresh_token()).await;
    let user = &session["user"];
    assert_eq!(user["email"].as_str(), expect.email, "email: {user}");
    assert_eq!(
        user["emailVerified"], expect.verified,
        "emailVerified: {user}"
    );
    assert_eq!(user["displayName"], expect.name, "displayName: {user}");
    if expect.avatar.is_empty() && expect.email.is_some() {
        // No picture from the provider: Gravatar, as upstream.
        assert!(
            user["avatarUrl"]
                .as_str()
                .is_some_and(|a| a.starts_with("https://www.gravatar.com/avatar/")),
            "avatarUrl: {user}"
        );
    } else {
        assert_eq!(user["avatarUrl"], expect.avatar, "avatarUrl: {user}");
    }
    let links = flow::links(app, provider).await;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].0, user["id"].as_str().unwrap_or_default());
    assert_eq!(links[0].1, expect.id);
    assert!(
        links[0].2.starts_with("at-"),
        "provider access token kept: {links:?}"
    );
    session
}

fn settings(name: &str, auth: ClientAuth) -> Settings {
    Settings::new(&format!("client-{name}"), &format!("secret-{name}"), auth)
}

#[tokio::test]
async fn github_maps_the_user_and_its_primary_verified_email_with_pkce() {
    let fake = FakeProvider::start(
        settings("github", ClientAuth::Body)
            .profile(
                "/user",
                json!({"login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                       "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
                       "type": "User", "name": "The Octocat", "company": "@github",
                       "email": null, "created_at": "2011-01-25T18:44:36Z"}),
            )
            .profile(
                "/user/emails",
                json!([
                    {"email": "old@github.test", "verified": false, "primary": false, "visibility": null},
                    {"email": "octocat@github.test", "verified": true, "primary": true, "visibility": "public"}
                ]),
            ),
    )
    .await;
    let mut flags = oauth2_flags("github", &fake, "/user");
    flags.push(format!(
        "--github-user-emails-url={}",
        fake.url("/user/emails")
    ));
    let app = app(&flags, &[]).await;
    signs_up(
        &app,
        "github",
        "",
        Expect {
            id: "583231",
            email: Some("octocat@github.test"),
            verified: true,
            name: "The Octocat",
            avatar: "https://avatars.githubusercontent.com/u/583231?v=4",
        },
    )
    .await;
    let authorize = fake.last_authorize();
    assert_eq!(authorize["scope"], "user:email");
    assert_eq!(authorize["code_challenge_method"], "S256");
    assert_eq!(
        authorize["redirect_uri"],
        format!("{}/signin/provider/github/callback", app.base)
    );
    assert!(fake.last_token_request().contains_key("code_verifier"));
}

#[tokio::test]
async fn google_maps_userinfo_and_uses_the_provider_locale() {
    let fake = FakeProvider::start(settings("google", ClientAuth::Body).profile(
        "/oauth2/v2/userinfo",
        json!({"id": "109876543210987654321", "email": "jane@gmail.test", "verified_email": true,
               "name": "Jane Doe", "given_name": "Jane", "family_name": "Doe",
               "picture": "https://lh3.googleusercontent.com/a/photo.jpg", "locale": "fr"}),
    ))
    .await;
    let flags = oauth2_flags("google", &fake, "/oauth2/v2/userinfo");
    let app = app(&flags, &["--allowed-locales=en,fr"]).await;
    let session = signs_up(
        &app,
        "google",
        "",
        Expect {
            id: "109876543210987654321",
            email: Some("jane@gmail.test"),
            verified: true,
            name: "Jane Doe",
            avatar: "https://lh3.googleusercontent.com/a/photo.jpg",
        },
    )
    .await;
    assert_eq!(session["user"]["locale"], "fr");
    let authorize = fake.last_authorize();
    assert_eq!(authorize["scope"], "openid email profile");
    assert_eq!(authorize["response_type"], "code");
    assert!(authorize.contains_key("code_challenge"));
}

#[tokio::test]
async fn discord_maps_username_discriminator_and_cdn_avatar() {
    let fake = FakeProvider::start(settings("discord", ClientAuth::Body).profile(
        "/users/@me",
        json!({"id": "80351110224678912", "username": "nelly", "discriminator": "1337",
               "avatar": "8342729096ea3675442027381ff50dfe", "verified": true,
               "email": "nelly@discord.test", "flags": 64, "premium_type": 1,
               "public_flags": 64, "locale": "en-US", "mfa_enabled": false}),
    ))
    .await;
    let app = app(&oauth2_flags("discord", &fake, "/users/@me"), &[]).await;
    signs_up(
        &app,
        "discord",
        "",
        Expect {
            id: "80351110224678912",
            email: Some("nelly@discord.test"),
            verified: true,
            name: "nelly#1337",
            avatar: "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png",
        },
    )
    .await;
    assert_eq!(fake.last_authorize()["scope"], "identify email");
    assert!(!fake.last_authorize().contains_key("code_challenge"));
}

#[tokio::test]
async fn facebook_asks_for_the_fields_and_maps_the_picture() {
    let fake = FakeProvider::start(settings("facebook", ClientAuth::Body).profile(
        "/me",
        json!({"id": "10158123456789012", "name": "Jane Fb", "email": "jane@facebook.test",
               "picture": {"data": {"height": 50, "is_silhouette": false,
                                    "url": "https://platform-lookaside.fbsbx.com/p.jpg", "width": 50}}}),
    ))
    .await;
    let app = app(&oauth2_flags("facebook", &fake, "/me"), &[]).await;
    signs_up(
        &app,
        "facebook",
        "",
        Expect {
            id: "10158123456789012",
            email: Some("jane@facebook.test"),
            verified: true,
            name: "Jane Fb",
            avatar: "https://platform-lookaside.fbsbx.com/p.jpg",
        },
    )
    .await;
    assert!(
        fake.profile_requests()
            .iter()
            .any(|u| u.contains("fields=id%2Cname%2Cemail%2Cpicture")),
        "{:?}",
        fake.profile_requests()
    );
}

#[tokio::test]
async fn linkedin_maps_openid_userinfo() {
    let fake = FakeProvider::start(settings("linkedin", ClientAuth::Body).profile(
        "/v2/userinfo",
        json!({"sub": "782bbtaQ", "name": "John Doe", "given_name": "John", "family_name": "Doe",
               "picture": "https://media.licdn.com/dms/image/photo.jpg",
               "locale": {"country": "US", "language": "en"},
               "email": "doe@linkedin.test", "email_verified": true}),
    ))
    .await;
    let app = app(&oauth2_flags("linkedin", &fake, "/v2/userinfo"), &[]).await;
    signs_up(
        &app,
        "linkedin",
        "",
        Expect {
            id: "782bbtaQ",
            email: Some("doe@linkedin.test"),
            verified: true,
            name: "John Doe",
            avatar: "https://media.licdn.com/dms/image/photo.jpg",
        },
    )
    .await;
}

#[tokio::test]
async fn spotify_authenticates_with_basic_and_maps_the_first_image() {
    let fake = FakeProvider::start(settings("spotify", ClientAuth::Basic).profile(
        "/v1/me",
        json!({"country": "SE", "display_name": "JM Wizzler", "email": "email@spotify.test",
               "explicit_content": {"filter_enabled": false, "filter_locked": false},
               "external_urls": {"spotify": "https://open.spotify.com/user/wizzler"},
               "followers": {"href": null, "total": 3829}, "href": "https://api.spotify.com/v1/users/wizzler",
               "id": "wizzler",
               "images": [{"url": "https://i.scdn.co/image/ab67616d00001e02", "height": 300, "width": 300}],
               "product": "premium", "type": "user", "uri": "spotify:user:wizzler"}),
    ))
    .await;
    let app = app(&oauth2_flags("spotify", &fake, "/v1/me"), &[]).await;
    signs_up(
        &app,
        "spotify",
        "",
        Expect {
            id: "wizzler",
            email: Some("email@spotify.test"),
            verified: true,
            name: "JM Wizzler",
            avatar: "https://i.scdn.co/image/ab67616d00001e02",
        },
    )
    .await;
    assert!(!fake.last_token_request().contains_key("client_secret"));
}

#[tokio::test]
async fn strava_athletes_have_no_email_and_can_refresh_their_session() {
    let mut s = settings("strava", ClientAuth::Body).profile(
        "/athlete",
        json!({"id": 1234567890987654321u64, "username": "marianne_t", "resource_state": 3,
               "firstname": "Marianne", "lastname": "Teutenberg", "city": "San Francisco",
               "profile_medium": "https://xxxxxx.cloudfront.net/pictures/athletes/123/medium.jpg",
               "profile": "https://xxxxx.cloudfront.net/pictures/athletes/123/large.jpg"}),
    );
    // Strava's token answer carries the athlete and an absolute expiry too.
    s.token_extra = json!({"token_type": "Bearer", "expires_at": 1568775134,
                           "athlete": {"id": 1234567890987654321u64}});
    let fake = FakeProvider::start(s).await;
    let mut flags = oauth2_flags("strava", &fake, "/athlete");
    flags.push("--strava-scope=read,profile:read_all".to_owned());
    // Email verification is required by default: users without an email are not
    // subject to it.
    let app = app(&flags, &[]).await;
    let session = signs_up(
        &app,
        "strava",
        "",
        Expect {
            id: "1234567890987654321",
            email: None,
            verified: false,
            name: "Marianne Teutenberg",
            avatar: "https://xxxxxx.cloudfront.net/pictures/athletes/123/medium.jpg",
        },
    )
    .await;
    let authorize = fake.last_authorize();
    assert_eq!(authorize["approval_prompt"], "force");
    assert_eq!(authorize["scope"], "read,profile:read_all");
    // The new session refreshes like any other.
    flow::session(&app, session["refreshToken"].as_str().unwrap_or_default()).await;
}

#[tokio::test]
async fn twitch_sends_the_client_id_and_reads_helix_users() {
    let mut s = settings("twitch", ClientAuth::Body).profile(
        "/helix/users",
        json!({"data": [{"id": "141981764", "login": "twitchdev", "display_name": "TwitchDev",
                         "type": "", "broadcaster_type": "partner",
                         "description": "Supporting third-party developers",
                         "profile_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/profile.png",
                         "offline_image_url": "https://static-cdn.jtvnw.net/jtv_user_pictures/offline.png",
                         "view_count": 5980557, "email": "not-real@twitch.test",
                         "created_at": "2016-12-14T20:32:28Z"}]}),
    );
    s.profile_headers = vec![("client-id".into(), "client-twitch".into())];
    // Twitch answers the scope as a list.
    s.token_extra = json!({"scope": ["user:read:email"]});
    let fake = FakeProvider::start(s).await;
    let app = app(&oauth2_flags("twitch", &fake, "/helix/users"), &[]).await;
    signs_up(
        &app,
        "twitch",
        "",
        Expect {
            id: "141981764",
            email: Some("not-real@twitch.test"),
            verified: true,
            name: "TwitchDev",
            avatar: "https://static-cdn.jtvnw.net/jtv_user_pictures/profile.png",
        },
    )
    .await;
}

#[tokio::test]
async fn gitlab_trusts_only_confirmed_emails() {
    let fake = FakeProvider::start(settings("gitlab", ClientAuth::Body).profile(
        "/api/v4/user",
        json!({"id": 1, "username": "john_smith", "name": "John Smith", "state": "active",
               "avatar_url": "https://gitlab.test/uploads/user/avatar/1/index.jpg",
               "web_url": "https://gitlab.test/john_smith", "email": "john@gitlab.test",
               "confirmed_at": "2012-05-23T09:05:22Z"}),
    ))
    .await;
    let app = app(&oauth2_flags("gitlab", &fake, "/api/v4/user"), &[]).await;
    signs_up(
        &app,
        "gitlab",
        "",
        Expect {
            id: "1",
            email: Some("john@gitlab.test"),
            verified: true,
            name: "John Smith",
            avatar: "https://gitlab.test/uploads/user/avatar/1/index.jpg",
        },
    )
    .await;
    assert!(fake.last_authorize().contains_key("code_challenge"));
}

#[tokio::test]
async fn bitbucket_uses_the_confirmed_primary_email() {
    let fake = FakeProvider::start(
        settings("bitbucket", ClientAuth::Basic)
            .profile(
                "/2.0/user",
                json!({"uuid": "{b9d7f3f0-7c1b-4e25-8d2c-0a4f7d1e3c22}", "display_name": "Emma",
                       "account_id": "557058:1", "nickname": "emma", "type": "user",
                       "links": {"avatar": {"href": "https://avatar-management.test/emma.png"}}}),
            )
            .profile(
                "/2.0/user/emails",
                json!({"pagelen": 10, "page": 1, "size": 2, "values": [
                    {"email": "unconfirmed@bitbucket.test", "is_primary": false, "is_confirmed": false, "type": "email"},
                    {"email": "emma@bitbucket.test", "is_primary": true, "is_confirmed": true, "type": "email"}
                ]}),
            ),
    )
    .await;
    let mut flags = oauth2_flags("bitbucket", &fake, "/2.0/user");
    flags.push(format!(
        "--bitbucket-user-emails-url={}",
        fake.url("/2.0/user/emails")
    ));
    let app = app(&flags, &[]).await;
    signs_up(
        &app,
        "bitbucket",
        "",
        Expect {
            id: "{b9d7f3f0-7c1b-4e25-8d2c-0a4f7d1e3c22}",
            email: Some("emma@bitbucket.test"),
            verified: true,
            name: "Emma",
            avatar: "https://avatar-management.test/emma.png",
        },
    )
    .await;
}

#[tokio::test]
async fn windowslive_maps_the_preferred_email() {
    let fake = FakeProvider::start(settings("windowslive", ClientAuth::Body).profile(
        "/v5.0/me",
        json!({"id": "8c8ce076ca27823f", "name": "Roberto Tamburello", "first_name": "Roberto",
               "last_name": "Tamburello", "gender": null, "locale": "en_US",
               "emails": {"preferred": "roberto@live.test", "account": "roberto@outlook.test",
                          "personal": null, "business": null}}),
    ))
    .await;
    let app = app(&oauth2_flags("windowslive", &fake, "/v5.0/me"), &[]).await;
    signs_up(
        &app,
        "windowslive",
        "",
        Expect {
            id: "8c8ce076ca27823f",
            email: Some("roberto@live.test"),
            verified: true,
            name: "Roberto Tamburello",
            avatar: "",
        },
    )
    .await;
    assert_eq!(fake.last_authorize()["scope"], "wl.basic wl.emails");
}

#[tokio::test]
async fn workos_passes_organization_and_default_connection_and_reads_the_sso_profile() {
    let mut s = settings("workos", ClientAuth::Body).profile(
        "/sso/profile",
        json!({"id": "prof_01DMC79VCBZ0NY2099737PSVF1", "connection_id": "conn_01E4ZCR3C56J083X43JQXF3JK5",
               "connection_type": "OktaSAML", "organization_id": "org_01EHWNCE74X7JSDV0X3SZ3KJNY",
               "email": "todd@workos.test", "first_name": "Todd", "last_name": "Rundgren",
               "idp_id": "00u1a0ufowBJlzPlk357", "raw_attributes": {}}),
    );
    // WorkOS answers without token_type, expiry or refresh token, with the profile inline.
    s.token_extra = json!({"token_type": null, "expires_in": null, "refresh_token": null,
                           "scope": null, "profile": {"id": "prof_01DMC79VCBZ0NY2099737PSVF1"}});
    let fake = FakeProvider::start(s).await;
    let mut flags = oauth2_flags("workos", &fake, "/sso/profile");
    flags.push("--workos-default-connection=conn_default".into());
    flags.push("--workos-default-domain=workos.test".into());
    let app = app(&flags, &[]).await;
    signs_up(
        &app,
        "workos",
        "organization=org_requested",
        Expect {
            id: "prof_01DMC79VCBZ0NY2099737PSVF1",
            email: Some("todd@workos.test"),
            verified: true,
            name: "Todd Rundgren",
            avatar: "",
        },
    )
    .await;
    let authorize = fake.last_authorize();
    assert_eq!(authorize["organization"], "org_requested");
    assert_eq!(authorize["connection"], "conn_default");
    assert_eq!(authorize["domain"], "workos.test");
}

#[tokio::test]
async fn azuread_uses_only_the_email_claim() {
    let fake = FakeProvider::start(settings("azuread", ClientAuth::Body).profile(
        "/openid/userinfo",
        json!({"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
               "oid": "00000000-0000-0000-66f3-3332eca7ea81", "name": "Megan Bowen",
               "email": "megan@contoso.test", "preferred_username": "ceo@target.test",
               "upn": "ceo@target.test"}),
    ))
    .await;
    let app = app(&oauth2_flags("azuread", &fake, "/openid/userinfo"), &[]).await;
    signs_up(
        &app,
        "azuread",
        "",
        Expect {
            id: "00000000-0000-0000-66f3-3332eca7ea81",
            email: Some("megan@contoso.test"),
            verified: true,
            name: "Megan Bowen",
            avatar: "",
        },
    )
    .await;
    assert_eq!(
        fake.last_authorize()["scope"],
        "email profile openid offline_access"
    );
}

#[tokio::test]
async fn entraid_maps_graph_userinfo() {
    let fake = FakeProvider::start(settings("entraid", ClientAuth::Body).profile(
        "/oidc/userinfo",
        json!({"sub": "OLu859SGc2Sr9ZsqbkG-QbeLgJlb41KcdiPoLYNpSFA", "name": "Megan Bowen",
               "family_name": "Bowen", "given_name": "Megan",
               "picture": "https://graph.microsoft.com/v1.0/me/photo/$value",
               "email": "MeganB@entra.test", "email_verified": true}),
    ))
    .await;
    let app = app(&oauth2_flags("entraid", &fake, "/oidc/userinfo"), &[]).await;
    signs_up(
        &app,
        "entraid",
        "",
        Expect {
            id: "OLu859SGc2Sr9ZsqbkG-QbeLgJlb41KcdiPoLYNpSFA",
            email: Some("MeganB@entra.test"),
            verified: true,
            name: "Megan Bowen",
            avatar: "",
        },
    )
    .await;
    assert!(fake.last_authorize().contains_key("code_challenge"));
}

#[tokio::test]
async fn azure_endpoints_default_to_the_tenant() {
    // No URL overrides: the authorization URL is built from the tenant.
    let app = TestApp::with(&[
        "--azuread-enabled",
        "--azuread-client-id=client-azuread",
        "--azuread-tenant=contoso.onmicrosoft.com",
        "--entraid-enabled",
        "--entraid-client-id=client-entraid",
        "--entraid-tenant=organizations",
    ])
    .await;
    let r = flow::start(&app, "azuread", "").await;
    assert_eq!(r.status, 302);
    assert!(
        r.location().starts_with(
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/authorize?prompt=select_account&"
        ),
        "{}",
        r.location()
    );
    let r = flow::start(&app, "entraid", "").await;
    assert!(
        r.location()
            .starts_with("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?"),
        "{}",
        r.location()
    );
}

#[tokio::test]
async fn twitter_signs_in_with_oauth1_signed_requests() {
    let fake = super::fake_twitter::FakeTwitter::start(json!({
        "id": 6253282, "id_str": "6253282", "name": "Twitter API", "screen_name": "TwitterAPI",
        "location": "San Francisco, CA", "email": "api@twitter.test", "verified": true,
        "profile_image_url_https": "https://pbs.twimg.com/profile_images/api_normal.png"
    }))
    .await;
    let app = app(&fake.flags(), &[]).await;
    let landing = flow::sign_in(&app, "twitter", "state=tw").await;
    assert_eq!(landing.get("state"), Some("tw"));
    let user = flow::session(&app, &landing.refresh_token()).await["user"].clone();
    assert_eq!(user["email"], "api@twitter.test");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Twitter API");
    assert_eq!(
        user["avatarUrl"],
        "https://pbs.twimg.com/profile_images/api_normal.png"
    );
    let links = flow::links(&app, "twitter").await;
    assert_eq!(links[0].1, "6253282");
    assert!(links[0].2.starts_with("acc-"));
    assert!(fake.failures().is_empty(), "{:?}", fake.failures());
}
