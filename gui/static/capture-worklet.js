// Microphone capture: whatever rate the AudioContext runs at -> 16 kHz PCM16 frames for the /ws socket.
// A windowed-sinc low-pass removes what 16 kHz cannot carry (no aliasing hiss in Whisper's input), then linear
// interpolation picks the output samples, so any device rate (44.1, 48, 96 kHz) works without an offline pass.

function lowpass(cutoff, taps) {
  // cutoff as a fraction of the input rate; Blackman window
  const h = new Float32Array(taps);
  const m = taps - 1;
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const x = i - m / 2;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / m) + 0.08 * Math.cos((4 * Math.PI * i) / m);
    h[i] = sinc * w;
    sum += h[i];
  }
  for (let i = 0; i < taps; i++) h[i] /= sum;
  return h;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = (options && options.processorOptions) || {};
    this.outRate = o.outRate || 16000;
    this.frame = Math.round((this.outRate * (o.frameMs || 40)) / 1000);
    this.ratio = sampleRate / this.outRate; // input samples per output sample
    this.taps = this.ratio > 1 ? lowpass((0.45 * this.outRate) / sampleRate, 47) : null;
    this.hist = new Float32Array(this.taps ? this.taps.length : 1);
    this.hpos = 0;
    this.prev = 0;
    this.t = 1; // position of the next output sample, in input samples after `prev`
    this.buf = new Int16Array(this.frame);
    this.n = 0;
    this.energy = 0;
  }

  filter(x) {
    if (!this.taps) return x;
    const h = this.taps;
    const len = h.length;
    this.hist[this.hpos] = x;
    let acc = 0;
    let j = this.hpos;
    for (let i = 0; i < len; i++) {
      acc += h[i] * this.hist[j];
      j = j === 0 ? len - 1 : j - 1;
    }
    this.hpos = this.hpos + 1 === len ? 0 : this.hpos + 1;
    return acc;
  }

  emit(v) {
    const s = Math.max(-1, Math.min(1, v));
    this.buf[this.n++] = s < 0 ? s * 32768 : s * 32767;
    this.energy += s * s;
    if (this.n === this.frame) {
      const rms = Math.sqrt(this.energy / this.frame);
      this.port.postMessage({ pcm: this.buf.buffer, rms }, [this.buf.buffer]);
      this.buf = new Int16Array(this.frame);
      this.n = 0;
      this.energy = 0;
    }
  }

  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      const y = this.filter(ch[i]);
      while (this.t <= 1) {
        this.emit(this.prev + (y - this.prev) * this.t);
        this.t += this.ratio;
      }
      this.t -= 1;
      this.prev = y;
    }
    return true;
  }
}

registerProcessor("va-capture", CaptureProcessor);
