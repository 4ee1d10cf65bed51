//! `AUTH_SMS_PROVIDER=generic` (Nhost Auth 0.52): each message is one POST to
//! `AUTH_SMS_GENERIC_URL`, its body rendered from `AUTH_SMS_GENERIC_BODY_TEMPLATE`.
//!
//! The template knows two variables, `${to}` (the E.164 number) and `${body}` (the text);
//! whitespace inside `${ }` is ignored and any other variable (or an unclosed `${`) is a
//! start-up error. How the rendered text is sent depends on
//! `AUTH_SMS_GENERIC_CONTENT_TYPE`:
//! - JSON (`application/json`, or any `+json` type): values are JSON-string-escaped and the
//!   rendered text is sent as it is; it must be JSON (checked at start-up with sample values);
//! - `application/x-www-form-urlencoded`: values are JSON-string-escaped, the rendered text
//!   must be a JSON object, and its top-level fields are sent as form fields (strings as
//!   they are, other values as their JSON text, `null` as an empty value);
//! - anything else: values are inserted unescaped and the rendered bytes are sent.
//!
//! `AUTH_SMS_GENERIC_HEADERS` (a JSON object of strings) adds request headers; they often
//! carry an API key, so neither they nor errors about them are ever logged or shown.

use std::time::Duration;

use futures_util::future::BoxFuture;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{CodeMessage, SmsConfigError, SmsError, SmsSender, rejected, transport};
use crate::config::Secret;
use crate::tls::Tls;

const NAME: &str = "generic";

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    To,
    Body,
}

/// How values are escaped and the rendered text is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Json,
    Form,
    Raw,
}

impl Encoding {
    fn of(content_type: &str) -> Encoding {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence == "application/json" || essence.ends_with("+json") {
            Encoding::Json
        } else if essence == "application/x-www-form-urlencoded" {
            Encoding::Form
        } else {
            Encoding::Raw
        }
    }
}

/// A body template, parsed once at start-up.
#[derive(Debug, Clone)]
pub struct BodyTemplate {
    parts: Vec<Part>,
    encoding: Encoding,
}

impl BodyTemplate {
    /// Parses `text` for the given content type; the error names the offending variable.
    pub fn parse(text: &str, content_type: &str) -> Result<BodyTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!(
                    "unclosed \"${{\" at byte {}",
                    text.len() - rest.len() + start
                ));
            };
            let name = after[..end].trim();
            parts.push(match name {
                "to" => Part::To,
                "body" => Part::Body,
                other => {
                    return Err(format!(
                        "unknown variable ${{{other}}} (only ${{to}} and ${{body}} exist)"
                    ));
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        let template = BodyTemplate {
            parts,
            encoding: Encoding::of(content_type),
        };
        // Fail at start-up, not at the first message: a JSON or form template must give
        // JSON (a form template, a JSON object) whatever the values.
        let sample = template.render("+15550100", "Your code is 123456 \"quoted\"\n");
        match template.encoding {
            Encoding::Json => {
                serde_json::from_str::<Value>(&sample)
                    .map_err(|e| format!("the rendered template is not JSON ({e})"))?;
            }
            Encoding::Form => {
                form_fields(&sample)?;
            }
            Encoding::Raw => {}
        }
        Ok(template)
    }

    fn render(&self, to: &str, body: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::To => self.push_value(&mut out, to),
                Part::Body => self.push_value(&mut out, body),
            }
        }
        out
    }

    fn push_value(&self, out: &mut String, value: &str) {
        if self.encoding == Encoding::Raw {
            out.push_str(value);
            return;
        }
        // A JSON string's inside: serde's encoding, without the quotes.
        let quoted = Value::String(value.to_owned()).to_string();
        out.push_str(&quoted[1..quoted.len() - 1]);
    }

    /// The request body for one message.
    fn request_body(&self, to: &str, body: &str) -> Result<Vec<u8>, String> {
        let rendered = self.render(to, body);
        match self.encoding {
            Encoding::Json | Encoding::Raw => Ok(rendered.into_bytes()),
            Encoding::Form => {
                let fields = form_fields(&rendered)?;
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in &fields {
                    form.append_pair(name, value);
                }
                Ok(form.finish().into_bytes())
            }
        }
    }
}

/// The top-level fields of a rendered form template.
fn form_fields(rendered: &str) -> Result<Vec<(String, String)>, String> {
    let value: Value = serde_json::from_str(rendered).map_err(|e| {
        format!("with a form content type the rendered template must be a JSON object ({e})")
    })?;
    let Value::Object(map) = value else {
        return Err(
            "with a form content type the rendered template must be a JSON object".to_owned(),
        );
    };
    Ok(map
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (name, value)
        })
        .collect())
}

/// `AUTH_SMS_GENERIC_HEADERS`: a JSON object of string values. The error never quotes the
/// setting (it may hold a key).
fn parse_headers(headers: &Secret) -> Result<HeaderMap, String> {
    let text = headers.expose().trim();
    if text.is_empty() {
        return Ok(HeaderMap::new());
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err("AUTH_SMS_GENERIC_HEADERS must be a JSON object of strings".to_owned());
    };
    let mut out = HeaderMap::new();
    for (name, value) in map {
        let Value::String(value) = value else {
            return Err(format!(
                "AUTH_SMS_GENERIC_HEADERS: the value of {name:?} must be a string"
            ));
        };
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("AUTH_SMS_GENERIC_HEADERS: {name:?} is not a header name"))?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            format!("AUTH_SMS_GENERIC_HEADERS: the value of {name:?} is not a valid header value")
        })?;
        value.set_sensitive(true);
        out.insert(header, value);
    }
    Ok(out)
}

