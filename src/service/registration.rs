//! Registration: the one workflow that creates users, whatever the sign-up method.
//!
//! Each method brings an identity (an email, a phone number, a provider account, or
//! nothing for anonymous users), a credential and its resolved sign-up options; the rules
//! they share are applied here, once:
//! - sign-up closed (`AUTH_DISABLE_SIGNUP`): `signup-disabled`, before anything else
//!   ([`Registration::check_open`] lets a route check it ahead of its own work);
//! - new users disabled (`AUTH_DISABLE_NEW_USERS`): the user is kept, disabled, is sent
//!   nothing, and the request answers `disabled-user` (anonymous users are never disabled);
//! - an address still to verify (`AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED`, unless a
//!   provider vouched for it): no session, a verification email, and the user is committed
//!   only once that email was accepted, so a failed send leaves no user behind;
//! - otherwise a session at once, its refresh token inserted in the user's statement.
//!
//! Passwordless methods (magic link, email and SMS codes) make their first contact with
//! their own message: they ask [`Registration::plan_passwordless`] what the rules allow,
//! then [`Registration::create_passwordless`] inserts the user inside their transaction.
//! Operators (`hasura-auth users create`) go through [`Registration::register_by_operator`]:
//! the same statement and verification rule, no session, and none of the sign-up switches.
//!
//! Every request that may create a user says where it comes from ([`Origin`]): an
//! explicit `/signup/*` route, or a sign-in route that creates the users it does not know
//! (auto sign-up). `AUTH_DISABLE_AUTO_SIGNUP` (Nhost Auth 0.50) is one switch here,
//! [`Registration::admits`]: with it on, sign-in routes create nobody, and each answers
//! as if the user had existed or had never been asked for (no account enumeration).
//!
//! Every path ends in the one statement that inserts users, `db::users::insert_user`.

use crate::db::Db;
use uuid::Uuid;

use crate::adapters::email::TemplateName;
use crate::db::oauth::ProviderLink;
use crate::db::users::{self, FirstRows, NewUser};
use crate::db::webauthn::NewKey;
use crate::db::{DbError, DbPool};
use crate::domain::{CodeChallenge, Email, PhoneNumber, SignUpOptions};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::email::{Mail, TicketEmail};
use crate::service::session::{Session, Sessions};
use crate::service::tickets::{self, TicketKind};
use crate::settings::SettingsHandle;
use crate::tokens::refresh::RefreshToken;

/// Creates users; see the module documentation for the rules.
#[derive(Clone)]
pub struct Registration {
    pub(crate) db: DbPool,
    pub(crate) mail: Mail,
    pub(crate) sessions: Sessions,
    pub(crate) settings: SettingsHandle,
}

/// Who asks for a new user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An explicit sign-up route (`/signup/*`), or anonymous sign-in (never affected).
    SignUp,
    /// A sign-in route meeting an unknown identity (auto sign-up).
    SignIn,
}

/// How a new user will prove who they are.
pub enum Credential<'a> {
    /// The bcrypt hash of the chosen password.
    PasswordHash(&'a str),
    /// An account at an OAuth provider (or the subject of an id token).
    Provider(&'a ProviderLink<'a>),
    /// A passkey, verified during the sign-up ceremony.
    SecurityKey(&'a NewKey<'a>),
    /// Nothing: an anonymous user, who only has its refresh token.
    Anonymous,
}

/// A user to create through [`Registration::register`].
pub struct NewAccount<'a> {
    /// Chosen in advance (a passkey's user handle), or by the database when `None`.
    pub id: Option<Uuid>,
    pub email: Option<&'a Email>,
    /// A provider vouched for the address, so it needs no verification email.
    pub email_verified: bool,
    pub credential: Credential<'a>,
    pub options: &'a SignUpOptions,
    pub avatar_url: &'a str,
    /// PKCE: passed on to the verification email's link.
    pub code_challenge: Option<&'a CodeChallenge>,
    pub origin: Origin,
}

/// The outcome of [`Registration::register`].
pub enum Registered {
    /// Signed in at once.
    Session {
        user_id: Uuid,
        session: Box<Session>,
    },
    /// A verification email was sent; no session until the link is followed.
    PendingVerification { user_id: Uuid },
}

