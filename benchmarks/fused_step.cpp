// One basin-stage step of xbarmem's single-layer trainer (the default recipe's hot loop), in C++:
// built and measured by benchmarks/fused_step.py (`python -m benchmarks.fused_step`), which
// reads this file and passes it to torch.utils.cpp_extension.load_inline. Not part of xbarmem.
//
// Scope: what `xm.train(X, chip="paper-sim")` runs -- bias on, no noise injection, no quantiser,
// no padding rows, recall_loss "mse", finetune_temperature 1, Adam (torch's fused kernel); binary
// cues drawn as xbarmem.learning.noise.flip_signs draws them, from the caller's torch.Generator
// in the same order (geometric gaps in float64, the same chunks), so both see the same cues and
// leave the generator in the same state.
//
// (a) loss_grad_a / step_a: the trainer's ATen operators, one by one, called from C++.
// (b) loss_grad_b / step_b: the elementwise work fused into hand loops around at::bmm_out;
//     the Adam update and the projection fused into one loop.
// products_b: (b)'s matrix products alone (the same at::bmm_out calls, no elementwise work).
#include <torch/extension.h>
#include <ATen/ATen.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

using at::Tensor;

// --------------------------------------------------------------------------- cue draws
// flip_signs' positions: increasing flat indices < total (the same draws from gen).
static Tensor flip_positions(int64_t total, double rate, at::Generator& gen, bool raw) {
  double expected = static_cast<double>(total) * rate;
  int64_t chunk = static_cast<int64_t>(expected + 4 * std::sqrt(expected) + 16);
  std::vector<Tensor> parts;
  int64_t last = -1;
  while (last < total - 1) {
    Tensor gaps = at::empty({chunk}, at::kDouble).geometric_(rate, gen);
    Tensor pos = at::cumsum(gaps, 0).to(at::kLong) + last;
    parts.push_back(pos);
    last = raw ? pos.data_ptr<int64_t>()[chunk - 1] : pos[-1].item<int64_t>();
  }
  Tensor positions = parts.size() == 1 ? parts[0] : at::cat(parts);
  int64_t inside;
  if (raw) {
    const int64_t* p = positions.data_ptr<int64_t>();
    inside = std::lower_bound(p, p + positions.numel(), total) - p;
  } else {
    inside = at::searchsorted(positions, at::Scalar(total)).item<int64_t>();
  }
  return positions.narrow(0, 0, inside);
}

static Tensor flip_signs(at::IntArrayRef shape, double rate, at::Generator& gen) {
  int64_t total = 1;
  for (auto s : shape) total *= s;
  Tensor signs = at::ones({total}, at::kFloat);
  if (rate <= 0 || total == 0) return signs.view(shape);
  if (rate >= 1) return signs.neg_().view(shape);
  signs.index_fill_(0, flip_positions(total, rate, gen, false), -1.0);
  return signs.view(shape);
}

// --------------------------------------------------------------------------- variant (a)
static const Tensor& minus_one() {
  static Tensor m = at::scalar_tensor(-1.0, at::kFloat);
  return m;
}

// xbarmem's tanh: 2 sigmoid(2 x) - 1, into out (out may be x)
static Tensor& tanh_into(const Tensor& x, Tensor& out) {
  at::mul_out(out, x, at::scalar_tensor(2.0, at::kDouble));
  out.sigmoid_();
  return at::add_out(out, minus_one(), out, 2);
}

