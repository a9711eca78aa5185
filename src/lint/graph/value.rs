//! What the evaluator knows of a value: where it came from (sealed open
//! data, a login's code, a session_key the backend handed back), what it
//! is (an object, a function, a promise, a string, a WeChat API), or
//! nothing at all. A value is a small set of these: a join keeps both.

use super::super::source::OpenEvent;
use oxc_ast::ast::{ArrowFunctionExpression, Function};
use std::cell::RefCell;
use std::rc::Rc;

pub type FileId = usize;

/// A span of a source file (byte offsets in the whole file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

/// The logins whose answer had arrived when something happened
/// ("happened before"), as a sorted list of login ids.
pub type Hb = Rc<Vec<u32>>;

pub fn hb_with(hb: &Hb, id: u32) -> Hb {
    if hb.contains(&id) {
        return hb.clone();
    }
    let mut v = (**hb).clone();
    v.push(id);
    v.sort_unstable();
    Rc::new(v)
}

pub fn hb_union(a: &Hb, b: &Hb) -> Hb {
    if b.iter().all(|x| a.contains(x)) {
        return a.clone();
    }
    let mut v: Vec<u32> = a.iter().chain(b.iter()).copied().collect();
    v.sort_unstable();
    v.dedup();
    Rc::new(v)
}

/// Sealed data handed to the client: by a button's event or an API call.
#[derive(Debug)]
pub struct OpenData {
    pub loc: Loc,
    /// The API that sealed it: `getUserInfo`, `getPhoneNumber`, …
    pub api: &'static str,
    /// When it was obtained (the evaluator's clock).
    pub time: u32,
    /// The logins already answered when it was obtained.
    pub hb: Hb,
    /// The template attribute that binds the handler, for a button's event.
    pub button: Option<Loc>,
    /// Handed over by an event (`e.detail`), not returned by an API call.
    pub from_event: bool,
}

/// One `wx.login` call.
#[derive(Debug)]
pub struct Login {
    pub id: u32,
    pub loc: Loc,
    pub time: u32,
    /// The entry point (lifecycle, handler) whose run issued it.
    pub entry: u32,
    pub api: String,
}

/// Where a scalar came from.
#[derive(Debug, Clone)]
pub enum Tag {
    /// A field of sealed open data: `encryptedData`, `iv`, `rawData`,
    /// `signature`, `cloudID`, or the phone button's `code`.
    Open(Rc<OpenData>, &'static str),
    /// The code of a login.
    Code(Rc<Login>),
    /// A session_key read from what the backend (or any outside source) answered.
    SessionKey(Loc),
    /// What the backend answered a request that carried a login's code (a
    /// token, a session_key, an openid, any field of it): that login's key
    /// travels with it as it does with the code.
    Carrier(Rc<Login>),
}

impl Tag {
    pub fn is_sealed(&self) -> bool {
        matches!(self, Tag::Open(_, f) if *f == "encryptedData" || *f == "iv")
    }
}

pub type ObjRef<'a> = Rc<RefCell<Obj<'a>>>;

/// An event object handed to a handler: its `detail` (and mpvue's
/// `mp.detail`) is made when first read, sealed when the event is an
/// open-data one.
#[derive(Debug, Clone)]
pub struct EventInfo {
    pub event: Option<OpenEvent>,
    pub time: u32,
    pub hb: Hb,
    pub button: Option<Loc>,
}

#[derive(Debug, Default)]
pub struct Obj<'a> {
    /// Field names and values, in the order written.
    pub fields: Vec<(String, Val<'a>)>,
    /// A component instance, its data, globalData, a store: state that
    /// outlives one handler.
    pub persistent: bool,
    pub event: Option<EventInfo>,
    pub array: bool,
    /// A class value: its index among the evaluator's classes.
    pub class: Option<usize>,
}

impl<'a> Obj<'a> {
    pub fn get(&self, key: &str) -> Option<&Val<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn set(&mut self, key: &str, v: Val<'a>, weak: bool) {
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some((_, old)) if weak => old.join(&v),
            Some((_, old)) => *old = v,
            None => self.fields.push((key.to_string(), v)),
        }
    }
}

