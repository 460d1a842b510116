// Page-wide behaviour: label colours from data attributes, visible errors for failed htmx requests, and an
// answer kept across a login when the session ended.
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
    delete box.dataset.problem;
    delete box.dataset.tone;
    box.hidden = false;
    window.clearTimeout(flash.timer);
    flash.timer = window.setTimeout(function () { box.hidden = true; }, 6000);
  }

  // A session that ended, or a page older than the login --------------------------------------------------
  // The server answers such an htmx request with JSON saying what happened and what to do (401, or 403 for a
  // page out of date). A form marked data-send-after-login (an answer, a skip, a review decision) is kept in
  // this tab's sessionStorage and sent again once the user is back on the same page, logged in, as the same user.

  var KEPT = "annotator:send-after-login";

  function sessionProblem(xhr) {
    if (xhr.status !== 401 && xhr.status !== 403) {
      return null;
    }
    var body;
    try {
      body = JSON.parse(xhr.responseText);
    } catch (error) {
      return null;
    }
    return body && (body.error === "session_expired" || body.error === "page_out_of_date") ? body : null;
  }

  function herePath() {
    return window.location.pathname + window.location.search;
  }

  function readKept() {
    try {
      return JSON.parse(window.sessionStorage.getItem(KEPT) || "null");
    } catch (error) {
      return null;
    }
  }

  function forgetKept() {
    window.sessionStorage.removeItem(KEPT);
  }

  function keep(detail) {
    var form = detail.elt && detail.elt.closest && detail.elt.closest("form[data-send-after-login]");
    var slot = form && document.querySelector(form.getAttribute("hx-target"));
    if (!form || !slot || !slot.dataset.userId) {
      return false;
    }
    var data = (detail.requestConfig && detail.requestConfig.formData) || new FormData(form);
    var values = [];
    data.forEach(function (value, name) {
      // The token of a page from before the login would be refused: the page sent again carries a fresh one.
      if (name !== "csrfmiddlewaretoken" && typeof value === "string") {
        values.push([name, value]);
      }
    });
    window.sessionStorage.setItem(KEPT, JSON.stringify({
      page: herePath(),
      owner: slot.dataset.userId,
      target: form.getAttribute("hx-target"),
      path: detail.pathInfo.requestPath,
      values: values,
    }));
    return true;
  }

  function showSessionProblem(problem, kept, slot) {
    var box = document.getElementById("flash");
    if (!box) {
      return;
    }
    var link = document.createElement("a");
    link.id = "session-action";
    link.textContent = problem.action;
    link.href = problem.login_url ? problem.login_url + "?next=" + encodeURIComponent(herePath()) : herePath();
    box.replaceChildren(problem.message + " ");
    if (kept && slot && slot.dataset.keptMessage) {
      box.append(slot.dataset.keptMessage + " ");
    }
    box.append(link);
    box.dataset.problem = problem.error;
    delete box.dataset.tone;
    box.hidden = false;
    // It stays until the user acts: a message that went away would leave them without the way back.
    window.clearTimeout(flash.timer);
  }

  // Back on the page after logging in again: send what was kept, into the same panel, with this page's token.
  function sendKept() {
    var kept = readKept();
    if (!kept || kept.page !== herePath()) {
      return;
    }
    forgetKept();
    var slot = document.querySelector(kept.target);
    if (!slot || slot.dataset.userId !== kept.owner) {
      return; // another user logged in in this tab: what was kept is not theirs to send
    }
    var values = {};
    kept.values.forEach(function (pair) {
      var name = pair[0];
      if (Object.prototype.hasOwnProperty.call(values, name)) {
        values[name] = [].concat(values[name], pair[1]);
      } else {
        values[name] = pair[1];
      }
    });
    slot.addEventListener("htmx:afterRequest", function sent(event) {
      if (event.detail.elt !== slot) {
        return;
      }
      slot.removeEventListener("htmx:afterRequest", sent);
      var box = document.getElementById("flash");
      // A refusal (422) comes back as the item with its errors, which say what to change.
      if (box && slot.dataset.sentMessage && event.detail.xhr.status < 300) {
        box.textContent = slot.dataset.sentMessage;
        delete box.dataset.problem;
        box.dataset.tone = "ok";
        box.hidden = false;
        window.clearTimeout(flash.timer);
        flash.timer = window.setTimeout(function () { box.hidden = true; }, 6000);
      }
    });
    htmx.ajax("POST", kept.path, { source: slot, target: kept.target, swap: "innerHTML", values: values });
  }

  window.Annotator = window.Annotator || {};
  // Whether this page's answer is kept for after the login: leaving the page then loses nothing.
  window.Annotator.keptForLogin = function () {
    var kept = readKept();
    return !!kept && kept.page === herePath();
  };

  htmx.onLoad(applyColours);
  htmx.onLoad(function (element) {
    if (element === document.body) {
      sendKept();
    }
  });

  document.body.addEventListener("htmx:responseError", function (event) {
    var problem = sessionProblem(event.detail.xhr);
    if (problem) {
      var kept = keep(event.detail);
      var dialog = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("dialog[open]");
      if (dialog) {
        dialog.close(); // a modal dialog would keep the message and its link out of reach
      }
      var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("form");
      showSessionProblem(problem, kept, form && document.querySelector(form.getAttribute("hx-target")));
      return;
    }
    var kinds = { 403: "Forbidden", 404: "Missing" };
    flash(kinds[event.detail.xhr.status] || "Other");
  });
  document.body.addEventListener("htmx:sendError", function () {
    flash("Offline");
  });
})();
