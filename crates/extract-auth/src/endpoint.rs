//! URLs that carry secrets: checked before use, redacted before they are shown.

use url::Url;

use crate::AuthError;

/// Parses `text` as the `what` URL, refusing plain `http://` except to a loopback host.
pub fn checked_url(text: &str, what: &'static str) -> Result<Url, AuthError> {
    let url = Url::parse(text).map_err(|e| {
        AuthError::Config(format!(
            "the {what} `{}` is not a URL: {e}",
            redact_str(text)
        ))
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(AuthError::InsecureUrl {
            what,
            url: redacted(&url),
        }),
        other => Err(AuthError::Config(format!(
            "the {what} must be https://, not {other}://"
        ))),
    }
}

/// Whether `url` names this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The URL without its query (which may hold a refresh token) or credentials.
pub fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    let had_query = shown.query().is_some();
    shown.set_query(None);
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    let mut text = shown.to_string();
    if had_query {
        text.push_str("?[redacted]");
    }
    text
}

fn redact_str(text: &str) -> String {
    match text.split_once('?') {
        Some((base, _)) => format!("{base}?[redacted]"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(
            checked_url(
                "https://kensho.okta.com/oauth2/default/v1/token",
                "token URL"
            )
            .is_ok()
        );
        for ok in [
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]:9/x",
            "http://127.3.2.1/",
        ] {
            assert!(checked_url(ok, "token URL").is_ok(), "{ok}");
        }
        let err = checked_url("http://extract.kensho.com/v3", "API URL").expect_err("refused");
        assert!(
            matches!(
                err,
                AuthError::InsecureUrl {
                    what: "API URL",
                    ..
                }
            ),
            "{err}"
        );
        assert!(checked_url("ftp://x", "API URL").is_err());
        assert!(checked_url("not a url", "API URL").is_err());
    }

    #[test]
    fn queries_and_credentials_never_show() {
        let url = Url::parse("https://user:pw@h.example/oauth2/refresh?refresh_token=SECRET")
            .expect("url");
        let shown = redacted(&url);
        assert_eq!(shown, "https://h.example/oauth2/refresh?[redacted]");
        let err =
            checked_url("http://h.example/?refresh_token=SECRET", "API URL").expect_err("refused");
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = checked_url("bad url?refresh_token=SECRET", "API URL").expect_err("refused");
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}
