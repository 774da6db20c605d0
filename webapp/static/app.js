// Behaviour shared by every page. No inline script anywhere: the CSP allows only these files.
(function () {
  "use strict";

  // A form marked data-once submits once: a double click or Enter pressed twice sends one request.
  // (The server is the real guard: the form's hidden nonce makes a resubmission find the first call.)
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
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
    // Coming back to the page from the browser's history re-enables it.
    window.addEventListener("pageshow", function () { delete form.dataset.submitted; });
  });

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

// Polling helper for live pages: calls fetchOnce() until it says stop, slowing down on errors
// and while the tab is hidden.
window.ExoPoll = function (fetchOnce, interval) {
  "use strict";
  var delay = interval, stopped = false, timer = null;
  function schedule(ms) { if (!stopped) timer = window.setTimeout(tick, ms); }
  function tick() {
    if (document.hidden) { schedule(interval * 4); return; }
    fetchOnce().then(function (keepGoing) {
      delay = interval;
      if (keepGoing) schedule(delay); else stopped = true;
    }, function () {
      delay = Math.min(delay * 2, 30000);
      schedule(delay);
    });
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !stopped) { window.clearTimeout(timer); tick(); }
  });
  schedule(interval);
  return { stop: function () { stopped = true; window.clearTimeout(timer); } };
};

window.ExoFetchJSON = function (url) {
  "use strict";
  return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
    .then(function (response) {
      if (response.status === 401) { window.location.reload(); throw new Error("signed out"); }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
};
