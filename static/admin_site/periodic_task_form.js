/* django_celery_beat's periodic task form (templates/admin/django_celery_beat/periodictask/change_form.html), as the
   package's inline script did it, from a file for the Content-Security-Policy: the crontab's description row is
   hidden, and the crontab's help text gets the chosen crontab's description (in the reader's language) after
   "Translation:". The descriptions come from the page's "readable-crontabs" JSON, the texts from this script's
   data attributes; both are inserted as text. */
(function () {
  "use strict";
  var script = document.currentScript;
  var $ = django.jQuery;
  var readableCrontabs = JSON.parse(document.getElementById("readable-crontabs").textContent);
  var originalHelp = script.getAttribute("data-crontab-help") || "";
  var translationLabel = script.getAttribute("data-translation-label") || "";

  function updateCrontabHelp(additional) {
    $(".field-crontab .help").empty().append(
      document.createTextNode(originalHelp),
      document.createElement("br"),
      document.createTextNode(translationLabel + " " + additional)
    );
  }

  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    updateCrontabHelp(readableCrontabs[$("#id_crontab").val()]);
  });
})();
