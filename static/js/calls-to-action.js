// Fundraiser blocks (templates/newsroom/includes/call_to_action.html), for readers with
// JavaScript; without it the blocks simply show.
//
// - A dismissible block gets a close button. Closing it is remembered in this browser's own
//   storage for the block's number of days: no cookie, nothing sent anywhere.
// - The page tells the site which blocks it showed (a cached page cannot count itself): one
//   beacon with their ids, and nothing about the reader.
(function () {
  "use strict";
  var PREFIX = "newsroom-cta-closed-";
  var DAY = 86400000;

  function closedUntil(id) {
    try {
      return Number(window.localStorage.getItem(PREFIX + id)) || 0;
    } catch (error) {
      return 0; // storage refused (private mode): the block shows
    }
  }

  function remember(id, days) {
    try {
      window.localStorage.setItem(PREFIX + id, String(Date.now() + days * DAY));
    } catch (error) {
      // Nowhere to remember it: closed for this page only.
    }
  }

  var blocks = Array.prototype.slice.call(document.querySelectorAll("aside.cta[data-cta]"));
  blocks.forEach(function (block) {
    var days = Number(block.getAttribute("data-dismiss-days"));
    if (!days) {
      return;
    }
    var id = block.getAttribute("data-cta");
    if (closedUntil(id) > Date.now()) {
      block.hidden = true;
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "cta__close";
    button.textContent = "\u00d7";
    button.setAttribute("aria-label", block.getAttribute("data-close-label") || "Close");
    button.addEventListener("click", function () {
      remember(id, days);
      block.hidden = true;
    });
    block.insertBefore(button, block.firstChild);
  });

  var shown = blocks.filter(function (block) { return !block.hidden; });
  if (shown.length && navigator.sendBeacon) {
    var data = new URLSearchParams();
    data.set("blocks", shown.map(function (block) { return block.getAttribute("data-cta"); }).join(","));
    navigator.sendBeacon(shown[0].getAttribute("data-seen"), data);
  }
})();