std::tuple<Tensor, Tensor> loss_grad_a(const Tensor& a, const Tensor& x, const Tensor& target,
                                       const Tensor& fixed_slope, const Tensor& fixed_scale,
                                       const Tensor& cue_slope, const Tensor& cue_scale,
                                       const Tensor& late, const std::vector<double>& coef,
                                       at::Generator gen, double cue_flip, int64_t unroll,
                                       bool st, bool want_loss) {
  const int64_t t = x.size(0), n = x.size(2), rows = target.size(1);
  Tensor w = a.narrow(2, 0, n), wt = w.transpose(1, 2);
  Tensor bias = a.select(2, n).unsqueeze(1);
  // fixed-point term
  Tensor h = at::bmm(x, wt);
  h += bias;
  Tensor y = at::empty_like(h);
  tanh_into(h, y);
  Tensor err = y - x;
  Tensor fixed = err.pow(2).sum({1, 2}) / fixed_scale;
  Tensor slope0 = err.mul_(1 - y * y).mul_(fixed_slope);
  // cues
  Tensor state = target * flip_signs(target.sizes(), cue_flip, gen);
  Tensor states = at::empty({t, unroll, rows, n}, at::kFloat);
  Tensor slopes = at::empty({t, unroll, rows, n}, at::kFloat);
  states.select(1, 0).copy_(state);
  std::vector<Tensor> softs, errs, squares;
  for (int64_t k = 0; k < unroll; ++k) {
    Tensor hk = at::bmm(states.select(1, k), wt);
    hk += bias;
    Tensor sign = st ? at::sign(hk) : Tensor();
    Tensor soft = tanh_into(hk, hk);
    Tensor nxt = st ? sign : soft;
    Tensor e = nxt - target;
    if (want_loss) squares.push_back(e.pow(2).sum({1, 2}));
    if (k + 1 < unroll) states.select(1, k + 1).copy_(nxt);
    softs.push_back(soft);
    errs.push_back(e);
  }
  Tensor grad_state;
  for (int64_t k = unroll - 1; k >= 0; --k) {
    Tensor direct = errs[k].mul_(cue_slope * coef[k]);
    Tensor slope = slopes.select(1, k);
    grad_state = grad_state.defined() ? grad_state.add_(direct) : direct;
    at::mul_out(slope, grad_state, softs[k] * softs[k]);
    at::sub_out(slope, grad_state, slope);
    grad_state = k ? at::bmm(slope, w) : Tensor();
  }
  Tensor loss;
  if (want_loss) loss = fixed + at::matmul(at::stack(squares, 1), late) / cue_scale;
  Tensor flat_slopes = slopes.view({t, unroll * rows, n});
  Tensor grad_w = at::bmm(flat_slopes.transpose(1, 2), states.view({t, unroll * rows, n}));
  grad_w.baddbmm_(slope0.transpose(1, 2), x);
  Tensor grad_b = flat_slopes.sum(1) + slope0.sum(1);
  return {loss, at::cat({grad_w, grad_b.unsqueeze(2)}, 2)};
}

Tensor step_a(Tensor a, Tensor first, Tensor second, Tensor step_count, const Tensor& lo,
              const Tensor& hi, double lr, const Tensor& x, const Tensor& target,
              const Tensor& fixed_slope, const Tensor& fixed_scale, const Tensor& cue_slope,
              const Tensor& cue_scale, const Tensor& late, const std::vector<double>& coef,
              at::Generator gen, double cue_flip, int64_t unroll, bool st, bool want_loss) {
  auto [loss, grad] = loss_grad_a(a, x, target, fixed_slope, fixed_scale, cue_slope, cue_scale,
                                  late, coef, gen, cue_flip, unroll, st, want_loss);
  step_count.add_(1);
  at::_fused_adam_({a}, {grad}, {first}, {second}, {}, {step_count}, lr, 0.9, 0.999, 0.0, 1e-8,
                   false, false);
  at::clamp_out(a, a, lo, hi);
  return loss;
}

// --------------------------------------------------------------------------- variant (b)
// exp(x) to about 2 ulp (Cephes' expf polynomial), written so that g++ vectorises loops of it
static inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  float m = (x * 1.44269504088896341f + magic) - magic;
  float r = x - m * 0.693359375f;
  r = r - m * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float e = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(m) + 127) << 23;
  return e * __builtin_bit_cast(float, bits);
}

// 2 sigmoid(2 v) - 1, rounded as the trainer's tanh (2 s exact, one rounding of 2 s - 1)
static inline float tanh_xm(float v) {
  float s = 1.0f / (1.0f + exp_approx(-2.0f * v));
  return 2.0f * s - 1.0f;
}

static inline float sign_of(float v) { return static_cast<float>((v > 0) - (v < 0)); }

// the elementwise kernels of one row of N neurons (restrict pointers: g++ vectorises them)
static void fixed_row(const float* __restrict h, const float* __restrict bias,
                      const float* __restrict x, float fs, float* __restrict lane,
                      float* __restrict slope, float* __restrict gb, float* __restrict in,
                      int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float y = tanh_xm(h[i] + bias[i]);
    float e = y - x[i];
    lane[i] += e * e;
    float s = e * (1.0f - y * y) * fs;
    slope[i] = s;
    gb[i] += s;
    in[i] = x[i];
  }
}

static void soft_row(const float* __restrict h, const float* __restrict bias,
                     const float* __restrict tg, float* __restrict so, float* __restrict er,
                     float* __restrict lane, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float s = tanh_xm(h[i] + bias[i]);
    so[i] = s;
    float e = s - tg[i];
    er[i] = e;
    lane[i] += e * e;
  }
}

