/* Staff pages: the modal dialogs and in-place row updates. Plain JavaScript, no dependencies.
   Every form and link also works without this script (the server answers with full pages).
   Requests made here carry "X-Requested-With: fetch"; the server then answers JSON:
   {done: false, html}            the dialog again (error or notice inside), stays open; after a refusal
                                  with the package's row as it is now (row, counts, inList, note, pager),
                                  since the package may have moved on meanwhile (another tab, a manager, the
                                  no-show sweep): the list must not keep offering what was just refused
   {done: true, message, row, counts, inList, note, pager}
                                  the package's new table row, the filter bar's fresh counts
                                  ({all: n, <status>: n, ...}), whether the row still matches the list's
                                  search and status filter (the server decides; if not, the row leaves the
                                  list; the usual message says what happened), and the search result note
                                  and the pager rendered by the server for the list's new total (HTML, empty
                                  when the list shows none); the dialog closes
   {done: true, redirect}         go there (the server queued the message for that page)
   {done: false, redirect}        signed out meanwhile: to the login page, which leads back to this one
   {done: false, error}           refused (a row button, an expired page): show the message, in the open
                                  dialog if there is one (a message behind the modal's backdrop is not seen),
                                  and the row as it is now when the answer has one */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var dialog = document.getElementById("dialog");
  var dialogBody = document.getElementById("dialog-body");
  var opener = null;
  var busy = false;
  // A dialog opened on a page without the package's row (the package's own page) changed what that page shows
  // (a new code sent, an attempt counted): the page is reloaded as the dialog closes, not left stale behind it.
  var pageStale = false;

  // What only this script makes true: a dialog's opener (a link to the dialog's page without it) opens the dialog
  // in place, with Space too, so it is a button; "/" goes to the search box.
  function enhance(root) {
    root.querySelectorAll("a[data-dialog]").forEach(function (link) { link.setAttribute("role", "button"); });
  }
  enhance(document);
  if (searchBox()) searchBox().setAttribute("aria-keyshortcuts", "/");

  // Browsers apply autofocus late (or not after a redirect): make sure the page's main field has it.
  var first = document.querySelector("main [autofocus]");
  if (first && (document.activeElement === document.body || !document.activeElement)) first.focus();

  function errorText() {
    return document.body.getAttribute("data-error-text") || "Error";
  }

  function searchBox() {
    return document.querySelector("[data-search]");
  }

  function flash(text, kind) {
    var area = document.getElementById("flash");
    if (!area) return;
    area.innerHTML = "";
    var box = document.createElement("div");
    box.className = "flash-msg" + (kind === "error" ? " flash-error" : " flash-success");
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = text;
    area.appendChild(box);
  }

  // An error the server answered with (or none at all): where the user is looking. With the dialog open
  // that is inside it, above its form, since the page's flash area lies behind the modal backdrop.
  function showError(text) {
    if (!dialog.open) {
      flash(text, "error");
      return;
    }
    var box = dialogBody.querySelector("#dialog-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "error";
      box.id = "dialog-error";
      box.setAttribute("role", "alert");
      var form = dialogBody.querySelector("form, .dialog-actions");
      if (form) form.parentNode.insertBefore(box, form); else dialogBody.appendChild(box);
    }
    box.textContent = text;
    tieError(box);
  }

  // The error is read with the field it is about, as in the dialog the server renders with an error: the code
  // field names it (aria-describedby) and is marked invalid; "Resend code", when it is the dialog's focused main
  // button (the code can no longer be used), names it too.
  function tieError(box) {
    var field = dialogBody.querySelector("#id_otp");
    if (field) {
      describeBy(field, box.id, false);
      field.setAttribute("aria-invalid", "true");
    }
    var resend = dialogBody.querySelector("[data-resend][autofocus]");
    if (resend) describeBy(resend, box.id, true);
  }

  function describeBy(element, id, first) {
    var ids = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (each) {
      return each && each !== id;
    });
    if (first) ids.unshift(id); else ids.push(id);
    element.setAttribute("aria-describedby", ids.join(" "));
  }

  function focusInDialog() {
    var target = dialogBody.querySelector("[autofocus]:not([disabled])") ||
      dialogBody.querySelector("input:not([type=hidden]):not([disabled]), textarea, button, a[href]");
    if (target) {
      target.focus();
      if (target.select && target.value) target.select();
    }
  }

  function showDialog(html) {
    dialogBody.innerHTML = html;
    if (!dialog.open) dialog.showModal();
    focusInDialog();
  }

  function closeDialog() {
    if (dialog.open) dialog.close();
  }

  function request(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = { "X-Requested-With": "fetch", "Accept": "application/json" };
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function replaceRow(packageId, html) {
    var row = document.getElementById("row-" + packageId);
    if (!row) return false;
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var fresh = holder.firstElementChild;
    enhance(fresh);
    row.replaceWith(fresh);
    fresh.classList.add("flash-row");
    return true;
  }

  // A filtered list ("Waiting") after a command moved the row out of it: the row leaves, as after a reload.
  function removeRow(packageId) {
    var row = document.getElementById("row-" + packageId);
    if (!row) return;
    var body = row.parentNode;
    var columns = row.cells.length;
    row.remove();
    if (!body.querySelector("tr")) {
      var empty = document.createElement("tr");
      empty.className = "empty-row";
      var cell = document.createElement("td");
      cell.colSpan = columns;
      cell.textContent = body.getAttribute("data-empty-text") || "";
      empty.appendChild(cell);
      body.appendChild(empty);
    }
  }

  // The filter bar's counts ("All 12", "Waiting 3", ...) after a command changed a row in place.
  function updateCounts(counts) {
    Object.keys(counts).forEach(function (key) {
      var count = document.querySelector('.filters [data-filter="' + CSS.escape(key) + '"] .count');
      if (count) count.textContent = String(counts[key]);
    });
  }

  // The search result note ("3 packages match ...") and the pager ("Page 1 of 2") after a row left the list:
  // the server renders them, so the number, its plural and the language are those of a reload.
  function updateFragment(selector, html) {
    var holder = document.querySelector(selector);
    if (holder && typeof html === "string") holder.innerHTML = html;
  }

  // The row and the list's numbers as the server answered them (after a command, or after a refusal).
  function updateList(data, packageId) {
    if (data.row) {
      if (data.inList === false) removeRow(packageId);
      else replaceRow(packageId, data.row);
    }
    if (data.counts) updateCounts(data.counts);
    updateFragment("[data-list-note]", data.note);
    updateFragment("[data-list-pager]", data.pager);
  }

  function handle(data, packageId) {
    if (data.redirect) {
      window.location.assign(data.redirect);
      return;
    }
    if (packageId) updateList(data, packageId);
    if (data.done) {
      closeDialog();
      if (data.message) flash(data.message, "success");
      var box = searchBox();
      if (box) box.focus();
      return;
    }
    if (data.html) {
      showDialog(data.html);
      return;
    }
    showError(data.error || errorText());
  }

  function openDialog(link) {
    opener = link;
    request(link.href).then(function (data) {
      if (data.html) showDialog(data.html); else handle(data);
    }).catch(function () {
      window.location.assign(link.href);  // fall back to the plain page
    });
  }

  document.addEventListener("click", function (event) {
    // The second click of a double-click (event.detail counts the clicks) never acts on a row: it lands where the
    // first one's answer may just have put the next command's button (Complete Packaging, then Ready for Pickup,
    // which sends the customer a code). A click from the keyboard has detail 0.
    if (event.detail > 1 && event.target.closest("tr[id^='row-'] .actions")) {
      event.preventDefault();
      return;
    }
    var link = event.target.closest("a[data-dialog]");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      openDialog(link);
      return;
    }
    var closer = event.target.closest("[data-close]");
    if (closer && dialog.contains(closer)) {
      event.preventDefault();
      closeDialog();
    }
  });

  // A link styled as a button opens with Space too, as a button would.
  document.addEventListener("keydown", function (event) {
    var link = event.target.closest && event.target.closest("a[role=button]");
    if (link && event.key === " ") {
      event.preventDefault();
      link.click();
      return;
    }
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) || event.target.isContentEditable;
    if (event.key === "/" && !typing && !dialog.open) {
      var box = searchBox();
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    }
  });

  // The opener's row was replaced while the dialog was open (an answer, or a refusal, carries the row as it is now):
  // its button of the same name in the new row, else the row's first action. The search box is only the last resort,
  // as a key pressed next ("/", a digit) would be typed into it.
  function standIn(gone) {
    var oldRow = gone && gone.closest && gone.closest("tr[id^='row-']");
    var row = oldRow && document.getElementById(oldRow.id);
    if (!row) return null;
    var name = gone.textContent.trim();
    var actions = Array.prototype.slice.call(row.querySelectorAll(".actions a, .actions button"));
    return actions.filter(function (action) { return action.textContent.trim() === name; })[0] || actions[0] || null;
  }

  dialog.addEventListener("close", function () {
    // The browser gives the focus back to the opener as it closes the dialog; this event comes a
    // moment later, so only place the focus where the browser could not (the opener was replaced),
    // never taking it back from where the user has moved it since (e.g. "/" to the search box).
    if (pageStale) {
      pageStale = false;
      window.location.reload();
      return;
    }
    var active = document.activeElement;
    var lost = !active || active === document.body || dialog.contains(active);
    dialogBody.innerHTML = "";
    if (lost) {
      var target = opener && document.body.contains(opener) ? opener : standIn(opener);
      if (target) target.focus();
      else if (searchBox()) searchBox().focus();
    }
    opener = null;
  });

  // Clicking the backdrop closes the dialog.
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) closeDialog();
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-autosubmit]")) {
      target.form.requestSubmit();
    }
    if (target.matches("[data-manual]")) {
      var code = target.form.querySelector("[name=otp]");
      if (code) {
        // A typed code stays and is checked by the server, box or not (a wrong one must not pass as a
        // confirmation); only an empty field is disabled, to show that no code will be compared.
        code.disabled = target.checked && !code.value;
        if (!target.checked) code.focus();
      }
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-dialog-form], [data-row-action]")) return;
    event.preventDefault();
    if (busy) return;  // a double Enter at the counter must not send twice
    var submitter = event.submitter;
    var url = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
    var body = new FormData(form);
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    var packageId = form.getAttribute("data-package");
    if (packageId && document.getElementById("row-" + packageId)) body.append("in_place", "1");
    var buttons = form.querySelectorAll("button");
    busy = true;
    buttons.forEach(function (button) { button.disabled = true; });
    if (submitter) submitter.setAttribute("aria-busy", "true");
    request(url, { method: "POST", body: body }).then(function (data) {
      if (packageId && !body.has("in_place")) pageStale = true;
      handle(data, packageId);
    }).catch(function () {
      showError(errorText());
    }).finally(function () {
      busy = false;
      buttons.forEach(function (button) { button.disabled = false; button.removeAttribute("aria-busy"); });
      // The pressed button lost the focus as it was disabled. An answer that left the dialog as it was (a failed
      // request) gives it back where a refused code puts it: the field that names the error. A row's button whose
      // command failed or was refused gets it back (or its stand-in in the row the answer redrew), so the next Tab
      // or Enter goes on from where the user was, not from the top of the page.
      var active = document.activeElement;
      if (active && active !== document.body) return;
      if (dialog.open) focusInDialog();
      else if (submitter && document.contains(submitter)) submitter.focus();
      else if (submitter) {
        var next = standIn(submitter);
        if (next) next.focus();
      }
    });
  });
})();
