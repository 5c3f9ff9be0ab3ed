//! Cookies: the request's `Cookie` header parsed, and `Set-Cookie` values
//! built, as `http.cookies.SimpleCookie` does for a Python app. The
//! parsing and formatting are the [`cookie`] crate's.
//!
//! ```ignore
//! use wasgi::cookies::{self, Cookie};
//!
//! let seen = cookies::get(&environ.vars, "visits").unwrap_or_default();
//! let next = Cookie::build(("visits", "2")).path("/").http_only(true).build();
//! start_response.call("200 OK", [cookies::set_cookie(&next)], None)?;
//! ```

pub use cookie::{Cookie, CookieBuilder, SameSite};

use crate::util::Vars;

/// The cookies of a `Cookie` header, in order; pairs that are not
/// `name=value` are skipped, as browsers send them. Values in double
/// quotes lose the quotes, as with `SimpleCookie`.
pub fn parse(header: &str) -> Vec<Cookie<'static>> {
    Cookie::split_parse(header.to_string())
        .filter_map(Result::ok)
        .map(|c| {
            let (name, value) = c.name_value_trimmed();
            Cookie::new(name.to_string(), value.to_string())
        })
        .collect()
}

/// The request's cookies (from `HTTP_COOKIE`, its bytes read as UTF-8).
pub fn from_environ(vars: &Vars) -> Vec<Cookie<'static>> {
    let header = vars
        .get("HTTP_COOKIE")
        .and_then(|v| crate::util::to_bytes(v))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    parse(&header)
}

/// The value of the request's cookie `name`; the first one if the client
/// sent several.
pub fn get(vars: &Vars, name: &str) -> Option<String> {
    from_environ(vars)
        .into_iter()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The `("Set-Cookie", value)` header for `cookie`, ready for
/// `start_response` or [`Headers::add_header`](crate::Headers).
pub fn set_cookie(cookie: &Cookie<'_>) -> (String, String) {
    ("Set-Cookie".to_string(), cookie.to_string())
}

/// The `Set-Cookie` header that removes cookie `name` (set on `path`):
/// an empty value that expired long ago.
pub fn delete_cookie(name: &str, path: &str) -> (String, String) {
    let mut cookie = Cookie::build((name.to_string(), String::new()))
        .path(path.to_string())
        .build();
    cookie.make_removal();
    set_cookie(&cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_header_parses_like_simple_cookie() {
        let got: Vec<_> = parse("a=1; b=\"two words\"; junk; c=caf\u{e9}; a=again")
            .iter()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect();
        let want = [
            ("a", "1"),
            ("b", "two words"),
            ("c", "caf\u{e9}"),
            ("a", "again"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        let mut vars = Vars::new();
        vars.insert("HTTP_COOKIE".into(), "sid=abc; x=caf\u{c3}\u{a9}".into());
        assert_eq!(get(&vars, "x").as_deref(), Some("caf\u{e9}"));
        assert_eq!(get(&vars, "nope"), None);
    }

    #[test]
    fn set_cookie_headers_carry_their_attributes() {
        let c = Cookie::build(("sid", "abc"))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .build();
        assert_eq!(
            set_cookie(&c),
            (
                "Set-Cookie".to_string(),
                "sid=abc; HttpOnly; SameSite=Lax; Path=/".to_string()
            )
        );
        let (_, gone) = delete_cookie("sid", "/");
        assert!(
            gone.starts_with("sid=; Path=/; Max-Age=0; Expires="),
            "{gone}"
        );
    }
}
