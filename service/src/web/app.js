// Refreshes the page when the service's state changes; counts down grants' time left; on the
// request form, shows what the plugins would decide now for each resource typed (GET /v1/check).
(function () {
  var stamp = document.body.dataset.stamp;
  function busy() {
    var a = document.activeElement;
    return a && (a.tagName === "TEXTAREA" || (a.tagName === "INPUT" && a.type === "text") || a.tagName === "SELECT") && a.value;
  }
  if (stamp !== undefined) {
    setInterval(function () {
      fetch("/ui/stamp", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : stamp; })
        .then(function (t) { if (t !== stamp && !busy()) { location.reload(); } })
        .catch(function () {});
    }, 1500);
  }
  function tick() {
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = Math.floor((Date.parse(el.dataset.expires) - Date.now()) / 1000);
      if (left <= 0) {
        if (el.textContent !== "expired") { el.textContent = "expired"; if (stamp !== undefined) { setTimeout(function () { location.reload(); }, 500); } }
        return;
      }
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = (m > 0 ? m + "m " : "") + s + "s left";
    });
  }
  tick();
  setInterval(tick, 1000);

  var check = document.getElementById("check");
  var form = check && check.closest("form");
  if (form && form.elements.resources) {
    var timer, asked = 0;
    var actions = function () {
      var names = [];
      form.querySelectorAll("input[type=checkbox][name^=action_]:checked").forEach(function (b) { names.push(b.name.slice(7)); });
      return names.length ? names.join(",") : "read";
    };
    var ask = function (resource, action) {
      var url = "/v1/check?resource=" + encodeURIComponent(resource) + "&action=" + encodeURIComponent(action);
      return fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .catch(function () { return { error: "the service could not be reached" }; });
    };
    var line = function (resource, a) {
      var li = document.createElement("li");
      var text;
      if (a.decision === "allow") {
        li.className = "allow";
        text = "allowed now: " + a.resource + ", by grant " + a.grants.map(function (g) { return g.id; }).join(", ") + " until " + a.expires_at;
      } else if (a.decision === "deny") {
        li.className = "deny";
        text = "denied now (" + a.reason + "): " + a.resource + " is in zone " + a.zones.map(function (z) {
          return z.name + ", approved by " + z.approvers.join(" or ") + (z.approvals > 1 ? " (" + z.approvals + " approvals)" : "");
        }).join("; zone ");
      } else if (a.decision === "not_protected") {
        li.className = "open";
        text = "not protected: " + a.resource + " is in no zone; no request needed";
      } else {
        li.className = "problem";
        text = resource + ": " + (a.error || "no answer");
      }
      li.textContent = text;
      return li;
    };
    var show = function () {
      var mine = ++asked;
      var resources = form.elements.resources.value.split(/[\s,]+/).filter(Boolean).slice(0, 10);
      var action = actions();
      Promise.all(resources.map(function (r) { return ask(r, action); })).then(function (answers) {
        if (mine !== asked) { return; } // a newer question is on its way
        var ul = document.createElement("ul");
        answers.forEach(function (a, i) { ul.appendChild(line(resources[i], a)); });
        check.replaceChildren(ul);
      });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(show, 300); };
    form.elements.resources.addEventListener("input", later);
    form.addEventListener("change", later);
    show();
  }
})();
