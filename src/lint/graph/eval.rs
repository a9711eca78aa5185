//! The evaluator: walks functions statement by statement with abstract
//! values, in the order a Mini Program runs them. Callbacks run where
//! their API answers (inside that answer's "happened before"), promises
//! carry what their resolution knew, both arms of a branch run from the
//! same state and are joined, and calls into functions of this or another
//! module are followed up to [`MAX_DEPTH`] frames deep.

use super::Interp;
use super::value::{Atom, Closure, Code, FileId, Loc, Val, new_obj};
use oxc_ast::ast::{
    Argument, ArrayExpressionElement, AssignmentOperator, AssignmentTarget, AssignmentTargetMaybeDefault,
    AssignmentTargetProperty, BinaryOperator, BindingPattern, CallExpression, ChainElement, Declaration, Expression,
    ForStatementInit, ForStatementLeft, JSXAttributeItem, JSXAttributeValue, JSXChild, JSXElement, MemberExpression,
    ObjectExpression, ObjectPropertyKind, PropertyKey, SimpleAssignmentTarget, Statement, UnaryOperator,
    VariableDeclaration, VariableDeclarationKind,
};
use oxc_span::{GetSpan, Span};
use std::rc::Rc;

/// How many calls deep a chain is followed: handler → method → helper →
/// wrapper → request is four; the rest is margin for stores and mixins.
pub const MAX_DEPTH: usize = 12;

pub use super::value::{Scope, ScopeKind, new_scope};

/// One function's run: its file, `this`, whether it is inside a branch
/// (writes there join instead of replacing), and what it returns.
pub struct Frame<'a> {
    pub file: FileId,
    pub base: u32,
    pub this: Val<'a>,
    pub branch: u32,
    pub ret: Val<'a>,
}

/// How a statement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Normal,
    Return,
    /// break, continue, throw: the rest of the block does not run.
    Jump,
}

impl<'a> Interp<'a> {
    pub fn loc(&self, f: &Frame<'a>, span: Span) -> Loc {
        Loc { file: f.file, start: f.base + span.start, end: f.base + span.end }
    }

    fn tick(&mut self) -> bool {
        self.steps += 1;
        self.steps < super::MAX_STEPS
    }

    // ---- statements ----------------------------------------------------

