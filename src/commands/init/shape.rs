//! A backend's answer contract, and the shipped flows rewritten to it.
//!
//! The shipped flows speak the reference contract: `status: 200` with
//! `$.code: 0` for a login that works, `status: 401` with WeChat's code
//! for one that must be refused. [`Contract`] says what the user's backend
//! answers instead; [`shape`] rewrites each `assert:` block to it:
//! a success asserts the declared status and fields; a refusal asserts an
//! answer that is not a crash (`[2xx, 4xx]`) whose result code is not a
//! success value (or, with no result code, a `4xx`).

use serde_json::Value;

/// What the backend's answers look like.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contract {
    /// The HTTP status of a successful login.
    pub status: Option<u16>,
    /// `JSONPath = value` pairs every successful answer holds.
    pub fields: Vec<(String, Value)>,
    /// Where every answer holds the backend's own result code.
    pub error_code: Option<String>,
}

impl Contract {
    /// `--success 'status=200,$.code=200'`: an HTTP status and/or
    /// `JSONPath=value` pairs (a value is read as JSON when it parses:
    /// `200`, `true`, `"200"`; else as text).
    pub fn parse_success(spec: &str) -> Result<Contract, String> {
        let mut c = Contract::default();
        for part in split_top(spec) {
            let part = part.trim();
            let Some((key, value)) = split_key(part) else {
                return Err(format!("`{part}`: expected status=CODE or $.json.path=VALUE"));
            };
            let (key, value) = (key.trim(), value.trim());
            if key == "status" {
                let s = value.parse().ok().filter(|s| (100..600).contains(s));
                c.status = Some(s.ok_or_else(|| format!("`{part}`: status must be an HTTP status such as 200"))?);
            } else {
                path(key).map_err(|e| format!("`{part}`: {e}"))?;
                if c.fields.iter().any(|(p, _)| p == key) {
                    return Err(format!("`{key}` is given twice: one success value per path"));
                }
                let v = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
                c.fields.push((key.into(), v));
            }
        }
        if c.status.is_none() && c.fields.is_empty() {
            return Err("nothing declared: expected status=CODE and/or $.json.path=VALUE".into());
        }
        Ok(c)
    }

    /// The result code's path: as given, else the first declared field.
    pub fn code_path(&self) -> Option<&str> {
        self.error_code.as_deref().or_else(|| self.fields.first().map(|(p, _)| p.as_str()))
    }

    /// The value of the result code that means success (0 when not said).
    pub fn success_value(&self) -> Value {
        let at = self.code_path();
        self.fields.iter().find(|(p, _)| Some(p.as_str()) == at).map_or_else(|| Value::from(0), |(_, v)| v.clone())
    }

    /// One line for the user: `HTTP 200, $.code = 200; result code at $.code`.
    pub fn describe(&self) -> String {
        let mut said: Vec<String> = self.status.iter().map(|s| format!("HTTP {s}")).collect();
        said.extend(self.fields.iter().map(|(p, v)| format!("{p} = {v}")));
        let code = match self.code_path() {
            Some(p) => format!("result code at {p}, success {}", self.success_value()),
            None => "no result code: a refusal is a 4xx".into(),
        };
        format!("success {}; {code}", said.join(", "))
    }
}

/// Where the flows send logins and read tokens, and what they call the
/// request's fields.
pub struct Paths<'a> {
    pub login: &'a str,
    pub phone: &'a str,
    /// `None`: the answer holds no token, so nothing asserts or captures one.
    pub token: Option<&'a str>,
    /// The backend's names for the shipped request fields (`code` →
    /// `js_code`).
    pub fields: &'a [(String, String)],
    /// Requests sent as forms instead of JSON.
    pub form: bool,
}

/// The request fields the shipped flows send.
pub const FIELDS: &[&str] = &["code", "encryptedData", "iv", "rawData", "signature", "phone_code"];

