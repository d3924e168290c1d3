"""Speed of the toolbox calls that loop over a model, as ratios to tangermeme 1.6.0 on the same inputs.

Interleaved runs (ours, reference, ours, ...), median of 5 pairs each after one warm-up pair; CPU, torch threads 1,
set again before every timed call (tangermeme's k-mer functions leave torch at 2 threads, which slowed every later
call in the process on a loaded 2-core machine). Run:
    python benchmarks/bench_toolbox.py            # all cases
    python benchmarks/bench_toolbox.py kmers      # cases whose name contains 'kmers'
    python benchmarks/bench_toolbox.py --first    # first call of ablate in a fresh process (includes the model capture)
"""
import subprocess, sys
import statistics, time, torch
torch.set_num_threads(1)
from meme_nb.ablate import ablate, ablate_annotations
from meme_nb.dependency import dependency_map, pisa
from meme_nb.kmers import kmers, gapped_kmers
from meme_nb.models import load_pretrained
from meme_nb.utils import random_one_hot
import tangermeme.ablate as ta, tangermeme.dependency_map as td, tangermeme.pisa as tp, tangermeme.kmers as tk


def roll_span(X, start=0, end=-1, n=1, random_state=None):
    out = X[:, None].repeat(1, n, 1, 1)
    for k in range(n): out[:, k, :, start:end] = X[:, :, start:end].roll(k + 1, dims=-1)
    return out


def timed(f):
    torch.set_num_threads(1)
    t = time.perf_counter(); f(); return time.perf_counter() - t


def pair(f, g, reps=5):
    a, b = [], []
    timed(f); timed(g)   # warm up
    for _ in range(reps):
        a.append(timed(f)); b.append(timed(g))
    return statistics.median(a), statistics.median(b)


FIRST = """
import time, torch; torch.set_num_threads(1)
from meme_nb.models import load_pretrained; from meme_nb.utils import random_one_hot
import tangermeme.ablate as ta; from meme_nb.ablate import ablate
model, X = load_pretrained('beluga_mini'), random_one_hot((16, 4, 1000), random_state=0).float()
def roll(X, start=0, end=-1, n=1, random_state=None):
    out = X[:, None].repeat(1, n, 1, 1)
    for k in range(n): out[:, k, :, start:end] = X[:, :, start:end].roll(k + 1, dims=-1)
    return out
f = (lambda: ablate(model, X, 400, 420, n=20, shuffle_fn=roll)) if '{who}' == 'ours' else (lambda: ta.ablate(model, X, 400, 420, n=20, shuffle_fn=roll, device='cpu'))
t = time.perf_counter(); f(); print(time.perf_counter() - t)
"""


def first_calls(reps=3):
    "Seconds of the first ablate call in a fresh process (ours includes torch.export's capture of the model), interleaved."
    run = lambda who: float(subprocess.run([sys.executable, '-c', FIRST.format(who=who)], capture_output=True, text=True, check=True).stdout.split()[-1])
    a, b = zip(*[(run('ours'), run('ref')) for _ in range(reps)])
    print(f"| ablate, first call in a fresh process | {statistics.median(a) * 1e3:.0f} ms | {statistics.median(b) * 1e3:.0f} ms | {statistics.median(b) / statistics.median(a):.2f}x |", flush=True)


def main():
    model = load_pretrained('beluga_mini')
    X = random_one_hot((16, 4, 1000), random_state=0).float()
    ann = torch.stack([torch.arange(16), torch.full((16,), 400), torch.full((16,), 420)], 1)
    small = torch.nn.Sequential(torch.nn.Conv1d(4, 16, 11, padding=5), torch.nn.ReLU(), torch.nn.Conv1d(16, 1, 11, padding=5), torch.nn.Flatten()).eval()
    Xs = random_one_hot((2, 4, 200), random_state=1).float()
    K = random_one_hot((256, 4, 1000), random_state=2)
    G, Gs = random_one_hot((16, 4, 200), random_state=3), torch.randn(16, 200, generator=torch.Generator().manual_seed(3))
    cases = {
        'ablate (16 x 1 kb, n=20, beluga_mini)': (lambda: ablate(model, X, 400, 420, n=20, shuffle_fn=roll_span),
                                                 lambda: ta.ablate(model, X, 400, 420, n=20, shuffle_fn=roll_span, device='cpu')),
        'ablate_annotations (16 rows, n=20)': (lambda: ablate_annotations(model, X, ann, n=20, shuffle_fn=roll_span),
                                               lambda: ta.ablate_annotations(model, X, ann, n=20, shuffle_fn=roll_span, device='cpu')),
        'dependency_map (2 x 1 kb, span 40, beluga_mini)': (lambda: dependency_map(model, X[:2], start=480, end=520),
                                                            lambda: td.dependency_map(model, X[:2], start=480, end=520, device='cpu')),
        'pisa (2 x 200 bp, all 200 outputs, n_shuffles=4)': (lambda: pisa(small, Xs, n_shuffles=4, random_state=0),
                                                                  lambda: tp.pisa(small, Xs, n_shuffles=4, random_state=0, device='cpu')),
        'kmers (256 x 1 kb, k=6)': (lambda: kmers(K, 6), lambda: tk.kmers(K, 6)),
        'gapped_kmers (16 x 200 bp, defaults, counts)': (lambda: gapped_kmers(G), lambda: tk.gapped_kmers(G)),
        'gapped_kmers (16 x 200 bp, defaults, scores)': (lambda: gapped_kmers(G, Gs), lambda: tk.gapped_kmers(G, Gs)),
    }
    if '--first' in sys.argv: return first_calls()
    pick = [a for a in sys.argv[1:] if not a.startswith('-')]
    for name, (f, g) in cases.items():
        if pick and not any(p in name for p in pick): continue
        a, b = pair(f, g)
        print(f"| {name} | {a * 1e3:.1f} ms | {b * 1e3:.1f} ms | {b / a:.2f}x |", flush=True)


if __name__ == '__main__': main()