    pub fn hoist(&mut self, f: &Frame<'a>, scope: &Scope<'a>, body: &'a [Statement<'a>]) {
        for s in body {
            let decl = match s {
                Statement::FunctionDeclaration(func) => Some(&**func),
                Statement::ExportDeclaration(e) => match &e.declaration {
                    Declaration::FunctionDeclaration(func) => Some(&**func),
                    _ => None,
                },
                _ => None,
            };
            if let Some(func) = decl
                && let Some(id) = &func.id
            {
                scope.declare(id.name.as_str(), self.closure(f, scope, Code::Function(func)));
            }
        }
    }

    pub fn closure(&self, f: &Frame<'a>, scope: &Scope<'a>, code: Code<'a>) -> Val<'a> {
        let this = matches!(code, Code::Arrow(_)).then(|| f.this.clone());
        Val::one(Atom::Func(Rc::new(Closure { code, scope: scope.clone(), file: f.file, base: f.base, this })))
    }

    pub fn block(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, body: &'a [Statement<'a>]) -> Done {
        self.hoist(f, scope, body);
        for s in body {
            let d = self.stmt(f, scope, s);
            if d != Done::Normal {
                return d;
            }
        }
        Done::Normal
    }

    /// Runs `arms` from the same path state and joins them; a branch that
    /// returned leaves no state behind.
    fn branches(
        &mut self,
        f: &mut Frame<'a>,
        arms: &mut dyn FnMut(&mut Self, &mut Frame<'a>, usize) -> Option<Done>,
    ) -> Done {
        let start = self.path.clone();
        let mut joined: Option<super::PathState> = None;
        let mut all_returned = true;
        f.branch += 1;
        let mut i = 0;
        while let Some(d) = {
            self.path = start.clone();
            arms(self, f, i)
        } {
            i += 1;
            if d == Done::Return {
                continue;
            }
            all_returned = false;
            joined = Some(match joined {
                None => self.path.clone(),
                Some(j) => j.join(&self.path),
            });
        }
        f.branch -= 1;
        self.path = joined.unwrap_or(start);
        if all_returned && i > 0 { Done::Return } else { Done::Normal }
    }

    pub fn stmt(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, s: &'a Statement<'a>) -> Done {
        if !self.tick() || self.depth >= super::MAX_DEPTH {
            return Done::Jump;
        }
        self.depth += 1;
        let done = self.stmt_at_depth(f, scope, s);
        self.depth -= 1;
        done
    }

    fn stmt_at_depth(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, s: &'a Statement<'a>) -> Done {
        match s {
            Statement::ExpressionStatement(e) => {
                self.expr(f, scope, &e.expression);
            }
            Statement::VariableDeclaration(d) => self.var_decl(f, scope, d),
            Statement::ClassDeclaration(c) => {
                if let Some(id) = &c.id {
                    let v = self.class_value(f, scope, c);
                    scope.declare(id.name.as_str(), v);
                }
            }
            Statement::ReturnStatement(r) => {
                let v = r.argument.as_ref().map(|e| self.expr(f, scope, e)).unwrap_or_default();
                f.ret.join(&v);
                return Done::Return;
            }
            Statement::IfStatement(i) => {
                self.expr(f, scope, &i.test);
                return self.branches(f, &mut |me, f, arm| match arm {
                    0 => Some(me.stmt(f, scope, &i.consequent)),
                    1 => Some(i.alternate.as_ref().map_or(Done::Normal, |a| me.stmt(f, scope, a))),
                    _ => None,
                });
            }
            Statement::BlockStatement(b) => {
                let inner = new_scope(Some(scope), ScopeKind::Block);
                return self.block(f, &inner, &b.body);
            }
            Statement::ForStatement(l) => {
                let inner = new_scope(Some(scope), ScopeKind::Block);
                match &l.init {
                    Some(ForStatementInit::VariableDeclaration(d)) => self.var_decl(f, &inner, d),
                    Some(init) => {
                        if let Some(e) = init.as_expression() {
                            self.expr(f, &inner, e);
                        }
                    }
                    None => {}
                }
                self.looped(f, &inner, &l.body);
            }
            Statement::ForInStatement(l) => {
                let inner = new_scope(Some(scope), ScopeKind::Block);
                self.expr(f, scope, &l.right);
                self.for_left(f, &inner, &l.left, Val::default());
                self.looped(f, &inner, &l.body);
            }
            Statement::ForOfStatement(l) => {
                let inner = new_scope(Some(scope), ScopeKind::Block);
                let items = self.expr(f, scope, &l.right);
                let item = self.element(&items, None);
                self.for_left(f, &inner, &l.left, item);
                self.looped(f, &inner, &l.body);
            }
            Statement::WhileStatement(l) => {
                self.expr(f, scope, &l.test);
                self.looped(f, scope, &l.body);
            }
            Statement::DoWhileStatement(l) => {
                self.looped(f, scope, &l.body);
                self.expr(f, scope, &l.test);
            }
            Statement::SwitchStatement(sw) => {
                self.expr(f, scope, &sw.discriminant);
                let inner = new_scope(Some(scope), ScopeKind::Block);
                let has_default = sw.cases.iter().any(|c| c.test.is_none());
                return self.branches(f, &mut |me, f, arm| {
                    if arm < sw.cases.len() {
                        let c = &sw.cases[arm];
                        let d = me.block(f, &inner, &c.consequent);
                        Some(if d == Done::Jump { Done::Normal } else { d })
                    } else if arm == sw.cases.len() && !has_default {
                        Some(Done::Normal)
                    } else {
                        None
                    }
                });
            }
            Statement::TryStatement(t) => {
                let inner = new_scope(Some(scope), ScopeKind::Block);
                let d = self.block(f, &inner, &t.block.body);
                if let Some(h) = &t.handler {
                    let hs = new_scope(Some(scope), ScopeKind::Block);
                    if let Some(p) = &h.param {
                        self.bind(f, &hs, &p.pattern, Val::external(), true);
                    }
                    self.branches(f, &mut |me, f, arm| (arm == 0).then(|| me.block(f, &hs, &h.body.body)));
                }
                if let Some(fin) = &t.finalizer {
                    let fs = new_scope(Some(scope), ScopeKind::Block);
                    self.block(f, &fs, &fin.body);
                }
                if d == Done::Return {
                    return d;
                }
            }
            Statement::ThrowStatement(t) => {
                self.expr(f, scope, &t.argument);
                return Done::Jump;
            }
            Statement::BreakStatement(_) | Statement::ContinueStatement(_) => return Done::Jump,
            Statement::LabeledStatement(l) => {
                let d = self.stmt(f, scope, &l.body);
                return if d == Done::Jump { Done::Normal } else { d };
            }
            Statement::ExportNamedDeclaration(_)
            | Statement::ExportDefaultDeclaration(_)
            | Statement::ExportDeclaration(_)
            | Statement::ExportAllDeclaration(_)
            | Statement::ExportFromDeclaration(_)
            | Statement::ImportDeclaration(_)
            | Statement::TSExportAssignment(_) => self.module_stmt(f, scope, s),
            _ => {}
        }
        Done::Normal
    }

    fn looped(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, body: &'a Statement<'a>) {
        self.branches(f, &mut |me, f, arm| match arm {
            0 => {
                let d = me.stmt(f, scope, body);
                Some(if d == Done::Jump { Done::Normal } else { d })
            }
            1 => Some(Done::Normal),
            _ => None,
        });
    }

    fn for_left(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, left: &'a ForStatementLeft<'a>, v: Val<'a>) {
        match left {
            ForStatementLeft::VariableDeclaration(d) => {
                for decl in &d.declarations {
                    self.bind(f, scope, &decl.id, v.clone(), true);
                }
            }
            other => {
                if let Some(t) = other.as_assignment_target() {
                    self.assign(f, scope, t, v);
                }
            }
        }
    }

    pub fn var_decl(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, d: &'a VariableDeclaration<'a>) {
        let target = if d.kind == VariableDeclarationKind::Var { scope.var_scope() } else { scope.clone() };
        for decl in &d.declarations {
            let v = decl.init.as_ref().map(|e| self.expr(f, scope, e)).unwrap_or_default();
            self.bind(f, &target, &decl.id, v, true);
        }
    }

    /// Binds a pattern to a value: destructuring reads fields, an array
    /// pattern reads elements (and, of a value that is not an array, the
    /// value itself: uni-app's `[err, res] = await uni.login()`).
    pub fn bind(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, p: &'a BindingPattern<'a>, v: Val<'a>, declare: bool) {
        match p {
            BindingPattern::BindingIdentifier(id) => {
                if declare {
                    scope.declare(id.name.as_str(), v);
                } else {
                    scope.assign(id.name.as_str(), &v, f.branch > 0);
                }
            }
            BindingPattern::ObjectPattern(o) => {
                for prop in &o.properties {
                    let key = self.prop_key(f, scope, &prop.key);
                    let loc = self.loc(f, prop.span);
                    let fv = self.get(&v, &key, loc);
                    self.bind(f, scope, &prop.value, fv, declare);
                }
                if let Some(rest) = &o.rest {
                    self.bind(f, scope, &rest.argument, v.clone(), declare);
                }
            }
            BindingPattern::ArrayPattern(a) => {
                for (i, el) in a.elements.iter().enumerate() {
                    if let Some(el) = el {
                        let item = self.element(&v, Some(i));
                        self.bind(f, scope, el, item, declare);
                    }
                }
                if let Some(rest) = &a.rest {
                    self.bind(f, scope, &rest.argument, v.clone(), declare);
                }
            }
            BindingPattern::AssignmentPattern(a) => {
                let v = if v.is_empty() { self.expr(f, scope, &a.right) } else { v };
                self.bind(f, scope, &a.left, v, declare);
            }
        }
    }

    /// Element `i` of an array value (every element when `i` is unknown);
    /// a value that is not an array stands for its own elements.
    pub fn element(&self, v: &Val<'a>, i: Option<usize>) -> Val<'a> {
        let mut out = Val::default();
        for a in &v.0 {
            match a {
                Atom::Obj(o) if o.borrow().array => {
                    let o = o.borrow();
                    match i {
                        Some(i) => {
                            if let Some(x) = o.get(&i.to_string()) {
                                out.join(x);
                            }
                        }
                        None => o.fields.iter().for_each(|(_, x)| out.join(x)),
                    }
                }
                other => out.join(&Val::one(other.clone())),
            }
        }
        out
    }

    pub fn prop_key(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, key: &'a PropertyKey<'a>) -> String {
        if let Some(name) = key.static_name() {
            return name.into_owned();
        }
        key.as_expression().and_then(|e| self.expr(f, scope, e).first_str()).unwrap_or_else(|| "{?}".into())
    }

    // ---- expressions ---------------------------------------------------

    /// A value for `e`; beyond [`super::MAX_DEPTH`] nested expressions and
    /// statements (a chain of 20,000 `+`, calls nested in calls), unknown.
    pub fn expr(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, e: &'a Expression<'a>) -> Val<'a> {
        if !self.tick() || self.depth >= super::MAX_DEPTH {
            return Val::default();
        }
        self.depth += 1;
        let v = self.expr_at_depth(f, scope, e);
        self.depth -= 1;
        v
    }

    fn expr_at_depth(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, e: &'a Expression<'a>) -> Val<'a> {
        match e {
            Expression::StringLiteral(s) => Val::str(s.value.as_str()),
            Expression::TemplateLiteral(t) => {
                let mut text = String::new();
                let mut tags = Val::default();
                for (i, q) in t.quasis.iter().enumerate() {
                    text.push_str(q.value.cooked.as_ref().map_or(q.value.raw.as_str(), |c| c.as_str()));
                    if let Some(x) = t.expressions.get(i) {
                        let v = self.expr(f, scope, x);
                        text.push_str(v.strs().next().unwrap_or("{?}"));
                        tags.join(&tags_only(&v));
                    }
                }
                Val::str(&text).joined(&tags)
            }
            Expression::Identifier(id) => Self::ident(scope, id.name.as_str()),
            Expression::ThisExpression(_) => f.this.clone(),
            Expression::StaticMemberExpression(m) => {
                let o = self.expr(f, scope, &m.object);
                let loc = self.loc(f, m.span);
                self.get(&o, m.property.name.as_str(), loc)
            }
            Expression::ComputedMemberExpression(m) => {
                let o = self.expr(f, scope, &m.object);
                let k = self.expr(f, scope, &m.expression);
                let loc = self.loc(f, m.span);
                let key = k.first_str().unwrap_or_else(|| "{?}".into());
                self.get(&o, &key, loc)
            }
            Expression::CallExpression(c) => self.call_expr(f, scope, c),
            Expression::NewExpression(n) => {
                let callee = self.expr(f, scope, &n.callee);
                let args = self.args(f, scope, &n.arguments);
                let loc = self.loc(f, n.span);
                self.construct(f, &callee, args, loc)
            }
            Expression::ChainExpression(c) => match &c.expression {
                ChainElement::CallExpression(call) => self.call_expr(f, scope, call),
                ChainElement::TSNonNullExpression(t) => self.expr(f, scope, &t.expression),
                other => match other.as_member_expression() {
                    Some(m) => {
                        let o = self.expr(f, scope, m.object());
                        let loc = self.loc(f, m.span());
                        let key = match m {
                            MemberExpression::ComputedMemberExpression(c) => {
                                self.expr(f, scope, &c.expression).first_str().unwrap_or_else(|| "{?}".into())
                            }
                            _ => m.static_property_name().map(std::string::ToString::to_string).unwrap_or_default(),
                        };
                        self.get(&o, &key, loc)
                    }
                    None => Val::default(),
                },
            },
            Expression::AssignmentExpression(a) => {
                let mut v = self.expr(f, scope, &a.right);
                if a.operator != AssignmentOperator::Assign
                    && let Some(t) = a.left.as_simple_assignment_target()
                    && let Some(m) = t.as_member_expression()
                {
                    let o = self.expr(f, scope, m.object());
                    let loc = self.loc(f, m.span());
                    let key = m.static_property_name().map(std::string::ToString::to_string).unwrap_or_default();
                    v.join(&self.get(&o, &key, loc));
                }
                self.assign(f, scope, &a.left, v.clone());
                v
            }
            Expression::ArrowFunctionExpression(a) => self.closure(f, scope, Code::Arrow(a)),
            Expression::FunctionExpression(func) => self.closure(f, scope, Code::Function(func)),
            Expression::ClassExpression(c) => self.class_value(f, scope, c),
            Expression::ObjectExpression(o) => self.object(f, scope, o),
            Expression::ArrayExpression(a) => {
                let mut fields = vec![];
                let mut spread = Val::default();
                for (i, el) in a.elements.iter().enumerate() {
                    match el {
                        ArrayExpressionElement::SpreadElement(s) => {
                            let v = self.expr(f, scope, &s.argument);
                            spread.join(&self.element(&v, None));
                        }
                        ArrayExpressionElement::Elision(_) => {}
                        other => {
                            if let Some(x) = other.as_expression() {
                                fields.push((i.to_string(), self.expr(f, scope, x)));
                            }
                        }
                    }
                }
                if !spread.is_empty() {
                    fields.push((fields.len().to_string(), spread));
                }
                let o = new_obj(fields, false);
                o.borrow_mut().array = true;
                Val::obj(o)
            }
            Expression::AwaitExpression(a) => {
                let v = self.expr(f, scope, &a.argument);
                self.await_val(&v)
            }
            Expression::ConditionalExpression(c) => {
                self.expr(f, scope, &c.test);
                let mut out = Val::default();
                self.branches(f, &mut |me, f, arm| {
                    let x = match arm {
                        0 => &c.consequent,
                        1 => &c.alternate,
                        _ => return None,
                    };
                    let v = me.expr(f, scope, x);
                    out.join(&v);
                    Some(Done::Normal)
                });
                out
            }
            Expression::LogicalExpression(l) => {
                let left = self.expr(f, scope, &l.left);
                let mut out = left.clone();
                self.branches(f, &mut |me, f, arm| {
                    (arm == 0).then(|| {
                        let v = me.expr(f, scope, &l.right);
                        out.join(&v);
                        Done::Normal
                    })
                });
                out
            }
            Expression::BinaryExpression(b) => {
                let l = self.expr(f, scope, &b.left);
                let r = self.expr(f, scope, &b.right);
                if b.operator == BinaryOperator::Addition {
                    let text = format!("{}{}", l.strs().next().unwrap_or("{?}"), r.strs().next().unwrap_or("{?}"));
                    let known = l.strs().next().is_some() || r.strs().next().is_some();
                    let out = if known { Val::str(&text) } else { Val::default() };
                    out.joined(&tags_only(&l)).joined(&tags_only(&r))
                } else {
                    Val::default()
                }
            }
            Expression::UnaryExpression(u) => {
                let v = self.expr(f, scope, &u.argument);
                if matches!(u.operator, UnaryOperator::LogicalNot | UnaryOperator::Typeof | UnaryOperator::Delete) {
                    Val::default()
                } else {
                    v
                }
            }
            Expression::SequenceExpression(s) => {
                let mut last = Val::default();
                for x in &s.expressions {
                    last = self.expr(f, scope, x);
                }
                last
            }
            Expression::ParenthesizedExpression(p) => self.expr(f, scope, &p.expression),
            Expression::TSAsExpression(t) => self.expr(f, scope, &t.expression),
            Expression::TSSatisfiesExpression(t) => self.expr(f, scope, &t.expression),
            Expression::TSNonNullExpression(t) => self.expr(f, scope, &t.expression),
            Expression::TSTypeAssertion(t) => self.expr(f, scope, &t.expression),
            Expression::TSInstantiationExpression(t) => self.expr(f, scope, &t.expression),
            Expression::JSXElement(el) => {
                self.jsx(f, scope, el);
                Val::default()
            }
            Expression::JSXFragment(fr) => {
                for c in &fr.children {
                    self.jsx_child(f, scope, c);
                }
                Val::default()
            }
            Expression::ImportExpression(i) => {
                let spec = self.expr(f, scope, &i.source).first_str().unwrap_or_default();
                let exports = self.import(f.file, &spec);
                self.resolved(exports)
            }
            Expression::TaggedTemplateExpression(t) => {
                for x in &t.quasi.expressions {
                    self.expr(f, scope, x);
                }
                Val::external()
            }
            _ => Val::default(),
        }
    }

    fn ident(scope: &Scope<'a>, name: &str) -> Val<'a> {
        scope.lookup(name).unwrap_or_else(|| super::globals::global(name))
    }

    fn object(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, o: &'a ObjectExpression<'a>) -> Val<'a> {
        let obj = new_obj(vec![], false);
        for p in &o.properties {
            match p {
                ObjectPropertyKind::ObjectProperty(p) => {
                    let key = self.prop_key(f, scope, &p.key);
                    let v = self.expr(f, scope, &p.value);
                    obj.borrow_mut().set(&key, v, false);
                }
                ObjectPropertyKind::SpreadProperty(s) => {
                    let v = self.expr(f, scope, &s.argument);
                    let loc = self.loc(f, s.span);
                    for src in v.objs() {
                        self.materialize(src, loc);
                        let fields = src.borrow().fields.clone();
                        for (k, fv) in fields {
                            obj.borrow_mut().set(&k, fv, false);
                        }
                    }
                    let t = tags_only(&v);
                    if !t.is_empty() {
                        obj.borrow_mut().set("{?}", t, true);
                    }
                }
            }
        }
        Val::obj(obj)
    }

    pub fn args(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, args: &'a [Argument<'a>]) -> Vec<Val<'a>> {
        let mut out = vec![];
        for a in args {
            match a {
                Argument::SpreadElement(s) => {
                    let v = self.expr(f, scope, &s.argument);
                    out.push(self.element(&v, None));
                }
                other => {
                    if let Some(e) = other.as_expression() {
                        out.push(self.expr(f, scope, e));
                    }
                }
            }
        }
        out
    }

    fn call_expr(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, c: &'a CallExpression<'a>) -> Val<'a> {
        let loc = self.loc(f, c.span);
        let callee = c.callee.get_inner_expression();
        if let Some(m) = callee.as_member_expression() {
            let this = self.expr(f, scope, m.object());
            let name = match m {
                MemberExpression::ComputedMemberExpression(cm) => {
                    self.expr(f, scope, &cm.expression).first_str().unwrap_or_else(|| "{?}".into())
                }
                _ => m.static_property_name().map(std::string::ToString::to_string).unwrap_or_default(),
            };
            let args = self.args(f, scope, &c.arguments);
            return self.method_call(f, &this, &name, args, loc);
        }
        let fv = self.expr(f, scope, callee);
        let args = self.args(f, scope, &c.arguments);
        let name = match callee {
            Expression::Identifier(id) => id.name.as_str(),
            _ => "",
        };
        self.call_value(f, &fv, &Val::default(), args, loc, name)
    }

    fn assign(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, t: &'a AssignmentTarget<'a>, v: Val<'a>) {
        let weak = f.branch > 0;
        if let Some(simple) = t.as_simple_assignment_target() {
            if let SimpleAssignmentTarget::AssignmentTargetIdentifier(id) = simple {
                let name = id.name.as_str();
                match scope.assign(name, &v, weak) {
                    Some(ScopeKind::Module) if !self.in_module_init() => {
                        let loc = self.loc(f, id.span);
                        self.store(loc, &v, format!("the module variable `{name}`"));
                    }
                    Some(_) => {}
                    None => self.globals.declare(name, v),
                }
            } else if let Some(m) = simple.as_member_expression() {
                let o = self.expr(f, scope, m.object());
                let key = match m {
                    MemberExpression::ComputedMemberExpression(c) => {
                        self.expr(f, scope, &c.expression).first_str().unwrap_or_else(|| "{?}".into())
                    }
                    _ => m.static_property_name().map(std::string::ToString::to_string).unwrap_or_default(),
                };
                let loc = self.loc(f, m.span());
                let what = member_text(m);
                self.set(&o, &key, v, weak, loc, &what);
            }
            return;
        }
        match t {
            AssignmentTarget::ObjectAssignmentTarget(o) => {
                for p in &o.properties {
                    match p {
                        AssignmentTargetProperty::AssignmentTargetPropertyIdentifier(id) => {
                            let loc = self.loc(f, id.span);
                            let fv = self.get(&v, id.binding.name.as_str(), loc);
                            scope.assign(id.binding.name.as_str(), &fv, weak);
                        }
                        AssignmentTargetProperty::AssignmentTargetPropertyProperty(pp) => {
                            let key = self.prop_key(f, scope, &pp.name);
                            let loc = self.loc(f, pp.span);
                            let fv = self.get(&v, &key, loc);
                            if let Some(t) = maybe_default_target(&pp.binding) {
                                self.assign(f, scope, t, fv);
                            }
                        }
                    }
                }
            }
            AssignmentTarget::ArrayAssignmentTarget(a) => {
                for (i, el) in a.elements.iter().enumerate() {
                    if let Some(t) = el.as_ref().and_then(maybe_default_target) {
                        let item = self.element(&v, Some(i));
                        self.assign(f, scope, t, item);
                    }
                }
            }
            _ => {}
        }
    }

    fn jsx(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, el: &'a JSXElement<'a>) {
        for attr in &el.opening_element.attributes {
            match attr {
                JSXAttributeItem::Attribute(a) => {
                    let Some(JSXAttributeValue::ExpressionContainer(c)) = &a.value else { continue };
                    let Some(e) = c.expression.as_expression() else { continue };
                    let v = self.expr(f, scope, e);
                    let name = a.name.get_identifier().name.as_str();
                    if name.starts_with("on") && v.0.iter().any(|x| matches!(x, Atom::Func(_))) {
                        let loc = self.loc(f, a.span);
                        let event = self.event(super::super::source::OpenEvent::from_jsx_prop(name), Some(loc), name);
                        let this = f.this.clone();
                        // A handler runs when its element is tapped, not
                        // during the render: what it issues is its own.
                        let render = self.path.clone();
                        self.call_value(f, &v, &this, vec![event], loc, name);
                        self.path = render;
                    }
                }
                JSXAttributeItem::SpreadAttribute(s) => {
                    self.expr(f, scope, &s.argument);
                }
            }
        }
        for c in &el.children {
            self.jsx_child(f, scope, c);
        }
    }

    fn jsx_child(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, c: &'a JSXChild<'a>) {
        match c {
            JSXChild::Element(e) => self.jsx(f, scope, e),
            JSXChild::Fragment(fr) => fr.children.iter().for_each(|c| self.jsx_child(f, scope, c)),
            JSXChild::ExpressionContainer(x) => {
                if let Some(e) = x.expression.as_expression() {
                    self.expr(f, scope, e);
                }
            }
            _ => {}
        }
    }
}