pub fn new_obj(fields: Vec<(String, Val<'_>)>, persistent: bool) -> ObjRef<'_> {
    Rc::new(RefCell::new(Obj { fields, persistent, ..Obj::default() }))
}

/// A function's code.
#[derive(Debug, Clone, Copy)]
pub enum Code<'a> {
    Function(&'a Function<'a>),
    Arrow(&'a ArrowFunctionExpression<'a>),
}

impl Code<'_> {
    pub fn addr(self) -> usize {
        match self {
            Code::Function(f) => std::ptr::from_ref(f) as usize,
            Code::Arrow(f) => std::ptr::from_ref(f) as usize,
        }
    }
}

/// A function value: its code, the scope it closes over, and for an
/// arrow the `this` it closes over.
#[derive(Debug)]
pub struct Closure<'a> {
    pub code: Code<'a>,
    pub scope: Scope<'a>,
    pub file: FileId,
    pub base: u32,
    pub this: Option<Val<'a>>,
}

#[derive(Debug, Default)]
pub struct PromiseState<'a> {
    pub value: Val<'a>,
    /// The logins answered by the time it resolved.
    pub hb: Hb,
}

pub type PromiseRef<'a> = Rc<RefCell<PromiseState<'a>>>;

/// Globals and framework functions the evaluator models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Builtin {
    GetApp,
    /// `Page`, `Component`, `App`, `Behavior`: registers its options.
    Register(&'static str),
    Require,
    Promise,
    PromiseAll,
    PromiseResolve,
    ObjectAssign,
    /// `defineComponent(o)`, `Vue.extend(o)`: `o`.
    Identity,
    /// `observable(o)`, `action('name', fn)`: the first object or function given.
    Wrap,
    /// `useEffect(f)`, `onLoad(f)`, `useDidShow(f)`: calls `f` now.
    CallNow,
    DefineStore,
    /// `new Vuex.Store(o)`, `createStore(o)`.
    VuexStore,
    MapActions,
    /// `this.$store.dispatch(name, payload)`, `mapActions`' methods.
    Dispatch(Option<String>),
    /// Calls that neither send nor carry what they are given.
    Quiet,
}

#[derive(Debug, Clone)]
pub enum Atom<'a> {
    Str(Rc<str>),
    Tag(Tag),
    Obj(ObjRef<'a>),
    Func(Rc<Closure<'a>>),
    /// A WeChat-style API or namespace: `wx`, `wx.login`, `Taro.request`.
    Api(Rc<str>),
    Promise(PromiseRef<'a>),
    Resolve(PromiseRef<'a>),
    Builtin(Builtin),
    /// Made by a store factory (`defineStore`): the store, built on first use.
    StoreFactory(Rc<RefCell<Option<ObjRef<'a>>>>, Rc<Val<'a>>),
    /// From outside the program: an answer, an unknown call's result.
    External,
}

/// The atoms a value may be, at most `MAX_ATOMS`.
#[derive(Debug, Clone, Default)]
pub struct Val<'a>(pub Vec<Atom<'a>>);

const MAX_ATOMS: usize = 24;

impl<'a> Val<'a> {
    pub fn one(a: Atom<'a>) -> Val<'a> {
        Val(vec![a])
    }

    pub fn str(s: &str) -> Val<'a> {
        Val::one(Atom::Str(Rc::from(s)))
    }

    pub fn obj(o: ObjRef<'a>) -> Val<'a> {
        Val::one(Atom::Obj(o))
    }

    pub fn external() -> Val<'a> {
        Val::one(Atom::External)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn join(&mut self, other: &Val<'a>) {
        for a in &other.0 {
            if self.0.len() >= MAX_ATOMS {
                break;
            }
            if !self.0.iter().any(|b| same(a, b)) {
                self.0.push(a.clone());
            }
        }
    }

    pub fn joined(mut self, other: &Val<'a>) -> Val<'a> {
        self.join(other);
        self
    }

    pub fn objs(&self) -> impl Iterator<Item = &ObjRef<'a>> {
        self.0.iter().filter_map(|a| if let Atom::Obj(o) = a { Some(o) } else { None })
    }

    pub fn strs(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|a| if let Atom::Str(s) = a { Some(&**s) } else { None })
    }

    pub fn first_str(&self) -> Option<String> {
        self.strs().next().map(str::to_string)
    }

    pub fn has_external(&self) -> bool {
        self.0.iter().any(|a| matches!(a, Atom::External))
    }

    /// Every tag in the value and, up to `depth` levels, in its objects'
    /// fields, each with the path of field names that leads to it.
    pub fn tags(&self, depth: usize) -> Vec<(Vec<String>, Tag)> {
        let mut out = vec![];
        let mut seen = vec![];
        collect(self, depth, &mut vec![], &mut out, &mut seen);
        out
    }
}

fn collect(
    v: &Val<'_>,
    depth: usize,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Tag)>,
    seen: &mut Vec<usize>,
) {
    for a in &v.0 {
        match a {
            Atom::Tag(t) => out.push((path.clone(), t.clone())),
            Atom::Obj(o) if depth > 0 => {
                let addr = Rc::as_ptr(o) as usize;
                if seen.contains(&addr) {
                    continue;
                }
                seen.push(addr);
                let Ok(obj) = o.try_borrow() else { continue };
                for (k, fv) in &obj.fields {
                    path.push(k.clone());
                    collect(fv, depth - 1, path, out, seen);
                    path.pop();
                }
                seen.pop();
            }
            Atom::Promise(p) if depth > 0 => {
                if let Ok(p) = p.try_borrow() {
                    collect(&p.value, depth - 1, path, out, seen);
                }
            }
            _ => {}
        }
    }
}

fn same<'a>(a: &Atom<'a>, b: &Atom<'a>) -> bool {
    match (a, b) {
        (Atom::Str(x), Atom::Str(y)) | (Atom::Api(x), Atom::Api(y)) => x == y,
        (Atom::Obj(x), Atom::Obj(y)) => Rc::ptr_eq(x, y),
        (Atom::Func(x), Atom::Func(y)) => Rc::ptr_eq(x, y),
        (Atom::Promise(x), Atom::Promise(y)) | (Atom::Resolve(x), Atom::Resolve(y)) => Rc::ptr_eq(x, y),
        (Atom::Builtin(x), Atom::Builtin(y)) => x == y,
        (Atom::External, Atom::External) => true,
        (Atom::Tag(Tag::Code(x)), Atom::Tag(Tag::Code(y)))
        | (Atom::Tag(Tag::Carrier(x)), Atom::Tag(Tag::Carrier(y))) => x.id == y.id,
        (Atom::Tag(Tag::Open(x, f)), Atom::Tag(Tag::Open(y, g))) => Rc::ptr_eq(x, y) && f == g,
        (Atom::Tag(Tag::SessionKey(x)), Atom::Tag(Tag::SessionKey(y))) => x == y,
        _ => false,
    }
}

