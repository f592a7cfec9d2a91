// The page's reply player: an AudioContext at the session's sample rate running player-worklet.js. Messages
// posted before the worklet has loaded (audio, clear, hold) are queued and sent in order once it has, so a
// `clear` or a `hold` that comes early is not lost.

export class ReplyPlayer {
  constructor(workletUrl, sampleRate, onPlayed) {
    this.ctx = new AudioContext({ sampleRate, latencyHint: "interactive" });
    this.node = null;
    this.pending = [];
    this.ready = this.ctx.audioWorklet.addModule(workletUrl).then(() => {
      const node = new AudioWorkletNode(this.ctx, "va-player", { numberOfInputs: 0, outputChannelCount: [1] });
      node.connect(this.ctx.destination);
      node.port.onmessage = (e) => onPlayed(e.data);
      this.node = node;
      for (const m of this.pending) node.port.postMessage(m.msg, m.transfer);
      this.pending = [];
    });
  }

  post(msg, transfer = []) {
    if (this.node) this.node.port.postMessage(msg, transfer);
    else this.pending.push({ msg, transfer });
  }
}
