"""The benchmark runs: side by side with transformers, and the 7B check."""
import datetime
import os
import os.path as osp
import platform
import time
from typing import Dict, List, Optional, Sequence

import torch

from llava_mm.constants import LM_PREFIX
from llava_mm.converters.to_llava_hf import export_llava_hf
from llava_mm.ops.cpu import native_bf16_matmul
from llava_mm.ops.cpu.features import cpu_features
from llava_mm.registry import MODELS
from llava_mm.utils.dtypes import to_torch_dtype

from .checkpoints import (
    benchmark_config,
    make_tokenizer,
    write_random_checkpoint,
)
from .limits import distance_to_limits, matmul_peak_gflops, prefill_flops
from .memory import (
    drop_page_cache,
    measure_load,
    memory_read_gbps,
    parse_engine,
    read_seconds,
)
from .timing import (
    hf_generate,
    make_requests,
    ours_generate,
    time_latency,
    time_throughput,
)

GB = 1e9


def machine_info() -> dict:
    """CPU, memory, versions, date and the load average (contention)."""
    import transformers
    cpu = next((line.split(':', 1)[1].strip()
                for line in open('/proc/cpuinfo')
                if line.startswith('model name')), platform.processor())
    mem = next(int(line.split()[1]) * 1024
               for line in open('/proc/meminfo')
               if line.startswith('MemTotal'))
    return dict(cpu=cpu,
                cpu_capability=torch.backends.cpu.get_cpu_capability(),
                native_bf16_matmul=native_bf16_matmul(),
                cpu_features=cpu_features(),
                cores=os.cpu_count(), threads=torch.get_num_threads(),
                mem_total_gib=round(mem / 2**30, 1),
                python=platform.python_version(), torch=torch.__version__,
                transformers=transformers.__version__,
                date=datetime.datetime.now().isoformat(timespec='seconds'),
                loadavg_start=os.getloadavg()[0])


def prepare(preset: str, work_dir: str, dtype: str, hf: bool = True,
            config: Optional[str] = None, fill_device: str = 'cpu'):
    """Tokenizer, config file, random checkpoint (and llava-hf copy).

    Files are reused when present.

    Args:
        preset (str): See :func:`benchmark_config`.
        work_dir (str): Where the files go.
        dtype (str): Checkpoint dtype, ``'bf16'`` or ``'fp32'``.
        hf (bool): Also export the llava-hf directory.
        config (str, optional): Base config file.
        fill_device (str): Where the random values are drawn (a GPU
            draws a 7B checkpoint's in seconds).

    Returns:
        tuple: ``(cfg, cfg_path, checkpoint, hf_dir)``.
    """
    tok = make_tokenizer(osp.join(work_dir, 'tokenizer'))
    cfg = benchmark_config(preset, tok, config)
    cfg_path = osp.join(work_dir, f'{preset}_config.py')
    cfg.dump(cfg_path)
    ckpt = osp.join(work_dir, f'llava-{preset}_random_{dtype}.pth')
    if not osp.isfile(ckpt):
        write_random_checkpoint(cfg, ckpt, dtype=to_torch_dtype(dtype),
                                device=fill_device)
    hf_dir = osp.join(work_dir, f'llava-{preset}_random_{dtype}_hf')
    if hf and not osp.isfile(osp.join(hf_dir, 'config.json')):
        export_llava_hf(cfg, ckpt, hf_dir)
    return cfg, cfg_path, ckpt, hf_dir


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if not a or not b else round(a / b, 3)


def _drop(tokens: dict) -> dict:
    return {k: v for k, v in tokens.items() if k != 'tokens'}


