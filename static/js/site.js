/* Small page behaviours, kept out of the HTML so that no inline script is needed. */
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-print]");
  if (target) { window.print(); }
});

// A <select data-autosubmit> sends its form as soon as a choice is made (the inbox's
// department switch), without an inline onchange handler.
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]")) { event.target.form.submit(); }
});
