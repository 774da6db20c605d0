// The calls list keeps its in-flight rows current until each call is final.
(function () {
  "use strict";
  var table = document.querySelector("table[data-poll-url]");
  if (!table) return;

  function inFlight() {
    return Array.prototype.map.call(table.querySelectorAll('tr[data-final="false"]'), function (row) {
      return row.dataset.callId;
    });
  }
  if (!inFlight().length) return;

  window.ExoPoll(function () {
    var ids = inFlight();
    if (!ids.length) return Promise.resolve(false);
    return window.ExoFetchJSON(table.dataset.pollUrl + "?ids=" + encodeURIComponent(ids.join(","))).then(function (data) {
      if (data === null) return true;  // 304: none of these rows changed
      var changes = [];
      Object.keys(data.calls).forEach(function (id) {
        var row = document.getElementById("call-" + id);
        if (!row) return;
        // Server-rendered and escaped by the template: a <tbody> parses the <tr> correctly.
        var holder = document.createElement("tbody");
        holder.innerHTML = data.calls[id].html;
        var fresh = holder.querySelector("tr");
        if (!fresh) return;
        var before = row.querySelector(".badge"), after = fresh.querySelector(".badge");
        // A new stored status, or a call becoming overdue (waiting for its late or lost final callback).
        if (after && (!before || before.dataset.status !== after.dataset.status ||
            (after.dataset.shown === "overdue" && before.dataset.shown !== "overdue"))) {
          var number = fresh.querySelector('[data-label="Number"]');
          changes.push((number ? number.textContent.trim() + ": " : "") + after.textContent.trim());
        }
        row.replaceWith(fresh);
      });
      // One message for the rows whose status changed in this answer; rows redrawn unchanged say nothing.
      if (changes.length) window.ExoAnnounce(changes.join(". "));
      return inFlight().length > 0;
    });
  }, 2000);
})();
