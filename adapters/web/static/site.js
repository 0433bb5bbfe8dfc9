// Filter forms leave empty fields out of the URL, so a shared link says only what was chosen.
"use strict";
for (const form of document.querySelectorAll("form.filters")) {
  form.addEventListener("submit", () => {
    for (const field of form.elements) {
      if (field.name && !field.value) field.disabled = true;
    }
  });
}
