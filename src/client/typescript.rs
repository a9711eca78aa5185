//! TypeScript run as JavaScript the way `ts-blank-space` does it: every
//! type annotation, type-only declaration and TS-only modifier is replaced
//! by spaces, so each remaining character keeps its line and column and a
//! stack's `file:line:col` is the `.ts` file's own. What needs code to be
//! written (enums, parameter properties, `import x = require()`) is refused
//! with its line.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Class, Declaration, Expression, FormalParameter, MethodDefinition, PropertyDefinition, Statement, TSTypeAnnotation,
    TSTypeParameterDeclaration, TSTypeParameterInstantiation, VariableDeclarator,
};
use oxc_ast_visit::{Visit, walk};
use oxc_span::{GetSpan, SourceType, Span};

/// `source` (TypeScript) as JavaScript at the same positions.
pub fn strip(source: &str) -> Result<String, String> {
    let allocator = Allocator::default();
    let parsed = oxc_parser::Parser::new(&allocator, source, SourceType::ts()).parse();
    if let Some(e) = parsed.diagnostics.errors().next() {
        let at = e.labels.first().map_or(0, oxc_span::LabeledSpan::offset);
        return Err(format!("line {}: {}", line_of(source, at as usize), e.message));
    }
    let mut blanker = Blanker { source, blanks: vec![], unsupported: None };
    blanker.visit_program(&parsed.program);
    if let Some((at, what)) = blanker.unsupported {
        return Err(format!(
            "line {}: {what} needs TypeScript's compiler; run the compiled output instead",
            line_of(source, at)
        ));
    }
    let mut bytes = source.as_bytes().to_vec();
    for span in blanker.blanks {
        for b in &mut bytes[span.start as usize..span.end as usize] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Whole characters were blanked byte by byte into ASCII spaces.
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

fn line_of(source: &str, at: usize) -> usize {
    source[..at.min(source.len())].matches('\n').count() + 1
}

struct Blanker<'s> {
    source: &'s str,
    blanks: Vec<Span>,
    /// The first construct that cannot be blanked away.
    unsupported: Option<(usize, &'static str)>,
}

impl Blanker<'_> {
    fn blank(&mut self, span: Span) {
        self.blanks.push(span);
    }

    fn refuse(&mut self, at: u32, what: &'static str) {
        self.unsupported.get_or_insert((at as usize, what));
    }

    /// Blanks the first `mark` (`?`, `!`) between `from` and `to`.
    fn blank_mark(&mut self, from: u32, to: u32, mark: char) {
        if let Some(i) = self.source.get(from as usize..to as usize).and_then(|s| s.find(mark)) {
            let at = from + i as u32;
            self.blank(Span::new(at, at + 1));
        }
    }

    /// Blanks TS-only modifier words between `from` and `to` (a member's
    /// start and its key): `private`, `public`, `protected`, `readonly`,
    /// `override`, `abstract`, `declare`.
    fn blank_modifiers(&mut self, from: u32, to: u32) {
        let Some(text) = self.source.get(from as usize..to as usize) else { return };
        let mut at = 0;
        for word in text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '$') {
            if ["private", "public", "protected", "readonly", "override", "abstract", "declare"].contains(&word) {
                let start = from + at as u32;
                self.blank(Span::new(start, start + word.len() as u32));
            }
            at += word.len() + 1;
        }
    }
}

/// A declaration that is types only, so it can be blanked whole.
fn type_only(d: &Declaration<'_>) -> bool {
    match d {
        Declaration::TSEnumDeclaration(_) | Declaration::TSImportEqualsDeclaration(_) => false,
        Declaration::ClassDeclaration(c) => c.declare,
        other => other.is_typescript_syntax(),
    }
}