static void sign_row(const float* __restrict h, const float* __restrict bias,
                     const float* __restrict tg, float* __restrict so, float* __restrict er,
                     float* __restrict lane, float* __restrict nx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float v = h[i] + bias[i];
    float sg = sign_of(v);
    so[i] = tanh_xm(v);
    float e = sg - tg[i];
    er[i] = e;
    lane[i] += e * e;
    nx[i] = sg;
  }
}

struct Buffers {  // reused while the shapes are the same
  int64_t t = -1, p = -1, rows = -1, n = -1, unroll = -1;
  Tensor h0, h, g, soft, err, slopes, inputs, grad_w, grad_b;
};

static Buffers& buffers(int64_t t, int64_t p, int64_t rows, int64_t n, int64_t unroll) {
  static Buffers b;
  if (b.t == t && b.p == p && b.rows == rows && b.n == n && b.unroll == unroll) return b;
  auto f = at::kFloat;
  b = Buffers{t, p, rows, n, unroll,
              at::empty({t, p, n}, f), at::empty({t, rows, n}, f), at::empty({t, rows, n}, f),
              at::empty({t, unroll, rows, n}, f), at::empty({t, unroll, rows, n}, f),
              at::empty({t, p + unroll * rows, n}, f), at::empty({t, p + unroll * rows, n}, f),
              at::empty({t, n, n}, f), at::empty({t, n}, f)};
  return b;
}

