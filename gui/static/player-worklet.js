// Reply playback: a queue of PCM chunks played back to back (gapless), flushed at once on `clear` (barge-in),
// reporting every ~100 ms how many samples really went to the speaker since the last clear: the server uses
// that count to know what the user heard. `hold` stops the playhead where it is (the user talks over the
// reply: a "mhm" lets it go on from there, words clear it).

class PlayerProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.offset = 0;
    this.queued = 0;
    this.played = 0;
    this.epoch = 0;
    this.held = false;
    this.unreported = 0;
    this.every = Math.round(sampleRate * 0.1);
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === "audio") {
        this.queue.push(m.samples);
        this.queued += m.samples.length;
      } else if (m.type === "hold") {
        if (m.held) this.report(); // what played before the hold is reported as not held
        this.held = !!m.held;
      } else if (m.type === "clear") {
        this.held = false;
        this.queue = [];
        this.offset = 0;
        this.queued = 0;
        this.played = 0;
        this.epoch = m.epoch || 0;
        this.report();
      }
    };
  }

  report() {
    this.unreported = 0;
    this.port.postMessage({ type: "played", played: this.played, epoch: this.epoch, queued: this.queued,
                            held: this.held });
  }

  process(inputs, outputs) {
    const out = outputs[0];
    const first = out[0];
    let i = 0;
    while (!this.held && i < first.length && this.queue.length) {
      const buf = this.queue[0];
      const n = Math.min(first.length - i, buf.length - this.offset);
      first.set(buf.subarray(this.offset, this.offset + n), i);
      i += n;
      this.offset += n;
      if (this.offset >= buf.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    if (i < first.length) first.fill(0, i);
    for (let c = 1; c < out.length; c++) out[c].set(first);
    if (i > 0) {
      this.played += i;
      this.queued -= i;
      this.unreported += i;
      if (this.unreported >= this.every || this.queued === 0) this.report();
    }
    return true;
  }
}

registerProcessor("va-player", PlayerProcessor);
