"""The AVX512-BF16 gemv kernel of bf16 decode steps (built with g++)."""
import os
import os.path as osp
import shutil

import pytest
import torch
import torch.nn.functional as F

from llava_mm import get_model, inference_model
from llava_mm.ops.cpu.gemv import (
    GemvLinear,
    bf16_gemv,
    cpu_has_avx512_bf16,
    use_bf16_gemv,
)

pytestmark = pytest.mark.skipif(
    not cpu_has_avx512_bf16()
    or not shutil.which(os.environ.get('CXX', 'c++')),
    reason='the kernel needs AVX512-BF16 and a C++ compiler')
DEMO = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'demo',
                'shapes.png')


@pytest.mark.parametrize('rows', [1, 3, 8])
@pytest.mark.parametrize('k', [64, 100])  # 100: a tail after 3 x 32
def test_kernel_is_a_bf16_linear(rows, k):
    g = torch.Generator().manual_seed(rows * k)
    x = torch.randn(rows, k, generator=g).bfloat16()
    w = torch.randn(300, k, generator=g).bfloat16()
    b = torch.randn(300, generator=g).bfloat16()
    exact = F.linear(x.float(), w.float(), b.float())  # float sums
    y = bf16_gemv(x, w, b)
    assert y.dtype == torch.bfloat16 and y.shape == (rows, 300)
    # Only the bf16 rounding of the float32 sum: half a bf16 ulp (2^-8
    # relative) plus float32 summation-order error.
    err = (y.float() - exact).abs()
    assert (err <= exact.abs() * 2**-8 + 1e-4).all(), err.max()
    # torch's own bf16 linear agrees to one bf16 rounding step.
    ref = F.linear(x, w, b).float()
    assert ((y.float() - ref).abs() <= ref.abs() * 2**-7 + 1e-3).all()


def test_linear_layers_switch_only_for_short_inference_inputs():
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 32).bfloat16()
    assert use_bf16_gemv(torch.nn.Sequential(lin)) == 1
    assert type(lin) is GemvLinear
    x = torch.randn(2, 64).bfloat16()
    with torch.no_grad():
        torch.testing.assert_close(lin(x), bf16_gemv(x, lin.weight, lin.bias),
                                   rtol=0, atol=0)
        long = torch.randn(3, 64).bfloat16()  # > MAX_ROWS rows: torch's
        torch.testing.assert_close(lin(long), F.linear(long, lin.weight,
                                                       lin.bias),
                                   rtol=0, atol=0)
    x.requires_grad_(True)
    lin(x).sum().backward()  # training goes through torch's kernel
    assert x.grad is not None


def test_shipped_model_says_the_same_with_the_kernel():
    model = get_model('llava-tiny-shapes_caption', device='cpu')
    model.to(torch.bfloat16)
    plain = inference_model(model, DEMO)['pred_caption']
    assert use_bf16_gemv(model) > 0
    assert inference_model(model, DEMO)['pred_caption'] == plain


def test_kernel_inside_a_compiled_graph():
    """A compiled decode step keeps the kernel in its graph (a registered
    operator, no graph break) and gives the eager layer's values."""
    lin = torch.nn.Linear(256, 96).to(torch.bfloat16)
    lin.__class__ = GemvLinear
    x = torch.randn(2, 256).to(torch.bfloat16)
    with torch.no_grad():
        compiled = torch.compile(lin, fullgraph=True, backend='eager')
        assert torch.equal(compiled(x), lin(x))
