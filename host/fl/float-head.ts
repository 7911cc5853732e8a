// The same two-layer head in float32 on the host: the reference curves of
// the fleet experiment (float FedAvg and central training).
export class FloatHead {
  constructor(readonly inDim: number, readonly hidden: number, readonly classes: number, public params: Float32Array) {}

  private get sizes() {
    const w1 = this.hidden * this.inDim, w2 = this.classes * this.hidden;
    return { w1, w2, b1: w1 + w2, b2: w1 + w2 + this.hidden };
  }

  private forward(x: Float32Array, h: Float32Array, z: Float32Array): void {
    const p = this.params, s = this.sizes;
    for (let j = 0; j < this.hidden; j++) {
      let a = p[s.b1 + j];
      for (let i = 0; i < this.inDim; i++) a += p[j * this.inDim + i] * x[i];
      h[j] = a > 0 ? a : 0;
    }
    for (let o = 0; o < this.classes; o++) {
      let a = p[s.b2 + o];
      for (let j = 0; j < this.hidden; j++) a += p[s.w1 + o * this.hidden + j] * h[j];
      z[o] = a;
    }
  }

  predict(x: Float32Array): number {
    const h = new Float32Array(this.hidden), z = new Float32Array(this.classes);
    this.forward(x, h, z);
    return z.indexOf(Math.max(...z));
  }

  // One epoch of minibatch SGD with softmax cross-entropy.
  train(xs: Float32Array[], ys: number[], lr: number, batch: number): void {
    const s = this.sizes, p = this.params;
    const grad = new Float32Array(p.length);
    const h = new Float32Array(this.hidden), z = new Float32Array(this.classes), dh = new Float32Array(this.hidden);
    let inBatch = 0;
    const step = () => {
      if (inBatch === 0) return;
      for (let k = 0; k < p.length; k++) p[k] -= (lr / inBatch) * grad[k];
      grad.fill(0);
      inBatch = 0;
    };
    xs.forEach((x, n) => {
      this.forward(x, h, z);
      const top = Math.max(...z);
      let sum = 0;
      for (let o = 0; o < this.classes; o++) sum += (z[o] = Math.exp(z[o] - top));
      dh.fill(0);
      for (let o = 0; o < this.classes; o++) {
        const g = z[o] / sum - (o === ys[n] ? 1 : 0);
        grad[s.b2 + o] += g;
        for (let j = 0; j < this.hidden; j++) {
          grad[s.w1 + o * this.hidden + j] += g * h[j];
          dh[j] += g * p[s.w1 + o * this.hidden + j];
        }
      }
      for (let j = 0; j < this.hidden; j++) {
        if (h[j] <= 0) continue;
        grad[s.b1 + j] += dh[j];
        for (let i = 0; i < this.inDim; i++) grad[j * this.inDim + i] += dh[j] * x[i];
      }
      if (++inBatch === batch) step();
    });
    step();
  }
}
