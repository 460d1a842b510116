// The item browser's keys: "/" goes to the word search, j and k move between rows, n opens the next page.
// No key acts while the user types in a field. Filters left empty stay out of the address, so that it
// names only what was chosen.
(function () {
  "use strict";

  // A typed filter applies on Enter (the form's submit). Its change event, which Enter fires too, would
  // send the same request twice and put the page twice into the history, so it is kept from the form.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.form && target.form.id === "item-filters" && /^(text|search|number)$/.test(target.type)) {
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.closest || !event.detail.elt.closest("#item-filters")) {
      return;
    }
    var parameters = event.detail.parameters;
    var names = typeof parameters.keys === "function" ? Array.from(parameters.keys()) : Object.keys(parameters);
    names.forEach(function (name) {
      var values = typeof parameters.getAll === "function" ? parameters.getAll(name) : [].concat(parameters[name]);
      if (values.every(function (value) { return value === ""; })) {
        if (typeof parameters.delete === "function") {
          parameters.delete(name);
        } else {
          delete parameters[name];
        }
      }
    });
  });

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }

  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#item-results a.item-link"));
  }

  function moveRow(step) {
    var links = rowLinks();
    if (!links.length) {
      return;
    }
    var at = links.indexOf(document.activeElement);
    var next = at === -1 ? 0 : Math.min(Math.max(at + step, 0), links.length - 1);
    links[next].focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    if (event.key === "/") {
      var search = document.getElementById("id_q");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      }
    } else if (event.key === "j") {
      moveRow(1);
    } else if (event.key === "k") {
      moveRow(-1);
    } else if (event.key === "n") {
      var next = document.getElementById("next-page");
      if (next) {
        next.click();
      }
    }
  });
})();
