// Page-wide behaviour: label colours from data attributes and visible errors for failed htmx requests.
// Colours go through the CSSOM (allowed under a strict Content-Security-Policy), never a style attribute.
(function () {
  "use strict";

  function applyColours(root) {
    var elements = Array.prototype.slice.call(root.querySelectorAll("[data-colour]"));
    if (root.matches && root.matches("[data-colour]")) {
      elements.push(root);
    }
    elements.forEach(function (element) {
      if (/^#[0-9a-fA-F]{6}$/.test(element.dataset.colour)) {
        element.style.setProperty("--colour", element.dataset.colour);
      }
    });
  }

  // Messages come translated from data attributes on #flash, so this file holds no user-visible text.
  function flash(kind) {
    var box = document.getElementById("flash");
    if (!box) {
      return;
    }
    box.textContent = box.dataset["message" + kind] || box.dataset.messageOther;
    box.hidden = false;
    window.clearTimeout(flash.timer);
    flash.timer = window.setTimeout(function () { box.hidden = true; }, 6000);
  }

  htmx.onLoad(applyColours);

  document.body.addEventListener("htmx:responseError", function (event) {
    var kinds = { 403: "Forbidden", 404: "Missing" };
    flash(kinds[event.detail.xhr.status] || "Other");
  });
  document.body.addEventListener("htmx:sendError", function () {
    flash("Offline");
  });
})();
