//! From finding to flow: a `stale-open-data` finding written as the flow
//! that replays the order the client runs (the open-data step, the login,
//! the request to the path the client calls, with the field names it
//! sends), against the reference backend or, with `--target`, the team's.

use super::Finding;
use super::graph::value::Tag;
use serde_json::{Map, Value, json};

/// The flow for a finding, as YAML text; `None` for other rules, and when
/// the request carries the login's key only as what the backend answered
/// for its code (a token): a written flow cannot know that answer's shape,
/// the page flow runs the app's own code instead.
pub fn flow_for(f: &Finding) -> Option<String> {
    let r = f.replay.as_ref()?;
    if !r.fields.iter().any(|(_, t)| matches!(t, Tag::Code(l) if l.id == r.login.id)) {
        return None;
    }
    let phone = r.open.api == "getPhoneNumber";
    let step = if phone { "phone" } else { "profile" };
    let (mut body, mut headers, mut query) = (Map::new(), Map::new(), Map::new());
    for (path, tag) in &r.fields {
        let (value, name) = match tag {
            Tag::Code(_) => ("{{ login.code }}".to_string(), "code"),
            Tag::Open(_, field) if *field != "code" && *field != "cloudID" => {
                (format!("{{{{ {step}.{field} }}}}"), *field)
            }
            _ => continue,
        };
        // A platform request's options: `data` is the body, `header` the
        // headers; what is built into `url` rides in its query, under the
        // field's own name (the client's names are in the string).
        let (target, path) = match path.first().map(String::as_str) {
            Some("data") => (&mut body, &path[1..]),
            Some("header") => (&mut headers, &path[1..]),
            Some("url") => (&mut query, &[name.to_string()][..]),
            _ => (&mut body, &path[..]),
        };
        insert(target, path, value);
    }
    let url = r.url.as_deref().map_or("/api/login".to_string(), url_path);
    let get = r.method.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("GET"));
    if get {
        query.append(&mut body);
    }
    let query: Vec<String> = query
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={}", v.replace(" }}", " | urlencode }}"))))
        .collect();
    let url = if query.is_empty() { url } else { format!("{url}?{}", query.join("&")) };
    let mut http = Map::new();
    http.insert("url".into(), json!(format!("{{{{ target }}}}{url}")));
    if get {
        http.insert("method".into(), json!("GET"));
    } else {
        http.insert("json".into(), Value::Object(body));
    }
    if !headers.is_empty() {
        http.insert("headers".into(), Value::Object(headers));
    }
    let open_step = json!({"id": step, format!("wx.{}", r.open.api): {}});
    let flow = json!({
        "name": format!("{} before {} ({}:{})", r.open.api, r.login.api, f.file, f.line),
        "description": format!(
            "Written by `wxflow lint` from {}:{}:{}: the client obtains sealed data ({}), then calls {}, then sends both to {}. \
             Under a mock that refreshes the session_key at every login it fails as stale_iv against a backend that checks the data; \
             the fix is in the finding.",
            f.file, f.line, f.column, r.open.api, r.login.api, url
        ),
        "mock": {"rotation": "always"},
        "steps": [
            open_step,
            {"id": "login", "wx.login": {}},
            {"id": "server", "http": http, "assert": {"status": 200}},
        ],
    });
    let yaml = serde_yaml::to_string(&flow).ok()?;
    // The file name is quoted as Rust would: a newline in it cannot end the comment.
    Some(format!(
        "# Written by wxflow lint: replays {}:{}:{} ({}).\n{yaml}",
        f.file.escape_debug(),
        f.line,
        f.column,
        f.rule
    ))
}

fn insert(target: &mut Map<String, Value>, path: &[String], value: String) {
    match path {
        [] => {}
        [last] => {
            target.entry(last.clone()).or_insert(json!(value));
        }
        [first, rest @ ..] => {
            let child = target.entry(first.clone()).or_insert_with(|| json!({}));
            if let Some(map) = child.as_object_mut() {
                insert(map, rest, value);
            }
        }
    }
}

/// The path of a URL as far as the evaluator knew it: `{?}/api/login`,
/// `https://host/api/login?x=1` and `/api/login` all give `/api/login`.
fn url_path(url: &str) -> String {
    // The query cut off (an unknown part, `{?}`, holds a `?` of its own),
    // then what follows the last unknown part (an unknown base URL).
    let url = url.replace("{?}", "\u{1}");
    let url = url.split('?').next().unwrap_or("");
    let url = url.rsplit('\u{1}').next().unwrap_or(url);
    let no_scheme = url.split_once("://").map_or(url, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
    let path = no_scheme.split('?').next().unwrap_or("");
    let path = path.trim_start_matches('/');
    if path.is_empty() { "/api/login".into() } else { format!("/{path}") }
}

/// The flow that opens the finding's page and taps its handler, running the
/// app's own code; `app:` is written relative to `dir`, where the flow goes.
pub fn page_flow_for(f: &Finding, dir: &std::path::Path) -> Option<String> {
    let page = f.page.as_ref()?;
    let app = std::fs::canonicalize(dir).ok().map_or_else(|| page.app.clone(), |d| relative(&d, &page.app));
    let flow = json!({
        "name": format!("{}: {} on {} ({}:{})", f.rule, page.handler, page.route, f.file, f.line),
        "description": "Runs the page's own code: opens it and taps the handler the finding starts in, under a session_key that rotates at every login. It fails as stale_iv until the page obtains its data after the login.",
        "app": app.to_string_lossy(),
        "mock": {"rotation": "always"},
        "steps": [
            {"id": "open", "page.open": page.route},
            {"id": "tap", "page.tap": page.handler},
        ],
    });
    let yaml = serde_yaml::to_string(&flow).ok()?;
    Some(format!(
        "# Written by wxflow lint: taps {} on {} ({}).\n{yaml}",
        page.handler.escape_debug(),
        page.route.escape_debug(),
        f.rule
    ))
}

/// `to` as seen from the folder `from` (both absolute): `../app`.
fn relative(from: &std::path::Path, to: &std::path::Path) -> std::path::PathBuf {
    let (a, b): (Vec<_>, Vec<_>) = (from.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() { ".".into() } else { out }
}

/// A file name for a finding's flow: `stale-open-data-pages-index-index-js-12.yaml`.
pub fn file_name(f: &Finding) -> String {
    let stem: String = f.rel.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("{}-{}-{}.yaml", f.rule, stem.trim_matches('-'), f.line)
}

#[cfg(test)]
mod tests {
    use super::url_path;

    #[test]
    fn url_paths() {
        assert_eq!(url_path("{?}/user/login"), "/user/login");
        assert_eq!(url_path("https://api.example.com/v1/wx/login?a=1"), "/v1/wx/login");
        assert_eq!(url_path("{?}"), "/api/login");
        assert_eq!(url_path("/api/login"), "/api/login");
        assert_eq!(url_path("https://x.cn/auth/login?code={?}&iv={?}"), "/auth/login");
        assert_eq!(url_path("{?}/auth/login?code={?}"), "/auth/login");
    }
}