/// What the rules allow for a user that a passwordless sign-in is about to create.
#[derive(Debug, Clone, Copy)]
pub struct PasswordlessPlan {
    disabled: bool,
}

impl PasswordlessPlan {
    /// Whether the new user may be sent anything (not when created disabled).
    pub fn may_contact(self) -> bool {
        !self.disabled
    }
}

/// A user that a passwordless sign-in creates.
pub struct PasswordlessAccount<'a> {
    pub email: Option<&'a Email>,
    pub phone_number: Option<&'a PhoneNumber>,
    /// `Some(lifetime in seconds)`: the number is only staged (`new_phone_number`,
    /// schema level 24 and later) until its code proves it, for that long even when the
    /// provider keeps the code; `phone_number` stays NULL, a sign-up owns nothing yet.
    pub phone_staged: Option<i64>,
    /// An SMS code to keep (hashed) with its lifetime in seconds.
    pub sms_code: Option<(&'a str, i64)>,
    pub options: &'a SignUpOptions,
    pub avatar_url: &'a str,
}

/// The outcome of [`Registration::create_passwordless`].
pub enum Created {
    /// Created and enabled: the caller sends its message.
    Ready { user_id: Uuid },
    /// Created disabled (`AUTH_DISABLE_NEW_USERS`): the caller commits, sends nothing and
    /// answers `disabled-user`.
    Disabled,
    /// A concurrent request registered this phone number first.
    PhoneNumberTaken,
}

impl Registration {
    /// `signup-disabled` when sign-up is closed.
    pub fn check_open(&self) -> Result<(), ErrorCode> {
        if self.settings.config().signup.disable_signup {
            Err(ErrorCode::SignupDisabled)
        } else {
            Ok(())
        }
    }

    /// Whether a user may be created for `origin`: `signup-disabled` when sign-up is
    /// closed, `false` when it is a sign-in route and `AUTH_DISABLE_AUTO_SIGNUP` is on.
    pub fn admits(&self, origin: Origin) -> Result<bool, ErrorCode> {
        self.check_open()?;
        Ok(origin == Origin::SignUp || !self.settings.config().signup.disable_auto_signup)
    }

    /// Creates a user and signs it in, or sends it a verification email first. A sign-in
    /// route that may not create users gets `invalid-email-password`, what it answers for
    /// an unknown identity.
    pub async fn register(&self, account: NewAccount<'_>) -> Result<Registered, ApiError> {
        if !self.admits(account.origin)? {
            return Err(ErrorCode::InvalidEmailPassword.into());
        }
        let (disable_new_users, verification_required, refresh_ttl) = {
            let config = self.settings.config();
            (
                config.signup.disable_new_users,
                config.signup.email_verification_required,
                config.jwt.refresh_token_expires_in,
            )
        };
        let anonymous = matches!(account.credential, Credential::Anonymous);
        let disabled = disable_new_users && !anonymous;
        let verify_email = verification_required
            && account.email.is_some()
            && !account.email_verified
            && !anonymous;
        let signed_in = !disabled && !verify_email;
        // A disabled user is sent nothing, so it gets no ticket either.
        let ticket = (verify_email && !disabled).then(|| tickets::issue(TicketKind::VerifyEmail));
        let refresh = signed_in.then(RefreshToken::generate);
        let refresh_hash = refresh.as_ref().map(RefreshToken::hash);
        let options = account.options;
        let new_user = NewUser {
            id: account.id,
            email: account.email,
            password_hash: match account.credential {
                Credential::PasswordHash(hash) => Some(hash),
                _ => None,
            },
            disabled,
            is_anonymous: anonymous,
            email_verified: account.email_verified,
            ticket: ticket
                .as_ref()
                .map(|t| (t.stored.as_str(), TicketKind::VerifyEmail.ttl_secs())),
            // Upstream's provider sign-up marks the user seen even without a session.
            seen: signed_in || matches!(account.credential, Credential::Provider(_)),
            ..profile(options, account.avatar_url)
        };
        let client = crate::service::session::ClientInfo::current();
        let first = FirstRows {
            provider_link: match account.credential {
                Credential::Provider(link) => Some(link),
                _ => None,
            },
            security_key: match account.credential {
                Credential::SecurityKey(key) => Some(key),
                _ => None,
            },
            refresh_token: refresh_hash.as_deref().map(|hash| (hash, refresh_ttl)),
            session_client: (client.user_agent.as_deref(), client.ip.as_deref()),
        };

        if let Some(refresh) = refresh {
            let db = self.db.get().await?;
            let inserted = users::insert_user(&db, &new_user, &first)
                .await
                .map_err(refused)?;
            drop(db);
            let token_id = inserted
                .refresh_token_id
                .ok_or_else(|| ApiError::internal("sign-up inserted no refresh token"))?;
            audit::event("signup", Outcome::Success)
                .user(inserted.id)
                .record();
            let user = new_user.inserted_row(inserted.id, inserted.created_at);
            let session = self
                .sessions
                .session_for(
                    &user,
                    options.allowed_roles.clone(),
                    refresh,
                    token_id,
                    false,
                )
                .await?;
            return Ok(Registered::Session {
                user_id: inserted.id,
                session: Box::new(session),
            });
        }

        let mut mail = self.mail.connection().await?;
        let tx = mail.client.transaction().await?;
        let inserted = users::insert_user(&tx, &new_user, &first)
            .await
            .map_err(refused)?;
        if disabled {
            tx.commit().await?;
            return Err(ErrorCode::DisabledUser.into());
        }
        if let (Some(ticket), Some(email)) = (ticket, account.email) {
            self.mail
                .send_ticket(TicketEmail {
                    template: TemplateName::EmailVerify,
                    kind: TicketKind::VerifyEmail,
                    to: email.as_str(),
                    locale: &options.locale,
                    display_name: &options.display_name,
                    email: email.as_str(),
                    new_email: "",
                    ticket: &ticket.value,
                    redirect_to: &options.redirect_to,
                    code_challenge: account.code_challenge,
                })
                .await?;
        }
        tx.commit().await?;
        audit::event("signup", Outcome::Success)
            .user(inserted.id)
            .reason("verification-pending")
            .record();
        Ok(Registered::PendingVerification {
            user_id: inserted.id,
        })
    }

