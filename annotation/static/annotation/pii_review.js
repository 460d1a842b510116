// Personal-data review from the keyboard: j/k (or the arrows) move between findings, c and d
// confirm or dismiss the focused one, x selects it, Shift+C / Shift+D decide every selected one
// in one request. Decisions go through htmx, so the page (and the reader's place) stays.
(function () {
  "use strict";

  function findings() {
    return Array.prototype.slice.call(document.querySelectorAll("#pii-findings .finding"));
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("#pii-findings .finding") : null;
  }

  function focusAt(index) {
    var all = findings();
    if (!all.length) {
      return;
    }
    var finding = all[Math.max(0, Math.min(all.length - 1, index))];
    finding.focus();
    finding.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = findings();
    var at = all.indexOf(current());
    focusAt(at < 0 ? 0 : at + step);
  }

  // A click, not requestSubmit: htmx sends the clicked button's name and value (the decision).
  function decide(finding, status) {
    var button = finding.querySelector('.finding-state button[value="' + status + '"]');
    if (button && !button.disabled) {
      button.click();
      move(1);
    }
  }

  function decideSelected(status) {
    var form = document.getElementById("pii-bulk");
    if (form && document.querySelector("#pii-findings .finding-select:checked")) {
      form.querySelector('button[name="status"][value="' + status + '"]').click();
    }
  }

  function selectAllSync() {
    var all = document.getElementById("pii-select-all");
    if (all) {
      var boxes = document.querySelectorAll("#pii-findings .finding-select");
      var checked = document.querySelectorAll("#pii-findings .finding-select:checked");
      all.checked = boxes.length > 0 && checked.length === boxes.length;
      all.indeterminate = checked.length > 0 && checked.length < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "pii-select-all") {
      document.querySelectorAll("#pii-findings .finding-select").forEach(function (box) {
        box.checked = event.target.checked;
      });
    } else if (event.target.classList.contains("finding-select")) {
      selectAllSync();
    }
  });

  // A decision replaces the finding's buttons; a clicked button would take the focus away with it,
  // so the finding itself keeps it and j/k go on from there.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("finding-state") && target.contains(document.activeElement)) {
      target.closest(".finding").focus();
    }
  });

  // After a bulk decision the selection is spent: clear it so the next one starts afresh.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#pii-bulk") && event.detail.successful) {
      document.querySelectorAll("#pii-findings .finding-select:checked").forEach(function (box) {
        box.checked = false;
      });
      selectAllSync();
    }
  });

  function isTyping(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "checkbox");
  }

  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("pii-findings") || event.ctrlKey || event.altKey || event.metaKey || isTyping(event.target)) {
      return;
    }
    var finding = current();
    var handled = true;
    switch (event.key) {
      case "j":
      case "ArrowDown":
        move(1);
        break;
      case "k":
      case "ArrowUp":
        move(-1);
        break;
      case "c":
      case "d":
        if (finding) {
          decide(finding, event.key === "c" ? "confirmed" : "dismissed");
        } else {
          handled = false;
        }
        break;
      case "C":
      case "D":
        decideSelected(event.key === "C" ? "confirmed" : "dismissed");
        break;
      case "x":
        if (finding) {
          var box = finding.querySelector(".finding-select");
          box.checked = !box.checked;
          selectAllSync();
        } else {
          handled = false;
        }
        break;
      default:
        handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
