// The copy button next to a secret shown once. Without JavaScript the field can still be selected and copied.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(field.value).then(done, () => document.execCommand("copy") && done());
  } else if (document.execCommand("copy")) {
    done();
  }
});

// A file input that fills a text area (an OpenAPI document): shown only when this script runs, since without it the
// text can still be pasted.
for (const element of document.querySelectorAll("[data-needs-script]")) element.hidden = false;
document.addEventListener("change", (event) => {
  const input = event.target.closest("input[type=file][data-fills]");
  if (!input || !input.files || !input.files[0]) return;
  const area = document.getElementById(input.dataset.fills);
  if (!area) return;
  input.files[0].text().then((text) => { area.value = text; });
});
