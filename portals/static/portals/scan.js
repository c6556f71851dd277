/* Scan in the browser.

   Every scan gets its event id (a UUID) and its time when it is recorded, and goes into
   a queue in localStorage before anything is sent: a reload, a lost connection or a
   closed tab loses nothing, and a resend is a duplicate on the server, never a second
   movement. The queue is sent when the page opens, after each scan, when the browser
   says it is online again, and every RETRY_MS as a fallback. An event leaves the queue
   only when the server has judged it (accepted, duplicate or rejected); a network
   failure or a server error keeps it and is tried again after a growing pause (backoff).
   A batch the server refuses whole with 400 or 413 is split in halves until the event
   it cannot take is alone; that event is then dropped and shown as rejected, so one bad
   scan never holds the queue. Any other 4xx (signed out, an old page) stops the automatic
   retries until the person acts ("Send now", a reload): nothing is dropped, nothing
   is retried forever.

   The page is an installable app: a service worker (scan-sw.js, registered here) keeps
   the page, its files and the list of bins, so it opens with no signal after one visit.
   Kanban bins from that list are drawn as cards: tapping one queues a kanban event,
   sent like any other scan. */
(function () {
  "use strict";

  var form = document.getElementById("scan-form");
  if (!form) return;

  var BATCH = 50;           // events per request; the server takes up to 1000
  var RETRY_MS = 15000;
  var BACKOFF_MS = 2000;     // first pause after a failure; doubles up to BACKOFF_MAX_MS
  var BACKOFF_MAX_MS = 300000;
  var TIMEOUT_MS = 20000;   // a request that hangs longer is given up (and kept) so retries go on
  var SHOWN = 30;           // results kept on screen
  var endpoint = form.dataset.endpoint;
  var csrf = form.dataset.csrf;
  var key = form.dataset.storageKey;

  var el = function (id) { return document.getElementById(id); };
  var controls = el("scan-controls");
  var code = el("scan-code");
  var quantity = el("scan-quantity");
  var quantityLabel = el("scan-quantity-label");
  var locationInput = el("scan-location");
  var codeError = el("scan-code-error");
  var quantityError = el("scan-quantity-error");
  var waiting = el("scan-waiting");
  var conn = el("scan-conn");
  var announce = el("scan-announce");
  var list = el("scan-results");
  var empty = el("scan-empty");
  var sendNow = el("scan-send");

  var KIND_LABEL = { receive: "Receive", issue: "Issue", count: "Count", kanban: "Kanban card" };
  var memoryQueue = [];      // used only when localStorage is unavailable
  var storageWorks = true;
  var sending = false;
  var rows = {};             // event id -> its <li>
  var size = BATCH;          // smaller while a refused batch is split in halves
  var failures = 0;          // server errors and lost connections in a row
  var notBefore = 0;         // no automatic send before this time (backoff)
  var paused = false;        // a 4xx that only the person can fix: no automatic sends
  var retryTimer = null;

  /* --- ids and the queue ------------------------------------------------------------- */

  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues does not.
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function load() {
    if (!storageWorks) return memoryQueue.slice();
    try {
      var parsed = JSON.parse(window.localStorage.getItem(key) || "[]");
      return Array.isArray(parsed) ? parsed : [];
    } catch (e) {
      return [];
    }
  }

  function save(queue) {
    memoryQueue = queue.slice();
    if (!storageWorks) return;
    try {
      window.localStorage.setItem(key, JSON.stringify(queue));
    } catch (e) {
      storageWorks = false;
      say("This browser cannot keep scans across a reload; keep the page open until they are sent.");
    }
  }

  try {
    window.localStorage.getItem(key);
  } catch (e) {
    storageWorks = false;
  }

  /* --- what the person sees ---------------------------------------------------------- */

  function say(text, status) {
    // Cleared first so that the same sentence twice is announced twice.
    announce.textContent = "";
    announce.className = "scan-announce" + (status ? " scan-announce--" + status : "");
    window.setTimeout(function () { announce.textContent = text; }, 50);
  }

  function clock(iso) {
    // In the customer's time zone, as every time in the portal is.
    var options = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
    try {
      return new Date(iso).toLocaleTimeString([], Object.assign({ timeZone: form.dataset.timezone }, options));
    } catch (e) {
      return new Date(iso).toLocaleTimeString([], options);
    }
  }

  function describe(event) {
    var what = KIND_LABEL[event.kind] + (event.kind === "kanban" ? "" : " " + event.quantity);
    return what + " · " + event.code + (event.location ? " at " + event.location : "");
  }

  function binText(bin, result) {
    if (!bin) return "";
    var lot = (result && result.lot ? " · lot " + result.lot : "") +
      (result && result.expiry ? " · expires " + result.expiry : "");
    return bin.sku + " · " + bin.description + " · " + bin.location + lot + " · on hand now " + bin.on_hand;
  }

  function row(event) {
    var li = rows[event.event_id];
    if (li) return li;
    li = document.createElement("li");
    li.className = "scan-result";
    li.dataset.eventId = event.event_id;
    var head = document.createElement("div");
    head.className = "scan-result__head";
    var what = document.createElement("span");
    what.className = "scan-result__what";
    what.textContent = describe(event);
    var badge = document.createElement("span");
    badge.className = "badge scan-badge";
    head.appendChild(what);
    head.appendChild(badge);
    var detail = document.createElement("p");
    detail.className = "scan-result__detail";
    var when = document.createElement("time");
    when.className = "scan-result__when";
    when.dateTime = event.occurred_at;
    when.textContent = clock(event.occurred_at);
    li.appendChild(head);
    li.appendChild(detail);
    li.appendChild(when);
    list.insertBefore(li, list.firstChild);
    rows[event.event_id] = li;
    while (list.children.length > SHOWN) {
      var last = list.lastElementChild;
      delete rows[last.dataset.eventId];
      list.removeChild(last);
    }
    empty.hidden = true;
    return li;
  }

  var STATUS = {
    waiting: "Waiting",
    sending: "Sending",
    accepted: "Accepted",
    duplicate: "Already recorded",
    rejected: "Rejected"
  };

  function show(event, status, detail) {
    var li = row(event);
    li.dataset.status = status;
    var badge = li.querySelector(".scan-badge");
    badge.className = "badge scan-badge scan-badge--" + status;
    badge.textContent = STATUS[status];
    li.querySelector(".scan-result__detail").textContent = detail || "";
  }

  function refreshCount() {
    var n = load().length;
    waiting.textContent = String(n);
    sendNow.hidden = n === 0;
    var online = navigator.onLine !== false;
    conn.textContent = online ? "Online" : "Offline";
    conn.className = "scan-conn scan-conn--" + (online ? "online" : "offline");
  }

  /* --- sending ----------------------------------------------------------------------- */

  function settle(sent, results) {
    var judged = {};
    var tally = { accepted: 0, duplicate: 0, rejected: 0 };
    var last = "";
    results.forEach(function (result, index) {
      var event = sent[index];
      if (!event || !(result.status in tally)) return;
      judged[event.event_id] = true;
      tally[result.status] += 1;
      if (result.status === "rejected") {
        var reason = (result.error && result.error.detail) || "Rejected.";
        show(event, "rejected", reason);
        last = "Rejected: " + describe(event) + ". " + reason;
      } else {
        var text = binText(result.bin, result);
        show(event, result.status, text);
        last = STATUS[result.status] + ": " + describe(event) + (text ? ". " + text : "");
      }
    });
    var worst = tally.rejected ? "rejected" : (tally.accepted ? "accepted" : "duplicate");
    if (sent.length > 1) {
      // Waiting scans sent together: one sentence for all of them, not the last one only.
      last = sent.length + " scans sent: " + tally.accepted + " accepted, " +
        tally.duplicate + " already recorded, " + tally.rejected + " rejected.";
    }
    if (last) say(last, worst);
    // Read again: scans recorded while this batch was on its way stay in the queue.
    save(load().filter(function (e) { return !judged[e.event_id]; }));
  }

  function waitingText(event, why) {
    // Offline, the kept bins list still says what a waiting scan's label holds.
    var what = known[event.code] || "";
    return what && why ? what + ". " + why : what || why || "";
  }

  function keep(sent, why) {
    sent.forEach(function (event) { show(event, "waiting", waitingText(event, why)); });
  }

  function backoff() {
    // 2 s, 4 s, 8 s ... up to 5 minutes, with jitter so phones do not retry in step.
    failures += 1;
    var delay = Math.min(BACKOFF_MS * Math.pow(2, failures - 1), BACKOFF_MAX_MS);
    delay = Math.round(delay * (0.75 + Math.random() * 0.5));
    notBefore = Date.now() + delay;
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(function () { flush(); }, delay);
  }

  function drop(event, code, detail) {
    // The server will never take this event: out of the queue, on the screen.
    var reason = detail + (code ? " (" + code + ")" : "");
    show(event, "rejected", reason);
    say("Rejected: " + describe(event) + ". " + reason, "rejected");
    save(load().filter(function (e) { return e.event_id !== event.event_id; }));
  }

  function refused(batch, status, body) {
    // The batch as a whole was refused. Returns true when sending may go on at once.
    var code = body && body.error ? body.error.code : "";
    var detail = body && body.error ? body.error.detail : "The server refused the scans.";
    if (status === 400 || status === 413) {
      // Something in the batch cannot be taken: halve until it is alone, then drop it.
      if (batch.length > 1) {
        size = Math.ceil(batch.length / 2);
        keep(batch, "");
        return true;
      }
      drop(batch[0], code, detail);
      return true;
    }
    // Signed out, an old page, no longer allowed: the events are fine, so they stay;
    // the person fixes the cause and sends them.
    paused = true;
    keep(batch, detail);
    say("Not sent: " + detail, "rejected");
    return false;
  }

  function flush(manual) {
    if (sending) return Promise.resolve();
    if (manual === true) {
      paused = false;
      notBefore = 0;
    } else if (paused || Date.now() < notBefore) {
      refreshCount();
      return Promise.resolve();
    }
    var batch = load().slice(0, size);
    refreshCount();
    if (!batch.length) return Promise.resolve();
    if (navigator.onLine === false) {
      keep(batch, "No connection; it will be sent when the connection returns.");
      return Promise.resolve();
    }
    sending = true;
    batch.forEach(function (event) { show(event, "sending", ""); });
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = window.setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    return fetch(endpoint, {
      method: "POST",
      signal: controller ? controller.signal : undefined,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ scans: batch })
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (response.ok && body && Array.isArray(body.results)) {
          settle(batch, body.results);
          failures = 0;
          notBefore = 0;
          size = Math.min(BATCH, size * 2);
          return true;
        }
        var status = response.status;
        if (status >= 500 || status === 408 || status === 429 || !body) {
          keep(batch, "The server had a problem; it will be tried again.");
          backoff();
          return false;
        }
        return refused(batch, status, body);
      });
    }, function () {
      keep(batch, "No connection; it will be sent when the connection returns.");
      backoff();
      return false;
    }).catch(function () {
      return false;  // whatever went wrong, the queue is intact and the next try comes
    }).then(function (more) {
      window.clearTimeout(timer);
      sending = false;
      refreshCount();
      if (more && load().length) return flush();
    });
  }

  /* --- recording --------------------------------------------------------------------- */

  function kind() {
    var checked = form.querySelector("input[name=kind]:checked");
    return checked ? checked.value : "issue";
  }

  function fieldError(input, box, text) {
    box.textContent = text || "";
    box.hidden = !text;
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function kindChanged() {
    var isCount = kind() === "count";
    quantity.min = isCount ? "0" : "1";
    quantityLabel.textContent = isCount ? "Counted quantity" : "Quantity";
  }

  function record(evt) {
    if (evt) evt.preventDefault();
    var text = code.value.trim();
    var low = kind() === "count" ? 0 : 1;
    var qty = Number(quantity.value);
    var badCode = text ? "" : "Scan or type a code.";
    var badQty = quantity.value !== "" && Number.isInteger(qty) && qty >= low && qty <= 1000000
      ? "" : "Enter a whole number from " + low + " to 1000000.";
    fieldError(code, codeError, badCode);
    fieldError(quantity, quantityError, badQty);
    if (badCode || badQty) {
      (badCode ? code : quantity).focus();
      return;
    }
    var event = {
      event_id: uuid4(),
      kind: kind(),
      code: text,
      quantity: qty,
      occurred_at: new Date().toISOString()
    };
    var place = locationInput.value.trim();
    if (place) event.location = place;
    enqueue(event);
    code.value = "";
    quantity.value = kind() === "count" ? "" : "1";
    code.focus();
  }

  function enqueue(event) {
    var queue = load();
    queue.push(event);
    save(queue);
    show(event, "waiting", waitingText(event, ""));
    flush();
  }

  /* --- the bins list and the kanban cards ---------------------------------------------- */

  var known = {};            // bin label -> what it holds, for scans waiting offline
  var cards = el("scan-cards");
  var cardsBox = el("scan-kanban");
  var CARD_PAUSE_MS = 3000;  // one tap, one card: a second tap this soon is ignored

  function card(bin) {
    var li = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "scan-card";
    button.dataset.label = bin.label;
    var title = document.createElement("span");
    title.className = "scan-card__label";
    title.textContent = bin.label;
    var what = document.createElement("span");
    what.className = "scan-card__what";
    what.textContent = bin.sku + " · " + bin.description;
    var where = document.createElement("span");
    where.className = "scan-card__where";
    where.textContent = bin.location + " · card of " + bin.kanban_quantity;
    button.appendChild(title);
    button.appendChild(what);
    button.appendChild(where);
    button.setAttribute("aria-label", "Send the kanban card of " + bin.label + ", " + bin.sku +
      " " + bin.description + ", at " + bin.location);
    button.addEventListener("click", function () {
      if (button.disabled) return;
      button.disabled = true;
      window.setTimeout(function () { button.disabled = false; }, CARD_PAUSE_MS);
      enqueue({
        event_id: uuid4(),
        kind: "kanban",
        code: bin.label,
        occurred_at: new Date().toISOString()
      });
    });
    li.appendChild(button);
    return li;
  }

  function binsShow(bins) {
    known = {};
    cards.textContent = "";
    bins.forEach(function (bin) {
      known[bin.label] = bin.sku + " · " + bin.description + " · " + bin.location;
      if (bin.kanban_quantity) cards.appendChild(card(bin));
    });
    cardsBox.hidden = !cards.children.length;
    // Scans already waiting when the list arrived: say what they hold too.
    load().forEach(function (event) {
      var li = rows[event.event_id];
      if (li && li.dataset.status === "waiting" && !li.querySelector(".scan-result__detail").textContent) {
        show(event, "waiting", waitingText(event, ""));
      }
    });
  }

  function binsLoad() {
    // Online this is the server's list; offline the service worker answers with the
    // one it kept at the last visit.
    if (!form.dataset.bins || typeof fetch !== "function") return;
    fetch(form.dataset.bins, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body && Array.isArray(body.bins)) binsShow(body.bins); })
      .catch(function () { /* no list: no cards, scanning by code still works */ });
  }

  /* --- the installable app --------------------------------------------------------------- */

  function workerStart() {
    if (!("serviceWorker" in navigator) || !form.dataset.worker) return;
    navigator.serviceWorker.register(form.dataset.worker, { scope: form.dataset.scope })
      .catch(function () { /* not a secure context, or blocked: the page works online */ });
  }

  form.addEventListener("submit", record);
  // Enter in the quantity box records too (a number input alone does not submit in every browser).
  quantity.addEventListener("keydown", function (e) {
    if (e.key === "Enter") record(e);
  });
  Array.prototype.forEach.call(form.querySelectorAll("input[name=kind]"), function (radio) {
    radio.addEventListener("change", function () {
      kindChanged();
      if (kind() === "count") quantity.value = "";
      else if (quantity.value === "") quantity.value = "1";
      code.focus();
    });
  });
  Array.prototype.forEach.call(form.querySelectorAll(".scan-step"), function (button) {
    button.addEventListener("click", function () {
      var now = parseInt(quantity.value, 10) || 0;
      quantity.value = String(Math.max(Number(quantity.min) || 0, now + Number(button.dataset.step)));
    });
  });
  sendNow.addEventListener("click", function () { flush(true); });

  window.addEventListener("online", function () { refreshCount(); flush(true); });
  window.addEventListener("offline", refreshCount);
  // Another tab of this page changed the queue.
  window.addEventListener("storage", function (e) { if (e.key === key) refreshCount(); });
  window.setInterval(flush, RETRY_MS);

  /* --- the camera, where the browser can read barcodes --------------------------------- */

  var cameraButton = el("scan-camera");
  var panel = el("scan-camera-panel");
  var video = el("scan-video");
  var cameraNote = el("scan-camera-note");
  var stream = null;
  var detector = null;
  var looking = false;

  function cameraStop() {
    looking = false;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
    cameraButton.setAttribute("aria-expanded", "false");
  }

  function look() {
    if (!looking) return;
    detector.detect(video).then(function (found) {
      if (!looking) return;
      if (found.length && found[0].rawValue) {
        code.value = found[0].rawValue;
        cameraStop();
        record(null);
        return;
      }
      window.setTimeout(look, 200);
    }, function () { window.setTimeout(look, 400); });
  }

  function cameraStart() {
    cameraNote.textContent = "Hold the barcode inside the frame.";
    panel.hidden = false;
    cameraButton.setAttribute("aria-expanded", "true");
    var formats = window.BarcodeDetector.getSupportedFormats
      ? window.BarcodeDetector.getSupportedFormats()
      : Promise.resolve([]);
    formats.then(function (supported) {
      detector = supported.length ? new window.BarcodeDetector({ formats: supported }) : new window.BarcodeDetector();
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (media) {
      stream = media;
      video.srcObject = media;
      return video.play();
    }).then(function () {
      looking = true;
      look();
    }).catch(function (err) {
      cameraStop();
      panel.hidden = false;
      cameraNote.textContent = "The camera could not start (" + (err && err.name ? err.name : "error") + "). Type the code instead.";
    });
  }

  if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    cameraButton.hidden = false;
    cameraButton.addEventListener("click", function () {
      if (stream) cameraStop(); else cameraStart();
    });
    el("scan-camera-stop").addEventListener("click", function () { cameraStop(); code.focus(); });
  }

  /* --- start ------------------------------------------------------------------------- */

  controls.disabled = false;
  workerStart();
  binsLoad();
  kindChanged();
  load().forEach(function (event) { show(event, "waiting", ""); });
  refreshCount();
  code.focus();
  flush();
})();
