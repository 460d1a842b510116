// Keyboard-driven labelling: hotkeys pick labels, Enter submits, a accepts the suggestion, s skips.
// Also measures the lead time (ms since the item was shown) and builds span values from text selections.
(function () {
  "use strict";

  var shownAt = performance.now();

  function itemForm() {
    return document.getElementById("annotation-form");
  }

  function isSpans(form) {
    return form.dataset.taskType === "spans";
  }

  function isTyping(target) {
    if (!target || !target.tagName) {
      return false;
    }
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      return true;
    }
    if (target.tagName === "INPUT") {
      return ["radio", "checkbox", "button", "submit", "reset"].indexOf(target.type) === -1;
    }
    return false;
  }

  // Tracked by events, not by the htmx-request class: while new content settles, htmx briefly
  // copies the old element's classes onto it, which would make a fresh item look busy.
  var inFlight = false;

  function inItemSlot(element) {
    var slot = document.getElementById("item-slot");
    return !!(slot && element && slot.contains(element));
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (inItemSlot(event.detail.elt)) {
      inFlight = true;
    }
  });
  // The requesting form is gone after a swap, so its own events no longer bubble: listen on the slot too.
  ["htmx:afterRequest", "htmx:afterSwap"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (event.target.id === "item-slot" || inItemSlot(event.detail.elt)) {
        inFlight = false;
      }
    });
  });

  function submit(form) {
    if (inFlight) {
      return;
    }
    // A key pressed in the few ms before htmx has processed a freshly swapped item must still go through htmx.
    htmx.process(form);
    form.requestSubmit();
  }

  // Spans ---------------------------------------------------------------

  function spansInput(form) {
    return form.querySelector("#spans-input");
  }

  function readSpans(form) {
    try {
      return JSON.parse(spansInput(form).value || "[]");
    } catch (error) {
      return [];
    }
  }

  function codePoints(text) {
    return Array.from(text).length;
  }

  // Offsets in Unicode code points, as the server counts them (JavaScript counts UTF-16 units).
  function selectedOffsets(textElement) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) {
      return null;
    }
    var range = selection.getRangeAt(0);
    if (!textElement.contains(range.startContainer) || !textElement.contains(range.endContainer)) {
      return null;
    }
    var before = document.createRange();
    before.selectNodeContents(textElement);
    before.setEnd(range.startContainer, range.startOffset);
    var start = codePoints(before.toString());
    var end = start + codePoints(range.toString());
    return end > start ? { start: start, end: end } : null;
  }

  function writeSpans(form, spans) {
    spans.sort(function (a, b) { return a.start - b.start || a.end - b.end; });
    spansInput(form).value = JSON.stringify(spans);
    var list = form.querySelector("#span-list");
    var characters = Array.from(form.querySelector("#item-text").textContent);
    list.textContent = "";
    spans.forEach(function (span, index) {
      var entry = document.createElement("li");
      var name = document.createElement("strong");
      name.textContent = span.label;
      var quote = document.createElement("span");
      quote.textContent = " “" + characters.slice(span.start, span.end).join("") + "” ";
      var remove = document.createElement("button");
      remove.type = "button";
      remove.dataset.action = "remove-span";
      remove.dataset.index = String(index);
      remove.textContent = "×";
      remove.setAttribute("aria-label", "Remove");
      entry.append(name, quote, remove);
      list.appendChild(entry);
    });
  }

  function addSpan(form, labelName) {
    var offsets = selectedOffsets(form.querySelector("#item-text"));
    if (!offsets) {
      return;
    }
    var spans = readSpans(form);
    spans.push({ start: offsets.start, end: offsets.end, label: labelName });
    writeSpans(form, spans);
    window.getSelection().removeAllRanges();
  }

  // Labels --------------------------------------------------------------

  function choices(form) {
    return Array.prototype.slice.call(form.querySelectorAll(".label-choice"));
  }

  function nothingChosen(form) {
    if (isSpans(form)) {
      return readSpans(form).length === 0;
    }
    return !form.querySelector("input[name=label]:checked");
  }

  function clearChoice(form) {
    if (isSpans(form)) {
      writeSpans(form, []);
      return;
    }
    form.querySelectorAll("input[name=label]").forEach(function (input) { input.checked = false; });
  }

  function pickByHotkey(form, key) {
    var choice = choices(form).find(function (element) { return element.dataset.hotkey === key; });
    if (!choice) {
      return false;
    }
    if (isSpans(form)) {
      addSpan(form, choice.dataset.label);
    } else {
      var input = choice.querySelector("input");
      input.checked = input.type === "checkbox" ? !input.checked : true;
    }
    return true;
  }

  function acceptSuggestion(form) {
    var suggestion = form.querySelector("#suggestion");
    if (!suggestion) {
      return false;
    }
    var value = JSON.parse(suggestion.dataset.value);
    if (isSpans(form)) {
      writeSpans(form, (value.spans || []).slice());
    } else {
      var wanted = value.labels || [];
      form.querySelectorAll("input[name=label]").forEach(function (input) {
        input.checked = wanted.indexOf(input.value) !== -1;
      });
    }
    form.querySelector("#prediction-id").value = suggestion.dataset.predictionId;
    submit(form);
    return true;
  }

  // Events --------------------------------------------------------------

  htmx.onLoad(function (root) {
    var form = itemForm();
    if (form && (root === form || root.contains(form))) {
      shownAt = performance.now();
    }
  });

  // Capture phase: runs before htmx collects the form's values.
  document.addEventListener("submit", function (event) {
    if (event.target.id === "annotation-form") {
      event.target.querySelector("#lead-time").value = String(Math.round(performance.now() - shownAt));
    }
  }, true);

  document.addEventListener("click", function (event) {
    var form = itemForm();
    if (!form) {
      return;
    }
    var target = event.target.closest("[data-action], button.label-choice");
    if (!target || !form.contains(target)) {
      return;
    }
    if (target.dataset.action === "accept") {
      acceptSuggestion(form);
    } else if (target.dataset.action === "remove-span") {
      var spans = readSpans(form);
      spans.splice(Number(target.dataset.index), 1);
      writeSpans(form, spans);
    } else if (target.classList.contains("label-choice")) {
      addSpan(form, target.dataset.label);
    }
  });

  document.addEventListener("keydown", function (event) {
    var form = itemForm();
    if (!form || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
      return;
    }
    var key = event.key;
    var handled = true;
    if (key.length === 1 && pickByHotkey(form, key)) {
      // A label's own hotkey wins over the a / s shortcuts.
    } else if (key === "Enter") {
      if (!(nothingChosen(form) && acceptSuggestion(form))) {
        submit(form);
      }
    } else if (key === "a" || key === "A") {
      handled = acceptSuggestion(form);
    } else if (key === "s" || key === "S") {
      var skip = document.getElementById("skip-form");
      if (skip) {
        submit(skip);
      }
    } else if (key === "Escape") {
      clearChoice(form);
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
