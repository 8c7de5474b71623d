// The item form's small helpers (the form works without them): locale tabs, and a color
// picker beside each color field's text input.
"use strict";
(function () {
  function setUpTabs() {
    const nav = document.querySelector(".ghee-tabs");
    if (!nav) return;
    const tabs = Array.from(nav.querySelectorAll(".ghee-tab"));
    const show = (id) => {
      tabs.forEach((tab) => {
        const selected = tab.dataset.tab === id;
        tab.classList.toggle("selected", selected);
        tab.setAttribute("aria-selected", selected ? "true" : "false");
        document.getElementById(tab.dataset.tab).hidden = !selected;
      });
    };
    tabs.forEach((tab) => tab.addEventListener("click", () => show(tab.dataset.tab)));
    nav.hidden = false;
    const withErrors = tabs.find((tab) => tab.classList.contains("has-errors"));
    show((withErrors || tabs[0]).dataset.tab);
  }

  function setUpColors() {
    document.querySelectorAll("input[data-ghee-color]").forEach((text) => {
      const picker = document.createElement("input");
      picker.type = "color";
      picker.className = "ghee-color-picker";
      picker.setAttribute("aria-label", "Pick a color");
      const sync = () => {
        if (/^#[0-9a-fA-F]{6}$/.test(text.value)) picker.value = text.value.toLowerCase();
      };
      sync();
      picker.addEventListener("input", () => { text.value = picker.value; });
      text.addEventListener("input", sync);
      text.after(picker);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpTabs();
    setUpColors();
  });
})();