def side_by_side(preset: str, work_dir: str, dtype: str, new_tokens: int,
                 eval_new_tokens: int, batch_sizes: Sequence[int],
                 num_requests: int, repeats: int, rounds: int = 2,
                 load: bool = True,
                 drop_caches: bool = False,
                 engine: str = 'auto') -> dict:
    """Ours vs transformers' LLaVA on the same weights, pixels and prompts.

    Args:
        preset (str): ``'small'`` or ``'tiny'`` (two copies must fit).
        work_dir (str): Files (reused).
        dtype (str): dtype of the checkpoint and of both models.
        new_tokens (int): Tokens for the batch-1 latency runs.
        eval_new_tokens (int): Tokens per caption in the throughput runs.
        batch_sizes (Sequence[int]): Throughput batch sizes (1 first).
        num_requests (int): Requests per throughput run.
        repeats (int): Timed rounds of the latency runs.
        rounds (int): Rounds of the throughput runs.
        load (bool): Measure load time / peak RSS in child processes.
        drop_caches (bool): Drop the page cache before each load.
        engine (str): ``init_model``'s setting for ours
            (``'auto'``, ``'on'``, ``'off'`` or a JSON dict).

    Returns:
        dict: ``machine``, ``config``, ``load``, ``latency``,
        ``throughput``, ``ratios``, ``limits`` and ``targets``.
    """
    from transformers import LlavaForConditionalGeneration

    from llava_mm import init_model
    res = dict(machine=machine_info())
    cfg, cfg_path, ckpt, hf_dir = prepare(preset, work_dir, dtype)
    res['config'] = dict(preset=preset, dtype=dtype, checkpoint=ckpt,
                         checkpoint_gb=os.path.getsize(ckpt) / GB,
                         hf_dir=hf_dir, new_tokens=new_tokens,
                         eval_new_tokens=eval_new_tokens,
                         num_requests=num_requests, repeats=repeats,
                         rounds=rounds, engine=engine)
    if load:
        res['load'] = {}
        runs = [('ours', 'ours', ckpt, dtype), ('hf', 'hf', hf_dir, dtype)]
        if dtype == 'fp32':  # the cost of casting at load: bf16 file -> fp32
            _, _, ckpt16, _ = prepare(preset, work_dir, 'bf16', hf=False)
            runs.append(('ours_from_bf16_file', 'ours', ckpt16, 'fp32'))
        for name, impl, path, dt in runs:
            dropped = drop_page_cache() if drop_caches else False
            r = measure_load(impl, cfg_path, path, dt,
                             threads=torch.get_num_threads(),
                             extra=['--engine', engine])
            r['page_cache_dropped'] = dropped
            res['load'][name] = _drop(r)

    ours = init_model(cfg, ckpt, device='cpu', dtype=dtype,
                      engine=parse_engine(engine))
    res['config']['engine_applied'] = ours.engine.describe()
    hf = LlavaForConditionalGeneration.from_pretrained(
        hf_dir, dtype=to_torch_dtype(dtype)).eval()
    images, prompts = make_requests(num_requests,
                                    cfg.model.vision_encoder.img_size)
    fns = dict(
        ours=lambda i, p, n, t: ours_generate(ours, i, p, n, t),
        hf=lambda i, p, n, t: hf_generate(hf, ours, i, p, n, t))
    lat = time_latency(fns, images[:1], prompts[0], new_tokens, repeats)
    res['latency'] = {k: _drop(v) for k, v in lat.items()}
    res['latency']['same_tokens'] = lat['ours']['tokens'] == \
        lat['hf']['tokens']

    tp = time_throughput(fns, images, prompts, eval_new_tokens,
                         batch_sizes, rounds)
    outs = {k: v.pop('tokens') for k, v in tp.items()}
    res['throughput'] = tp
    res['throughput']['padding'] = _padding(ours, prompts, batch_sizes)
    ref = outs['hf_b1']
    res['throughput']['same_tokens_as_hf_b1'] = {
        k: sum(x == y for x, y in zip(o, ref)) / len(ref)
        for k, o in outs.items()}
    res['ratios'], res['targets'] = _ratios(res, batch_sizes)
    res['limits'] = _limits(res, ours, hf, prompts[0], new_tokens,
                            eval_new_tokens, batch_sizes,
                            to_torch_dtype(dtype))
    res['machine']['loadavg_end'] = os.getloadavg()[0]
    return res


