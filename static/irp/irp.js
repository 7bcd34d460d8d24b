/* IRP's own script: no inline code anywhere (the Content-Security-Policy forbids it). */
(function () {
  "use strict";

  function words(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 1) { return Math.max(1, Math.floor(Math.abs(ms) / 1000)) + " s"; }
    var hours = Math.floor(minutes / 60);
    var days = Math.floor(hours / 24);
    var parts = [];
    if (days) { parts.push(days + (days === 1 ? " day" : " days")); }
    if (hours % 24) { parts.push((hours % 24) + " h"); }
    if (minutes % 60) { parts.push((minutes % 60) + " min"); }
    return parts.join(" ");
  }

  // Countdowns: an element with data-due (ISO 8601) says "due in …" or "overdue by …" and ticks.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (element) {
      var due = Date.parse(element.getAttribute("data-due"));
      if (isNaN(due)) { return; }
      var text = element.querySelector(".clock-text") || element;
      var left = due - now;
      var overdue = left <= 0;
      // Still due rounds up to the minute, past due rounds down, as the server writes them.
      text.textContent = overdue ? "overdue by " + words(left) : "due in " + words(left >= 60000 ? Math.ceil(left / 60000) * 60000 : left);
      element.classList.toggle("clock-overdue", overdue);
      element.classList.toggle("clock-due", !overdue);
      element.classList.toggle("overdue", overdue);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
  });

  // One line at the top of the page when a background request fails: at 2 AM a note that
  // silently did not save, or a list that silently stopped refreshing, is worse than an error.
  function problem(text) {
    var main = document.getElementById("main");
    if (!main) { return; }
    var line = document.getElementById("htmx-problem");
    if (!line) {
      line = document.createElement("p");
      line.id = "htmx-problem";
      line.className = "message error";
      line.setAttribute("role", "alert");
      main.insertBefore(line, main.firstChild);
    }
    line.textContent = text;
  }

  function clearProblem() {
    var line = document.getElementById("htmx-problem");
    if (line) { line.remove(); }
  }

  function pathOf(url) {
    try { return new URL(url, window.location.href).pathname; } catch (error) { return ""; }
  }

  // Sent elsewhere: signed out, so redirected to the sign-in page.
  function redirected(detail) {
    var xhr = detail.xhr;
    return Boolean(xhr && xhr.responseURL && detail.requestConfig &&
      pathOf(xhr.responseURL) !== pathOf(detail.requestConfig.path));
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr) { return; }
    // Never paste the sign-in page into this one. A poll reloads the page, which then asks to
    // sign in; a form keeps what was typed.
    if (redirected(event.detail)) {
      event.detail.shouldSwap = false;
      if (event.detail.requestConfig.verb === "get") {
        window.location.reload();
      } else {
        problem("You are signed out. Sign in again in another tab, then send this again: what you typed is kept.");
      }
      return;
    }
    // A 400 answer to an htmx request carries the form's errors: show them instead of ignoring them.
    if (xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 403) {
      problem("IRP refused this (403): you may no longer be allowed to change incidents, or the page is stale. Reload it.");
    } else if (status !== 400) {
      problem("IRP answered with an error (" + status + "). The page may be out of date; reload it.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    problem("Cannot reach IRP. Check the connection; the page keeps trying.");
  });

  document.addEventListener("htmx:afterOnLoad", function (event) {
    if (event.detail.successful && !redirected(event.detail)) { clearProblem(); }
  });

  // Forms marked data-reset-on-success empty themselves once htmx has posted them.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("form[data-reset-on-success]") && event.detail.successful &&
        !redirected(event.detail)) {
      form.reset();
    }
  });

  document.addEventListener("htmx:afterSwap", tick);
})();
