// Sluice console: conveniences only; every page works without this script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Copy buttons: <button data-copy="element-id">.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Selected: press Ctrl+C";
      }
    });
  }

  // Forms that ask first: <form data-confirm="question">.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // Pages showing work in progress reload themselves: <main data-refresh="2">,
  // unless the person is typing in a field.
  const main = document.querySelector("main[data-refresh]");
  if (main) {
    const seconds = Number(main.dataset.refresh) || 2;
    setTimeout(function reload() {
      const active = document.activeElement;
      if (active && active.matches("input, select, textarea")) {
        setTimeout(reload, seconds * 1000);
      } else {
        window.location.reload();
      }
    }, seconds * 1000);
  }

});