/// `--field FLOWS=YOURS`, checked.
pub fn parse_field(given: &str) -> Result<(String, String), String> {
    let (ours, yours) = given.split_once('=').ok_or("expected FLOWS=YOURS, e.g. encryptedData=encrypted_data")?;
    if !FIELDS.contains(&ours) {
        return Err(format!("the flows send no field `{ours}`; they send {}", FIELDS.join(", ")));
    }
    if yours.is_empty() || !yours.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
        return Err(format!("`{yours}`: a field name is letters, digits, `_`, `-` and `.`"));
    }
    Ok((ours.into(), yours.into()))
}

/// The request's fields under the backend's names: a key whose value is a
/// template (`code: "{{ login.code }}"`), and a `code=` pair of a raw body.
fn rename(text: &str, fields: &[(String, String)]) -> String {
    if fields.is_empty() {
        return text.into();
    }
    map_lines(text, |line| {
        fields.iter().fold(line.to_string(), |l, (ours, yours)| {
            rekey(&l, &format!("{ours}: \"{{{{"), &format!("{yours}: \"{{{{")).unwrap_or_else(|| {
                l.replace(&format!("\"{ours}="), &format!("\"{yours}="))
                    .replace(&format!("&{ours}="), &format!("&{yours}="))
            })
        })
    })
}

/// Every JSON body a form: the same fields, form-encoded.
fn as_form(text: &str) -> String {
    map_lines(text, |l| rekey(l, "json:", "form:").unwrap_or_else(|| l.to_string()))
}

/// `line` with the key it starts with (after its indent), `from`, written `to`.
fn rekey(line: &str, from: &str, to: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix(from)?;
    Some(format!("{}{to}{rest}", &line[..indent(line)]))
}

/// Each line of `text` through `f`.
fn map_lines(text: &str, f: impl Fn(&str) -> String) -> String {
    text.lines().map(f).collect::<Vec<_>>().join("\n") + "\n"
}

/// A shipped flow, shaped to the backend's paths and, when declared, its
/// answer contract.
pub fn shape(text: &str, paths: &Paths, contract: Option<&Contract>) -> String {
    let text = text
        .replace("{{ target }}/api/login", &format!("{{{{ target }}}}{}", paths.login))
        .replace("{{ target }}/api/phone", &format!("{{{{ target }}}}{}", paths.phone));
    let text = rename(&text, paths.fields);
    let text = if paths.form { as_form(&text) } else { text };
    let text = match paths.token {
        Some(t) => text.replace("$.data.token", t),
        None => drop_token(&text),
    };
    match contract {
        Some(c) => reshape(&text, c),
        None => text,
    }
}

/// The flow without the lines that assert or capture `$.data.token` (and a
/// `capture:` left empty).
fn drop_token(text: &str) -> String {
    let kept: Vec<&str> = text.lines().filter(|l| !l.contains("$.data.token")).collect();
    let mut out = vec![];
    for (i, line) in kept.iter().enumerate() {
        let next_deeper = kept.get(i + 1).is_some_and(|n| indent(n) > indent(line));
        if line.trim() == "capture:" && !next_deeper {
            continue;
        }
        out.push(*line);
    }
    out.join("\n") + "\n"
}

fn reshape(text: &str, c: &Contract) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = vec![];
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line == "steps:"
            && let Some(p) = c.code_path()
        {
            out.push(format!("backend:\n  error_code: {}\n  success: [{}]", key(p), c.success_value()));
        }
        out.push(line.into());
        if line.trim() != "assert:" {
            continue;
        }
        let start = i;
        while i < lines.len() && indent(lines[i]) > indent(line) {
            i += 1;
        }
        out.extend(assert_block(&lines[start..i], indent(line) + 2, c));
    }
    out.join("\n") + "\n"
}

