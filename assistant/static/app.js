// After htmx swaps a step in: move focus to its heading and announce it in the live region.
// Kept tiny on purpose: every page works without this file and without htmx.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail || !event.detail.target || event.detail.target.id !== "step") return;
    var heading = document.getElementById("step-heading");
    var announcer = document.getElementById("announcer");
    var problem = document.getElementById("request-error");
    if (problem) problem.hidden = true;
    var summary = document.querySelector("#step .error-summary");
    if (summary) {
      summary.focus();  // a form with problems: go to the list of them
    } else if (heading) {
      if (document.activeElement !== heading) heading.focus({ preventScroll: false });
      if (announcer) {
        var notice = document.querySelector("#step .notice");
        announcer.textContent = (notice ? notice.textContent.trim() + " " : "") + heading.textContent.trim();
      }
    }
  });
  // A request that failed or was refused as too large: say so, keep the page (and what was
  // typed) as it is.
  function showProblem(event) {
    var problem = document.getElementById("request-error");
    if (!problem) return;
    var xhr = event.detail && event.detail.xhr;
    problem.textContent = xhr && xhr.status === 413
      ? "That is far more text than this form takes, so nothing was sent. Please shorten it and send it again."
      : xhr && xhr.status === 503
      ? "Our service is busy or briefly unavailable, so this wasn't saved yet. Nothing you've done so far is lost. Please try again in a few seconds."
      : "We couldn't reach the server, so nothing was changed. Check your connection and try again.";
    problem.dataset.from = (event.detail && event.detail.elt && event.detail.elt.id) || "";
    problem.hidden = false;
  }
  document.addEventListener("htmx:responseError", showProblem);
  document.addEventListener("htmx:sendError", showProblem);
  // A live check's poller that failed (server restarting, network blip) is not replaced, so
  // it would stop asking: ask again a little later, for as long as it is on the page.
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || elt.id !== "probe-wait" || event.detail.successful) return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.status < 500) return;  // gone or refused: no retry
    window.setTimeout(function () {
      if (document.body.contains(elt) && window.htmx) window.htmx.trigger(elt, "retry");
    }, 3000);
  });
  // Once a poller that failed (a live check's, the console's live region) is answered again,
  // unchanged (204) or not, the problem banner it raised is out of date.
  document.addEventListener("htmx:afterRequest", function (event) {
    var problem = document.getElementById("request-error");
    var elt = event.detail && event.detail.elt;
    if (problem && elt && elt.id && event.detail.successful && problem.dataset.from === elt.id) {
      problem.hidden = true;
    }
  });
  // A flow diagram wider than its box: show the step the session is at (on load, and after
  // the console's live region is swapped), scrolling the box only, never the page.
  function showCurrentStep() {
    var boxes = document.querySelectorAll(".diagram-wrap");
    Array.prototype.forEach.call(boxes, function (box) {
      var node = box.querySelector("g.current");
      if (!node) return;
      var b = box.getBoundingClientRect(), n = node.getBoundingClientRect();
      box.scrollLeft += n.left - b.left - (b.width - n.width) / 2;
      box.scrollTop += n.top - b.top - (b.height - n.height) / 2;
    });
  }
  document.addEventListener("DOMContentLoaded", showCurrentStep);
  document.addEventListener("htmx:afterSettle", showCurrentStep);
})();