    /// The rules for a user a passwordless request creates (`signup-disabled` when
    /// closed); `None` when `origin` may not create users: the caller answers `"OK"` and
    /// does nothing, as for a known user.
    pub fn plan_passwordless(&self, origin: Origin) -> Result<Option<PasswordlessPlan>, ErrorCode> {
        if !self.admits(origin)? {
            return Ok(None);
        }
        Ok(Some(PasswordlessPlan {
            disabled: self.settings.config().signup.disable_new_users,
        }))
    }

    /// Inserts the user of a passwordless sign-in on the caller's connection (inside its
    /// transaction, when it has one): no session and no verification email, the caller's
    /// own message is the first contact.
    pub async fn create_passwordless(
        &self,
        db: &impl Db,
        account: PasswordlessAccount<'_>,
        plan: PasswordlessPlan,
    ) -> Result<Created, ApiError> {
        let (owned, staged) = match account.phone_staged {
            Some(ttl) => (None, account.phone_number.map(|p| (p, ttl))),
            None => (account.phone_number, None),
        };
        let new_user = NewUser {
            email: account.email,
            phone_number: owned,
            disabled: plan.disabled,
            sms_code: account.sms_code.filter(|_| plan.may_contact()),
            ..profile(account.options, account.avatar_url)
        };
        let inserted = users::insert_user(db, &new_user, &FirstRows::default()).await;
        if let (Ok(inserted), Some((number, ttl))) = (&inserted, staged) {
            crate::db::sms_staging::stage_new(db, inserted.id, number.e164(), ttl).await?;
        }
        match inserted {
            Ok(_) if plan.disabled => Ok(Created::Disabled),
            Ok(inserted) => Ok(Created::Ready {
                user_id: inserted.id,
            }),
            Err(DbError::DuplicatePhoneNumber) => Ok(Created::PhoneNumberTaken),
            Err(e) => Err(e.into()),
        }
    }
}

/// How a user created by an operator gets in.
pub enum OperatorCredential<'a> {
    /// The bcrypt hash of a password the operator chose.
    PasswordHash(&'a str),
    /// No password: an emailed link.
    Invitation(Invitation),
}

/// The link an invitation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invitation {
    /// A password-reset link: after `/verify` the user chooses a password.
    PasswordReset,
    /// A magic link: `/verify` signs the user in and verifies the address.
    MagicLink,
}

