//! Sessions: an access token plus a rotating refresh token, in upstream's JSON shape.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::{DbPool, refresh_tokens, users::UserRow};
use crate::error::{ApiError, ErrorCode};
use crate::metrics::Metrics;
use crate::service::audit::{self, Outcome};
use crate::service::custom_claims::ClaimsSource;
use crate::service::user_check::{Tolerate, check_user};
use crate::settings::SettingsHandle;
use crate::tokens::refresh::{RefreshToken, SuccessorKey};
use crate::tokens::secret::Redacted;
use crate::tokens::{AccessClaims, JwtKeys, VerifiedToken};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_token: Redacted,
    pub access_token_expires_in: i64,
    pub refresh_token: Redacted,
    pub refresh_token_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
}

/// A former token presented again within the reuse interval: the chain's current state.
struct Raced {
    token_id: Uuid,
    current: RefreshToken,
    user: UserRow,
    roles: Vec<String>,
}

/// What `POST /user/sessions/revoke` ends.
#[derive(Clone, Copy, Debug)]
pub enum Revoke {
    One(Uuid),
    Others,
}

/// One entry of `GET /user/sessions`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: Uuid,
    /// `regular` (a session) or `pat` (a personal access token).
    #[serde(rename = "type")]
    pub token_type: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub current: bool,
    /// A personal access token's metadata, as given at its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `{"session": …}`, or `{}` when the workflow issued no session.
#[derive(Debug, Serialize)]
pub struct SessionPayload {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
}

/// The `User` object of the contract.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub avatar_url: String,
    pub created_at: String,
    pub default_role: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub email_verified: bool,
    pub id: Uuid,
    pub is_anonymous: bool,
    pub locale: String,
    pub metadata: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    pub roles: Vec<String>,
    pub active_mfa_type: Option<String>,
}

impl UserView {
    pub fn new(user: &UserRow, roles: Vec<String>) -> UserView {
        UserView {
            avatar_url: user.avatar_url.clone(),
            created_at: user.created_at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            default_role: user.default_role.clone(),
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            email_verified: user.email_verified,
            id: user.id,
            is_anonymous: user.is_anonymous,
            locale: user.locale.clone(),
            // The contract says `metadata` is an object; upstream answered `null` when the
            // column held JSON null (what it stores when no metadata was given), which
            // breaks clients reading `user.metadata.x`. SQL NULL and JSON null read as {}.
            metadata: match &user.metadata {
                Some(Value::Object(m)) => Value::Object(m.clone()),
                _ => Value::Object(Map::new()),
            },
            phone_number: user.phone_number.clone(),
            phone_number_verified: user.phone_number_verified,
            roles,
            active_mfa_type: user.active_mfa_type.clone(),
        }
    }
}

/// `user_roles` rows plus the default role when missing (the JWT's allowed roles).
pub fn allowed_roles_with_default(mut roles: Vec<String>, default_role: &str) -> Vec<String> {
    if !roles.iter().any(|r| r == default_role) {
        roles.push(default_role.to_owned());
    }
    roles
}

/// Issues, rotates and ends sessions (`POST /token`, `POST /signout`, and every
/// sign-in once it has its user).
#[derive(Clone)]
pub struct Sessions {
    pub(crate) db: DbPool,
    pub(crate) jwt: Arc<JwtKeys>,
    pub(crate) claims: ClaimsSource,
    pub(crate) settings: SettingsHandle,
    pub(crate) sweep: ExpiredTokenSweep,
    pub(crate) successors: SuccessorKey,
    pub(crate) metrics: Arc<Metrics>,
    /// Security notices ("new sign-in from a new device").
    pub(crate) mail: crate::service::email::Mail,
}

/// The claim (next to `x-hasura-user-id`) naming the session an access token was issued
/// with: its refresh token's id, so `GET /user/sessions` can mark the caller's own.
pub const SESSION_CLAIM: &str = "x-hasura-auth-session-id";

/// How far forward a replayed token's successors are followed to reach its chain's
/// current token: more rotations than this within one reuse interval is not a race of
/// tabs but a client in a loop, which gets the old 401.
const MAX_SUCCESSOR_STEPS: usize = 64;

