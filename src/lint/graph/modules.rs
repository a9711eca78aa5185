//! Modules: each evaluated once, its imports resolved relative to the file,
//! then under the app's roots (`@/`, `~/`, `/`, `src/`).

use super::{
    BindingPattern, Code, ComponentDef, Declaration, EntryKind, ExportDefaultDeclarationKind, FileId, Frame, GetSpan,
    ImportDeclaration, ImportDeclarationSpecifier, Interp, Kind, Loc, ModuleState, ObjRef, Path, PathBuf, Program,
    Scope, ScopeKind, Statement, Val, globals, has_render, is_function, new_obj, new_scope, normalize,
};

impl<'a> Interp<'a> {
    /// Evaluates a module once; its `module` object.
    pub(super) fn module(&mut self, file: FileId) -> Option<ObjRef<'a>> {
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

    pub(super) fn export_default(&mut self, module: &ObjRef<'a>) -> Val<'a> {
        let exports = module.borrow().get("exports").cloned().unwrap_or_default();
        let loc = Loc { file: 0, start: 0, end: 0 };
        let d = self.get(&exports, "default", loc);
        if d.is_empty() { exports } else { d }
    }

    /// Taro and React components of a script: classes with a `render`,
    /// and functions named like components in files that write JSX.
    pub(super) fn find_components(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, program: &'a Program<'a>) {
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

    pub(super) fn import_decl(&mut self, f: &mut Frame<'a>, scope: &Scope<'a>, i: &'a ImportDeclaration<'a>) {
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
    pub(super) fn resolve(&self, from: FileId, spec: &str) -> Option<FileId> {
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
}
