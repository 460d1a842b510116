// Keyboard-driven review: number keys choose the final answer, Enter accepts, r rejects with a comment.
(function () {
  "use strict";

  function reviewForm() {
    return document.getElementById("review-form");
  }

  function isTyping(target) {
    return !!target && (target.tagName === "TEXTAREA" ||
      (target.tagName === "INPUT" && (target.type === "text" || target.type === "search")));
  }

  // Spans: the checked span choices become the hidden JSON value the server reads.
  function syncSpans(form) {
    var hidden = form.querySelector("#review-spans");
    if (!hidden) {
      return;
    }
    var spans = Array.prototype.map.call(form.querySelectorAll("input.span-choice:checked"), function (input) {
      return { start: Number(input.dataset.start), end: Number(input.dataset.end), label: input.dataset.label };
    });
    hidden.value = JSON.stringify(spans);
  }

  function choose(form, input) {
    input.checked = input.type === "checkbox" ? !input.checked : true;
    syncSpans(form);
  }

  // With many labels, "/" opens the label filter (label_filter.js); picking there is the same as the label's key.
  var filter = null;

  function filterOf(form) {
    if (!filter || filter.form !== form) {
      filter = new window.Labelling.LabelFilter(form, function (name) {
        var choice = Array.prototype.find.call(form.querySelectorAll(".label-choice[data-label]"), function (element) {
          return element.dataset.label === name;
        });
        if (choice) {
          choose(form, choice.querySelector("input"));
        }
      });
    }
    return filter;
  }

  htmx.onLoad(function () {
    var form = reviewForm();
    if (form) {
      filterOf(form);
    }
  });

  function send(form, decision) {
    form.querySelector("#review-decision").value = decision;
    syncSpans(form);
    htmx.process(form);
    form.requestSubmit();
  }

  // htmx gives focus back to the element with the focused element's id after a swap: the next item's
  // comment box would take the keys meant for the item. Focus leaves the old item before it is replaced.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var slot = document.getElementById("review-slot");
    if (slot && event.detail.target === slot && slot.contains(document.activeElement)) {
      document.activeElement.blur();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-decision]");
    var form = reviewForm();
    if (button && form && form.contains(button)) {
      event.preventDefault();
      send(form, button.dataset.decision);
    }
  });

  document.addEventListener("change", function (event) {
    var form = reviewForm();
    if (form && event.target.classList.contains("span-choice")) {
      syncSpans(form);
    }
  });

  document.addEventListener("keydown", function (event) {
    var form = reviewForm();
    if (!form || event.altKey || event.metaKey) {
      return;
    }
    var comment = form.querySelector("#review-comment");
    if (isTyping(event.target)) {
      if (event.key === "Escape") {
        event.target.blur();
        event.preventDefault();
      } else if (event.key === "Enter" && event.ctrlKey) {
        send(form, form.querySelector("#review-decision").value);
        event.preventDefault();
      }
      return;
    }
    if (event.ctrlKey) {
      return;
    }
    var key = event.key;
    var choice = Array.prototype.find.call(form.querySelectorAll(".label-choice"), function (element) {
      return element.dataset.hotkey && element.dataset.hotkey === key;
    });
    if (key === "/" && filterOf(form).available()) {
      filterOf(form).open();
    } else if (choice) {
      choose(form, choice.querySelector("input"));
    } else if (key === "Enter") {
      send(form, "resolve");
    } else if (key === "r" || key === "R") {
      // Rejecting needs a reason: the comment field opens, Ctrl+Enter sends.
      form.querySelector("#review-decision").value = "reject";
      comment.focus();
    } else if (key === "c" || key === "C") {
      comment.focus();
    } else {
      return;
    }
    event.preventDefault();
  });
})();
