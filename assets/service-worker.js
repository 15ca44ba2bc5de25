// goresnet's service worker: go-app's app-worker.js reworked so that the
// whole app works offline after one visit. The go-app Handler fills in
// {{.Version}} and {{.ResourcesToCache}} (the app, the worker files, the
// icons and styles: CacheableResources).
//
// - App files: cache first; the cache is named after the build's Version
//   and replaced when a new build is installed.
// - Pages: every navigation, whatever its route and query string, is
//   answered with the cached page of that path or else the cached "/"
//   (the app renders the route itself once app.wasm runs), so /train and
//   /data?name=digits load offline as / does.
// - Dataset index and manifests (/data/, /data/NAME/manifest.json):
//   network first, the last answer kept for offline use.
// - Shards (/data/NAME/*): the network, untouched (Range requests get 206
//   from the server; the workers keep shards in their own cache).
"use strict";

const cacheName = "app-" + "{{.Version}}";
const dataCacheName = "goresnet-data-index";
const resourcesToCache = {{.ResourcesToCache}};

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    console.log("installing app worker {{.Version}}");
    const cache = await caches.open(cacheName);
    // One by one, so that a missing file is reported rather than failing
    // the whole install; "reload" bypasses the HTTP cache.
    await Promise.all(resourcesToCache.map(async (url) => {
      try {
        await cache.add(new Request(url, { cache: "reload" }));
      } catch (err) {
        console.error("app worker: caching", url, "failed:", err);
      }
    }));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("app-") && key !== cacheName) {
        console.log("app worker: deleting", key);
        await caches.delete(key);
      }
    }
    await self.clients.claim();
    console.log("app worker {{.Version}} is activated");
  })());
});

const dataIndex = /^\/data\/([^/]+\/manifest\.json)?$/;

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") {
    return;
  }
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (dataIndex.test(url.pathname)) {
    event.respondWith(networkFirst(req));
    return;
  }
  if (url.pathname.startsWith("/data/")) {
    return;
  }
  if (req.mode === "navigate") {
    event.respondWith(page(req));
    return;
  }
  event.respondWith(cacheFirst(req));
});

async function page(req) {
  const cache = await caches.open(cacheName);
  const hit = (await cache.match(req, { ignoreSearch: true })) || (await cache.match("/"));
  return hit || fetch(req);
}

async function cacheFirst(req) {
  const cache = await caches.open(cacheName);
  return (await cache.match(req)) || fetch(req);
}

async function networkFirst(req) {
  const cache = await caches.open(dataCacheName);
  try {
    const resp = await fetch(req);
    if (resp.ok) {
      await cache.put(req, resp.clone());
    }
    return resp;
  } catch (err) {
    const hit = await cache.match(req, { ignoreSearch: true });
    if (hit) {
      return hit;
    }
    throw err;
  }
}
