//! Email and SMS templates.
//!
//! Built-in templates for every locale we ship are compiled into the binary from
//! `email-templates/<locale>/<template>/{subject.txt,body.html,body.txt}`. A folder laid
//! out the same way (upstream's layout) can override any of them; it is read once at
//! start-up. Placeholders use upstream's `${name}` syntax; unknown names render empty.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::html_text;

/// Locales with built-in templates.
pub const BUILTIN_LOCALES: &[&str] = &["en", "fr", "es", "de", "bg", "cs"];

/// Folder name of the SMS template (`<locale>/signin-passwordless-sms/body.txt`).
pub const SMS_TEMPLATE: &str = "signin-passwordless-sms";

/// Locale of last resort: its built-in templates always exist.
const LAST_RESORT_LOCALE: &str = "en";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateName {
    EmailVerify,
    EmailConfirmChange,
    PasswordReset,
    SigninPasswordless,
    SigninOtp,
    /// Security notices (`AUTH_SECURITY_NOTIFICATIONS`): no ticket; `${link}` is the
    /// client URL.
    PasswordChanged,
    EmailChangeNotice,
    SigninNewDevice,
}

impl TemplateName {
    /// Every email template, in a stable order.
    pub const ALL: [TemplateName; 8] = [
        Self::EmailVerify,
        Self::EmailConfirmChange,
        Self::PasswordReset,
        Self::SigninPasswordless,
        Self::SigninOtp,
        Self::PasswordChanged,
        Self::EmailChangeNotice,
        Self::SigninNewDevice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailVerify => "email-verify",
            Self::EmailConfirmChange => "email-confirm-change",
            Self::PasswordReset => "password-reset",
            Self::SigninPasswordless => "signin-passwordless",
            Self::SigninOtp => "signin-otp",
            Self::PasswordChanged => "password-changed",
            Self::EmailChangeNotice => "email-change-notice",
            Self::SigninNewDevice => "signin-new-device",
        }
    }

    /// The template whose folder is called `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for TemplateName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `${variable}` values every template can use.
#[derive(Debug, Clone, Default)]
pub struct TemplateVars {
    pub link: String,
    pub display_name: String,
    pub email: String,
    pub new_email: String,
    pub ticket: String,
    pub redirect_to: String,
    /// Overwritten by [`Templates::render`] with the locale actually rendered.
    pub locale: String,
    pub server_url: String,
    pub client_url: String,
    /// The client of a new sign-in (`signin-new-device`).
    pub ip: String,
    pub user_agent: String,
}

impl TemplateVars {
    /// The value of placeholder `name` (upstream's camelCase names).
    pub fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "link" => &self.link,
            "displayName" => &self.display_name,
            "email" => &self.email,
            "newEmail" => &self.new_email,
            "ticket" => &self.ticket,
            "redirectTo" => &self.redirect_to,
            "locale" => &self.locale,
            "serverUrl" => &self.server_url,
            "clientUrl" => &self.client_url,
            "ip" => &self.ip,
            "userAgent" => &self.user_agent,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template {path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error("no template {template} for locale {locale} or the default locale")]
    Missing { template: String, locale: String },
}

fn invalid(path: &Path, reason: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------
// `${name}` templates
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Var(String),
}

/// A parsed template: literal text and `${name}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Compiled(Vec<Piece>);

impl Compiled {
    /// Parses `src`; the only error is an unterminated `${`.
    fn parse(src: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = src;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                pieces.push(Piece::Lit(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                let consumed = src.len() - rest.len() + start;
                let line = src[..consumed].matches('\n').count() + 1;
                return Err(format!("unterminated placeholder `${{` on line {line}"));
            };
            pieces.push(Piece::Var(after[..end].trim().to_owned()));
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Lit(rest.to_owned()));
        }
        Ok(Compiled(pieces))
    }

    /// Substitutes placeholders; unknown names render empty. With `escape_html`, values
    /// (never the template's own text) are HTML-escaped.
    fn render<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>, escape_html: bool) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(name) => {
                    let value = lookup(name).unwrap_or("");
                    if escape_html {
                        html_text::escape_into(value, &mut out);
                    } else {
                        out.push_str(value);
                    }
                }
            }
        }
        out
    }

    /// Applies `f` to every literal piece (placeholders are kept).
    fn map_literals(self, f: impl Fn(&str) -> String) -> Self {
        Compiled(
            self.0
                .into_iter()
                .map(|p| match p {
                    Piece::Lit(s) => Piece::Lit(f(&s)),
                    var => var,
                })
                .collect(),
        )
    }
}

