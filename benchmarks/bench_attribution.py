"""Benchmark meme_nb.attribution.deep_lift_shap against tangermeme, captum and the physical floor.

Models have random weights: a Beluga-style conv net (1,000 and 2,000 bp) and a BPNet-style dilated residual net
(2,114 bp, counts head). Every method gets the same 20 dinucleotide-shuffled references per sequence and the same
number of example-reference pairs per batch. The floor is plain autograd: one forward and one backward pass of the
stacked (examples; references) batch, without any DeepLIFT rule. Each (model, method) runs in a fresh subprocess so
that its peak resident memory can be read (ru_maxrss minus the resident memory after the model and data were built).

    /work/peers-venv/bin/python benchmarks/bench_attribution.py --quick
"""
import argparse, datetime, json, os, platform, resource, statistics, subprocess, sys, time, warnings

import torch

nn = torch.nn


def beluga(length):
    "Beluga layout (Zhou et al. 2019) with random weights: 6 convs, 2 max-pools, 2 dense layers, sigmoid."
    conv = nn.Sequential(nn.Conv1d(4, 320, 8), nn.ReLU(), nn.Conv1d(320, 320, 8), nn.ReLU(), nn.Dropout(0.2),
                         nn.MaxPool1d(4, 4), nn.Conv1d(320, 480, 8), nn.ReLU(), nn.Conv1d(480, 480, 8), nn.ReLU(),
                         nn.Dropout(0.2), nn.MaxPool1d(4, 4), nn.Conv1d(480, 640, 8), nn.ReLU(), nn.Conv1d(640, 640, 8),
                         nn.ReLU(), nn.Flatten())
    n = conv(torch.zeros(1, 4, length)).shape[1]
    return nn.Sequential(*conv, nn.Dropout(0.5), nn.Linear(n, 2003), nn.ReLU(), nn.Linear(2003, 2002), nn.Sigmoid())


class BPNetCounts(nn.Module):
    "BPNet layout (Avsec et al. 2021): 21-bp conv, 8 dilated residual convs, counts head (mean over the cropped centre)."
    def __init__(self, n_filters=64, n_layers=8, trimming=557):
        super().__init__()
        self.trimming = trimming
        self.iconv, self.irelu = nn.Conv1d(4, n_filters, 21, padding=10), nn.ReLU()
        self.rconvs = nn.ModuleList([nn.Conv1d(n_filters, n_filters, 3, padding=2 ** i, dilation=2 ** i) for i in range(1, n_layers + 1)])
        self.rrelus = nn.ModuleList([nn.ReLU() for _ in range(n_layers)])
        self.linear = nn.Linear(n_filters, 1)

    def forward(self, X):
        X = self.irelu(self.iconv(X))
        for conv, relu in zip(self.rconvs, self.rrelus): X = X + relu(conv(X))
        return self.linear(X[:, :, self.trimming:-self.trimming].mean(dim=2))


class Block(nn.Module):
    "Transformer block: pre-LayerNorm multi-head attention and GELU MLP, each with a residual."
    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mha = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, t):
        u = self.ln1(t)
        t = t + self.mha(u, u, u, need_weights=False)[0]
        return t + self.mlp(self.ln2(t))


class Transformer(nn.Module):
    "Enformer-style: conv stem with max-pooling, learned positions, 2 transformer blocks, attention pooling, 13 outputs."
    def __init__(self, length=1000, d=64, heads=4, pool=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(4, d, 15, padding=7), nn.ReLU(), nn.MaxPool1d(pool))
        self.pos = nn.Parameter(torch.randn(length // pool, d) * 0.02)
        self.blocks = nn.Sequential(Block(d, heads), Block(d, heads))
        self.logit, self.out = nn.Linear(d, 1), nn.Linear(d, 13)

    def forward(self, x):
        t = self.blocks(self.stem(x).transpose(1, 2) + self.pos)
        w = torch.softmax(self.logit(t), dim=1)
        return self.out((w * t).sum(1))


MODELS = {'beluga_1000': (lambda: beluga(1000), 1000), 'beluga_2000': (lambda: beluga(2000), 2000),
          'bpnet_2114': (lambda: BPNetCounts(), 2114), 'transformer_1000': (lambda: Transformer(1000), 1000)}


def floor(model, X, R, batch_size):
    "Plain autograd: forward + backward of every (example; reference) batch, gradient times difference."
    n, k = R.shape[:2]
    Xr, Rf = X.repeat_interleave(k, 0), R.flatten(0, 1)
    out = []
    for s in range(0, n * k, batch_size):
        x, r = Xr[s:s + batch_size], Rf[s:s + batch_size]
        inp = torch.cat([x, r]).requires_grad_()
        g = torch.autograd.grad(model(inp)[:, 0].sum(), inp)[0][:len(x)]
        out.append(((x - r) * g).detach())
    return torch.cat(out)


def captum_dl(model, X, R, batch_size):
    "captum DeepLift on the same pairs, same pairs per batch (captum stacks inputs and baselines itself)."
    from captum.attr import DeepLift
    n, k = R.shape[:2]
    Xr, Rf, dl = X.repeat_interleave(k, 0), R.flatten(0, 1), DeepLift(model)
    return torch.cat([dl.attribute(Xr[s:s + batch_size], baselines=Rf[s:s + batch_size], target=0)
                      for s in range(0, n * k, batch_size)])


def run_method(method, model, X, R, batch_size):
    if method == 'meme_nb':
        from meme_nb.attribution import deep_lift_shap
        return deep_lift_shap(model, X, references=R, batch_size=batch_size, warning_threshold=1e9)
    if method == 'tangermeme':
        from tangermeme.deep_lift_shap import deep_lift_shap as tdls
        return tdls(model, X, references=R, batch_size=batch_size, warning_threshold=1e9)
    if method == 'captum': return captum_dl(model, X, R, batch_size)
    if method == 'floor': return floor(model, X, R, batch_size)
    raise ValueError(method)


def child(args):
    "One (model, method) measurement in this process; prints JSON."
    warnings.simplefilter('ignore')
    torch.manual_seed(0)
    from meme_nb.ersatz import dinucleotide_shuffle
    from meme_nb.utils import random_one_hot
    make, length = MODELS[args.model]
    model = make().eval()
    X = random_one_hot((args.n, 4, length), random_state=0).float()
    R = dinucleotide_shuffle(X, n=args.refs, random_state=1).float()
    with open('/proc/self/status') as f: rss0 = next(int(l.split()[1]) for l in f if l.startswith('VmRSS'))
    if args.method == 'meme_nb':  # first call on one pair: what setting up the operation rules costs, once per process
        from meme_nb.attribution import deep_lift_shap
        t = time.perf_counter(); deep_lift_shap(model, X[:1], references=R[:1, :1], warning_threshold=1e9)
        first = time.perf_counter() - t
        t = time.perf_counter(); deep_lift_shap(model, X[:1], references=R[:1, :1], warning_threshold=1e9)
        setup = first - (time.perf_counter() - t)
    else: setup = 0.
    times, cpu = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        run_method(args.method, model, X, R, args.batch_size)
        times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(times=times, cpu=cpu, peak_mb=(peak - rss0) / 1024, setup=setup)))


