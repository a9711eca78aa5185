//! Calls and fields: the WeChat-style APIs (`wx.*`, `uni.*`, `Taro.*`),
//! promises, the framework globals (`getApp`, `Page`, Vuex, Pinia), and
//! what an unknown call does with what it is given.

use super::eval::{Frame, tags_only};
use super::globals::NAMESPACES;
use super::value::{
    Atom, Builtin, EventInfo, Loc, Login, OpenData, PromiseState, Tag, Val, hb_union, hb_with, new_obj,
};
use super::{Interp, LoginCall, Send, Store};
use crate::lint::source::OpenEvent;
use std::cell::RefCell;
use std::rc::Rc;

/// APIs that hand out sealed open data.
const OPEN_DATA_APIS: &[&str] = &["getUserInfo", "getUserProfile", "getShareInfo", "getWeRunData"];

/// Names of calls that never send what they are given to a backend, so
/// an unknown call by one of these names is not taken for a request.
const NOT_SENDS: &[&str] = &[
    "log",
    "info",
    "warn",
    "error",
    "debug",
    "table",
    "stringify",
    "parse",
    "assign",
    "keys",
    "values",
    "entries",
    "push",
    "unshift",
    "concat",
    "join",
    "map",
    "forEach",
    "filter",
    "reduce",
    "find",
    "some",
    "every",
    "then",
    "catch",
    "finally",
    "resolve",
    "reject",
    "defineProperty",
    "defineProperties",
    "freeze",
    "create",
    "$set",
    "$watch",
    "watch",
    "observe",
    "ref",
    "computed",
    "nextTick",
    "$nextTick",
    "setTimeout",
    "setInterval",
    "encodeURIComponent",
    "decodeURIComponent",
    "encode",
    "decode",
    "showToast",
    "showModal",
    "showLoading",
    "hideLoading",
    "setData",
    "commit",
    "$emit",
    "emit",
    "set",
    "get",
    "setState",
    "navigateTo",
    "redirectTo",
    "switchTab",
    "reLaunch",
    "trim",
    "toString",
    "slice",
    "substring",
    "replace",
    "split",
    "indexOf",
    "includes",
    "startsWith",
    "endsWith",
    "String",
    "Number",
    "Boolean",
];

