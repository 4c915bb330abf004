/* The board refreshes itself: every few seconds it asks the server for the rows (new incidents, filings, state
 * changes) with the ETag of the last answer, and rebuilds its rows from the JSON when they changed (a 304 means
 * nothing changed but the time, which countdown.js counts down by itself). Rows that turn overdue move to the
 * top, as the server orders them. Filters submit on change. */
/* The banner saying whether warnings reach anyone (the board and the wall share it). */
window.IncidentReach = function (banner, reach) {
  if (!banner || !reach || typeof reach !== "object") { return; }
  var parts = [];
  if (reach.no_channel) { parts.push(banner.dataset.textNoChannel); }
  if (reach.unrouted) { parts.push(banner.dataset.textUnrouted.replace("__N__", reach.unrouted)); }
  if (reach.undelivered) { parts.push(banner.dataset.textUndelivered.replace("__N__", reach.undelivered)); }
  banner.textContent = parts.join(" ");
  banner.hidden = !parts.length;
};

(function () {
  "use strict";
  var table = document.querySelector("table.board[data-feed]");
  if (!table) { return; }
  var body = document.getElementById("board-rows");
  var status = document.getElementById("feed-status");
  var banner = document.getElementById("undelivered");
  var clock = document.querySelector("[data-server-clock]");
  var every = (parseFloat(table.dataset.pollSeconds) || 5) * 1000;
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  var rank = {overdue: 0, warning: 1, plenty: 1, met: 2};
  var etag = null;

  function label(band) {
    return table.dataset["label" + band.charAt(0).toUpperCase() + band.slice(1)] || band;
  }

  function cell(tag, text, className) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function buildRow(r) {
    var tr = document.createElement("tr");
    tr.className = "band-" + r.band;
    tr.dataset.band = r.band;
    tr.dataset.deadlineId = r.deadline_id;
    tr.dataset.incidentId = r.incident_id;
    tr.dataset.dueEpoch = r.due_epoch;
    if (r.warning_seconds) { tr.dataset.warningSeconds = r.warning_seconds; }
    var left = cell("td", undefined, "left");
    if (r.seconds_left !== null) {
      var count = cell("span", window.IncidentCountdown.format(r.seconds_left), "countdown");
      count.dataset.secondsLeft = r.seconds_left;
      count.setAttribute("role", "timer");
      count.setAttribute("aria-live", "off");
      left.appendChild(count);
    } else {
      left.appendChild(cell("span", "✓", "countdown done"));
    }
    tr.appendChild(left);
    var state = cell("td");
    state.appendChild(cell("span", label(r.band) + (r.state === "met_late" ? " (" + table.dataset.labelLate + ")" : ""), "state-label"));
    tr.appendChild(state);
    var report = cell("th", zh ? r.label_zh : r.label_en);
    report.scope = "row";
    tr.appendChild(report);
    var incident = cell("td");
    var link = cell("a", "#" + r.incident_id + " " + r.incident_title);
    link.href = table.dataset.incidentUrl.replace("/0", "/" + r.incident_id);
    incident.appendChild(link);
    tr.appendChild(incident);
    tr.appendChild(cell("td", r.vendor_name));
    tr.appendChild(cell("td", String(r.severity), "num"));
    return tr;
  }

  function render(rows) {
    var fresh = rows.map(buildRow);
    if (!fresh.length) {
      var empty = cell("tr", undefined, "empty");
      var td = cell("td", table.dataset.labelNone);
      td.colSpan = 6;
      empty.appendChild(td);
      fresh = [empty];
    }
    body.replaceChildren.apply(body, fresh);
  }

  /* Overdue pinned on top, then by time left, met ones last: as the server sorts, kept as bands change. */
  function keepOrder() {
    var rows = Array.prototype.slice.call(body.querySelectorAll("tr[data-band]"));
    var sorted = rows.slice().sort(function (a, b) {
      return (rank[a.dataset.band] - rank[b.dataset.band]) || (parseFloat(a.dataset.dueEpoch) - parseFloat(b.dataset.dueEpoch)) ||
        (parseInt(a.dataset.deadlineId, 10) - parseInt(b.dataset.deadlineId, 10));
    });
    if (sorted.some(function (row, i) { return row !== rows[i]; })) { body.replaceChildren.apply(body, sorted); }
    var counts = {overdue: 0, warning: 0, plenty: 0, met: 0};
    rows.forEach(function (row) { counts[row.dataset.band] = (counts[row.dataset.band] || 0) + 1; });
    Object.keys(counts).forEach(function (band) {
      var el = document.querySelector("[data-count='" + band + "']");
      if (el && el.textContent !== String(counts[band])) { el.textContent = counts[band]; }
    });
  }

  function refresh() {
    var headers = {"Accept": "application/json"};
    if (etag) { headers["If-None-Match"] = etag; }
    fetch(table.dataset.feed, {headers: headers, credentials: "same-origin", cache: "no-store"})
      .then(function (r) {
        if (r.status === 304) { return null; }
        if (!r.ok) { throw new Error(r.status); }
        etag = r.headers.get("ETag");
        return r.json();
      })
      .then(function (data) {
        status.textContent = "";
        status.classList.remove("lost");
        if (!data) { return; }
        render(data.rows);
        if (clock) { clock.dataset.serverNow = data.server_epoch; }
        window.IncidentReach(banner, data.undelivered);
        document.dispatchEvent(new Event("server-contact"));
        window.IncidentCountdown.reanchor();
        keepOrder();
      })
      .catch(function () {
        status.textContent = status.dataset.lost;
        status.classList.add("lost");
      });
  }
  setInterval(refresh, every);
  setInterval(keepOrder, 1000);
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
})();
