//! Running a Mini Program's own code: its files ([`AppFiles`], scripts
//! compiled once), one fresh JS context per iteration ([`Page`]) with the
//! runtime of `runtime.js`
//! (App, Page, Component, require, timers on a virtual clock, `wx`), and
//! the operations the page hands out ([`Op`]): a login, open data, a
//! request. JS values never leave this room: the engine sees plain data.
//!
//! The engine drives a page ([`crate::engine`]'s `page` executor): it calls
//! [`Page::open`] or [`Page::tap`], then completes the operations the page
//! asked for one at a time, in an order drawn from the run's seed, and
//! fires virtual timers, until nothing is pending (idle).

mod bytecode;
mod modules;
mod typescript;
mod wxml;

pub use wxml::{Use, element_for};

use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Object, Runtime};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The runtime every page runs on.
const RUNTIME_JS: &str = include_str!("runtime.js");

/// Files read from an app's folder at most, and the bytes of one.
const MAX_FILES: usize = 20_000;
const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;
/// The JS heap each live page adds to its thread's runtime limit: the
/// runtime's pages share `PAGE_MEMORY` × their number, so a run's
/// concurrency never runs the tester's own heap out (at C=8,032 a fixed
/// 512 MiB did, and pages failed for it).
const PAGE_MEMORY: usize = 64 * 1024 * 1024;
/// Real time one call into the page may take before it is interrupted (a
/// loop that never ends).
const CALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A Mini Program's sources, read once per run: its `.js`, `.json` and
/// `.wxml` files by path relative to the root (`pages/login/login.js`).
#[derive(Debug)]
pub struct AppFiles {
    pub root: PathBuf,
    files: HashMap<String, String>,
    /// Each script's bytecode, compiled the first time a page loads it:
    /// parsing was two thirds of a page run.
    compiled: Mutex<HashMap<String, Arc<[u8]>>>,
    /// The custom components each page uses, read from its JSON and WXML
    /// the first time the page opens.
    uses: Mutex<HashMap<String, Arc<[Use]>>>,
}

/// Why a page could not run as asked: its app, or its own code.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    App(String),
    /// An exception thrown by the app's code: its message and stack.
    #[error("{message}")]
    Exception { message: String, stack: String },
}

impl AppFiles {
    /// Reads the app under `root`: the folder holding `app.json`. A source
    /// tree of uni-app, Taro, mpvue or wepy is refused with where its
    /// native build output usually is.
    pub fn load(root: &Path) -> Result<AppFiles, String> {
        if let Some(why) = not_an_app(root) {
            return Err(why);
        }
        let mut files = HashMap::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
                let name = entry.file_name().to_string_lossy().into_owned();
                if meta.is_dir() && !name.starts_with('.') && name != "node_modules" {
                    dirs.push(path);
                } else if meta.is_file()
                    && meta.len() <= MAX_FILE_BYTES
                    && [".js", ".ts", ".json", ".wxml"].iter().any(|e| name.ends_with(e))
                    && !name.ends_with(".d.ts")
                    && let Ok(mut text) = std::fs::read_to_string(&path)
                {
                    if path.extension().is_some_and(|e| e == "ts") {
                        // A file that cannot run throws its reason where it is required.
                        text = typescript::strip(&text).unwrap_or_else(|e| {
                            format!("throw new SyntaxError({});", serde_json::to_string(&e).unwrap_or_default())
                        });
                    }
                    if path.extension().is_some_and(|e| e == "js" || e == "ts") {
                        text = modules::to_commonjs(&text);
                    }
                    let rel = path.strip_prefix(root).unwrap_or(&path);
                    let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                    files.insert(rel, text);
                    if files.len() > MAX_FILES {
                        return Err(format!("{}: more than {MAX_FILES} source files", root.display()));
                    }
                }
            }
        }
        Ok(AppFiles { root: root.to_path_buf(), files, compiled: Mutex::default(), uses: Mutex::default() })
    }

    pub fn get(&self, rel: &str) -> Option<&str> {
        self.files.get(rel).map(String::as_str)
    }
}

