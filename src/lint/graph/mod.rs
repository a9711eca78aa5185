//! What the rules ask, answered by running the Mini Program abstractly:
//! every module is evaluated once (imports followed through `require`,
//! `import`, `module.exports`, `export default`), every component found
//! (`Page`, `Component`, `App`, Vue options and `<script setup>`, Taro
//! classes and function components), and every lifecycle and handler run
//! as an entry point, in the order a user meets them. What comes out is a
//! [`Model`]: the requests sent with what they carry, the logins and what
//! was in flight beside them, and what was kept where it outlives a handler.

mod api;
mod components;
pub mod eval;
mod globals;
mod modules;
mod stores;
pub mod value;

use super::source::{Binding, SourceFile, normalize};
use eval::{Frame, Scope, ScopeKind, new_scope};
use oxc_ast::ast::{
    ArrowFunctionBody, BindingPattern, Class, ClassElement, Declaration, ExportDefaultDeclarationKind,
    ImportDeclaration, ImportDeclarationSpecifier, Program, Statement,
};
use oxc_span::GetSpan;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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
