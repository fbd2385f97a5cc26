'use strict';
/**
 * What the bundles get for `cls-hooked/context` (see `lib/bundling/esbuild.ts`): the continuation-local
 * namespace the X-Ray SDK keeps its current segment in (`context_utils.js`), on Node's
 * AsyncLocalStorage instead of cls-hooked's own async_hooks bookkeeping with its emitter-listener and
 * shimmer dependencies (about 11 KB of every bundle that loads the Tracer).
 *
 * Only what the X-Ray SDK calls: `createNamespace`, `getNamespace`, `destroyNamespace`, and a
 * namespace's `createContext`, `enter`, `exit`, `get`, `set`, `run`, `runAndReturn`, `bind`.
 * cls-hooked's semantics are kept where the SDK relies on them:
 * - `enter` outside any `run` (the Lambda environment's start-up enters the context that holds the
 *   facade segment) makes that context the active one everywhere no `run` says otherwise;
 * - `run(fn)` gives `fn`, and everything asynchronous it starts, a child context inheriting the
 *   active one (`captureFunc`/`captureAsyncFunc` set their subsegment there);
 * - `set` without an active context throws, `get` without one answers undefined.
 */
const { AsyncLocalStorage } = require('node:async_hooks');

const namespaces = new Map();

class Namespace {
  constructor(name) {
    this.name = name;
    this.storage = new AsyncLocalStorage();
    /** Contexts entered outside any `run`, the last one active. */
    this.entered = [];
  }

  get active() {
    return this.storage.getStore() ?? this.entered[this.entered.length - 1] ?? null;
  }

  createContext() {
    const context = Object.create(this.active ?? Object.prototype);
    context._ns_name = this.name;
    return context;
  }

  enter(context) {
    if (!context) throw new Error('context must be provided for entering');
    if (this.storage.getStore() === undefined) this.entered.push(context);
    else this.storage.enterWith(context);
  }

  exit(context) {
    const index = this.entered.lastIndexOf(context);
    if (index >= 0) this.entered.splice(index, 1);
  }

  set(key, value) {
    const context = this.active;
    if (!context) throw new Error('No context available. ns.run() or ns.bind() must be called first.');
    context[key] = value;
    return value;
  }

  get(key) {
    return this.active?.[key];
  }

  run(fn) {
    const context = this.createContext();
    this.storage.run(context, () => fn(context));
    return context;
  }

  runAndReturn(fn) {
    let value;
    this.run((context) => {
      value = fn(context);
    });
    return value;
  }

  bind(fn, context) {
    const bound = context ?? this.active ?? this.createContext();
    const storage = this.storage;
    return function boundToContext(...args) {
      return storage.run(bound, () => fn.apply(this, args));
    };
  }
}

module.exports = {
  getNamespace: (name) => namespaces.get(name),
  createNamespace: (name) => {
    const namespace = new Namespace(name);
    namespaces.set(name, namespace);
    return namespace;
  },
  destroyNamespace: (name) => {
    namespaces.delete(name);
  },
  reset: () => namespaces.clear(),
  ERROR_SYMBOL: 'error@context',
};
