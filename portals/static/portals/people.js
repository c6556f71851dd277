// The copy button beside a one-time token. Without JavaScript the field is still there
// to select and copy by hand, so the button only appears when it can work.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.closest(".token-box").querySelector("[role=status]");
    if (!field) return;
    button.hidden = false;
    field.addEventListener("focus", function () { field.select(); });
    button.addEventListener("click", function () {
      field.select();
      var done = function () { status.textContent = "Copied. Paste it into the scanner now."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          status.textContent = "Copy it by hand: the token is selected.";
        });
      } else {
        status.textContent = "Press Ctrl+C (or long-press and Copy): the token is selected.";
      }
    });
  });
})();
