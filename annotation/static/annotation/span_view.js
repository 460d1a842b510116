// Drawing for the span editor: spans in the text, the list of spans, the token cursor and mouse selection.
// The text is drawn once per edit with one text node per gap between span boundaries (never one node per
// token), and the token cursor is painted with the CSS Custom Highlight API, so moving it changes no DOM.
(function () {
  "use strict";

  var text = window.Labelling.text;
  var lowerBound = text.lowerBound;
  var clamp = text.clamp;
  var byPosition = text.byPosition;
  var readableInk = text.readableInk;
  var CURSOR_HIGHLIGHT = "label-cursor";
  var MAX_LAYER_CLASS = 3;
  var QUOTE_CHARS = 60;
  // Methods mixed into the span editor (spans.js); `this` is the editor.
  var view = {};

  // Drawing --------------------------------------------------------------

  view.render = function () {
    var index = this.index;
    var items = this.visible();
    // Overlapping spans go on separate layers, so every underline and tag stays visible.
    var layerEnds = [];
    items.forEach(function (item) {
      var layer = 0;
      while (layer < layerEnds.length && layerEnds[layer] > item.start) {
        layer += 1;
      }
      layerEnds[layer] = item.end;
      item.layer = layer;
      item.from = index.unitOfCp[item.start];
      item.to = index.unitOfCp[item.end];
    });
    var points = [0, index.units];
    items.forEach(function (item) { points.push(item.from, item.to); });
    points.sort(function (a, b) { return a - b; });
    points = points.filter(function (point, position) { return position === 0 || point !== points[position - 1]; });

    var fragment = document.createDocumentFragment();
    var textNodes = [];
    var nodeStarts = [];
    var nodeIndex = new Map();
    var firstPiece = {};
    var active = [];
    var next = 0;
    for (var k = 0; k + 1 < points.length; k += 1) {
      var from = points[k];
      var to = points[k + 1];
      active = active.filter(function (item) { return item.to > from; });
      while (next < items.length && items[next].from <= from) {
        if (items[next].to > from) {
          active.push(items[next]);
        }
        next += 1;
      }
      var node = document.createTextNode(index.text.slice(from, to));
      textNodes.push(node);
      nodeStarts.push(from);
      nodeIndex.set(node, from);
      var inner = node;
      // Innermost first: the shortest span wraps the text, the longest wraps them all.
      var wrapping = active.slice().sort(function (a, b) { return (a.to - a.from) - (b.to - b.from); });
      for (var w = 0; w < wrapping.length; w += 1) {
        var mark = this.pieceFor(wrapping[w], from, to, firstPiece);
        mark.appendChild(inner);
        inner = mark;
      }
      fragment.appendChild(inner);
    }
    this.root.replaceChildren(fragment);
    // A data attribute, not a class: htmx's settle step rewrites the class of elements with an id.
    this.root.toggleAttribute("data-layers", layerEnds.length > 1);
    this.textNodes = textNodes;
    this.nodeStarts = nodeStarts;
    this.nodeIndex = nodeIndex;
    this.firstPiece = firstPiece;
    this.renderList();
    this.input.value = JSON.stringify(this.value());
    this.drawCursor(false);
  };

  view.pieceFor = function (item, from, to, firstPiece) {
    var mark = document.createElement("mark");
    var label = this.labels[item.label] || {};
    mark.className = "span-mark layer-" + Math.min(item.layer, MAX_LAYER_CLASS) +
      (item.suggested ? " is-suggested" : "");
    mark.dataset.span = item.id;
    mark.style.setProperty("--colour", label.colour || "#7f7f7f");
    mark.style.setProperty("--on-colour", readableInk(label.colour));
    var strings = this.page.strings;
    var score = item.suggested ? this.percent.format(item.score || 0) : "";
    if (from === item.from) {
      // Only a span's first piece takes focus, so Tab visits each span once.
      mark.tabIndex = 0;
      firstPiece[item.id] = mark;
      mark.title = item.suggested
        ? [strings.model, item.label, score, this.modelVersion].join(" · ")
        : item.label + (label.description ? " · " + label.description : "");
    }
    if (to === item.to) {
      mark.classList.add("span-end");
      mark.dataset.name = item.suggested ? strings.model + " · " + item.label + " " + score : item.label;
    }
    return mark;
  };

  view.renderList = function () {
    var self = this;
    var strings = this.page.strings;
    var entries = this.spans.slice().sort(byPosition).map(function (span) {
      var entry = document.createElement("li");
      var chip = document.createElement("button");
      chip.type = "button";
      chip.className = "span-chip";
      chip.dataset.action = "focus-span";
      chip.dataset.span = span.id;
      chip.dataset.colour = (self.labels[span.label] || {}).colour || "";
      chip.style.setProperty("--colour", chip.dataset.colour || "#7f7f7f");
      var name = document.createElement("strong");
      name.textContent = span.label;
      var quoted = self.index.slice(span.start, span.end);
      var quoteChars = Array.from(quoted);
      if (quoteChars.length > QUOTE_CHARS) {
        quoted = quoteChars.slice(0, QUOTE_CHARS).join("") + "…";
      }
      chip.append(name, " “" + quoted + "”");
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "span-remove";
      remove.dataset.action = "remove-span";
      remove.dataset.span = span.id;
      remove.textContent = "×";
      remove.setAttribute("aria-label", strings.remove + " " + span.label + " “" + quoted + "”");
      entry.append(chip, remove);
      return entry;
    });
    this.list.replaceChildren.apply(this.list, entries);
  };

  // DOM positions <-> offsets ---------------------------------------------

  view.unitOfDom = function (container, offset) {
    if (this.nodeIndex.has(container)) {
      return this.nodeIndex.get(container) + offset;
    }
    var before = document.createRange();
    before.setStart(this.root, 0);
    before.setEnd(container, offset);
    return before.toString().length;
  };

  view.domOfUnit = function (unit, isEnd) {
    var nodes = this.textNodes;
    if (!nodes.length) {
      return { node: this.root, offset: 0 };
    }
    // An end that falls on a node boundary stays in the earlier node, so a range never spills over.
    var position = lowerBound(this.nodeStarts, isEnd ? unit : unit + 1) - 1;
    position = clamp(position, 0, nodes.length - 1);
    return { node: nodes[position], offset: unit - this.nodeStarts[position] };
  };

  view.rangeOf = function (start, end) {
    var range = document.createRange();
    var from = this.domOfUnit(this.index.unitOfCp[start], false);
    var to = this.domOfUnit(this.index.unitOfCp[end], true);
    range.setStart(from.node, from.offset);
    range.setEnd(to.node, to.offset);
    return range;
  };

  // Selection and the token cursor -----------------------------------------

  view.selectedRange = function () {
    if (!this.sel) {
      return null;
    }
    var first = Math.min(this.sel.anchor, this.sel.focus);
    var last = Math.max(this.sel.anchor, this.sel.focus);
    return { start: this.index.starts[first], end: this.index.ends[last], first: first, last: last };
  };

  // Take a mouse (or script) selection inside the text, snapped outwards to whole tokens.
  view.syncNativeSelection = function () {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed || this.drawnNatively) {
      return false;
    }
    var range = selection.getRangeAt(0);
    var whole = document.createRange();
    whole.selectNodeContents(this.root);
    var startSide = whole.comparePoint(range.startContainer, range.startOffset);
    var endSide = whole.comparePoint(range.endContainer, range.endOffset);
    if (startSide > 0 || endSide < 0) {
      return false;
    }
    var fromUnit = startSide < 0 ? 0 : this.unitOfDom(range.startContainer, range.startOffset);
    var toUnit = endSide > 0 ? this.index.units : this.unitOfDom(range.endContainer, range.endOffset);
    var tokens = this.index.tokensIn(this.index.cpOfUnit[fromUnit], this.index.cpEnd(toUnit));
    selection.removeAllRanges();
    if (!tokens) {
      return false;
    }
    var backward = selection.anchorNode === range.endContainer && selection.anchorOffset === range.endOffset &&
      !(range.startContainer === range.endContainer && range.startOffset === range.endOffset);
    this.sel = backward ? { anchor: tokens.last, focus: tokens.first } : { anchor: tokens.first, focus: tokens.last };
    this.leaveSpan();
    this.drawCursor(true);
    return true;
  };

  // The text position under a point on screen, or null outside the text.
  view.pointInText = function (x, y) {
    var node = null;
    var offset = 0;
    if (document.caretPositionFromPoint) {
      var position = document.caretPositionFromPoint(x, y);
      node = position && position.offsetNode;
      offset = position ? position.offset : 0;
    } else if (document.caretRangeFromPoint) {
      var range = document.caretRangeFromPoint(x, y);
      node = range && range.startContainer;
      offset = range ? range.startOffset : 0;
    }
    return node && this.root.contains(node) ? this.unitOfDom(node, offset) : null;
  };

  // A drag the browser made no selection for (Chrome starts none when the button goes down on the edge of a
  // focusable span): the words between where it went down and where it came up, so the drag is never taken
  // for a click that focuses the span under it.
  view.syncPointerDrag = function (down, up) {
    var DRAG_PIXELS = 4;
    if (!down || Math.abs(up.x - down.x) + Math.abs(up.y - down.y) < DRAG_PIXELS) {
      return false;
    }
    var from = this.pointInText(down.x, down.y);
    var to = this.pointInText(up.x, up.y);
    if (from === null || to === null || from === to) {
      return false;
    }
    var tokens = this.index.tokensIn(this.index.cpOfUnit[Math.min(from, to)], this.index.cpEnd(Math.max(from, to)));
    if (!tokens) {
      return false;
    }
    this.sel = to < from ? { anchor: tokens.last, focus: tokens.first } : { anchor: tokens.first, focus: tokens.last };
    this.leaveSpan();
    this.drawCursor(true);
    return true;
  };

  view.leaveSpan = function () {
    if (this.focusedItem()) {
      document.activeElement.blur();
    }
  };

  view.drawCursor = function (scroll) {
    var selected = this.selectedRange();
    var highlights = window.CSS && CSS.highlights && typeof window.Highlight === "function";
    if (!selected) {
      if (highlights) {
        CSS.highlights.delete(CURSOR_HIGHLIGHT);
      } else if (this.drawnNatively) {
        window.getSelection().removeAllRanges();
      }
      this.drawnNatively = false;
      this.root.removeAttribute("data-cursor");
      return;
    }
    var range = this.rangeOf(selected.start, selected.end);
    if (highlights) {
      CSS.highlights.set(CURSOR_HIGHLIGHT, new Highlight(range));
    } else {
      // Without the Highlight API the native selection shows the cursor; it is then not read back.
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      this.drawnNatively = true;
    }
    // Tests and assistive tools can read the cursor without reaching into the highlight registry.
    this.root.dataset.cursor = selected.start + "-" + selected.end;
    if (scroll) {
      this.scrollToRange(range);
    }
  };

  view.scrollToRange = function (range) {
    var rect = range.getBoundingClientRect();
    var box = this.root.getBoundingClientRect();
    var margin = 24;
    if (rect.top < box.top + margin) {
      this.root.scrollTop -= box.top + margin - rect.top;
    } else if (rect.bottom > box.bottom - margin) {
      this.root.scrollTop += rect.bottom - (box.bottom - margin);
    }
  };

  view.clearSelection = function () {
    var selected = this.selectedRange();
    if (!selected) {
      return false;
    }
    this.caret = selected.first;
    this.sel = null;
    this.drawCursor(false);
    return true;
  };

  // Where a cursor starts when there is no selection: next to the focused span, else at the caret.
  view.startToken = function (delta) {
    var count = this.index.starts.length;
    var focused = this.focusedItem();
    if (focused) {
      var after = lowerBound(this.index.starts, focused.end);
      var before = lowerBound(this.index.ends, focused.start + 1) - 1;
      return clamp(delta > 0 ? after : before, 0, count - 1);
    }
    return clamp(delta > 0 ? this.caret : this.caret - 1, 0, count - 1);
  };

  view.moveCursor = function (delta, extend, toEdge) {
    var count = this.index.starts.length;
    if (!count) {
      return false;
    }
    this.syncNativeSelection();
    var edgeToken = delta > 0 ? count - 1 : 0;
    if (!this.sel) {
      var start = this.startToken(delta);
      var first = toEdge && !extend ? edgeToken : start;
      this.sel = { anchor: first, focus: toEdge ? edgeToken : first };
    } else {
      var outer = delta > 0 ? Math.max(this.sel.anchor, this.sel.focus) : Math.min(this.sel.anchor, this.sel.focus);
      var target = toEdge ? edgeToken : clamp((extend ? this.sel.focus : outer) + delta, 0, count - 1);
      this.sel = extend ? { anchor: this.sel.anchor, focus: target } : { anchor: target, focus: target };
    }
    this.leaveSpan();
    this.drawCursor(true);
    return true;
  };

  view.bindPointer = function () {
    var self = this;
    var dragged = false;
    var down = null;
    this.root.addEventListener("mousedown", function (event) {
      self.drawnNatively = false;
      down = event.button === 0 ? { x: event.clientX, y: event.clientY } : null;
    });
    this.root.addEventListener("mouseup", function (event) {
      var up = { x: event.clientX, y: event.clientY };
      var from = down;
      down = null;
      // After the browser has settled the selection for this mouseup.
      window.setTimeout(function () {
        dragged = self.syncNativeSelection() || self.syncPointerDrag(from, up);
        if (!dragged) {
          var selection = window.getSelection();
          if (selection && selection.rangeCount && selection.isCollapsed && self.root.contains(selection.anchorNode)) {
            var unit = self.unitOfDom(selection.anchorNode, selection.anchorOffset);
            self.caret = lowerBound(self.index.ends, self.index.cpOfUnit[unit] + 1);
            self.sel = null;
            self.drawCursor(false);
          }
        }
      }, 0);
    });
    this.root.addEventListener("click", function (event) {
      var piece = event.target.closest && event.target.closest(".span-mark");
      var selection = window.getSelection();
      if (!piece || !self.root.contains(piece) || (selection && !selection.isCollapsed)) {
        return;
      }
      window.setTimeout(function () {
        if (dragged) {
          return;
        }
        var item = self.itemById(piece.dataset.span);
        if (item && item.suggested) {
          self.page.edit(function () { return self.acceptOne(item, null); });
        } else if (item) {
          self.focusById(item.id);
        }
      }, 0);
    });
    this.root.addEventListener("focusin", function (event) {
      var id = event.target.dataset && event.target.dataset.span;
      if (id) {
        self.root.querySelectorAll('[data-span="' + id + '"]').forEach(function (piece) {
          piece.classList.add("is-focused");
        });
      }
    });
    this.root.addEventListener("focusout", function (event) {
      var id = event.target.dataset && event.target.dataset.span;
      if (id) {
        self.root.querySelectorAll('[data-span="' + id + '"]').forEach(function (piece) {
          piece.classList.remove("is-focused");
        });
      }
    });
  };

  window.Labelling.spanView = view;
})();
