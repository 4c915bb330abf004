/* The wall screen: one row per incident with its nearest clock, rebuilt from the board's feed every few seconds;
 * pages through the rows when they do not fit the screen; a full-width flash when a clock turns overdue (seen
 * here first: from the countdown, or from the feed). Time comes from the server's figures (countdown.js). */
(function () {
  "use strict";
  var list = document.getElementById("wall-rows");
  if (!list) { return; }
  var status = document.getElementById("feed-status");
  var banner = document.getElementById("undelivered");
  var clock = document.querySelector("[data-server-clock]");
  var flash = document.getElementById("wall-flash");
  var pageLabel = document.getElementById("wall-page");
  var every = (parseFloat(list.dataset.pollSeconds) || 5) * 1000;
  var pageEvery = (parseFloat(list.dataset.pageSeconds) || 10) * 1000;
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  var etag = null;
  var page = 0;
  var overdue = {};

  function label(band) { return list.dataset["label" + band.charAt(0).toUpperCase() + band.slice(1)] || ""; }

  function el(tag, text, className) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function build(rows) {
    var seen = {};
    var items = [];
    rows.forEach(function (r) {
      if (r.seconds_left === null || seen[r.incident_id]) { return; }
      seen[r.incident_id] = true;
      var li = el("li", undefined, "band-" + r.band);
      li.dataset.band = r.band;
      li.dataset.incidentId = r.incident_id;
      li.dataset.deadlineId = r.deadline_id;
      li.dataset.dueEpoch = r.due_epoch;
      if (r.warning_seconds) { li.dataset.warningSeconds = r.warning_seconds; }
      var what = el("div", "#" + r.incident_id + " " + r.incident_title, "what");
      what.appendChild(el("small", (zh ? r.label_zh : r.label_en) + " · " + r.vendor_name + " · " + r.severity));
      li.appendChild(what);
      var right = el("div");
      var count = el("span", window.IncidentCountdown.format(r.seconds_left), "countdown");
      count.dataset.secondsLeft = r.seconds_left;
      count.setAttribute("role", "timer");
      count.setAttribute("aria-live", "off");
      right.appendChild(count);
      right.appendChild(el("span", label(r.band), "state-label"));
      li.appendChild(right);
      items.push(li);
    });
    if (!items.length) { items.push(el("li", list.dataset.labelNone, "empty")); }
    list.replaceChildren.apply(list, items);
  }

  function showFlash(li) {
    if (!flash) { return; }
    var what = li.querySelector(".what");
    flash.textContent = list.dataset.labelFlash + " — " + (what ? what.firstChild.textContent : "");
    flash.hidden = false;
    setTimeout(function () { flash.hidden = true; }, 8000);
  }

  /* A clock that turns overdue while the room watches: flash once per deadline. */
  function watchOverdue() {
    list.querySelectorAll("li[data-deadline-id]").forEach(function (li) {
      var id = li.dataset.deadlineId;
      if (li.dataset.band === "overdue" && overdue[id] === false) { showFlash(li); }
      overdue[id] = li.dataset.band === "overdue";
    });
  }

  /* Rows that do not fit the screen are shown a page at a time. */
  function paginate() {
    var items = Array.prototype.slice.call(list.children);
    items.forEach(function (li) { li.hidden = false; });
    var bottom = window.innerHeight;
    var pages = [[]];
    var top = list.getBoundingClientRect().top;
    var room = bottom - top;
    var used = 0;
    items.forEach(function (li) {
      var h = li.getBoundingClientRect().height + 12;
      if (used + h > room && pages[pages.length - 1].length) { pages.push([]); used = 0; }
      pages[pages.length - 1].push(li);
      used += h;
    });
    if (page >= pages.length) { page = 0; }
    items.forEach(function (li) { li.hidden = pages[page].indexOf(li) < 0; });
    pageLabel.textContent = pages.length > 1 ?
      list.dataset.labelPage.replace("__N__", page + 1).replace("__OF__", pages.length) : "";
    return pages.length;
  }

  function refresh() {
    var headers = {"Accept": "application/json"};
    if (etag) { headers["If-None-Match"] = etag; }
    fetch(list.dataset.feed, {headers: headers, credentials: "same-origin", cache: "no-store", redirect: "manual"})
      .then(function (r) {
        if (r.type === "opaqueredirect") { window.location.reload(); return null; }  /* the key was revoked */
        if (r.status === 304) { return null; }
        if (!r.ok) { throw new Error(r.status); }
        etag = r.headers.get("ETag");
        return r.json();
      })
      .then(function (data) {
        status.textContent = status.dataset.ok;
        status.classList.remove("lost");
        if (!data) { return; }
        build(data.rows);
        if (clock) { clock.dataset.serverNow = data.server_epoch; }
        window.IncidentReach(banner, data.undelivered);
        window.IncidentCountdown.reanchor();
        watchOverdue();
        paginate();
      })
      .catch(function () {
        status.textContent = status.dataset.lost;
        status.classList.add("lost");
      });
  }

  watchOverdue();
  paginate();
  setInterval(refresh, every);
  setInterval(watchOverdue, 500);
  setInterval(function () { page += 1; paginate(); }, pageEvery);
})();