/// Renders a page template (`crate::adapters::html_page`) with the same `${name}`
/// syntax: the template's own text is kept, each placeholder is written by `fill`.
pub(crate) fn render_with(
    src: &str,
    mut fill: impl FnMut(&str, &mut String),
) -> Result<String, String> {
    let mut out = String::new();
    for piece in Compiled::parse(src)?.0 {
        match piece {
            Piece::Lit(s) => out.push_str(&s),
            Piece::Var(name) => fill(&name, &mut out),
        }
    }
    Ok(out)
}

#[derive(Debug, Clone)]
struct EmailTemplate {
    subject: Compiled,
    html: Compiled,
    text: Compiled,
}

/// HTML body for a template that only has a plain-text one.
fn html_from_text(text: Compiled) -> Compiled {
    let body = text.map_literals(|s| {
        let mut out = String::new();
        html_text::escape_into(s, &mut out);
        out
    });
    let mut pieces = vec![Piece::Lit(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n</head>\n<body>\n\
         <div style=\"white-space:pre-wrap;font-family:sans-serif;\">"
            .to_owned(),
    )];
    pieces.extend(body.0);
    pieces.push(Piece::Lit("</div>\n</body>\n</html>\n".to_owned()));
    Compiled(pieces)
}

// ---------------------------------------------------------------------------
// Built-in templates (embedded at compile time)
// ---------------------------------------------------------------------------

struct BuiltinEmail {
    locale: &'static str,
    template: &'static str,
    subject: &'static str,
    html: &'static str,
    text: &'static str,
}

macro_rules! builtin_file {
    ($loc:literal, $tpl:literal, $file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/email-templates/",
            $loc,
            "/",
            $tpl,
            "/",
            $file
        ))
    };
}

macro_rules! builtin_email {
    ($loc:literal, $tpl:literal) => {
        BuiltinEmail {
            locale: $loc,
            template: $tpl,
            subject: builtin_file!($loc, $tpl, "subject.txt"),
            html: builtin_file!($loc, $tpl, "body.html"),
            text: builtin_file!($loc, $tpl, "body.txt"),
        }
    };
}

macro_rules! builtin_emails {
    ($($loc:literal),*) => {
        &[$(
            builtin_email!($loc, "email-verify"),
            builtin_email!($loc, "email-confirm-change"),
            builtin_email!($loc, "password-reset"),
            builtin_email!($loc, "signin-passwordless"),
            builtin_email!($loc, "signin-otp"),
            builtin_email!($loc, "password-changed"),
            builtin_email!($loc, "email-change-notice"),
            builtin_email!($loc, "signin-new-device"),
        )*]
    };
}

macro_rules! builtin_sms {
    ($($loc:literal),*) => {
        &[$(($loc, builtin_file!($loc, "signin-passwordless-sms", "body.txt")),)*]
    };
}

static BUILTIN_EMAILS: &[BuiltinEmail] = builtin_emails!("en", "fr", "es", "de", "bg", "cs");
static BUILTIN_SMS: &[(&str, &str)] = builtin_sms!("en", "fr", "es", "de", "bg", "cs");

type EmailSet = HashMap<String, HashMap<TemplateName, EmailTemplate>>;
type SmsSet = HashMap<String, Compiled>;

fn builtin_sets() -> Result<(EmailSet, SmsSet), TemplateError> {
    let builtin_path = |loc: &str, tpl: &str, file: &str| {
        PathBuf::from(format!("(built-in) email-templates/{loc}/{tpl}/{file}"))
    };
    let parse = |src: &str, loc: &str, tpl: &str, file: &str| {
        Compiled::parse(src).map_err(|r| invalid(&builtin_path(loc, tpl, file), r))
    };
    let mut emails: EmailSet = HashMap::new();
    for b in BUILTIN_EMAILS {
        let name = TemplateName::from_name(b.template).expect("built-in template name");
        let t = EmailTemplate {
            subject: parse(b.subject.trim(), b.locale, b.template, "subject.txt")?,
            html: parse(b.html, b.locale, b.template, "body.html")?,
            text: parse(b.text, b.locale, b.template, "body.txt")?,
        };
        emails
            .entry(b.locale.to_owned())
            .or_default()
            .insert(name, t);
    }
    let mut sms = HashMap::new();
    for (loc, src) in BUILTIN_SMS {
        sms.insert(
            (*loc).to_owned(),
            parse(src.trim_end(), loc, SMS_TEMPLATE, "body.txt")?,
        );
    }
    Ok((emails, sms))
}

