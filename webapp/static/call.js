// The call page follows its call: poll the status endpoint until the call is final.
(function () {
  "use strict";
  var root = document.getElementById("call-live");
  if (!root || root.dataset.final === "true") return;

  function openPanels() {
    var open = {};
    root.querySelectorAll("details[open][data-key]").forEach(function (el) { open[el.dataset.key] = true; });
    return open;
  }

  // The status shown, as its badge's data-status, the word's key (data-shown) and its words.
  function shown() {
    var badge = root.querySelector(".status-line .badge");
    return badge ? { status: badge.dataset.status, word: badge.dataset.shown, label: badge.textContent.trim() } : null;
  }

  // A new stored status is said; so is a call becoming overdue (its status unchanged, its final callback late).
  function changed(before, after) {
    return !before || before.status !== after.status || (after.word === "overdue" && before.word !== "overdue");
  }

  function update(data) {
    if (data === null) return root.dataset.final !== "true";  // 304: nothing changed
    if (data.html !== undefined && data.version !== root.dataset.version) {
      var before = shown();
      var open = openPanels();
      // The server renders this fragment with Jinja's escaping; nothing here builds markup from data.
      root.innerHTML = data.html;
      root.querySelectorAll("details[data-key]").forEach(function (el) {
        if (open[el.dataset.key]) el.open = true;
      });
      root.dataset.version = data.version;
      var after = shown();
      // A new event without a new status (a late callback, a reconcile) redraws the page silently.
      if (after && changed(before, after)) window.ExoAnnounce("Call status: " + after.label);
    }
    root.dataset.final = data.final ? "true" : "false";
    return !data.final;
  }

  window.ExoPoll(function () {
    var url = root.dataset.pollUrl + "?version=" + encodeURIComponent(root.dataset.version || "");
    return window.ExoFetchJSON(url).then(update);
  }, 1000);
})();