/// The client of the request being served, as the HTTP layer saw it: recorded with a
/// session when one starts. A task-local, so the sign-in workflows, which are free of
/// HTTP types, need not carry it through every call.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

tokio::task_local! {
    pub static CLIENT: ClientInfo;
}

/// The longest user agent kept with a session (the header has no limit of its own
/// besides the server's header size).
const MAX_USER_AGENT_CHARS: usize = 512;

impl ClientInfo {
    pub fn new(user_agent: Option<&str>, ip: Option<String>) -> ClientInfo {
        ClientInfo {
            user_agent: user_agent.map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
            ip,
        }
    }

    pub(crate) fn current() -> ClientInfo {
        CLIENT.try_with(Clone::clone).unwrap_or_default()
    }
}

/// Rows deleted by one sweep at most, so a sweep after a long pause stays short.
const SWEEP_BATCH: i64 = 1000;
/// A sweep that takes longer than this is abandoned (the next one carries on).
const SWEEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Deletes expired refresh tokens now and then during normal traffic, as upstream does
/// since 0.43.2, so the table does not grow forever without an outside job: on about one
/// in `AUTH_EXPIRED_SESSION_CLEANUP_ONE_IN` sign-ins and refreshes, a background task
/// deletes a bounded batch. Never on the request's path; one sweep at a time; a failure
/// is only logged (expired tokens are refused anyway, deleting them is housekeeping).
#[derive(Clone, Default)]
pub struct ExpiredTokenSweep {
    running: Arc<AtomicBool>,
}

impl ExpiredTokenSweep {
    fn maybe_start(&self, db: &DbPool, one_in: u32, ttl_secs: i64) {
        use rand::Rng;
        if one_in == 0 || !rand::thread_rng().gen_ratio(1, one_in) {
            return;
        }
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = self.running.clone();
        let db = db.clone();
        tokio::spawn(async move {
            let sweep = async {
                let client = db.get().await?;
                let tokens = refresh_tokens::delete_expired(&client, SWEEP_BATCH).await?;
                let rotations =
                    refresh_tokens::delete_old_rotations(&client, ttl_secs, SWEEP_BATCH).await?;
                let clients =
                    refresh_tokens::delete_orphan_session_clients(&client, SWEEP_BATCH).await?;
                Ok::<_, crate::db::DbError>(tokens + rotations + clients)
            };
            match tokio::time::timeout(SWEEP_TIMEOUT, sweep).await {
                Ok(Ok(deleted)) => {
                    tracing::debug!(deleted, "expired refresh tokens deleted");
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "deleting expired refresh tokens failed"),
                Err(_) => tracing::warn!("deleting expired refresh tokens timed out"),
            }
            running.store(false, Ordering::Release);
        });
    }
}

impl Sessions {
    /// Signs an access token; custom claims are looked up in Hasura for every token.
    pub async fn sign_access_token(
        &self,
        user: &UserRow,
        allowed_roles: &[String],
        elevated: bool,
        session_id: Uuid,
    ) -> Result<String, ApiError> {
        // First, so that a custom claim of the same name cannot replace it.
        let mut custom = vec![(SESSION_CLAIM.to_owned(), session_id.to_string())];
        custom.extend(self.claims.custom_claims(user.id).await);
        self.jwt
            .sign(
                &AccessClaims {
                    user_id: user.id,
                    allowed_roles,
                    default_role: &user.default_role,
                    is_anonymous: user.is_anonymous,
                    extra: &custom,
                    elevated,
                },
                self.settings.config().jwt.access_tokens_expires_in,
            )
            .map_err(ApiError::internal)
    }

    /// Builds the session JSON for a user whose refresh token row already exists.
    pub async fn session_for(
        &self,
        user: &UserRow,
        roles: Vec<String>,
        refresh_token: RefreshToken,
        refresh_token_id: Uuid,
        elevated: bool,
    ) -> Result<Session, ApiError> {
        let access_token = self
            .sign_access_token(user, &roles, elevated, refresh_token_id)
            .await?;
        let mut view = UserView::new(user, roles);
        // Inside sessions upstream always reports no MFA type.
        view.active_mfa_type = None;
        Ok(Session {
            access_token: Redacted::new(access_token),
            access_token_expires_in: self.settings.config().jwt.access_tokens_expires_in,
            refresh_token: Redacted::new(refresh_token.expose()),
            refresh_token_id,
            user: Some(view),
        })
    }