// the loss (T,) when want_loss (else undefined); the gradient is left in buffers (grad_w, grad_b)
static Tensor fused_loss_grad(const Tensor& a, const Tensor& x, const Tensor& target,
                              const Tensor& fixed_slope, const Tensor& fixed_scale,
                              const Tensor& cue_slope, const Tensor& cue_scale,
                              const std::vector<double>& coef, at::Generator& gen,
                              double cue_flip, int64_t unroll, bool st, bool want_loss,
                              Buffers*& out) {
  const int64_t t = x.size(0), p = x.size(1), n = x.size(2), rows = target.size(1);
  const int64_t cols = n + 1, all = p + unroll * rows;
  Buffers& b = buffers(t, p, rows, n, unroll);
  out = &b;
  Tensor w = a.narrow(2, 0, n), wt = w.transpose(1, 2);
  const float* A = a.data_ptr<float>();
  const float* X = x.data_ptr<float>();
  const float* TG = target.data_ptr<float>();
  float* IN = b.inputs.data_ptr<float>();   // rows [0, p): x; [p + k rows, ...): state k
  float* SL = b.slopes.data_ptr<float>();   // rows [0, p): slope0; then slope k
  float* SOFT = b.soft.data_ptr<float>();
  float* ERR = b.err.data_ptr<float>();
  float* GB = b.grad_b.data_ptr<float>();
  std::vector<double> fixed(t, 0.0), recall(t, 0.0);
  std::vector<float> bias(n), lane(n), spare(n);
  auto lanes_sum = [&]() {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += lane[i];
    return total;
  };
  // fixed-point term
  at::bmm_out(b.h0, x, wt);
  const float* H0 = b.h0.data_ptr<float>();
  for (int64_t ti = 0; ti < t; ++ti) {
    const float* ai = A + ti * n * cols;
    for (int64_t i = 0; i < n; ++i) bias[i] = ai[i * cols + n];
    const float fs = fixed_slope.data_ptr<float>()[ti];
    float* gb = GB + ti * n;
    std::fill(gb, gb + n, 0.0f);
    std::fill(lane.begin(), lane.end(), 0.0f);
    float* ln = lane.data();
    for (int64_t r = 0; r < p; ++r) {
      const float* hr = H0 + (ti * p + r) * n;
      const float* xr = X + (ti * p + r) * n;
      float* in = IN + (ti * all + r) * n;
      float* sl = SL + (ti * all + r) * n;
      fixed_row(hr, bias.data(), xr, fs, ln, sl, gb, in, n);
    }
    fixed[ti] = lanes_sum();
  }
  // cues: the targets with the drawn bits flipped, as state 0
  for (int64_t ti = 0; ti < t; ++ti)
    std::copy(TG + ti * rows * n, TG + (ti + 1) * rows * n, IN + (ti * all + p) * n);
  if (cue_flip >= 1) {
    for (int64_t ti = 0; ti < t; ++ti)
      for (int64_t j = 0; j < rows * n; ++j) IN[(ti * all + p) * n + j] *= -1.0f;
  } else if (cue_flip > 0) {
    Tensor pos = flip_positions(t * rows * n, cue_flip, gen, true);
    const int64_t* P = pos.data_ptr<int64_t>();
    for (int64_t j = 0, m = pos.numel(); j < m; ++j) {
      int64_t ti = P[j] / (rows * n), rest = P[j] % (rows * n);
      IN[(ti * all + p) * n + rest] = -TG[P[j]];
    }
  }
  // the unrolled updates
  float* HK = b.h.data_ptr<float>();
  for (int64_t k = 0; k < unroll; ++k) {
    at::bmm_out(b.h, b.inputs.narrow(1, p + k * rows, rows), wt);
    for (int64_t ti = 0; ti < t; ++ti) {
      const float* ai = A + ti * n * cols;
      for (int64_t i = 0; i < n; ++i) bias[i] = ai[i * cols + n];
      std::fill(lane.begin(), lane.end(), 0.0f);
      float* ln = lane.data();
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t base = (ti * rows + r) * n;
        const float* hr = HK + base;
        const float* tg = TG + base;
        float* so = SOFT + ((ti * unroll + k) * rows + r) * n;
        float* er = ERR + ((ti * unroll + k) * rows + r) * n;
        float* nx = IN + (ti * all + p + (k + 1) * rows + r) * n;  // unused past the last
        if (st) {  // after the last update the next state goes to a scratch row
          sign_row(hr, bias.data(), tg, so, er, ln, k + 1 < unroll ? nx : spare.data(), n);
        } else {
          soft_row(hr, bias.data(), tg, so, er, ln, n);
          if (k + 1 < unroll) std::copy(so, so + n, nx);
        }
      }
      recall[ti] += want_loss ? lanes_sum() * static_cast<float>(coef[k]) : 0.0;
    }
  }
  // backpropagation through the updates, last first
  float* G = b.g.data_ptr<float>();
  for (int64_t k = unroll - 1; k >= 0; --k) {
    for (int64_t ti = 0; ti < t; ++ti) {
      const float c = cue_slope.data_ptr<float>()[ti] * static_cast<float>(coef[k]);
      float* gb = GB + ti * n;
      for (int64_t r = 0; r < rows; ++r) {
        float* g = G + (ti * rows + r) * n;
        const float* so = SOFT + ((ti * unroll + k) * rows + r) * n;
        const float* er = ERR + ((ti * unroll + k) * rows + r) * n;
        float* sl = SL + (ti * all + p + k * rows + r) * n;
        if (k == unroll - 1) {
          for (int64_t i = 0; i < n; ++i) {
            float gs = er[i] * c;
            float s = gs - gs * (so[i] * so[i]);
            sl[i] = s;
            gb[i] += s;
          }
        } else {
          for (int64_t i = 0; i < n; ++i) {
            float gs = g[i] + er[i] * c;
            float s = gs - gs * (so[i] * so[i]);
            sl[i] = s;
            gb[i] += s;
          }
        }
      }
    }
    if (k) at::bmm_out(b.g, b.slopes.narrow(1, p + k * rows, rows), w);
  }
  at::bmm_out(b.grad_w, b.slopes.transpose(1, 2), b.inputs);  // slope0^T x included
  if (!want_loss) return Tensor();
  Tensor loss = at::empty({t}, at::kFloat);
  Tensor fsc = fixed_scale.to(at::kDouble), csc = cue_scale.to(at::kDouble);
  for (int64_t ti = 0; ti < t; ++ti)
    loss.data_ptr<float>()[ti] = static_cast<float>(fixed[ti] / fsc.data_ptr<double>()[ti] +
                                                    recall[ti] / csc.data_ptr<double>()[ti]);
  return loss;
}

std::tuple<Tensor, Tensor> loss_grad_b(const Tensor& a, const Tensor& x, const Tensor& target,
                                       const Tensor& fixed_slope, const Tensor& fixed_scale,
                                       const Tensor& cue_slope, const Tensor& cue_scale,
                                       const Tensor& late, const std::vector<double>& coef,
                                       at::Generator gen, double cue_flip, int64_t unroll,
                                       bool st, bool want_loss) {
  Buffers* b = nullptr;
  Tensor loss = fused_loss_grad(a, x, target, fixed_slope, fixed_scale, cue_slope, cue_scale,
                                coef, gen, cue_flip, unroll, st, want_loss, b);
  return {loss, at::cat({b->grad_w.clone(), b->grad_b.unsqueeze(2)}, 2)};
}

