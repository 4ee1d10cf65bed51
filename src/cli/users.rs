//! `hasura-auth users …`.

use serde_json::{Value, json};

use super::{Failure, Output, read_password};
use crate::config::commands::{CreateUser, InviteKind, UsersAction};
use crate::domain::Email;
use crate::domain::options::{DisplayName, LocaleCode, SignUpOptionsInput};
use crate::service::admin::{NewCredential, NewUserRequest, UserAdmin, UserKey, UserRecord};
use crate::service::registration::Invitation;

pub async fn run(action: UsersAction, admin: &UserAdmin, out: &mut Output) -> Result<(), Failure> {
    match action {
        UsersAction::Create(args) => {
            let request = new_user_request(args)?;
            let created = admin.create(request).await?;
            if out.json() {
                out.value(&created)?;
            } else {
                user_fields(out, &created.user);
                out.line(format!("email sent    {}", created.email_sent));
            }
        }
        UsersAction::List(args) => {
            let search = args.search.as_deref().filter(|s| !s.is_empty());
            let page = admin.list(search, args.limit, args.offset).await?;
            if out.json() {
                out.value(&page)?;
            } else {
                let rows: Vec<Vec<String>> = page
                    .users
                    .iter()
                    .map(|u| {
                        vec![
                            u.id.to_string(),
                            u.email.clone().unwrap_or_else(|| "-".into()),
                            u.display_name.clone(),
                            u.default_role.clone(),
                            yes_no(u.email_verified),
                            yes_no(u.disabled),
                            u.created_at.clone(),
                        ]
                    })
                    .collect();
                out.table(
                    &[
                        "ID",
                        "EMAIL",
                        "DISPLAY NAME",
                        "DEFAULT ROLE",
                        "VERIFIED",
                        "DISABLED",
                        "CREATED",
                    ],
                    &rows,
                );
                let shown = i64::try_from(page.users.len()).unwrap_or(i64::MAX);
                out.line(if shown == 0 {
                    format!("no users (of {} in all)", page.total)
                } else {
                    format!(
                        "users {}-{} of {}",
                        page.offset + 1,
                        page.offset + shown,
                        page.total
                    )
                });
            }
        }
        UsersAction::Show(user) => {
            let record = admin.find(&key(&user.user)?).await?;
            print_user(out, &record)?;
        }
        UsersAction::Disable(user) => {
            let record = admin.set_disabled(&key(&user.user)?, true).await?;
            print_user(out, &record)?;
        }
        UsersAction::Enable(user) => {
            let record = admin.set_disabled(&key(&user.user)?, false).await?;
            print_user(out, &record)?;
        }
        UsersAction::VerifyEmail(user) => {
            let record = admin.verify_email(&key(&user.user)?).await?;
            print_user(out, &record)?;
        }
        UsersAction::SetPassword(args) => {
            let user = key(&args.user)?;
            let password = read_password(args.password, args.password_stdin)?;
            let record = admin.set_password(&user, password).await?;
            print_user(out, &record)?;
        }
        UsersAction::AddRole(args) => {
            let record = admin.add_roles(&key(&args.user)?, &args.roles).await?;
            print_user(out, &record)?;
        }
        UsersAction::RemoveRole(args) => {
            let record = admin.remove_roles(&key(&args.user)?, &args.roles).await?;
            print_user(out, &record)?;
        }
        UsersAction::SetDefaultRole(args) => {
            let record = admin
                .set_default_role(&key(&args.user)?, &args.role)
                .await?;
            print_user(out, &record)?;
        }
        UsersAction::Delete(args) => {
            let user = key(&args.user)?;
            if !args.yes {
                return Err(Failure::usage(format!(
                    "deleting {user} cannot be undone: add --yes to confirm"
                )));
            }
            let record = admin.delete(&user).await?;
            if out.json() {
                out.value(&json!({ "deleted": record }))?;
            } else {
                out.line(format!(
                    "deleted user {} ({})",
                    record.id,
                    record.email.as_deref().unwrap_or("no email")
                ));
            }
        }
    }
    Ok(())
}

fn key(user: &str) -> Result<UserKey, Failure> {
    Ok(UserKey::parse(user)?)
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// The arguments of `users create`, parsed as the API parses a sign-up body.
fn new_user_request(args: CreateUser) -> Result<NewUserRequest, Failure> {
    let email = Email::parse(&args.email).map_err(Failure::usage)?;
    let credential = match args.invite {
        Some(InviteKind::PasswordReset) => NewCredential::Invitation(Invitation::PasswordReset),
        Some(InviteKind::MagicLink) => NewCredential::Invitation(Invitation::MagicLink),
        None => NewCredential::Password(read_password(args.password, args.password_stdin)?),
    };
    let metadata = match args.metadata {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Some(map),
            _ => return Err(Failure::usage("--metadata must be a JSON object")),
        },
    };
    let options = SignUpOptionsInput {
        allowed_roles: (!args.roles.is_empty()).then_some(args.roles),
        default_role: args.default_role,
        display_name: args
            .display_name
            .map(DisplayName::parse)
            .transpose()
            .map_err(Failure::usage)?,
        locale: args
            .locale
            .map(LocaleCode::parse)
            .transpose()
            .map_err(Failure::usage)?,
        metadata,
        redirect_to: args.redirect_to,
    };
    Ok(NewUserRequest {
        email,
        credential,
        verified: args.verified,
        options,
    })
}

fn print_user(out: &mut Output, user: &UserRecord) -> Result<(), Failure> {
    if out.json() {
        out.value(user)
    } else {
        user_fields(out, user);
        Ok(())
    }
}

fn user_fields(out: &mut Output, u: &UserRecord) {
    let none = || "-".to_owned();
    let metadata = match &u.metadata {
        Value::Object(m) if m.is_empty() => none(),
        other => other.to_string(),
    };
    out.fields(&[
        ("id", u.id.to_string()),
        ("email", u.email.clone().unwrap_or_else(none)),
        ("display name", u.display_name.clone()),
        ("phone number", u.phone_number.clone().unwrap_or_else(none)),
        ("locale", u.locale.clone()),
        ("default role", u.default_role.clone()),
        ("roles", u.roles.join(", ")),
        ("verified", yes_no(u.email_verified)),
        ("disabled", yes_no(u.disabled)),
        ("anonymous", yes_no(u.is_anonymous)),
        ("mfa", u.active_mfa_type.clone().unwrap_or_else(none)),
        ("created", u.created_at.clone()),
        ("last seen", u.last_seen.clone().unwrap_or_else(none)),
        ("metadata", metadata),
    ]);
}
