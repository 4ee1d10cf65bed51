//! Drives a browser through the redirects: the app → the provider → the callback → the
//! application's redirect URL.

use std::collections::HashMap;

use serde_json::Value;

use super::support::app::{Reply, TestApp};

/// Where the browser ends up after the callback.
pub struct Landing {
    pub location: String,
    pub params: HashMap<String, String>,
}

impl Landing {
    pub fn parse(location: &str) -> Landing {
        let url = url::Url::parse(location).unwrap_or_else(|e| panic!("{location:?}: {e}"));
        Landing {
            location: location.to_owned(),
            params: url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    #[track_caller]
    pub fn refresh_token(&self) -> String {
        assert_eq!(
            self.get("error"),
            None,
            "no error expected: {}",
            self.location
        );
        self.get("refreshToken")
            .unwrap_or_else(|| panic!("no refreshToken in {}", self.location))
            .to_owned()
    }

    #[track_caller]
    pub fn assert_error(&self, code: &str) {
        assert_eq!(self.get("error"), Some(code), "{}", self.location);
        assert!(self.get("errorDescription").is_some(), "{}", self.location);
        assert_eq!(self.get("refreshToken"), None, "{}", self.location);
    }

    /// The location without its query.
    pub fn base(&self) -> &str {
        self.location.split('?').next().unwrap_or_default()
    }
}

/// `GET /signin/provider/{provider}?{query}`.
pub async fn start(app: &TestApp, provider: &str, query: &str) -> Reply {
    let path = if query.is_empty() {
        format!("/signin/provider/{provider}")
    } else {
        format!("/signin/provider/{provider}?{query}")
    };
    app.get(&path).await
}

/// The provider's page (consent granted at once), then the callback it sends the
/// browser to (GET, or the auto-submitted form of `form_post`). Returns the callback's
/// answer.
pub async fn through_provider(app: &TestApp, provider_url: &str) -> Reply {
    let at_provider = Reply::read(app.http.get(provider_url).send().await.expect("provider")).await;
    match at_provider.status.as_u16() {
        302 => {
            let callback = at_provider.location();
            Reply::read(app.http.get(&callback).send().await.expect("callback")).await
        }
        200 => {
            let action = at_provider.body["action"]
                .as_str()
                .expect("form action")
                .to_owned();
            let form: Vec<(String, String)> = at_provider.body["form"]
                .as_object()
                .expect("form fields")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            Reply::read(
                app.http
                    .post(&action)
                    .form(&form)
                    .send()
                    .await
                    .expect("callback"),
            )
            .await
        }
        other => panic!("provider answered {other}: {}", at_provider.text),
    }
}

/// The whole round trip; panics unless every step redirects.
pub async fn sign_in(app: &TestApp, provider: &str, query: &str) -> Landing {
    let started = start(app, provider, query).await;
    assert_eq!(started.status, 302, "start: {}", started.text);
    let callback = through_provider(app, &started.location()).await;
    assert_eq!(callback.status, 302, "callback: {}", callback.text);
    Landing::parse(&callback.location())
}

/// `POST /token`: the session behind a refresh token.
pub async fn session(app: &TestApp, refresh_token: &str) -> Value {
    let r = app
        .post(
            "/token",
            serde_json::json!({ "refreshToken": refresh_token }),
        )
        .await;
    assert_eq!(r.status, 200, "refresh: {}", r.text);
    r.body
}

/// Rows of `auth.user_providers` for a provider: (user_id, provider_user_id, access_token, refresh_token).
pub async fn links(app: &TestApp, provider: &str) -> Vec<(String, String, String, Option<String>)> {
    let client = app.db.client().await;
    client
        .query(
            "SELECT user_id::text, provider_user_id, access_token, refresh_token FROM auth.user_providers \
             WHERE provider_id = $1 ORDER BY created_at",
            &[&provider],
        )
        .await
        .expect("query links")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

/// One column of the user with this id, as text.
pub async fn user_field(app: &TestApp, user_id: &str, column: &str) -> Option<String> {
    let client = app.db.client().await;
    let sql = format!("SELECT {column}::text FROM auth.users WHERE id::text = $1");
    client
        .query_opt(&sql, &[&user_id])
        .await
        .expect("query user")
        .and_then(|r| r.get(0))
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    let client = app.db.client().await;
    client.query_one(sql, &[]).await.expect("count").get(0)
}