fn maybe_default_target<'a>(t: &'a AssignmentTargetMaybeDefault<'a>) -> Option<&'a AssignmentTarget<'a>> {
    match t {
        AssignmentTargetMaybeDefault::AssignmentTargetWithDefault(d) => Some(&d.binding),
        other => other.as_assignment_target(),
    }
}

/// `this.data.code`, as written, for a store's description.
fn member_text(m: &MemberExpression<'_>) -> String {
    fn text(e: &Expression<'_>) -> Option<String> {
        match e.get_inner_expression() {
            Expression::Identifier(id) => Some(id.name.to_string()),
            Expression::ThisExpression(_) => Some("this".into()),
            Expression::CallExpression(c) => text(&c.callee).map(|t| format!("{t}()")),
            other => other
                .as_member_expression()
                .and_then(|m| Some(format!("{}.{}", text(m.object())?, m.static_property_name()?))),
        }
    }
    let obj = text(m.object()).unwrap_or_else(|| "…".into());
    match m.static_property_name() {
        Some(p) => format!("{obj}.{p}"),
        None => format!("{obj}[…]"),
    }
}

/// Only the tags of a value (a string built from tagged parts carries them).
pub fn tags_only<'a>(v: &Val<'a>) -> Val<'a> {
    Val(v.tags(3).into_iter().map(|(_, t)| Atom::Tag(t)).collect())
}
