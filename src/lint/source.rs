//! Files → sources: which files under the linted paths are read, what is
//! skipped and why, the `<script>` of a `.vue` file, the open-data event
//! bindings of WXML and Vue templates (a lenient reader: templates are not
//! strict XML), and the line index every location is reported through.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Files bigger than this are skipped with a note.
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024;

/// Folders that hold other people's code or build output.
const SKIPPED_DIRS: &[&str] = &["node_modules", "miniprogram_npm", "dist", "unpackage"];

/// Extensions read as script.
const SCRIPT_EXTS: &[&str] = &["js", "mjs", "cjs", "ts", "mts", "cts", "jsx", "tsx", "vue", "wpy"];

/// Files that mark the root of a Mini Program app: native (`app.json`,
/// `project.config.json`), uni-app (`pages.json`, `manifest.json`), Taro
/// (`app.config.js`/`.ts`), wepy (`app.wpy`).
pub const APP_MARKERS: &[&str] =
    &["app.json", "project.config.json", "pages.json", "manifest.json", "app.config.js", "app.config.ts", "app.wpy"];

/// Mini Program source that lint does not read (WXS and the other
/// platforms' templates and scripts): counted and named in the summary.
const NOT_READ_EXTS: &[&str] =
    &["wxs", "sjs", "axml", "swan", "ttml", "qml", "ksml", "xhsml", "nvue", "uvue", "svelte"];

/// One source file, read.
#[derive(Debug)]
pub struct SourceFile {
    /// Relative to the linted path, with `/` separators.
    pub rel: String,
    pub path: PathBuf,
    /// The path as the user can open it from the working directory.
    pub shown: String,
    pub text: String,
    /// The text as parsed: `text` with uni-app's conditional blocks for
    /// other platforms blanked (same byte offsets).
    pub code: String,
    /// Byte offsets where each line starts.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(rel: String, path: PathBuf, text: String) -> SourceFile {
        // A line ends at LF, CRLF or a lone CR (old Mac files), as JavaScript's
        // own line terminators do.
        let bytes = text.as_bytes();
        let ends =
            bytes.iter().enumerate().filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')));
        let line_starts = std::iter::once(0).chain(ends.map(|(i, _)| i + 1)).collect();
        let code = conditional(&text);
        let shown = shown(&path);
        SourceFile { rel, path, shown, text, code, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line, col)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e);
        Some(self.text[start..end].trim_end_matches(['\n', '\r']))
    }

    pub fn ext(&self) -> &str {
        self.path.extension().and_then(|e| e.to_str()).unwrap_or("")
    }

    /// A single-file component: Vue's `.vue`, or wepy's `.wpy` (the same
    /// `<template>` and `<script>` blocks).
    pub fn single_file(&self) -> bool {
        matches!(self.ext(), "vue" | "wpy")
    }
}

/// What uni-app's conditional compilation (`// #ifdef MP-WEIXIN`,
/// `#ifndef`, `#endif`, in `//`, `/* */` and `<!-- -->` comments) defines
/// for a WeChat Mini Program build with Vue 3.
const DEFINED: &[&str] = &["MP", "MP-WEIXIN", "VUE3", "UNI-APP"];

/// `text` with the lines a WeChat build leaves out blanked, offsets kept.
fn conditional(text: &str) -> String {
    if !text.contains("#if") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    // Whether each open block is kept.
    let mut open: Vec<bool> = vec![];
    for line in text.split_inclusive('\n') {
        let t = line.trim().trim_start_matches("//").trim_start_matches("/*").trim_start_matches("<!--").trim();
        let directive = ["#ifdef", "#ifndef", "#endif"].iter().find(|d| t.starts_with(**d));
        let kept = open.iter().all(|k| *k);
        match directive {
            Some(&"#endif") => {
                open.pop();
            }
            Some(d) => {
                let names = t[d.len()..].trim().trim_end_matches("*/").trim_end_matches("-->");
                let any = names.split("||").any(|n| DEFINED.contains(&n.trim()));
                open.push(if *d == "#ifdef" { any } else { !any });
            }
            None => {}
        }
        if kept && directive.is_none() {
            out.push_str(line);
        } else {
            // Same byte length: a blanked character becomes as many spaces as it has bytes.
            for c in line.chars() {
                if c == '\n' || c == '\r' {
                    out.push(c);
                } else {
                    out.extend(std::iter::repeat_n(' ', c.len_utf8()));
                }
            }
        }
    }
    out
}

