"""Benchmarks for meme_nb.ism.saturation_mutagenesis and meme_nb.space (issue 3).

ISM: random-weight Beluga-style conv net (1,000 and 2,000 bp) and BPNet-style dilated residual net (2,114 bp,
counts head), seconds per sequence and peak memory, against tangermeme's saturation_mutagenesis (fast=False and
fast=True) when tangermeme is importable. Only a window of `--window` positions is mutated (the machine is
small); seconds per full-length sequence are extrapolated linearly (ISM cost is proportional to the window).
Peak memory is the peak resident set size during the call minus the RSS before it, sampled every 2 ms from
/proc/self/statm (torch's CPU allocations are invisible to tracemalloc).

space: 50 spacings of two motifs on 100 x 2,000 bp against 50 separate marginalize calls.

    python benchmarks/bench_analyses.py --quick
"""
import argparse, datetime, os, platform, statistics, threading, time, warnings

import torch

from meme_nb.ism import saturation_mutagenesis
from meme_nb.marginalize import marginalize
from meme_nb.space import space
from meme_nb.utils import random_one_hot


def beluga_like(L, n_out=20):
    "Beluga-shaped (conv x2, pool, conv x2, pool, conv x2, dense x2) with narrower layers."
    torch.manual_seed(0)
    c = lambda i, o: torch.nn.Conv1d(i, o, 8)
    feat = torch.nn.Sequential(c(4, 64), torch.nn.ReLU(), c(64, 64), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                               c(64, 96), torch.nn.ReLU(), c(96, 96), torch.nn.ReLU(), torch.nn.MaxPool1d(4),
                               c(96, 128), torch.nn.ReLU(), c(128, 128), torch.nn.ReLU())
    with torch.no_grad(): n = feat(torch.zeros(1, 4, L)).numel()
    return torch.nn.Sequential(feat, torch.nn.Flatten(), torch.nn.Linear(n, 64), torch.nn.ReLU(),
                               torch.nn.Linear(64, n_out), torch.nn.Sigmoid()).eval()


class BPNetCounts(torch.nn.Module):
    "BPNet-style: a wide first conv, 8 dilated residual convs (64 filters), cropped global average -> log counts."
    def __init__(self, n_filters=64, n_layers=8):
        super().__init__()
        torch.manual_seed(0)
        self.iconv = torch.nn.Conv1d(4, n_filters, 21, padding=10)
        self.rconvs = torch.nn.ModuleList(torch.nn.Conv1d(n_filters, n_filters, 3, padding=2 ** i, dilation=2 ** i)
                                          for i in range(1, n_layers + 1))
        self.linear = torch.nn.Linear(n_filters, 1)
    def forward(self, X):
        h = torch.relu(self.iconv(X))
        for conv in self.rconvs: h = h + torch.relu(conv(h))
        return self.linear(h[:, :, 557:-557].mean(dim=-1))


class PeakRSS:
    "Peak RSS increase (MiB) over the block, sampled from /proc/self/statm."
    def __enter__(self):
        self.page, self.stop = os.sysconf('SC_PAGE_SIZE'), False
        self.base = self.peak = self._rss()
        self.t = threading.Thread(target=self._poll, daemon=True); self.t.start()
        return self
    def _rss(self):
        with open('/proc/self/statm') as f: return int(f.read().split()[1]) * self.page
    def _poll(self):
        while not self.stop: self.peak = max(self.peak, self._rss()); time.sleep(0.002)
    def __exit__(self, *exc):
        self.stop = True; self.t.join(); self.peak = max(self.peak, self._rss())
        self.mib = (self.peak - self.base) / 2 ** 20


def timed(f, repeats, warm=True):
    "Median seconds and median peak-RSS increase over `repeats` calls."
    ts, ms = [], []
    if warm: f()  # warm-up (thread pools, allocator, tangermeme's first-batch timing)
    for _ in range(repeats):
        with PeakRSS() as m:
            t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
        ms.append(m.mib)
    return statistics.median(ts), statistics.median(ms)


