// The dashboard's only script. The pages work without it; it adds three things:
// live reload when the ledger's head moves (server-sent events), clean shareable URLs
// (empty controls are left out), and a print button.
"use strict";
(function () {
  var body = document.body;
  var form = document.querySelector("form.controls");
  if (form) {
    form.addEventListener("submit", function () {
      // An empty control means "no filter": leave it out of the URL.
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value === "") { el.disabled = true; }
      });
    });
    window.addEventListener("pageshow", function () {
      // Coming back through the history: the controls disabled on submit work again.
      Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
    });
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (el) {
      el.addEventListener("change", function () { form.requestSubmit(); });
    });
    var print = form.querySelector(".print-button");
    if (print) {
      print.hidden = false;
      print.addEventListener("click", function () { window.print(); });
    }
  }
  var url = body.getAttribute("data-live");
  if (!url || !window.EventSource) { return; }
  var shown = body.getAttribute("data-position");
  var dot = document.getElementById("live");
  var es = new EventSource(url);
  es.addEventListener("open", function () { if (dot) { dot.hidden = false; dot.classList.remove("off"); } });
  es.addEventListener("error", function () { if (dot) { dot.classList.add("off"); } });
  es.addEventListener("head", function (ev) {
    if (ev.data !== shown) {
      // New events may change any figure, back-dated ones included: reload the page,
      // which keeps its state in the URL.
      es.close();
      window.location.reload();
    }
  });
})();
