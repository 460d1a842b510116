// The label filter for projects with many labels: "/" focuses it, typing narrows the labels (by name and
// description, any case), arrow keys move through the matches, Enter picks one, Escape clears and leaves.
// The page decides what picking means (labelling.js: the same as the label's key); no English here.
(function () {
  "use strict";

  var HIGHLIGHT = "is-highlighted";
  var HIDDEN = "is-filtered-out";

  function fold(text) {
    return (text || "").toLocaleLowerCase();
  }

  /**
   * `form` holds the box (#label-filter) and the labels (.label-choice[data-label]); `onPick(name)` applies a
   * label once focus is back where it was before "/" (a focused span stays the one relabelled).
   */
  function LabelFilter(form, onPick) {
    this.form = form;
    this.onPick = onPick;
    this.input = form.querySelector("#label-filter");
    this.count = form.querySelector("#label-filter-count");
    this.choices = Array.prototype.slice.call(form.querySelectorAll(".label-choice[data-label]"));
    this.matches = this.choices;
    this.position = -1;
    this.returnTo = null;
    if (!this.input) {
      return;
    }
    var self = this;
    this.input.addEventListener("input", function () { self.apply(self.input.value); });
    this.input.addEventListener("keydown", function (event) { self.key(event); });
  }

  LabelFilter.prototype.available = function () {
    return !!this.input;
  };

  // "/": remember where focus was, then take the keys.
  LabelFilter.prototype.open = function () {
    if (!this.input) {
      return false;
    }
    var active = document.activeElement;
    this.returnTo = active && active !== document.body && this.form.contains(active) ? active : null;
    this.input.focus();
    this.input.select();
    this.apply(this.input.value);
    return true;
  };

  // Best match first for the highlight: name equal, name starting with, name containing, description containing.
  LabelFilter.prototype.rank = function (element, query) {
    var name = fold(element.dataset.label);
    if (!query) {
      return 0;
    }
    if (name === query) {
      return 4;
    }
    if (name.indexOf(query) === 0) {
      return 3;
    }
    if (name.indexOf(query) !== -1) {
      return 2;
    }
    return fold(element.title).indexOf(query) !== -1 ? 1 : -1;
  };

  LabelFilter.prototype.apply = function (text) {
    var query = fold(text.trim());
    var self = this;
    var best = null;
    var bestRank = -1;
    this.matches = [];
    this.choices.forEach(function (element) {
      var rank = self.rank(element, query);
      element.classList.toggle(HIDDEN, rank < 0);
      if (rank >= 0) {
        self.matches.push(element);
        if (rank > bestRank) {
          best = element;
          bestRank = rank;
        }
      }
    });
    this.highlight(query && best ? this.matches.indexOf(best) : -1);
    if (this.count) {
      this.count.textContent = query
        ? (this.count.dataset.template || "").replace("%(shown)s", this.matches.length)
          .replace("%(total)s", this.choices.length)
        : "";
    }
  };

  LabelFilter.prototype.highlight = function (position) {
    this.choices.forEach(function (element) { element.classList.remove(HIGHLIGHT); });
    this.position = position;
    var element = this.matches[position];
    if (element) {
      element.classList.add(HIGHLIGHT);
      element.scrollIntoView({ block: "nearest" });
    }
  };

  LabelFilter.prototype.move = function (delta) {
    if (!this.matches.length) {
      return;
    }
    var start = this.position < 0 ? (delta > 0 ? -1 : 0) : this.position;
    this.highlight((start + delta + this.matches.length) % this.matches.length);
  };

  // Clear the box, show every label again and give focus back to the text (or the span it was on).
  LabelFilter.prototype.close = function () {
    this.input.value = "";
    this.apply("");
    var back = this.returnTo;
    this.returnTo = null;
    if (back && back.isConnected) {
      back.focus({ preventScroll: true });
    } else {
      this.input.blur();
    }
  };

  LabelFilter.prototype.pick = function () {
    var element = this.matches[this.position];
    if (!element) {
      return false;
    }
    var name = element.dataset.label;
    this.close();
    this.onPick(name);
    return true;
  };

  LabelFilter.prototype.key = function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var handled = true;
    if (event.key === "ArrowDown") {
      this.move(1);
    } else if (event.key === "ArrowUp") {
      this.move(-1);
    } else if (event.key === "Enter") {
      // Never the form's own submit: Enter in the box picks a label, a second Enter submits.
      this.pick();
    } else if (event.key === "Escape") {
      this.close();
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  };

  window.Labelling = window.Labelling || {};
  window.Labelling.LabelFilter = LabelFilter;
})();