/// Why `root` is not a native Mini Program's root (the folder of its
/// `app.json`), if it is not; a uni-app, Taro or wepy source tree is told
/// where its native build output usually is.
pub fn not_an_app(root: &Path) -> Option<String> {
    if root.join("app.json").is_file() {
        return None;
    }
    let framework =
        ["pages.json", "manifest.json", "config/index.js", "wepy.config.js"].iter().find(|f| root.join(f).exists());
    Some(match framework {
        Some(f) => format!(
            "{} holds {f}, a uni-app/Taro/wepy source tree: wxflow runs native Mini Programs; point `app:` at the build output (dist/, unpackage/dist/build/mp-weixin)",
            root.display()
        ),
        None => format!("{}: no app.json, so not a Mini Program root", root.display()),
    })
}

/// Something the page asked the outside world for.
#[derive(Debug, Clone)]
pub struct Op {
    pub id: u32,
    /// `login`, `getUserInfo`, `getUserProfile`, `checkSession`, `request`.
    pub api: String,
    pub args: serde_json::Value,
    /// Where the app's code asked: its stack's frames in the app's own
    /// files, innermost first (`utils/request.js:12:5`, `pages/login/login.js:96:5`).
    pub frames: Vec<String>,
}

/// What the host functions share with the engine.
#[derive(Debug, Default)]
struct Host {
    next_id: u32,
    ops: Vec<Op>,
    unmodelled: BTreeMap<String, u32>,
}

