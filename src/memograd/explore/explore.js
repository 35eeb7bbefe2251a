// memograd explore: the chain rule of any small MLP, its paths, its memo table and its counts,
// computed in this page. The arithmetic is the explainer's (memograd.explain), step for step,
// so the tests compare every number shown here with Python's to 1e-9.
"use strict";
(() => {
  const DATA = JSON.parse(document.getElementById("explore-data").textContent);
  const LIMITS = DATA.limits;
  const SHOWN_PATHS = 8;
  const MAX_TERMS = 8;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  // ---- Numbers the page makes: the same integer arithmetic as memograd.explore.values ----

  function hash32(text) {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    return h >>> 0;
  }

  function fillValue(seed, name) {
    const u = hash32(seed + "/" + name) / 4294967296;
    if (name[0] === "W" || name[0] === "x") return 2 * u - 1;
    if (name[0] === "b") return 0.1 * (2 * u - 1);
    if (name[0] === "y") return u;
    throw new Error("no rule for a value named " + name);
  }

  // Python's format(x, ".<p>g"): rounded half to even on the double's exact decimal digits.
  function fmtG(x, p) {
    if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    const sign = x < 0 ? "-" : "";
    const [mantissa, power] = Math.abs(x).toExponential(99).split("e");
    const all = mantissa.replace(".", "");
    let digits = all.slice(0, p);
    let exp = Number(power);
    const rest = all.slice(p);
    const odd = Number(digits[p - 1]) % 2 === 1;
    if (rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || odd))) {
      const up = (BigInt(digits) + 1n).toString();
      if (up.length > p) exp += 1;
      digits = up.slice(0, p);
    }
    if (exp >= -4 && exp < p) {
      const padded = exp < 0 ? "0".repeat(-exp) + digits : digits;
      const point = exp < 0 ? 1 : exp + 1;
      const whole = padded.slice(0, point);
      const fraction = padded.slice(point).replace(/0+$/, "");
      return sign + whole + (fraction ? "." + fraction : "");
    }
    const fraction = digits.slice(1).replace(/0+$/, "");
    const e = Math.abs(exp) < 10 ? "0" + Math.abs(exp) : String(Math.abs(exp));
    return sign + digits[0] + (fraction ? "." + fraction : "") + "e" + (exp < 0 ? "-" : "+") + e;
  }

  // The shortest text that reads back as the same double (String(-0) would drop the sign).
  const exact = (x) => (Object.is(x, -0) ? "-0" : String(x));
  const commas = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const plural = (n, word) => commas(n) + " " + word + (n === 1 ? "" : "s");

  // ---- The notes' notation (memograd.explain.symbols) ----

  const sub = (...indices) => (indices.every((i) => i < 10) ? indices.join("") : indices.join(","));
  const partial = (top, bottom) => "∂" + top + "/∂" + bottom;
  const DERIVATIVE = { sigmoid: "σ'", tanh: "tanh'", relu: "relu'", identity: "id'" };

  function unitText(sizes, k, j) {
    const K = sizes.length - 1;
    if (k === 0) return "x_" + j;
    if (k === K) return sizes[K] === 1 ? "Ŷ" : "Ŷ_" + j;
    return "O_" + sub(k, j);
  }

  function refText(sizes, ref) {
    if (ref.kind === "W") return "W^" + ref.layer + "_" + sub(ref.source, ref.unit);
    if (ref.kind === "b") return "b^" + ref.layer + "_" + ref.unit;
    return unitText(sizes, ref.layer, ref.unit);
  }

  function refName(ref) {
    if (ref.kind === "W") return "W" + ref.layer + "_" + ref.source + "_" + ref.unit;
    return ref.kind + ref.layer + "_" + ref.unit;
  }

  function parseRef(name) {
    const m = /^([WbO])(\d+)_(\d+)(?:_(\d+))?$/.exec(name);
    if (m[1] === "W") return { kind: "W", layer: +m[2], source: +m[3], unit: +m[4] };
    return { kind: m[1], layer: +m[2], unit: +m[3] };
  }

  // ---- The network and its forward pass (memograd.explain.network) ----

  function buildNet(st) {
    const sizes = st.sizes;
    const K = sizes.length - 1;
    const value = (name) => (name in st.values ? st.values[name] : fillValue(DATA.seed, name));
    const W = [null];
    const b = [null];
    for (let k = 1; k <= K; k++) {
      W.push([]);
      for (let i = 1; i <= sizes[k - 1]; i++) {
        W[k].push([]);
        for (let j = 1; j <= sizes[k]; j++) W[k][i - 1].push(value("W" + k + "_" + i + "_" + j));
      }
      b.push([]);
      for (let j = 1; j <= sizes[k]; j++) b[k].push(value("b" + k + "_" + j));
    }
    const x = [];
    for (let i = 1; i <= sizes[0]; i++) x.push(value("x" + i));
    const y = [];
    for (let j = 1; j <= sizes[K]; j++) y.push(value("y" + j));
    const acts = [null];
    for (let k = 1; k <= K; k++) acts.push(k === K ? "identity" : st.activation);
    return { sizes, K, W, b, x, y, acts };
  }

  function activate(name, z) {
    if (name === "sigmoid") return 1 / (1 + Math.exp(-z));
    if (name === "tanh") return Math.tanh(z);
    if (name === "relu") return Math.max(z, 0);
    return z;
  }

  function slopeOf(name, z, out) {
    if (name === "sigmoid") return out * (1 - out);
    if (name === "tanh") return 1 - out * out;
    if (name === "relu") return z > 0 ? 1 : 0;
    return 1;
  }

  // nudge = [ref, delta]: a weight or bias moved before the pass, a unit output after its unit.
  function forward(net, nudge) {
    const { sizes, K, acts } = net;
    const W = net.W.map((m) => m && m.map((row) => row.slice()));
    const b = net.b.map((v) => v && v.slice());
    if (nudge && nudge[0].kind === "W")
      W[nudge[0].layer][nudge[0].source - 1][nudge[0].unit - 1] += nudge[1];
    if (nudge && nudge[0].kind === "b") b[nudge[0].layer][nudge[0].unit - 1] += nudge[1];
    const O = [net.x.slice()];
    const slope = [[]];
    const z = [[]];
    for (let k = 1; k <= K; k++) {
      z.push([]);
      O.push([]);
      slope.push([]);
      for (let j = 0; j < sizes[k]; j++) {
        let sum = 0;
        for (let i = 0; i < sizes[k - 1]; i++) sum += O[k - 1][i] * W[k][i][j];
        const pre = sum + b[k][j];
        const out = activate(acts[k], pre);
        z[k].push(pre);
        slope[k].push(slopeOf(acts[k], pre, out));
        O[k].push(out);
      }
      if (nudge && nudge[0].kind === "O" && nudge[0].layer === k)
        O[k][nudge[0].unit - 1] += nudge[1];
    }
    let loss = 0;
    const dL = [];
    for (let j = 0; j < sizes[K]; j++) {
      const r = O[K][j] - net.y[j];
      loss += r * r;
      dL.push(2 * r);
    }
    return { z, O, slope, loss, dL };
  }

  // ∂O_mj/∂O_(m-1)i = act'(z_mj) W^m_ij, and the parameter's own factor ∂O_kj/∂W^k_ij.
  const edge = (net, fw, m, i, j) => fw.slope[m][j - 1] * net.W[m][i - 1][j - 1];

  function ownFactor(net, fw, ref) {
    const slope = fw.slope[ref.layer][ref.unit - 1];
    if (ref.kind === "b") return slope;
    return slope * fw.O[ref.layer - 1][ref.source - 1];
  }

  // ---- Paths (memograd.explain.paths) ----

  function pathCount(sizes, ref) {
    let count = 1;
    for (let m = ref.layer + 1; m < sizes.length; m++) count *= sizes[m];
    return count;
  }

  function routeAt(sizes, ref, index) {
    const digits = [];
    for (let m = sizes.length - 1; m > ref.layer; m--) {
      digits.push((index % sizes[m]) + 1);
      index = Math.floor(index / sizes[m]);
    }
    return [ref.unit, ...digits.reverse()];
  }

  function routeSymbols(sizes, ref, route) {
    const K = sizes.length - 1;
    const units = route.map((unit, offset) => [ref.layer + offset, unit]);
    const symbols = [partial("L", unitText(sizes, K, route[route.length - 1]))];
    for (let n = units.length - 1; n > 0; n--) {
      const [hl, hu] = units[n];
      const [ll, lu] = units[n - 1];
      symbols.push(partial(unitText(sizes, hl, hu), unitText(sizes, ll, lu)));
    }
    if (ref.kind !== "O")
      symbols.push(partial(unitText(sizes, ref.layer, ref.unit), refText(sizes, ref)));
    return symbols;
  }

  // Each factor: symbol, value, how it is made (the explainer's expression, to the digit),
  // and the graph edge it belongs to.
  function pathFactors(net, fw, ref, route) {
    const { sizes, K } = net;
    const symbols = routeSymbols(sizes, ref, route);
    const top = route[route.length - 1];
    const target = sizes[K] === 1 ? "y" : `y_${top}`;
    const residual = fw.O[K][top - 1] - net.y[top - 1];
    const factors = [
      {
        symbol: symbols[0],
        value: fw.dL[top - 1],
        expression: `2 × (${unitText(sizes, K, top)} − ${target}) = 2 × ${fmtG(residual, 6)}`,
        edge: `L:${top}`,
      },
    ];
    for (let n = route.length - 1; n > 0; n--) {
      const [layer, unit, source] = [ref.layer + n, route[n], route[n - 1]];
      const slope = fw.slope[layer][unit - 1];
      const weight = net.W[layer][source - 1][unit - 1];
      const how = `${DERIVATIVE[net.acts[layer]]}(z_${sub(layer, unit)}) × W^${layer}_${sub(source, unit)}`;
      factors.push({
        symbol: symbols[factors.length],
        value: edge(net, fw, layer, source, unit),
        expression: `${how} = ${fmtG(slope, 6)} × ${fmtG(weight, 6)}`,
        edge: `W${layer}_${source}_${unit}`,
      });
    }
    if (ref.kind !== "O") {
      const slope = fmtG(fw.slope[ref.layer][ref.unit - 1], 6);
      const deriv = `${DERIVATIVE[net.acts[ref.layer]]}(z_${sub(ref.layer, ref.unit)})`;
      const incoming = unitText(sizes, ref.layer - 1, ref.source);
      const expression =
        ref.kind === "W"
          ? `${deriv} × ${incoming} = ${slope} × ${fmtG(fw.O[ref.layer - 1][ref.source - 1], 6)}`
          : `${deriv} = ${slope}`;
      const own = ownFactor(net, fw, ref);
      factors.push({
        symbol: symbols[symbols.length - 1],
        value: own,
        expression,
        edge: refName(ref),
      });
    }
    return factors;
  }

  // The chain-rule sum in the notes' layout, elided beyond MAX_TERMS paths (memograd.explain.formula).
  function formulaGroups(sizes, ref) {
    const K = sizes.length - 1;
    const total = pathCount(sizes, ref);
    const outputs = ref.layer === K ? 1 : sizes[K];
    const perGroup = total / outputs;
    const elide = total > MAX_TERMS;
    let shown = [];
    for (let o = 0; o < outputs; o++) shown.push(o);
    if (elide) shown = [...new Set([...shown.slice(0, 2), ...(outputs > 2 ? [outputs - 1] : [])])];
    const groups = shown.map((out) => {
      const positions = [];
      if (elide && perGroup > 3) positions.push(0, 1, perGroup - 1);
      else for (let p = 0; p < perGroup; p++) positions.push(p);
      const lists = positions.map((p) =>
        routeSymbols(sizes, ref, routeAt(sizes, ref, p * outputs + out)),
      );
      const terms = lists.map((symbols) => symbols.slice(1));
      const routes = positions.map((p) => p * outputs + out);
      return { lead: lists[0][0], terms, elided: positions.length < perGroup, positions: routes };
    });
    return { groups, groupsElided: shown.length < outputs, total };
  }

  function formulaText(sizes, ref) {
    const { groups, groupsElided, total } = formulaGroups(sizes, ref);
    let rendered = groups.map((g) => {
      let terms = g.terms.map((t) => t.join(" × "));
      if (g.elided) terms = [...terms.slice(0, -1), "…", terms[terms.length - 1]];
      return terms.length === 1 && terms[0] === ""
        ? g.lead
        : g.lead + " [ " + terms.join(" + ") + " ]";
    });
    if (groupsElided) rendered = [...rendered.slice(0, -1), "…", rendered[rendered.length - 1]];
    let text = "∂L/∂" + refText(sizes, ref) + " = " + rendered.join(" + ");
    if (total > MAX_TERMS) text += "   (" + commas(total) + " paths)";
    return text;
  }

  // ---- The gradient three ways, and what each costs (memograd.explain.gradient) ----

  function naiveGradient(net, fw, ref) {
    const total = pathCount(net.sizes, ref);
    const own = ref.kind === "O" ? null : ownFactor(net, fw, ref);
    let sum = 0;
    for (let p = 0; p < total; p++) {
      const route = routeAt(net.sizes, ref, p);
      let product = fw.dL[route[route.length - 1] - 1];
      for (let n = route.length - 1; n > 0; n--)
        product *= edge(net, fw, ref.layer + n, route[n - 1], route[n]);
      if (own !== null) product *= own;
      sum += product;
    }
    return sum;
  }

  function finiteDifference(net, ref) {
    const h = 1e-6;
    return (forward(net, [ref, h]).loss - forward(net, [ref, -h]).loss) / (2 * h);
  }

  const counts = {
    naive: (sizes, ref) =>
      pathCount(sizes, ref) * (sizes.length - 1 - ref.layer + (ref.kind !== "O" ? 1 : 0)),
    // Σ_{m=k+1}^{K-1} n_m n_(m+1) + n_(k+1) for ref's own unit + 1 for its own factor.
    reverse(sizes, ref) {
      const K = sizes.length - 1;
      let total = ref.kind !== "O" ? 1 : 0;
      for (let m = ref.layer + 1; m < K; m++) total += sizes[m] * sizes[m + 1];
      return total + (ref.layer < K ? sizes[ref.layer + 1] : 0);
    },
    // n_(k+1) tangents from the seed, Σ_{m=k+2}^{K} n_(m-1) n_m, then n_K for ∂L/∂Ŷ · ∂Ŷ/∂p.
    forward(sizes, ref) {
      const K = sizes.length - 1;
      if (ref.layer === K) return ref.kind === "O" ? 0 : 1;
      let total = ref.kind !== "O" ? sizes[ref.layer + 1] : 0;
      for (let m = ref.layer + 2; m <= K; m++) total += sizes[m - 1] * sizes[m];
      return total + sizes[K];
    },
  };

  // Every weight's gradient at once (memograd.explain.cost; biases left out as there).
  function everyWeight(sizes) {
    const K = sizes.length - 1;
    const result = { naive: 0, reverse: 0, forward: 0, weights: 0 };
    for (let m = 1; m < K; m++) result.reverse += sizes[m] * sizes[m + 1];
    for (let k = 1; k <= K; k++) {
      const n = sizes[k - 1] * sizes[k];
      const ref = { kind: "W", layer: k, source: 1, unit: 1 };
      result.weights += n;
      result.naive += n * counts.naive(sizes, ref);
      result.forward += n * counts.forward(sizes, ref);
    }
    result.reverse += result.weights;
    return result;
  }

  // ---- The two sweeps, one entry of the memo table per step ----

  const key = (k, j) => k + "_" + j;
  const range = (n) => Array.from({ length: n }, (_, i) => i + 1); // 1..n, the notes' indices
  const num = (v) => (v < 0 ? "(" + fmtG(v, 4) + ")" : fmtG(v, 4));

  // Reverse (backprop): adjoints ∂L/∂O from the output down, each once, as the explainer's memo.
  function reverseSteps(net, fw, ref) {
    const { sizes, K } = net;
    const table = {};
    const steps = [];
    for (let j = 1; j <= sizes[K]; j++) {
      const out = unitText(sizes, K, j);
      const value = (table[key(K, j)] = fw.dL[j - 1]);
      const target = sizes[K] === 1 ? "y" : `y_${j}`;
      steps.push({
        key: key(K, j),
        entry: out,
        value,
        reads: [],
        mults: 0,
        formula: `${partial("L", out)} = 2 × (${out} − ${target})`,
        arithmetic: `= 2 × ${num(fw.O[K][j - 1] - net.y[j - 1])} = ${fmtG(value, 4)}`,
      });
    }
    for (let layer = K - 1; layer >= ref.layer; layer--) {
      const units = layer === ref.layer ? [ref.unit] : range(sizes[layer]);
      for (const i of units) {
        const name = unitText(sizes, layer, i);
        const terms = range(sizes[layer + 1]).map((l) => ({
          from: key(layer + 1, l),
          adjoint: table[key(layer + 1, l)],
          above: unitText(sizes, layer + 1, l),
          factorValue: edge(net, fw, layer + 1, i, l),
        }));
        let value = 0;
        for (const t of terms) value += t.adjoint * t.factorValue;
        table[key(layer, i)] = value;
        const sum = terms.map((t) => `${partial("L", t.above)} × ${partial(t.above, name)}`);
        const numbers = terms.map((t) => `${num(t.adjoint)} × ${num(t.factorValue)}`);
        steps.push({
          key: key(layer, i),
          entry: name,
          value,
          reads: terms.map((t) => t.from),
          mults: terms.length,
          formula: `${partial("L", name)} = ${sum.join(" + ")}`,
          arithmetic: `= ${numbers.join(" + ")} = ${fmtG(value, 4)}`,
        });
      }
    }
    if (ref.kind !== "O") {
      const unit = unitText(sizes, ref.layer, ref.unit);
      const symbol = refText(sizes, ref);
      const adjoint = table[key(ref.layer, ref.unit)];
      const own = ownFactor(net, fw, ref);
      steps.push({
        key: "param",
        entry: symbol,
        value: adjoint * own,
        reads: [key(ref.layer, ref.unit)],
        mults: 1,
        formula: `${partial("L", symbol)} = ${partial("L", unit)} × ${partial(unit, symbol)}`,
        arithmetic: `= ${num(adjoint)} × ${num(own)} = ${fmtG(adjoint * own, 4)}`,
      });
    }
    return steps;
  }

  // Forward mode: tangents ∂O/∂p from the parameter up to L, each once. For a unit O_kj the
  // first tangents above it are the local derivatives themselves: no multiplication.
  function forwardSteps(net, fw, ref) {
    const { sizes, K } = net;
    const p = refText(sizes, ref);
    const seedUnit = unitText(sizes, ref.layer, ref.unit);
    const table = {};
    const seed = (table[key(ref.layer, ref.unit)] = ref.kind === "O" ? 1 : ownFactor(net, fw, ref));
    const how = ref.kind === "O" ? "1" : pathFactors(net, fw, ref, [ref.unit]).pop().expression;
    const steps = [
      {
        key: key(ref.layer, ref.unit),
        entry: seedUnit,
        value: seed,
        reads: [],
        mults: 0,
        formula: `${partial(seedUnit, p)} = ${how}`,
        arithmetic: `= ${fmtG(seed, 4)}`,
      },
    ];
    for (let m = ref.layer + 1; m <= K; m++) {
      const below = m === ref.layer + 1 ? [ref.unit] : range(sizes[m - 1]);
      const given = ref.kind === "O" && m === ref.layer + 1;
      for (let l = 1; l <= sizes[m]; l++) {
        const name = unitText(sizes, m, l);
        const terms = below.map((i) => ({
          from: key(m - 1, i),
          tangent: table[key(m - 1, i)],
          low: unitText(sizes, m - 1, i),
          factorValue: edge(net, fw, m, i, l),
        }));
        let value = 0;
        for (const t of terms) value += t.factorValue * t.tangent;
        table[key(m, l)] = value;
        const sum = terms.map((t) => `${partial(name, t.low)} × ${partial(t.low, p)}`);
        const numbers = terms.map((t) => `${num(t.factorValue)} × ${num(t.tangent)}`);
        steps.push({
          key: key(m, l),
          entry: name,
          value,
          reads: given ? [] : terms.map((t) => t.from),
          mults: given ? 0 : terms.length,
          formula: `${partial(name, p)} = ${given ? partial(name, seedUnit) : sum.join(" + ")}`,
          arithmetic: given
            ? `= ${fmtG(value, 4)}`
            : `= ${numbers.join(" + ")} = ${fmtG(value, 4)}`,
        });
      }
    }
    const outs = ref.layer === K ? [ref.unit] : range(sizes[K]);
    const given = ref.kind === "O" && ref.layer === K;
    let value = 0;
    for (const j of outs) value += fw.dL[j - 1] * table[key(K, j)];
    const sum = outs.map((j) => {
      const out = unitText(sizes, K, j);
      return given ? partial("L", out) : `${partial("L", out)} × ${partial(out, p)}`;
    });
    const numbers = outs.map(
      (j) => num(fw.dL[j - 1]) + (given ? "" : ` × ${num(table[key(K, j)])}`),
    );
    steps.push({
      key: "L",
      entry: "L",
      value,
      reads: given ? [] : outs.map((j) => key(K, j)),
      mults: given ? 0 : outs.length,
      formula: `${partial("L", p)} = ${sum.join(" + ")}`,
      arithmetic: `= ${numbers.join(" + ")} = ${fmtG(value, 4)}`,
    });
    return steps;
  }

  // ---- State and controls ----

  const st = {
    sizes: DATA.arch.slice(),
    activation: DATA.activation,
    values: Object.assign({}, DATA.values),
    ref: "W1_1_1",
    mode: "reverse",
    step: 0,
    hoverPath: null,
    hoverEdge: null,
    fibN: DATA.fib_n,
    fibMemo: false,
  };

  function el(tag, attrs, parent, text) {
    const svg = tag.startsWith("svg:");
    const node = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  const clamp = (value, low, high) => {
    const n = Math.round(Number(value));
    return Number.isFinite(n) ? Math.min(high, Math.max(low, n)) : low;
  };

  // Number fields are kept across redraws (matched by id), so focus and typing survive a change.
  const fieldHandlers = {};

  function syncFields(parent, fields) {
    const wanted = new Set(fields.map((f) => f.id));
    for (const label of [...parent.children]) {
      if (!wanted.has(label.getAttribute("for"))) label.remove();
    }
    fields.forEach((f, n) => {
      let input = $(f.id);
      if (!input) {
        const label = el("label", { class: "field", for: f.id });
        el("span", {}, label, f.label);
        const limits = f.step === "any" ? { inputmode: "decimal" } : { min: f.min, max: f.max };
        input = el("input", { id: f.id, type: "number", step: f.step, ...limits }, label);
        input.addEventListener("change", () => fieldHandlers[f.id](input));
      }
      const label = input.parentElement;
      label.firstChild.textContent = f.label;
      if (parent.children[n] !== label) parent.insertBefore(label, parent.children[n] || null);
      // A typed number is left as typed while its field has the focus; sizes show their clamp.
      if (f.step !== "any" || document.activeElement !== input) input.value = f.value;
      fieldHandlers[f.id] = f.onChange;
    });
  }

  function buildControls() {
    const K = st.sizes.length - 1;
    const reshape = (sizes) => {
      st.sizes = sizes;
      if (!refNames(sizes).includes(st.ref)) st.ref = refNames(sizes)[0];
      st.step = 0;
      update(true);
    };
    const size = (id, label, value, min, max, onChange) => {
      return { id, label, value, min, max, step: 1, onChange };
    };
    const setWidth = (k) => (input) => {
      const sizes = st.sizes.slice();
      sizes[k] = clamp(input.value, 1, LIMITS.width);
      reshape(sizes);
    };
    const setDepth = (input) => {
      const hidden = st.sizes.slice(1, -1);
      const want = clamp(input.value, 0, LIMITS.hidden_layers);
      while (hidden.length < want) hidden.push(hidden.length ? hidden[hidden.length - 1] : 2);
      reshape([st.sizes[0], ...hidden.slice(0, want), st.sizes[K]]);
    };
    syncFields($("arch-inputs"), [
      size("inputs", "inputs", st.sizes[0], 1, LIMITS.inputs, (input) =>
        reshape([clamp(input.value, 1, LIMITS.inputs), ...st.sizes.slice(1)]),
      ),
      size("hidden-layers", "hidden layers", K - 1, 0, LIMITS.hidden_layers, setDepth),
      ...range(K - 1).map((k) =>
        size(`width-${k}`, `width of layer ${k}`, st.sizes[k], 1, LIMITS.width, setWidth(k)),
      ),
      size("outputs", "outputs", st.sizes[K], 1, LIMITS.outputs, (input) =>
        reshape([...st.sizes.slice(0, -1), clamp(input.value, 1, LIMITS.outputs)]),
      ),
    ]);
    const typed = (name) => (input) => {
      const v = Number(input.value);
      const bad = input.value.trim() === "" || !Number.isFinite(v);
      input.setAttribute("aria-invalid", String(bad));
      if (bad) return;
      st.values[name] = v;
      st.step = 0;
      update(false);
    };
    // Shown to 6 digits; the page keeps the full number until the learner types another.
    const value = (id, label, v) => ({
      id,
      label,
      value: fmtG(v, 6),
      step: "any",
      onChange: typed(id),
    });
    const net = buildNet(st);
    const target = (j) => (net.y.length === 1 ? "target y" : `y${subDigits(j)}`);
    syncFields($("value-inputs"), [
      ...net.x.map((v, i) => value(`x${i + 1}`, `x${subDigits(i + 1)}`, v)),
      ...net.y.map((v, j) => value(`y${j + 1}`, target(j + 1), v)),
    ]);
  }

  function refNames(sizes) {
    const names = [];
    for (let k = 1; k < sizes.length; k++) {
      for (const i of range(sizes[k - 1]))
        for (const j of range(sizes[k])) names.push(`W${k}_${i}_${j}`);
    }
    for (const kind of ["b", "O"]) {
      for (let k = 1; k < sizes.length; k++)
        for (const j of range(sizes[k])) names.push(`${kind}${k}_${j}`);
    }
    return names;
  }

  function buildParamSelect() {
    const select = $("param");
    select.textContent = "";
    for (const name of refNames(st.sizes)) {
      el("option", { value: name }, select, pretty(refText(st.sizes, parseRef(name))));
    }
    select.value = st.ref;
  }

  function choose(name) {
    st.ref = name;
    st.step = 0;
    st.hoverPath = st.hoverEdge = null;
    update(false);
  }

  // ---- Symbols: W^1_11 as W¹₁₁ in text and SVG, as <sup>/<sub> in HTML, ∂a/∂b as a fraction ----

  const SUPER = "⁰¹²³⁴⁵⁶⁷⁸⁹";
  const SUBS = "₀₁₂₃₄₅₆₇₈₉";
  const subDigits = (t) =>
    String(t)
      .replace(/\d/g, (d) => SUBS[d])
      .replace(/,/g, "‚");
  const pretty = (text) =>
    text
      .replace(/\^([\d,]+)/g, (_, s) => s.replace(/\d/g, (d) => SUPER[d]).replace(/,/g, "˒"))
      .replace(/_([\d,]+)/g, (_, s) => subDigits(s));

  function symbolHTML(parent, text) {
    const m = /^([^^_]+)(?:\^([\d,]+))?(?:_([\d,]+))?$/.exec(text);
    if (!m) return el("span", {}, parent, text);
    const span = el("span", { class: "sym" }, parent, m[1]);
    const scripts = m[2] && m[3] ? el("span", { class: "supsub" }, span) : span;
    if (m[2]) el("sup", {}, scripts, m[2]);
    if (m[3]) el("sub", {}, scripts, m[3]);
    return span;
  }

  function fractionHTML(parent, symbol, attrs) {
    const [top, bottom] = symbol.slice(1).split("/∂");
    const frac = el("span", { class: "frac", "aria-label": symbol, ...attrs }, parent);
    symbolHTML(el("span", { class: "num", "aria-hidden": "true" }, frac, "∂"), top);
    symbolHTML(el("span", { class: "den", "aria-hidden": "true" }, frac, "∂"), bottom);
    return frac;
  }

  // An expression in the notes' plain text, with every ∂a/∂b set as a fraction.
  function expressionHTML(parent, text) {
    const pattern = /∂([^\s/]+)\/∂([^\s)]+)/g;
    const plain = (t) => parent.appendChild(document.createTextNode(pretty(t)));
    let last = 0;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      if (m.index > last) plain(text.slice(last, m.index));
      fractionHTML(parent, m[0]);
      last = m.index + m[0].length;
    }
    if (last < text.length) plain(text.slice(last));
  }

  // The number as shown (digits significant figures), with the exact double in data-value.
  function numberHTML(parent, value, digits, attrs) {
    const span = { class: "value", "data-value": exact(value), ...attrs };
    return el("span", span, parent, fmtG(value, digits));
  }

  function facts(parent, items) {
    parent.textContent = "";
    for (const [label, value, id] of items) {
      const div = el("div", { class: "fact" }, parent);
      el("div", { class: "fact-value", id, "data-value": String(value) }, div, commas(value));
      el("div", { class: "fact-label" }, div, label);
    }
  }

  // One tab stop for a group (the formula, the drawing): arrow keys move between its items
  // (a roving tabindex), Enter or Space picks one when the group has something to pick.
  function focusableList(items, start = 0, onPick = null) {
    items.forEach((node, n) => {
      node.setAttribute("tabindex", n === start ? "0" : "-1");
      node.addEventListener("keydown", (event) => {
        const move = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
        if (onPick && (event.key === "Enter" || event.key === " ")) {
          event.preventDefault();
          onPick(node);
        } else if (move) {
          event.preventDefault();
          const next = items[(n + move + items.length) % items.length];
          node.setAttribute("tabindex", "-1");
          next.setAttribute("tabindex", "0");
          next.focus();
        }
      });
    });
  }

  // ---- The network drawing ----

  function drawGraph(view) {
    const { net, fw, ref, steps, step, mode } = view;
    const { sizes, K } = net;
    const svg = $("graph");
    svg.textContent = "";
    const height = 50 + Math.max(...sizes) * 100;
    const at = (k, j) => [50 + k * 118, height / 2 + (j - 1 - (sizes[k] - 1) / 2) * 100];
    const loss = [30 + (K + 1) * 118, height / 2];
    svg.setAttribute("viewBox", `0 0 ${(K + 1) * 118 + 110} ${height}`);
    const current = step > 0 ? steps[step - 1] : null;
    const stored = new Map(steps.slice(0, step).map((s) => [s.key, s.value]));
    const reads = new Set(current ? current.reads : []);
    const onPath = (k, j) => k > ref.layer || (k === ref.layer && j === ref.unit);
    const edges = el("svg:g", {}, svg);
    const nodes = el("svg:g", {}, svg);
    const focusables = [];
    const pickable = (g, name, label) => {
      Object.entries({ "data-ref": name, role: "button", "aria-label": label }).forEach(([a, v]) =>
        g.setAttribute(a, v),
      );
      g.classList.add("pick");
      if (name === st.ref) g.classList.add("selected");
      focusables.push(g);
    };
    const mark = (g, flags) => {
      for (const [cls, on] of Object.entries(flags)) if (on) g.classList.add(cls);
    };
    for (let k = 1; k <= K; k++) {
      for (const i of range(sizes[k - 1])) {
        for (const j of range(sizes[k])) {
          const name = `W${k}_${i}_${j}`;
          const [[x1, y1], [x2, y2]] = [at(k - 1, i), at(k, j)];
          const [by, from] =
            mode === "reverse" ? [key(k - 1, i), key(k, j)] : [key(k, j), key(k - 1, i)];
          const g = el("svg:g", { class: "edge" }, edges);
          mark(g, {
            "on-path": name === st.ref || onPath(k - 1, i),
            read:
              current &&
              ((current.key === by && reads.has(from)) ||
                (current.key === "param" && name === st.ref)),
            "path-hl": st.hoverPath && st.hoverPath.includes(name),
            "factor-hl": st.hoverEdge === name,
          });
          el("svg:line", { x1, y1, x2, y2, class: "stroke" }, g);
          el("svg:line", { x1, y1, x2, y2, class: "hit" }, g);
          const label = `${pretty(`W^${k}_${sub(i, j)}`)} = ${fmtG(net.W[k][i - 1][j - 1], 6)}`;
          el("svg:title", {}, g, label);
          pickable(g, name, `weight ${label}`);
        }
      }
    }
    for (const j of range(sizes[K])) {
      const [x1, y1] = at(K, j);
      const g = el("svg:g", { class: "edge on-path" }, edges);
      mark(g, {
        read: current && current.key === "L" && reads.has(key(K, j)),
        "path-hl": st.hoverPath && st.hoverPath.includes(`L:${j}`),
        "factor-hl": st.hoverEdge === `L:${j}`,
      });
      el("svg:line", { x1, y1, x2: loss[0], y2: loss[1], class: "stroke" }, g);
    }
    for (let k = 0; k <= K; k++) {
      for (const j of range(sizes[k])) {
        const [cx, cy] = at(k, j);
        const g = el("svg:g", { class: "unit" }, nodes);
        mark(g, {
          input: k === 0,
          "on-path": k > 0 && onPath(k, j),
          stored: stored.has(key(k, j)),
          current: current && current.key === key(k, j),
          read: reads.has(key(k, j)),
        });
        el("svg:circle", { cx, cy, r: 25 }, g);
        el("svg:text", { x: cx, y: cy - 4, class: "label" }, g, pretty(unitText(sizes, k, j)));
        el("svg:text", { x: cx, y: cy + 12, class: "small" }, g, fmtG(fw.O[k][j - 1], 3));
        if (stored.has(key(k, j))) {
          el("svg:text", { x: cx, y: cy + 40, class: "memo" }, g, fmtG(stored.get(key(k, j)), 3));
        }
        if (k === 0) continue;
        pickable(
          g,
          `O${k}_${j}`,
          `unit ${pretty(unitText(sizes, k, j))} = ${fmtG(fw.O[k][j - 1], 6)}`,
        );
        const name = `b${k}_${j}`;
        const bias = el("svg:g", { class: "bias" }, nodes);
        mark(bias, { "on-path": name === st.ref });
        el("svg:rect", { x: cx - 9, y: cy - 47, width: 18, height: 16, rx: 3 }, bias);
        el("svg:text", { x: cx, y: cy - 35, class: "small" }, bias, "b");
        const label = `${pretty(`b^${k}_${j}`)} = ${fmtG(net.b[k][j - 1], 6)}`;
        el("svg:title", {}, bias, label);
        pickable(bias, name, `bias ${label}`);
      }
    }
    const L = el("svg:g", { class: "unit loss on-path" }, nodes);
    mark(L, { current: current && current.key === "L" });
    el("svg:rect", { x: loss[0] - 24, y: loss[1] - 20, width: 48, height: 40, rx: 6 }, L);
    el("svg:text", { x: loss[0], y: loss[1] - 3, class: "label" }, L, "L");
    el("svg:text", { x: loss[0], y: loss[1] + 12, class: "small" }, L, fmtG(fw.loss, 3));
    // One tab stop for the whole drawing; arrow keys move between weights, biases and units.
    const refOf = (g) => g.getAttribute("data-ref");
    const pick = (g) => {
      choose(refOf(g));
      document.querySelector(`#graph [data-ref="${st.ref}"]`).focus();
    };
    focusableList(
      focusables,
      Math.max(
        0,
        focusables.findIndex((g) => refOf(g) === st.ref),
      ),
      pick,
    );
    for (const g of focusables) g.addEventListener("click", () => choose(refOf(g)));
  }

  // ---- The formula, the factor details and the paths ----

  function showFactor(factor) {
    const detail = $("factor-detail");
    detail.textContent = "";
    expressionHTML(detail, factor.symbol);
    detail.appendChild(document.createTextNode(` = ${pretty(factor.expression)} = `));
    numberHTML(detail, factor.value, 6);
    st.hoverEdge = factor.edge;
    drawGraph(currentView());
  }

  const onShow = (node, factor) => {
    for (const ev of ["mouseenter", "focus", "click"])
      node.addEventListener(ev, () => showFactor(factor));
  };

  function drawFormula(view) {
    const { net, fw, ref, total } = view;
    const box = $("formula");
    box.textContent = "";
    box.setAttribute("data-text", formulaText(net.sizes, ref));
    const { groups, groupsElided } = formulaGroups(net.sizes, ref);
    const factorOf = {};
    for (const g of groups) {
      for (const p of g.positions) {
        for (const f of pathFactors(net, fw, ref, routeAt(net.sizes, ref, p)))
          factorOf[f.symbol] = f;
      }
    }
    const items = [];
    const text = (t) => box.appendChild(document.createTextNode(t));
    const factor = (symbol) => {
      const f = factorOf[symbol];
      const node = fractionHTML(box, symbol, { class: "frac factor", role: "button" });
      node.setAttribute("aria-label", `${symbol} = ${fmtG(f.value, 6)}`);
      onShow(node, f);
      items.push(node);
    };
    const elided = (list, on) => (on ? [...list.slice(0, -1), null, list[list.length - 1]] : list);
    fractionHTML(box, `∂L/∂${refText(net.sizes, ref)}`);
    text(" = ");
    elided(groups, groupsElided).forEach((g, n) => {
      if (n) text(" + ");
      if (g === null) return text("…");
      factor(g.lead);
      if (g.terms.length === 1 && g.terms[0].length === 0) return;
      text(" [ ");
      elided(g.terms, g.elided).forEach((term, m) => {
        if (m) text(" + ");
        if (term === null) return text("…");
        term.forEach((symbol, i) => {
          if (i) text(" × ");
          factor(symbol);
        });
      });
      text(" ]");
    });
    if (total > MAX_TERMS) text(`   (${commas(total)} paths)`);
    focusableList(items);
  }

  function drawPaths(view) {
    const { net, fw, ref, total } = view;
    const body = $("path-rows");
    body.textContent = "";
    for (let p = 0; p < Math.min(total, SHOWN_PATHS); p++) {
      const route = routeAt(net.sizes, ref, p);
      const factors = pathFactors(net, fw, ref, route);
      const row = el("tr", { "data-path": p }, body);
      const via = route.map((u, n) => pretty(unitText(net.sizes, ref.layer + n, u))).join(" → ");
      el("th", { scope: "row" }, row, `${p + 1} (${via})`);
      const cell = el("td", { class: "factors" }, row);
      factors.forEach((f, n) => {
        if (n) cell.appendChild(document.createTextNode(" × "));
        const attrs = {
          class: "factor-value",
          "data-symbol": f.symbol,
          "data-expression": f.expression,
        };
        const wrap = el("span", attrs, cell);
        fractionHTML(wrap, f.symbol);
        wrap.appendChild(document.createTextNode(" "));
        numberHTML(wrap, f.value, 6);
        onShow(wrap, f);
      });
      let product = factors[0].value;
      for (const f of factors.slice(1)) product *= f.value;
      numberHTML(el("td", { class: "num" }, row), product, 6, { "data-product": "" });
      for (const ev of ["mouseenter", "focusin"]) {
        row.addEventListener(ev, () => {
          st.hoverPath = factors.map((f) => f.edge);
          drawGraph(currentView());
        });
      }
    }
    focusableList([...body.querySelectorAll(".factor-value")]);
    const length = routeSymbols(net.sizes, ref, routeAt(net.sizes, ref, 0)).length;
    $("path-more").textContent =
      total > SHOWN_PATHS
        ? `… and ${plural(total - SHOWN_PATHS, "more path")}, each a product of ${length} factors.`
        : "";
  }

  // ---- The memo table, stepped ----

  function drawSweep(view) {
    const { net, ref, steps, step, mode } = view;
    const K = net.sizes.length - 1;
    const p = pretty(refText(net.sizes, ref));
    const entryOf = (s) => {
      if (mode === "reverse") return `∂L/∂${s.entry}`;
      return s.key === "L"
        ? `∂L/∂${refText(net.sizes, ref)}`
        : `∂${s.entry}/∂${refText(net.sizes, ref)}`;
    };
    $("step-count").textContent = `step ${step} of ${steps.length}`;
    $("step-back").disabled = $("step-start").disabled = step === 0;
    $("step-next").disabled = $("step-end").disabled = step === steps.length;
    const text = $("step-text");
    text.textContent = "";
    const current = step > 0 ? steps[step - 1] : null;
    const made = (n) => steps.slice(0, n).reduce((sum, s) => sum + s.mults, 0);
    const kind = mode === "reverse" ? "adjoint" : "tangent";
    if (!current) {
      const start =
        mode === "reverse" ? "Backpropagation starts at the loss" : `Forward mode starts at ${p}`;
      const what = mode === "reverse" ? "adjoint ∂L/∂O" : `tangent ∂O/∂${p}`;
      text.textContent = `${start} and stores each ${what} the first time it is computed. Press “step” to compute the first entry.`;
    } else {
      const line = el("p", { class: "step-formula" }, text);
      el("strong", {}, line, `Step ${step}: `);
      expressionHTML(line, current.formula);
      line.appendChild(document.createTextNode(` ${current.arithmetic}`));
      const reused = current.reads.map((k) => {
        const at = steps.findIndex((s) => s.key === k);
        return `${pretty(entryOf(steps[at]))} (step ${at + 1})`;
      });
      const products = plural(current.mults, "multiplication");
      el(
        "p",
        { id: "step-reuse" },
        text,
        reused.length
          ? `Reuses ${reused.length} stored ${kind}${reused.length > 1 ? "s" : ""}: ${reused.join(", ")}; ${products}.`
          : mode === "reverse"
            ? "Starts the table from the loss: no multiplication."
            : "Starts the table: a local derivative, no multiplication.",
      );
      if (mode === "reverse" && current.key !== "param") {
        const layer = Number(current.key.split("_")[0]);
        const paths = pathCount(net.sizes, { kind: "O", layer, unit: 1 });
        const alone = plural(paths * (K - layer), "multiplication");
        const sentence = `Without the table, this adjoint alone would be a sum over ${plural(paths, "path")}: ${alone}.`;
        el("p", { class: "muted" }, text, sentence);
      }
    }
    const body = $("memo-rows");
    body.textContent = "";
    steps.forEach((s, n) => {
      const state = n < step - 1 ? "stored" : n === step - 1 ? "current" : "pending";
      const row = el("tr", { "data-key": s.entry, class: state }, body);
      expressionHTML(el("th", { scope: "row" }, row), entryOf(s));
      const cell = el("td", { class: "num" }, row);
      if (n < step) numberHTML(cell, s.value, 10);
      else cell.textContent = "—";
      el("td", { class: "num" }, row, String(n + 1));
      el("td", { class: "num" }, row, String(s.mults));
    });
    const sweep = mode === "reverse" ? "memoized sweep" : "forward mode";
    facts($("counters"), [
      [
        `${sweep}: multiplications so far, of ${commas(made(steps.length))}`,
        made(step),
        "count-so-far",
      ],
      ["naive path sum for the same gradient", counts.naive(net.sizes, ref), "count-naive-same"],
      ["entries in the memo table", step, "count-entries"],
    ]);
  }

  function drawGradients(view) {
    const { net, fw, ref, reverse, forwardMode } = view;
    const { sizes } = net;
    const last = (steps) => steps[steps.length - 1].value;
    const body = $("gradient-rows");
    body.textContent = "";
    for (const [id, label, value, mults] of [
      [
        "naive",
        "naive: every path's product on its own",
        naiveGradient(net, fw, ref),
        counts.naive(sizes, ref),
      ],
      [
        "reverse",
        "backprop: reverse sweep, adjoints stored once",
        last(reverse),
        counts.reverse(sizes, ref),
      ],
      [
        "forward",
        "forward mode: tangents stored once",
        last(forwardMode),
        counts.forward(sizes, ref),
      ],
      ["fd", "finite difference (central, h = 1e-6)", finiteDifference(net, ref), null],
    ]) {
      const row = el("tr", { "data-method": id }, body);
      el("th", { scope: "row" }, row, label);
      numberHTML(el("td", { class: "num" }, row), value, 10);
      const count = mults === null ? {} : { "data-value": String(mults) };
      el("td", { class: "num", ...count }, row, mults === null ? "—" : commas(mults));
    }
    const all = everyWeight(sizes);
    const every = $("every-rows");
    every.textContent = "";
    for (const [id, label] of [
      ["naive", "naive: every path of every weight"],
      ["reverse", "backprop: one reverse sweep, then one product per weight"],
      ["forward", "forward mode: one pass per weight"],
    ]) {
      const row = el("tr", { "data-method": id }, every);
      el("th", { scope: "row" }, row, label);
      el("td", { class: "num", "data-value": String(all[id]) }, row, commas(all[id]));
    }
    $("every-caption").textContent =
      `All ${commas(all.weights)} weights of this ${sizes.join("-")} network (biases aside).`;
    // The same gradient as the network grows: more hidden layers like the last one.
    const grow = $("growth-rows");
    grow.textContent = "";
    const K = sizes.length - 1;
    for (let extra = 0; extra <= 3; extra++) {
      const bigger = [
        ...sizes.slice(0, K),
        ...Array(extra).fill(K > 1 ? sizes[K - 1] : 2),
        sizes[K],
      ];
      const row = el("tr", { "data-arch": bigger.join("-") }, grow);
      el("th", { scope: "row" }, row, bigger.join("-"));
      const { naive, reverse: backprop, forward: tangents } = counts;
      for (const count of [pathCount, naive, backprop, tangents]) {
        const value = count(bigger, ref);
        el("td", { class: "num", "data-value": String(value) }, row, commas(value));
      }
    }
  }

  function drawModeText(view) {
    const { net, ref, mode } = view;
    const K = net.sizes.length - 1;
    const p = refText(net.sizes, ref);
    const unit = unitText(net.sizes, ref.layer, ref.unit);
    const outs = ref.layer === K ? [ref.unit] : range(net.sizes[K]);
    let formula;
    if (mode === "forward") {
      const terms = outs.map(
        (j) => `∂L/∂${unitText(net.sizes, K, j)} × ∂${unitText(net.sizes, K, j)}/∂${p}`,
      );
      formula = `∂L/∂${p} = ${terms.join(" + ")}`;
    } else if (ref.kind !== "O") {
      formula = `∂L/∂${p} = ∂L/∂${unit} × ∂${unit}/∂${p}`;
    } else {
      formula = `∂L/∂${p} = ${ref.layer === K ? `2 × (${p} − y)` : `Σ over the units above of ∂L/∂O × ∂O/∂${p}`}`;
    }
    const box = $("regrouped");
    box.textContent = "";
    expressionHTML(box, formula);
    $("mode-text").textContent =
      mode === "reverse"
        ? `Reverse mode (backpropagation) factors the path sum from the loss's end: every path from ${pretty(p)} passes through ${pretty(unit)}, so ∂L/∂${pretty(unit)} is summed once, stored, and multiplied by the factor all paths share at their end. One sweep stores every ∂L/∂O, so every weight's gradient costs one more product.`
        : `Forward mode factors the same sum from the parameter's end: it carries the tangent ∂O/∂${pretty(p)} of every unit towards L, storing each once. One pass gives the derivative of every unit with respect to one parameter, so every weight needs a pass of its own.`;
  }

  // ---- The Python check: the explainer's call for exactly this network ----

  function drawPython(view) {
    const { net, ref } = view;
    const list = (values) => `[${values.map(exact).join(", ")}]`;
    const weights = net.W.slice(1).map((m) => `[${m.map(list).join(", ")}]`);
    $("python-code").textContent = `import memograd as mg

e = mg.explain.explain(
    "${net.sizes.join("-")}", "${refName(ref)}", activation="${st.activation}",
    weights=[${weights.join(",\n             ")}],
    biases=[${net.b.slice(1).map(list).join(", ")}],
    x=${list(net.x)}, target=${list(net.y)}, show_paths=${SHOWN_PATHS})
print(e.text())
`;
  }

  // ---- Fibonacci: the call tree, and what memoization prunes ----

  // Every call of the plain recursion, in order. repeat: fib(k) already ran, so a memo answers
  // it at once; pruned: an ancestor was a repeat, so with a memo this call never happens.
  function callTree(n) {
    const seen = new Set();
    const calls = [];
    let leaves = 0;
    const visit = (k, depth, pruned) => {
      const node = { k, depth, order: calls.length, repeat: seen.has(k), pruned, children: [] };
      calls.push(node);
      if (k >= 2)
        node.children = [k - 1, k - 2].map((c) => visit(c, depth + 1, pruned || node.repeat));
      seen.add(k);
      node.x = node.children.length ? (node.children[0].x + node.children[1].x) / 2 : leaves++;
      return node;
    };
    visit(n, 0, false);
    return { calls, leaves };
  }

  function drawFib() {
    const n = st.fibN;
    const { calls, leaves } = callTree(n);
    const naive = calls.length;
    const memo = calls.filter((c) => !c.pruned).length;
    const svg = $("fib-tree");
    svg.textContent = "";
    const [w, h] = [leaves * 30 + 20, (Math.max(...calls.map((c) => c.depth)) + 1) * 46 + 10];
    Object.entries({ viewBox: `0 0 ${w} ${h}`, width: w, height: h }).forEach(([a, v]) =>
      svg.setAttribute(a, v),
    );
    const at = (c) => [25 + c.x * 30, 22 + c.depth * 46];
    const classes = (c) => {
      const shaded = c.repeat || c.pruned ? " repeat" : "";
      if (!st.fibMemo) return `call${shaded}`;
      return `call${shaded}${c.pruned ? " pruned" : c.repeat ? " hit" : ""}`;
    };
    for (const c of calls) {
      for (const child of c.children) {
        const [[x1, y1], [x2, y2]] = [at(c), at(child)];
        el("svg:line", { x1, y1, x2, y2, class: classes(child) }, svg);
      }
    }
    for (const c of calls) {
      const [cx, cy] = at(c);
      const g = el("svg:g", { class: classes(c) }, svg);
      el("svg:circle", { cx, cy, r: 12 }, g);
      el("svg:text", { x: cx, y: cy + 4 }, g, String(c.k));
      el(
        "svg:title",
        {},
        g,
        `call ${c.order + 1}: fib(${c.k})${c.repeat ? ", computed before" : ""}`,
      );
    }
    facts($("fib-counts"), [
      ["calls, plain recursion (2·F(n+1) − 1)", naive, "fib-calls-naive"],
      ["calls, memoized (2n − 1)", memo, "fib-calls-memo"],
      ["calls memoization prunes", naive - memo, "fib-calls-pruned"],
      [
        "calls inside repeated subtrees (shaded)",
        calls.filter((c) => c.repeat || c.pruned).length,
        "fib-calls-repeated",
      ],
    ]);
    $("fib-caption").textContent = st.fibMemo
      ? `fib(${n}) with a memo: each shaded subtree is answered by one lookup (the outlined call), and the ${plural(naive - memo, "call")} beneath them (faded) never happen.`
      : `fib(${n}) by plain recursion: each shaded subtree recomputes a value that an earlier call already computed.`;
  }

  // ---- Putting it together ----

  function currentView() {
    const net = buildNet(st);
    const fw = forward(net);
    const ref = parseRef(st.ref);
    const reverse = reverseSteps(net, fw, ref);
    const forwardMode = forwardSteps(net, fw, ref);
    const steps = st.mode === "reverse" ? reverse : forwardMode;
    const total = pathCount(net.sizes, ref);
    return {
      net,
      fw,
      ref,
      reverse,
      forwardMode,
      steps,
      step: Math.min(st.step, steps.length),
      mode: st.mode,
      total,
    };
  }

  function update(reshaped) {
    if (reshaped) buildControls();
    buildParamSelect();
    const view = currentView();
    for (const node of document.querySelectorAll(".param-symbol")) {
      node.textContent = pretty(refText(view.net.sizes, view.ref));
    }
    $("path-count").textContent = commas(view.total);
    $("path-count").setAttribute("data-value", String(view.total));
    $("loss-value").textContent = fmtG(view.fw.loss, 6);
    $("loss-value").setAttribute("data-value", exact(view.fw.loss));
    $("factor-detail").textContent =
      "Hover, tap or focus a factor to see its value and how it is made.";
    for (const draw of [
      drawGraph,
      drawFormula,
      drawPaths,
      drawModeText,
      drawSweep,
      drawGradients,
      drawPython,
    ]) {
      draw(view);
    }
  }

  function setStep(step) {
    st.step = Math.max(0, Math.min(currentView().steps.length, step));
    const view = currentView();
    drawGraph(view);
    drawSweep(view);
  }

  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("param").addEventListener("change", (event) => choose(event.target.value));
  $("activation").value = st.activation;
  $("activation").addEventListener("change", (event) => {
    st.activation = event.target.value;
    update(false);
  });
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => {
      st.mode = radio.value;
      st.step = 0;
      update(false);
    });
  }
  $("step-start").addEventListener("click", () => setStep(0));
  $("step-back").addEventListener("click", () => setStep(st.step - 1));
  $("step-next").addEventListener("click", () => setStep(st.step + 1));
  $("step-end").addEventListener("click", () => setStep(Infinity));
  $("graph").addEventListener("mouseleave", () => {
    if (!st.hoverPath && !st.hoverEdge) return;
    st.hoverPath = st.hoverEdge = null;
    drawGraph(currentView());
  });
  const fibInput = $("fib-n");
  fibInput.max = DATA.fib_max_n;
  fibInput.value = st.fibN;
  fibInput.addEventListener("change", () => {
    st.fibN = fibInput.value = clamp(fibInput.value, 0, DATA.fib_max_n);
    drawFib();
  });
  $("fib-memo").addEventListener("change", (event) => {
    st.fibMemo = event.target.checked;
    drawFib();
  });

  // Pure helpers, for checking the page against Python from a test or the console.
  window.memogradExplore = Object.freeze({ fillValue, fmtG, hash32 });

  update(true);
  drawFib();
  document.body.classList.add("ready");
})();
