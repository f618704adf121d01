// Live SLA countdowns: every badge with data-sla-due is redrawn each second, in the same words as the server
// (api/sla_pages.py countdown), and takes the colour of each threshold in data-sla-steps once its moment passes.
"use strict";

(function () {
  var LEVELS = ["ok", "notice", "warn", "danger", "breached", "done"];
  var badges = document.querySelectorAll("[data-sla-due]");
  if (!badges.length) {
    return;
  }
  // Count from the server's clock, not the visitor's, which may be off by minutes.
  var skew = Date.parse(badges[0].getAttribute("data-sla-now")) - Date.now();

  function amount(seconds, running) {
    var days = Math.floor(seconds / 86400);
    var hours = Math.floor((seconds % 86400) / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    if (days) {
      return days + " 天 " + hours + " 小时";
    }
    if (hours) {
      return hours + " 小时 " + minutes + " 分";
    }
    return running ? minutes + " 分 " + (seconds % 60) + " 秒" : minutes + " 分";
  }

  function countdown(msLeft) {
    var seconds = Math.floor(Math.abs(msLeft) / 1000);
    return msLeft > 0 ? "剩 " + amount(seconds, true) : "已超时 " + amount(seconds, false);
  }

  function paint(badge, level) {
    LEVELS.forEach(function (name) {
      badge.classList.remove("sla-" + name);
    });
    badge.classList.add("sla-" + level);
  }

  function tick() {
    var now = Date.now() + skew;
    badges.forEach(function (badge) {
      var left = Date.parse(badge.getAttribute("data-sla-due")) - now;
      var level = null;
      JSON.parse(badge.getAttribute("data-sla-steps") || "[]").forEach(function (step) {
        if (Date.parse(step[0]) <= now) {
          level = step[1];
        }
      });
      if (left <= 0) {
        level = "breached";
      }
      if (level) {
        paint(badge, level);
      }
      var text = badge.querySelector(".sla-countdown");
      if (text) {
        text.textContent = countdown(left);
      }
    });
  }

  tick();
  window.setInterval(tick, 1000);
})();
