// The classification editor for one item: chosen labels, suggested labels with their confidence, undo state.
(function () {
  "use strict";

  function ClassificationEditor(form) {
    this.form = form;
    this.inputs = Array.prototype.slice.call(form.querySelectorAll("input[name=label]"));
    var suggestion = form.querySelector("#suggestion");
    this.suggested = [];
    if (suggestion) {
      var value = {};
      try {
        value = JSON.parse(suggestion.dataset.value || "{}");
      } catch (error) {
        value = {};
      }
      this.suggested = Array.isArray(value.labels) ? value.labels : [];
      this.showScores(value.scores, parseFloat(suggestion.dataset.score));
    }
  }

  // Per-label probabilities when the model gave them, its overall score otherwise; formatted for the page's language.
  ClassificationEditor.prototype.showScores = function (scores, overall) {
    var percent = new Intl.NumberFormat(document.documentElement.lang || undefined, {
      style: "percent", maximumFractionDigits: 0,
    });
    this.form.querySelectorAll(".model-score[data-label]").forEach(function (element) {
      var score = scores && typeof scores[element.dataset.label] === "number" ? scores[element.dataset.label] : overall;
      if (!isNaN(score)) {
        element.textContent = percent.format(score);
      }
    });
  };

  ClassificationEditor.prototype.snapshot = function () {
    return this.inputs.filter(function (input) { return input.checked; }).map(function (input) { return input.value; });
  };

  ClassificationEditor.prototype.restore = function (chosen) {
    this.inputs.forEach(function (input) { input.checked = chosen.indexOf(input.value) !== -1; });
  };

  ClassificationEditor.prototype.isEmpty = function () {
    return !this.inputs.some(function (input) { return input.checked; });
  };

  ClassificationEditor.prototype.choose = function (name) {
    var input = this.inputs.find(function (element) { return element.value === name; });
    if (!input) {
      return false;
    }
    if (input.type === "checkbox") {
      input.checked = !input.checked;
      return true;
    }
    if (input.checked) {
      return false;
    }
    input.checked = true;
    return true;
  };

  ClassificationEditor.prototype.mark = function (name) {
    return this.choose(name);
  };

  // Accept one suggested label: in multi-label it is added, never toggled off.
  ClassificationEditor.prototype.acceptLabel = function (name) {
    var input = this.inputs.find(function (element) { return element.value === name; });
    if (!input || input.checked) {
      return false;
    }
    input.checked = true;
    return true;
  };

  ClassificationEditor.prototype.acceptAll = function () {
    var wanted = this.suggested;
    if (!wanted.length) {
      return false;
    }
    var before = this.snapshot().join("\n");
    this.inputs.forEach(function (input) { input.checked = wanted.indexOf(input.value) !== -1; });
    return this.snapshot().join("\n") !== before;
  };

  ClassificationEditor.prototype.openSuggestions = function () {
    return this.suggested;
  };

  // Escape clears the chosen labels (undo brings them back); in the span editor it only drops the selection.
  ClassificationEditor.prototype.escapeClears = true;

  ClassificationEditor.prototype.escape = function () {
    if (this.isEmpty()) {
      return false;
    }
    this.restore([]);
    return true;
  };

  ClassificationEditor.prototype.value = function () {
    return null;
  };

  ClassificationEditor.prototype.refresh = function () {};

  ClassificationEditor.prototype.handleKey = function () {
    return false;
  };

  window.Labelling = window.Labelling || {};
  window.Labelling.ClassificationEditor = ClassificationEditor;
})();