// ---------------------------------------------------------------------------
// Custom templates folder
// ---------------------------------------------------------------------------

/// Upstream's search order: the configured path, then `./email-templates`, then
/// `./share/email-templates` (relative to `base`, normally the working directory).
/// The first existing directory wins (symlinks resolved).
pub fn find_templates_dir(configured: &Path, base: &Path) -> Option<PathBuf> {
    let candidates = [
        if configured.is_absolute() {
            configured.to_path_buf()
        } else {
            base.join(configured)
        },
        base.join("email-templates"),
        base.join("share").join("email-templates"),
    ];
    candidates
        .into_iter()
        .filter(|p| !p.as_os_str().is_empty())
        .find(|p| p.is_dir())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// Reads one template file: `None` when it does not exist; an error naming the path
/// when it exists but cannot be read, is not UTF-8 or has an unterminated `${`.
fn read_template_file(path: &Path) -> Result<Option<(String, Compiled)>, TemplateError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(invalid(path, format!("unreadable: {e}"))),
        Ok(m) if !m.is_file() => return Err(invalid(path, "not a regular file")),
        Ok(_) => {}
    }
    let bytes = std::fs::read(path).map_err(|e| invalid(path, format!("unreadable: {e}")))?;
    let src = String::from_utf8(bytes).map_err(|_| invalid(path, "not valid UTF-8"))?;
    let compiled = Compiled::parse(&src).map_err(|r| invalid(path, r))?;
    Ok(Some((src, compiled)))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<(String, PathBuf)>, TemplateError> {
    let entries = std::fs::read_dir(dir).map_err(|e| invalid(dir, format!("unreadable: {e}")))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| invalid(dir, format!("unreadable: {e}")))?;
        let path = entry.path();
        // Follows symlinks, like upstream.
        if !path.is_dir() {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(name) => out.push((name, path)),
            Err(_) => {
                tracing::warn!(path = %path.display(), "ignoring template folder with a non UTF-8 name")
            }
        }
    }
    out.sort();
    Ok(out)
}

