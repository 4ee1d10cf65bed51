//! `GET /signin/provider/{provider}` (→ the provider), its callback by `GET` and by
//! `POST` (Apple's `form_post`), and `GET …/callback/tokens` (the provider's tokens).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::adapters::oauth::{OAuthProviders, ProviderSpecificParams};
use crate::contract::Generation;
use crate::domain::CodeChallenge;
use crate::domain::options::{DisplayName, LocaleCode, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::{ApiForm, ApiQuery, Bearer, parse_json};
use crate::http::verify::{error_redirect, redirect};
use crate::service::oauth::OAuthSignIn;
use crate::service::oauth::{
    CallbackOutcome, ProviderCallback, ProviderSession, ProviderSignIn, StartError,
};
use crate::service::registration::Origin;
use crate::service::verify::with_query;
use crate::settings::SettingsHandle;

/// Query of `GET /signin/provider/{provider}`. The SDK spreads the objects
/// `providerSpecificParams` and `upstreamParams` (form-exploded) into the query: every
/// parameter that is not one of the fields below is an `upstreamParams` entry, passed on
/// to the provider's authorization URL (`upstreamParams[name]=value` is read as `name`).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StartQuery {
    allowed_roles: Option<String>,
    default_role: Option<String>,
    display_name: Option<String>,
    locale: Option<String>,
    metadata: Option<String>,
    redirect_to: Option<String>,
    connect: Option<String>,
    state: Option<String>,
    connection: Option<String>,
    organization: Option<String>,
    code_challenge: Option<String>,
    #[serde(flatten)]
    upstream_params: BTreeMap<String, String>,
}

/// Authorization-URL parameters the service sets and `upstreamParams` may not: the
/// client, the callback, the single-use state and nonce, the flow and its PKCE, the
/// operator's scopes (`AUTH_PROVIDER_*_SCOPE`), Apple's response mode, OAuth 1.0a's
/// request token.
const OWNED_PARAMS: [&str; 10] = [
    "client_id",
    "redirect_uri",
    "state",
    "nonce",
    "response_type",
    "response_mode",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "oauth_token",
];

/// At most this many `upstreamParams` entries.
const MAX_UPSTREAM_PARAMS: usize = 20;

fn upstream_params(query: BTreeMap<String, String>) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for (name, value) in query {
        let name = name
            .strip_prefix("upstreamParams[")
            .and_then(|n| n.strip_suffix(']'))
            .map(str::to_owned)
            .unwrap_or(name);
        if name.is_empty() {
            continue;
        }
        if OWNED_PARAMS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ApiError::schema_violation(format!(
                "upstreamParams may not set {name:?}: the service sets it"
            )));
        }
        out.push((name, value));
    }
    if out.len() > MAX_UPSTREAM_PARAMS {
        return Err(ApiError::schema_violation(format!(
            "at most {MAX_UPSTREAM_PARAMS} upstreamParams"
        )));
    }
    Ok(out)
}

