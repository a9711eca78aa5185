//! What the rules ask, answered by running the Mini Program abstractly:
//! every module is evaluated once (imports followed through `require`,
//! `import`, `module.exports`, `export default`), every component found
//! (`Page`, `Component`, `App`, Vue options and `<script setup>`, Taro
//! classes and function components), and every lifecycle and handler run
//! as an entry point, in the order a user meets them. What comes out is a
//! [`Model`]: the requests sent with what they carry, the logins and what
//! was in flight beside them, and what was kept where it outlives a handler.

mod api;
pub mod eval;
mod globals;
pub mod value;

use super::source::{Binding, SourceFile};
use eval::{Frame, Scope, ScopeKind, new_scope};
use oxc_ast::ast::{
    ArrowFunctionBody, BindingPattern, Class, ClassElement, Declaration, ExportDefaultDeclarationKind,
    ImportDeclaration, ImportDeclarationSpecifier, Program, Statement,
};
use oxc_span::GetSpan;
use std::collections::HashMap;
use std::path::{Component as PathPart, Path, PathBuf};
use std::rc::Rc;
use value::{Atom, Closure, Code, FileId, Hb, Loc, Login, ObjRef, Tag, Val, new_obj};

/// How many evaluation steps one entry point may take: a handler that
/// reaches this is cut short and said in the summary.
pub const MAX_STEPS: u32 = 200_000;

/// Statements and expressions evaluated inside each other at most: past it
/// a value is unknown, so a left-deep chain of 20,000 `+` (an inlined
/// image) or code nested thousands deep cannot overflow the stack.
pub const MAX_DEPTH: u32 = 2_000;

/// Lifecycles, in the order they run; every other function of a component is a handler.
const LIFECYCLES: &[&str] = &[
    "onLaunch",
    "created",
    "attached",
    "onLoad",
    "setup",
    "beforeMount",
    "componentWillMount",
    "onShow",
    "show",
    "onReady",
    "ready",
    "mounted",
    "componentDidMount",
    "componentDidShow",
];

/// A request: where, what it carries (with the field path to each
/// tagged value), and the calls that led to it from the entry point.
#[derive(Debug)]
pub struct Send {
    pub loc: Loc,
    pub chain: Vec<Loc>,
    pub entry: u32,
    /// The clock when this run of its entry point began (a handler runs
    /// twice: its second run's logins are not its first run's).
    pub run_started: u32,
    pub tags: Vec<(Vec<String>, Tag)>,
    pub url: Option<String>,
    pub method: Option<String>,
    /// A platform request (`wx.request`, …), not an unknown call taken for one.
    pub client: bool,
}

/// A value kept where it outlives the handler that made it.
#[derive(Debug)]
pub struct Store {
    pub loc: Loc,
    pub tags: Vec<Tag>,
    pub what: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    ModuleInit,
    AppLifecycle,
    PageLifecycle,
    Handler,
}

/// A login, and the logins issued on the same path whose answer had not arrived.
#[derive(Debug)]
pub struct LoginCall {
    pub login: Rc<Login>,
    pub pending: Vec<Rc<Login>>,
    pub entry_kind: EntryKind,
}

#[derive(Debug, Default)]
pub struct Model {
    pub sends: Vec<Send>,
    pub stores: Vec<Store>,
    pub logins: Vec<LoginCall>,
    /// Login id → where its code was first kept.
    pub kept: HashMap<u32, (Loc, String)>,
    /// Entry points cut short by [`MAX_STEPS`].
    pub cut_short: usize,
}

/// What one path of execution knows: the logins answered, the logins issued.
#[derive(Debug, Clone, Default)]
pub struct PathState {
    pub hb: Hb,
    pub issued: Vec<Rc<Login>>,
}

impl PathState {
    fn join(&self, other: &PathState) -> PathState {
        let mut issued = self.issued.clone();
        for l in &other.issued {
            if !issued.iter().any(|x| x.id == l.id) {
                issued.push(l.clone());
            }
        }
        PathState { hb: value::hb_union(&self.hb, &other.hb), issued }
    }
}

/// One parsed script: a whole file, or one `<script>` of a `.vue` file.
pub struct Unit<'a> {
    pub program: &'a Program<'a>,
    /// Byte offset of the script in its file.
    pub base: u32,
    pub setup: bool,
}