struct AdamConsts {
  float b1, b2, c1, c2, eps, step_size, bc2_sqrt;
};

// Adam (the arithmetic of torch's fused kernel) and the projection into [lo, hi], for count
// parameters
static void adam_row(float* __restrict a, float* __restrict m, float* __restrict v,
                     const float* __restrict lo, const float* __restrict hi,
                     const float* __restrict g, int64_t count, const AdamConsts& c) {
  for (int64_t j = 0; j < count; ++j) {
    float mj = m[j] * c.b1 + g[j] * c.c1;
    float vj = v[j] * c.b2 + g[j] * g[j] * c.c2;
    m[j] = mj;
    v[j] = vj;
    float denom = std::sqrt(vj) / c.bc2_sqrt + c.eps;
    float val = a[j] - c.step_size * mj / denom;
    a[j] = std::min(std::max(val, lo[j]), hi[j]);
  }
}

Tensor step_b(Tensor a, Tensor first, Tensor second, Tensor step_count, const Tensor& lo,
              const Tensor& hi, double lr, const Tensor& x, const Tensor& target,
              const Tensor& fixed_slope, const Tensor& fixed_scale, const Tensor& cue_slope,
              const Tensor& cue_scale, const Tensor& late, const std::vector<double>& coef,
              at::Generator gen, double cue_flip, int64_t unroll, bool st, bool want_loss) {
  Buffers* b = nullptr;
  Tensor loss = fused_loss_grad(a, x, target, fixed_slope, fixed_scale, cue_slope, cue_scale,
                                coef, gen, cue_flip, unroll, st, want_loss, b);
  // Adam (torch's fused kernel's arithmetic: betas 0.9, 0.999, eps 1e-8) and the projection
  float* cnt = step_count.data_ptr<float>();
  *cnt += 1.0f;
  const double step = *cnt, beta1 = 0.9, beta2 = 0.999;
  const double bc1 = 1 - std::pow(beta1, step), bc2 = 1 - std::pow(beta2, step);
  const float step_size = static_cast<float>(lr / bc1);
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2, eps = 1e-8f;
  const int64_t t = a.size(0), n = a.size(1), cols = a.size(2);
  float* A = a.data_ptr<float>();
  float* M = first.data_ptr<float>();
  float* V = second.data_ptr<float>();
  const float* LO = lo.data_ptr<float>();
  const float* HI = hi.data_ptr<float>();
  const float* GW = b->grad_w.data_ptr<float>();
  const float* GB = b->grad_b.data_ptr<float>();
  const AdamConsts ac{b1, b2, c1, c2, eps, step_size, bc2_sqrt};
  for (int64_t ti = 0; ti < t; ++ti) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = (ti * n + i) * cols;
      adam_row(A + row, M + row, V + row, LO + row, HI + row, GW + (ti * n + i) * n, n, ac);
      adam_row(A + row + n, M + row + n, V + row + n, LO + row + n, HI + row + n,
               GB + ti * n + i, cols - n, ac);
    }
  }
  return loss;
}

// seconds per step of (b)'s matrix products alone (the same at::bmm_out calls on the same
// buffers, no elementwise work), averaged over reps steps: the floor of (b) at these products
double products_b(const Tensor& a, const Tensor& x, int64_t rows, int64_t unroll, int64_t reps) {
  const int64_t t = x.size(0), p = x.size(1), n = x.size(2);
  Buffers& b = buffers(t, p, rows, n, unroll);
  Tensor w = a.narrow(2, 0, n), wt = w.transpose(1, 2);
  b.inputs.normal_();
  b.slopes.normal_();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t r = 0; r < reps; ++r) {
    at::bmm_out(b.h0, x, wt);
    for (int64_t k = 0; k < unroll; ++k)
      at::bmm_out(b.h, b.inputs.narrow(1, p + k * rows, rows), wt);
    for (int64_t k = unroll - 1; k > 0; --k)
      at::bmm_out(b.g, b.slopes.narrow(1, p + k * rows, rows), w);
    at::bmm_out(b.grad_w, b.slopes.transpose(1, 2), b.inputs);
  }
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
  return d.count() / reps;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("products_b", &products_b);
  m.def("loss_grad_a", &loss_grad_a);
  m.def("step_a", &step_a);
  m.def("loss_grad_b", &loss_grad_b);
  m.def("step_b", &step_b);
}
