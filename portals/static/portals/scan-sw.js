/* The scan page's service worker: the page opens with no signal after one visit.

   It is served from the scan page's own path (/customers/<id>/scan/sw.js), so its scope
   is that page and what lies under it. It keeps, in one cache per scope:
     - the page itself (its HTML, with the person's security token),
     - the list of bins the person may scan (bins/), from which the page draws the
       kanban cards, and
     - the page's scripts, styles and icons under /static/.
   Everything is fetched from the network first and the cache is refreshed with each
   good answer, so online the page is always current; the cache answers only when the
   network does not (or takes longer than NETWORK_MS for the page). Scans are never
   handled here: the page keeps them in localStorage with their event ids and sends them
   when the connection returns, so a resend is a duplicate on the server, never a
   second movement. Answers that are not the page itself (a redirect to the sign-in
   page, an error) are never kept. */
"use strict";

var VERSION = "cmi-scan-v1";
var NETWORK_MS = 4000;
var SCOPE = self.registration.scope;            // https://host/customers/7/scan/
var CACHE = VERSION + ":" + new URL(SCOPE).pathname;
var PAGE = SCOPE;
var BINS = SCOPE + "bins/";

function keepable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected;
}

function assets(html) {
  // The page's own scripts, styles and icons: every /static/ URL it names.
  var found = {};
  var re = /(?:src|href)="(\/static\/[^"?#]+)"/g;
  var match;
  while ((match = re.exec(html)) !== null) found[match[1]] = true;
  return Object.keys(found);
}

function remember(request, response) {
  if (!keepable(response)) return Promise.resolve();
  var copy = response.clone();
  return caches.open(CACHE).then(function (cache) { return cache.put(request, copy); });
}

function precache() {
  // The visit that installed the worker loaded the page before the worker ran: fetch
  // the page again, then everything it names, so the next open needs no network.
  return caches.open(CACHE).then(function (cache) {
    return fetch(PAGE, { credentials: "same-origin", cache: "no-store" }).then(function (page) {
      if (!keepable(page)) return undefined;
      return page.clone().text().then(function (html) {
        var wanted = assets(html).map(function (url) {
          return fetch(url, { credentials: "same-origin" }).then(function (response) {
            return keepable(response) ? cache.put(url, response) : undefined;
          });
        });
        wanted.push(cache.put(PAGE, page));
        wanted.push(fetch(BINS, { credentials: "same-origin", cache: "no-store" }).then(function (bins) {
          return keepable(bins) ? cache.put(BINS, bins) : undefined;
        }));
        return Promise.all(wanted);
      });
    });
  }).catch(function () { /* offline while installing: the next visit fills the cache */ });
}

self.addEventListener("install", function (event) {
  event.waitUntil(precache().then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  // Older versions' caches go; the open page is taken over at once, so even the first
  // visit's later requests are kept.
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("cmi-scan-") === 0 && name.indexOf(VERSION + ":") !== 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
}
);

function fromCache(request, fallback) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (hit) {
      return hit || (fallback ? cache.match(fallback) : undefined);
    });
  });
}

function networkFirst(event, request, key, waitMs) {
  return new Promise(function (resolve) {
    var settled = false;
    var timer = null;
    function cached() {
      return fromCache(key).then(function (hit) { return hit; });
    }
    function answer(response) {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(response);
    }
    var network = fetch(request).then(function (response) {
      event.waitUntil(remember(key, response));
      return response;
    });
    if (waitMs) {
      // A connection that hangs ("lie-fi"): the kept copy after waitMs, if there is one.
      timer = setTimeout(function () {
        cached().then(function (hit) { if (hit) answer(hit); });
      }, waitMs);
    }
    network.then(answer, function () {
      cached().then(function (hit) {
        answer(hit || Response.error());
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;  // scans go straight to the server
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.href.split("?")[0].split("#")[0] === PAGE) {
    event.respondWith(networkFirst(event, request, PAGE, NETWORK_MS));
  } else if (url.href === BINS) {
    event.respondWith(networkFirst(event, request, BINS, 0));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(networkFirst(event, request, url.pathname, 0));
  }
});
