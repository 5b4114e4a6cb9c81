"""LLaVA's projector from vision features to the language model's width."""
from torch import nn


def build_projector(in_dims: int, out_dims: int, depth: int) -> nn.Module:
    """LLaVA's projector: one Linear (v1) or Linear-(GELU-Linear)*(d-1).

    Args:
        in_dims (int): Vision feature width (``mm_hidden_size``).
        out_dims (int): Language model width.
        depth (int): Number of Linear layers; 0 is the identity, which
            needs ``in_dims == out_dims``.

    Returns:
        nn.Module: The projector.
    """
    if depth < 0:
        raise ValueError(f'mm_proj_depth must be >= 0, got {depth}.')
    if depth == 0:
        if in_dims != out_dims:
            raise ValueError(
                f'mm_proj_depth=0 (no projector) needs mm_hidden_size '
                f'({in_dims}) equal to the language model width '
                f'({out_dims}); use mm_proj_depth >= 1.')
        return nn.Identity()
    if depth == 1:
        return nn.Linear(in_dims, out_dims)
    modules = [nn.Linear(in_dims, out_dims)]
    for _ in range(depth - 1):
        modules += [nn.GELU(), nn.Linear(out_dims, out_dims)]
    return nn.Sequential(*modules)
