// Behaviour shared by every page. No inline script anywhere: the CSP allows only these files.
(function () {
  "use strict";

  // A form marked data-once submits once: a double click or Enter pressed twice sends one request.
  // (The server is the real guard: the form's hidden nonce makes a resubmission find the first call.)
  // Listened for on the document, so forms a live page renders later (the call page's) are covered too.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-once]")) return;
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      button.setAttribute("aria-disabled", "true");
      button.classList.add("busy");
    });
  });
  // Coming back to the page from the browser's history re-enables its forms.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) { delete form.dataset.submitted; });
  });

  // A form that came back with faults: its summary takes the focus (and is read out), and each
  // of its links moves the focus into the field it names, not only the view.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var target = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!target) return;
      event.preventDefault();
      target.focus();
      target.scrollIntoView({ block: "center" });
    });
  }

  // Character counters: "12 / 128" as people type; over the limit it says by how much, and a screen
  // reader hears it once typing pauses. The text is never cut short: the server refuses what is too long.
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var input = document.getElementById(counter.dataset.counterFor);
    if (!input) return;
    var limit = parseInt(counter.dataset.limit, 10);
    var count = counter.querySelector("[data-counter-count]");
    var over = counter.querySelector("[data-counter-over]");
    var status = document.getElementById(counter.id + "-status");
    var timer = null;
    var update = function () {
      var used = Array.from(input.value).length;  // characters, as the server counts them (not UTF-16 units)
      var extra = used - limit;
      count.textContent = used + " / " + limit;
      over.textContent = extra > 0 ? ": " + extra + " too many" : "";
      counter.classList.toggle("over", extra > 0);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        if (status) status.textContent = extra > 0 ? extra + " characters too many" : (limit - used) + " characters left";
      }, 800);
    };
    input.addEventListener("input", update);
  });

  // Copy buttons ([data-copy]): shown only where the Clipboard API works (see .can-copy in app.css).
  if (navigator.clipboard && window.isSecureContext) {
    document.documentElement.classList.add("can-copy");
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-copy]");
      if (!button) return;
      var status = document.getElementById(button.dataset.copyStatus || "copy-status");
      var say = function (text) {
        if (!status) return;
        status.textContent = "";  // a repeated word is announced again
        window.setTimeout(function () { status.textContent = text; }, 50);
      };
      navigator.clipboard.writeText(button.dataset.copy).then(
        function () { say(("Copied " + (button.dataset.copyName || "")).trim()); },
        function () { say("Could not copy: select the text and copy it instead."); }
      );
    });
  }

  // A list's filters (details[data-filter-panel]) stay open on a wide screen; on a phone they fold away
  // unless a filter is active, so the first screen shows the list. Once the user opens or closes them,
  // their choice stands, even if the screen turns.
  var narrow = window.matchMedia("(max-width: 600px)");
  document.querySelectorAll("details[data-filter-panel]").forEach(function (panel) {
    var chosen = false;
    panel.querySelector("summary").addEventListener("click", function () { chosen = true; });
    var fit = function () {
      if (!chosen) panel.open = !narrow.matches || panel.hasAttribute("data-keep-open");
    };
    fit();
    narrow.addEventListener("change", fit);
  });

  // Settings: a search box narrows the zone list to the options whose city, region or country match.
  var search = document.getElementById("zone-search");
  var zones = document.getElementById("timezone");
  if (search && zones) {
    var count = document.getElementById("zone-count");
    var fold = function (text) { return text.toLowerCase().replace(/[_/·,]/g, " ").replace(/\s+/g, " "); };
    document.getElementById("zone-search-field").hidden = false;
    search.addEventListener("input", function () {
      var words = fold(search.value).trim().split(" ").filter(Boolean);
      var matches = Array.prototype.filter.call(zones.options, function (option) {
        var text = fold(option.value + " " + option.textContent);
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        option.hidden = !match;
        return match;
      });
      // The choice follows the search, unless the current one still matches: the first zone whose
      // country starts with the words (India, not Indiana), else whose city does, else the first match.
      var query = words.join(" ");
      var rank = function (option) {
        var parts = option.textContent.split("·");
        var city = fold(parts[0].split("/").pop()).trim(), country = fold(parts[1] || "").trim();
        return country.indexOf(query) === 0 ? 2 : city.indexOf(query) === 0 ? 1 : 0;
      };
      if (matches.length && matches.indexOf(zones.selectedOptions[0]) === -1) {
        var best = matches[0];
        matches.forEach(function (option) { if (rank(option) > rank(best)) best = option; });
        best.selected = true;
      }
      count.textContent = words.length ? matches.length + (matches.length === 1 ? " zone matches." : " zones match.") : "";
    });
  }

  // Settings: suggest the browser's own zone.
  var hint = document.getElementById("browser-zone");
  var select = document.getElementById("timezone");
  if (hint && select && window.Intl) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && select.querySelector('option[value="' + zone.replace(/"/g, "") + '"]') && select.value !== zone) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.textContent = "Use this device's zone, " + zone;
      button.addEventListener("click", function () { select.value = zone; });
      hint.appendChild(button);
      hint.hidden = false;
    }
  }
})();

