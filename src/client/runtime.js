// wxflow's Mini Program runtime, evaluated first in every fresh JS context:
// App, Page, Component, Behavior, getApp, getCurrentPages, CommonJS require
// with the Mini Program's resolution, timers on a virtual clock, and `wx`.
// Whatever needs the outside world (wx.login, open data, requests) is an
// operation handed to the host (`__host.op`), which completes it later in
// an order drawn from the run's seed (`__wxflow.complete`).
(function (global) {
  'use strict';
  const host = global.__host;
  const pending = new Map();
  const timers = [];
  const storage = new Map();
  const definitions = {};
  const modules = {};
  const stack = [];
  let now = 0;
  let nextTimerId = 1;
  let defining = null;
  let app = null;
  let launched = false;

  function dirname(p) {
    const i = p.lastIndexOf('/');
    return i < 0 ? '' : p.slice(0, i);
  }
  function normalize(p) {
    const out = [];
    for (const s of p.split('/')) {
      if (!s || s === '.') continue;
      if (s === '..') out.pop();
      else out.push(s);
    }
    return out.join('/');
  }
  function resolve(from, spec) {
    const bases = [];
    if (spec.startsWith('/')) bases.push(normalize(spec));
    else {
      bases.push(normalize(dirname(from) + '/' + spec));
      if (!spec.startsWith('.')) {
        for (let d = dirname(from); ; d = dirname(d)) {
          bases.push(normalize(d + '/miniprogram_npm/' + spec));
          if (!d) break;
        }
        bases.push(normalize(spec));
      }
    }
    for (const b of bases) {
      for (const c of [b, b + '.js', b + '.ts', b + '.json', b + '/index.js', b + '/index.ts']) {
        if (host.exists(c)) return c;
      }
    }
    return null;
  }
  // An ES module's default import of a CommonJS module is the module itself.
  global.__wxflowDefault = function (m) {
    return m && m.__esModule ? m.default : m;
  };
  function requireFrom(from) {
    return function require(spec) {
      const path = resolve(from, String(spec));
      if (path === null) throw new Error("Cannot find module '" + spec + "' from " + from);
      return load(path);
    };
  }
  function load(path) {
    if (modules[path]) return modules[path].exports;
    const module = { exports: {} };
    modules[path] = module;
    if (path.endsWith('.json')) {
      module.exports = JSON.parse(host.source(path));
      return module.exports;
    }
    const before = defining;
    defining = path.replace(/\.[jt]s$/, '');
    try {
      host.load(path).call(module.exports, module.exports, requireFrom(path), module, path, dirname(path));
    } finally {
      defining = before;
    }
    return module.exports;
  }

  // ---- the wx object ---------------------------------------------------
  function op(api, args, options) {
    const where = new Error().stack || '';
    const id = host.op(api, JSON.stringify(args === undefined ? null : args), where);
    const o = options || {};
    const entry = { o: o };
    let promise;
    if (!o.success && !o.fail && !o.complete) {
      promise = new Promise(function (res, rej) {
        entry.res = res;
        entry.rej = rej;
      });
      // A rejection nobody handles is the page's business, not a crash.
      promise.catch(function () {});
    }
    pending.set(id, entry);
    return promise;
  }
  function complete(id, ok, json) {
    const entry = pending.get(id);
    pending.delete(id);
    if (!entry) return;
    const res = JSON.parse(json);
    const o = entry.o;
    if (ok) {
      if (o.success) o.success(res);
      if (entry.res) entry.res(res);
    } else {
      if (o.fail) o.fail(res);
      if (entry.rej) entry.rej(res);
    }
    if (o.complete) o.complete(res);
  }
  function later(fn) {
    Promise.resolve().then(fn);
  }
  function ok(name, extra) {
    return Object.assign({ errMsg: name + ':ok' }, extra || {});
  }
  function local(name, result) {
    return function (options) {
      const o = options || {};
      const res = ok(name, typeof result === 'function' ? result(o) : result);
      if (!o.success && !o.fail && !o.complete) return Promise.resolve(res);
      later(function () {
        if (o.success) o.success(res);
        if (o.complete) o.complete(res);
      });
    };
  }
  function parseUrl(url) {
    const [path, q] = String(url).split('?');
    const query = {};
    if (q) {
      for (const kv of q.split('&')) {
        const [k, v] = kv.split('=');
        if (k) query[decodeURIComponent(k)] = decodeURIComponent(v || '');
      }
    }
    return { path: normalize(path.startsWith('/') ? path : dirname(current() ? current().route : '') + '/' + path), query: query };
  }
  function navigate(name, pop) {
    return function (options) {
      const o = options || {};
      return local(name, function () {
        if (pop === 'all') while (stack.length) unload(stack.pop());
        else if (pop === 'one' && stack.length) unload(stack.pop());
        if (name === 'navigateBack') {
          for (let n = (o.delta || 1) - 1; n > 0 && stack.length > 1; n--) unload(stack.pop());
          const top = current();
          if (top && top.onShow) top.onShow();
          return {};
        }
        const target = parseUrl(o.url || '');
        open(target.path, target.query);
        return {};
      })(o);
    };
  }
  function unload(page) {
    if (page && page.onUnload) page.onUnload();
  }
  const systemInfo = {
    brand: 'wxflow', model: 'wxflow', pixelRatio: 2, screenWidth: 375, screenHeight: 667,
    windowWidth: 375, windowHeight: 667, statusBarHeight: 20, language: 'zh_CN', version: '8.0.50',
    system: 'iOS 17.0', platform: 'devtools', SDKVersion: '3.5.0',
  };
  const wx = {
    login: function (o) { return op('login', null, o); },
    checkSession: function (o) { return op('checkSession', null, o); },
    getUserInfo: function (o) { return op('getUserInfo', null, o); },
    getUserProfile: function (o) { return op('getUserProfile', null, o); },
    request: function (o) {
      const r = { url: o.url, method: (o.method || 'GET').toUpperCase(), data: o.data === undefined ? null : o.data, header: o.header || {} };
      op('request', r, o);
      return { abort: function () {}, onHeadersReceived: function () {}, offHeadersReceived: function () {} };
    },
    uploadFile: function (o) {
      op('request', { url: o.url, method: 'POST', data: o.formData || {}, header: o.header || {}, upload: true }, o);
      return { abort: function () {}, onProgressUpdate: function () {} };
    },
    getSetting: local('getSetting', { authSetting: { 'scope.userInfo': true } }),
    authorize: local('authorize'),
    getStorage: local('getStorage', function (o) { return { data: storage.get(o.key) }; }),
    setStorage: local('setStorage', function (o) { storage.set(o.key, o.data); return {}; }),
    removeStorage: local('removeStorage', function (o) { storage.delete(o.key); return {}; }),
    clearStorage: local('clearStorage', function () { storage.clear(); return {}; }),
    getStorageSync: function (k) { return storage.has(k) ? storage.get(k) : ''; },
    setStorageSync: function (k, v) { storage.set(k, v); },
    removeStorageSync: function (k) { storage.delete(k); },
    clearStorageSync: function () { storage.clear(); },
    showToast: local('showToast'),
    showLoading: local('showLoading'),
    hideToast: local('hideToast'),
    hideLoading: local('hideLoading'),
    showModal: local('showModal', { confirm: true, cancel: false }),
    navigateTo: navigate('navigateTo', null),
    redirectTo: navigate('redirectTo', 'one'),
    switchTab: navigate('switchTab', 'all'),
    reLaunch: navigate('reLaunch', 'all'),
    navigateBack: navigate('navigateBack', 'one'),
    getSystemInfo: local('getSystemInfo', systemInfo),
    getSystemInfoSync: function () { return Object.assign({}, systemInfo); },
    getWindowInfo: function () { return Object.assign({}, systemInfo); },
    nextTick: function (fn) { later(fn); },
    canIUse: function () { return true; },
  };
  wx.cloud = {
    init: function () {},
    callFunction: function (o) {
      op('request', { url: 'cloud://' + o.name, method: 'POST', data: o.data || {}, header: {}, cloud: true }, o);
    },
  };
  // Whatever an object-returning API not modelled gives: every property
  // and call of it gives it again (`createSelectorQuery().select(…).exec()`).
  const inert = new Proxy(function () {}, {
    get: function (t, k) { return k === 'then' || typeof k === 'symbol' ? undefined : inert; },
    apply: function () { return inert; },
  });
  // Any other API answers ok, and is counted as called but not modelled.
  global.wx = new Proxy(wx, {
    get: function (t, k) {
      if (k in t || typeof k !== 'string') return t[k];
      host.unmodelled(k);
      if (k.endsWith('Sync') || /^(on|off)[A-Z]/.test(k)) return function () { return undefined; };
      if (/^create[A-Z]|Manager$|Context$/.test(k)) return function () { return inert; };
      return local(k);
    },
  });
  const quiet = function () {};
  global.console = { log: quiet, info: quiet, warn: quiet, error: quiet, debug: quiet };

  // ---- timers on the virtual clock ----------------------------------------
  function addTimer(fn, ms, args, every) {
    const id = nextTimerId++;
    const delay = Math.max(every ? 1 : 0, Number(ms) || 0);
    timers.push({ id: id, at: now + delay, fn: fn, args: args, every: every ? delay : 0 });
    return id;
  }
  global.setTimeout = function (fn, ms, ...args) { return addTimer(fn, ms, args, false); };
  global.setInterval = function (fn, ms, ...args) { return addTimer(fn, ms, args, true); };
  global.clearTimeout = global.clearInterval = function (id) {
    const i = timers.findIndex(function (t) { return t.id === id; });
    if (i >= 0) timers.splice(i, 1);
  };
  function earliest() {
    let best = -1;
    for (let i = 0; i < timers.length; i++) if (best < 0 || timers[i].at < timers[best].at) best = i;
    return best;
  }

  // ---- App, Page, Component ------------------------------------------------
  function clone(v) {
    return v === undefined ? {} : JSON.parse(JSON.stringify(v));
  }
  function setPath(data, path, value) {
    const keys = [];
    String(path).replace(/[^.[\]]+|\[(\d+)\]/g, function (m, index) {
      keys.push(index !== undefined ? Number(index) : m);
    });
    let o = data;
    for (let i = 0; i < keys.length - 1; i++) {
      if (o[keys[i]] === null || typeof o[keys[i]] !== 'object') o[keys[i]] = typeof keys[i + 1] === 'number' ? [] : {};
      o = o[keys[i]];
    }
    o[keys[keys.length - 1]] = value;
  }
  function setData(patch, callback) {
    for (const k of Object.keys(patch || {})) setPath(this.data, k, patch[k]);
    if (typeof callback === 'function') later(callback.bind(this));
  }
  global.App = function (options) {
    app = options || {};
  };
  global.getApp = function () {
    return app;
  };
  global.getCurrentPages = function () {
    return stack.slice();
  };
  global.Page = function (options) {
    definitions[defining] = { kind: 'page', options: options || {} };
  };
  global.Component = function (options) {
    definitions[defining] = { kind: 'component', options: options || {} };
  };
  global.Behavior = function (options) {
    return options || {};
  };
  function fromComponent(o) {
    const merged = { data: {}, methods: {}, lifetimes: {} };
    for (const b of (o.behaviors || []).concat([o])) {
      Object.assign(merged.data, clone(b.data));
      for (const [k, p] of Object.entries(b.properties || {})) {
        if (p && typeof p === 'object' && 'value' in p) merged.data[k] = p.value;
      }
      Object.assign(merged.methods, b.methods || {});
      Object.assign(merged.lifetimes, b.lifetimes || {});
      for (const l of ['created', 'attached', 'ready']) if (b[l]) merged.lifetimes[l] = b[l];
    }
    return merged;
  }
  function current() {
    return stack[stack.length - 1];
  }
  // A custom component the page uses: its instance, whose triggerEvent calls
  // the page's handler bound to that event on the component's tag.
  function component(page, use) {
    const file = resolve('', '/' + use.path);
    if (file === null) return null;
    load(file);
    const def = definitions[use.path];
    if (!def) return null;
    const c = fromComponent(def.options);
    for (const [k, v] of Object.entries(use.props || {})) {
      const declared = (def.options.properties || {})[k];
      if (declared === undefined) continue;
      const type = typeof declared === 'function' ? declared : declared && declared.type;
      c.data[k] = type === Number ? Number(v) : type === Boolean ? v !== 'false' : v;
    }
    const inst = { is: use.path, data: c.data, properties: c.data, setData: setData };
    Object.assign(inst, c.methods);
    inst.triggerEvent = function (name, detail) {
      const handler = (use.events || {})[name];
      if (handler && typeof page[handler] === 'function') {
        page[handler]({ type: name, detail: detail, currentTarget: { dataset: {} }, target: { dataset: {} } });
      }
    };
    for (const l of ['created', 'attached']) if (c.lifetimes[l]) c.lifetimes[l].call(inst);
    inst.__ready = c.lifetimes.ready;
    return inst;
  }
  function open(route, query, uses) {
    if (!launched) {
      launched = true;
      if (host.exists('app.js')) load('app.js');
      if (app) {
        const launch = { path: route, query: query, scene: 1001 };
        if (app.onLaunch) app.onLaunch(launch);
        if (app.onShow) app.onShow(launch);
      }
    }
    const file = resolve('', '/' + route);
    if (file === null) throw new Error('no page at ' + route + ' (looked for ' + route + '.js and .ts)');
    load(file);
    const def = definitions[route];
    if (!def) throw new Error(route + '.js did not call Page() or Component()');
    const page = { route: route, options: query, setData: setData, __components: {} };
    let ready = null;
    if (def.kind === 'page') {
      for (const [k, v] of Object.entries(def.options)) page[k] = k === 'data' ? clone(v) : v;
      if (!page.data) page.data = {};
    } else {
      const c = fromComponent(def.options);
      page.data = c.data;
      Object.assign(page, c.methods);
      for (const l of ['created', 'attached']) if (c.lifetimes[l]) c.lifetimes[l].call(page);
      ready = c.lifetimes.ready;
    }
    stack.push(page);
    for (const use of uses || []) {
      const inst = component(page, use);
      if (inst) page.__components[use.name] = inst;
    }
    if (page.onLoad) page.onLoad(query);
    if (page.onShow) page.onShow();
    for (const inst of Object.values(page.__components)) if (inst.__ready) inst.__ready.call(inst);
    if (page.onReady) page.onReady();
    if (ready) ready.call(page);
  }

  global.__wxflow = {
    open: function (route, queryJson, usesJson) {
      open(normalize(route), JSON.parse(queryJson), JSON.parse(usesJson));
    },
    // Calls `handler` on the current page, or on its component `name`.
    tap: function (handler, eventJson, name) {
      const page = current();
      if (!page) throw new Error('no page is open: open one with page.open first');
      const target = name ? page.__components[name] : page;
      const fn = target && target[handler];
      if (typeof fn !== 'function') {
        throw new Error((name ? 'the component ' + name + ' of ' : 'the page ') + page.route + ' has no handler ' + handler);
      }
      const event = JSON.parse(eventJson);
      event.timeStamp = now;
      fn.call(target, event);
    },
    complete: complete,
    route: function () {
      return current() ? current().route : '';
    },
    // Milliseconds to the next one-shot timer, or -1 (intervals never keep the page busy).
    nextTimer: function () {
      let best = -1;
      for (const t of timers) if (!t.every && (best < 0 || t.at - now < best)) best = Math.max(0, t.at - now);
      return best;
    },
    fireTimer: function () {
      const i = earliest();
      if (i < 0) return;
      const t = timers[i];
      now = Math.max(now, t.at);
      if (t.every) t.at = now + t.every;
      else timers.splice(i, 1);
      t.fn.apply(null, t.args);
    },
  };
})(globalThis);
