// discover archive browser: optional enhancements; every page works without script.
// Tables marked data-sortable sort by a column when its header is clicked; lineage
// drawings open scrolled to their newest programs.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var text = cell.textContent.trim();
    var number = parseFloat(text.replace(/[,%#]/g, ""));
    return isNaN(number) ? text.toLowerCase() : number;
  }
  function compare(a, b) {
    if (typeof a === typeof b) { return a < b ? -1 : a > b ? 1 : 0; }
    return typeof a === "number" ? -1 : 1;  // numbers before text such as "—"
  }
  function makeSortable(table) {
    var head = table.tHead;
    var body = table.tBodies[0];
    if (!head || !body) { return; }
    Array.prototype.forEach.call(head.rows[0].cells, function (th, index) {
      th.setAttribute("data-sort-dir", "none");
      th.addEventListener("click", function () {
        var dir = th.getAttribute("data-sort-dir") === "asc" ? "desc" : "asc";
        Array.prototype.forEach.call(head.rows[0].cells, function (other) {
          other.setAttribute("data-sort-dir", "none");
        });
        th.setAttribute("data-sort-dir", dir);
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var order = compare(cellValue(r1, index), cellValue(r2, index));
          return dir === "asc" ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), makeSortable);
    // Lineage drawings put the newest (and best) programs on the right: start there.
    Array.prototype.forEach.call(document.querySelectorAll(".lineage-box"), function (box) {
      box.scrollLeft = box.scrollWidth;
    });
  });
}());