/// A file that was not read, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub rel: String,
    pub why: String,
}

/// What the walk found: script files, templates, and what it skipped.
#[derive(Debug, Default)]
pub struct Tree {
    pub files: Vec<SourceFile>,
    pub skipped: Vec<Skipped>,
    /// Files of a Mini Program type lint does not read, by extension.
    pub not_read: std::collections::BTreeMap<String, usize>,
    /// Folders holding a file that marks an app's root ([`APP_MARKERS`]).
    pub app_dirs: Vec<PathBuf>,
    /// The folders the paths name (import roots for `@/` and `/` specifiers).
    pub roots: Vec<PathBuf>,
}

/// Reads every script and template file under `paths`. A folder named on
/// the command line is read even when its name would be skipped below it.
///
/// Only regular files inside the trees named are read: a symlink is
/// followed when what it points at is inside one of them (a file reached
/// twice, by a link or by naming it twice, is read once); a link out of
/// the trees, a FIFO, a device or a socket is skipped and named, so lint
/// neither hangs nor reads what the user did not give it.
pub fn walk(paths: &[PathBuf]) -> Result<Tree, String> {
    let mut tree = Tree::default();
    let mut real_roots = vec![];
    for root in paths {
        let real = std::fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let meta = std::fs::metadata(&real).map_err(|e| format!("{}: {e}", root.display()))?;
        real_roots.push(if meta.is_dir() { real } else { real.parent().map(Path::to_path_buf).unwrap_or(real) });
    }
    let mut walk = Walk { roots: real_roots, seen: HashSet::new(), links: vec![], tree: &mut tree };
    for root in paths {
        let meta = std::fs::metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let base = if meta.is_dir() { root.clone() } else { root.parent().map(Path::to_path_buf).unwrap_or_default() };
        walk.tree.roots.push(base.clone());
        walk.entry(root, &base, true);
    }
    // Links last: a file reached both ways is named by its own path.
    while !walk.links.is_empty() {
        for (link, base) in std::mem::take(&mut walk.links) {
            walk.follow(&link, &base, false);
        }
    }
    Ok(tree)
}

/// One walk over the trees named: their real paths, what was read already.
struct Walk<'t> {
    roots: Vec<PathBuf>,
    /// Real paths of the folders and files visited.
    seen: HashSet<PathBuf>,
    /// Links inside the trees, followed once the rest is read.
    links: Vec<(PathBuf, PathBuf)>,
    tree: &'t mut Tree,
}

impl Walk<'_> {
    /// Visits one path: a folder, a file, or a link to either (kept for
    /// later unless named on the command line).
    fn entry(&mut self, path: &Path, base: &Path, named: bool) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !named && name.starts_with('.') {
            return;
        }
        let Ok(own) = std::fs::symlink_metadata(path) else { return };
        if own.file_type().is_symlink() && !named {
            self.links.push((path.to_path_buf(), base.to_path_buf()));
            return;
        }
        self.follow(path, base, named);
    }

    fn follow(&mut self, path: &Path, base: &Path, named: bool) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Ok(own) = std::fs::symlink_metadata(path) else { return };
        let reads = |p: &Path| named || wanted(p);
        let skip = |tree: &mut Tree, why: String| tree.skipped.push(Skipped { rel: shown(path), why });
        let Ok(real) = std::fs::canonicalize(path) else {
            if own.file_type().is_symlink() && reads(path) {
                skip(self.tree, "a symlink to nothing".into());
            }
            return;
        };
        if own.file_type().is_symlink() && !self.roots.iter().any(|r| real.starts_with(r)) {
            if reads(path) || real.is_dir() {
                skip(self.tree, format!("a symlink out of the linted tree (to {})", real.display()));
            }
            return;
        }
        let Ok(meta) = std::fs::metadata(&real) else { return };
        if meta.is_dir() {
            if (named || !SKIPPED_DIRS.contains(&name)) && self.seen.insert(real) {
                self.dir(path, base);
            }
        } else if reads(path) {
            if !meta.is_file() {
                skip(self.tree, format!("not a regular file ({})", kind(&meta)));
            } else if self.seen.insert(real) {
                read_file(path, base, self.tree);
            }
        } else if let Some(ext) = path.extension().and_then(|e| e.to_str()).filter(|e| NOT_READ_EXTS.contains(e))
            && meta.is_file()
            && self.seen.insert(real)
        {
            *self.tree.not_read.entry(ext.to_string()).or_default() += 1;
        }
    }

    fn dir(&mut self, dir: &Path, base: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            self.tree.skipped.push(Skipped { rel: shown(dir), why: "cannot read the folder".into() });
            return;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        if entries.iter().any(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| APP_MARKERS.contains(&n))) {
            self.tree.app_dirs.push(dir.to_path_buf());
        }
        for path in entries {
            self.entry(&path, base, false);
        }
    }
}

