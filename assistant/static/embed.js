/* The troubleshooting assistant in a help-center page: one line where the guide should appear,

     <script src="https://ASSISTANT/embed.js" data-flow="salesforce" data-launch="TOKEN" async></script>

   inserts the guide in a frame at that point (no data-flow: the list of guides). Options:
     data-mode="launcher"   a "Troubleshoot" button in a corner opening the guide in a panel,
                            as a chat (the same session pages with view=chat)
     data-feedback="ID|URL" the article's own "Did this answer your question?" instead of a
                            guide, with data-section="…" (the part of the article it is under)
                            and data-flow (the guide offered after "No" or "Partly")
     data-title="…"         the frame's title for screen readers
     data-lang="es"         the guide's language (default: the page's <html lang>, if any)
   The page's own styles are untouched: the guide lives in a frame, and the launcher's button
   and panel in a shadow root, styled through the CSSOM (which a host's CSP allows). The frame
   reports its height and where a new step begins with postMessage; messages are taken only
   from the assistant's origin and from its own frame, and sent only to that origin. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var data = script.dataset;

  // The host page's language goes on to the guide (?lang=); the guide keeps English for a
  // language it does not speak.
  var lang = data.lang || document.documentElement.lang || "";

  function frameUrl(path, params) {
    var url = new URL(path, origin);
    url.searchParams.set("embed", "1");
    if (lang) url.searchParams.set("lang", lang);
    Object.keys(params).forEach(function (key) {
      if (params[key]) url.searchParams.set(key, params[key]);
    });
    return url.href;
  }

  function css(element, styles) {
    Object.keys(styles).forEach(function (name) { element.style.setProperty(name, styles[name]); });
    return element;
  }

  function makeFrame(src, title, fill) {
    var frame = css(document.createElement("iframe"), {
      display: "block", width: "100%", border: "0", margin: "0", padding: "0",
      height: fill ? "100%" : "24rem", "color-scheme": "normal", background: "transparent"
    });
    frame.title = title;
    if (!fill) frame.setAttribute("loading", "lazy");  // a guide far down the article loads when near
    frame.src = src;
    frame.setAttribute("data-assistant-frame", "");
    frame.addEventListener("load", function () {  // each page the frame loads: say hello
      frame.contentWindow.postMessage({ type: "assistant:hello" }, origin);
    });
    return frame;
  }

  function listen(frame, handlers) {
    window.addEventListener("message", function (event) {
      if (event.origin !== origin || !frame.contentWindow || event.source !== frame.contentWindow) return;
      var message = event.data;
      if (!message || typeof message.type !== "string") return;
      var handler = handlers[message.type.replace("assistant:", "")];
      if (handler) handler(message);
    });
  }

  function followHeight(frame) {
    return function (message) {
      var height = Number(message.height);
      if (isFinite(height) && height > 0) frame.style.setProperty("height", Math.min(Math.ceil(height), 20000) + "px");
    };
  }

  function keepStepInView(frame) {
    return function () {
      var top = frame.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight - 80) frame.scrollIntoView({ block: "start" });
    };
  }

  var guideParams = { launch: data.launch };
  var guidePath = data.flow ? "/flows/" + encodeURIComponent(data.flow) : "/";

  if (data.feedback !== undefined) {
    var article = data.feedback || (document.querySelector("link[rel=canonical]") || {}).href ||
      location.origin + location.pathname;
    var feedback = makeFrame(frameUrl("/embed/feedback", {
      article: article, section: data.section, flow: data.flow, launch: data.launch
    }), data.title || "Did this answer your question?", false);
    feedback.style.setProperty("height", "7rem");
    script.parentNode.insertBefore(feedback, script.nextSibling);
    listen(feedback, { height: followHeight(feedback), step: keepStepInView(feedback) });
    return;
  }

  var title = data.title || "Troubleshooting guide";
  if (data.mode !== "launcher") {
    var inline = makeFrame(frameUrl(guidePath, guideParams), title, false);
    script.parentNode.insertBefore(inline, script.nextSibling);
    listen(inline, { height: followHeight(inline), step: keepStepInView(inline) });
    return;
  }

  // The launcher: a button in the corner; the panel it opens holds the guide's frame, made on
  // the first opening (a page that never needs it loads nothing).
  var host = document.createElement("div");
  host.setAttribute("data-assistant-launcher", "");
  var root = host.attachShadow({ mode: "open" });
  var reset = { "font-family": "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
                "font-size": "16px", "line-height": "1.4", "box-sizing": "border-box" };
  var button = css(document.createElement("button"), Object.assign({
    position: "fixed", right: "1rem", bottom: "1rem", "z-index": "2147483000", padding: "0.75rem 1.25rem",
    border: "2px solid #fff", "border-radius": "999px", background: "#123358", color: "#fff",
    "font-weight": "700", cursor: "pointer", "box-shadow": "0 2px 8px rgba(0,0,0,0.35)"
  }, reset));
  button.type = "button";
  button.textContent = data.label || "Troubleshoot";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "assistant-panel");
  var panel = css(document.createElement("div"), Object.assign({
    position: "fixed", right: "1rem", bottom: "4.75rem", "z-index": "2147483000",
    width: "min(26rem, calc(100vw - 2rem))", height: "min(40rem, calc(100vh - 6rem))",
    background: "#fff", color: "#0b0c0c", border: "1px solid #505a5f", "border-radius": "8px",
    "box-shadow": "0 4px 24px rgba(0,0,0,0.3)", display: "none", "flex-direction": "column",
    overflow: "hidden"
  }, reset));
  panel.id = "assistant-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "assistant-panel-title");
  var bar = css(document.createElement("div"), {
    display: "flex", "align-items": "center", "justify-content": "space-between",
    padding: "0.5rem 0.75rem", background: "#123358", color: "#fff", flex: "none"
  });
  var heading = css(document.createElement("h2"), { margin: "0", "font-size": "1rem", color: "#fff" });
  heading.id = "assistant-panel-title";
  heading.textContent = title;
  var close = css(document.createElement("button"), Object.assign({
    border: "2px solid #fff", background: "transparent", color: "#fff", padding: "0.25rem 0.75rem",
    "border-radius": "4px", cursor: "pointer"
  }, reset));
  close.type = "button";
  close.textContent = "Close";
  bar.appendChild(heading);
  bar.appendChild(close);
  panel.appendChild(bar);
  var focusRing = function (element) {
    element.addEventListener("focus", function () { css(element, { outline: "3px solid #ffdd00", "outline-offset": "2px" }); });
    element.addEventListener("blur", function () { element.style.removeProperty("outline"); });
  };
  focusRing(button);
  focusRing(close);
  root.appendChild(panel);
  root.appendChild(button);
  document.body.appendChild(host);

  var frame = null;
  var ready = false;
  function focusGuide() { frame.focus(); frame.contentWindow.postMessage({ type: "assistant:focus" }, origin); }
  function open() {
    if (!frame) {
      frame = makeFrame(frameUrl(guidePath, Object.assign({ view: "chat" }, guideParams)), title, true);
      css(frame, { flex: "1 1 auto", "min-height": "0" });
      panel.appendChild(frame);
      listen(frame, {
        height: function () { if (!ready) { ready = true; focusGuide(); } },
        escape: hide
      });
    }
    panel.style.setProperty("display", "flex");
    button.setAttribute("aria-expanded", "true");
    button.textContent = "Close troubleshooting";
    if (ready) focusGuide();
    else close.focus();  // until the guide has loaded
  }
  function hide() {
    if (panel.style.display === "none") return;
    panel.style.setProperty("display", "none");
    button.setAttribute("aria-expanded", "false");
    button.textContent = data.label || "Troubleshoot";
    button.focus();
  }
  button.addEventListener("click", function () {
    if (button.getAttribute("aria-expanded") === "true") hide(); else open();
  });
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") hide(); });
})();
