/* The board refreshes itself: every few seconds it asks the server for the rows (new incidents, filings,
 * state changes) and counts down from the server's figures again. Filters submit on change. */
(function () {
  "use strict";
  var table = document.querySelector("table.board[data-feed]");
  if (!table) { return; }
  var body = document.getElementById("board-rows");
  var status = document.getElementById("feed-status");
  var banner = document.getElementById("undelivered");
  var clock = document.querySelector("[data-server-clock]");
  var every = (parseFloat(table.dataset.pollSeconds) || 5) * 1000;

  function refresh() {
    fetch(table.dataset.feed, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        body.innerHTML = data.html;
        if (clock) { clock.dataset.serverNow = data.server_epoch; }
        Object.keys(data.counts).forEach(function (band) {
          var el = document.querySelector("[data-count='" + band + "']");
          if (el) { el.textContent = data.counts[band]; }
        });
        if (banner) {
          banner.hidden = !data.undelivered;
          if (data.undelivered) { banner.textContent = banner.dataset.text.replace("__N__", data.undelivered); }
        }
        status.textContent = "";
        status.classList.remove("lost");
        window.IncidentCountdown.reanchor();
      })
      .catch(function () {
        status.textContent = status.dataset.lost;
        status.classList.add("lost");
      });
  }
  setInterval(refresh, every);
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
})();