/// Whether lint reads a file of this name.
fn wanted(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    (SCRIPT_EXTS.contains(&ext) || ext == "wxml") && !path.to_string_lossy().ends_with(".d.ts")
}

/// What kind of file that is not regular `meta` describes.
fn kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        } else if t.is_char_device() || t.is_block_device() {
            return "a device";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    let _ = meta;
    "not a file"
}

/// `path` as the user can open it from the working directory, with `/`
/// separators: relative when it is inside it, else absolute.
pub fn shown(path: &Path) -> String {
    thread_local!(static CWD: PathBuf = std::env::current_dir().unwrap_or_default());
    let cwd = CWD.with(Clone::clone);
    let whole = normalize(&cwd.join(path));
    let inside = whole.strip_prefix(&cwd).ok().filter(|r| !r.as_os_str().is_empty());
    let joined = |p: &Path| p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    match inside {
        Some(r) => joined(r),
        None => whole.to_string_lossy().into_owned(),
    }
}

/// `.` and `..` resolved in the path's own words (no link followed); a
/// `..` above the start is kept.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn rel(path: &Path, base: &Path) -> String {
    let r = path.strip_prefix(base).unwrap_or(path);
    let s = r.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    if s.is_empty() { path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default() } else { s }
}

/// Reads one regular file, at most [`MAX_FILE_BYTES`] of it (a file that
/// grows while read is cut there and skipped, never read whole).
fn read_file(path: &Path, base: &Path, tree: &mut Tree) {
    use std::io::Read;
    let rel = rel(path, base);
    let skip = |tree: &mut Tree, why: String| tree.skipped.push(Skipped { rel: shown(path), why });
    let mut bytes = vec![];
    let read = open_regular(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    match read {
        Err(e) => return skip(tree, format!("cannot read: {e}")),
        Ok(n) if n as u64 > MAX_FILE_BYTES => {
            return skip(tree, format!("over the {MAX_FILE_BYTES}-byte limit"));
        }
        Ok(_) => {}
    }
    if bytes.contains(&0) {
        return skip(tree, "binary (a NUL byte)".into());
    }
    if let Some(depth) = too_deep(&bytes) {
        return skip(tree, format!("nested deeper than {MAX_NESTING} levels (at least {depth})"));
    }
    match String::from_utf8(bytes) {
        Ok(text) => tree.files.push(SourceFile::new(rel, path.to_path_buf(), text)),
        Err(_) => skip(tree, "not UTF-8".into()),
    }
}

/// Opens `path` for reading without blocking on a FIFO swapped in since it
/// was looked at, and refuses what is not a regular file once open.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    if file.metadata()?.is_file() { Ok(file) } else { Err(std::io::Error::other("not a regular file")) }
}

/// Brackets nested deeper than this make a file skipped: the parser and the
/// evaluator recurse once a level, and real code nests a few dozen.
pub const MAX_NESTING: usize = 1000;

/// The bracket depth that passes [`MAX_NESTING`], if one does. Strings,
/// template literals and comments are stepped over; a bracket in a regex
/// literal still counts, which can only skip a file that nests nearly as
/// deep anyway.
fn too_deep(bytes: &[u8]) -> Option<usize> {
    let (mut depth, mut i) = (0usize, 0);
    let skip_to = |from: usize, end: &[u8]| {
        let mut j = from;
        while j < bytes.len() && !bytes[j..].starts_with(end) {
            j += if bytes[j] == b'\\' && end.len() == 1 && end[0] != b'\n' { 2 } else { 1 };
        }
        j + end.len()
    };
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(depth);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            q @ (b'"' | b'\'' | b'`') => i = skip_to(i + 1, &[q]) - 1,
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_to(i + 2, b"\n") - 1,
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_to(i + 2, b"*/") - 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// A `<script>` block of a `.vue` file: where its text starts, and its language.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptBlock {
    pub start: usize,
    pub end: usize,
    pub lang: String,
    pub setup: bool,
}