    /// Upstream's `NewSession`: a new refresh token row for an existing user.
    pub async fn new_session(&self, user: &UserRow) -> Result<Session, ApiError> {
        self.new_session_with(user, false).await
    }

    pub async fn new_session_with(
        &self,
        user: &UserRow,
        elevated: bool,
    ) -> Result<Session, ApiError> {
        let refresh = RefreshToken::generate();
        let (ttl, sweep_one_in) = {
            let jwt = &self.settings.config().jwt;
            (
                jwt.refresh_token_expires_in,
                jwt.expired_session_cleanup_one_in,
            )
        };
        self.sweep.maybe_start(&self.db, sweep_one_in, ttl);
        let started = chrono::Utc::now();
        let client = ClientInfo::current();
        let db = self.db.get().await?;
        let (token_id, roles) = refresh_tokens::create_session(
            &db,
            user.id,
            &refresh.hash(),
            ttl,
            client.user_agent.as_deref(),
            client.ip.as_deref(),
        )
        .await?;
        let roles = allowed_roles_with_default(roles, &user.default_role);
        audit::event(
            if elevated { "elevation" } else { "signin" },
            Outcome::Success,
        )
        .user(user.id)
        .record();
        if !elevated {
            self.notify_new_device(user, token_id, client, started);
        }
        self.session_for(user, roles, refresh, token_id, elevated)
            .await
    }

    /// "New sign-in from a new device" when switched on, the user has an address, and
    /// the client's user agent and IP were not seen with the user before: decided and
    /// sent in the background, so the sign-in does not wait.
    fn notify_new_device(
        &self,
        user: &UserRow,
        token_id: Uuid,
        client: ClientInfo,
        started: chrono::DateTime<chrono::Utc>,
    ) {
        use crate::service::email::{Notice, NoticeEmail};
        let Some(email) = user.email.clone().filter(|e| !e.is_empty()) else {
            return;
        };
        if (client.user_agent.is_none() && client.ip.is_none())
            || !self.mail.notice_enabled(Notice::NewSignin)
        {
            return;
        }
        let db = self.db.clone();
        let user_id = user.id;
        let (ua, ip) = (client.user_agent.clone(), client.ip.clone());
        let unseen = async move {
            let seen = async {
                let c = db.get().await?;
                crate::db::audit::device_seen(
                    &c,
                    user_id,
                    token_id,
                    ua.as_deref(),
                    ip.as_deref(),
                    started,
                )
                .await
            };
            match seen.await {
                Ok(seen) => !seen,
                Err(e) => {
                    tracing::warn!(error = %e, "checking for a new device failed");
                    false
                }
            }
        };
        self.mail.send_notice(
            Notice::NewSignin,
            NoticeEmail {
                to: email.clone(),
                locale: user.locale.clone(),
                display_name: user.display_name.clone(),
                email,
                ip: client.ip.unwrap_or_default(),
                user_agent: client.user_agent.unwrap_or_default(),
                ..Default::default()
            },
            unseen,
        );
    }

