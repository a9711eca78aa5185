//! What wxflow reads of a page's WXML and JSON: the element that binds a
//! handler (its `open-type`, its `data-*`), and the custom components the
//! page uses with the handlers bound to their events. A lenient reader, not
//! a renderer: templates are not strict XML.

use super::AppFiles;
use std::collections::BTreeMap;

/// A custom component a page uses: its tag, its file (without extension,
/// from the root), and the page's handlers bound to its events.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Use {
    pub name: String,
    pub path: String,
    pub events: BTreeMap<String, String>,
    /// The tag's static attributes (`label="登录"`), by property name.
    pub props: BTreeMap<String, String>,
}

impl AppFiles {
    /// The custom components `route` uses (its `.json` and the app's
    /// `usingComponents`), with the handlers its template binds to them;
    /// read once per page and run.
    pub fn uses(&self, route: &str) -> std::sync::Arc<[Use]> {
        let mut cache = self.uses.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.entry(route.to_string()).or_insert_with(|| self.read_uses(route).into()).clone()
    }

    fn read_uses(&self, route: &str) -> Vec<Use> {
        let json = |p: &str| self.get(p).and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
        let dir = route.rsplit_once('/').map_or("", |(d, _)| d);
        let wxml = self.get(&format!("{route}.wxml")).unwrap_or_default();
        let mut out = vec![];
        for (owner, base) in [(json(&format!("{route}.json")), dir), (json("app.json"), "")] {
            let Some(map) = owner.as_ref().and_then(|j| j["usingComponents"].as_object().cloned()) else { continue };
            for (name, path) in map {
                let Some(path) = path.as_str().filter(|p| !p.starts_with("plugin://")) else { continue };
                let joined = if path.starts_with('/') { path.to_string() } else { format!("{base}/{path}") };
                let path = normalize(&joined);
                // WeChat makes only the components a page's template uses.
                if out.iter().any(|u: &Use| u.name == name) || tags(wxml, &name).is_empty() {
                    continue;
                }
                out.push(Use { events: tag_events(wxml, &name), props: tag_props(wxml, &name), name, path });
            }
        }
        out
    }
}

/// `a/./b/../c` → `a/c`.
fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = vec![];
    for s in path.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// The event bindings of a template (`bindtap="go"`, `bind:got="onPhone"`,
/// `catchgetuserinfo='x'`), and the attributes (`open-type`, `data-*`).
fn patterns() -> &'static (regex::Regex, regex::Regex) {
    static RE: std::sync::OnceLock<(regex::Regex, regex::Regex)> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        (
            regex::Regex::new(
                r#"(?:capture-bind|capture-catch|mut-bind|bind|catch):?([A-Za-z][\w-]*)\s*=\s*["']\s*([\w$]+)\s*["']"#,
            )
            .expect("valid regex"),
            regex::Regex::new(r#"([A-Za-z][\w:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("valid regex"),
        )
    })
}

/// The text of every `<tag …>` opening tag in a template.
fn tags<'w>(wxml: &'w str, tag: &str) -> Vec<&'w str> {
    let open = format!("<{tag}");
    wxml.match_indices(&open)
        .filter_map(|(at, _)| {
            let rest = &wxml[at + open.len()..];
            let next = rest.chars().next()?;
            (next.is_whitespace() || next == '/' || next == '>').then(|| &rest[..rest.find('>').unwrap_or(rest.len())])
        })
        .collect()
}

/// The static attributes of the first `<tag …>` (not bindings, not `{{…}}`),
/// named as properties: `open-type` → `openType`.
fn tag_props(wxml: &str, tag: &str) -> BTreeMap<String, String> {
    let (binding, pairs) = patterns();
    let Some(first) = tags(wxml, tag).into_iter().next() else { return BTreeMap::new() };
    pairs
        .captures_iter(first)
        .filter(|c| !binding.is_match(&c[0]) && !c[1].starts_with("wx:") && !c[1].starts_with("data-"))
        .filter_map(|c| {
            let value = c.get(2).or_else(|| c.get(3)).map_or("", |m| m.as_str());
            (!value.contains("{{")).then(|| (camel(&c[1]), value.to_string()))
        })
        .collect()
}

/// `user-id` → `userId`, as WeChat names datasets and properties.
fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for ch in name.chars() {
        if ch == '-' {
            up = true;
        } else {
            out.push(if up { ch.to_ascii_uppercase() } else { ch });
            up = false;
        }
    }
    out
}

/// Event → handler on every `<tag …>` of a template: `bind:got="onPhone"`.
fn tag_events(wxml: &str, tag: &str) -> BTreeMap<String, String> {
    let (binding, _) = patterns();
    tags(wxml, tag)
        .into_iter()
        .flat_map(|t| binding.captures_iter(t).map(|c| (c[1].to_string(), c[2].to_string())).collect::<Vec<_>>())
        .collect()
}

/// The attributes of the WXML element that binds `handler`, if the page's
/// template has one: its `open-type` and its `data-*` (the dataset).
pub fn element_for(wxml: &str, handler: &str) -> Option<(Option<String>, serde_json::Map<String, serde_json::Value>)> {
    let (binding, pairs) = patterns();
    let at = binding.captures_iter(wxml).find(|c| &c[2] == handler)?.get(0)?.start();
    let start = wxml[..at].rfind('<')?;
    let end = at + wxml[at..].find('>')?;
    let tag = &wxml[start..end];
    let mut open_type = None;
    let mut dataset = serde_json::Map::new();
    for c in pairs.captures_iter(tag) {
        let value = c.get(2).or_else(|| c.get(3)).map_or("", |m| m.as_str());
        if &c[1] == "open-type" {
            open_type = Some(value.to_string());
        } else if let Some(key) = c[1].strip_prefix("data-") {
            dataset.insert(camel(key), serde_json::Value::String(value.into()));
        }
    }
    Some((open_type, dataset))
}