/// The `<script>` blocks of a single-file component.
pub fn vue_scripts(text: &str) -> Vec<ScriptBlock> {
    let mut out = vec![];
    let mut at = 0;
    while let Some(i) = find_ci(&text[at..], "<script") {
        let open = at + i;
        let Some(gt) = text[open..].find('>') else { break };
        let attrs = &text[open + 7..open + gt];
        let start = open + gt + 1;
        let Some(close) = find_ci(&text[start..], "</script") else { break };
        let lang = attr_value(attrs, "lang").unwrap_or_else(|| "js".into());
        let setup = attrs.split_whitespace().any(|a| a == "setup" || a.starts_with("setup="));
        out.push(ScriptBlock { start, end: start + close, lang, setup });
        at = start + close + 8;
    }
    out
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes().windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn attr_value(attrs: &str, name: &str) -> Option<String> {
    let i = attrs.find(&format!("{name}="))?;
    let rest = &attrs[i + name.len() + 1..];
    let quote = rest.chars().next()?;
    if quote == '"' || quote == '\'' {
        rest[1..].split(quote).next().map(str::to_string)
    } else {
        rest.split_whitespace().next().map(str::to_string)
    }
}

/// Which open-data event a template binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenEvent {
    /// `getuserinfo`: the profile, sealed.
    UserInfo,
    /// `getphonenumber`: the phone number, sealed (and in newer base libraries a `code` beside it).
    PhoneNumber,
}

impl OpenEvent {
    /// The event name in a template attribute (lowercase).
    fn from_name(name: &str) -> Option<OpenEvent> {
        match name.to_ascii_lowercase().as_str() {
            "getuserinfo" => Some(OpenEvent::UserInfo),
            "getphonenumber" => Some(OpenEvent::PhoneNumber),
            _ => None,
        }
    }

    /// From a JSX prop name: `onGetUserInfo`, `onGetPhoneNumber`.
    pub fn from_jsx_prop(prop: &str) -> Option<OpenEvent> {
        prop.strip_prefix("on").and_then(OpenEvent::from_name)
    }

    pub fn api(self) -> &'static str {
        match self {
            OpenEvent::UserInfo => "getUserInfo",
            OpenEvent::PhoneNumber => "getPhoneNumber",
        }
    }
}

/// `bindgetuserinfo="onGot"` and its kin in a template: the handler's name,
/// the event, and the byte offset of the attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub handler: String,
    /// The open-data event, or `None` for any other (`bindtap`,
    /// `bindchange`, `@input`): a `detail` that is never sealed.
    pub event: Option<OpenEvent>,
    pub offset: usize,
    /// The attribute name's length in bytes.
    pub len: usize,
}

/// Events of built-in elements, whose `detail` never holds open data.
const BUILT_IN_EVENTS: &[&str] = &[
    "tap",
    "longpress",
    "longtap",
    "touchstart",
    "touchmove",
    "touchend",
    "touchcancel",
    "change",
    "input",
    "blur",
    "focus",
    "confirm",
    "submit",
    "reset",
    "scroll",
    "scrolltolower",
    "scrolltoupper",
    "load",
    "error",
    "click",
    "keyboardheightchange",
    "linechange",
    "columnchange",
    "cancel",
    "transitionend",
    "animationend",
    "keyup",
    "keydown",
];