impl<'a> Visit<'a> for Blanker<'_> {
    fn visit_ts_type_annotation(&mut self, it: &TSTypeAnnotation<'a>) {
        self.blank(it.span);
    }

    fn visit_ts_type_parameter_declaration(&mut self, it: &TSTypeParameterDeclaration<'a>) {
        self.blank(it.span);
    }

    fn visit_ts_type_parameter_instantiation(&mut self, it: &TSTypeParameterInstantiation<'a>) {
        self.blank(it.span);
    }

    fn visit_statement(&mut self, it: &Statement<'a>) {
        let blank_whole = match it {
            Statement::ImportDeclaration(i) => i.import_kind.is_type(),
            Statement::ExportNamedDeclaration(e) => e.export_kind.is_type(),
            Statement::ExportDeclaration(e) => type_only(&e.declaration),
            Statement::TSEnumDeclaration(e) => {
                self.refuse(e.span.start, "an enum");
                false
            }
            Statement::TSImportEqualsDeclaration(e) => {
                self.refuse(e.span.start, "`import … = require(…)`");
                false
            }
            Statement::TSExportAssignment(e) => {
                self.refuse(e.span.start, "`export =`");
                false
            }
            other => other.as_declaration().is_some_and(type_only),
        };
        if blank_whole {
            self.blank(it.span());
        } else {
            walk::walk_statement(self, it);
        }
    }

    fn visit_expression(&mut self, it: &Expression<'a>) {
        match it {
            Expression::TSAsExpression(e) => {
                self.blank(Span::new(e.expression.span().end, e.span.end));
                self.visit_expression(&e.expression);
            }
            Expression::TSSatisfiesExpression(e) => {
                self.blank(Span::new(e.expression.span().end, e.span.end));
                self.visit_expression(&e.expression);
            }
            Expression::TSNonNullExpression(e) => {
                self.blank(Span::new(e.span.end - 1, e.span.end));
                self.visit_expression(&e.expression);
            }
            Expression::TSTypeAssertion(e) => {
                self.blank(Span::new(e.span.start, e.expression.span().start));
                self.visit_expression(&e.expression);
            }
            _ => walk::walk_expression(self, it),
        }
    }

    fn visit_formal_parameter(&mut self, it: &FormalParameter<'a>) {
        if it.accessibility.is_some() || it.readonly {
            self.refuse(it.span.start, "a constructor parameter property");
        }
        if it.optional {
            let to = it.type_annotation.as_ref().map_or(it.span.end, |t| t.span.start);
            self.blank_mark(it.pattern.span().end, to.max(it.pattern.span().end + 1), '?');
        }
        walk::walk_formal_parameter(self, it);
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        if it.definite {
            self.blank_mark(it.id.span().end, it.span.end, '!');
        }
        walk::walk_variable_declarator(self, it);
    }

    fn visit_class(&mut self, it: &Class<'a>) {
        if let (Some(first), Some(last)) = (it.implements.first(), it.implements.last()) {
            let before = &self.source[it.span.start as usize..first.span.start as usize];
            if let Some(i) = before.rfind("implements") {
                self.blank(Span::new(it.span.start + i as u32, last.span.end));
            }
        }
        if it.r#abstract {
            let head = it.body.span.start;
            self.blank_modifiers(it.span.start, head.min(it.id.as_ref().map_or(head, |id| id.span.start)));
        }
        walk::walk_class(self, it);
    }

    fn visit_property_definition(&mut self, it: &PropertyDefinition<'a>) {
        if it.declare || it.r#type.is_abstract() {
            self.blank(it.span);
            return;
        }
        self.blank_modifiers(it.span.start, it.key.span().start);
        if it.optional || it.definite {
            let to = it.type_annotation.as_ref().map_or(it.span.end, |t| t.span.start);
            self.blank_mark(it.key.span().end, to, if it.optional { '?' } else { '!' });
        }
        walk::walk_property_definition(self, it);
    }

    fn visit_method_definition(&mut self, it: &MethodDefinition<'a>) {
        if it.value.body.is_none() {
            self.blank(it.span);
            return;
        }
        self.blank_modifiers(it.span.start, it.key.span().start);
        if it.optional {
            self.blank_mark(it.key.span().end, it.value.params.span.start, '?');
        }
        walk::walk_method_definition(self, it);
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn types_become_spaces_and_every_position_is_kept() {
        let ts = "import type { A } from './a'\ninterface P { x: number }\ntype Q = string\nconst n: number = (3 as any)!\nfunction f<T>(a?: T, b: string = 'x'): T | undefined {\n  return a\n}\nclass C implements P {\n  private readonly x: number = 1\n  y?: string\n  m(): void {}\n}\nPage({ onLoad(q: Record<string, string>) { wx.login<{ code: string }>({}) } })\n";
        let js = strip(ts).unwrap();
        assert_eq!(js.len(), ts.len());
        assert_eq!(js.lines().count(), ts.lines().count());
        for gone in
            ["type", "interface", ": number", "as any", "<T>", "?:", "implements", "private", "readonly", "Record<"]
        {
            assert!(!js.contains(gone), "{gone} left in:\n{js}");
        }
        let allocator = oxc_allocator::Allocator::default();
        let parsed = oxc_parser::Parser::new(&allocator, &js, oxc_span::SourceType::mjs()).parse();
        assert!(parsed.diagnostics.errors().next().is_none(), "not JavaScript:\n{js}");
        assert!(
            js.contains("const n         = (3       ) ") && js.contains("function f   (a    , b         = 'x')"),
            "{js}"
        );
        let err = strip("const a = 1\nenum E { A }\n").unwrap_err();
        assert!(err.starts_with("line 2: an enum"), "{err}");
    }
}