def measure(model, method, a):
    cmd = [sys.executable, __file__, '--child', '--model', model, '--method', method, '--n', str(a.n), '--refs', str(a.refs),
           '--batch-size', str(a.batch_size), '--repeats', str(a.repeats)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode: return None, p.stderr.strip().splitlines()[-1][:120]
    return json.loads(p.stdout.strip().splitlines()[-1]), None


def _interleaved(model, a):
    "Each repeat runs every method once, in turn, each in a fresh process (load drifts on a shared machine)."
    methods, b = a.methods.split(','), argparse.Namespace(**{**vars(a), 'repeats': 1})
    runs = {k: [] for k in methods}
    for _ in range(a.repeats):
        for k in methods: runs[k].append(measure(model, k, b))
    res = {}
    for k, rs in runs.items():
        ok = [r for r, e in rs if r]
        res[k] = (dict(times=[t for r in ok for t in r['times']], cpu=[t for r in ok for t in r['cpu']],
                       peak_mb=max(r['peak_mb'] for r in ok), setup=max(r['setup'] for r in ok)), None) if ok else (None, rs[0][1])
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='beluga_1000 and bpnet_2114 only, one sequence, one repeat')
    ap.add_argument('--models', default=','.join(MODELS))
    ap.add_argument('--methods', default='meme_nb,tangermeme,captum,floor')
    ap.add_argument('--n', type=int, default=2, help='sequences (each with --refs references)')
    ap.add_argument('--refs', type=int, default=20)
    ap.add_argument('--batch-size', type=int, default=20, help='example-reference pairs per batch')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--model', help=argparse.SUPPRESS); ap.add_argument('--method', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: return child(a)
    if a.quick: a.models, a.n, a.repeats = 'beluga_1000,bpnet_2114,transformer_1000', 1, 1
    print(f"machine: {platform.node()} ({os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"shared with other jobs, timings are noisy) | date: {datetime.date.today()} | {a.n} sequence(s) x {a.refs} references, "
          f"{a.batch_size} pairs per batch, median of {a.repeats} interleaved runs\n")
    print('| model | method | wall s / sequence | CPU s / sequence | peak MB | vs tangermeme | vs captum | vs floor | first-call setup s |')
    print('|---|---|---|---|---|---|---|---|---|')
    for m in a.models.split(','):
        res = _interleaved(m, a)
        med = {k: statistics.median(r['times']) / a.n for k, (r, e) in res.items() if r}
        cpu = {k: statistics.median(r['cpu']) / a.n for k, (r, e) in res.items() if r}
        for k, (r, e) in res.items():
            if r is None: print(f'| {m} | {k} | failed: {e} | | | | | | |'); continue
            ratio = lambda o: f"{cpu[k] / cpu[o]:.2f} ({med[k] / med[o]:.2f})" if o in med else '-'
            print(f"| {m} | {k} | {med[k]:.2f} | {cpu[k]:.2f} | {r['peak_mb']:.0f} | {ratio('tangermeme')} | {ratio('captum')} | {ratio('floor')} | {r['setup']:.2f} |")
    print('\nRatios: CPU time (wall time in brackets); CPU time is the steadier of the two on a shared machine.')


if __name__ == '__main__': main()