fn provider_name(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(name) = path.map_err(|e| ApiError::validation(format!("invalid path: {e}")))?;
    if OAuthProviders::is_known(&name) {
        Ok(name)
    } else {
        Err(ApiError::schema_violation(format!(
            "unknown provider {name:?}"
        )))
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

impl StartQuery {
    fn into_request(self, provider: String, origin: Origin) -> Result<ProviderSignIn, ApiError> {
        let code_challenge = non_empty(self.code_challenge)
            .map(|c| CodeChallenge::parse(&c))
            .transpose()
            .map_err(ApiError::schema_violation)?;
        let allowed_roles = non_empty(self.allowed_roles).map(|roles| {
            roles
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect()
        });
        let display_name = non_empty(self.display_name)
            .map(DisplayName::parse)
            .transpose()
            .map_err(ApiError::schema_violation)?;
        let locale = non_empty(self.locale)
            .map(LocaleCode::parse)
            .transpose()
            .map_err(ApiError::schema_violation)?;
        let metadata = non_empty(self.metadata)
            .map(|m| parse_json::<Map<String, Value>>(m.as_bytes()))
            .transpose()
            .map_err(|_| {
                ApiError::schema_violation("metadata must be a JSON object, without NUL")
            })?;
        Ok(ProviderSignIn {
            provider,
            options: SignUpOptionsInput {
                allowed_roles,
                default_role: non_empty(self.default_role),
                display_name,
                locale,
                metadata,
                redirect_to: non_empty(self.redirect_to),
            },
            connect: non_empty(self.connect),
            client_state: non_empty(self.state),
            specific: ProviderSpecificParams {
                connection: non_empty(self.connection),
                organization: non_empty(self.organization),
            },
            code_challenge,
            upstream_params: upstream_params(self.upstream_params)?,
            origin,
        })
    }
}

pub async fn start(
    State(oauth): State<Arc<OAuthSignIn>>,
    State(settings): State<SettingsHandle>,
    path: Result<Path<String>, PathRejection>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    let provider = provider_name(path)?;
    let request = query.into_request(provider, Origin::SignIn)?;
    start_redirect(&oauth, &settings, request).await
}

/// `GET /signup/provider/{provider}`: the same query without `connect`; at the callback
/// an account that already exists gets `error=user-already-exists`.
pub async fn sign_up(
    State(oauth): State<Arc<OAuthSignIn>>,
    State(settings): State<SettingsHandle>,
    path: Result<Path<String>, PathRejection>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    let provider = provider_name(path)?;
    if query.connect.is_some() {
        return Err(ApiError::validation(
            "connect is not a parameter of sign-up",
        ));
    }
    let request = query.into_request(provider, Origin::SignUp)?;
    start_redirect(&oauth, &settings, request).await
}

async fn start_redirect(
    oauth: &OAuthSignIn,
    settings: &SettingsHandle,
    request: ProviderSignIn,
) -> Result<Response, ApiError> {
    Ok(match oauth.start_provider_sign_in(request).await {
        Ok(location) => redirect(&location),
        Err(StartError::Json(e)) => e.into_response(),
        Err(StartError::Redirect { to, code }) => error_redirect(settings, &to, code),
    })
}

/// Fields of the callback (query or form); others are ignored.
#[derive(Deserialize, Default)]
pub struct CallbackParams {
    state: Option<String>,
    code: Option<String>,
    id_token: Option<String>,
    oauth_token: Option<String>,
    oauth_verifier: Option<String>,
    user: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    error_uri: Option<String>,
}

async fn callback(
    oauth: &OAuthSignIn,
    settings: &SettingsHandle,
    generation: Generation,
    provider: String,
    params: CallbackParams,
) -> Result<Response, ApiError> {
    let cb_state = non_empty(params.state)
        .ok_or_else(|| ApiError::validation("query argument state is required"))?;
    let outcome = oauth
        .provider_callback(ProviderCallback {
            provider,
            state: cb_state,
            code: params.code,
            id_token: params.id_token,
            oauth_token: params.oauth_token,
            oauth_verifier: params.oauth_verifier,
            user: params.user,
            error: params.error,
            error_description: params.error_description,
            error_uri: params.error_uri,
        })
        .await?;
    Ok(outcome_redirect(settings, generation, outcome))
}

fn outcome_redirect(
    settings: &SettingsHandle,
    generation: Generation,
    outcome: CallbackOutcome,
) -> Response {
    let mut pairs: Vec<(&str, String)> = outcome.params;
    if let Some(code) = outcome.error {
        let code = code
            .in_generation(generation)
            .visible(settings.config().server.conceal_errors);
        pairs.push(("error", code.as_str().to_owned()));
        pairs.push(("errorDescription", code.message().to_owned()));
    }
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    redirect(&with_query(&outcome.target, &refs))
}

pub async fn callback_get(
    State(oauth): State<Arc<OAuthSignIn>>,
    State(settings): State<SettingsHandle>,
    State(generation): State<Generation>,
    path: Result<Path<String>, PathRejection>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Result<Response, ApiError> {
    let provider = provider_name(path)?;
    callback(&oauth, &settings, generation, provider, params).await
}

pub async fn callback_post(
    State(oauth): State<Arc<OAuthSignIn>>,
    State(settings): State<SettingsHandle>,
    State(generation): State<Generation>,
    path: Result<Path<String>, PathRejection>,
    ApiForm(mut fields): ApiForm<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let provider = provider_name(path)?;
    let params = CallbackParams {
        state: fields.remove("state"),
        code: fields.remove("code"),
        id_token: fields.remove("id_token"),
        oauth_token: None,
        oauth_verifier: None,
        user: fields.remove("user"),
        error: fields.remove("error"),
        error_description: fields.remove("error_description"),
        error_uri: fields.remove("error_uri"),
    };
    callback(&oauth, &settings, generation, provider, params).await
}

/// `GET /signin/provider/{provider}/callback/tokens` (bearer).
pub async fn tokens(
    State(oauth): State<Arc<OAuthSignIn>>,
    Bearer(token): Bearer,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<ProviderSession>, ApiError> {
    let provider = provider_name(path)?;
    Ok(Json(oauth.take_provider_session(&token, &provider).await?))
}
