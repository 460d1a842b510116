// The labelling workbench: keys, suggestions, undo, skip and help dialogs, comment, lead time.
// The editors live in classification.js and spans.js (with span_text.js, span_view.js). Every
// user-visible message comes from translated data attributes on #labelling-strings: no English here.
(function () {
  "use strict";

  var shownAt = performance.now();
  var page = null; // the controller of the item on screen

  function itemForm() {
    return document.getElementById("annotation-form");
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

  // Buttons, links and summaries keep their own Enter and Space.
  function isActivatable(target) {
    return !!(target && target.closest && target.closest("button, a[href], summary, dialog"));
  }

  function readStrings() {
    var element = document.getElementById("labelling-strings");
    return element ? Object.assign({}, element.dataset) : {};
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

  // htmx gives focus back to the element with the focused element's id after a swap: the next item's
  // comment box would take the keys meant for the item. Focus leaves the old item before it is replaced.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var slot = document.getElementById("item-slot");
    if (slot && event.detail.target === slot && slot.contains(document.activeElement)) {
      document.activeElement.blur();
    }
  });

  function submit(form) {
    if (inFlight) {
      return;
    }
    // A key pressed in the few ms before htmx has processed a freshly swapped item must still go through htmx.
    htmx.process(form);
    form.requestSubmit();
  }

  // The controller of one item -----------------------------------------------

  function ItemPage(form) {
    var self = this;
    this.form = form;
    this.strings = readStrings();
    this.suggestion = form.querySelector("#suggestion");
    // Re-shown after a refused submission: the server says whether the suggestion was rejected.
    this.isRejected = !!this.suggestion && form.hasAttribute("data-suggestion-rejected");
    this.undoStack = [];
    this.messageBox = form.querySelector("#item-message");
    this.editor = form.dataset.taskType === "spans"
      ? new window.Labelling.SpanEditor(form, this)
      : new window.Labelling.ClassificationEditor(form);
    this.current = this.snapshot();
    this.shownAs = JSON.stringify(this.current);
    // With many labels, "/" opens a filter; picking there is the same as pressing the label's key.
    this.filter = new window.Labelling.LabelFilter(form, function (name) { self.mark(name); });
    // Mouse clicks on a label change it before any key handler runs: record them for undo here.
    form.addEventListener("change", function (event) {
      if (event.target.name === "label") {
        self.undoStack.push(self.current);
        self.afterChange();
      }
    });
    this.afterChange();
  }

  ItemPage.prototype.rejected = function () {
    return this.isRejected;
  };

  ItemPage.prototype.snapshot = function () {
    return { editor: this.editor.snapshot(), rejected: this.isRejected };
  };

  ItemPage.prototype.restore = function (snapshot) {
    // Set first: the span editor draws suggestions according to it while restoring.
    this.isRejected = snapshot.rejected;
    this.editor.restore(snapshot.editor);
  };

  // Run one change; when it changed something, undo can take it back.
  ItemPage.prototype.edit = function (change) {
    var before = this.current;
    var changed = !!change();
    if (changed) {
      this.undoStack.push(before);
      this.afterChange();
    }
    return changed;
  };

  ItemPage.prototype.afterChange = function () {
    this.current = this.snapshot();
    this.form.querySelector("#suggestion-rejected").value = this.isRejected ? "1" : "";
    // A data attribute, not a class: htmx's settle step rewrites the class of elements with an id.
    this.form.toggleAttribute("data-suggestion-rejected", this.isRejected);
    if (this.suggestion) {
      this.suggestion.hidden = this.isRejected;
    }
    var undo = this.form.querySelector("[data-action=undo]");
    if (undo) {
      undo.disabled = !this.undoStack.length && !document.getElementById("previous-button");
    }
    this.form.querySelectorAll(".label-choice").forEach(function (element) {
      var input = element.querySelector("input");
      element.classList.toggle("is-chosen", !!(input && input.checked));
    });
  };

  // Work on screen the server has not got: an answer changed since the item was shown, or a comment written.
  ItemPage.prototype.hasUnsavedWork = function () {
    var comment = this.form.querySelector("#comment-input");
    return JSON.stringify(this.snapshot()) !== this.shownAs || !!(comment && comment.value !== comment.defaultValue);
  };

  ItemPage.prototype.message = function (text) {
    var box = this.messageBox;
    if (!box || !text) {
      return;
    }
    box.textContent = text;
    box.hidden = false;
    window.clearTimeout(this.messageTimer);
    this.messageTimer = window.setTimeout(function () { box.hidden = true; }, 5000);
  };

  ItemPage.prototype.undo = function () {
    if (this.undoStack.length) {
      this.restore(this.undoStack.pop());
      this.afterChange();
      return;
    }
    var previous = document.getElementById("previous-button");
    if (previous && !inFlight) {
      htmx.process(previous);
      previous.click();
      return;
    }
    this.message(this.strings.nothingToUndo);
  };

  ItemPage.prototype.hasSuggestion = function () {
    return !!this.suggestion && !this.isRejected;
  };

  ItemPage.prototype.acceptAll = function () {
    var editor = this.editor;
    return this.hasSuggestion() && this.edit(function () { return editor.acceptAll(); });
  };

  ItemPage.prototype.reject = function () {
    var self = this;
    return this.hasSuggestion() && this.edit(function () {
      self.isRejected = true;
      self.editor.refresh();
      return true;
    });
  };

  ItemPage.prototype.mark = function (name) {
    var editor = this.editor;
    return this.edit(function () { return editor.mark(name); });
  };

  ItemPage.prototype.labelForKey = function (key) {
    var choices = Array.prototype.slice.call(this.form.querySelectorAll(".label-choice[data-hotkey]"));
    var exact = choices.find(function (element) { return element.dataset.hotkey === key; });
    var loose = exact || choices.find(function (element) {
      return element.dataset.hotkey && element.dataset.hotkey.toLowerCase() === key.toLowerCase();
    });
    if (!loose) {
      return null;
    }
    return loose.dataset.label || loose.querySelector("input").value;
  };

  // Enter: submit; with nothing chosen and a suggestion on screen, accept it first.
  ItemPage.prototype.enter = function () {
    if (this.editor.isEmpty() && this.hasSuggestion() && this.editor.openSuggestions().length) {
      this.acceptAll();
    }
    submit(this.form);
  };

  ItemPage.prototype.beforeSubmit = function () {
    var value = this.editor.value();
    if (value) {
      this.form.querySelector("#spans-input").value = JSON.stringify(value);
    }
    this.form.querySelector("#suggestion-rejected").value = this.isRejected ? "1" : "";
    this.form.querySelector("#lead-time").value = String(Math.round(performance.now() - shownAt));
  };

  // Events --------------------------------------------------------------

  var dialogs = window.Labelling.dialogs;

  // The controller of the item on screen, made on first need: a key pressed in the few ms between
  // htmx's swap and its load event must not be lost.
  function currentPage() {
    var form = itemForm();
    if (!form) {
      page = null;
    } else if (!page || page.form !== form) {
      shownAt = performance.now();
      page = new ItemPage(form);
    }
    return page;
  }

  htmx.onLoad(currentPage);

  // Leaving the page (a link, a reload, closing the tab) with unsaved work asks first. A submitted item is
  // replaced by the next one, whose controller starts with nothing unsaved, so no question follows a submit.
  window.addEventListener("beforeunload", function (event) {
    var form = itemForm();
    if (form && currentPage() && page.hasUnsavedWork() && !window.Annotator.keptForLogin()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "item-slot") {
      currentPage();
    }
  });

  // Capture phase: runs before htmx collects the form's values, and can stop an incomplete skip.
  document.addEventListener("submit", function (event) {
    if (event.target.id === "annotation-form" && currentPage()) {
      page.beforeSubmit();
    } else if (event.target.id === "skip-form") {
      var reason = dialogs.skipReason(event.target);
      if (!reason) {
        event.preventDefault();
        event.stopPropagation();
        event.target.querySelector("#skip-problem").hidden = false;
        event.target.querySelector("#skip-other").focus();
        return;
      }
      if (inFlight) {
        event.preventDefault();
        event.stopPropagation();
        return;
      }
      event.target.querySelector("#skip-reason").value = reason;
      htmx.process(event.target);
    }
  }, true);

  // Label and suggestion buttons do not take focus on a click: a focused span stays focused (so a click
  // relabels it), and the next Enter still submits instead of pressing the clicked button again.
  document.addEventListener("mousedown", function (event) {
    var button = event.target.closest && event.target.closest("button.label-choice, .suggestion button");
    if (button && itemForm() && itemForm().contains(button)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-action], button.label-choice");
    if (!target) {
      return;
    }
    var action = target.dataset.action;
    if (action === "close-dialog") {
      target.closest("dialog").close();
      return;
    }
    if (action === "help") {
      dialogs.toggleHelp();
      return;
    }
    var form = itemForm();
    if (!form || !currentPage() || !form.contains(target)) {
      return;
    }
    var editor = page.editor;
    if (action === "accept") {
      page.acceptAll();
    } else if (action === "reject") {
      page.reject();
    } else if (action === "accept-one") {
      page.edit(function () { return editor.acceptLabel(target.dataset.label); });
    } else if (action === "skip" && !inFlight) {
      dialogs.openSkip();
    } else if (action === "undo") {
      page.undo();
    } else if (action === "remove-span") {
      page.edit(function () { return editor.removeById(target.dataset.span); });
    } else if (action === "focus-span") {
      editor.focusById(target.dataset.span);
    } else if (target.classList.contains("label-choice") && target.dataset.label) {
      page.mark(target.dataset.label);
    }
  });

  document.addEventListener("keydown", function (event) {
    var key = event.key;
    var target = event.target;
    var dialog = document.querySelector("dialog[open]");
    if (dialog) {
      if (dialog.id === "skip-dialog") {
        dialogs.skipKey(event, dialog);
      } else if (dialog.id === "help-dialog" && key === "?" && !isTyping(target)) {
        dialogs.toggleHelp();
        event.preventDefault();
      }
      return;
    }
    if (key === "?" && !isTyping(target)) {
      dialogs.toggleHelp();
      event.preventDefault();
      return;
    }
    var form = itemForm();
    if (!form && (key === "z" || key === "Z") && !isTyping(target) && !event.altKey && !inFlight) {
      // The queue is empty: z still reopens the item submitted last.
      var previous = document.getElementById("previous-button");
      if (previous) {
        htmx.process(previous);
        previous.click();
        event.preventDefault();
      }
      return;
    }
    if (!form || !currentPage() || event.altKey) {
      return;
    }
    if (event.ctrlKey || event.metaKey) {
      if (key === "Enter") {
        submit(form);
        event.preventDefault();
      } else if ((key === "z" || key === "Z") && !event.shiftKey && !isTyping(target)) {
        page.undo();
        event.preventDefault();
      }
      return;
    }
    if (target.id === "comment-input") {
      if (key === "Escape") {
        target.blur();
        event.preventDefault();
      }
      return;
    }
    // Just after a dialog closes, Chrome may leave focus on its (now hidden) text field until the
    // next style pass: a key pressed then is not typing, and must not be lost.
    if (isTyping(target) && !(target.closest && target.closest("dialog:not([open])"))) {
      return;
    }
    if ((key === "Enter" || key === " ") && isActivatable(target)) {
      return;
    }
    if (inFlight) {
      // The item is on its way to the server: no edits that would be lost.
      if (key === "Enter" || key.length === 1) {
        event.preventDefault();
      }
      return;
    }
    var label = key.length === 1 && key !== " " ? page.labelForKey(key) : null;
    var handled = true;
    if (key === "/" && page.filter.available()) {
      // A mouse selection in the text is taken now: focus in the filter box would drop it.
      if (page.editor.syncNativeSelection) {
        page.editor.syncNativeSelection();
      }
      page.filter.open();
    } else if (label !== null) {
      // A label's own hotkey wins over the command keys below.
      page.mark(label);
    } else if (page.editor.handleKey(event, function (change) { return page.edit(change); })) {
      // Span keys: arrows, Home/End, Tab, Delete/Backspace, Enter on a suggested span.
    } else if (key === "Enter") {
      page.enter();
    } else if (key === "a" || key === "A") {
      page.acceptAll();
    } else if (key === "x" || key === "X") {
      page.reject();
    } else if (key === "s" || key === "S") {
      dialogs.openSkip();
    } else if (key === "c" || key === "C") {
      form.querySelector("#comment-input").focus();
    } else if (key === "z" || key === "Z") {
      page.undo();
    } else if (key === "Escape") {
      var editor = page.editor;
      if (editor.escapeClears) {
        page.edit(function () { return editor.escape(); });
      } else {
        editor.escape();
      }
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