pub struct GenericSms {
    http: reqwest::Client,
    url: String,
    content_type: HeaderValue,
    headers: HeaderMap,
    template: BodyTemplate,
}

/// Settings of the generic provider (from the configuration).
pub struct GenericSettings<'a> {
    pub url: &'a str,
    pub content_type: &'a str,
    pub headers: &'a Secret,
    pub timeout: Duration,
    pub body_template: &'a str,
}

impl GenericSms {
    pub fn new(settings: GenericSettings<'_>, tls: &Tls) -> Result<GenericSms, SmsConfigError> {
        let invalid = |what: String| SmsConfigError {
            provider: NAME,
            missing: what,
        };
        super::require(
            NAME,
            &[
                ("AUTH_SMS_GENERIC_URL", settings.url),
                ("AUTH_SMS_GENERIC_BODY_TEMPLATE", settings.body_template),
            ],
        )?;
        let url = reqwest::Url::parse(settings.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| invalid("a valid http(s) AUTH_SMS_GENERIC_URL".to_owned()))?;
        let content_type = match settings.content_type.trim() {
            "" => "application/json",
            other => other,
        };
        let template = BodyTemplate::parse(settings.body_template, content_type)
            .map_err(|e| invalid(format!("a valid AUTH_SMS_GENERIC_BODY_TEMPLATE: {e}")))?;
        let headers = parse_headers(settings.headers).map_err(invalid)?;
        let content_type = HeaderValue::from_str(content_type)
            .map_err(|_| invalid("a valid AUTH_SMS_GENERIC_CONTENT_TYPE".to_owned()))?;
        if settings.timeout.is_zero() {
            return Err(invalid("a positive AUTH_SMS_GENERIC_TIMEOUT".to_owned()));
        }
        let http = tls
            .http_client()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| invalid(format!("a usable HTTP client ({e})")))?;
        Ok(GenericSms {
            http,
            url: url.to_string(),
            content_type,
            headers,
            template,
        })
    }
}

impl SmsSender for GenericSms {
    fn name(&self) -> &'static str {
        NAME
    }

    fn send_code<'a>(&'a self, msg: CodeMessage<'a>) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let body = self
                .template
                .request_body(msg.to, msg.body)
                .map_err(|cause| SmsError::Transport {
                    provider: NAME,
                    cause,
                })?;
            // The configured headers first; the content type setting wins over a
            // Content-Type among them.
            let mut headers = self.headers.clone();
            headers.insert(CONTENT_TYPE, self.content_type.clone());
            let res = self
                .http
                .post(&self.url)
                .headers(headers)
                .body(body)
                .send()
                .await
                // The URL may carry a key in its query: never in the error.
                .map_err(|e| transport(NAME, e.without_url()))?;
            if res.status().is_success() {
                Ok(())
            } else {
                Err(rejected(NAME, res).await)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_allow_inner_whitespace_and_json_escape_values() {
        let t = BodyTemplate::parse(r#"{"to":"${ to }","text":"${body}"}"#, "application/json")
            .unwrap();
        let out = t.render("+33612345678", "say \"hi\"\n\\ ok");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["to"], "+33612345678");
        assert_eq!(v["text"], "say \"hi\"\n\\ ok");
    }

    #[test]
    fn unknown_or_unclosed_variables_are_errors() {
        let e = BodyTemplate::parse(r#"{"x":"${code}"}"#, "application/json").unwrap_err();
        assert!(e.contains("${code}"), "{e}");
        assert!(BodyTemplate::parse("${to", "text/plain").is_err());
        assert!(BodyTemplate::parse("${}", "text/plain").is_err());
    }

    #[test]
    fn json_and_form_templates_must_render_json() {
        assert!(BodyTemplate::parse("to=${to}", "application/json").is_err());
        assert!(BodyTemplate::parse(r#"["${to}"]"#, "application/x-www-form-urlencoded").is_err());
        assert!(BodyTemplate::parse("to=${to}", "text/plain; charset=utf-8").is_ok());
    }

    #[test]
    fn form_templates_become_form_fields() {
        let t = BodyTemplate::parse(
            r#"{"To":"${to}","Body":"${body}","n":2,"x":null}"#,
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .unwrap();
        let body = t.request_body("+1555", "a&b=\"c\"").unwrap();
        let mut fields: Vec<(String, String)> =
            url::form_urlencoded::parse(&body).into_owned().collect();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                ("Body".to_owned(), "a&b=\"c\"".to_owned()),
                ("To".to_owned(), "+1555".to_owned()),
                ("n".to_owned(), "2".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn raw_templates_are_not_escaped() {
        let t = BodyTemplate::parse("${to}: ${body}", "text/plain").unwrap();
        assert_eq!(t.render("+1", "a \"b\""), "+1: a \"b\"");
    }

    #[test]
    fn header_errors_never_quote_values() {
        let e = parse_headers(&Secret::from(r#"{"X-Key":"sec\nret"}"#)).unwrap_err();
        assert!(!e.contains("sec"), "{e}");
        assert!(parse_headers(&Secret::from(r#"{"X-Key":1}"#)).is_err());
        assert!(parse_headers(&Secret::from("[1]")).is_err());
        let h = parse_headers(&Secret::from(r#"{"X-Api-Key":"k1"}"#)).unwrap();
        assert_eq!(h["x-api-key"], "k1");
        assert!(h["x-api-key"].is_sensitive());
    }
}