def _limits(res: dict, ours, hf, prompt: str, new_tokens: int,
            eval_new_tokens: int, batch_sizes: Sequence[int],
            dtype: torch.dtype) -> dict:
    """Distance of both models to the machine's limits (limits.py)."""
    lat, tp = res['latency'], res['throughput']
    n = len(ours.tokenize_prompt(ours.format_prompt(prompt))) - 1 + \
        ours.model.vision_tower.num_patches
    machine = dict(matmul_peak_gflops=round(matmul_peak_gflops(dtype), 1),
                   read_gbps=round(memory_read_gbps(), 1))
    out = dict(machine=machine, prompt_positions=n)
    for name in ('ours', 'hf'):
        steps = {1: lat[name]['decode_tokens_per_s']}
        big = max(batch_sizes)
        if big > 1 and tp[f'{name}_b{big}']['decode_steps_per_s']:
            steps[big] = tp[f'{name}_b{big}']['decode_steps_per_s']
        # Both models have the same sizes; ours gives the shapes.
        out[name] = distance_to_limits(
            ours, n, new_tokens if len(steps) == 1 else eval_new_tokens,
            lat[name]['prefill_s'], steps, machine['matmul_peak_gflops'],
            machine['read_gbps'])
    return out


def _padding(model, prompts: Sequence[str],
             batch_sizes: Sequence[int]) -> dict:
    """Share of padded prompt positions per batch size, in request order
    and with the requests sorted by length (what sorting could save)."""
    n_img = model.model.vision_tower.num_patches
    lengths = [len(model.tokenize_prompt(model.format_prompt(p))) - 1 + n_img
               for p in prompts]

    def waste(ls, b):
        chunks = [ls[i:i + b] for i in range(0, len(ls), b)]
        padded = sum(max(c) * len(c) for c in chunks)
        return round(1 - sum(ls) / padded, 4)
    return {f'b{b}': dict(request_order=waste(lengths, b),
                          sorted=waste(sorted(lengths), b))
            for b in batch_sizes}


def _ratios(res: dict, batch_sizes: Sequence[int]):
    """Ours over transformers' (speed-ups: > 1 means ours is faster)."""
    lat, tp = res['latency'], res['throughput']
    r = dict(
        prefill_speedup=_ratio(lat['hf']['prefill_s'],
                               lat['ours']['prefill_s']),
        decode_speedup=_ratio(lat['ours']['decode_tokens_per_s'],
                              lat['hf']['decode_tokens_per_s']))
    for b in batch_sizes:
        ours = tp[f'ours_b{b}']['images_per_s']
        r[f'eval_b{b}_vs_hf_loop'] = _ratio(ours, tp['hf_b1']['images_per_s'])
        if b > 1:
            r[f'eval_b{b}_vs_hf_batched'] = _ratio(
                ours, tp[f'hf_b{b}']['images_per_s'])
    if 'load' in res:
        ld = res['load']
        r['load_time_speedup'] = _ratio(ld['hf']['load_s'],
                                        ld['ours']['load_s'])
        r['peak_rss_ours_over_hf'] = _ratio(ld['ours']['peak_rss'],
                                            ld['hf']['peak_rss'])
    big = max(batch_sizes)
    # The targets of issue #20.
    targets = {'prefill_1.0x': r['prefill_speedup'] >= 1.0,
               'decode_b1_1.3x': r['decode_speedup'] >= 1.3,
               'eval_b1_1.0x': r['eval_b1_vs_hf_loop'] >= 1.0}
    for b in batch_sizes:
        if b > 1:
            targets[f'eval_b{b}_1.0x'] = r[f'eval_b{b}_vs_hf_batched'] >= 1.0
    targets[f'eval_b{big}_vs_hf_loop_1.5x'] = \
        r[f'eval_b{big}_vs_hf_loop'] >= 1.5
    return r, targets