fn load_custom(dir: &Path, builtin: &EmailSet) -> Result<(EmailSet, SmsSet), TemplateError> {
    let mut emails: EmailSet = HashMap::new();
    let mut sms: SmsSet = HashMap::new();
    for (locale_name, locale_dir) in read_dir_sorted(dir)? {
        let locale = locale_name.to_ascii_lowercase();
        for (tpl_name, tpl_dir) in read_dir_sorted(&locale_dir)? {
            if tpl_name == SMS_TEMPLATE {
                let path = tpl_dir.join("body.txt");
                match read_template_file(&path)? {
                    Some((src, _)) => {
                        let c = Compiled::parse(src.trim_end()).map_err(|r| invalid(&path, r))?;
                        sms.insert(locale.clone(), c);
                    }
                    None => {
                        tracing::warn!(path = %path.display(), "SMS template folder without body.txt ignored")
                    }
                }
                continue;
            }
            let Some(name) = TemplateName::from_name(&tpl_name) else {
                tracing::debug!(path = %tpl_dir.display(), "ignoring unknown template folder");
                continue;
            };
            let fallback = builtin.get(&locale).and_then(|m| m.get(&name));
            let subject_path = tpl_dir.join("subject.txt");
            let subject = match read_template_file(&subject_path)? {
                Some((src, _)) => {
                    Compiled::parse(src.trim()).map_err(|r| invalid(&subject_path, r))?
                }
                None => match fallback {
                    Some(b) => b.subject.clone(),
                    None => return Err(invalid(&subject_path, "missing")),
                },
            };
            let html_path = tpl_dir.join("body.html");
            let text_path = tpl_dir.join("body.txt");
            let html = read_template_file(&html_path)?;
            let text = read_template_file(&text_path)?;
            let (html, text) = match (html, text) {
                (Some((_, h)), Some((_, t))) => (h, t),
                (Some((src, h)), None) => {
                    let derived = html_text::html_to_text(&src);
                    let t = Compiled::parse(&derived).map_err(|r| invalid(&html_path, r))?;
                    (h, t)
                }
                (None, Some((_, t))) => (html_from_text(t.clone()), t),
                (None, None) => match fallback {
                    Some(b) => (b.html.clone(), b.text.clone()),
                    None => return Err(invalid(&html_path, "missing (and no body.txt either)")),
                },
            };
            emails.entry(locale.clone()).or_default().insert(
                name,
                EmailTemplate {
                    subject,
                    html,
                    text,
                },
            );
        }
    }
    Ok((emails, sms))
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// All templates, loaded once at start-up.
pub struct Templates {
    default_locale: String,
    builtin: EmailSet,
    builtin_sms: SmsSet,
    custom: EmailSet,
    custom_sms: SmsSet,
    custom_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("default_locale", &self.default_locale)
            .field("custom_dir", &self.custom_dir)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// Loads the built-in templates plus, when `custom_dir` is given, the custom folder
    /// found by upstream's search order (that path, `./email-templates`,
    /// `./share/email-templates`; none existing → built-ins only).
    pub fn load(custom_dir: Option<&Path>, default_locale: &str) -> Result<Self, TemplateError> {
        let found = custom_dir.and_then(|configured| {
            let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            find_templates_dir(configured, &base)
        });
        match found {
            Some(dir) => Self::load_dir(&dir, default_locale),
            None => {
                if let Some(configured) = custom_dir {
                    tracing::info!(
                        path = %configured.display(),
                        "no custom email templates folder found, using the built-in templates"
                    );
                }
                Self::builtin(default_locale)
            }
        }
    }

    /// Built-in templates only.
    pub fn builtin(default_locale: &str) -> Result<Self, TemplateError> {
        let (builtin, builtin_sms) = builtin_sets()?;
        Ok(Templates {
            default_locale: default_locale.trim().to_ascii_lowercase(),
            builtin,
            builtin_sms,
            custom: HashMap::new(),
            custom_sms: HashMap::new(),
            custom_dir: None,
        })
    }

    /// Built-in templates overridden by exactly the folder `dir`, which must exist.
    pub fn load_dir(dir: &Path, default_locale: &str) -> Result<Self, TemplateError> {
        let mut t = Self::builtin(default_locale)?;
        let (custom, custom_sms) = load_custom(dir, &t.builtin)?;
        tracing::info!(
            path = %dir.display(),
            emails = custom.values().map(HashMap::len).sum::<usize>(),
            sms = custom_sms.len(),
            "custom email templates loaded"
        );
        t.custom = custom;
        t.custom_sms = custom_sms;
        t.custom_dir = Some(dir.to_path_buf());
        Ok(t)
    }

    /// The custom templates folder in use, if any.
    pub fn custom_dir(&self) -> Option<&Path> {
        self.custom_dir.as_deref()
    }

    pub fn default_locale(&self) -> &str {
        &self.default_locale
    }

    /// Locales to try, in order: requested, default, then `en`.
    fn locale_chain(&self, locale: &str) -> [String; 3] {
        let requested = locale.trim().to_ascii_lowercase();
        let requested = if requested.is_empty() {
            self.default_locale.clone()
        } else {
            requested
        };
        [
            requested,
            self.default_locale.clone(),
            LAST_RESORT_LOCALE.to_owned(),
        ]
    }

    fn find_email(&self, name: TemplateName, locale: &str) -> Option<(String, &EmailTemplate)> {
        let chain = self.locale_chain(locale);
        for (i, loc) in chain.iter().enumerate() {
            let found = [&self.custom, &self.builtin]
                .into_iter()
                .find_map(|set| set.get(loc).and_then(|m| m.get(&name)));
            if let Some(t) = found {
                if i > 0 {
                    tracing::warn!(
                        template = name.as_str(),
                        requested = %chain[0],
                        used = %loc,
                        "no email template for the requested locale, falling back"
                    );
                }
                return Some((loc.clone(), t));
            }
        }
        None
    }

    /// Renders `name` in `locale`, falling back to the default locale's same template,
    /// then to built-in `en`. `${locale}` is the locale actually rendered.
    pub fn render(
        &self,
        name: TemplateName,
        locale: &str,
        vars: &TemplateVars,
    ) -> Result<RenderedEmail, TemplateError> {
        let (used, t) = self
            .find_email(name, locale)
            .ok_or_else(|| TemplateError::Missing {
                template: name.as_str().to_owned(),
                locale: locale.to_owned(),
            })?;
        let mut vars = vars.clone();
        vars.locale = used;
        let lookup = |n: &str| vars.get(n);
        let subject = t.subject.render(lookup, false);
        Ok(RenderedEmail {
            subject: single_line(&subject),
            html: t.html.render(lookup, true),
            text: t.text.render(lookup, false),
        })
    }

    /// Renders `<locale>/signin-passwordless-sms/body.txt` with `${code}` (same locale
    /// fallback as emails).
    pub fn sms_body(&self, locale: &str, code: &str) -> Result<String, TemplateError> {
        let chain = self.locale_chain(locale);
        for (i, loc) in chain.iter().enumerate() {
            let found = self
                .custom_sms
                .get(loc)
                .or_else(|| self.builtin_sms.get(loc));
            if let Some(t) = found {
                if i > 0 {
                    tracing::warn!(requested = %chain[0], used = %loc, "no SMS template for the requested locale, falling back");
                }
                let body = t.render(
                    |n| match n {
                        "code" => Some(code),
                        "locale" => Some(loc.as_str()),
                        _ => None,
                    },
                    false,
                );
                return Ok(body);
            }
        }
        Err(TemplateError::Missing {
            template: SMS_TEMPLATE.to_owned(),
            locale: locale.to_owned(),
        })
    }
}

/// Collapses line breaks (a subject is one header line).
fn single_line(s: &str) -> String {
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_placeholders() {
        let c = Compiled::parse("a ${link} b ${ x }c").unwrap();
        assert_eq!(
            c.0,
            vec![
                Piece::Lit("a ".into()),
                Piece::Var("link".into()),
                Piece::Lit(" b ".into()),
                Piece::Var("x".into()),
                Piece::Lit("c".into()),
            ]
        );
        assert!(Compiled::parse("x\n${link").unwrap_err().contains("line 2"));
        // A lone `$` or `{` is text.
        assert_eq!(
            Compiled::parse("$5 {x}").unwrap().0,
            vec![Piece::Lit("$5 {x}".into())]
        );
    }

    #[test]
    fn unknown_placeholder_is_empty_and_values_escaped() {
        let c = Compiled::parse("<b>${nope}${link}</b>").unwrap();
        let out = c.render(|n| (n == "link").then_some("a&b<\"'>"), true);
        assert_eq!(out, "<b>a&amp;b&lt;&quot;&#39;&gt;</b>");
        let out = c.render(|n| (n == "link").then_some("a&b"), false);
        assert_eq!(out, "<b>a&b</b>");
    }

    #[test]
    fn every_builtin_locale_has_every_template() {
        let (emails, sms) = builtin_sets().unwrap();
        for loc in BUILTIN_LOCALES {
            for name in TemplateName::ALL {
                assert!(emails[*loc].contains_key(&name), "{loc}/{name}");
            }
            assert!(sms.contains_key(*loc), "{loc}/sms");
        }
    }

    #[test]
    fn subject_is_single_line() {
        assert_eq!(single_line("a\r\nb\n c "), "a b c");
    }

    #[test]
    fn search_order() {
        let base = std::env::temp_dir().join(format!("tpl-search-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("share/email-templates")).unwrap();
        let found = find_templates_dir(Path::new("/definitely/not/here"), &base).unwrap();
        assert!(found.ends_with("share/email-templates"));
        std::fs::create_dir_all(base.join("email-templates")).unwrap();
        let found = find_templates_dir(Path::new("/definitely/not/here"), &base).unwrap();
        assert!(found.ends_with("email-templates") && !found.ends_with("share/email-templates"));
        std::fs::create_dir_all(base.join("mine")).unwrap();
        let found = find_templates_dir(&base.join("mine"), &base).unwrap();
        assert!(found.ends_with("mine"));
        std::fs::remove_dir_all(&base).unwrap();
        assert!(find_templates_dir(Path::new("/definitely/not/here"), &base).is_none());
    }
}
