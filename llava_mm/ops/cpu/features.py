"""What the CPU offers for bf16 work, read once from ``/proc/cpuinfo``."""
import functools

import torch


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return frozenset(line.split(':', 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_features() -> dict:
    """The CPU's bf16 features (Linux ``/proc/cpuinfo`` flags).

    Returns:
        dict: ``amx_bf16``, ``avx512_bf16``, ``avx2`` (bools), ``threads``
        (torch's intra-op threads) and ``capability`` (torch's).
    """
    flags = _cpu_flags()
    return dict(amx_bf16='amx_bf16' in flags,
                avx512_bf16='avx512_bf16' in flags,
                avx2='avx2' in flags, threads=torch.get_num_threads(),
                capability=torch.backends.cpu.get_cpu_capability())