    /// `POST /token`: rotates a regular refresh token (same row id, sliding expiry) in
    /// one database round trip. With reuse detection the successor is derived from the
    /// presented token (see [`SuccessorKey`]), and a token that is no longer live costs
    /// a second round trip to tell a race from a theft ([`Self::reused`]).
    pub async fn refresh_session(&self, presented: &RefreshToken) -> Result<Session, ApiError> {
        let (ttl, verification_required, sweep_one_in, detection, interval) = {
            let config = self.settings.config();
            (
                config.jwt.refresh_token_expires_in,
                config.signup.email_verification_required,
                config.jwt.expired_session_cleanup_one_in,
                config.jwt.refresh_reuse_detection,
                config.jwt.refresh_reuse_interval,
            )
        };
        let next = if detection {
            self.successors.successor(presented)
        } else {
            RefreshToken::generate()
        };
        self.sweep.maybe_start(&self.db, sweep_one_in, ttl);
        let db = self.db.get().await?;
        let found = refresh_tokens::refresh(
            &db,
            &presented.hash(),
            &next.hash(),
            ttl,
            verification_required,
        )
        .await?;
        let Some(found) = found else {
            if !detection {
                return Err(ErrorCode::InvalidRefreshToken.into());
            }
            let raced = self
                .reused(&db, presented, interval, verification_required)
                .await?;
            // The connection goes back before custom claims are fetched from Hasura.
            drop(db);
            let roles = allowed_roles_with_default(raced.roles, &raced.user.default_role);
            return self
                .session_for(&raced.user, roles, raced.current, raced.token_id, false)
                .await;
        };
        drop(db);
        if !found.rotated {
            return Err(self.refusal(&found.user, verification_required));
        }
        let roles = allowed_roles_with_default(found.roles, &found.user.default_role);
        self.session_for(&found.user, roles, next, found.token_id, false)
            .await
    }

    /// Why a refresh of a user who fails the database-side checks is refused, in
    /// upstream's words; email lists and anonymity are ignored here.
    fn refusal(&self, user: &UserRow, verification_required: bool) -> ApiError {
        let checked = check_user(
            user,
            &self.settings.policy(),
            verification_required,
            Tolerate {
                unverified: false,
                anonymous: true,
            },
        );
        match checked {
            Err(ErrorCode::InvalidEmailPassword) | Ok(()) => ErrorCode::InvalidRefreshToken.into(),
            Err(other) => other.into(),
        }
    }

    /// A token that is not live: a former token of a chain presented again. Within the
    /// reuse interval it is a race (two tabs refreshing at once) and gets the chain's
    /// current token, the one the winner got, without a new rotation; after it, the
    /// token was stolen, or the chain's owner was, and the chain ends for both.
    async fn reused(
        &self,
        db: &deadpool_postgres::Object,
        presented: &RefreshToken,
        interval: Duration,
        verification_required: bool,
    ) -> Result<Raced, ApiError> {
        let rotated = refresh_tokens::find_rotated(
            db,
            &presented.hash(),
            interval.as_secs_f64(),
            verification_required,
        )
        .await?;
        // Never issued, or its chain already ended: nothing to protect.
        let Some((token_id, within_interval, live)) =
            rotated.and_then(|r| Some((r.token_id, r.within_interval, r.live?)))
        else {
            return Err(ErrorCode::InvalidRefreshToken.into());
        };
        if !within_interval {
            let owner = refresh_tokens::revoke_chain(db, token_id).await?;
            self.metrics.record_refresh_reuse("revoked");
            let reuse = audit::event("refresh-token-reuse", Outcome::Failure).reason("revoked");
            match owner {
                Some(user) => reuse.user(user),
                None => reuse,
            }
            .record();
            tracing::warn!(
                event = "refresh_token_reuse",
                refresh_token_id = %token_id,
                user_id = %owner.map(|u| u.to_string()).unwrap_or_default(),
                "a rotated refresh token was presented after the reuse interval; its session is revoked"
            );
            return Err(ErrorCode::InvalidRefreshToken.into());
        }
        if !live.allowed {
            return Err(self.refusal(&live.user, verification_required));
        }
        let mut candidate = presented.clone();
        for _ in 0..MAX_SUCCESSOR_STEPS {
            candidate = self.successors.successor(&candidate);
            if candidate.hash() == live.current_hash {
                self.metrics.record_refresh_reuse("within-interval");
                return Ok(Raced {
                    token_id,
                    current: candidate,
                    user: live.user,
                    roles: live.roles,
                });
            }
        }
        // Rotated under another key (a changed JWT secret) or by a client in a loop.
        tracing::info!(
            refresh_token_id = %token_id,
            "a recently rotated refresh token was presented again, but its chain's current token cannot be derived from it"
        );
        Err(ErrorCode::InvalidRefreshToken.into())
    }