enum Kind<'a> {
    App(Val<'a>),
    Native(Val<'a>),
    Vue(Val<'a>, bool),
    Setup(Scope<'a>),
    Class(Val<'a>),
    Function(Val<'a>),
}

struct ComponentDef<'a> {
    kind: Kind<'a>,
    file: FileId,
}

struct ModuleState<'a> {
    module: ObjRef<'a>,
}

pub struct Interp<'a> {
    files: &'a [SourceFile],
    units: Vec<Vec<Unit<'a>>>,
    by_path: HashMap<PathBuf, FileId>,
    roots: Vec<PathBuf>,
    modules: HashMap<FileId, ModuleState<'a>>,
    components: Vec<ComponentDef<'a>>,
    classes: Vec<(&'a Class<'a>, Scope<'a>, FileId, u32)>,
    bindings: HashMap<FileId, Vec<(Binding, FileId)>>,
    pub globals: Scope<'a>,
    storage: ObjRef<'a>,
    app: Option<ObjRef<'a>>,
    vuex: Option<ObjRef<'a>>,
    actions: HashMap<String, Val<'a>>,
    clock: u32,
    ids: u32,
    pub entry: u32,
    /// The clock when the current entry point's run began.
    run_started: u32,
    pub entry_kind: EntryKind,
    pub steps: u32,
    /// How deep [`eval`] is nested now (see [`MAX_DEPTH`]).
    pub depth: u32,
    pub path: PathState,
    /// Call sites from the entry point to the current frame.
    pub calls: Vec<Loc>,
    stack: Vec<usize>,
    /// Functions that took a quarter of an entry's steps (the innermost
    /// such one of a chain): called again, they are not followed (a chart
    /// library, a parser), so one heavy helper does not cut every handler
    /// that calls it short.
    heavy: std::collections::HashSet<usize>,
    pub model: Model,
}

impl<'a> Interp<'a> {
    pub fn new(
        files: &'a [SourceFile],
        units: Vec<Vec<Unit<'a>>>,
        roots: &[PathBuf],
        bindings: HashMap<FileId, Vec<(Binding, FileId)>>,
    ) -> Self {
        let by_path = files.iter().enumerate().map(|(i, f)| (normalize(&f.path), i)).collect();
        Interp {
            files,
            units,
            by_path,
            roots: roots.iter().map(|r| normalize(r)).collect(),
            modules: HashMap::new(),
            components: vec![],
            classes: vec![],
            bindings,
            globals: new_scope(None, ScopeKind::Block),
            storage: new_obj(vec![], true),
            app: None,
            vuex: None,
            actions: HashMap::new(),
            clock: 0,
            ids: 0,
            entry: 0,
            run_started: 0,
            entry_kind: EntryKind::ModuleInit,
            steps: 0,
            depth: 0,
            path: PathState::default(),
            calls: vec![],
            stack: vec![],
            heavy: std::collections::HashSet::new(),
            model: Model::default(),
        }
    }

    pub fn tick_clock(&mut self) -> u32 {
        self.clock += 1;
        self.clock
    }

    pub fn next_id(&mut self) -> u32 {
        self.ids += 1;
        self.ids
    }

    pub fn in_module_init(&self) -> bool {
        self.entry_kind == EntryKind::ModuleInit
    }

    /// Runs the whole program: modules (the app's first), then the app's
    /// lifecycles, the pages' lifecycles, then every handler.
    pub fn run(mut self) -> Model {
        let mut order: Vec<FileId> = (0..self.files.len()).filter(|&i| !self.units[i].is_empty()).collect();
        order.sort_by_key(|&i| {
            let stem = self.files[i].path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_ascii_lowercase();
            (stem != "app", self.files[i].rel.matches('/').count(), i)
        });
        for file in order {
            self.module(file);
        }
        let comps = std::mem::take(&mut self.components);
        let mut insts = vec![];
        for c in &comps {
            self.begin(EntryKind::ModuleInit);
            insts.push(self.instantiate(c));
        }
        let mut ranked: Vec<usize> = (0..comps.len()).collect();
        ranked.sort_by_key(|&i| !matches!(comps[i].kind, Kind::App(_) | Kind::Vue(_, true)));
        for &i in &ranked {
            let app = matches!(comps[i].kind, Kind::App(_) | Kind::Vue(_, true));
            let kind = if app { EntryKind::AppLifecycle } else { EntryKind::PageLifecycle };
            if let Kind::Function(func) = &comps[i].kind {
                self.entry_point(comps[i].file, func, &Val::default(), None, kind);
                continue;
            }
            let Some(inst) = &insts[i] else { continue };
            for name in LIFECYCLES {
                let func = inst.borrow().get(name).cloned();
                if let Some(func) = func.filter(is_function) {
                    self.entry_point(comps[i].file, &func, &Val::obj(inst.clone()), None, kind);
                }
            }
        }
        // Handlers run in any order a user taps them: each sees what every
        // other one keeps (page data, globalData, storage, module
        // variables) whatever their order in the source. A second round
        // re-runs the handlers up to the last one that kept a tagged value
        // (a code, sealed data, a token): the ones after it already saw all
        // there is. Findings of both rounds are the same sites, merged.
        let handlers: Vec<(FileId, ObjRef<'a>, String, Val<'a>)> = ranked
            .iter()
            .filter_map(|&i| insts[i].as_ref().map(|inst| (comps[i].file, inst)))
            .flat_map(|(file, inst)| {
                let methods: Vec<(String, Val<'a>)> = inst
                    .borrow()
                    .fields
                    .iter()
                    .filter(|(k, v)| !LIFECYCLES.contains(&k.as_str()) && k != "data" && is_function(v))
                    .cloned()
                    .collect();
                methods.into_iter().map(move |(name, func)| (file, inst.clone(), name, func))
            })
            .collect();
        let (mut last_keeper, mut entries) = (None, vec![]);
        for (n, (file, inst, name, func)) in handlers.iter().enumerate() {
            let kept = self.model.stores.len();
            self.entry_point(*file, func, &Val::obj(inst.clone()), Some(name), EntryKind::Handler);
            entries.push(self.entry);
            if self.model.stores.len() > kept {
                last_keeper = Some(n);
            }
        }
        // The second run of a handler is the same entry point: what it kept
        // in its first run is its own, not another handler's.
        let (cut_short, next) = (self.model.cut_short, self.entry);
        for ((file, inst, name, func), entry) in handlers.iter().zip(entries).take(last_keeper.map_or(0, |n| n + 1)) {
            self.entry = entry - 1;
            self.entry_point(*file, func, &Val::obj(inst.clone()), Some(name), EntryKind::Handler);
        }
        (self.model.cut_short, self.entry) = (cut_short, next);
        self.model
    }

    fn begin(&mut self, kind: EntryKind) {
        self.entry += 1;
        self.run_started = self.tick_clock();
        self.entry_kind = kind;
        self.steps = 0;
        self.path = PathState::default();
        self.calls.clear();
        self.stack.clear();
    }

    /// One entry point: a lifecycle (with outside options) or a handler
    /// (with its event: sealed when a template binds it to an open-data
    /// button, else sealed only where the handler reads it as such).
    fn entry_point(&mut self, file: FileId, func: &Val<'a>, this: &Val<'a>, handler: Option<&str>, kind: EntryKind) {
        self.begin(kind);
        let arg = match handler {
            Some(name) => {
                // Bound to an open-data button, or only to other events (a
                // text field's change: never sealed), or not in a template.
                let all = self.bindings.get(&file).map(Vec::as_slice).unwrap_or_default();
                let mine = || all.iter().filter(|(b, _)| b.handler == name);
                let bound = mine().find(|(b, _)| b.event.is_some()).cloned();
                let plain = bound.is_none() && mine().next().is_some();
                let button = bound.as_ref().map(|(b, t)| Loc {
                    file: *t,
                    start: b.offset as u32,
                    end: (b.offset + b.len) as u32,
                });
                if plain { Val::external() } else { self.event(bound.and_then(|(b, _)| b.event), button, name) }
            }
            None => Val::external(),
        };
        let loc = Loc { file, start: 0, end: 0 };
        let mut f = Frame { file, base: 0, this: this.clone(), branch: 0, ret: Val::default() };
        self.call_value(&mut f, func, this, vec![arg], loc, "");
        if self.steps >= MAX_STEPS {
            self.model.cut_short += 1;
        }
    }

    pub fn call_closure(&mut self, c: &Rc<Closure<'a>>, this: &Val<'a>, args: &[Val<'a>], loc: Loc) -> Val<'a> {
        let addr = c.code.addr();
        if self.calls.len() >= eval::MAX_DEPTH || self.stack.contains(&addr) {
            return Val::default();
        }
        if self.heavy.contains(&addr) {
            return Val::external();
        }
        let (steps_before, heavy_before) = (self.steps, self.heavy.len());
        self.stack.push(addr);
        self.calls.push(loc);
        let scope = new_scope(Some(&c.scope), ScopeKind::Function);
        let (params, is_async) = match c.code {
            Code::Function(func) => (&*func.params, func.r#async),
            Code::Arrow(a) => (&*a.params, a.r#async),
        };
        let mut f = Frame {
            file: c.file,
            base: c.base,
            this: c.this.clone().unwrap_or_else(|| this.clone()),
            branch: 0,
            ret: Val::default(),
        };
        for (i, p) in params.items.iter().enumerate() {
            let mut v = args.get(i).cloned().unwrap_or_default();
            if v.is_empty()
                && let Some(init) = &p.initializer
            {
                v = self.expr(&mut f, &scope, init);
            }
            self.bind(&mut f, &scope, &p.pattern, v, true);
        }
        if let Some(rest) = &params.rest {
            let fields =
                args.iter().skip(params.items.len()).enumerate().map(|(i, v)| (i.to_string(), v.clone())).collect();
            let o = new_obj(fields, false);
            o.borrow_mut().array = true;
            self.bind(&mut f, &scope, &rest.rest.argument, Val::obj(o), true);
        }
        let saved = self.path.hb.clone();
        match c.code {
            Code::Function(func) => {
                if let Some(body) = &func.body {
                    self.block(&mut f, &scope, &body.statements);
                }
            }
            Code::Arrow(a) => match &a.body {
                ArrowFunctionBody::FunctionBody(body) => {
                    self.block(&mut f, &scope, &body.statements);
                }
                other => {
                    if let Some(e) = other.as_expression() {
                        f.ret = self.expr(&mut f, &scope, e);
                    }
                }
            },
        }
        let end = std::mem::replace(&mut self.path.hb, saved);
        // Only the innermost heavy function: a wrapper whose callback
        // called a parser (`app.wxRequest` → a page's callback → wxParse)
        // stays followed, or every later request through it is lost.
        if self.steps.saturating_sub(steps_before) > MAX_STEPS / 4 && self.heavy.len() == heavy_before {
            self.heavy.insert(addr);
        }
        self.stack.pop();
        self.calls.pop();
        if is_async { self.promise(f.ret, end) } else { f.ret }
    }

    // ---- modules -------------------------------------------------------

    /// Evaluates a module once; its `module` object.
    fn module(&mut self, file: FileId) -> Option<ObjRef<'a>> {
        if let Some(m) = self.modules.get(&file) {
            return Some(m.module.clone());
        }
        if self.units.get(file).is_none_or(Vec::is_empty) {
            return None;
        }
        let exports = new_obj(vec![], false);
        let module = new_obj(vec![("exports".into(), Val::obj(exports.clone()))], false);
        let scope = new_scope(Some(&self.globals), ScopeKind::Module);
        scope.declare("module", Val::obj(module.clone()));
        scope.declare("exports", Val::obj(exports));
        self.modules.insert(file, ModuleState { module: module.clone() });
        // Saved and restored: a module may be first reached from inside a handler.
        let saved = (
            self.entry,
            self.entry_kind,
            self.steps,
            self.path.clone(),
            std::mem::take(&mut self.calls),
            std::mem::take(&mut self.stack),
        );
        self.begin(EntryKind::ModuleInit);
        let units: Vec<(&'a Program<'a>, u32, bool)> =
            self.units[file].iter().map(|u| (u.program, u.base, u.setup)).collect();
        let mut setup = false;
        for (program, base, is_setup) in units {
            setup |= is_setup;
            let mut f = Frame { file, base, this: Val::default(), branch: 0, ret: Val::default() };
            for s in &program.body {
                if let Statement::ImportDeclaration(i) = s {
                    self.import_decl(&mut f, &scope, i);
                }
            }
            self.block(&mut f, &scope, &program.body);
            self.find_components(&mut f, &scope, program);
        }
        (self.entry, self.entry_kind, self.steps, self.path, self.calls, self.stack) = saved;
        if self.files[file].single_file() {
            if setup {
                self.components.push(ComponentDef { kind: Kind::Setup(scope), file });
            } else {
                let default = self.export_default(&module);
                let app = self.files[file].path.file_stem().is_some_and(|s| s.eq_ignore_ascii_case("app"));
                if default.objs().next().is_some() {
                    self.components.push(ComponentDef { kind: Kind::Vue(default, app), file });
                }
            }
        }
        Some(module)
    }

    fn export_default(&mut self, module: &ObjRef<'a>) -> Val<'a> {
        let exports = module.borrow().get("exports").cloned().unwrap_or_default();
        let loc = Loc { file: 0, start: 0, end: 0 };
        let d = self.get(&exports, "default", loc);
        if d.is_empty() { exports } else { d }
    }

    /// Taro and React components of a script: classes with a `render`,
    /// and functions named like components in files that write JSX.
    fn find_components(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, program: &'a Program<'a>) {
        let file = f.file;
        let jsx = program.source_type.is_jsx() || self.files[file].text.contains("@tarojs");
        for s in &program.body {
            let decl = match s {
                Statement::ExportDeclaration(e) => Some(&e.declaration),
                other => other.as_declaration(),
            };
            let named_fn = |name: &str| jsx && name.chars().next().is_some_and(char::is_uppercase);
            match decl {
                Some(Declaration::ClassDeclaration(c)) if has_render(c) => {
                    if let Some(id) = &c.id
                        && let Some(v) = scope.lookup(id.name.as_str())
                    {
                        self.components.push(ComponentDef { kind: Kind::Class(v), file });
                    }
                }
                Some(Declaration::FunctionDeclaration(func)) => {
                    if let Some(id) = func.id.as_ref().filter(|id| named_fn(id.name.as_str()))
                        && let Some(v) = scope.lookup(id.name.as_str())
                    {
                        self.components.push(ComponentDef { kind: Kind::Function(v), file });
                    }
                }
                Some(Declaration::VariableDeclaration(d)) => {
                    for decl in &d.declarations {
                        if let BindingPattern::BindingIdentifier(id) = &decl.id
                            && named_fn(id.name.as_str())
                            && let Some(v) = scope.lookup(id.name.as_str()).filter(is_function)
                        {
                            self.components.push(ComponentDef { kind: Kind::Function(v), file });
                        }
                    }
                }
                _ => {}
            }
            if let Statement::ExportDefaultDeclaration(e) = s {
                match &e.declaration {
                    ExportDefaultDeclarationKind::ClassDeclaration(c) if has_render(c) => {
                        let v = self.class_value(f, scope, c);
                        self.components.push(ComponentDef { kind: Kind::Class(v), file });
                    }
                    ExportDefaultDeclarationKind::FunctionDeclaration(func) if jsx => {
                        let v = self.closure(f, scope, Code::Function(func));
                        self.components.push(ComponentDef { kind: Kind::Function(v), file });
                    }
                    _ => {}
                }
            }
        }
    }

    /// The exports of what `spec` names from `from`: a module of the tree,
    /// or a package's modelled functions.
    pub fn import(&mut self, from: FileId, spec: &str) -> Val<'a> {
        match self.resolve(from, spec) {
            Some(file) => match self.module(file) {
                Some(m) => m.borrow().get("exports").cloned().unwrap_or_default(),
                None => Val::external(),
            },
            None => globals::package_export(spec, None),
        }
    }

    fn import_decl(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, i: &'a ImportDeclaration<'a>) {
        let spec = i.source.value.as_str();
        let local = self.resolve(f.file, spec);
        let exports = self.import(f.file, spec);
        let loc = self.loc(f, i.span);
        for s in i.specifiers.iter().flatten() {
            let (name, v) = match s {
                ImportDeclarationSpecifier::ImportSpecifier(s) => {
                    let imported = s.imported.name();
                    let v = if local.is_some() {
                        self.get(&exports, imported.as_str(), loc)
                    } else {
                        globals::package_export(spec, Some(imported.as_str()))
                    };
                    (s.local.name.as_str(), v)
                }
                ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => {
                    let v = if local.is_some() {
                        let d = self.get(&exports, "default", loc);
                        if d.is_empty() { exports.clone() } else { d }
                    } else {
                        globals::package_export(spec, Some("default"))
                    };
                    (s.local.name.as_str(), v)
                }
                ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => (s.local.name.as_str(), exports.clone()),
            };
            scope.declare(name, v);
        }
    }

    /// Export statements (imports were bound before the module ran).
    pub fn module_stmt(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, s: &'a Statement<'a>) {
        let Some(m) = self.modules.get(&f.file).map(|m| m.module.clone()) else { return };
        let exports = m.borrow().get("exports").cloned().unwrap_or_default();
        let loc = self.loc(f, s.span());
        let export = |me: &mut Self, name: &str, v: Val<'a>| me.set(&exports, name, v, false, loc, "exports");
        match s {
            Statement::ExportDeclaration(e) => match &e.declaration {
                Declaration::VariableDeclaration(d) => {
                    self.var_decl(f, scope, d);
                    for decl in &d.declarations {
                        for id in decl.id.get_binding_identifiers() {
                            let v = scope.lookup(id.name.as_str()).unwrap_or_default();
                            export(self, id.name.as_str(), v);
                        }
                    }
                }
                Declaration::FunctionDeclaration(func) => {
                    if let Some(id) = &func.id {
                        let v = scope.lookup(id.name.as_str()).unwrap_or_default();
                        export(self, id.name.as_str(), v);
                    }
                }
                Declaration::ClassDeclaration(c) => {
                    if let Some(id) = &c.id {
                        let v = self.class_value(f, scope, c);
                        scope.declare(id.name.as_str(), v.clone());
                        export(self, id.name.as_str(), v);
                    }
                }
                _ => {}
            },
            Statement::ExportNamedDeclaration(e) => {
                for sp in &e.specifiers {
                    let v = scope.lookup(sp.local.name().as_str()).unwrap_or_default();
                    export(self, sp.exported.name().as_str(), v);
                }
            }
            Statement::ExportFromDeclaration(e) => {
                let from = self.import(f.file, e.source.value.as_str());
                for sp in &e.specifiers {
                    let v = self.get(&from, sp.local.name().as_str(), loc);
                    export(self, sp.exported.name().as_str(), v);
                }
            }
            Statement::ExportAllDeclaration(e) => {
                let from = self.import(f.file, e.source.value.as_str());
                match &e.exported {
                    Some(name) => export(self, name.name().as_str(), from),
                    None => {
                        for o in from.objs() {
                            for (k, v) in o.borrow().fields.clone() {
                                export(self, &k, v);
                            }
                        }
                    }
                }
            }
            Statement::ExportDefaultDeclaration(e) => {
                let v = match &e.declaration {
                    ExportDefaultDeclarationKind::FunctionDeclaration(func) => {
                        self.closure(f, scope, Code::Function(func))
                    }
                    ExportDefaultDeclarationKind::ClassDeclaration(c) => self.class_value(f, scope, c),
                    other => other.as_expression().map(|x| self.expr(f, scope, x)).unwrap_or_default(),
                };
                export(self, "default", v);
            }
            Statement::TSExportAssignment(e) => {
                let v = self.expr(f, scope, &e.expression);
                m.borrow_mut().set("exports", v, false);
            }
            _ => {}
        }
    }

    /// The file a specifier names: relative to `from`, then under each
    /// root (`@/`, `~/`, `/` and bare paths), with the usual extensions.
    fn resolve(&self, from: FileId, spec: &str) -> Option<FileId> {
        const EXTS: &[&str] = &[
            "",
            ".js",
            ".ts",
            ".vue",
            ".jsx",
            ".tsx",
            ".mjs",
            ".cjs",
            "/index.js",
            "/index.ts",
            "/index.vue",
            "/index.jsx",
            "/index.tsx",
        ];
        let dir = self.files[from].path.parent().unwrap_or(Path::new(""));
        let trimmed =
            spec.trim_start_matches("~@/").trim_start_matches("@/").trim_start_matches("~/").trim_start_matches('/');
        let mut bases = vec![];
        if spec.starts_with('.') {
            bases.push(normalize(&dir.join(spec)));
        } else {
            for r in &self.roots {
                bases.push(normalize(&r.join(trimmed)));
                bases.push(normalize(&r.join("src").join(trimmed)));
            }
            if !spec.starts_with('@') {
                bases.push(normalize(&dir.join(spec)));
            }
        }

        for b in bases {
            for ext in EXTS {
                let mut p = b.clone().into_os_string();
                p.push(ext);
                if let Some(&id) = self.by_path.get(&PathBuf::from(p)) {
                    return Some(id);
                }
            }
        }
        None
    }

    // ---- components ----------------------------------------------------

    fn register(&mut self, kind: &str, options: Val<'a>, file: FileId, _loc: Loc) {
        if kind == "App"
            && let Some(inst) = options.objs().next().cloned()
        {
            self.adopt_app(&inst);
        }
        let kind = match kind {
            "App" => Kind::App(options),
            "Page" | "Component" => Kind::Native(options),
            _ => return,
        };
        self.components.push(ComponentDef { kind, file });
    }

    /// `inst` becomes what `getApp()` returns; what was kept on a stand-in
    /// app before (a `getApp()` that ran first) moves onto it.
    fn adopt_app(&mut self, inst: &ObjRef<'a>) {
        persist(inst);
        let Some(old) = self.app.replace(inst.clone()) else { return };
        let gd = old.borrow().get("globalData").cloned().unwrap_or_default();
        let mine = inst.borrow().get("globalData").cloned();
        match mine {
            Some(mine) => {
                for (o, m) in gd.objs().zip(mine.objs()) {
                    for (k, v) in o.borrow().fields.clone() {
                        m.borrow_mut().set(&k, v, true);
                    }
                }
            }
            None => inst.borrow_mut().set("globalData", gd, false),
        }
    }

    pub fn app(&mut self) -> ObjRef<'a> {
        if let Some(a) = &self.app {
            return a.clone();
        }
        let a = new_obj(vec![("globalData".into(), Val::obj(new_obj(vec![], true)))], true);
        self.app = Some(a.clone());
        a
    }

    fn instantiate(&mut self, c: &ComponentDef<'a>) -> Option<ObjRef<'a>> {
        let mut f = Frame { file: c.file, base: 0, this: Val::default(), branch: 0, ret: Val::default() };
        match &c.kind {
            // Adopted as the app when registered, so a page's `getApp()` at load already sees it.
            Kind::App(options) => Some(options.objs().next().cloned().unwrap_or_else(|| self.app())),
            Kind::Native(options) | Kind::Vue(options, _) => {
                let inst = new_obj(vec![], true);
                let vue = matches!(c.kind, Kind::Vue(..));
                if vue {
                    let store = self.vuex_store();
                    inst.borrow_mut().set("$store", Val::obj(store), false);
                }
                self.merge_options(&mut f, &inst, options, vue, 0);
                if let Kind::Vue(_, true) = c.kind {
                    self.adopt_app(&inst);
                }
                Some(inst)
            }
            Kind::Setup(scope) => {
                let fields = scope
                    .bindings()
                    .into_iter()
                    .filter(|(_, v)| is_function(v))
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                Some(new_obj(fields, true))
            }
            Kind::Class(cls) => {
                let loc = Loc { file: c.file, start: 0, end: 0 };
                let inst = self.instantiate_class(cls, &[Val::external()], loc, true).objs().next().cloned()?;
                // wepy 1 keeps its handlers in a `methods` field.
                let methods = inst.borrow().get("methods").and_then(|m| m.objs().next().cloned());
                for (k, v) in methods.map(|m| m.borrow().fields.clone()).unwrap_or_default() {
                    if is_function(&v) && inst.borrow().get(&k).is_none() {
                        inst.borrow_mut().set(&k, v, false);
                    }
                }
                Some(inst)
            }
            Kind::Function(_) => None,
        }
    }

    /// Copies a component's options onto its instance: behaviors and
    /// mixins first, `methods`, `lifetimes`, `pageLifetimes`, `data` (a
    /// function is called), `setup()`'s bindings.
    fn merge_options(&mut self, f: &mut Frame<'a>, inst: &ObjRef<'a>, options: &Val<'a>, vue: bool, depth: usize) {
        if depth > 4 {
            return;
        }
        let this = Val::obj(inst.clone());
        let loc = Loc { file: f.file, start: 0, end: 0 };
        for o in options.objs().cloned().collect::<Vec<_>>() {
            let fields = o.borrow().fields.clone();
            for key in ["behaviors", "mixins", "extends"] {
                if let Some((_, list)) = fields.iter().find(|(k, _)| k == key) {
                    let items = self.element(list, None);
                    self.merge_options(f, inst, &items, vue, depth + 1);
                }
            }
            for (k, v) in fields {
                match k.as_str() {
                    "behaviors" | "mixins" | "extends" => {}
                    "methods" | "lifetimes" | "pageLifetimes" | "computed" => {
                        for m in v.objs() {
                            for (mk, mv) in m.borrow().fields.clone() {
                                inst.borrow_mut().set(&mk, mv, false);
                            }
                        }
                    }
                    "data" | "setup" => {
                        let v = if is_function(&v) {
                            self.call_value(f, &v, &this, vec![Val::external()], loc, "")
                        } else {
                            v
                        };
                        let target = if vue || k == "setup" { inst.clone() } else { data_of(inst) };
                        for d in v.objs() {
                            for (dk, dv) in d.borrow().fields.clone() {
                                target.borrow_mut().set(&dk, dv, false);
                            }
                        }
                    }
                    _ => {
                        let v = if k == "globalData" { persisted(v) } else { v };
                        inst.borrow_mut().set(&k, v, false);
                    }
                }
            }
        }
    }

    /// A class as a value: an object with its static methods, marked with
    /// the class it is (`Obj::class`).
    pub fn class_value(&mut self, f: &Frame<'a>, scope: &Scope<'a>, c: &'a Class<'a>) -> Val<'a> {
        let idx = self.classes.len();
        self.classes.push((c, scope.clone(), f.file, f.base));
        let mut fields = vec![];
        for el in &c.body.body {
            if let ClassElement::MethodDefinition(m) = el
                && m.r#static
                && let Some(name) = m.key.static_name()
            {
                fields.push((name.into_owned(), self.closure(f, scope, Code::Function(&m.value))));
            }
        }
        let class = new_obj(fields, false);
        class.borrow_mut().class = Some(idx);
        Val::obj(class)
    }

    /// `new C(args)` of a class value: the parent's members, then this
    /// class's methods and fields (arrows closing over the instance),
    /// then the constructor.
    pub fn instantiate_class(&mut self, cls: &Val<'a>, args: &[Val<'a>], loc: Loc, persistent: bool) -> Val<'a> {
        let inst = new_obj(vec![], persistent);
        self.fill_class(cls, &inst, args, loc, 0);
        Val::obj(inst)
    }

    fn fill_class(&mut self, cls: &Val<'a>, inst: &ObjRef<'a>, args: &[Val<'a>], loc: Loc, depth: usize) {
        let Some(idx) = cls.objs().find_map(|o| o.borrow().class) else { return };
        let Some((c, scope, file, base)) = self.classes.get(idx).cloned() else { return };
        let mut f = Frame { file, base, this: Val::obj(inst.clone()), branch: 0, ret: Val::default() };
        if depth < 4
            && let Some(h) = c.heritage.as_ref().map(|h| &h.expression)
        {
            let parent = self.expr(&mut f, &scope, h);
            self.fill_class(&parent, inst, &[], loc, depth + 1);
        }
        let mut ctor = None;
        for el in &c.body.body {
            match el {
                ClassElement::MethodDefinition(m) if !m.r#static => {
                    let v = self.closure(&f, &scope, Code::Function(&m.value));
                    match m.key.static_name() {
                        Some(n) if n == "constructor" => ctor = Some(v),
                        Some(n) => inst.borrow_mut().set(&n, v, false),
                        None => {}
                    }
                }
                ClassElement::PropertyDefinition(p) if !p.r#static => {
                    if let (Some(n), Some(init)) = (p.key.static_name(), &p.value) {
                        let v = self.expr(&mut f, &scope, init);
                        inst.borrow_mut().set(&n, v, false);
                    }
                }
                _ => {}
            }
        }
        if depth == 0
            && let Some(ctor) = ctor
        {
            self.call_value(&mut f, &ctor, &Val::obj(inst.clone()), args.to_vec(), loc, "");
        }
    }

    // ---- stores --------------------------------------------------------

    pub fn vuex_store(&mut self) -> ObjRef<'a> {
        if let Some(s) = &self.vuex {
            return s.clone();
        }
        let s = new_obj(
            vec![
                ("dispatch".into(), Val::one(Atom::Builtin(value::Builtin::Dispatch(None)))),
                ("commit".into(), Val::one(Atom::Builtin(value::Builtin::Quiet))),
                ("state".into(), Val::obj(new_obj(vec![], true))),
            ],
            true,
        );
        self.vuex = Some(s.clone());
        s
    }

    /// Registers a Vuex store's actions, modules' under `module/` too.
    pub fn vuex(&mut self, options: &Val<'a>, prefix: &str) {
        for o in options.objs().cloned().collect::<Vec<_>>() {
            let fields = o.borrow().fields.clone();
            for (k, v) in fields {
                match k.as_str() {
                    "actions" => {
                        for a in v.objs() {
                            for (name, func) in a.borrow().fields.clone() {
                                self.actions.entry(format!("{prefix}{name}")).or_insert_with(|| func.clone());
                                self.actions.entry(name).or_insert(func);
                            }
                        }
                    }
                    "modules" => {
                        for m in v.objs() {
                            for (name, module) in m.borrow().fields.clone() {
                                self.vuex(&module, &format!("{prefix}{name}/"));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// A Pinia store, built on its first `useXStore()`.
    pub fn store_instance(
        &mut self,
        f: &mut Frame<'a>,
        cell: &Rc<std::cell::RefCell<Option<ObjRef<'a>>>>,
        options: &Val<'a>,
        loc: Loc,
    ) -> Val<'a> {
        if let Some(s) = cell.borrow().as_ref() {
            return Val::obj(s.clone());
        }
        let inst = new_obj(vec![], true);
        *cell.borrow_mut() = Some(inst.clone());
        let this = Val::obj(inst.clone());
        if is_function(options) {
            let r = self.call_value(f, options, &Val::default(), vec![], loc, "");
            for o in r.objs() {
                for (k, v) in o.borrow().fields.clone() {
                    inst.borrow_mut().set(&k, v, false);
                }
            }
        }
        for o in options.objs().cloned().collect::<Vec<_>>() {
            let fields = o.borrow().fields.clone();
            for (k, v) in fields {
                let v =
                    if k == "state" && is_function(&v) { self.call_value(f, &v, &this, vec![], loc, "") } else { v };
                if matches!(k.as_str(), "state" | "actions") {
                    for x in v.objs() {
                        for (xk, xv) in x.borrow().fields.clone() {
                            inst.borrow_mut().set(&xk, xv, false);
                        }
                    }
                }
            }
        }
        this
    }
}

fn is_function(v: &Val<'_>) -> bool {
    v.0.iter().any(|a| matches!(a, Atom::Func(_)))
}

/// A component class: a React/Taro class with a `render`, or a wepy 1
/// page, component or app (`class Index extends wepy.page`).
fn has_render(c: &Class<'_>) -> bool {
    let wepy = c.heritage.as_ref().is_some_and(|h| {
        matches!(&h.expression, oxc_ast::ast::Expression::StaticMemberExpression(m)
            if matches!(&m.object, oxc_ast::ast::Expression::Identifier(o) if o.name == "wepy")
                && matches!(m.property.name.as_str(), "page" | "component" | "app"))
    });
    wepy || c.heritage.is_some()
        && c.body.body.iter().any(
            |el| matches!(el, ClassElement::MethodDefinition(m) if m.key.static_name().is_some_and(|n| n == "render")),
        )
}

/// An instance's `data`, made when missing; state that outlives a handler.
pub(crate) fn data_of<'a>(inst: &ObjRef<'a>) -> ObjRef<'a> {
    let existing = inst.borrow().get("data").and_then(|d| d.objs().next().cloned());
    existing.unwrap_or_else(|| {
        let d = new_obj(vec![], true);
        inst.borrow_mut().set("data", Val::obj(d.clone()), false);
        d
    })
}

/// Marks an object and the objects of its fields as state that outlives a handler.
fn persist(o: &ObjRef<'_>) {
    o.borrow_mut().persistent = true;
    let fields: Vec<ObjRef<'_>> =
        o.borrow().fields.iter().flat_map(|(_, v)| v.objs().cloned().collect::<Vec<_>>()).collect();
    for f in fields {
        f.borrow_mut().persistent = true;
    }
}

fn persisted(v: Val<'_>) -> Val<'_> {
    v.objs().for_each(|o| o.borrow_mut().persistent = true);
    v
}

/// A path with `.` and `..` folded, without touching the file system.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            PathPart::CurDir => {}
            PathPart::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}
