// worker.js: the bootstrap of a goresnet Web Worker. It loads Go's
// wasm_exec.js and any hook scripts, instantiates worker.wasm (the Go
// program in worker/), runs it, and relays messages between the page and
// Go. The protocol is described in worker/README.md.
//
// Extra WebAssembly imports (the hook): a script listed in HOOK_SCRIPTS
// (served from /web/, e.g. a file added to assets/web/) is loaded with
// importScripts before worker.wasm is instantiated. It may call
//
//   goresnetWorker.addWasmImports((go) => ({ module: { name: fn, ... } }))
//
// whose result is merged into the import object of worker.wasm (for Go
// functions declared with //go:wasmimport module name), and
//
//   goresnetWorker.onInstance((instance, go) => { ... })
//
// which runs after instantiation and before the Go program starts (e.g.
// to instantiate a second module on the Go module's memory,
// instance.exports.mem, and bind the functions the imports call). A hook
// may also wrap WebAssembly.instantiate itself; it runs before
// instantiation all the same. Hook scripts are served like every file
// under /web/ and cached for offline use with the app.
"use strict";

const HOOK_SCRIPTS = [
  // Publishes the Go memory so that model/kernels runs its hand-written
  // WebAssembly SIMD GEMM kernel (else the archsimd one): see the file.
  "/web/gemm_hook.js",
  // The summing loop of the training workers' all-reduce (worker/allreduce).
  "/web/allreduce.js",
];

const WASM_URL = "/web/worker.wasm";
const STDERR_TAIL = 4096; // bytes of the Go program's stderr kept for error reports

self.goresnetWorker = (() => {
  const importHooks = [];
  const instanceHooks = [];
  const queue = []; // messages that arrived before Go took over
  let receiver = null;
  let stderr = "";
  return {
    // addWasmImports registers fn(go) -> {module: {name: value}}.
    addWasmImports(fn) { importHooks.push(fn); },
    // onInstance registers fn(instance, go), called before go.run.
    onInstance(fn) { instanceHooks.push(fn); },
    // setReceiver is called by the Go program with its message handler;
    // messages queued before it are delivered in order.
    setReceiver(fn) {
      receiver = fn;
      while (queue.length > 0) {
        fn(queue.shift());
      }
    },
    _deliver(data) {
      if (receiver) {
        receiver(data);
      } else {
        queue.push(data);
      }
    },
    _importHooks: importHooks,
    _instanceHooks: instanceHooks,
    _appendStderr(s) { stderr = (stderr + s).slice(-STDERR_TAIL); },
    stderrTail() { return stderr; },
  };
})();

function postError(message, stack) {
  const m = { type: "error", message: String(message) };
  if (stack) {
    m.stack = String(stack);
  }
  self.postMessage(m);
}

self.onmessage = (event) => {
  try {
    self.goresnetWorker._deliver(event.data);
  } catch (err) {
    postError("worker: delivering a message to Go: " + err, err && err.stack);
  }
};

self.onerror = (event) => {
  postError("worker: " + (event.message || event), event.error && event.error.stack);
};

self.onunhandledrejection = (event) => {
  postError("worker: " + event.reason, event.reason && event.reason.stack);
};

async function start() {
  importScripts("/wasm_exec.js", ...HOOK_SCRIPTS);

  // Keep the tail of what Go writes to stderr (a panic's message and
  // stack) to report it if the program dies.
  const fs = globalThis.fs;
  const writeSync = fs.writeSync;
  const decoder = new TextDecoder("utf-8");
  fs.writeSync = function (fd, buf) {
    if (fd === 2) {
      self.goresnetWorker._appendStderr(decoder.decode(buf));
    }
    return writeSync.call(this, fd, buf);
  };

  const go = new Go();
  let exitCode = null;
  const exit = go.exit;
  go.exit = (code) => {
    exitCode = code;
    exit.call(go, code);
  };

  const w = self.goresnetWorker;
  for (const hook of w._importHooks) {
    const extra = hook(go) || {};
    for (const [module, fields] of Object.entries(extra)) {
      go.importObject[module] = Object.assign(go.importObject[module] || {}, fields);
    }
  }

  let result;
  if (WebAssembly.instantiateStreaming) {
    result = await WebAssembly.instantiateStreaming(fetch(WASM_URL), go.importObject);
  } else {
    const bytes = await (await fetch(WASM_URL)).arrayBuffer();
    result = await WebAssembly.instantiate(bytes, go.importObject);
  }
  for (const hook of w._instanceHooks) {
    await hook(result.instance, go);
  }

  await go.run(result.instance);
  // The Go program does not return while the worker works: it ended.
  const tail = w.stderrTail().trim();
  postError("worker: the Go program exited" + (exitCode !== null ? " with code " + exitCode : "") + (tail ? ": " + tail.split("\n")[0] : ""), tail);
}

start().catch((err) => {
  postError("worker: starting " + WASM_URL + ": " + err, err && err.stack);
});