/// One launch of the app: a JS context of its own (in its runner thread's
/// QuickJS runtime), so iterations share no state and `--replay` runs one
/// alone.
pub struct Page {
    // The context is dropped before its runtime (field order).
    context: Context,
    runtime: Shared,
    host: Arc<Mutex<Host>>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.runtime.pages.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Page {
    /// A fresh JS context with the runtime and the app's files reachable
    /// through `require`.
    pub fn new(files: Arc<AppFiles>) -> Result<Page, ClientError> {
        let fail = |e: rquickjs::Error| ClientError::App(format!("cannot start the JS engine: {e}"));
        let runtime = thread_runtime().map_err(fail)?;
        let live = runtime.pages.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        runtime.runtime.set_memory_limit(PAGE_MEMORY.saturating_mul(live));
        let context = Context::full(&runtime.runtime).map_err(fail)?;
        let host = Arc::new(Mutex::new(Host::default()));
        let page = Page { context, runtime, host };
        page.with(|ctx| install(ctx, &files, &page.host))?;
        Ok(page)
    }

    /// Runs `f` in the context with a fresh real-time budget; an exception
    /// becomes a [`ClientError`].
    fn with<T>(&self, f: impl FnOnce(&Ctx<'_>) -> rquickjs::Result<T>) -> Result<T, ClientError> {
        *self.runtime.deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            std::time::Instant::now() + CALL_LIMIT;
        self.context.with(|ctx| f(&ctx).catch(&ctx).map_err(|e| caught(e)))
    }

    fn call(&self, name: &str, args: (String, String, String)) -> Result<(), ClientError> {
        self.with(|ctx| {
            let api: Object = ctx.globals().get("__wxflow")?;
            let f: Function = api.get(name)?;
            f.call::<_, ()>(args)
        })?;
        self.settle_jobs()
    }

    /// Runs every pending promise job (the page's microtasks).
    fn settle_jobs(&self) -> Result<(), ClientError> {
        self.with(|ctx| {
            for _ in 0..1_000_000 {
                if !ctx.execute_pending_job() {
                    return Ok(());
                }
            }
            Err(rquickjs::Exception::throw_internal(ctx, "more than 1,000,000 promise jobs in a row"))
        })
    }

    /// Launches the app if it is not yet, then opens `route` with `query`
    /// and the custom components it uses.
    pub fn open(&self, route: &str, query: &BTreeMap<String, String>, uses: &[Use]) -> Result<(), ClientError> {
        let uses = serde_json::to_string(uses).unwrap_or_default();
        self.call("open", (route.to_string(), serde_json::to_string(query).unwrap_or_default(), uses))
    }

    /// Calls `handler` with `event` on the current page, or on its custom
    /// component `component` (its tag name).
    pub fn tap(&self, handler: &str, event: &serde_json::Value, component: Option<&str>) -> Result<(), ClientError> {
        self.call("tap", (handler.to_string(), event.to_string(), component.unwrap_or_default().to_string()))
    }

    /// The operations the page asked for since the last call.
    pub fn take_ops(&self) -> Vec<Op> {
        std::mem::take(&mut self.host.lock().unwrap_or_else(std::sync::PoisonError::into_inner).ops)
    }

    /// Completes operation `id` (success or fail) with `result`.
    pub fn complete(&self, id: u32, ok: bool, result: &serde_json::Value) -> Result<(), ClientError> {
        self.with(|ctx| {
            let api: Object = ctx.globals().get("__wxflow")?;
            let f: Function = api.get("complete")?;
            f.call::<_, ()>((id, ok, result.to_string()))
        })?;
        self.settle_jobs()
    }

    /// Milliseconds of virtual time to the next one-shot timer, if any.
    pub fn next_timer(&self) -> Result<Option<u64>, ClientError> {
        let ms: f64 = self.with(|ctx| {
            let api: Object = ctx.globals().get("__wxflow")?;
            api.get::<_, Function>("nextTimer")?.call(())
        })?;
        Ok((ms >= 0.0).then_some(ms as u64))
    }

    /// Fires the earliest timer, moving the virtual clock to it.
    pub fn fire_timer(&self) -> Result<(), ClientError> {
        self.with(|ctx| {
            let api: Object = ctx.globals().get("__wxflow")?;
            api.get::<_, Function>("fireTimer")?.call::<_, ()>(())
        })?;
        self.settle_jobs()
    }

    /// The route of the page on top of the stack.
    pub fn route(&self) -> String {
        self.with(|ctx| {
            let api: Object = ctx.globals().get("__wxflow")?;
            api.get::<_, Function>("route")?.call(())
        })
        .unwrap_or_default()
    }

    /// `wx` APIs called that are not modelled since the last ask, with their counts.
    pub fn take_unmodelled(&self) -> BTreeMap<String, u32> {
        std::mem::take(&mut self.host.lock().unwrap_or_else(std::sync::PoisonError::into_inner).unmodelled)
    }
}

/// A runner thread's JS runtime, the deadline its interrupt handler reads,
/// and how many pages live in it.
#[derive(Clone)]
struct Shared {
    runtime: Runtime,
    deadline: Arc<Mutex<std::time::Instant>>,
    pages: Arc<std::sync::atomic::AtomicUsize>,
}

thread_local! {
    /// This thread's runtime. Each page gets a context of its own (no state
    /// is shared between them); a runtime per page cost a third of a page
    /// run in creating and tearing down its heap.
    static RUNTIME: std::cell::RefCell<Option<Shared>> = const { std::cell::RefCell::new(None) };
}

fn thread_runtime() -> rquickjs::Result<Shared> {
    RUNTIME.with(|slot| {
        if let Some(r) = &*slot.borrow() {
            return Ok(r.clone());
        }
        let runtime = Runtime::new()?;
        runtime.set_max_stack_size(1024 * 1024);
        let deadline = Arc::new(Mutex::new(std::time::Instant::now() + CALL_LIMIT));
        let d = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || {
            std::time::Instant::now() > *d.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        })));
        let shared = Shared { runtime, deadline, pages: Arc::default() };
        *slot.borrow_mut() = Some(shared.clone());
        Ok(shared)
    })
}

/// An exception as plain data: its message, and its stack in app paths.
fn caught(e: CaughtError<'_>) -> ClientError {
    match e {
        CaughtError::Exception(x) => ClientError::Exception {
            message: x.message().unwrap_or_else(|| "an exception".into()),
            stack: x.stack().unwrap_or_default(),
        },
        CaughtError::Value(v) => ClientError::Exception {
            message: format!(
                "a non-Error was thrown: {}",
                v.as_string().and_then(|s| s.to_string().ok()).unwrap_or_else(|| format!("{:?}", v.type_of()))
            ),
            stack: String::new(),
        },
        CaughtError::Error(e) => ClientError::App(e.to_string()),
    }
}

