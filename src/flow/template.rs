//! `{{ step.field | filter }}` templates: parsed once when a flow is
//! checked (each knowing where it stands in its file), rendered on every
//! iteration against a scope of variables and step results.

use super::locate::Pos;
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
    /// Where the string stands in its flow file, when known.
    pub pos: Option<Pos>,
}

/// A template that could not be rendered: what is missing, and where the
/// template stands in its file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}{}", pos.map(|p| format!(" (template at line {}, column {})", p.line, p.col)).unwrap_or_default())]
pub struct RenderError {
    pub message: String,
    pub pos: Option<Pos>,
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
        Ok(Template { parts, pos: None })
    }

    /// Places the template in its file, for run-time errors.
    pub fn at(mut self, pos: Option<Pos>) -> Self {
        self.pos = pos;
        self
    }

    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e),
            Part::Text(_) => None,
        })
    }

    /// Renders: a string that is exactly one template keeps the value's
    /// JSON type; anything else is text.
    pub fn render(&self, scope: &Scope) -> Result<Value, RenderError> {
        // Placed at the expression that failed, within the string.
        let located = |e: &Expr| {
            let pos = self.pos.map(|p| Pos { line: p.line, col: p.col + e.offset });
            move |message| RenderError { message, pos }
        };
        match self.parts.as_slice() {
            [Part::Expr(e)] => eval(e, scope).map_err(located(e)),
            [Part::Text(t)] => Ok(Value::String(t.clone())),
            parts => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Text(t) => out.push_str(t),
                        Part::Expr(e) => push_text(&mut out, &eval(e, scope).map_err(located(e))?),
                    }
                }
                Ok(Value::String(out))
            }
        }
    }

    /// Renders to text.
    pub fn render_text(&self, scope: &Scope) -> Result<String, RenderError> {
        Ok(match self.render(scope)? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }
}

/// What templates see: builtins, vars, step results and captures by name.
pub type Scope = serde_json::Map<String, Value>;

/// A JSON value whose strings are templates, compiled once.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTemplate {
    /// No template inside: used as is.
    Literal(Value),
    Text(Template),
    Array(Vec<ValueTemplate>),
    Object(Vec<(String, ValueTemplate)>),
}

impl ValueTemplate {
    /// Compiles every string under `v`; `locate` places the string at a
    /// dotted path (`json.code`) in its file. The first parse error wins,
    /// with its path.
    pub fn compile(
        v: &Value,
        path: &str,
        locate: &dyn Fn(&str) -> Option<Pos>,
    ) -> Result<ValueTemplate, (String, TemplateError)> {
        Ok(match v {
            Value::String(s) if s.contains("{{") => {
                ValueTemplate::Text(Template::parse(s).map_err(|e| (path.to_string(), e))?.at(locate(path)))
            }
            Value::Array(a) if contains_template(v) => ValueTemplate::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| ValueTemplate::compile(x, &format!("{path}.{i}"), locate))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) if contains_template(v) => ValueTemplate::Object(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), ValueTemplate::compile(x, &format!("{path}.{k}"), locate)?)))
                    .collect::<Result<_, _>>()?,
            ),
            other => ValueTemplate::Literal(other.clone()),
        })
    }

    /// Every template inside, in order.
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            ValueTemplate::Literal(_) => vec![],
            ValueTemplate::Text(t) => vec![t],
            ValueTemplate::Array(a) => a.iter().flat_map(ValueTemplate::templates).collect(),
            ValueTemplate::Object(o) => o.iter().flat_map(|(_, x)| x.templates()).collect(),
        }
    }

    pub fn render(&self, scope: &Scope) -> Result<Value, RenderError> {
        Ok(match self {
            ValueTemplate::Literal(v) => v.clone(),
            ValueTemplate::Text(t) => t.render(scope)?,
            ValueTemplate::Array(a) => Value::Array(a.iter().map(|x| x.render(scope)).collect::<Result<_, _>>()?),
            ValueTemplate::Object(o) => Value::Object(
                o.iter().map(|(k, x)| Ok((k.clone(), x.render(scope)?))).collect::<Result<_, RenderError>>()?,
            ),
        })
    }
}

fn contains_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(a) => a.iter().any(contains_template),
        Value::Object(o) => o.values().any(contains_template),
        _ => false,
    }
}

fn push_text(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        other => out.push_str(&other.to_string()),
    }
}

/// A value as text: strings bare, everything else as JSON.
pub fn as_text(v: &Value) -> String {
    let mut out = String::new();
    push_text(&mut out, v);
    out
}

fn eval(e: &Expr, scope: &Scope) -> Result<Value, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        json!({ "target": "http://t", "login": { "code": "c+1", "n": 3 } }).as_object().unwrap().clone()
    }

    fn render_text(text: &str, scope: &Scope) -> Result<String, RenderError> {
        Template::parse(text).unwrap().render_text(scope)
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
    fn a_json_body_is_compiled_once_and_keeps_types() {
        let body = json!({ "code": "{{ login.code }}", "n": "{{ login.n }}", "fixed": [1, "x"] });
        let t = ValueTemplate::compile(&body, "json", &|_| None).unwrap();
        assert_eq!(t.templates().len(), 2);
        assert_eq!(t.render(&scope()).unwrap(), json!({ "code": "c+1", "n": 3, "fixed": [1, "x"] }));
    }

    #[test]
    fn a_render_error_names_the_position_of_the_expression_that_failed() {
        // The string starts at column 15; `login.nope` three bytes into it.
        let t = Template::parse("{{ login.nope }}").unwrap().at(Some(Pos { line: 7, col: 15 }));
        let e = t.render(&scope()).unwrap_err();
        assert_eq!(e.to_string(), "`login` has no field `nope` (template at line 7, column 18)");
    }

    #[test]
    fn errors_point_at_the_fault() {
        let e = Template::parse("x {{ login.code | urlencod }}").unwrap_err();
        assert_eq!((e.offset, e.len, e.hint.as_deref()), (18, 8, Some("did you mean `urlencode`?")));
        let e = Template::parse("{{ login.code").unwrap_err();
        assert_eq!(e.message, "unclosed `{{`");
        let t = Template::parse("a {{  login.code }}").unwrap();
        assert_eq!(t.exprs().next().unwrap().offset, 6);
        assert!(render_text("{{ nope }}", &scope()).unwrap_err().message.contains("`nope` is not defined"));
    }
}
