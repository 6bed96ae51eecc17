// paperfeed: progressive enhancement only. Every form works without this file; with it, an upvote
// updates in place instead of reloading the page. Loaded from /static (the CSP allows no inline script).
"use strict";

(function () {
  function setState(form, voted, count) {
    var button = form.querySelector("button");
    var field = form.querySelector('input[name="vote"]');
    var number = form.querySelector(".count");
    if (field) field.value = voted ? "0" : "1";
    if (number) number.textContent = String(count);
    if (button) {
      button.setAttribute("aria-pressed", voted ? "true" : "false");
      button.classList.toggle("voted", voted);
      button.title = voted ? "Withdraw your upvote" : "Upvote";
    }
  }

  async function send(form) {
    var body = new URLSearchParams(new FormData(form));
    var response = await fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      // A redirect means "log in first": let the browser follow it as a normal form post.
      redirect: "manual",
      headers: {
        "Accept": "application/json",
        "X-CSRF-Token": body.get("csrf_token") || "",
      },
    });
    var type = response.headers.get("content-type") || "";
    if (!response.ok || type.indexOf("application/json") === -1) return null;
    return response.json();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("vote-form")) return;
    event.preventDefault();
    // The form carries the wanted state, so a second click while the first is in flight is dropped
    // rather than queued (the server would treat it as a repeat anyway).
    if (form.dataset.busy === "1") return;
    form.dataset.busy = "1";
    send(form)
      .then(function (data) {
        if (data && typeof data.count === "number") {
          setState(form, Boolean(data.voted), data.count);
        } else {
          form.submit(); // not signed in, or an error page: show it the classic way
        }
      })
      .catch(function () {
        form.submit();
      })
      .finally(function () {
        delete form.dataset.busy;
      });
  });
})();

// Copy buttons (the BibTeX on a paper page): hidden in the HTML, shown here, so a reader without
// JavaScript sees only the selectable text and never a button that does nothing.
(function () {
  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy BibTeX"; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(source.textContent).then(done, function () { selectText(source); });
      } else {
        selectText(source); // plain http: the clipboard API is refused; leave the text selected to copy
        button.textContent = "Selected: press Ctrl+C";
      }
    });
  });
})();
