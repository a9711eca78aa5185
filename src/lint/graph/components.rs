//! Components: `App`, `Page`, `Component`, Vue options, classes (React,
//! Taro, wepy 1), registered and made into instances with their options
//! merged (behaviors, mixins, methods, data, `setup()`).

use super::{
    Class, ClassElement, Code, ComponentDef, FileId, Frame, Interp, Kind, Loc, ObjRef, Scope, Val, data_of,
    is_function, new_obj, persist, persisted,
};

impl<'a> Interp<'a> {
    pub(super) fn register(&mut self, kind: &str, options: Val<'a>, file: FileId, _loc: Loc) {
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
    pub(super) fn adopt_app(&mut self, inst: &ObjRef<'a>) {
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

    pub(super) fn instantiate(&mut self, c: &ComponentDef<'a>) -> Option<ObjRef<'a>> {
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
    pub(super) fn merge_options(
        &mut self,
        f: &mut Frame<'a>,
        inst: &ObjRef<'a>,
        options: &Val<'a>,
        vue: bool,
        depth: usize,
    ) {
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

    pub(super) fn fill_class(&mut self, cls: &Val<'a>, inst: &ObjRef<'a>, args: &[Val<'a>], loc: Loc, depth: usize) {
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
}
