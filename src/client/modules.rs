//! ES modules as CommonJS, the way WeChat's compiler hands them to the
//! runtime: `import`/`export` statements rewritten in place, every other
//! character kept, and each statement's line breaks kept, so a stack's
//! `file:line` is the line in the file the user opens.

use oxc_allocator::Allocator;
use oxc_ast::ast::{Declaration, ExportDefaultDeclarationKind, ImportDeclarationSpecifier, Statement};
use oxc_span::{GetSpan, SourceType, Span};
use std::fmt::Write as _;

/// `source` with its module statements as CommonJS; unchanged when it has
/// none or does not parse as a module (the JS engine then says why).
pub fn to_commonjs(source: &str) -> String {
    let allocator = Allocator::default();
    let parsed = oxc_parser::Parser::new(&allocator, source, SourceType::mjs()).parse();
    if parsed.diagnostics.errors().next().is_some() || !parsed.program.body.iter().any(is_module_statement) {
        return source.to_string();
    }
    let mut out = String::with_capacity(source.len() + 256);
    // After the module's body: exports of names that may be declared below
    // their `export { … }`.
    let mut tail = String::new();
    let mut copied = 0;
    let mut n = 0;
    out.push_str("Object.defineProperty(exports, '__esModule', { value: true });");
    for s in &parsed.program.body {
        if !is_module_statement(s) {
            continue;
        }
        let span = s.span();
        out.push_str(&source[copied..span.start as usize]);
        copied = span.end as usize;
        let original = &source[span.start as usize..span.end as usize];
        n += 1;
        let module = format!("__wxflow_m{n}");
        let text = match s {
            Statement::ImportDeclaration(i) => {
                if i.import_kind.is_type() {
                    String::new()
                } else {
                    let mut t = format!("var {module} = require({});", quoted(i.source.value.as_str()));
                    for sp in i.specifiers.iter().flatten() {
                        let (local, value) = match sp {
                            ImportDeclarationSpecifier::ImportSpecifier(s) => {
                                if s.import_kind.is_type() {
                                    continue;
                                }
                                (s.local.name.as_str(), format!("{module}[{}]", quoted(s.imported.name().as_str())))
                            }
                            ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                                (s.local.name.as_str(), format!("__wxflowDefault({module})"))
                            }
                            ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                                (s.local.name.as_str(), module.clone())
                            }
                        };
                        let _ = write!(t, " var {local} = {value};");
                    }
                    t
                }
            }
            Statement::ExportDeclaration(e) => {
                let decl = text_of(source, e.declaration.span());
                let names: Vec<String> = match &e.declaration {
                    Declaration::VariableDeclaration(d) => d
                        .declarations
                        .iter()
                        .flat_map(|d| d.id.get_binding_identifiers())
                        .map(|id| id.name.to_string())
                        .collect(),
                    Declaration::FunctionDeclaration(f) => f.id.iter().map(|id| id.name.to_string()).collect(),
                    Declaration::ClassDeclaration(c) => c.id.iter().map(|id| id.name.to_string()).collect(),
                    _ => vec![],
                };
                let mut t = format!("{decl};");
                for n in &names {
                    let _ = write!(t, " exports[{}] = {n};", quoted(n));
                }
                t
            }
            Statement::ExportNamedDeclaration(e) => {
                for sp in &e.specifiers {
                    let _ = writeln!(tail, "exports[{}] = {};", quoted(sp.exported.name().as_str()), sp.local.name());
                }
                String::new()
            }
            Statement::ExportFromDeclaration(e) => {
                let mut t = format!("var {module} = require({});", quoted(e.source.value.as_str()));
                for sp in &e.specifiers {
                    let _ = write!(
                        t,
                        " exports[{}] = {module}[{}];",
                        quoted(sp.exported.name().as_str()),
                        quoted(sp.local.name().as_str())
                    );
                }
                t
            }
            Statement::ExportAllDeclaration(e) => {
                let from = format!("require({})", quoted(e.source.value.as_str()));
                match &e.exported {
                    Some(name) => format!("exports[{}] = {from};", quoted(name.name().as_str())),
                    None => format!(
                        "(function (m) {{ for (var k in m) if (k !== 'default' && !(k in exports)) exports[k] = m[k]; }})({from});"
                    ),
                }
            }
            Statement::ExportDefaultDeclaration(e) => {
                let decl = text_of(source, e.declaration.span());
                let id = match &e.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => f.id.as_ref().map(|id| id.name.to_string()),
                    ExportDefaultDeclarationKind::ClassDeclaration(c) => c.id.as_ref().map(|id| id.name.to_string()),
                    _ => None,
                };
                match id {
                    Some(id) => format!("{decl}; exports.default = {id};"),
                    None => format!("exports.default = ({decl});"),
                }
            }
            _ => original.to_string(),
        };
        out.push_str(&text);
        // The statement's own line breaks, so every later line keeps its number.
        let breaks = original.matches('\n').count().saturating_sub(text.matches('\n').count());
        out.extend(std::iter::repeat_n('\n', breaks));
    }
    out.push_str(&source[copied..]);
    if !tail.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&tail);
    out
}

fn is_module_statement(s: &Statement<'_>) -> bool {
    matches!(
        s,
        Statement::ImportDeclaration(_)
            | Statement::ExportDeclaration(_)
            | Statement::ExportNamedDeclaration(_)
            | Statement::ExportFromDeclaration(_)
            | Statement::ExportAllDeclaration(_)
            | Statement::ExportDefaultDeclaration(_)
    )
}

fn text_of(source: &str, span: Span) -> &str {
    &source[span.start as usize..span.end as usize]
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::to_commonjs;

    #[test]
    fn module_statements_become_commonjs_on_the_same_lines() {
        let src = "import wx2, { post as send, get } from './api'\nimport * as all from \"./all\"\nexport const a = 1, b = 2\nexport function f() {\n  return send()\n}\nexport { get as fetch }\nexport default {\n  x: 1\n}\nfoo()\n";
        let out = to_commonjs(src);
        assert_eq!(out.lines().count(), src.lines().count() + 1, "{out}");
        assert_eq!(out.lines().nth(10), Some("foo()"), "{out}");
        assert!(out.contains(r#"var __wxflow_m1 = require("./api"); var wx2 = __wxflowDefault(__wxflow_m1); var send = __wxflow_m1["post"]; var get = __wxflow_m1["get"];"#), "{out}");
        assert!(out.contains(r#"const a = 1, b = 2; exports["a"] = a; exports["b"] = b;"#), "{out}");
        assert!(out.contains("exports.default = ({\n  x: 1\n});"), "{out}");
        assert!(out.ends_with("foo()\nexports[\"fetch\"] = get;\n"), "{out}");
        let plain = "const x = require('y')\nmodule.exports = x\n";
        assert_eq!(to_commonjs(plain), plain);
    }
}