impl Invitation {
    fn ticket(self) -> (TicketKind, TemplateName) {
        match self {
            Self::PasswordReset => (TicketKind::PasswordReset, TemplateName::PasswordReset),
            Self::MagicLink => (
                TicketKind::PasswordlessEmail,
                TemplateName::SigninPasswordless,
            ),
        }
    }
}

/// A user an operator creates through [`Registration::register_by_operator`].
pub struct OperatorAccount<'a> {
    pub email: &'a Email,
    /// The operator vouches for the address: no verification email.
    pub email_verified: bool,
    pub credential: OperatorCredential<'a>,
    pub options: &'a SignUpOptions,
    pub avatar_url: &'a str,
}

/// What [`Registration::register_by_operator`] emailed the new user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorEmail {
    Nothing,
    Verification,
    Invitation(Invitation),
}

impl Registration {
    /// Creates a user on an operator's behalf. It is not a sign-up: `AUTH_DISABLE_SIGNUP`
    /// and `AUTH_DISABLE_NEW_USERS` hold back self-service accounts until someone
    /// approves them, and the operator is that someone; no session is opened either.
    /// The verification rule is the API's: an unverified address under
    /// `AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED` gets a verification email, an
    /// invitation gets its link instead, and the user is committed only once the email
    /// was accepted.
    pub async fn register_by_operator(
        &self,
        account: OperatorAccount<'_>,
    ) -> Result<(Uuid, OperatorEmail), ApiError> {
        let verification_required = self.settings.config().signup.email_verification_required;
        let (password_hash, emailed) = match account.credential {
            OperatorCredential::PasswordHash(hash) => (
                Some(hash),
                if verification_required && !account.email_verified {
                    OperatorEmail::Verification
                } else {
                    OperatorEmail::Nothing
                },
            ),
            OperatorCredential::Invitation(invitation) => {
                (None, OperatorEmail::Invitation(invitation))
            }
        };
        let (kind, template) = match emailed {
            OperatorEmail::Nothing => {
                let new_user = NewUser {
                    email: Some(account.email),
                    password_hash,
                    email_verified: account.email_verified,
                    ..profile(account.options, account.avatar_url)
                };
                let db = self.db.get().await?;
                let inserted = users::insert_user(&db, &new_user, &FirstRows::default()).await?;
                return Ok((inserted.id, emailed));
            }
            OperatorEmail::Verification => (TicketKind::VerifyEmail, TemplateName::EmailVerify),
            OperatorEmail::Invitation(invitation) => invitation.ticket(),
        };
        let ticket = tickets::issue(kind);
        let new_user = NewUser {
            email: Some(account.email),
            password_hash,
            email_verified: account.email_verified,
            ticket: Some((ticket.stored.as_str(), kind.ttl_secs())),
            ..profile(account.options, account.avatar_url)
        };
        let mut mail = self.mail.connection().await?;
        let tx = mail.client.transaction().await?;
        let inserted = users::insert_user(&tx, &new_user, &FirstRows::default()).await?;
        self.mail
            .send_ticket(TicketEmail {
                template,
                kind,
                to: account.email.as_str(),
                locale: &account.options.locale,
                display_name: &account.options.display_name,
                email: account.email.as_str(),
                new_email: "",
                ticket: &ticket.value,
                redirect_to: &account.options.redirect_to,
                code_challenge: None,
            })
            .await?;
        tx.commit().await?;
        Ok((inserted.id, emailed))
    }
}

/// A new, enabled user with the profile of its sign-up options and nothing else.
fn profile<'a>(options: &'a SignUpOptions, avatar_url: &'a str) -> NewUser<'a> {
    NewUser {
        id: None,
        email: None,
        phone_number: None,
        password_hash: None,
        display_name: &options.display_name,
        avatar_url,
        locale: &options.locale,
        default_role: &options.default_role,
        roles: &options.allowed_roles,
        metadata: &options.metadata,
        disabled: false,
        is_anonymous: false,
        email_verified: false,
        ticket: None,
        sms_code: None,
        seen: false,
    }
}

/// The unique violations a sign-up can meet, in the contract's terms.
fn refused(e: DbError) -> ApiError {
    match e {
        DbError::DuplicateCredential => {
            ApiError::validation("webauthn: this credential is already registered")
        }
        other => other.into(),
    }
}