/// Every open-data and built-in event binding in a WXML or Vue template:
/// `bind`, `catch`, `capture-bind`, `mut-bind` with or without `:`, `@` and
/// `v-on:` with modifiers. A handler written as a call (`onGot($event)`)
/// or an arrow names the method it calls.
pub fn template_bindings(text: &str) -> Vec<Binding> {
    // A commented-out button binds nothing: comments are blanked, offsets kept.
    let mut blanked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        blanked.push_str(&rest[..i]);
        let end = rest[i..].find("-->").map_or(rest.len(), |e| i + e + 3);
        blanked.extend(std::iter::repeat_n(' ', end - i));
        rest = &rest[end..];
    }
    blanked.push_str(rest);
    let text = blanked.as_str();
    let mut out = vec![];
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(eq) = text[i..].find('=') else { break };
        let eq = i + eq;
        i = eq + 1;
        // The attribute name before `=`.
        let name_end = text[..eq].trim_end().len();
        let name_start = text[..name_end].rfind(|c: char| c.is_whitespace() || c == '<').map_or(0, |p| p + 1);
        let name = &text[name_start..name_end];
        let event = name
            .strip_prefix('@')
            .or_else(|| name.strip_prefix("v-on:"))
            .map(|n| n.split('.').next().unwrap_or(""))
            .or_else(|| {
                ["capture-bind", "capture-catch", "mut-bind", "bind", "catch"]
                    .iter()
                    .find_map(|p| name.strip_prefix(p))
                    .map(|n| n.trim_start_matches(':'))
            })
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        // An open-data event, or a built-in one (a plain `detail`); a custom
        // component's event (`bindlogin`) may carry anything: not recorded.
        let Some(event) = event.and_then(|n| match OpenEvent::from_name(n) {
            Some(open) => Some(Some(open)),
            None => BUILT_IN_EVENTS.contains(&n.to_ascii_lowercase().as_str()).then_some(None),
        }) else {
            continue;
        };
        let rest = text[eq + 1..].trim_start();
        let Some(quote) = rest.chars().next().filter(|q| *q == '"' || *q == '\'') else { continue };
        let value = rest[1..].split(quote).next().unwrap_or("");
        if let Some(handler) = handler_name(value) {
            out.push(Binding { handler, event, offset: name_start, len: name.len() });
        }
    }
    out
}

/// The method a handler expression names: `onGot`, `onGot($event)`,
/// `(e) => onGot(e)`, `{{handler}}` (dynamic: none).
fn handler_name(value: &str) -> Option<String> {
    let v = value.trim();
    if v.contains("{{") {
        return None;
    }
    let v = v.rsplit("=>").next().unwrap_or(v).trim();
    let name: String = v.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$' || *c == '.').collect();
    let name = name.strip_prefix("this.").unwrap_or(&name).to_string();
    (!name.is_empty() && !name.contains('.')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_bindings_of_every_spelling() {
        let t = r#"<button open-type="getUserInfo" bindgetuserinfo="onGot">a</button>
<button open-type="getPhoneNumber" bind:getphonenumber='onPhone'/>
<button @getuserinfo="login($event)" v-on:getphonenumber.stop="p"></button>
<button catchgetuserinfo="{{dyn}}" bindtap="tap"></button>
<input bindchange="onChange" @input="typed"/>
<!-- <button open-type="getUserInfo" bindgetuserinfo="old">x</button> -->"#;
        let b: Vec<_> = template_bindings(t).into_iter().map(|b| (b.handler, b.event)).collect();
        assert_eq!(
            b,
            [
                ("onGot".to_string(), Some(OpenEvent::UserInfo)),
                ("onPhone".to_string(), Some(OpenEvent::PhoneNumber)),
                ("login".to_string(), Some(OpenEvent::UserInfo)),
                ("p".to_string(), Some(OpenEvent::PhoneNumber)),
                ("tap".to_string(), None),
                ("onChange".to_string(), None),
                ("typed".to_string(), None),
            ]
        );
    }

    #[test]
    fn uni_app_conditional_blocks_for_other_platforms_are_blanked_with_offsets_kept() {
        let t = "a\n// #ifdef APP-PLUS\nb = 1 // 应用\n// #endif\n/* #ifndef MP-WEIXIN */\nc\n/* #endif */\n// #ifdef MP-WEIXIN || H5\nd\n// #endif\n";
        let code = conditional(t);
        assert_eq!(code.len(), t.len());
        let kept: Vec<&str> = code.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(kept, ["a", "d"]);
    }

    #[test]
    fn vue_script_blocks_and_lines() {
        let t = "<template><b/></template>\n<script setup lang=\"ts\">\nconst a = 1\n</script>\n";
        let s = vue_scripts(t);
        assert_eq!(s.len(), 1);
        assert!(s[0].setup && s[0].lang == "ts");
        assert_eq!(&t[s[0].start..s[0].end], "\nconst a = 1\n");
        let f = SourceFile::new("a.vue".into(), "a.vue".into(), t.into());
        assert_eq!(f.line_col(t.find("const").unwrap()), (3, 1));
        assert_eq!(f.line(3), Some("const a = 1"));
    }
}
