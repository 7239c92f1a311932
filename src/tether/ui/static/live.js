// Live entries of a running turn: the session page subscribes to its Server-Sent Events and adds
// each entry as it is stored. Without JavaScript the page works as it is (reload to see more).
(function () {
  "use strict";
  function start() {
    var transcript = document.getElementById("transcript");
    if (!transcript || !window.EventSource) { return; }
    var source = new EventSource(transcript.getAttribute("data-events"));
    source.addEventListener("entry", function (event) {
      transcript.insertAdjacentHTML("beforeend", event.data);
    });
    source.addEventListener("lease", function (event) {
      var lease = document.getElementById("lease");
      if (lease) { lease.innerHTML = event.data; }
    });
    source.addEventListener("gone", function () { source.close(); });
    window.addEventListener("pagehide", function () { source.close(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
