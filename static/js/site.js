/* Small page behaviours, kept out of the HTML so that no inline script is needed. */
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-print]");
  if (target) { window.print(); }
});
