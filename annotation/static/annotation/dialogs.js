// The skip dialog (a reason chosen by number key, or written under "Other…") and the keyboard help overlay.
(function () {
  "use strict";

  // Skip dialog -----------------------------------------------------------

  function skipDialog() {
    return document.getElementById("skip-dialog");
  }

  function openSkip() {
    var dialog = skipDialog();
    if (!dialog) {
      return;
    }
    var first = dialog.querySelector("input[name=reason_choice]");
    if (first) {
      first.checked = true;
    }
    dialog.querySelector("#skip-other").value = "";
    dialog.querySelector("#skip-problem").hidden = true;
    dialog.showModal();
    if (first) {
      first.focus();
    }
  }

  function chooseReason(dialog, number) {
    var choices = dialog.querySelectorAll("input[name=reason_choice]");
    var choice = choices[number - 1];
    if (!choice) {
      return;
    }
    choice.checked = true;
    if (choice.hasAttribute("data-other")) {
      dialog.querySelector("#skip-other").focus();
    } else {
      choice.focus();
    }
  }

  function skipKey(event, dialog) {
    var key = event.key;
    if (event.target.id === "skip-other") {
      return; // typing; Enter submits the form, Escape closes the dialog
    }
    if (/^[1-9]$/.test(key)) {
      chooseReason(dialog, Number(key));
      event.preventDefault();
    } else if (key === "Enter" && !(event.target.closest && event.target.closest("button"))) {
      dialog.querySelector("#skip-form").requestSubmit();
      event.preventDefault();
    }
  }

  // The reason to send: the chosen one, or the free text under "Other…", which must not be empty.
  function skipReason(form) {
    var chosen = form.querySelector("input[name=reason_choice]:checked");
    if (chosen && !chosen.hasAttribute("data-other")) {
      return chosen.value;
    }
    return form.querySelector("#skip-other").value.trim();
  }

  // Help dialog -----------------------------------------------------------

  function toggleHelp() {
    var help = document.getElementById("help-dialog");
    if (!help) {
      return;
    }
    if (help.open) {
      help.close();
    } else {
      help.showModal();
    }
  }

  document.addEventListener("change", function (event) {
    var dialog = skipDialog();
    if (dialog && event.target.name === "reason_choice" && event.target.hasAttribute("data-other")) {
      dialog.querySelector("#skip-other").focus();
    }
  });

  document.addEventListener("input", function (event) {
    // Typing a reason under "Other…" chooses it.
    if (event.target.id === "skip-other") {
      var other = skipDialog().querySelector("input[data-other]");
      if (other) {
        other.checked = true;
      }
    }
  });

  window.Labelling = window.Labelling || {};
  window.Labelling.dialogs = {
    openSkip: openSkip,
    skipKey: skipKey,
    skipReason: skipReason,
    toggleHelp: toggleHelp,
  };
})();
