(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var byN = new Map(data.items.map(function (i) { return [i.n, i]; }));
  var detail = document.getElementById("detail");
  var select = document.getElementById("page-select");
  function clear() {
    document.querySelectorAll(".chosen").forEach(function (e) { e.classList.remove("chosen"); });
  }
  function show(lines) {
    detail.textContent = lines.join("\n");
  }
  function choose(n, scroll) {
    clear();
    document.querySelectorAll('[data-n="' + n + '"]').forEach(function (e) { e.classList.add("chosen"); });
    var item = byN.get(n);
    if (!item) return;
    show([n + ". " + item.type + "  (uid " + item.uid + ", page " + item.page + ")", "box " + JSON.stringify(item.box), "", item.text]);
    if (scroll) {
      var rect = document.querySelector('rect[data-n="' + n + '"]');
      if (rect) rect.scrollIntoView({ block: "center" });
    }
  }
  document.getElementById("pages").addEventListener("click", function (e) {
    var item = e.target.closest("[data-n]");
    if (item) return choose(+item.getAttribute("data-n"), false);
    var cell = e.target.closest("[data-c]");
    if (cell) {
      clear();
      cell.classList.add("chosen");
      var c = data.cells[+cell.getAttribute("data-c")];
      show(["table cell" + (c.header ? " (column header)" : "") + "  (uid " + c.uid + ")", "", c.text]);
    }
  });
  document.getElementById("items").addEventListener("click", function (e) {
    var li = e.target.closest("li[data-n]");
    if (li) choose(+li.getAttribute("data-n"), true);
  });
  select.addEventListener("change", function () {
    var page = document.getElementById("page-" + select.value);
    if (page) page.scrollIntoView();
  });
  // What the browser really drew, for tests and the curious: boxes, and boxes off their page.
  var drawn = 0, outside = 0;
  document.querySelectorAll("section.page").forEach(function (section) {
    var p = section.getBoundingClientRect();
    section.querySelectorAll("svg rect.box, svg rect.cell").forEach(function (r) {
      drawn++;
      var b = r.getBoundingClientRect();
      if (b.left < p.left - 1 || b.top < p.top - 1 || b.right > p.right + 1 || b.bottom > p.bottom + 1) outside++;
    });
  });
  document.body.setAttribute("data-drawn", drawn);
  document.body.setAttribute("data-outside", outside);
})();
