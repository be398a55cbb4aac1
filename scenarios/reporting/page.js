// reports/index.html: filters, keyboard moves across the grid, and the timeline of a cell.
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var panel = document.getElementById("timeline");
  var body = document.getElementById("timeline-body");
  var title = document.getElementById("timeline-title");
  var opener = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- filters ----------------------------------------------------------------------------
  function applyFilters(section) {
    var pick = {};
    section.querySelectorAll("select[data-filter]").forEach(function (s) {
      pick[s.dataset.filter] = s.value;
    });
    section.querySelectorAll("[data-wiring]").forEach(function (node) {
      var hide = (pick.wiring && node.dataset.wiring !== pick.wiring) ||
        (pick.database && node.dataset.db !== pick.database);
      node.classList.toggle("filtered-out", !!hide);
    });
    section.querySelectorAll("tbody tr").forEach(function (row) {
      var any = false;
      row.querySelectorAll("td.cell").forEach(function (td) {
        var dim = !!pick.outcome && td.dataset.outcome !== pick.outcome;
        td.classList.toggle("dimmed", dim);
        if (!dim && !td.classList.contains("filtered-out") && !td.classList.contains("empty")) any = true;
      });
      row.classList.toggle("filtered-out", !any);
    });
  }
  document.querySelectorAll(".report-section").forEach(function (section) {
    section.querySelectorAll("select[data-filter]").forEach(function (s) {
      s.addEventListener("change", function () { applyFilters(section); });
    });
  });

  // -- keyboard: a roving tabindex over the visible cells ---------------------------------
  function visibleRows(table) {
    return Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
      return !row.classList.contains("filtered-out");
    });
  }
  function visibleButtons(row) {
    return Array.prototype.filter.call(row.querySelectorAll("td.cell"), function (td) {
      return !td.classList.contains("filtered-out");
    }).map(function (td) { return td.querySelector("button") || td; });
  }
  function moveTo(from, to) {
    if (!to || to.tagName !== "BUTTON") return;
    from.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
  }
  document.querySelectorAll("table.grid").forEach(function (table) {
    table.addEventListener("keydown", function (event) {
      var button = event.target.closest(".cell-button");
      if (!button) return;
      var rows = visibleRows(table);
      var row = button.closest("tr");
      var r = rows.indexOf(row);
      var cells = visibleButtons(row);
      var c = cells.indexOf(button);
      var target = null;
      if (event.key === "ArrowRight") target = cells[c + 1];
      else if (event.key === "ArrowLeft") target = cells[c - 1];
      else if (event.key === "Home") target = cells[0];
      else if (event.key === "End") target = cells[cells.length - 1];
      else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        var next = rows[r + (event.key === "ArrowDown" ? 1 : -1)];
        if (next) {
          var below = visibleButtons(next);  // rows of a `rows` section differ in length
          target = below[Math.min(c, below.length - 1)];
        }
      } else return;
      event.preventDefault();
      moveTo(button, target);
    });
  });

  // -- the timeline of one cell -----------------------------------------------------------
  function lanesOf(timeline) {
    var lost = {};
    timeline.events.forEach(function (e) { if (e.kind === "discarded") lost[e.lane] = true; });
    return timeline.lanes.map(function (lane) { return { lane: lane, lost: !!lost[lane.id] }; });
  }
  function drawTimeline(cell) {
    var timeline = cell.timeline;
    var lanes = lanesOf(timeline);
    var column = {};
    lanes.forEach(function (l, i) { column[l.lane.id] = i + 1; });
    var grid = el("div", "lanes");
    grid.setAttribute("role", "list");
    grid.style.gridTemplateColumns = "minmax(9rem, .6fr) repeat(" + (lanes.length - 1) + ", minmax(11rem, 1fr))";
    lanes.forEach(function (l, i) {
      var bg = el("div", "lane-bg");
      bg.style.gridColumn = String(i + 1);
      bg.style.gridRow = "1 / span " + (timeline.events.length + 1);
      bg.setAttribute("aria-hidden", "true");
      grid.appendChild(bg);
      var isHttp = l.lane.id === "http";
      var head = el("div", "lane-head" + (l.lost ? " lost" : ""));
      head.dataset.lane = l.lane.id;
      head.dataset.laneKind = isHttp ? "http" : "session";
      head.setAttribute("role", "listitem");
      head.style.gridColumn = String(i + 1);
      head.style.gridRow = "1";
      head.appendChild(el("span", "name", isHttp ? "HTTP responses" :
        "Session " + l.lane.id + (l.lane.unit ? " (" + l.lane.unit + ")" : "") +
        (l.lost ? ": never committed" : "")));
      if (!isHttp) head.appendChild(el("span", "site", l.lane.site ? "opened at " + l.lane.site : "opened before the request"));
      grid.appendChild(head);
    });
    timeline.events.forEach(function (e, i) {
      var write = e.kind === "statement" && /^(INSERT|UPDATE|DELETE)/.test(e.text);
      var node = el("div", "event ev-" + e.kind + (write ? " write" : ""));
      node.dataset.lane = e.lane;
      node.dataset.kind = e.kind;
      node.setAttribute("role", "listitem");
      node.style.gridColumn = String(column[e.lane] || 1);
      node.style.gridRow = String(i + 2);
      node.appendChild(el("span", "seq", String(i + 1)));
      node.appendChild(el("span", "visually-hidden", (e.lane === "http" ? "HTTP" : "session " + e.lane) + ": "));
      node.appendChild(document.createTextNode(e.text));
      grid.appendChild(node);
    });
    return grid;
  }
  function facts(cell) {
    var list = el("ul", "timeline-facts");
    function add(label, value) {
      if (!value) return;
      var li = el("li");
      li.appendChild(el("strong", null, label + ": "));
      li.appendChild(document.createTextNode(value));
      list.appendChild(li);
    }
    add("observed", cell.outcome + (cell.verdict ? " (" + cell.verdict.replace("_", " ") + ")" : ""));
    add("expected", cell.expected);
    add("responses", (cell.responses || []).join(", "));
    add("session guard", cell.guard);
    add("detail", cell.detail);
    return list;
  }
  function open(button) {
    var cell = data.sections[+button.dataset.section].cells[+button.dataset.case];
    document.querySelectorAll("td.selected").forEach(function (td) { td.classList.remove("selected"); });
    button.parentNode.classList.add("selected");
    title.textContent = cell.row + " | " + cell.wiring + " | " + cell.db +
      (cell.step ? " | " + cell.step : "") + ": " + cell.outcome;
    body.textContent = "";
    body.appendChild(facts(cell));
    if (cell.timeline) body.appendChild(drawTimeline(cell));
    else body.appendChild(el("p", "no-timeline", cell.outcome === "ok"
      ? "Every expectation held; timelines are kept for cells that are not ok."
      : cell.step ? "The sweep records the boundaries, not session lanes: see the detail above."
      : "No timeline was recorded for this case (it sent no request through the recorder)."));
    panel.hidden = false;
    panel.dataset.case = button.dataset.case;
    opener = button;
    title.focus();
  }
  function close() {
    panel.hidden = true;
    if (opener) opener.focus();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".cell-button");
    if (button) {
      var table = button.closest("table");
      table.querySelectorAll(".cell-button[tabindex='0']").forEach(function (b) { b.tabIndex = -1; });
      button.tabIndex = 0;
      open(button);
    }
  });
  document.getElementById("timeline-close").addEventListener("click", close);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) close();
  });
})();
