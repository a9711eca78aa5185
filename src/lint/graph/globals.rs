//! What a name means when no scope binds it: the platform namespaces
//! (`wx`, `uni`, `Taro`, …), the framework globals (`getApp`, `Page`,
//! `Promise`, Vuex, Pinia) and what a package import binds.

use super::value::{Atom, Builtin, Val, new_obj};
use std::rc::Rc;

/// Namespaces whose members are platform APIs.
pub const NAMESPACES: &[&str] = &["wx", "uni", "Taro", "qq", "tt", "swan", "my", "jd", "wepy"];

/// The value of a name no scope binds.
pub fn global<'a>(name: &str) -> Val<'a> {
    let b = match name {
        n if NAMESPACES.contains(&n) => return Val::one(Atom::Api(Rc::from(n))),
        "getApp" => Builtin::GetApp,
        "Page" => Builtin::Register("Page"),
        "Component" | "VantComponent" => Builtin::Register("Component"),
        "App" => Builtin::Register("App"),
        "Behavior" => Builtin::Register("Behavior"),
        "require" => Builtin::Require,
        "Promise" => Builtin::Promise,
        // React hooks that hand back the function they are given.
        "defineComponent" | "createComponent" | "useCallback" | "useMemoizedFn" | "usePersistFn" | "useEvent" => {
            Builtin::Identity
        }
        // `useMemo(f)` is what `f` returns: called now, as an effect is.
        // State libraries that hand back the object or function they wrap:
        // MobX (`observable({…})`, `action(fn)`, `action('name', fn)`), Vue's `reactive`.
        "observable" | "action" | "makeAutoObservable" | "makeObservable" | "reactive" | "readonly"
        | "shallowReactive" | "markRaw" | "toRaw" => Builtin::Wrap,
        "useMemo" | "useEffect" | "useLayoutEffect" | "useDidShow" | "useLoad" | "useReady" | "onMounted"
        | "onLoad" | "onShow" | "onLaunch" | "onReady" | "onBeforeMount" => Builtin::CallNow,
        "defineStore" => Builtin::DefineStore,
        "createStore" => Builtin::VuexStore,
        "mapActions" => Builtin::MapActions,
        "console" => Builtin::Quiet,
        "Object" => {
            return Val::obj(new_obj(vec![("assign".into(), Val::one(Atom::Builtin(Builtin::ObjectAssign)))], false));
        }
        "undefined" | "null" | "NaN" => return Val::default(),
        _ => return Val::external(),
    };
    Val::one(Atom::Builtin(b))
}

/// What a package import binds: the platform namespaces for Taro, the
/// framework functions of vue, vuex, pinia, react (`React.useCallback` too)
/// and uni-app.
pub fn package_export<'a>(package: &str, name: Option<&str>) -> Val<'a> {
    let taro = package.starts_with("@tarojs/");
    match name {
        None | Some("default") if taro => Val::one(Atom::Api(Rc::from("Taro"))),
        // wepy 1 (`wepy`) and 2 (`@wepy/core`): `wepy.page(…)`, `wepy.login()`.
        None | Some("default") if package == "wepy" || package == "@wepy/core" => Val::one(Atom::Api(Rc::from("wepy"))),
        None | Some("default") if package == "react" => {
            let hooks = ["useCallback", "useMemo", "useEffect", "useLayoutEffect"];
            Val::obj(new_obj(hooks.iter().map(|h| ((*h).to_string(), global(h))).collect(), false))
        }
        None | Some("default") if package == "vuex" => {
            Val::obj(new_obj(vec![("Store".into(), Val::one(Atom::Builtin(Builtin::VuexStore)))], false))
        }
        Some(n) if taro && !matches!(global(n).0.first(), Some(Atom::Builtin(_))) => {
            Val::one(Atom::Api(Rc::from(format!("Taro.{n}").as_str())))
        }
        Some("Store") if package == "vuex" => Val::one(Atom::Builtin(Builtin::VuexStore)),
        Some(n) => global(n),
        None => Val::external(),
    }
}
