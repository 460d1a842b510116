// The span editor for one item: spans and suggested spans, edits that undo can revert, span focus and keys.
// Drawing, the token cursor and the mouse live in span_view.js; offsets and tokens in span_text.js.
(function () {
  "use strict";

  var text = window.Labelling.text;
  var lowerBound = text.lowerBound;
  var TextIndex = text.TextIndex;
  var overlaps = text.overlaps;
  var sameSpan = text.sameSpan;
  var byPosition = text.byPosition;
  var parseJson = text.parseJson;

  /**
   * The editor for one item. `page` gives it: strings (translated messages), message(text) to show one,
   * rejected() whether the suggestion is hidden, and edit(fn) to run a change that undo can revert.
   */
  function SpanEditor(form, page) {
    this.form = form;
    this.page = page;
    this.root = form.querySelector("#item-text");
    this.list = form.querySelector("#span-list");
    this.input = form.querySelector("#spans-input");
    var source = document.getElementById("item-text-data");
    this.index = new TextIndex(source ? JSON.parse(source.textContent) : this.root.textContent);
    this.allowOverlap = form.dataset.allowOverlap === "true";
    this.labels = {};
    var labels = this.labels;
    form.querySelectorAll(".label-choice[data-label]").forEach(function (button) {
      labels[button.dataset.label] = { colour: button.dataset.colour, description: button.title };
    });
    this.counter = 0;
    this.spans = [];
    this.sel = null; // {anchor, focus} token indices
    this.caret = 0; // the token a cursor movement starts from
    this.firstPiece = {};
    this.textNodes = [];
    this.nodeStarts = [];
    this.nodeIndex = new Map();

    var initial = parseJson(form.dataset.initialSpans, []);
    var self = this;
    (Array.isArray(initial) ? initial : []).forEach(function (span) {
      if (self.validSpan(span)) {
        self.spans.push(self.human(span.start, span.end, span.label));
      }
    });
    this.suggested = [];
    var suggestion = form.querySelector("#suggestion");
    if (suggestion) {
      this.modelVersion = suggestion.dataset.modelVersion || "";
      var value = parseJson(suggestion.dataset.value, {});
      var overall = parseFloat(suggestion.dataset.score);
      (Array.isArray(value.spans) ? value.spans : []).forEach(function (span, position) {
        if (self.validSpan(span)) {
          self.suggested.push({
            id: "s" + position, start: span.start, end: span.end, label: span.label, suggested: true,
            score: typeof span.score === "number" ? span.score : overall, state: "open",
          });
        }
      });
      // A span already in the initial value needs no second, suggested copy.
      this.suggested.forEach(function (item) {
        if (self.spans.some(function (span) { return sameSpan(span, item); })) {
          item.state = "accepted";
        }
      });
    }
    this.percent = new Intl.NumberFormat(document.documentElement.lang || undefined, {
      style: "percent", maximumFractionDigits: 0,
    });
    this.bindPointer();
    this.render();
  }

  SpanEditor.prototype.validSpan = function (span) {
    return span && Number.isInteger(span.start) && Number.isInteger(span.end) &&
      span.start >= 0 && span.end <= this.index.length && span.start < span.end &&
      Object.prototype.hasOwnProperty.call(this.labels, span.label);
  };

  SpanEditor.prototype.human = function (start, end, label) {
    this.counter += 1;
    return { id: "h" + this.counter, start: start, end: end, label: label, suggested: false };
  };

  // Undo support ---------------------------------------------------------

  SpanEditor.prototype.snapshot = function () {
    return {
      spans: this.spans.map(function (span) { return Object.assign({}, span); }),
      states: this.suggested.map(function (item) { return item.state; }),
    };
  };

  SpanEditor.prototype.restore = function (snapshot) {
    this.spans = snapshot.spans.map(function (span) { return Object.assign({}, span); });
    this.suggested.forEach(function (item, position) { item.state = snapshot.states[position]; });
    this.sel = null;
    this.render();
  };

  // State questions asked by the page -----------------------------------

  SpanEditor.prototype.value = function () {
    return this.spans.slice().sort(byPosition).map(function (span) {
      return { start: span.start, end: span.end, label: span.label };
    });
  };

  SpanEditor.prototype.isEmpty = function () {
    return this.spans.length === 0;
  };

  SpanEditor.prototype.openSuggestions = function () {
    if (this.page.rejected()) {
      return [];
    }
    return this.suggested.filter(function (item) { return item.state === "open"; });
  };

  SpanEditor.prototype.visible = function () {
    return this.spans.concat(this.openSuggestions()).sort(byPosition);
  };

  SpanEditor.prototype.itemById = function (id) {
    var all = this.spans.concat(this.suggested);
    for (var position = 0; position < all.length; position += 1) {
      if (all[position].id === id) {
        return all[position];
      }
    }
    return null;
  };

  SpanEditor.prototype.focusedItem = function () {
    var active = document.activeElement;
    if (!active || !this.root.contains(active) || !active.dataset || !active.dataset.span) {
      return null;
    }
    return this.itemById(active.dataset.span);
  };

  // Edits (the page wraps each in undo) ---------------------------------

  SpanEditor.prototype.tryAdd = function (start, end, label) {
    if (this.spans.some(function (span) { return sameSpan(span, { start: start, end: end, label: label }); })) {
      return { added: null, reason: "duplicate" };
    }
    if (!this.allowOverlap && this.spans.some(function (span) {
      return overlaps(span, { start: start, end: end });
    })) {
      return { added: null, reason: "overlap" };
    }
    var span = this.human(start, end, label);
    this.spans.push(span);
    // Marking by hand what the model proposed settles that suggestion.
    this.suggested.forEach(function (item) {
      if (item.state === "open" && sameSpan(item, span)) {
        item.state = "accepted";
      }
    });
    return { added: span, reason: null };
  };

  SpanEditor.prototype.refuse = function (reason) {
    if (reason === "overlap") {
      this.page.message(this.page.strings.overlap);
    }
    return false;
  };

  // A label key or label button: marks the selection, else relabels (or accepts) the focused span.
  SpanEditor.prototype.mark = function (label) {
    this.syncNativeSelection();
    var selected = this.selectedRange();
    if (selected) {
      var result = this.tryAdd(selected.start, selected.end, label);
      if (!result.added) {
        return this.refuse(result.reason);
      }
      this.sel = null;
      this.caret = lowerBound(this.index.starts, selected.end);
      this.render();
      return true;
    }
    var focused = this.focusedItem();
    if (focused && focused.suggested) {
      return this.acceptOne(focused, label);
    }
    if (focused) {
      if (focused.label === label) {
        return false;
      }
      var clash = this.spans.some(function (span) {
        return sameSpan(span, { start: focused.start, end: focused.end, label: label });
      });
      if (clash) {
        return this.refuse("overlap");
      }
      focused.label = label;
      this.render();
      this.focusById(focused.id);
      return true;
    }
    this.page.message(this.page.strings.selectFirst);
    return false;
  };

  SpanEditor.prototype.acceptOne = function (item, label) {
    var result = this.tryAdd(item.start, item.end, label || item.label);
    if (result.reason === "overlap") {
      return this.refuse("overlap");
    }
    item.state = "accepted";
    this.render();
    if (result.added) {
      this.focusById(result.added.id);
    }
    return true;
  };

  SpanEditor.prototype.acceptFocused = function () {
    var focused = this.focusedItem();
    return focused && focused.suggested ? this.acceptOne(focused, null) : false;
  };

  SpanEditor.prototype.acceptAll = function () {
    var self = this;
    var changed = false;
    var refused = 0;
    this.openSuggestions().forEach(function (item) {
      var result = self.tryAdd(item.start, item.end, item.label);
      if (result.reason === "overlap") {
        refused += 1;
        return;
      }
      item.state = "accepted";
      changed = true;
    });
    if (refused) {
      this.page.message(this.page.strings.suggestionOverlap);
    }
    if (changed) {
      this.render();
    }
    return changed;
  };

  SpanEditor.prototype.removeItem = function (item) {
    if (!item) {
      return false;
    }
    var order = this.visible();
    var position = order.indexOf(item);
    var wasFocused = this.focusedItem() === item;
    if (item.suggested) {
      item.state = "dismissed";
    } else {
      this.spans.splice(this.spans.indexOf(item), 1);
    }
    this.caret = lowerBound(this.index.ends, item.start + 1);
    this.render();
    if (wasFocused) {
      // Carry on with the neighbour, so a run of wrong spans is cleared with repeated Delete.
      var neighbour = order[position + 1] || order[position - 1];
      if (neighbour) {
        this.focusById(neighbour.id);
      }
    }
    return true;
  };

  SpanEditor.prototype.removeFocused = function () {
    return this.removeItem(this.focusedItem());
  };

  SpanEditor.prototype.removeById = function (id) {
    return this.removeItem(this.itemById(id));
  };

  // Escape never wipes spans: it only drops the selection or leaves the focused span.
  SpanEditor.prototype.escapeClears = false;

  SpanEditor.prototype.escape = function () {
    if (this.clearSelection()) {
      return true;
    }
    if (this.focusedItem()) {
      document.activeElement.blur();
      return true;
    }
    return false;
  };

  SpanEditor.prototype.refresh = function () {
    // Called when the suggestion is rejected or restored.
    this.render();
  };

  // Focus between spans ----------------------------------------------------

  SpanEditor.prototype.focusById = function (id) {
    var piece = this.firstPiece[id];
    if (!piece) {
      return false;
    }
    this.sel = null;
    this.drawCursor(false);
    piece.focus({ preventScroll: true });
    this.scrollToRange(this.rangeOf(this.itemById(id).start, this.itemById(id).end));
    return true;
  };

  SpanEditor.prototype.focusStep = function (delta) {
    var order = this.visible();
    if (!order.length) {
      return false;
    }
    var focused = this.focusedItem();
    var position;
    if (focused) {
      position = order.indexOf(focused) + delta;
      if (position < 0 || position >= order.length) {
        // From the last (or first) span, let the browser move focus on: the spans never trap the keyboard.
        return false;
      }
    } else {
      var selected = this.selectedRange();
      var from = selected ? selected.start
        : (this.caret < this.index.starts.length ? this.index.starts[this.caret] : this.index.length);
      position = 0;
      while (position < order.length && order[position].start < from) {
        position += 1;
      }
      if (delta < 0) {
        position -= 1;
      }
      // From the text, Tab always reaches a span: past the last one it goes round to the first (Shift+Tab
      // before the first, to the last), where the browser would have left for the top bar's links.
      position = (position + order.length) % order.length;
    }
    this.caret = lowerBound(this.index.ends, order[position].start + 1);
    return this.focusById(order[position].id);
  };

  // Keys only the span editor knows; returns true when it handled one.
  SpanEditor.prototype.handleKey = function (event, edit) {
    var self = this;
    var active = document.activeElement;
    var inText = !active || active === document.body || this.root.contains(active);
    switch (event.key) {
      case "ArrowRight":
      case "ArrowLeft":
        return inText && this.moveCursor(event.key === "ArrowRight" ? 1 : -1, event.shiftKey, false);
      case "Home":
      case "End":
        return inText && this.moveCursor(event.key === "End" ? 1 : -1, event.shiftKey, true);
      case "Tab":
        return inText && this.focusStep(event.shiftKey ? -1 : 1);
      case "Delete":
      case "Backspace":
        return !!this.focusedItem() && edit(function () { return self.removeFocused(); });
      case "Enter":
        return !!(this.focusedItem() && this.focusedItem().suggested) &&
          edit(function () { return self.acceptFocused(); });
      default:
        return false;
    }
  };

  Object.assign(SpanEditor.prototype, window.Labelling.spanView);

  window.Labelling.SpanEditor = SpanEditor;
})();
