"""Load time and peak resident memory, each model in its own process.

Peak RSS is a per-process high-water mark (``VmHWM`` in
``/proc/self/status``), so each load runs in a fresh child process: it
imports torch/transformers/llava_mm, records its RSS (the baseline), loads
the model, runs one short greedy generation (so that lazily memory-mapped
weights are actually read) and reports the high-water mark after the load
and after the generation. ``python -m llava_bench.memory --help``
(from tools/analysis_tools)
runs the child directly.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from typing import Optional


def rss_bytes(field: str = 'VmRSS') -> int:
    """A memory field of ``/proc/self/status`` in bytes.

    Args:
        field (str): ``'VmRSS'`` (current) or ``'VmHWM'`` (peak).

    Returns:
        int: Bytes.
    """
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f'{field} not found in /proc/self/status (Linux '
                       'only).')


def drop_page_cache() -> bool:
    """Write back dirty pages and drop the page cache (needs root).

    Returns:
        bool: Whether the cache was dropped.
    """
    os.sync()
    try:
        with open('/proc/sys/vm/drop_caches', 'w') as f:
            f.write('3\n')
        return True
    except OSError:
        return False


def read_seconds(path: str) -> float:
    """Time to read a file once, as ``cat path > /dev/null``.

    Args:
        path (str): The file.

    Returns:
        float: Seconds.
    """
    start = time.perf_counter()
    subprocess.run(['cat', path], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def memory_read_gbps(n_bytes: int = 1 << 30, repeats: int = 3) -> float:
    """Memory read bandwidth with torch's threads (a sum over a buffer).

    Args:
        n_bytes (int): Buffer size (much larger than the caches).
        repeats (int): Timed runs; the best is kept.

    Returns:
        float: GB/s.
    """
    import torch
    buf = torch.ones(n_bytes // 4)
    buf.sum()
    best = min(_timed(buf.sum) for _ in range(repeats))
    return n_bytes / best / 1e9


def touch_weights(model) -> float:
    """Read one element per 4 KiB page of every weight (fault them in).

    Memory-mapped weights are read from disk on first use; this makes the
    whole model resident, so that load + touch compares with reading the
    file once.

    Args:
        model (nn.Module): The model.

    Returns:
        float: Seconds.
    """
    import itertools

    import torch
    start = time.perf_counter()
    seen = set()
    with torch.no_grad():
        for t in itertools.chain(model.parameters(), model.buffers()):
            # Quantized weights (tensor subclasses) are made in memory.
            if (t.data_ptr() in seen or t.device.type != 'cpu'
                    or type(t) not in (torch.nn.Parameter, torch.Tensor)):
                continue
            seen.add(t.data_ptr())
            step = max(1, 4096 // t.element_size())
            t.reshape(-1)[::step].float().sum()
    return time.perf_counter() - start


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_load(impl: str, config: str, checkpoint: str, dtype: str,
                 new_tokens: int = 2, threads: Optional[int] = None,
                 extra: Optional[list] = None) -> dict:
    """Run the child process and return its report.

    Args:
        impl (str): ``'ours'`` or ``'hf'``.
        config (str): Config file (ours; also gives image size/tokenizer).
        checkpoint (str): OpenMMLab file (ours) or llava-hf dir (hf).
        dtype (str): ``'bf16'`` or ``'fp32'``.
        new_tokens (int): Tokens generated after the load.
        threads (int, optional): torch threads in the child.
        extra (list, optional): More child arguments.

    Returns:
        dict: See :func:`child`.
    """
    cmd = [sys.executable, '-m', 'llava_bench.memory', impl, config,
           checkpoint, '--dtype', dtype, '--new-tokens', str(new_tokens)]
    if threads:
        cmd += ['--threads', str(threads)]
    cmd += extra or []
    # The child imports this harness as ``llava_bench`` from its folder.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (here, env.get('PYTHONPATH')) if p)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f'Load measurement failed ({" ".join(cmd)}):\n'
                           f'{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(impl: str, config: str, checkpoint: str, dtype: str,
          new_tokens: int, engine: str = 'auto',
          touch: bool = False,
          quantization: Optional[str] = None) -> dict:
    """Load one model, generate once, report times and RSS.

    Args:
        impl (str): ``'ours'`` or ``'hf'``.
        config (str): Config file.
        checkpoint (str): Checkpoint file / directory.
        dtype (str): ``'bf16'`` or ``'fp32'``.
        new_tokens (int): Tokens to generate (EOS ignored).
        engine (str): Ours only: ``init_model``'s setting
            (``'auto'``, ``'on'``, ``'off'`` or a JSON dict).
        touch (bool): After the load, time :func:`touch_weights`.
        quantization (str, optional): Ours only: ``'int8'``/``'nf4'``
            (``init_model``'s argument).

    Returns:
        dict: ``rss_base`` (after imports), ``load_s``, ``touch_s``,
        ``peak_rss_load`` (after load and touch),
        ``peak_rss`` (after the generation), ``prefill_s``,
        ``decode_tokens_per_s``, ``tokens``, ``caption``,
        ``prompt_positions`` and (ours) ``engine_applied``.
    """
    import torch
    from mmengine.config import Config

    from llava_mm import get_model
    from llava_mm.utils.dtypes import to_torch_dtype

    from .timing import StepTimer, hf_generate, make_requests, ours_generate
    cfg = Config.fromfile(config)
    images, prompts = make_requests(1, cfg.model.vision_encoder.img_size)
    torch_dtype = to_torch_dtype(dtype)
    report = dict(impl=impl, dtype=dtype, quantization=quantization,
                  rss_base=rss_bytes())
    start = time.perf_counter()
    if impl == 'ours':
        model = get_model(cfg, pretrained=checkpoint, device='cpu',
                          dtype=dtype, quantization=quantization,
                          engine=parse_engine(engine))
        report['engine_applied'] = model.engine.describe()
    else:
        from transformers import LlavaForConditionalGeneration
        hf = LlavaForConditionalGeneration.from_pretrained(
            checkpoint, dtype=torch_dtype).eval()
        # Ours only tokenises for it: built on meta, no weights.
        from llava_mm.registry import MODELS
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
    report['load_s'] = time.perf_counter() - start
    report['touch_s'] = touch_weights(hf if impl == 'hf' else model) \
        if touch else None
    report['peak_rss_load'] = rss_bytes('VmHWM')
    timer = StepTimer()
    if impl == 'ours':
        out = ours_generate(model, images, prompts, new_tokens, timer)
    else:
        out = hf_generate(hf, model, images, prompts, new_tokens, timer)
    s = timer.steps
    report.update(
        peak_rss=rss_bytes('VmHWM'), generate_s=time.perf_counter() -
        timer.start, prefill_s=s[0] - timer.start,
        decode_tokens_per_s=(len(s) - 1) / (s[-1] - s[0])
        if len(s) > 1 else None, tokens=out[0].tolist(),
        caption=model.tokenizer.decode(out[0], skip_special_tokens=True),
        prompt_positions=len(model.tokenize_prompt(model.format_prompt(
            prompts[0]))) - 1 + model.model.vision_tower.num_patches)
    return report


def parse_engine(value: str):
    """``'auto'``/``'eager'``, or a JSON dict, as init_model takes.

    Args:
        value (str): The command-line value.

    Returns:
        str | dict: For ``init_model(engine=...)``.
    """
    return json.loads(value) if value.startswith('{') else value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('impl', choices=['ours', 'hf'])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--dtype', choices=['bf16', 'fp32'], default='bf16')
    parser.add_argument('--new-tokens', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--engine', default='auto')
    parser.add_argument('--quantization', choices=['int8', 'nf4'])
    parser.add_argument('--touch', action='store_true',
                        help='fault every weight page in after the load')
    args = parser.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    print(json.dumps(child(args.impl, args.config, args.checkpoint,
                           args.dtype, args.new_tokens, args.engine,
                           args.touch, args.quantization)))


if __name__ == '__main__':
    main()
