// The app shell, kept so that Parley opens without a network: every file of
// the client, cached together under this version (the server names it after
// their contents), served from the cache first so one page never mixes two
// versions. A new version is fetched in the background and takes over at
// the next load. The API and the live connection are never cached: what the
// client shows of the conversation always comes from the server, and what
// it must not lose waits in its outbox, as it does without this worker.

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `parley-shell-${VERSION}`;
// Every address the client routes (`/c/…`, `/invite/…`, `/reset/…`) is the same page.
const PAGE = "/";
const ROUTED = /^\/(?:c\/[0-9A-Za-z-]+(?:\/\d+)?|(?:invite|reset)\/[A-Za-z0-9_-]+)?$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("parley-shell-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const page = request.mode === "navigate" && ROUTED.test(url.pathname);
  if (!page && !SHELL.includes(url.pathname)) return; // the API, and anything else: the network, as without a worker
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(page ? PAGE : url.pathname);
    return hit ?? fetch(request);
  })());
});
