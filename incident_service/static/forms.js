/* Forms that hold up under pressure, on every page:
 * - our own validation messages, in the page's language (the browser's would speak its own UI language);
 * - after a refused submit, the page scrolls to the error summary at the top of the form's section;
 * - forms marked data-confirm ask before they submit and say what will change;
 * - forms marked data-autosave keep what was typed in this browser until the server has it (a session that timed
 *   out, a lost connection), and restore it after the next login;
 * - a minute before the idle time-out, a warning with a "stay logged in" button;
 * - quick awareness times (now, -5, ... min) counted from the server's clock, never the browser's;
 * - the menu button of the phone layout. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var body = document.body;
  var msg = body.dataset;
  var user = body.dataset.user || "";

  function text(tag, content, className) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (content !== undefined) { el.textContent = content; }
    return el;
  }

  /* -- the phone menu ------------------------------------------------------------------------------ */
  var menu = document.querySelector("[data-menu-button]");
  if (menu) {
    menu.addEventListener("click", function () {
      var header = menu.closest("header");
      var open = header.classList.toggle("open");
      menu.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* -- validation in our words --------------------------------------------------------------------- */
  function messageFor(el) {
    var v = el.validity;
    if (v.valueMissing) { return el.dataset.requiredMessage || msg.msgRequired; }
    if (v.rangeUnderflow || v.rangeOverflow) { return el.dataset.rangeMessage || msg.msgInvalid; }
    return el.dataset.invalidMessage || msg.msgInvalid;
  }

  function clearClientErrors(form) {
    form.querySelectorAll(".js-error").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[data-js-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("data-js-invalid");
    });
  }

  function fieldName(el) {
    var label = el.id ? document.querySelector("label[for='" + el.id + "']") : null;
    if (!label) { var set = el.closest("fieldset"); label = set ? set.querySelector("legend") : null; }
    return label ? label.textContent.replace("*", "").trim() : el.name;
  }

  function validate(form) {
    clearClientErrors(form);
    var bad = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.willValidate || el.checkValidity()) { return; }
      if (el.type === "radio" && bad.some(function (b) { return b.el.name === el.name; })) { return; }
      bad.push({el: el, message: messageFor(el)});
    });
    if (!bad.length) { return true; }
    var summary = text("div", undefined, "form-errors js-error");
    summary.setAttribute("role", "alert");
    summary.tabIndex = -1;
    var list = text("ul");
    bad.forEach(function (b) {
      var id = (b.el.id || b.el.name) + "-js-error";
      var p = text("p", b.message, "error js-error");
      p.id = id;
      var holder = b.el.closest(".field") || b.el.parentNode;
      holder.appendChild(p);
      b.el.setAttribute("aria-invalid", "true");
      b.el.setAttribute("data-js-invalid", "1");
      var li = text("li");
      var a = text("a", fieldName(b.el) + "：" + b.message);
      a.href = "#" + (b.el.id || "");
      li.appendChild(a);
      list.appendChild(li);
    });
    summary.appendChild(list);
    form.prepend(summary);
    summary.scrollIntoView({block: "start"});
    summary.focus();
    return false;
  }

  /* -- confirmation that says what will change ------------------------------------------------------- */
  function confirmation(form, done) {
    var dialog = text("dialog", undefined, "confirm");
    dialog.setAttribute("aria-labelledby", "confirm-title");
    var h = text("h2", form.dataset.confirm);
    h.id = "confirm-title";
    dialog.appendChild(h);
    var items = [];
    try { items = JSON.parse(form.dataset.confirmItems || "[]"); } catch (e) { items = []; }
    var shift = awarenessShift(form);
    if (shift) { items.unshift(shift); }
    if (items.length) {
      var ul = text("ul");
      items.forEach(function (item) { ul.appendChild(text("li", item)); });
      dialog.appendChild(ul);
    }
    var buttons = text("p", undefined, "buttons");
    var cancel = text("button", msg.msgCancel);
    cancel.type = "button";
    var ok = text("button", form.dataset.confirmButton || msg.msgConfirm, "primary");
    ok.type = "button";
    ok.dataset.confirmOk = "1";
    buttons.appendChild(cancel);
    buttons.appendChild(ok);
    dialog.appendChild(buttons);
    body.appendChild(dialog);
    cancel.addEventListener("click", function () { dialog.close(); });
    ok.addEventListener("click", function () { dialog.close(); done(); });
    dialog.addEventListener("close", function () { dialog.remove(); });
    dialog.showModal();
    cancel.focus();
  }

  /* Minutes between two datetime-local values (both in the firm's zone, so read both as UTC). */
  function minutesBetween(a, b) {
    var ta = Date.parse(a + (a.length === 16 ? ":00" : "") + "Z");
    var tb = Date.parse(b + (b.length === 16 ? ":00" : "") + "Z");
    return (isNaN(ta) || isNaN(tb)) ? null : Math.round((tb - ta) / 60000);
  }

  function awarenessShift(form) {
    var input = form.querySelector("[data-was]");
    if (!input) { return null; }
    var n = minutesBetween(input.dataset.was, input.value);
    if (n === null || n === 0) { return null; }
    return (n < 0 ? form.dataset.msgEarlier : form.dataset.msgLater).replace("__N__", String(Math.abs(n)));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!validate(form)) { event.preventDefault(); return; }
    if (form.dataset.confirm && !form.dataset.confirmed) {
      event.preventDefault();
      confirmation(form, function () { form.dataset.confirmed = "1"; form.submit(); });
    }
  }, true);
  document.querySelectorAll("form").forEach(function (form) { form.noValidate = true; });

  /* After a refused submit the server shows the form again with its errors: go there. */
  var refused = document.querySelector("main .form-errors, main .error[role=alert]");
  if (refused) {
    for (var d = refused.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) { d.open = true; }
    var target = refused.classList.contains("form-errors") ? refused : (refused.closest("form") || refused);
    target.tabIndex = target.tabIndex >= 0 ? target.tabIndex : -1;
    target.scrollIntoView({block: "start"});
    target.focus({preventScroll: true});
  }

  /* -- never lose the report ------------------------------------------------------------------------- */
  var storage = null;
  try { storage = window.localStorage; } catch (e) { storage = null; }
  var sent = (body.dataset.autosaveClear || "").split(" ").filter(Boolean);

  function storeKey(key) { return "incident_service:autosave:" + user + ":" + key; }
  function kept(el) { return el.name && el.type !== "hidden" && el.type !== "submit" && el.type !== "button" && el.type !== "password"; }

  function snapshot(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el)) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        values[el.name] = values[el.name] || [];
        if (el.checked) { values[el.name].push(el.value); }
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function apply(form, values) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!kept(el) || !(el.name in values)) { return; }
      if (el.type === "checkbox" || el.type === "radio") { el.checked = values[el.name].indexOf(el.value) >= 0; }
      else { el.value = values[el.name]; }
    });
  }

  function differs(a, b) { return JSON.stringify(a) !== JSON.stringify(b); }

  if (storage && user) {
    sent.forEach(function (key) { storage.removeItem(storeKey(key)); });
    document.querySelectorAll("form[data-autosave]").forEach(function (form) {
      var key = storeKey(form.dataset.autosave);
      var initial = snapshot(form);
      var saved = null;
      try { saved = JSON.parse(storage.getItem(key) || "null"); } catch (e) { saved = null; }
      var showsErrors = !!form.querySelector(".form-errors, .error");
      if (saved && saved.values && !showsErrors && differs(saved.values, initial)) {
        apply(form, saved.values);
        var note = text("p", msg.msgRestored, "restored");
        note.setAttribute("role", "status");
        var discard = text("button", msg.msgDiscard, "secondary");
        discard.type = "button";
        discard.addEventListener("click", function () {
          storage.removeItem(key);
          apply(form, initial);
          note.remove();
        });
        note.appendChild(discard);
        form.insertBefore(note, form.firstChild);
        for (var d = form.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) { d.open = true; }
      }
      var save = function () {
        var now = snapshot(form);
        if (differs(now, initial)) { storage.setItem(key, JSON.stringify({values: now, saved: Date.now()})); }
      };
      form.addEventListener("input", save);
      form.addEventListener("change", save);
    });
  }

  /* -- the idle time-out, announced a minute before ---------------------------------------------------- */
  var idle = parseInt(body.dataset.idleSeconds || "", 10);
  var warning = document.getElementById("idle-warning");
  if (idle > 60 && warning) {
    var timer = null;
    var arm = function () {
      clearTimeout(timer);
      warning.hidden = true;
      timer = setTimeout(function () {
        warning.replaceChildren(text("span", msg.msgIdle));
        var stay = text("button", msg.msgStay, "primary");
        stay.type = "button";
        stay.addEventListener("click", function () {
          fetch(body.dataset.keepalive, {credentials: "same-origin", cache: "no-store"}).then(function (r) {
            if (r.ok) { arm(); }
          });
        });
        warning.appendChild(stay);
        warning.hidden = false;
      }, (idle - 60) * 1000);
    };
    arm();
    document.addEventListener("server-contact", arm);  /* the board's poll keeps the session alive */
  }

  /* -- quick awareness times, from the server's clock -------------------------------------------------- */
  var anchor = performance.now();
  function localValue(epochSeconds, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
      minute: "2-digit", hourCycle: "h23"}).formatToParts(new Date(epochSeconds * 1000)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute;
  }
  document.querySelectorAll(".quick-times").forEach(function (box) {
    box.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-minutes]");
      if (!button) { return; }
      var input = document.getElementById(box.dataset.for);
      var now = parseFloat(box.dataset.serverNow) + (performance.now() - anchor) / 1000;
      input.value = localValue(now + parseInt(button.dataset.minutes, 10) * 60, box.dataset.zone);
      input.dispatchEvent(new Event("input", {bubbles: true}));
      input.dispatchEvent(new Event("change", {bubbles: true}));
    });
  });

  /* -- the contract in force, filled in from the vendor, the systems and the awareness time --------------- */
  var contract = document.querySelector("select[data-contract-lookup]");
  if (contract) {
    var form = contract.form;
    var note = document.getElementById(contract.id + "-filled");
    var touched = contract.value !== "";
    contract.addEventListener("change", function (event) { if (event.isTrusted) { touched = true; } });
    var lookup = function () {
      if (touched) { return; }
      var params = new URLSearchParams();
      params.set("vendor_id", form.elements.vendor_id.value || "");
      form.querySelectorAll("input[name=system_ids]:checked").forEach(function (el) { params.append("system_ids", el.value); });
      params.set("aware_at", form.elements.aware_at.value || "");
      fetch(contract.dataset.contractLookup + "?" + params.toString(), {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || touched) { return; }
          contract.value = data.contract_id === null ? "" : String(data.contract_id);
          if (note) { note.textContent = data.note || ""; }
          form.dispatchEvent(new Event("change"));
        })
        .catch(function () { return null; });
    };
    ["vendor_id", "aware_at"].forEach(function (name) {
      var el = form.elements[name];
      if (el) { el.addEventListener("change", lookup); }
    });
    form.querySelectorAll("input[name=system_ids]").forEach(function (el) { el.addEventListener("change", lookup); });
    if (!touched) { lookup(); }
  }
})();
