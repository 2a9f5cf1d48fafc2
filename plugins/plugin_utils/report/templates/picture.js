/* The topology picture's controls (report.html.j2 includes this file inline: the page loads nothing).
   Zoom (wheel, +/-), pan (drag), fit; a filter box; hover details; folding a host of the built-in grid
   (click its name) and drawing the grid and its edges again. The SVG stays readable without it. */
(function () {
  "use strict";
  var box = document.getElementById("topology");
  var svg = box && box.querySelector("svg");
  if (!svg) { return; }
  var grid = svg.classList.contains("grid");
  var details = document.getElementById("picture-details");
  var filter = document.getElementById("picture-filter");
  var natural = (svg.getAttribute("viewBox") || "0 0 1000 600").split(/[\s,]+/).map(Number);
  var view = natural.slice();
  svg.removeAttribute("width"); svg.removeAttribute("height");

  function show() { svg.setAttribute("viewBox", view.join(" ")); }
  function zoom(factor, cx, cy) {
    cx = cx === undefined ? view[0] + view[2] / 2 : cx; cy = cy === undefined ? view[1] + view[3] / 2 : cy;
    view = [cx - (cx - view[0]) * factor, cy - (cy - view[1]) * factor, view[2] * factor, view[3] * factor];
    show();
  }
  function point(event) {
    var rect = svg.getBoundingClientRect();
    return [view[0] + (event.clientX - rect.left) / rect.width * view[2], view[1] + (event.clientY - rect.top) / rect.height * view[3]];
  }
  svg.addEventListener("wheel", function (event) {
    event.preventDefault();
    var at = point(event);
    zoom(event.deltaY < 0 ? 0.8 : 1.25, at[0], at[1]);
  }, {passive: false});
  var drag = null;
  svg.addEventListener("mousedown", function (event) { drag = [event.clientX, event.clientY, view[0], view[1]]; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (event) {
    if (!drag) { return; }
    var rect = svg.getBoundingClientRect();
    view[0] = drag[2] - (event.clientX - drag[0]) / rect.width * view[2];
    view[1] = drag[3] - (event.clientY - drag[1]) / rect.height * view[3];
    show();
  });

  function about(element) {
    var link = element.querySelector("a");
    var text = link && (link.getAttribute("xlink:title") || link.getAttributeNS("http://www.w3.org/1999/xlink", "title"));
    if (!text) { var title = element.querySelector("title"); text = title ? title.textContent : ""; }
    return text;
  }
  svg.addEventListener("mouseover", function (event) {
    var element = event.target.closest && event.target.closest(".dev, .link");
    if (element && details) { details.textContent = about(element); }
  });

  /* The grid: place the hosts that are shown, folded ones as their name only, then draw every edge again. */
  var hosts = grid ? Array.prototype.slice.call(svg.querySelectorAll("g.host")) : [];
  var links = grid ? Array.prototype.slice.call(svg.querySelectorAll("g.link")) : [];
  var columns = Number(svg.getAttribute("data-columns")) || 1, column = Number(svg.getAttribute("data-column")) || 300;
  var gap = Number(svg.getAttribute("data-gap")) || 110, header = 44;
  var where = {};
  function layout() {
    var shown = hosts.filter(function (host) { return host.style.display !== "none"; });
    var top = 60, width = gap, row, tallest, i, j;
    where = {};
    for (i = 0; i < shown.length; i += columns) {
      row = shown.slice(i, i + columns); tallest = 0;
      for (j = 0; j < row.length; j++) {
        var host = row[j], folded = host.getAttribute("data-fold") === "1";
        var height = folded ? header : Number(host.getAttribute("data-h"));
        var x = gap + j * (column + gap);
        host.setAttribute("transform", "translate(" + x + " " + top + ")");
        host.querySelector(".frame").setAttribute("height", height);
        host.querySelector(".body").style.display = folded ? "none" : "";
        host.classList.toggle("folded", folded);
        where[host.id] = [x, top, folded];
        tallest = Math.max(tallest, height); width = Math.max(width, x + column + gap);
      }
      top += tallest + 40;
    }
    links.forEach(draw);
    natural = [0, 0, width, top + 20];
  }
  function anchor(id) {
    var device = document.getElementById(id);
    var host = device && device.closest("g.host");
    var at = host && where[host.id];
    if (!at) { return null; }
    if (at[2]) { return [at[0], at[1], column, header]; }
    return [at[0] + Number(device.getAttribute("data-x")), at[1] + Number(device.getAttribute("data-y")),
            Number(device.getAttribute("data-w")), Number(device.getAttribute("data-h"))];
  }
  function draw(link) {
    var a = anchor(link.getAttribute("data-a")), b = anchor(link.getAttribute("data-b"));
    if (!a || !b) { link.style.display = "none"; return; }
    link.style.display = "";
    var ay = a[1] + a[3] / 2, by = b[1] + b[3] / 2, d, tx, ty;
    if (Math.abs(a[0] - b[0]) < 1) {
      var start = a[0] + a[2], end = b[0] + b[2], bend = Math.max(start, end) + 30 + Math.abs(ay - by) / 6;
      d = "M" + start + " " + ay + " C" + bend + " " + ay + " " + bend + " " + by + " " + end + " " + by;
      tx = bend - 8; ty = (ay + by) / 2;
    } else {
      var s = a[0] < b[0] ? a[0] + a[2] : a[0], e = a[0] < b[0] ? b[0] : b[0] + b[2], m = (s + e) / 2;
      d = "M" + s + " " + ay + " C" + m + " " + ay + " " + m + " " + by + " " + e + " " + by;
      tx = m; ty = (ay + by) / 2 - 4;
    }
    link.querySelector("path").setAttribute("d", d);
    var label = link.querySelector("text");
    label.setAttribute("x", tx); label.setAttribute("y", ty);
  }
  function fit() { view = natural.slice(); show(); }
  hosts.forEach(function (host) {
    host.querySelector(".fold").addEventListener("click", function () {
      host.setAttribute("data-fold", host.getAttribute("data-fold") === "1" ? "0" : "1"); layout();
    });
  });
  function foldAll(value) { hosts.forEach(function (host) { host.setAttribute("data-fold", value); }); layout(); fit(); }

  if (filter) {
    filter.addEventListener("input", function () {
      var text = filter.value.trim().toLowerCase();
      svg.querySelectorAll(".dev").forEach(function (device) {
        var hay = (device.getAttribute("data-search") || device.textContent + " " + about(device)).toLowerCase();
        device.classList.toggle("match", text !== "" && hay.indexOf(text) >= 0);
        if (!grid) { device.classList.toggle("dim", text !== "" && hay.indexOf(text) < 0); }
      });
      if (grid) {
        hosts.forEach(function (host) {
          host.style.display = text === "" || (host.getAttribute("data-search") || "").indexOf(text) >= 0 ? "" : "none";
        });
        layout(); fit();
      }
    });
  }
  var buttons = {"picture-zoom-in": function () { zoom(0.8); }, "picture-zoom-out": function () { zoom(1.25); },
                 "picture-fit": fit, "picture-fold": function () { foldAll("1"); }, "picture-unfold": function () { foldAll("0"); }};
  Object.keys(buttons).forEach(function (id) {
    var button = document.getElementById(id);
    if (button) { button.addEventListener("click", buttons[id]); }
  });
  if (!grid) { ["picture-fold", "picture-unfold"].forEach(function (id) { var b = document.getElementById(id); if (b) { b.hidden = true; } }); }
  if (grid) { layout(); }
  fit();
  box.setAttribute("data-ready", "1");
}());
