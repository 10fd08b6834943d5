// collateral web app: statute search as the attorney types, and "expand every finding". Served by the app
// itself (no CDN); the pages work without it. Text from the server is only ever set as textContent.
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var self = this, args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function summary(r) {
    var cimt = r.cimt === true ? "CIMT: yes" : (r.cimt === false ? "CIMT: no" : "CIMT: not classified");
    return "maximum " + r.maximum + "; " + (r["class"] || "class not given") + "; " + cimt +
      (r.divisible ? "; divisible" : "") + (r.certainty && r.certainty !== "clear" ? "; " + r.certainty : "");
  }

  function render(box, input, data) {
    box.replaceChildren();
    if (data.message) { box.appendChild(el("p", null, data.message)); return; }
    if (!data.results.length) {
      box.appendChild(el("p", null, "Nothing in the " + data.jurisdiction + " catalog matches" +
        (data.nearest && data.nearest.length ? "; nearest: " + data.nearest.join(", ") : ".")));
      return;
    }
    var list = el("ul");
    data.results.forEach(function (r) {
      var item = el("li");
      var pick = el("button", "pick");
      pick.type = "button";
      pick.appendChild(el("span", null, r.statute + " — " + r.title));
      pick.appendChild(el("span", "meta", summary(r)));
      pick.addEventListener("click", function () {
        input.value = r.statute;
        box.replaceChildren();
        var chosen = el("p", null, "Chosen: " + r.statute + " — " + r.title + " (" + summary(r) + ").");
        var more = el("details");
        more.appendChild(el("summary", null, "What the tool assumes about " + r.statute));
        more.appendChild(el("pre", null, r.detail));
        box.appendChild(chosen);
        box.appendChild(more);
        input.focus();
      });
      item.appendChild(pick);
      list.appendChild(item);
    });
    box.appendChild(el("p", null, data.results.length + (data.more ? "+" : "") + " match" +
      (data.results.length === 1 ? "" : "es") + " in the " + data.jurisdiction + " catalog:"));
    box.appendChild(list);
    if (data.more) { box.appendChild(el("p", null, "and " + data.more + " more: type more words of the title.")); }
  }

  document.querySelectorAll("input[data-statute-search]").forEach(function (input) {
    var box = document.getElementById(input.getAttribute("aria-controls"));
    if (!box) { return; }
    var latest = 0;
    var search = debounce(function () {
      var q = input.value.trim();
      if (q.length < 2) { box.replaceChildren(); return; }
      var own = document.getElementById(input.dataset.jurisdiction);
      var whole = document.getElementById("f-jurisdiction");
      var asOf = document.getElementById("f-as-of");
      var params = new URLSearchParams({
        jurisdiction: (own && own.value.trim()) || (whole && whole.value.trim()) || "",
        q: q, as_of: asOf ? asOf.value : ""
      });
      var ticket = ++latest;
      fetch("/api/statutes?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : null; })
        .then(function (data) { if (data && ticket === latest) { render(box, input, data); } })
        .catch(function () { /* the server is local; nothing to report */ });
    }, 250);
    input.addEventListener("input", search);
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { box.replaceChildren(); }
    });
  });

  var expand = document.getElementById("expand-all");
  if (expand) {
    expand.addEventListener("click", function () {
      var open = expand.dataset.expand !== "true";
      document.querySelectorAll("details.finding, details.section").forEach(function (d) { d.open = open; });
      expand.dataset.expand = open ? "true" : "false";
      expand.textContent = open ? "Collapse every finding" : "Expand every finding";
    });
  }

  var summaryBox = document.getElementById("error-summary");
  if (summaryBox) { summaryBox.focus(); }
})();
