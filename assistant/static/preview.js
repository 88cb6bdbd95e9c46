// The preview page (assistant preview): when the polled region says a new good version of the
// flow is served, reload the walk beside it where it is (same session, same step), or start it
// again when the flow's id changed or there was nothing to walk before. A broken edit keeps
// the last good version, so the walk is left alone.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function () {
    var live = document.getElementById("preview-live");
    var frame = document.getElementById("preview-walk");
    if (!live || !frame) return;
    var flow = live.dataset.flow || "", version = live.dataset.version || "";
    if (flow === frame.dataset.flow && version === frame.dataset.version) return;
    var sameFlow = flow !== "" && flow === frame.dataset.flow;
    frame.dataset.flow = flow;
    frame.dataset.version = version;
    if (sameFlow) {
      try {
        frame.contentWindow.location.reload();
        return;
      } catch (err) { /* not our page any more (a link followed elsewhere): start again */ }
    }
    frame.src = frame.dataset.start;
  });
})();