/// `runtime.js` compiled, once per process.
static RUNTIME_BYTECODE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// The host functions (`__host`) and the runtime.
fn install<'js>(ctx: &Ctx<'js>, files: &Arc<AppFiles>, host: &Arc<Mutex<Host>>) -> rquickjs::Result<()> {
    let api = Object::new(ctx.clone())?;
    let f = files.clone();
    api.set("exists", Function::new(ctx.clone(), move |path: String| f.get(&path).is_some())?)?;
    let f = files.clone();
    api.set("source", Function::new(ctx.clone(), move |path: String| f.get(&path).unwrap_or_default().to_string())?)?;
    let f = files.clone();
    api.set(
        "load",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, path: String| -> rquickjs::Result<Function<'js>> {
            let cached = f.compiled.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&path).cloned();
            let bytecode = if let Some(b) = cached {
                b
            } else {
                let source = f.get(&path).unwrap_or_default();
                // The wrapper opens on the source's first line: line
                // numbers in stacks are the file's own.
                let wrapped = format!("(function (exports, require, module, __filename, __dirname) {{{source}\n}})");
                let b: Arc<[u8]> = bytecode::compile(&ctx, &wrapped, &path)?.into();
                f.compiled.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(path, b.clone());
                b
            };
            bytecode::run(&ctx, &bytecode)?.get()
        })?,
    )?;
    let h = host.clone();
    api.set(
        "op",
        Function::new(ctx.clone(), move |api: String, args: String, stack: String| -> u32 {
            let mut host = h.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            host.next_id += 1;
            let id = host.next_id;
            let args = serde_json::from_str(&args).unwrap_or(serde_json::Value::Null);
            host.ops.push(Op { id, api, args, frames: app_frames(&stack) });
            id
        })?,
    )?;
    let h = host.clone();
    api.set(
        "unmodelled",
        Function::new(ctx.clone(), move |name: String| {
            *h.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .unmodelled
                .entry(format!("wx.{name}"))
                .or_default() += 1;
        })?,
    )?;
    ctx.globals().set("__host", api)?;
    let runtime = if let Some(b) = RUNTIME_BYTECODE.get() {
        b
    } else {
        let b = bytecode::compile(ctx, RUNTIME_JS, "wxflow:runtime")?;
        RUNTIME_BYTECODE.get_or_init(|| b)
    };
    bytecode::run(ctx, runtime).map(drop)
}

/// The frames of a JS stack in the app's own files:
/// `    at wxLoginReq (pages/login/login.js:96:5)` → `pages/login/login.js:96:5`.
fn app_frames(stack: &str) -> Vec<String> {
    stack
        .lines()
        .filter_map(|line| {
            let inner = line.trim().strip_prefix("at ")?;
            let place = inner.rsplit_once('(').map_or(inner, |(_, p)| p).trim_end_matches(')');
            (!place.starts_with("wxflow:") && (place.contains(".js:") || place.contains(".ts:")))
                .then(|| place.to_string())
        })
        .collect()
}

impl Op {
    /// Where in the app this was asked: the innermost frame in the page's
    /// own file `route` (through wrapper modules), else the innermost.
    pub fn location(&self, route: &str) -> Option<String> {
        let in_page = |f: &&String| [".js:", ".ts:"].iter().any(|e| f.starts_with(&format!("{route}{e}")));
        self.frames.iter().find(in_page).or(self.frames.first()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_frame_of_a_stack_and_a_handlers_element() {
        let stack = "Error\n    at op (wxflow:runtime:80:20)\n    at reqLogin (util/Request.js:12:5)\n    at wxLoginReq (pages/login/login.js:96:5)";
        let op = Op { id: 1, api: "request".into(), args: serde_json::Value::Null, frames: app_frames(stack) };
        assert_eq!(op.frames, ["util/Request.js:12:5", "pages/login/login.js:96:5"]);
        assert_eq!(op.location("pages/login/login").as_deref(), Some("pages/login/login.js:96:5"));
        assert_eq!(op.location("pages/other/other").as_deref(), Some("util/Request.js:12:5"));
        let wxml = r#"<view><button class='wxBtn' open-type="getUserInfo" data-user-id="7" bindgetuserinfo="wechatAction">登录</button></view>"#;
        let (open, data) = element_for(wxml, "wechatAction").unwrap();
        assert_eq!(open.as_deref(), Some("getUserInfo"));
        assert_eq!(data["userId"], "7");
        assert!(element_for(wxml, "other").is_none());
    }
}
