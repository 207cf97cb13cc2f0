/* Staff pages: only what htmx cannot say. htmx (static/vendor/htmx) makes the requests and swaps the server's
   partials; every form also works without either script. Here: the focus rules of a counter where a barcode
   scanner types and presses Enter (SPEC 12), and the <dialog> that is open exactly while htmx has filled it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var dialog = document.getElementById("dialog");
  var dialogBody = document.getElementById("dialog-body");
  var lastKeyAt = 0;
  var typedAt = 0;  // when the last character was typed, until an Enter

  function searchBox() {
    return document.getElementById("id_q");
  }

  // After a page load, a command or a dialog's close, the search box has the focus with its text selected: a
  // scan replaces what is there, and its Enter presses no button that had the focus before.
  function focusSearch() {
    var box = searchBox();
    if (!box || dialog.open) return;
    // A scan being typed into it (a character less than 150 ms ago, no Enter yet) is not selected mid-way.
    if (box === document.activeElement && performance.now() - typedAt < 150) return;
    box.focus();
    box.select();
  }

  // The dialog is open while it has content (a dialog partial htmx put there); an answer that empties it closes it.
  function syncDialog() {
    if (dialogBody.firstElementChild && !dialog.open) dialog.showModal();
    else if (!dialogBody.firstElementChild && dialog.open) dialog.close();
  }
  new MutationObserver(syncDialog).observe(dialogBody, { childList: true });

  dialog.addEventListener("close", function () {
    dialogBody.innerHTML = "";
    focusSearch();
  });
  dialog.addEventListener("click", function (event) {
    if (event.target === dialog) dialog.close();  // the backdrop
  });

  // An error htmx could not swap (no answer, a 5xx, a stale page): said where the user is looking, inside the
  // open dialog (the page's messages lie behind its backdrop), tied to the field or button that has the focus.
  function showError(text) {
    var alerts = dialog.open && document.getElementById("dialog-alerts");
    if (!alerts) {
      document.getElementById("flash").innerHTML = '<div class="flash-msg flash-error" role="alert"></div>';
      document.querySelector("#flash .flash-msg").textContent = text;
      focusSearch();
      return;
    }
    alerts.innerHTML = '<p class="error" role="alert" id="dialog-error"></p>';
    alerts.firstChild.textContent = text;
    dialogBody.querySelectorAll("#id_otp, [data-resend][autofocus]").forEach(function (element) {
      var ids = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
        return id && id !== "dialog-error";
      });
      if (element.id === "id_otp") ids.push("dialog-error"); else ids.unshift("dialog-error");
      element.setAttribute("aria-describedby", ids.join(" "));
      if (element.id === "id_otp") element.setAttribute("aria-invalid", "true");
    });
    var target = dialogBody.querySelector("[autofocus]");
    if (target && !dialogBody.contains(document.activeElement)) target.focus();
  }

  // After htmx's answer is in place (a page, a list, a row): the search box, unless a dialog is open. A periodic
  // refresh (data-poll: the customers who checked in) moves no focus and selects nothing mid-typing.
  function afterAnswer(event) {
    if (event.detail.elt && event.detail.elt.hasAttribute("data-poll")) return;
    setTimeout(focusSearch, 0);
  }
  document.addEventListener("htmx:afterOnLoad", afterAnswer);
  document.addEventListener("htmx:afterSettle", afterAnswer);
  document.addEventListener("htmx:responseError", function (event) {
    // An answer that says why (HX-Trigger: staff:error) has been shown already.
    if (!event.detail.xhr.getResponseHeader("HX-Trigger")) showError(document.body.getAttribute("data-error-text"));
  });
  document.addEventListener("htmx:sendError", function () {
    showError(document.body.getAttribute("data-error-text"));
  });
  document.addEventListener("staff:error", function (event) { showError(event.detail.value); });

  document.addEventListener("click", function (event) {
    // The second click of a double-click never acts on a row: it lands where the first one's answer may just have
    // put the next command's button (Complete Packaging, then Ready for Pickup, which sends the customer a code).
    if (event.detail > 1 && event.target.closest(".actions")) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    // A message goes at a click: it is never in the way of the button under it for longer than wanted.
    var note = event.target.closest("#flash .flash-msg");
    if (note) {
      note.remove();
      focusSearch();
      return;
    }
    var closer = event.target.closest("[data-close]");
    if (closer && dialog.contains(closer)) {
      event.preventDefault();
      dialog.close();
    }
  }, true);

  // "Customer showed the code on their phone": a typed code stays and is checked by the server, box or not (a wrong
  // one must not pass as a confirmation); only an empty field is disabled, to show that no code will be compared.
  document.addEventListener("change", function (event) {
    var code = event.target.matches("[data-manual]") && event.target.form.querySelector("[name=otp]");
    if (!code) return;
    code.disabled = event.target.checked && !code.value;
    if (!event.target.checked) code.focus();
  });

  // A scan types wherever the focus is, and it is told from a person by its pace: a USB scanner types a whole
  // order number a few ms a character (a Bluetooth one up to ~30 ms) and ends with Enter; a person, even a fast
  // one, leaves at least 50-80 ms between keys. Keys closer together than this are one burst...
  var SCANNER_KEY_GAP_MS = 40;
  // ...and this many in a row are a scan: two or three can be a fast typist's rolled keys ("th", "ing") in a
  // cancellation reason; an order number is longer. A phone's one-time-code autofill fills the code field
  // without a keystroke, so it is never a burst.
  var SCANNER_MIN_KEYS = 4;
  var burst = "";  // the characters of the burst being typed, since the last pause

  // A field of a dialog (the Verify dialog's code, the Cancel dialog's reason), in the page's <dialog> or on a
  // dialog's page of its own: what a person types there stays; a scan there goes to the search box.
  function dialogField(element) {
    return element.matches("form[data-dialog-form] :is(textarea, input:not([type=checkbox]):not([type=radio]))");
  }

  // The scan goes on in the search box, with what it typed elsewhere before it was recognised; a dialog open
  // for the previous customer closes, untouched: nothing typed there is sent.
  function toSearch(box, carried) {
    if (dialog.open) dialog.close();
    box.value = carried;
    box.focus();
  }

  // Outside a text field (a button, a link, the page) every key goes to the search box. In a dialog's field a
  // scan does (from its SCANNER_MIN_KEYS-th key on, the keys before it carried along), and so does, in the code
  // field, where a customer's six digits go, a non-digit or a seventh digit.
  document.addEventListener("keydown", function (event) {
    var box = searchBox();
    var target = event.target;
    var quick = !event.repeat && event.timeStamp - lastKeyAt < SCANNER_KEY_GAP_MS;
    lastKeyAt = event.timeStamp;
    var typed = event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey;
    if (event.key === "Enter") typedAt = 0;
    else if (typed) typedAt = event.timeStamp;
    if (!quick) burst = "";
    var before = burst;  // what this burst typed before this key
    if (typed) burst += event.key;
    if (!box || target === box) {
      burst = "";
      return;
    }
    if (event.key === "Enter") {
      burst = "";
      // The Enter that ends a burst too short to be recognised, typed into an empty dialog field (a person's
      // Enter, however quick after the last digit, ends more than the burst): a search, never that dialog's button.
      if (quick && before && dialogField(target) && target.value === before) {
        event.preventDefault();
        toSearch(box, before);
        box.form.requestSubmit();
      }
      return;
    }
    if (!typed) return;
    if (dialogField(target)) {
      var scanned = quick && burst.length >= SCANNER_MIN_KEYS;
      if (!scanned && target.id !== "id_otp") return;
      var full = target.value.length >= 6 && target.selectionStart === target.selectionEnd;
      if (!scanned && /[0-9]/.test(event.key) && !full) return;
    } else if (target.matches("textarea, input:not([type=checkbox]):not([type=radio]):not([type=hidden])")) {
      return;
    }
    toSearch(box, quick ? before : "");
  }, true);

  // A page of its own for a dialog (opened in a new tab) keeps the focus in its field.
  var own = document.querySelector("main [autofocus]");
  if (own) own.focus(); else focusSearch();
})();
