"""Runs the same workload in CharRnn.Fast (`charrnn bench --json`), PyTorch and numpy, alternating them round by round
in one run, and prints a markdown table of throughputs and ratios. Called by ./run (which installs and builds).

Each framework gets its best of the rounds; PyTorch and numpy also their best of 1 and 2 threads
(torch.set_num_threads, OPENBLAS_NUM_THREADS / OMP_NUM_THREADS pinned per process).
"""
import argparse, json, os, platform, shlex, subprocess, sys, datetime

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"

def run_json(cmd, env_threads=None):
    env = dict(os.environ)
    if env_threads is not None:
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[k] = str(env_threads)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"command failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr.strip()}")
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        sys.exit(f"no JSON from: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1])

def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--engine", required=True, help="command that runs charrnn, e.g. 'out/aot/charrnn'")
    ap.add_argument("--configs", default="128x1x1,512x1x1,128x32x1,512x32x1,1024x32x1,512x32x2",
                    help="comma-separated HIDDENxBATCHxENGINE_THREADS")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--skip-numpy-above", type=int, default=1024, help="numpy is slow; skip it above this hidden size")
    ap.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn", help="cell of every config (numpy runs rnn only)")
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--weights", choices=["f32", "bf16", "int8"], default="f32",
                    help="generation's weight format on both sides (charrnn bench --weights; PyTorch: see torch_rnn.py); numpy runs f32 only")
    a = ap.parse_args()
    engine = shlex.split(a.engine)
    rows = []
    for cfg in a.configs.split(","):
        h, b, th = (int(x) for x in cfg.split("x"))
        common = ["--hidden", str(h), "--batch", str(b), "--seconds", str(a.seconds), "--cell", a.cell, "--layers", str(a.layers)]
        numpy_runs = a.cell == "rnn" and a.layers == 1 and h <= a.skip_numpy_above and a.weights == "f32"
        best = {"engine": None, "pytorch": None, "numpy": None}
        def keep(name, r):
            cur = best[name]
            if cur is None:
                best[name] = dict(r)
            else:
                cur["train_chars_per_s"] = max(cur["train_chars_per_s"], r["train_chars_per_s"])
                if r["generate_us_per_char"] < cur["generate_us_per_char"]:
                    cur["generate_us_per_char"] = r["generate_us_per_char"]
                    if "int8_engine" in r:
                        cur["int8_engine"] = r["int8_engine"]
        for rnd in range(a.rounds):
            print(f"# H={h} B={b} engine threads={th}: round {rnd + 1}/{a.rounds}", file=sys.stderr, flush=True)
            keep("engine", run_json(engine + ["bench", "--json", "--threads", str(th), "--weights", a.weights] + common))
            for t in (1, 2):
                keep("pytorch", run_json([PY, os.path.join(HERE, "torch_rnn.py"), "--threads", str(t), "--weights", a.weights] + common, env_threads=t))
                if numpy_runs:
                    keep("numpy", run_json([PY, os.path.join(HERE, "numpy_rnn.py")] + common[:6], env_threads=t))
        rows.append((h, b, th, best))

    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; {datetime.date.today().isoformat()}; "
          f"{a.rounds} alternating rounds of {a.seconds:g} s, best of rounds (PyTorch/numpy: best of 1 and 2 threads)")
    first = rows[0][3]["engine"]
    print(f"cell {a.cell}, {a.layers} layer(s); kernels {first.get('kernels', '?')} ({first.get('vector_path', '?')}); "
          f"one core's FMA peak {first.get('peak_gflops', float('nan')):.1f} GFLOP/s (charrnn bench); % of peak counts "
          f"6GH²(2L−1) + 6HV flops per character for both\n")
    print("| H | B | engine threads | CharRnn.Fast chars/s | % of peak | PyTorch chars/s | % of peak | numpy chars/s | × PyTorch | × numpy |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for h, b, th, best in rows:
        e, t, n = best["engine"]["train_chars_per_s"], best["pytorch"]["train_chars_per_s"], (best["numpy"] or {}).get("train_chars_per_s")
        peak, per_char = best["engine"].get("peak_gflops"), best["engine"].get("train_gflops", 0) / max(e, 1e-9) * 1e9
        pct = lambda rate: f"{100 * rate * per_char / 1e9 / peak:.0f}%" if peak else "—"
        print(f"| {h} | {b} | {th} | {e:,.0f} | {pct(e)} | {t:,.0f} | {pct(t)} | {('%s' % f'{n:,.0f}') if n else '—'} | {e / t:.1f} | {(f'{e / n:.1f}') if n else '—'} |")
    engines = sorted({best["pytorch"]["int8_engine"] for _, _, _, best in rows if "int8_engine" in best["pytorch"]})
    print(f"\nGeneration with {a.weights} weights on both sides" + (f" (PyTorch: quantize_dynamic, engine {', '.join(engines)})" if engines else "") + ":")
    print("\n| H | CharRnn.Fast µs/char | PyTorch µs/char | numpy µs/char | × PyTorch | × numpy |")
    print("|---|---:|---:|---:|---:|---:|")
    seen = set()
    for h, b, th, best in rows:
        if h in seen:
            continue
        seen.add(h)
        e, t, n = best["engine"]["generate_us_per_char"], best["pytorch"]["generate_us_per_char"], (best["numpy"] or {}).get("generate_us_per_char")
        print(f"| {h} | {e:.2f} | {t:.1f} | {(f'{n:.1f}') if n else '—'} | {t / e:.0f} | {(f'{n / e:.0f}') if n else '—'} |")

if __name__ == "__main__":
    main()