impl<'a> Interp<'a> {
    /// `v.key`, read at `loc`.
    pub fn get(&mut self, v: &Val<'a>, key: &str, loc: Loc) -> Val<'a> {
        let mut out = Val::default();
        for a in &v.0 {
            match a {
                Atom::Obj(o) => {
                    self.materialize(o, loc);
                    let obj = o.borrow();
                    if obj.array && (key == "{?}" || key.parse::<usize>().is_ok()) {
                        drop(obj);
                        out.join(&self.element(&Val::obj(o.clone()), key.parse().ok()));
                    } else if let Some(x) = obj.get(key) {
                        out.join(x);
                    } else if key == "{?}" {
                        obj.fields.iter().for_each(|(_, x)| out.join(x));
                    }
                }
                Atom::External => out.join(&if is_session_key(key) {
                    Val::one(Atom::Tag(Tag::SessionKey(loc)))
                } else {
                    Val::external()
                }),
                // Any field of a login's answer carries that login.
                Atom::Tag(Tag::Carrier(_)) => out.join(&Val::one(a.clone())),
                // wepy 2's `wepy.page(options)` and kin register as `Page` does.
                Atom::Api(p) if &**p == "wepy" && matches!(key, "page" | "component" | "app") => {
                    let kind = if key == "app" {
                        "App"
                    } else if key == "page" {
                        "Page"
                    } else {
                        "Component"
                    };
                    out.join(&Val::one(Atom::Builtin(Builtin::Register(kind))));
                }
                Atom::Api(p)
                    if NAMESPACES.contains(&p.split('.').next().unwrap_or("")) && p.matches('.').count() < 2 =>
                {
                    out.join(&Val::one(Atom::Api(Rc::from(format!("{p}.{key}").as_str()))));
                }
                Atom::Builtin(Builtin::Promise) => out.join(&Val::one(Atom::Builtin(match key {
                    "all" | "race" | "any" | "allSettled" => Builtin::PromiseAll,
                    "resolve" => Builtin::PromiseResolve,
                    _ => Builtin::Quiet,
                }))),
                Atom::Builtin(Builtin::Quiet) => out.join(&Val::one(Atom::Builtin(Builtin::Quiet))),
                _ => {}
            }
        }
        out
    }

    /// An event object's `detail` (and mpvue's `mp.detail`), made when
    /// first read, so every read of one event sees one sealed value
    /// located where the handler first reads it.
    pub fn materialize(&mut self, o: &super::value::ObjRef<'a>, loc: Loc) {
        let info = {
            let b = o.borrow();
            match &b.event {
                Some(info) if b.get("detail").is_none() => info.clone(),
                _ => return,
            }
        };
        let api = info.event.map_or("getUserInfo", OpenEvent::api);
        let data =
            Rc::new(OpenData { loc, api, time: info.time, hb: info.hb.clone(), button: info.button, from_event: true });
        let detail = open_data_value(&data, info.event == Some(OpenEvent::PhoneNumber) || info.event.is_none());
        // mpvue's `e.mp.detail`, wepy 2's `e.$wx.detail`.
        let native = Val::obj(new_obj(vec![("detail".into(), detail.clone())], false));
        let mut b = o.borrow_mut();
        b.set("detail", detail, false);
        b.set("mp", native.clone(), false);
        b.set("$wx", native, false);
    }

    /// An event for a handler: open-data when `event` says so (bound by a
    /// template or JSX), else one whose `detail` is sealed only if read as such.
    pub fn event(&mut self, event: Option<OpenEvent>, button: Option<Loc>, handler: &str) -> Val<'a> {
        let event = event.or_else(|| handler.to_ascii_lowercase().contains("phone").then_some(OpenEvent::PhoneNumber));
        let o = new_obj(vec![], false);
        o.borrow_mut().event = Some(EventInfo { event, time: self.tick_clock(), hb: self.path.hb.clone(), button });
        Val::obj(o)
    }

    /// `v.key = x`: on every object `v` may be; state that outlives a
    /// handler is recorded as a store.
    pub fn set(&mut self, v: &Val<'a>, key: &str, x: Val<'a>, weak: bool, loc: Loc, what: &str) {
        let mut persistent = false;
        for o in v.objs() {
            let mut b = o.borrow_mut();
            persistent |= b.persistent;
            b.set(key, x.clone(), weak);
        }
        if persistent {
            self.store(loc, &x, format!("`{what}`"));
        }
    }

    /// Records that `v` was kept where it outlives the handler.
    pub fn store(&mut self, loc: Loc, v: &Val<'a>, what: String) {
        let tags: Vec<Tag> = v.tags(4).into_iter().map(|(_, t)| t).collect();
        if tags.is_empty() {
            return;
        }
        for t in &tags {
            if let Tag::Code(l) = t {
                self.model.kept.entry(l.id).or_insert((loc, what.clone()));
            }
        }
        self.model.stores.push(Store { loc, tags, what });
    }

