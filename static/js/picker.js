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
  // This file may load before htmx: listen for its event rather than call htmx.onLoad.
  document.addEventListener("htmx:load", function (event) { setUp(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  } else {
    setUp(document);
  }
})();
