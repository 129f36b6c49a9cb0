// Stevedore console: follows a running task's log as it is written (fetch streaming; no library, nothing
// fetched from elsewhere). Without script the page shows the log as it was when loaded, and a raw-log link.
"use strict";
(function () {
  const log = document.getElementById("log");
  const status = document.getElementById("log-status");
  if (!log || !log.dataset.follow || !window.fetch || !window.TextDecoder) {
    return;
  }

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 24;

  async function follow() {
    const response = await fetch(log.dataset.follow, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok || !response.body) {
      status.textContent = "The log cannot be followed live (" + response.status + "); reload the page to see more.";
      return;
    }

    status.textContent = "Following the log live.";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let first = true;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }

      const stick = atBottom();
      // The stream starts from the beginning: replace what the page was rendered with.
      const text = decoder.decode(value, { stream: true });
      if (first) {
        log.textContent = text;
        first = false;
      } else {
        log.append(text);
      }

      if (stick) {
        log.scrollTop = log.scrollHeight;
      }
    }

    log.append(decoder.decode());
    status.textContent = "The task has ended; showing its outcome.";
    window.location.reload();
  }

  follow().catch(function (error) {
    status.textContent = "Following the log stopped (" + error + "); reload the page to see more.";
  });
})();
