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
    if (heading) {
      if (document.activeElement !== heading) heading.focus({ preventScroll: false });
      if (announcer) {
        var notice = document.querySelector("#step .notice");
        announcer.textContent = (notice ? notice.textContent.trim() + " " : "") + heading.textContent.trim();
      }
    }
  });
  // A server or network failure during an htmx request: say so, keep the page as it is.
  function showProblem() {
    var problem = document.getElementById("request-error");
    if (!problem) return;
    problem.textContent = "We couldn't reach the server, so nothing was changed. Check your connection and try again.";
    problem.hidden = false;
  }
  document.addEventListener("htmx:responseError", showProblem);
  document.addEventListener("htmx:sendError", showProblem);
})();
