// The schema editor's helpers; the page works without them (every option shown, order
// typed as numbers). Each field shows only its type's options, has up/down buttons that
// renumber "order", and its key is offered as the collection's label.
"use strict";
(function () {
  const OPTION_ROWS = ["min_length", "max_length", "pattern", "min_value", "max_value",
    "choices", "reference_to", "many", "default"];

  function fieldBlocks() {
    return Array.from(document.querySelectorAll(".ghee-fields .inline-related"))
      .filter((block) => !block.id.endsWith("-empty"));
  }

  function showTypeOptions(select) {
    const block = select.closest(".inline-related");
    const byType = JSON.parse(select.dataset.gheeTypeOptions);
    const shown = byType[select.value] || [];
    OPTION_ROWS.forEach((name) => {
      const visible = name === "default" ? !shown.includes("-default") : shown.includes(name);
      block.querySelectorAll(`.field-${name}`).forEach((box) => { box.hidden = !visible; });
    });
    // A row whose boxes are all hidden takes no space.
    block.querySelectorAll(".form-row").forEach((row) => {
      const boxes = row.querySelectorAll(".fieldBox");
      if (boxes.length) row.hidden = Array.from(boxes).every((box) => box.hidden);
    });
  }

  function renumber() {
    fieldBlocks().forEach((block, index) => {
      const order = block.querySelector("input.ghee-order");
      if (order) order.value = index;
    });
  }

  function move(block, step) {
    const blocks = fieldBlocks();
    const index = blocks.indexOf(block);
    const other = blocks[index + step];
    if (!other) return;
    if (step < 0) other.before(block); else other.after(block);
    renumber();
    block.querySelector("button.ghee-move").focus();
  }

  function addButtons(block) {
    const heading = block.querySelector("h3");
    if (!heading || heading.querySelector(".ghee-move")) return;
    [["↑", -1, "Move up"], ["↓", 1, "Move down"]].forEach(([text, step, label]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "ghee-move";
      button.textContent = text;
      button.title = label;
      button.setAttribute("aria-label", label);
      button.addEventListener("click", () => move(block, step));
      heading.append(button);
    });
  }

  function refreshLabelChoices() {
    const list = document.getElementById("ghee-field-keys");
    if (!list) return;
    const keys = new Set(Array.from(list.options).map((option) => option.value));
    document.querySelectorAll(".ghee-fields input[name$='-key']").forEach((input) => {
      if (input.value && !keys.has(input.value)) {
        const option = document.createElement("option");
        option.value = input.value;
        list.append(option);
        keys.add(input.value);
      }
    });
  }

  function setUp(block) {
    const select = block.querySelector("select[data-ghee-type-options]");
    if (select) {
      select.addEventListener("change", () => showTypeOptions(select));
      showTypeOptions(select);
    }
    addButtons(block);
  }

  document.addEventListener("DOMContentLoaded", () => {
    fieldBlocks().forEach(setUp);
    document.addEventListener("change", (event) => {
      if (event.target.matches(".ghee-fields input[name$='-key']")) refreshLabelChoices();
    });
    document.addEventListener("formset:added", (event) => {
      if (!event.target.closest(".ghee-fields")) return;
      setUp(event.target);
      renumber();
    });
    document.addEventListener("formset:removed", renumber);
  });
})();
