// Refreshes the page when the service's state changes; counts down grants' time left.
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
})();