/// One `assert:` block's lines, rewritten to the contract: a block that
/// asserts a 2xx is a success, a 4xx a refusal, anything else stays.
fn assert_block(block: &[&str], at: usize, c: &Contract) -> Vec<String> {
    let status = block.iter().find_map(|l| l.trim().strip_prefix("status: "));
    let refusal = match status.and_then(|s| s.chars().next()) {
        Some('2') => false,
        Some('4') => true,
        _ => return block.iter().map(|l| (*l).to_string()).collect(),
    };
    // What stays: assertions of the flow's own (a token, a phone number),
    // not the reference contract's status, code and user id.
    let mut others = vec![];
    let mut kept = vec![];
    let mut in_jsonpath = false;
    for line in block {
        let t = line.trim();
        if indent(line) == at {
            in_jsonpath = t == "jsonpath:";
            if !in_jsonpath && !t.starts_with("status:") {
                others.push((*line).to_string());
            }
        } else if in_jsonpath {
            if !(t.starts_with("$.code:") || t.starts_with("$.data.user_id:")) {
                kept.push(t.to_string());
            }
        } else {
            others.push((*line).to_string());
        }
    }
    let pad = " ".repeat(at);
    let mut fields: Vec<String> = vec![];
    let status = if refusal {
        if let Some(p) = c.code_path() {
            fields.push(format!("{}: {{ not_equals: {} }}", key(p), c.success_value()));
            Some("[2xx, 4xx]".to_string())
        } else {
            Some("4xx".to_string())
        }
    } else {
        fields.extend(c.fields.iter().map(|(p, v)| format!("{}: {v}", key(p))));
        c.status.map(|s| s.to_string())
    };
    // A declared field replaces the flow's own check of the same path.
    fields.extend(kept.into_iter().filter(|k| !c.fields.iter().any(|(p, _)| k.starts_with(&format!("{}:", key(p))))));
    let mut out: Vec<String> = status.map(|s| format!("{pad}status: {s}")).into_iter().collect();
    if !fields.is_empty() {
        out.push(format!("{pad}jsonpath:"));
        out.extend(fields.iter().map(|f| format!("{pad}  {f}")));
    }
    out.extend(others);
    out
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// A JSONPath as a YAML key: plain when it is only names and dots.
fn key(p: &str) -> String {
    if p.chars().all(|ch| ch.is_ascii_alphanumeric() || "$._".contains(ch)) {
        p.into()
    } else {
        Value::from(p).to_string()
    }
}

pub fn path(p: &str) -> Result<serde_json_path::JsonPath, String> {
    serde_json_path::JsonPath::parse(p).map_err(|e| {
        let hint = if p.starts_with('$') { "" } else { " (a JSONPath starts with `$`, e.g. `$.code`)" };
        format!("`{p}` is not a JSONPath: {e}{hint}")
    })
}

/// Splits on commas outside brackets and quotes.
fn split_top(spec: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut quote, mut from) = (vec![], 0i32, None, 0);
    for (i, ch) in spec.char_indices() {
        match (ch, quote) {
            ('\'' | '"', None) => quote = Some(ch),
            (q, Some(open)) if q == open => quote = None,
            ('[' | '(', None) => depth += 1,
            (']' | ')', None) => depth -= 1,
            (',', None) if depth == 0 => {
                parts.push(&spec[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&spec[from..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// `key=value` at the first `=` outside brackets.
fn split_key(part: &str) -> Option<(&str, &str)> {
    let mut depth = 0;
    for (i, ch) in part.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            '=' if depth == 0 => return Some((&part[..i], &part[i + 1..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn success_specs_parse_and_say_where_the_code_is() {
        let c = Contract::parse_success("status=200, $.code=200,$.msg=ok").unwrap();
        assert_eq!(c.status, Some(200));
        assert_eq!(c.fields, vec![("$.code".into(), json!(200)), ("$.msg".into(), json!("ok"))]);
        assert_eq!(c.code_path(), Some("$.code"));
        assert_eq!(c.success_value(), json!(200));
        let c = Contract { error_code: Some("$.meta.errno".into()), ..Contract::parse_success("status=201").unwrap() };
        assert_eq!((c.code_path(), c.success_value()), (Some("$.meta.errno"), json!(0)));
        for bad in ["", "status=abc", "status=700", "code=200", "$.[=1", "$.code", "$.code=0,$.code=200"] {
            assert!(Contract::parse_success(bad).is_err(), "{bad}");
        }
        let c = Contract::parse_success("$['a,b']=\"x,y\"").unwrap();
        assert_eq!(c.fields, vec![("$['a,b']".into(), json!("x,y"))]);
    }

    const FLOW: &str = "name: n\nsteps:\n  - id: s\n    http:\n      url: \"{{ target }}/api/login\"\n    assert:\n      status: 401\n      jsonpath:\n        $.code: 40163\n  - id: t\n    http:\n      url: \"{{ target }}/api/login\"\n    assert:\n      status: 200\n      jsonpath:\n        $.code: 0\n        $.data.token: { exists: true }\n        $.data.user_id: { exists: true }\n    capture:\n      token: $.data.token\n";

    #[test]
    fn refusals_and_successes_take_the_declared_shape() {
        let c = Contract::parse_success("status=200,$.code=200").unwrap();
        let paths = Paths {
            login: "/users/login",
            phone: "/p",
            token: Some("$.data.authorizationToken"),
            fields: &[],
            form: false,
        };
        let out = shape(FLOW, &paths, Some(&c));
        assert!(out.contains("backend:\n  error_code: $.code\n  success: [200]\nsteps:"), "{out}");
        assert!(
            out.contains(
                "    assert:\n      status: [2xx, 4xx]\n      jsonpath:\n        $.code: { not_equals: 200 }\n  - id: t"
            ),
            "{out}"
        );
        assert!(out.contains("      status: 200\n      jsonpath:\n        $.code: 200\n        $.data.authorizationToken: { exists: true }\n    capture:"), "{out}");
        assert!(out.contains("/users/login") && !out.contains("user_id"), "{out}");
        crate::flow::check("f.yaml", &out).unwrap();
    }

    #[test]
    fn a_status_only_contract_refuses_with_a_4xx_and_no_token_drops_its_lines() {
        let c = Contract::parse_success("status=201").unwrap();
        let out = shape(FLOW, &Paths { login: "/l", phone: "/p", token: None, fields: &[], form: false }, Some(&c));
        assert!(!out.contains("backend:") && !out.contains("token") && !out.contains("capture"), "{out}");
        assert!(out.contains("      status: 4xx\n  - id: t"), "{out}");
        assert!(out.ends_with("      status: 201\n"), "{out}");
        crate::flow::check("f.yaml", &out).unwrap();
    }

    #[test]
    fn fields_take_the_backends_names_in_json_form_and_raw_bodies() {
        let fields = [parse_field("code=js_code").unwrap(), parse_field("encryptedData=encrypted_data").unwrap()];
        let paths = Paths { login: "/l", phone: "/p", token: None, fields: &fields, form: true };
        for (name, text) in super::super::FLOWS {
            let out = shape(text, &paths, None);
            crate::flow::check(name, &out).unwrap();
            assert!(!out.contains("  code: \"{{") && !out.contains("encryptedData: \"{{"), "{out}");
            assert!(!out.contains("\"code=") && !out.contains("&encryptedData="), "{out}");
        }
        let raw =
            shape(super::super::FLOWS.iter().find(|(n, _)| *n == "form-unencoded-plus.yaml").unwrap().1, &paths, None);
        assert!(
            raw.contains("raw: \"js_code={{ login.code }}&encrypted_data={{ profile.encryptedData }}&iv="),
            "{raw}"
        );
        let json = shape(super::super::FLOWS.iter().find(|(n, _)| *n == "login-first.yaml").unwrap().1, &paths, None);
        assert!(
            json.contains(
                "        js_code: \"{{ login.code }}\"\n        encrypted_data: \"{{ profile.encryptedData }}\""
            ),
            "{json}"
        );
        assert!(json.contains("mode") || json.contains("$.code: 0"), "the answer's code stays: {json}");
        for bad in ["token=t", "code", "code=", "code=a b"] {
            assert!(parse_field(bad).is_err(), "{bad}");
        }
    }
}