/// The bindings a function sees: its own, then its parents'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Function,
    Block,
}

#[derive(Debug)]
pub struct ScopeData<'a> {
    vars: RefCell<Vec<(&'a str, Val<'a>)>>,
    parent: Option<Scope<'a>>,
    pub kind: ScopeKind,
}

pub type Scope<'a> = Rc<ScopeData<'a>>;

pub fn new_scope<'a>(parent: Option<&Scope<'a>>, kind: ScopeKind) -> Scope<'a> {
    Rc::new(ScopeData { vars: RefCell::new(vec![]), parent: parent.cloned(), kind })
}

impl<'a> ScopeData<'a> {
    pub fn declare(&self, name: &'a str, v: Val<'a>) {
        let mut vars = self.vars.borrow_mut();
        match vars.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = v,
            None => vars.push((name, v)),
        }
    }

    pub fn lookup(&self, name: &str) -> Option<Val<'a>> {
        if let Some((_, v)) = self.vars.borrow().iter().find(|(n, _)| *n == name) {
            return Some(v.clone());
        }
        self.parent.as_ref().and_then(|p| p.lookup(name))
    }

    /// Assigns an existing binding; `Some(kind)` of the scope that held it.
    pub(super) fn assign(&self, name: &str, v: &Val<'a>, weak: bool) -> Option<ScopeKind> {
        if let Some((_, old)) = self.vars.borrow_mut().iter_mut().find(|(n, _)| *n == name) {
            if weak {
                old.join(v);
            } else {
                *old = v.clone();
            }
            return Some(self.kind);
        }
        self.parent.as_ref().and_then(|p| p.assign(name, v, weak))
    }

    /// The function (or module) scope `var` declares into.
    pub(super) fn var_scope(self: &Rc<Self>) -> Scope<'a> {
        let mut s = self.clone();
        while s.kind == ScopeKind::Block {
            match &s.parent {
                Some(p) => s = p.clone(),
                None => break,
            }
        }
        s
    }

    /// Every binding of this scope alone.
    pub fn bindings(&self) -> Vec<(&'a str, Val<'a>)> {
        self.vars.borrow().clone()
    }
}
