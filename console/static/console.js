// OpenRunner console: follows a service's logs live on its Logs tab. The
// page works without this script; it only adds the lines written since
// the page was rendered, and the status, by polling the console.
"use strict";
// Copy buttons of the Custom domains tab (hidden without this script).
(function () {
  var buttons = document.querySelectorAll("[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    var b = buttons[i];
    if (!navigator.clipboard) continue;
    b.hidden = false;
    b.addEventListener("click", function (ev) {
      var btn = ev.currentTarget;
      navigator.clipboard.writeText(btn.getAttribute("data-copy")).then(function () {
        btn.firstChild.textContent = "Copied";
      });
    });
  }
})();
(function () {
  var head = document.getElementById("service-head");
  if (!head) return;
  var arn = head.getAttribute("data-arn");
  var badge = document.getElementById("service-status");
  var classes = { RUNNING: "ok", SUCCEEDED: "ok", OPERATION_IN_PROGRESS: "pending", CREATE_FAILED: "error", DELETE_FAILED: "error" };
  var logs = document.querySelectorAll("[data-follow]");

  function line(l) {
    var div = document.createElement("div");
    div.className = "log-line " + (l.kind || "");
    var t = document.createElement("time");
    t.setAttribute("datetime", l.time);
    t.textContent = l.clock;
    var s = document.createElement("span");
    s.className = "stream";
    s.textContent = l.label;
    var x = document.createElement("span");
    x.className = "text";
    x.textContent = l.text;
    div.append(t, " ", s, " ", x);
    return div;
  }

  function follow(el) {
    var log = el.getAttribute("data-follow");
    var next = el.getAttribute("data-next") || "";
    function poll() {
      var url = "/console/services/logs?arn=" + encodeURIComponent(arn) + "&log=" + log + "&after=" + encodeURIComponent(next);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data) {
            var atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
            var empty = el.querySelector(".log-empty");
            if (empty && data.lines.length) empty.remove();
            data.lines.forEach(function (l) { el.appendChild(line(l)); });
            if (atEnd) el.scrollTop = el.scrollHeight;
            next = data.next;
            el.setAttribute("data-next", next);
            if (badge && data.status && badge.textContent !== data.status) {
              var was = badge.textContent;
              badge.textContent = data.status;
              badge.className = "badge badge-" + (classes[data.status] || "muted");
              // The actions depend on the status: show the new ones once
              // an operation ends.
              var note = document.getElementById("reload-note");
              if (was === "OPERATION_IN_PROGRESS" && note) note.hidden = false;
            }
          }
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    el.scrollTop = el.scrollHeight;
    setTimeout(poll, 500);
  }
  for (var i = 0; i < logs.length; i++) follow(logs[i]);
})();