    /// Deletes one refresh token (any type, any owner); unknown tokens are not an error,
    /// and a value that cannot be a token is one of them (no database work).
    pub async fn sign_out(&self, presented: String) -> Result<(), ApiError> {
        let Some(token) = RefreshToken::parse(presented) else {
            return Ok(());
        };
        let db = self.db.get().await?;
        if let Some(user_id) = refresh_tokens::delete_by_hash(&db, &token.hash()).await? {
            audit::event("signout", Outcome::Success)
                .user(user_id)
                .record();
        }
        Ok(())
    }

    /// Deletes every refresh token (personal access tokens included) of a user; returns
    /// how many there were.
    pub async fn sign_out_everywhere(&self, user_id: Uuid) -> Result<u64, ApiError> {
        let db = self.db.get().await?;
        let ended = refresh_tokens::delete_all_for_user(&db, user_id).await?;
        audit::event("signout", Outcome::Success)
            .user(user_id)
            .reason("all")
            .record();
        Ok(ended)
    }

    /// `GET /user/sessions`: the user's live sessions and personal access tokens,
    /// newest first, `current` marking the session `current` names.
    pub async fn list(
        &self,
        user_id: Uuid,
        current: Option<Uuid>,
    ) -> Result<Vec<SessionView>, ApiError> {
        let db = self.db.get().await?;
        let rows = refresh_tokens::list_live_for_user(&db, user_id).await?;
        let time =
            |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        Ok(rows
            .into_iter()
            .map(|row| {
                let pat = row.token_type == refresh_tokens::TYPE_PAT;
                SessionView {
                    id: row.id,
                    current: Some(row.id) == current,
                    created_at: time(row.created_at),
                    // A session is used when it starts and at each refresh; a personal
                    // access token's uses are not recorded.
                    last_used_at: if pat {
                        None
                    } else {
                        Some(time(row.last_refreshed_at.unwrap_or(row.created_at)))
                    },
                    expires_at: time(row.expires_at),
                    user_agent: row.user_agent,
                    ip: row.ip,
                    metadata: if pat { row.metadata } else { None },
                    token_type: row.token_type,
                }
            })
            .collect())
    }

    /// The session an access token was issued with ([`SESSION_CLAIM`]); `None` for
    /// tokens issued before the claim existed, or by another implementation.
    pub fn session_of(token: &VerifiedToken) -> Option<Uuid> {
        token
            .claims
            .get(SESSION_CLAIM)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// `POST /user/sessions/revoke`. One session or personal access token of the user
    /// (404 when the user has none with that id, whoever else may have it); or every
    /// other session, which needs to know the caller's own: an access token without the
    /// session claim is refused rather than ending the caller's session too. Personal
    /// access tokens are ended one by one, never by `others`.
    pub async fn revoke_for_user(
        &self,
        user_id: Uuid,
        current: Option<Uuid>,
        what: Revoke,
    ) -> Result<(), ApiError> {
        let db = self.db.get().await?;
        match what {
            Revoke::One(id) => {
                if !refresh_tokens::delete_one_for_user(&db, user_id, id).await? {
                    return Err(ApiError::not_found("no such session"));
                }
                audit::event("session-ended", Outcome::Success)
                    .user(user_id)
                    .reason(id.to_string())
                    .record();
            }
            Revoke::Others => {
                let keep = current.ok_or_else(|| {
                    ApiError::validation(
                        "this access token names no session (issued before sessions were listed); refresh it first",
                    )
                })?;
                refresh_tokens::delete_other_sessions(&db, user_id, keep).await?;
                audit::event("session-ended", Outcome::Success)
                    .user(user_id)
                    .reason("others")
                    .record();
            }
        }
        Ok(())
    }

    /// Deletes one refresh token (or personal access token) of a user by its id, as
    /// sign-out deletes it by value; false when the user has no such token.
    pub async fn revoke(&self, user_id: Uuid, token_id: Uuid) -> Result<bool, ApiError> {
        let db = self.db.get().await?;
        Ok(refresh_tokens::delete_one_for_user(&db, user_id, token_id).await?)
    }
}