def ism_rows(args):
    try:
        from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism
    except ImportError:
        tm_ism = None
    cases = [('Beluga-style', 1000, beluga_like(1000)), ('Beluga-style', 2000, beluga_like(2000)),
             ('BPNet-style counts', 2114, BPNetCounts().eval())]
    rows = []
    for name, L, model in cases:
        X = random_one_hot((args.n_seqs, 4, L), random_state=0).float()
        s, e = L // 2 - args.window // 2, L // 2 + args.window // 2
        runs = {'meme_nb': lambda: saturation_mutagenesis(model, X, start=s, end=e, batch_size=args.batch_size, device='cpu')}
        if tm_ism is not None:
            for fast in (False, True):
                runs[f'tangermeme fast={fast}'] = (lambda fast=fast: tm_ism(model, X, start=s, end=e, batch_size=args.batch_size,
                                                                             device='cpu', fast=fast))
        res = {}
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            for k, f in runs.items(): res[k] = timed(f, args.repeats)
        for k, (t, mib) in res.items():
            per_seq = t / args.n_seqs * L / (e - s)
            ratio = res[k][0] / res['meme_nb'][0]
            rows.append(f"| {name} | {L} | {args.n_seqs} x {e - s} | {k} | {t:.2f} | {per_seq:.1f} | {mib:.0f} | {ratio:.2f} |")
    return rows


def space_rows(args):
    model = beluga_like(args.space_len)
    X = random_one_hot((args.space_n, 4, args.space_len), random_state=0).float()
    S = args.n_spacings
    def via_space(): return space(model, X, ["GTGACTCATC", "GTGACTCATC"], torch.arange(S)[:, None], device='cpu')
    def via_marginalize():
        for k in range(S): marginalize(model, X, "GTGACTCATC" + "A" * k + "GTGACTCATC", device='cpu')
    space(model, X[:4], ["GTGACTCATC", "GTGACTCATC"], [[1]])  # small warm-up
    t_sp, m_sp = timed(via_space, args.space_repeats, warm=False)
    t_mg, m_mg = timed(via_marginalize, args.space_repeats, warm=False)
    return [f"| space, {S} spacings | {args.space_n} x {args.space_len} | {t_sp:.2f} | {m_sp:.0f} | 1.00 |",
            f"| {S} x marginalize | {args.space_n} x {args.space_len} | {t_mg:.2f} | {m_mg:.0f} | {t_mg / t_sp:.2f} |"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='small sizes for a smoke run')
    p.add_argument('--n-seqs', type=int, default=2); p.add_argument('--window', type=int, default=100)
    p.add_argument('--batch-size', type=int, default=128); p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--space-n', type=int, default=100); p.add_argument('--space-len', type=int, default=2000)
    p.add_argument('--n-spacings', type=int, default=50); p.add_argument('--space-repeats', type=int, default=1)
    p.add_argument('--skip', default='', help="comma-separated: ism,space")
    args = p.parse_args()
    if args.quick:
        args.n_seqs, args.window, args.repeats, args.space_n, args.n_spacings = 1, 20, 1, 10, 5
    torch.set_num_threads(os.cpu_count())
    print(f"## ISM, space (bench_analyses.py{' --quick' if args.quick else ''})\n")
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores (shared with other jobs), "
          f"torch {torch.__version__}, CPU. Date: {datetime.date.today()}. Medians of {args.repeats} runs. "
          f"batch_size {args.batch_size}; space timed {args.space_repeats}x. Peak memory: peak RSS increase during the call, sampled every 2 ms.\n")
    if 'ism' not in args.skip:
        print("| model | length | sequences x window | implementation | seconds | s / full-length sequence (extrapolated) | peak RSS increase (MiB) | time / meme_nb |")
        print("|---|---|---|---|---|---|---|---|")
        print('\n'.join(ism_rows(args)) + '\n', flush=True)
    if 'space' not in args.skip:
        print("| call | sequences x length | seconds | peak RSS increase (MiB) | time / space |")
        print("|---|---|---|---|---|")
        print('\n'.join(space_rows(args)))


if __name__ == '__main__':
    main()
