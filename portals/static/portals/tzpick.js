/* A search box above each time zone select (select[data-tz-search]): typing keeps the
   zones whose name holds every word typed ("chic", "new york", "kolk") and picks the first
   one when the chosen zone is filtered out. Without JavaScript the grouped select works
   as it is. Static file: the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  function words(text) {
    return text.toLowerCase().replace(/[_/]/g, " ").split(/\s+/).filter(Boolean);
  }

  function attach(select) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "tz-search";
    box.id = select.id + "-search";
    box.placeholder = "Search zones, e.g. Chicago";
    box.autocomplete = "off";
    box.setAttribute("aria-label", "Search time zones");
    box.setAttribute("aria-controls", select.id);
    select.parentNode.insertBefore(box, select);

    box.addEventListener("input", function () {
      var wanted = words(box.value);
      var firstShown = null;
      Array.prototype.forEach.call(select.querySelectorAll("option"), function (option) {
        var haystack = (option.value + " " + option.textContent).toLowerCase().replace(/[_/]/g, " ");
        var shown = wanted.every(function (w) { return haystack.indexOf(w) !== -1; });
        option.hidden = !shown;
        option.disabled = !shown && !option.selected;
        if (shown && firstShown === null) { firstShown = option; }
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !group.querySelector("option:not([hidden])");
      });
      var current = select.options[select.selectedIndex];
      if (firstShown && current && current.hidden) {
        firstShown.selected = true;
      }
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-tz-search]"), attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
