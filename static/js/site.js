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

// 类案参考: a button with data-copy-from (the id of an earlier reply's text) and data-copy-into
// (the id of the reply draft) copies that text into the draft, after what is already there. It
// is a starting point: nothing is sent until the handler submits the form.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-from][data-copy-into]");
  if (!button) { return; }
  var source = document.getElementById(button.dataset.copyFrom);
  var draft = document.getElementById(button.dataset.copyInto);
  if (!source || !draft) { return; }
  var text = source.textContent.trim();
  draft.value = draft.value.trim() ? draft.value.replace(/\s+$/, "") + "\n\n" + text : text;
  draft.focus();
});

// A checkbox with data-disables (space-separated ids) disables those fields while it is ticked
// (无署名: no contact name or phone). Disabled fields are not sent; the service drops them too.
function applyDisables(box) {
  box.dataset.disables.split(/\s+/).forEach(function (id) {
    var field = document.getElementById(id);
    if (field) { field.disabled = box.checked; }
  });
}
document.addEventListener("change", function (event) {
  if (event.target.matches("input[type=checkbox][data-disables]")) { applyDisables(event.target); }
});
document.querySelectorAll("input[type=checkbox][data-disables]").forEach(applyDisables);

// A button with data-copy-text (the id of an element) copies that element's text to the
// clipboard (the receipt's number and query code) and says so with its data-copied label.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-text]");
  if (!button) { return; }
  var source = document.getElementById(button.dataset.copyText);
  if (!source) { return; }
  var text = source.textContent.trim();
  var done = function () {
    if (!button.dataset.label) { button.dataset.label = button.textContent; }
    button.textContent = button.dataset.copied || button.dataset.label;
    setTimeout(function () { button.textContent = button.dataset.label; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
  } else {
    selectText(source);
    try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the text stays selected */ }
  }
});

// Select an element's text, so that a browser without clipboard access lets the user copy it.
function selectText(element) {
  var range = document.createRange();
  range.selectNodeContents(element);
  var selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

// A field whose inputs carry data-shown-if="name=value" is shown only while the form's `name`
// has that value chosen (the rating form asks what next only after 不满意). Without script the
// field simply stays shown.
function applyShownIf(form) {
  form.querySelectorAll("[data-shown-if]").forEach(function (input) {
    var rule = input.dataset.shownIf.split("=");
    var chosen = form.querySelector("input[name='" + rule[0] + "']:checked");
    var field = input.closest(".mb-3") || input;
    field.hidden = !(chosen && chosen.value === rule[1]);
  });
}
document.addEventListener("change", function (event) {
  if (event.target.form) { applyShownIf(event.target.form); }
});
document.querySelectorAll("form").forEach(function (form) {
  if (form.querySelector("[data-shown-if]")) { applyShownIf(form); }
});