def decode_bound(cfg) -> tuple:
    """Memory read GB/s and the bf16 batch-1 decode bound (tokens/s).

    A decode step reads every weight but the embedding table and the
    vision tower/projector: the LM's decoder layers and head, in bf16.

    Args:
        cfg (Config): The benchmark config.

    Returns:
        tuple: ``(gbps, tokens_per_s)``.
    """
    from .checkpoints import checkpoint_shapes
    bw = memory_read_gbps()
    step_bytes = sum(
        s.numel() * 2 for k, s in checkpoint_shapes(cfg).items()
        if k.startswith(LM_PREFIX) and 'embed_tokens' not in k
        and 'mm_projector' not in k)
    return bw, bw * GB / step_bytes


def load_check(work_dir: str, new_tokens: int,
               checkpoint: Optional[str] = None,
               config: Optional[str] = None,
               engine: str = 'auto',
               preset: str = '7b',
               quantization: Optional[str] = None) -> dict:
    """Real-size check: load a random bf16 LLaVA and caption one image.

    Args:
        work_dir (str): Files (the checkpoint is written when missing).
        new_tokens (int): Tokens of the caption (EOS ignored).
        checkpoint (str, optional): An existing OpenMMLab-layout bf16 file
            for ``config``.
        config (str, optional): Base config (default LLaVA-1.5 7B).
        engine (str): ``init_model``'s setting (``'auto'``,
            ``'on'``, ``'off'`` or a JSON dict).
        preset (str): ``'7b'`` or ``'13b'``.
        quantization (str, optional): ``'int8'``/``'nf4'`` LM layers.

    Returns:
        dict: ``machine``, ``config``, ``read``, ``load``, ``ratios``.
    """
    from .memory import rss_bytes  # noqa: F401  (Linux check)
    res = dict(machine=machine_info())
    tok = make_tokenizer(osp.join(work_dir, 'tokenizer'))
    cfg = benchmark_config(preset, tok, config)
    cfg_path = osp.join(work_dir, f'{preset}_config.py')
    cfg.dump(cfg_path)
    ckpt = checkpoint or osp.join(work_dir, f'llava-{preset}_random_bf16.pth')
    made = None
    if not osp.isfile(ckpt):
        start = time.perf_counter()
        write_random_checkpoint(cfg, ckpt)
        made = time.perf_counter() - start
    size = os.path.getsize(ckpt)
    res['config'] = dict(preset=preset, quantization=quantization,
                         checkpoint=ckpt, checkpoint_gb=size / GB,
                         write_s=made, new_tokens=new_tokens,
                         engine=engine)
    dropped = drop_page_cache()
    res['read'] = dict(page_cache_dropped=dropped,
                       cat_s=read_seconds(ckpt))
    res['read']['disk_gbps'] = size / GB / res['read']['cat_s']
    dropped = drop_page_cache()
    extra = ['--touch', '--engine', engine] + \
        (['--quantization', quantization] if quantization else [])
    r = measure_load('ours', cfg_path, ckpt, 'bf16', new_tokens=new_tokens,
                     threads=torch.get_num_threads(), extra=extra)
    r['page_cache_dropped'] = dropped
    res['load'] = r
    bw, bound = decode_bound(cfg)
    with torch.device('meta'):
        meta = MODELS.build(cfg.model)
    peak = matmul_peak_gflops(torch.bfloat16)
    gflops = prefill_flops(meta, r['prompt_positions']) / r['prefill_s'] / GB
    res['ratios'] = dict(
        peak_rss_over_file=round(r['peak_rss'] / size, 3),
        matmul_peak_gflops=round(peak, 1),
        prefill_gflops=round(gflops, 1),
        prefill_of_peak=round(gflops / peak, 3),
        load_and_touch_over_cat=round(
            (r['load_s'] + r['touch_s']) / res['read']['cat_s'], 3),
        memory_read_gbps=round(bw, 1),
        decode_bound_tokens_per_s=round(bound, 2),
        decode_over_bound=round(r['decode_tokens_per_s'] / bound, 3))
    res['targets'] = {
        'peak_rss_le_1.15x_file':
        res['ratios']['peak_rss_over_file'] <= 1.15,
        'decode_ge_0.9_of_bound':
        res['ratios']['decode_over_bound'] >= 0.9}
    res['machine']['loadavg_end'] = os.getloadavg()[0]
    return res