// Polling helper for live pages: calls fetchOnce() until it says stop, slowing down on errors.
// A hidden tab (Page Visibility API) asks at most every HIDDEN_MS; showing it again asks at once.
window.ExoPoll = function (fetchOnce, interval) {
  "use strict";
  var HIDDEN_MS = Math.max(interval * 10, 30000);
  var delay = interval, stopped = false, timer = null, busy = false, last = 0;
  function schedule(ms) { if (!stopped) { window.clearTimeout(timer); timer = window.setTimeout(tick, ms); } }
  function tick() {
    if (stopped || busy) return;
    if (document.hidden && Date.now() - last < HIDDEN_MS) { schedule(HIDDEN_MS - (Date.now() - last)); return; }
    busy = true;
    last = Date.now();
    fetchOnce().then(function (keepGoing) {
      busy = false;
      delay = interval;
      if (keepGoing) schedule(document.hidden ? HIDDEN_MS : delay); else stopped = true;
    }, function () {
      busy = false;
      delay = Math.min(delay * 2, 30000);
      schedule(document.hidden ? Math.max(delay, HIDDEN_MS) : delay);
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !stopped) tick();
  });
  schedule(interval);
  return { stop: function () { stopped = true; window.clearTimeout(timer); } };
};

// JSON that a page polls, sent with the ETag of its last answer: resolves to the data,
// or to null when the server answers 304 Not Modified (nothing changed, nothing sent).
window.ExoFetchJSON = (function () {
  "use strict";
  var etags = {};
  var fetchJSON = function (url) {
    var headers = { "Accept": "application/json" };
    if (etags[url]) headers["If-None-Match"] = etags[url];
    return fetch(url, { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); throw new Error("signed out"); }
        if (response.status === 304) return null;
        if (!response.ok) throw new Error("HTTP " + response.status);
        var tag = response.headers.get("ETag");
        if (tag) etags[url] = tag;
        return response.json();
      });
  };
  // A page rendered with a version already holds that answer: its first poll can get a 304.
  fetchJSON.remember = function (url, version) { etags[url] = '"' + version + '"'; };
  return fetchJSON;
})();

// Says `text` once through the page's polite live region (base.html), e.g. a status that just changed.
// Pages call it only on a change, never on every poll.
window.ExoAnnounce = function (text) {
  "use strict";
  var region = document.getElementById("live-announcer");
  if (region && text) region.textContent = text;
};

// A chart wider than its frame scrolls sideways (see the chart_frame macro); its hint shows only while it
// does. Pages that replace their charts while polling call it again.
window.ExoChartHints = function () {
  "use strict";
  document.querySelectorAll(".chart-scroll").forEach(function (frame) {
    var hint = frame.nextElementSibling;
    if (hint && hint.classList.contains("chart-hint")) hint.hidden = frame.scrollWidth <= frame.clientWidth + 1;
  });
};
window.ExoChartHints();
window.addEventListener("resize", window.ExoChartHints);
