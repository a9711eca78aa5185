//! Stores: Vuex (`new Vuex.Store`, `dispatch`, modules) and Pinia
//! (`defineStore`), their state kept across handlers.

use super::{Atom, Frame, Interp, Loc, ObjRef, Rc, Val, is_function, new_obj, value};

impl<'a> Interp<'a> {
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
