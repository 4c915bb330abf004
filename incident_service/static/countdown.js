/* Live countdowns, anchored to the server's clock.
 * Each [data-seconds-left] holds the seconds left as the server computed them when it rendered the page;
 * we subtract only the time elapsed since then, measured with performance.now() (a monotonic timer),
 * so a browser whose wall clock is wrong still shows the right time left. */
(function () {
  "use strict";
  var anchor = performance.now();

  function format(seconds) {
    var sign = seconds < 0 ? "-" : "";
    var s = Math.abs(seconds);
    var days = Math.floor(s / 86400); s -= days * 86400;
    var h = Math.floor(s / 3600); s -= h * 3600;
    var m = Math.floor(s / 60); s -= m * 60;
    var clock = h + ":" + (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
    return sign + (days ? days + "d " + clock : clock);
  }

  function bandFor(row, left) {
    if (row.dataset.band === "met" || !row.dataset.band) { return row.dataset.band; }
    if (left < 0) { return "overdue"; }
    var threshold = parseInt(row.dataset.warningSeconds || "", 10);
    return (!isNaN(threshold) && left <= threshold) ? "warning" : "plenty";
  }

  function tick() {
    var elapsed = (performance.now() - anchor) / 1000;
    document.querySelectorAll("[data-seconds-left]").forEach(function (el) {
      var left = Math.floor(parseFloat(el.dataset.secondsLeft) - elapsed);
      var text = format(left);
      if (el.textContent !== text) { el.textContent = text; }
      var row = el.closest("tr, li[data-band]");
      var table = el.closest("[data-countdown]");
      if (!row || !table) { return; }
      var band = bandFor(row, left);
      if (band && band !== row.dataset.band) {
        row.classList.remove("band-" + row.dataset.band);
        row.classList.add("band-" + band);
        row.dataset.band = band;
        var label = row.querySelector(".state-label");
        if (label && table.dataset["label" + band.charAt(0).toUpperCase() + band.slice(1)]) {
          label.textContent = table.dataset["label" + band.charAt(0).toUpperCase() + band.slice(1)];
        }
      }
    });
    document.querySelectorAll("[data-server-clock]").forEach(function (el) {
      var t = new Date((parseFloat(el.dataset.serverNow) + elapsed) * 1000);
      el.textContent = t.toLocaleTimeString(document.documentElement.lang || "zh-TW",
        {hour12: false, timeZone: el.dataset.zone || "Asia/Taipei"});
    });
  }

  window.IncidentCountdown = {
    /* New figures arrived from the server: count from them. */
    reanchor: function () { anchor = performance.now(); tick(); },
    format: format
  };
  tick();
  setInterval(tick, 250);
})();
