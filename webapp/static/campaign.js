// The campaign's progress page follows it: poll the live part every few seconds (less often while the tab
// is hidden, see ExoPoll) until nothing is left to happen.
(function () {
  "use strict";
  var root = document.getElementById("campaign-live");
  if (!root) return;
  var poller = null;

  // The controls live inside the part that is replaced, so their submit-once guard is delegated here.
  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.liveSent === "true") { event.preventDefault(); return; }
    form.dataset.liveSent = "true";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      button.setAttribute("aria-disabled", "true");
      button.classList.add("busy");
    });
    if (poller) poller.stop(); // the answer to this press replaces the page
  });

  // The campaign's status badge: its data-status and its words.
  function shown() {
    var badge = root.querySelector(".status-line .badge");
    return badge ? { status: badge.dataset.status, label: badge.textContent.trim() } : null;
  }

  function update(data) {
    if (data.html !== undefined && data.version !== root.dataset.version) {
      var before = shown();
      // The server renders this fragment with Jinja's escaping; nothing here builds markup from data.
      root.innerHTML = data.html;
      root.dataset.version = data.version;
      window.ExoChartHints();
      // Counts and pace change on most polls and are not read out; a new status is, once.
      var after = shown();
      if (after && (!before || before.status !== after.status)) {
        window.ExoAnnounce("Campaign status: " + after.label);
        // What the last press said ("Started: calls are placed ...") told of the status before this one.
        document.querySelectorAll(".flashes").forEach(function (box) { box.remove(); });
      }
    }
    root.dataset.final = data.final ? "true" : "false";
    return !data.final;
  }

  if (root.dataset.final === "true") return;
  var seconds = parseInt(root.dataset.pollSeconds, 10) || 3;
  poller = window.ExoPoll(function () {
    var url = root.dataset.pollUrl;
    url += (url.indexOf("?") < 0 ? "?" : "&") + "version=" + encodeURIComponent(root.dataset.version || "");
    return window.ExoFetchJSON(url).then(update);
  }, seconds * 1000);
})();
