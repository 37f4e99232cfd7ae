/* The staff console's own script (no inline script anywhere: the Content-Security-Policy forbids it).
 * - htmx requests carry the CSRF token from <meta name="csrf-token"> in the X-CSRFToken header;
 * - [data-confirm] on a submit button or a form asks before a destructive action;
 * - [data-submit-on-change] on a select submits its form (filters);
 * - the menu button opens and closes the navigation on a phone;
 * - canvas[data-chart] draws the points chart from a <script type="application/json"> block.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.documentElement.classList.add("js");

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // Asking on the button's click (not the form's submit) keeps the question with what was clicked.
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && target.tagName !== "FORM" && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    // One submission per form: a double click must not post twice.
    if (form.method.toLowerCase() === "post") {
      if (form.dataset.submitted) { event.preventDefault(); return; }
      form.dataset.submitted = "1";
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-submit-on-change]") && event.target.form) {
      event.target.form.requestSubmit();
    }
  });

  function setUpMenu() {
    var button = document.querySelector(".menu-toggle");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var open = document.body.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#9333ea", "#0891b2", "#db2777", "#65a30d", "#ea580c",
                 "#4f46e5", "#0d9488", "#b45309", "#7c3aed", "#be123c", "#475569"];

  function drawCharts() {
    if (typeof window.Chart === "undefined") { return; }
    var font = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif';
    window.Chart.defaults.font.family = font;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var datasets = data.bars.map(function (bar, i) {
        return { type: "bar", label: bar.label, data: bar.data, stack: "issued",
                 backgroundColor: PALETTE[i % PALETTE.length], order: 2 };
      });
      datasets.push({ type: "line", stack: "spent", label: data.line.label, data: data.line.data, borderColor: "#dc2626",
                      backgroundColor: "#dc2626", borderWidth: 2, pointRadius: 2, tension: 0.2, order: 1 });
      canvas.chart = new window.Chart(canvas, {
        data: { labels: data.labels, datasets: datasets },
        options: {
          responsive: true, maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
          scales: {
            x: { stacked: true, title: { display: true, text: data.x_title } },
            y: { stacked: true, beginAtZero: true, title: { display: true, text: data.y_title } }
          }
        }
      });
      canvas.setAttribute("data-drawn", "1");
    });
  }

  function ready() { setUpMenu(); drawCharts(); }
  // Deferred scripts run in order before DOMContentLoaded, so by then Chart.js is there too.
  if (document.readyState === "complete") {
    ready();
  } else {
    document.addEventListener("DOMContentLoaded", ready);
  }
})();