    /// `this.name(args)`.
    pub fn method_call(
        &mut self,
        f: &mut Frame<'a>,
        this: &Val<'a>,
        name: &str,
        args: Vec<Val<'a>>,
        loc: Loc,
    ) -> Val<'a> {
        let mut out = Val::default();
        let promised = this.0.iter().any(|a| matches!(a, Atom::Promise(_) | Atom::External));
        if promised && matches!(name, "then" | "catch" | "finally") {
            out.join(&self.promise_method(f, this, name, &args, loc));
        }
        match name {
            "setData" if this.objs().any(|o| o.borrow().persistent) => {
                self.set_data(this, args.first().cloned().unwrap_or_default(), loc);
                if let Some(cb) = args.get(1) {
                    self.call_value(f, cb, this, vec![], loc, "");
                }
                return Val::default();
            }
            // An array grows: what is pushed is among its elements (a
            // list of listeners, of pending callbacks).
            "push" | "unshift" if this.objs().any(|o| o.borrow().array) => {
                let arrays: Vec<_> = this.objs().filter(|o| o.borrow().array).cloned().collect();
                for o in arrays {
                    for a in &args {
                        let key = o.borrow().fields.len().to_string();
                        self.set(&Val::obj(o.clone()), &key, a.clone(), false, loc, name);
                    }
                }
                return Val::default();
            }
            "call" | "apply" | "bind" if this.0.iter().any(|a| matches!(a, Atom::Func(_))) => {
                let self_arg = args.first().cloned().unwrap_or_default();
                return match name {
                    "bind" => this.clone(),
                    "call" => self.call_value(f, this, &self_arg, args.into_iter().skip(1).collect(), loc, ""),
                    _ => {
                        let rest = args.get(1).map(|a| vec![self.element(a, None)]).unwrap_or_default();
                        self.call_value(f, this, &self_arg, rest, loc, "")
                    }
                };
            }
            _ => {}
        }
        let callee = self.get(this, name, loc);
        let callee = Val(callee.0.into_iter().filter(|a| !(promised && matches!(a, Atom::External))).collect());
        if callee.is_empty() && !out.is_empty() {
            return out;
        }
        out.join(&self.call_value(f, &callee, this, args, loc, name));
        out
    }

    fn set_data(&mut self, this: &Val<'a>, changes: Val<'a>, loc: Loc) {
        for inst in this.objs() {
            let data = super::data_of(inst);
            for c in changes.objs() {
                let fields = c.borrow().fields.clone();
                for (k, v) in fields {
                    let top = k.split(['.', '[']).next().unwrap_or(&k).to_string();
                    data.borrow_mut().set(&top, v.clone(), false);
                    self.store(loc, &v, format!("the page data `{top}` (setData)"));
                }
            }
        }
    }

    /// Calls every function `fv` may be.
    pub fn call_value(
        &mut self,
        f: &mut Frame<'a>,
        fv: &Val<'a>,
        this: &Val<'a>,
        args: Vec<Val<'a>>,
        loc: Loc,
        name: &str,
    ) -> Val<'a> {
        let mut out = Val::default();
        let mut known = false;
        for a in &fv.0 {
            match a {
                Atom::Func(c) => {
                    known = true;
                    let c = c.clone();
                    out.join(&self.call_closure(&c, this, &args, loc));
                }
                Atom::Api(path) => {
                    known = true;
                    let path = path.clone();
                    out.join(&self.api_call(f, &path, &args, loc));
                }
                Atom::Builtin(b) => {
                    known = true;
                    let b = b.clone();
                    out.join(&self.builtin(f, &b, this, &args, loc));
                }
                Atom::Resolve(p) => {
                    known = true;
                    let v = args.first().map(|v| self.await_val(v)).unwrap_or_default();
                    let mut p = p.borrow_mut();
                    p.value.join(&v);
                    p.hb = hb_union(&p.hb, &self.path.hb);
                }
                Atom::StoreFactory(cell, options) => {
                    known = true;
                    let (cell, options) = (cell.clone(), options.clone());
                    out.join(&self.store_instance(f, &cell, &options, loc));
                }
                _ => {}
            }
        }
        if !known {
            out = self.unknown_call(f, name, this, &args, loc);
        }
        out
    }

    /// A call this evaluator cannot see into: what it is given may come
    /// back (a string built from it), its callbacks run with outside
    /// values, and if it is handed sealed data and a login code together,
    /// it is taken for the request that sends them (an npm HTTP client).
    fn unknown_call(&mut self, f: &mut Frame<'a>, name: &str, this: &Val<'a>, args: &[Val<'a>], loc: Loc) -> Val<'a> {
        let all = Val(args.iter().flat_map(|a| a.0.clone()).collect());
        let tags = all.tags(5);
        if !NOT_SENDS.contains(&name)
            && tags.iter().any(|(_, t)| t.is_sealed())
            && tags.iter().any(|(_, t)| matches!(t, Tag::Code(_) | Tag::Carrier(_)))
        {
            let url = args.first().and_then(Val::first_str).or_else(|| self.get(&all, "url", loc).first_str());
            self.send(loc, tags.clone(), url, None, false);
        }
        let answer = answer_to(&tags);
        let item = self.element(this, None);
        for a in args {
            for atom in &a.0 {
                match atom {
                    Atom::Func(_) => {
                        // An array's callback (`forEach`, `map`) gets its elements.
                        let array = this.objs().any(|o| o.borrow().array);
                        let arg = if array || item.objs().next().is_some() { item.clone() } else { answer.clone() };
                        self.call_value(f, &Val::one(atom.clone()), &Val::default(), vec![arg], loc, "");
                    }
                    Atom::Obj(o) => {
                        for cb in ["success", "complete"] {
                            let fv = o.borrow().get(cb).cloned();
                            if let Some(fv) = fv.filter(|v| v.0.iter().any(|a| matches!(a, Atom::Func(_)))) {
                                self.call_value(f, &fv, &Val::default(), vec![answer.clone()], loc, "");
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        answer.joined(&tags_only(&all)).joined(&tags_only(this))
    }

    pub fn send(
        &mut self,
        loc: Loc,
        tags: Vec<(Vec<String>, Tag)>,
        url: Option<String>,
        method: Option<String>,
        client: bool,
    ) {
        let chain = self.calls.clone();
        let run_started = self.run_started;
        self.model.sends.push(Send { loc, chain, entry: self.entry, run_started, tags, url, method, client });
    }

    /// A platform API call: `wx.login`, `uni.request`, `Taro.getUserProfile`, …
    fn api_call(&mut self, f: &mut Frame<'a>, path: &str, args: &[Val<'a>], loc: Loc) -> Val<'a> {
        let method = path.rsplit('.').next().unwrap_or(path);
        let opts = args.first().cloned().unwrap_or_default();
        match method {
            "login" if path.matches('.').count() == 1 => {
                let login = Rc::new(Login {
                    id: self.next_id(),
                    loc,
                    time: self.tick_clock(),
                    entry: self.entry,
                    api: path.to_string(),
                });
                let pending = self.path.issued.iter().filter(|l| !self.path.hb.contains(&l.id)).cloned().collect();
                self.model.logins.push(LoginCall { login: login.clone(), pending, entry_kind: self.entry_kind });
                self.path.issued.push(login.clone());
                let result = Val::obj(new_obj(
                    vec![
                        ("code".into(), Val::one(Atom::Tag(Tag::Code(login.clone())))),
                        ("errMsg".into(), Val::str("login:ok")),
                    ],
                    false,
                ));
                let hb = hb_with(&self.path.hb, login.id);
                self.callbacks(f, &opts, &result, &hb, loc);
                self.promise(result, hb)
            }
            m if OPEN_DATA_APIS.contains(&m) => {
                let api = OPEN_DATA_APIS.iter().find(|a| **a == m).copied().unwrap_or("getUserInfo");
                // Reached through a wrapper in another file: the data is obtained
                // where the component calls that wrapper.
                let home = self.calls.first().map(|c| c.file);
                let at = match home {
                    Some(h) if h != loc.file => {
                        self.calls.iter().rev().find(|c| c.file == h && c.end > 0).copied().unwrap_or(loc)
                    }
                    _ => loc,
                };
                let data = Rc::new(OpenData {
                    loc: at,
                    api,
                    time: self.tick_clock(),
                    hb: self.path.hb.clone(),
                    button: None,
                    from_event: false,
                });
                let result = open_data_value(&data, false);
                let hb = self.path.hb.clone();
                self.callbacks(f, &opts, &result, &hb, loc);
                self.promise(result, hb)
            }
            "request" | "uploadFile" | "callFunction" => {
                let tags = opts.tags(6);
                let url = self.get(&opts, if method == "callFunction" { "name" } else { "url" }, loc).first_str();
                let http_method = self.get(&opts, "method", loc).first_str();
                let answer = answer_to(&tags);
                self.send(loc, tags, url, http_method, true);
                let hb = self.path.hb.clone();
                self.callbacks(f, &opts, &answer, &hb, loc);
                self.promise(answer, hb)
            }
            "setStorageSync" | "setStorage" => {
                let (key, data) = if method == "setStorage" {
                    (self.get(&opts, "key", loc), self.get(&opts, "data", loc))
                } else {
                    (opts.clone(), args.get(1).cloned().unwrap_or_default())
                };
                let key = key.first_str().unwrap_or_else(|| "{?}".into());
                let data = if is_session_key(&key) && data.has_external() {
                    data.joined(&Val::one(Atom::Tag(Tag::SessionKey(loc))))
                } else {
                    data
                };
                self.storage.borrow_mut().set(&key, data.clone(), false);
                self.store(loc, &data, format!("storage (`{path}('{key}')`)"));
                let hb = self.path.hb.clone();
                self.callbacks(f, &opts, &Val::default(), &hb, loc);
                Val::default()
            }
            "getStorageSync" | "getStorage" => {
                let key = if method == "getStorage" { self.get(&opts, "key", loc) } else { opts.clone() };
                let key = key.first_str().unwrap_or_else(|| "{?}".into());
                let v = self.get(&Val::obj(self.storage.clone()), &key, loc);
                let result = Val::obj(new_obj(vec![("data".into(), v.clone())], false));
                let hb = self.path.hb.clone();
                self.callbacks(f, &opts, &result, &hb, loc);
                if method == "getStorage" { self.promise(result, hb) } else { v }
            }
            "checkSession" => {
                // `fail` is no error here but the expired session: the path that logs in again.
                let hb = self.path.hb.clone();
                self.callbacks(f, &opts, &Val::external(), &hb, loc);
                for o in opts.objs().cloned().collect::<Vec<_>>() {
                    let cb = o.borrow().get("fail").cloned();
                    if let Some(cb) = cb {
                        self.call_value(f, &cb, &Val::default(), vec![Val::external()], loc, "");
                    }
                }
                self.promise(Val::external(), hb)
            }
            // A project's own helper hung on the namespace (`uni.$http.post`, `uni.$u.api.login`).
            _ if path.matches('.').count() >= 2 && !path.contains(".cloud.") => {
                self.unknown_call(f, method, &Val::default(), args, loc)
            }
            _ => {
                // Any other API: its callbacks run with an answer from outside.
                let hb = self.path.hb.clone();
                self.callbacks(f, &opts, &Val::external(), &hb, loc);
                self.promise(Val::external(), hb)
            }
        }
    }

    /// Runs the `success` and `complete` callbacks of an options object
    /// with `result`, inside `hb`.
    fn callbacks(&mut self, f: &mut Frame<'a>, opts: &Val<'a>, result: &Val<'a>, hb: &super::value::Hb, loc: Loc) {
        for o in opts.objs().cloned().collect::<Vec<_>>() {
            for name in ["success", "complete"] {
                let cb = o.borrow().get(name).cloned();
                if let Some(cb) = cb {
                    let saved = std::mem::replace(&mut self.path.hb, hb.clone());
                    self.call_value(f, &cb, &Val::default(), vec![result.clone()], loc, "");
                    self.path.hb = saved;
                }
            }
        }
    }

    pub fn promise(&self, value: Val<'a>, hb: super::value::Hb) -> Val<'a> {
        Val::one(Atom::Promise(Rc::new(RefCell::new(PromiseState { value, hb }))))
    }

    /// A promise already resolved with `v`, as `import()` gives.
    pub fn resolved(&self, v: Val<'a>) -> Val<'a> {
        self.promise(v, self.path.hb.clone())
    }

    /// `await v`: a promise's value, and what its resolution knew.
    pub fn await_val(&mut self, v: &Val<'a>) -> Val<'a> {
        let mut out = Val::default();
        for a in &v.0 {
            match a {
                Atom::Promise(p) => {
                    let p = p.borrow();
                    out.join(&p.value);
                    self.path.hb = hb_union(&self.path.hb, &p.hb);
                }
                other => out.join(&Val::one(other.clone())),
            }
        }
        out
    }

    fn promise_method(&mut self, f: &mut Frame<'a>, v: &Val<'a>, name: &str, args: &[Val<'a>], loc: Loc) -> Val<'a> {
        let mut out = Val::default();
        for a in &v.0 {
            let (value, hb) = match a {
                Atom::Promise(p) => {
                    let p = p.borrow();
                    (p.value.clone(), p.hb.clone())
                }
                Atom::External => (Val::external(), self.path.hb.clone()),
                _ => continue,
            };
            match name {
                "then" => {
                    let Some(cb) = args.first() else { continue };
                    let inside = hb_union(&self.path.hb, &hb);
                    let saved = std::mem::replace(&mut self.path.hb, inside);
                    let ret = self.call_value(f, cb, &Val::default(), vec![value], loc, "");
                    let ret = self.await_val(&ret);
                    let after = std::mem::replace(&mut self.path.hb, saved);
                    out.join(&self.promise(ret, after));
                }
                "finally" => {
                    if let Some(cb) = args.first() {
                        self.call_value(f, cb, &Val::default(), vec![], loc, "");
                    }
                    out.join(&Val::one(a.clone()));
                }
                // A rejection path is not followed: retries there are a second login of their own.
                _ => out.join(&Val::one(a.clone())),
            }
        }
        out
    }

    fn builtin(&mut self, f: &mut Frame<'a>, b: &Builtin, this: &Val<'a>, args: &[Val<'a>], loc: Loc) -> Val<'a> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
        match b {
            Builtin::GetApp => Val::obj(self.app()),
            Builtin::Register(kind) => {
                self.register(kind, arg(0), f.file, loc);
                arg(0)
            }
            Builtin::Require => {
                let spec = arg(0).first_str().unwrap_or_default();
                self.import(f.file, &spec)
            }
            Builtin::Promise => Val::external(),
            Builtin::PromiseAll => {
                let mut hb = self.path.hb.clone();
                let mut fields = vec![];
                let items = arg(0);
                for o in items.objs() {
                    for (k, v) in o.borrow().fields.clone() {
                        let saved = self.path.hb.clone();
                        let x = self.await_val(&v);
                        hb = hb_union(&hb, &self.path.hb);
                        self.path.hb = saved;
                        fields.push((k, x));
                    }
                }
                let o = new_obj(fields, false);
                o.borrow_mut().array = true;
                self.promise(Val::obj(o), hb)
            }
            Builtin::PromiseResolve => {
                let v = self.await_val(&arg(0));
                self.resolved(v)
            }
            Builtin::ObjectAssign => {
                let target = arg(0);
                for src in args.iter().skip(1) {
                    for s in src.objs() {
                        self.materialize(s, loc);
                        for (k, v) in s.borrow().fields.clone() {
                            self.set(&target, &k, v, f.branch > 0, loc, "Object.assign");
                        }
                    }
                }
                target
            }
            Builtin::Identity => arg(0),
            Builtin::Wrap => args
                .iter()
                .find(|a| a.0.iter().any(|x| matches!(x, Atom::Obj(_) | Atom::Func(_))))
                .cloned()
                .unwrap_or_default(),
            Builtin::CallNow => {
                let fv = arg(0);
                self.call_value(f, &fv, &Val::default(), vec![], loc, "")
            }
            Builtin::DefineStore => {
                let options = args.iter().rev().find(|a| !a.is_empty()).cloned().unwrap_or_default();
                Val::one(Atom::StoreFactory(Rc::new(RefCell::new(None)), Rc::new(options)))
            }
            Builtin::VuexStore => {
                self.vuex(&arg(0), "");
                Val::obj(self.vuex_store())
            }
            Builtin::MapActions => {
                // `mapActions(['login'])`, `mapActions({ doLogin: 'user/login' })`, `mapActions('user', [...])`.
                let (prefix, names) = match arg(0).first_str() {
                    Some(ns) => (format!("{ns}/"), arg(1)),
                    None => (String::new(), arg(0)),
                };
                let mut fields = vec![];
                for o in names.objs() {
                    for (k, v) in o.borrow().fields.clone() {
                        let name = v.first_str().unwrap_or(k.clone());
                        let key =
                            if o.borrow().array { name.rsplit('/').next().unwrap_or(&name).to_string() } else { k };
                        fields.push((key, Val::one(Atom::Builtin(Builtin::Dispatch(Some(format!("{prefix}{name}")))))));
                    }
                }
                Val::obj(new_obj(fields, false))
            }
            Builtin::Dispatch(name) => {
                let (name, payload) = match name {
                    Some(n) => (Some(n.clone()), arg(0)),
                    None => (arg(0).first_str(), arg(1)),
                };
                let action = name.as_deref().and_then(|n| {
                    self.actions.get(n).or_else(|| self.actions.get(n.rsplit('/').next().unwrap_or(n))).cloned()
                });
                match action {
                    Some(a) => {
                        let ctx = Val::obj(self.vuex_store());
                        let r = self.call_value(f, &a, &ctx, vec![ctx.clone(), payload], loc, "");
                        if r.0.iter().any(|x| matches!(x, Atom::Promise(_))) { r } else { self.resolved(r) }
                    }
                    None => self.unknown_call(f, "dispatch", this, args, loc),
                }
            }
            Builtin::Quiet => Val::default(),
        }
    }

    /// `new C(args)`.
    pub fn construct(&mut self, f: &mut Frame<'a>, callee: &Val<'a>, args: Vec<Val<'a>>, loc: Loc) -> Val<'a> {
        let mut out = Val::default();
        for a in &callee.0 {
            match a {
                Atom::Builtin(Builtin::Promise) => {
                    let p = Rc::new(RefCell::new(PromiseState { value: Val::default(), hb: self.path.hb.clone() }));
                    let resolve = Val::one(Atom::Resolve(p.clone()));
                    let reject = Val::one(Atom::Builtin(Builtin::Quiet));
                    if let Some(exec) = args.first() {
                        self.call_value(f, exec, &Val::default(), vec![resolve, reject], loc, "");
                    }
                    out.join(&Val::one(Atom::Promise(p)));
                }
                Atom::Func(c) => {
                    let inst = Val::obj(new_obj(vec![], false));
                    let c = c.clone();
                    self.call_closure(&c, &inst, &args, loc);
                    out.join(&inst);
                }
                Atom::Obj(o) if o.borrow().class.is_some() => {
                    let cls = Val::obj(o.clone());
                    out.join(&self.instantiate_class(&cls, &args, loc, false));
                }
                other => {
                    out.join(&self.call_value(f, &Val::one(other.clone()), &Val::default(), args.clone(), loc, ""));
                }
            }
        }
        out
    }
}

/// The object an open-data API or event hands over: its sealed fields
/// tagged with their name.
fn open_data_value<'a>(data: &Rc<OpenData>, phone_code: bool) -> Val<'a> {
    let tag = |f: &'static str| Val::one(Atom::Tag(Tag::Open(data.clone(), f)));
    let mut fields: Vec<(String, Val<'a>)> =
        ["encryptedData", "iv", "rawData", "signature", "cloudID"].iter().map(|f| ((*f).to_string(), tag(f))).collect();
    if phone_code {
        fields.push(("code".into(), tag("code")));
    }
    fields.push(("userInfo".into(), Val::obj(new_obj(vec![], false))));
    fields.push(("errMsg".into(), Val::str("ok")));
    Val::obj(new_obj(fields, false))
}

/// `session_key`, `sessionKey`, `session-key`, any case.
pub fn is_session_key(key: &str) -> bool {
    let k: String = key.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_ascii_lowercase();
    k == "sessionkey"
}

/// What a request's answer is to this evaluator: something from outside,
/// and, when the request carried login codes, the carrier of each of those
/// logins (the token or session_key the backend answers for a code).
pub fn answer_to<'a>(tags: &[(Vec<String>, Tag)]) -> Val<'a> {
    let mut answer = Val::external();
    for (_, t) in tags {
        if let Tag::Code(l) | Tag::Carrier(l) = t {
            answer.join(&Val::one(Atom::Tag(Tag::Carrier(l.clone()))));
        }
    }
    answer
}
