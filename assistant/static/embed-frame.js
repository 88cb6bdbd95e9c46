// Inside a help center's frame (embed=1): tell the host page (its embed.js) how tall the page
// is and where a new step begins, and take focus when the host hands it over. Messages go only
// to the origin that said hello, and only if it is one of EMBED_ORIGINS (the body's
// data-embed-origins); messages are taken only from the parent window at that origin.
(function () {
  "use strict";
  if (window.parent === window) return;
  var allowed = (document.body.getAttribute("data-embed-origins") || "").split(" ").filter(Boolean);
  var host = null;
  var last = -1;

  function post(message) {
    if (host) window.parent.postMessage(message, host);
  }
  function height() {
    // The content's own height (not the frame's): it must be able to shrink too.
    var main = document.querySelector("main");
    var bottom = main ? main.getBoundingClientRect().bottom + window.scrollY : document.body.scrollHeight;
    var error = document.getElementById("request-error");
    if (error && !error.hidden) bottom += error.getBoundingClientRect().height;
    return Math.ceil(bottom);
  }
  function report() {
    var h = height();
    if (h !== last) { last = h; post({ type: "assistant:height", height: h }); }
  }
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || allowed.indexOf(event.origin) < 0) return;
    var data = event.data || {};
    if (data.type === "assistant:hello") {
      host = event.origin;
      last = -1;
      report();
    } else if (data.type === "assistant:focus" && event.origin === host) {
      var target = document.querySelector("#step .error-summary") || document.getElementById("step-heading");
      if (target) target.focus();
    }
  });
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
  window.addEventListener("load", report);
  // A new step swapped in: the host keeps its top in view (app.js has focused its heading).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail || !event.detail.target || event.detail.target.id !== "step") return;
    report();
    post({ type: "assistant:step" });
  });
  // Escape closes the host's launcher panel; the key never reaches the host page by itself.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") post({ type: "assistant:escape" });
  });
})();
