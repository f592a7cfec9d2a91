// Where a session listens and speaks: "browser" (this page's mic and Web Audio player) or "desktop" (the
// server computer's own mic and speaker, opened by the server; the page then only shows the conversation).
// The choice is made at hello, so switching reconnects to the same conversation (client.js setAudio).

export function bindAudioSelect(client, select) {
  if (select) select.addEventListener("change", () => client.setAudio(select.value));
}

// Show what the session really uses: a refused desktop hello (devices busy or missing) stays on the browser.
export function showAudioMode(client, ready) {
  const on = ready.audio === "desktop";
  const devices = ready.devices || {};
  client.desktop = on;
  client.audio = on ? "desktop" : "browser";
  if (client.audioSelect) client.audioSelect.value = client.audio;
  const btn = client.micBtn;
  btn.disabled = on;
  if (on) btn.textContent = devices.input ? "Computer mic on" : "Computer mic off";
  else btn.textContent = client.mic ? "Stop microphone" : "Start microphone";
  btn.title = on ? "this computer's microphone listens while the session is open" : "";
  btn.classList.toggle("va-on", on ? !!devices.input : !!client.mic);
  client.root.classList.toggle("va-desktop", on);
  return on ? ` · this computer: mic “${devices.input || "off"}”, speaker “${devices.output}”` : "";
}
