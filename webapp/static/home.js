// The home page keeps its figures current: it polls its JSON, which answers 304 while nothing changed.
(function () {
  "use strict";
  var root = document.getElementById("shift-live");
  if (!root) return;
  window.ExoFetchJSON.remember(root.dataset.pollUrl, root.dataset.version);
  window.ExoPoll(function () {
    return window.ExoFetchJSON(root.dataset.pollUrl).then(function (data) {
      if (data !== null && data.version !== root.dataset.version) {
        // Rendered and escaped by the server's template; nothing here builds markup from data.
        root.innerHTML = data.html;
        root.dataset.version = data.version;
      }
      return true;
    });
  }, 1000 * Number(root.dataset.pollSeconds || 5));
})();
