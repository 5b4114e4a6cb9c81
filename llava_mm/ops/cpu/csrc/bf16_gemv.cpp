// y = x @ w.T for bf16 x (M, K), 1 <= M <= 8, and bf16 w (N, K), reading w
// once: the decode steps of a bf16 LLaVA on an AVX512-BF16 CPU. Each output
// is a float32 sum of bf16 products (vdpbf16ps), returned in float32.
// Built on first use by llava_mm/ops/cpu/gemv.py.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <immintrin.h>

namespace {

inline float bf16_to_float(uint16_t v) {
  uint32_t bits = static_cast<uint32_t>(v) << 16;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

template <int M>
void rows(const uint16_t* x, const uint16_t* w, float* y, int64_t K,
          int64_t N, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint16_t* row = w + n * K;
    __m512 acc[M];
    for (int m = 0; m < M; ++m) acc[m] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
      __m512bh wv = (__m512bh)_mm512_loadu_si512(row + k);
      for (int m = 0; m < M; ++m) {
        __m512bh xv = (__m512bh)_mm512_loadu_si512(x + m * K + k);
        acc[m] = _mm512_dpbf16_ps(acc[m], wv, xv);
      }
    }
    for (int m = 0; m < M; ++m) {
      float s = _mm512_reduce_add_ps(acc[m]);
      for (int64_t kk = k; kk < K; ++kk)
        s += bf16_to_float(row[kk]) * bf16_to_float(x[m * K + kk]);
      y[m * N + n] = s;
    }
  }
}

template <int M>
void run(const uint16_t* x, const uint16_t* w, float* y, int64_t K,
         int64_t N) {
  at::parallel_for(0, N, 16, [&](int64_t n0, int64_t n1) {
    rows<M>(x, w, y, K, N, n0, n1);
  });
}

}  // namespace

torch::Tensor bf16_gemv(torch::Tensor x, torch::Tensor w) {
  TORCH_CHECK(x.scalar_type() == at::kBFloat16 &&
              w.scalar_type() == at::kBFloat16, "bf16 inputs expected");
  TORCH_CHECK(x.dim() == 2 && w.dim() == 2 && x.size(1) == w.size(1),
              "x (M, K) and w (N, K) expected");
  TORCH_CHECK(x.size(0) >= 1 && x.size(0) <= 8, "1 to 8 rows of x");
  x = x.contiguous();
  TORCH_CHECK(w.is_contiguous(), "w must be contiguous");
  const int64_t M = x.size(0), K = x.size(1), N = w.size(0);
  auto y = torch::empty({M, N}, x.options().dtype(at::kFloat));
  auto xp = reinterpret_cast<const uint16_t*>(x.data_ptr());
  auto wp = reinterpret_cast<const uint16_t*>(w.data_ptr());
  float* yp = y.data_ptr<float>();
  switch (M) {
    case 1: run<1>(xp, wp, yp, K, N); break;
    case 2: run<2>(xp, wp, yp, K, N); break;
    case 3: run<3>(xp, wp, yp, K, N); break;
    case 4: run<4>(xp, wp, yp, K, N); break;
    case 5: run<5>(xp, wp, yp, K, N); break;
    case 6: run<6>(xp, wp, yp, K, N); break;
    case 7: run<7>(xp, wp, yp, K, N); break;
    default: run<8>(xp, wp, yp, K, N); break;
  }
  return y;  // float32; the caller adds a bias and rounds to bf16
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("bf16_gemv", &bf16_gemv, "bf16 x (M<=8, K) @ w (N, K).T");
}
