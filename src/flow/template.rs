//! `{{ step.field | filter }}` templates: parsing (with offsets for error
//! carets) and rendering against a scope of variables and step results.

use serde_json::Value;

/// A filter applied to a template's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Percent-encode for a query or form value (`+` → `%2B`).
    UrlEncode,
    /// Serialise as JSON text.
    Json,
}

pub const FILTERS: &[&str] = &["urlencode", "json"];

/// One `{{ … }}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub path: Vec<String>,
    pub filters: Vec<Filter>,
    /// Byte offset of the path in the string, and its length.
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Expr(Expr),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

/// A template error at a byte offset of the string.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub offset: usize,
    pub len: usize,
    pub message: String,
    pub hint: Option<String>,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = vec![];
        let mut rest = 0;
        while let Some(open) = text[rest..].find("{{").map(|i| i + rest) {
            if open > rest {
                parts.push(Part::Text(text[rest..open].to_string()));
            }
            let Some(close) = text[open..].find("}}").map(|i| i + open) else {
                return Err(TemplateError {
                    offset: open,
                    len: 2,
                    message: "unclosed `{{`".into(),
                    hint: Some("close it with `}}`".into()),
                });
            };
            let inner = &text[open + 2..close];
            let mut pieces = inner.split('|');
            let path_text = pieces.next().unwrap_or("");
            let offset = open + 2 + (path_text.len() - path_text.trim_start().len());
            let path_text = path_text.trim();
            let path: Vec<String> = path_text.split('.').map(str::to_string).collect();
            if path.iter().any(|p| !is_ident(p)) {
                return Err(TemplateError {
                    offset,
                    len: path_text.len().max(1),
                    message: format!("`{{{{{inner}}}}}` is not a template: expected a name such as `login.code`"),
                    hint: None,
                });
            }
            let mut filters = vec![];
            let mut foff = open + 2 + path_text.len();
            for f in pieces {
                foff += 1;
                let name = f.trim();
                filters.push(match name {
                    "urlencode" => Filter::UrlEncode,
                    "json" => Filter::Json,
                    _ => {
                        return Err(TemplateError {
                            offset: text[foff..].find(name).map_or(foff, |i| i + foff),
                            len: name.len().max(1),
                            message: format!("unknown filter `{name}`"),
                            hint: super::error::did_you_mean(name, FILTERS.iter().copied())
                                .or_else(|| Some(format!("filters: {}", FILTERS.join(", ")))),
                        });
                    }
                });
                foff += f.len();
            }
            parts.push(Part::Expr(Expr { path, filters, offset, len: path_text.len() }));
            rest = close + 2;
        }
        if rest < text.len() {
            parts.push(Part::Text(text[rest..].to_string()));
        }
        Ok(Template { parts })
    }

    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e),
            Part::Text(_) => None,
        })
    }

    /// Renders: a string that is exactly one template keeps the value's
    /// JSON type; anything else is text.
    pub fn render(&self, scope: &serde_json::Map<String, Value>) -> Result<Value, String> {
        if let [Part::Expr(e)] = self.parts.as_slice() {
            return eval(e, scope);
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Expr(e) => out.push_str(&as_text(&eval(e, scope)?)),
            }
        }
        Ok(Value::String(out))
    }
}

/// A value as text: strings bare, everything else as JSON.
pub fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn eval(e: &Expr, scope: &serde_json::Map<String, Value>) -> Result<Value, String> {
    let mut v = scope.get(&e.path[0]).ok_or_else(|| format!("`{}` is not defined", e.path[0]))?;
    for (i, field) in e.path.iter().enumerate().skip(1) {
        v = v.get(field.as_str()).ok_or_else(|| format!("`{}` has no field `{field}`", e.path[..i].join(".")))?;
    }
    let mut v = v.clone();
    for f in &e.filters {
        v = Value::String(match f {
            Filter::UrlEncode => form_urlencoded::byte_serialize(as_text(&v).as_bytes()).collect(),
            Filter::Json => v.to_string(),
        });
    }
    Ok(v)
}

/// Renders every string inside a JSON value.
pub fn render_value(v: &Value, scope: &serde_json::Map<String, Value>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Template::parse(s).map_err(|e| e.message)?.render(scope)?,
        Value::Array(a) => Value::Array(a.iter().map(|x| render_value(x, scope)).collect::<Result<_, _>>()?),
        Value::Object(o) => Value::Object(
            o.iter().map(|(k, x)| Ok((k.clone(), render_value(x, scope)?))).collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Renders a string template to text.
pub fn render_text(s: &str, scope: &serde_json::Map<String, Value>) -> Result<String, String> {
    Ok(as_text(&Template::parse(s).map_err(|e| e.message)?.render(scope)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> serde_json::Map<String, Value> {
        json!({ "target": "http://t", "login": { "code": "c+1", "n": 3 } }).as_object().unwrap().clone()
    }

    #[test]
    fn renders_text_whole_values_and_filters() {
        let s = scope();
        assert_eq!(render_text("{{ target }}/api/login", &s).unwrap(), "http://t/api/login");
        assert_eq!(Template::parse("{{login.n}}").unwrap().render(&s).unwrap(), json!(3));
        assert_eq!(render_text("code={{ login.code | urlencode }}", &s).unwrap(), "code=c%2B1");
        assert_eq!(render_text("{{ login | json }}", &s).unwrap(), r#"{"code":"c+1","n":3}"#);
        assert_eq!(render_text("no templates", &s).unwrap(), "no templates");
    }

    #[test]
    fn errors_point_at_the_fault() {
        let e = Template::parse("x {{ login.code | urlencod }}").unwrap_err();
        assert_eq!((e.offset, e.len, e.hint.as_deref()), (18, 8, Some("did you mean `urlencode`?")));
        let e = Template::parse("{{ login.code").unwrap_err();
        assert_eq!(e.message, "unclosed `{{`");
        let t = Template::parse("a {{  login.code }}").unwrap();
        assert_eq!(t.exprs().next().unwrap().offset, 6);
        assert!(render_text("{{ nope }}", &scope()).unwrap_err().contains("`nope` is not defined"));
    }
}