def format_table(rows: List[List[str]]) -> str:
    """Left-aligned text table (first row: header)."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(str(c).ljust(w) for c, w in zip(r, widths))
             for r in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def summary(res: Dict) -> str:
    """The human-readable table of a result dict."""
    rows = [['metric', 'ours', 'transformers', 'ratio (ours/tf speed-up)']]
    if 'latency' in res:
        lat, r = res['latency'], res['ratios']
        rows.append(['prefill latency, batch 1 (s)',
                     f'{lat["ours"]["prefill_s"]:.3f}',
                     f'{lat["hf"]["prefill_s"]:.3f}', r['prefill_speedup']])
        rows.append(['decode, batch 1 (tokens/s)',
                     f'{lat["ours"]["decode_tokens_per_s"]:.2f}',
                     f'{lat["hf"]["decode_tokens_per_s"]:.2f}',
                     r['decode_speedup']])
        tp = res['throughput']
        for k in [k for k in r if k.startswith('eval_b')]:
            b = k.split('_')[1][1:]
            other = 'hf_b1' if k.endswith('loop') else f'hf_b{b}'
            rows.append([f'eval images/s, ours b{b} vs tf '
                         f'{"b1 loop" if other == "hf_b1" else "b" + b}',
                         f'{tp[f"ours_b{b}"]["images_per_s"]:.3f}',
                         f'{tp[other]["images_per_s"]:.3f}', r[k]])
        ld = res.get('load', {})
        for name in [k for k in ld if k != 'hf']:
            o, h = ld[name], ld['hf']
            rows.append(['load s' + ('' if name == 'ours' else f' ({name})'),
                         f'{o["load_s"]:.2f}', f'{h["load_s"]:.2f}',
                         _ratio(h['load_s'], o['load_s'])])
            rows.append(['peak RSS - RSS after imports, GB' +
                         ('' if name == 'ours' else f' ({name})'),
                         f'{(o["peak_rss"] - o["rss_base"]) / GB:.2f}',
                         f'{(h["peak_rss"] - h["rss_base"]) / GB:.2f}',
                         ''])
        lim = res['limits']
        for key in [k for k in lim['ours'] if 'of_' in k]:
            rows.append([f'{key} (of matmul peak / read bandwidth)',
                         lim['ours'][key], lim['hf'][key], ''])
    else:
        ld, r = res['load'], res['ratios']
        rows = [['metric', 'value'],
                ['checkpoint GB', f'{res["config"]["checkpoint_gb"]:.2f}'],
                ['cat (read once) s', f'{res["read"]["cat_s"]:.1f}'],
                ['load s + touch s', f'{ld["load_s"]:.1f} + '
                 f'{ld["touch_s"]:.1f}'],
                ['peak RSS GB (x file)', f'{ld["peak_rss"] / GB:.2f} '
                 f'({r["peak_rss_over_file"]})'],
                ['prefill s (of matmul peak)', f'{ld["prefill_s"]:.1f} '
                 f'({r["prefill_of_peak"]})'],
                ['decode tokens/s (bound)', f'{ld["decode_tokens_per_s"]:.3f}'
                 f' ({r["decode_bound_tokens_per_s"]}, '
                 f'{r["decode_over_bound"]} of it)'],
                ['caption (token ids)', f'{ld["caption"]!r} '
                 f'{ld["tokens"]}']]
    return format_table(rows) + f'\ntargets: {res["targets"]}'
