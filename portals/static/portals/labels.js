// The Print button of the bin label sheet: hidden until this script can make it work.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-labels");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
