/* Searchable department pickers (Tom Select, vendored in static/vendor/tom-select/).
   A <select data-picker="single|multiple"> becomes a picker that filters as one types and keeps
   the <optgroup>s (city bureaus first, then counties). The native select stays in the page
   underneath and is what the form posts; without JavaScript it works as it is. htmx swaps the
   routing form when the category changes, so new content is set up too. */
(function () {
  function setUp(root) {
    if (typeof TomSelect === "undefined") { return; }
    var selects = root.querySelectorAll ? root.querySelectorAll("select[data-picker]") : [];
    if (root.matches && root.matches("select[data-picker]")) { selects = [root]; }
    Array.prototype.forEach.call(selects, function (select) {
      if (select.tomselect) { return; }
      var multiple = select.dataset.picker === "multiple";
      new TomSelect(select, {
        plugins: multiple ? ["remove_button"] : [],
        maxOptions: null,
        hideSelected: false,
        closeAfterSelect: !multiple,
        placeholder: select.dataset.placeholder || "",
        lockOptgroupOrder: true,
        render: {
          no_results: function (data, escape) {
            return '<div class="no-results">' + escape(select.dataset.noResults || "—") + "</div>";
          }
        }
      });
    });
  }
  // htmx sets the page up first (its "load" event on the body, then on each swap), so that the
  // pickers never delay the routing form's own triggers. This file loads before htmx (the
  // page's scripts come before base.html's): listen for its event rather than call htmx.onLoad.
  document.addEventListener("htmx:load", function (event) { setUp(event.target); });
  // A page without htmx sets the pickers up itself.
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) { setUp(document); }
  });
})();
