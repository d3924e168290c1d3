"""Benchmark meme_nb.ism: plain vs fast exact ISM (and tangermeme's plain and fast paths, black box), saliency, and the
agreement of the approximations (saliency / Taylor ISM, deep_lift_shap) with exact ISM on the shipped models.

Speed: seconds per mutant, medians over interleaved repeats (every method once per repeat, in turn), on one sequence
with ISM over a central window of `--width` positions (3 x width mutants); seconds per sequence are that times 3 x L.
Models: a Basset-style conv net (random weights) at 1,000 and 2,000 bp, the shipped beluga_mini (1,000 bp), a
BPNet-style dilated residual net (64 filters, 8 layers, counts head; random weights) at 2,114 bp and the shipped
bpnet_gata (counts head, with its control track). Torch runs on one thread by default: the machine is shared, and
on two busy cores small operations stall on thread hand-offs (10-20x slower), which would measure the neighbours.

    python benchmarks/bench_ism.py                 # speed, then accuracy
    python benchmarks/bench_ism.py --part speed --repeats 5 --device cuda --batch-size 256
"""
import argparse, datetime, json, platform, statistics, time, warnings

import numpy as np
import torch

from meme_nb.attribution import deep_lift_shap
from meme_nb.datasets import make_classifier_data, make_profile_data
from meme_nb.ism import saliency, saturation_mutagenesis
from meme_nb.models import BPNetMini, CountWrapper, load_pretrained, task_names
from meme_nb.predict import predict
from meme_nb.utils import random_one_hot

nn = torch.nn
try:
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism
except ImportError: tm_ism = None


def basset(length):
    "Basset layout (Kelley et al. 2016) with random weights: 3 conv/BN/ReLU/max-pool blocks, 2 dense layers, 164 outputs."
    conv = nn.Sequential(nn.Conv1d(4, 300, 19), nn.BatchNorm1d(300), nn.ReLU(), nn.MaxPool1d(3),
                         nn.Conv1d(300, 200, 11), nn.BatchNorm1d(200), nn.ReLU(), nn.MaxPool1d(4),
                         nn.Conv1d(200, 200, 7), nn.BatchNorm1d(200), nn.ReLU(), nn.MaxPool1d(4), nn.Flatten())
    n = conv(torch.zeros(1, 4, length)).shape[1]
    return nn.Sequential(*conv, nn.Linear(n, 1000), nn.ReLU(), nn.Dropout(0.3), nn.Linear(1000, 1000), nn.ReLU(),
                         nn.Dropout(0.3), nn.Linear(1000, 164)).eval()


def cases():
    "(name, model, X (1, 4, L), args) of each benchmarked model."
    torch.manual_seed(0)
    bp = BPNetMini(n_filters=64, n_layers=8, conv_kernel_size=21, profile_kernel_size=75, length=2114, output_length=1000)
    return [('basset_1kb', basset(1000), random_one_hot((1, 4, 1000), random_state=0), None),
            ('basset_2kb', basset(2000), random_one_hot((1, 4, 2000), random_state=0), None),
            ('beluga_mini_1kb', load_pretrained('beluga_mini'), random_one_hot((1, 4, 1000), random_state=0), None),
            ('bpnet_style_2114', CountWrapper(bp.eval()), random_one_hot((1, 4, 2114), random_state=0), (torch.rand(1, 2, 2114),)),
            ('bpnet_gata_2114', CountWrapper(load_pretrained('bpnet_gata')), random_one_hot((1, 4, 2114), random_state=0),
             (torch.rand(1, 2, 2114),))]


def methods(device, bs):
    "Name -> call(model, X, args, start, end) of each ISM implementation."
    out = {'plain': lambda m, X, a, s, e: saturation_mutagenesis(m, X, args=a, start=s, end=e, batch_size=bs, fast=False, device=device),
           'fast': lambda m, X, a, s, e: saturation_mutagenesis(m, X, args=a, start=s, end=e, batch_size=bs, fast=True, device=device)}
    if tm_ism is not None:
        out['tangermeme_plain'] = lambda m, X, a, s, e: tm_ism(m, X, args=a, start=s, end=e, batch_size=bs, fast=False, device=device)
        out['tangermeme_fast'] = lambda m, X, a, s, e: tm_ism(m, X, args=a, start=s, end=e, batch_size=bs, fast=True, device=device)
    return out


def _sync(device):
    if str(device).startswith('cuda'): torch.cuda.synchronize()


def speed(repeats, width, device, bs, only=None):
    "Median seconds per mutant of every method on every model, interleaved; ratios are medians of per-repeat ratios."
    rows = []
    for name, model, X, args in cases():
        if only and name not in only: continue
        L = X.shape[-1]
        s, e = L // 2 - width // 2, L // 2 - width // 2 + width
        fns, times, errors = methods(device, bs), {}, {}
        t0 = time.perf_counter(); fns['fast'](model, X, args, s, s + 1); _sync(device)
        capture = time.perf_counter() - t0                          # first call: torch.export capture + one position
        for k, f in list(fns.items()):                               # warm-up (tangermeme's fast path captures too)
            try:
                with warnings.catch_warnings(): warnings.simplefilter('ignore'); f(model, X, args, s, s + 2)
            except Exception as err: errors[k] = f'{type(err).__name__}: {str(err)[:120]}'; fns.pop(k)
        for r in range(repeats):
            for k, f in fns.items():
                _sync(device); t0 = time.perf_counter()
                with warnings.catch_warnings(): warnings.simplefilter('ignore'); f(model, X, args, s, e)
                _sync(device); times.setdefault(k, []).append((time.perf_counter() - t0) / (3 * width))
        row = dict(model=name, length=L, mutants_per_run=3 * width, capture_s=round(capture, 2), errors=errors)
        for k, v in times.items():
            row[f'{k}_ms_per_mutant'] = round(1e3 * statistics.median(v), 4)
            row[f'{k}_s_per_sequence'] = round(statistics.median(v) * 3 * L, 2)
        for k in times:
            if k != 'plain': row[f'plain_over_{k}'] = round(statistics.median([p / q for p, q in zip(times['plain'], times[k])]), 2)
        if 'tangermeme_fast' in times:
            row['tangermeme_fast_over_fast'] = round(statistics.median([p / q for p, q in zip(times['tangermeme_fast'], times['fast'])]), 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def saliency_speed(repeats, device):
    "Seconds for saliency vs deep_lift_shap with one reference per sequence (same forward+backward count), 16 x 1 kb, beluga_mini."
    model, X = load_pretrained('beluga_mini'), random_one_hot((16, 4, 1000), random_state=1)
    t = {'saliency': [], 'deep_lift_shap_1ref': []}
    for _ in range(repeats):
        for k in t:
            _sync(device); t0 = time.perf_counter()
            if k == 'saliency': saliency(model, X, target=1, device=device)
            else:
                with warnings.catch_warnings(): warnings.simplefilter('ignore'); deep_lift_shap(model, X, target=1, n_shuffles=1, random_state=0, device=device)
            _sync(device); t[k].append(time.perf_counter() - t0)
    row = {k: round(statistics.median(v), 3) for k, v in t.items()}
    row['dls_over_saliency'] = round(statistics.median([b / a for a, b in zip(t['saliency'], t['deep_lift_shap_1ref'])]), 2)
    print(json.dumps(row), flush=True)
    return row


# ----------------------------------------------------------------- accuracy of the approximations against exact ISM
def _site_mask(truth, motif, n, L, offset=0):
    "Boolean (n, L): positions inside planted instances of `motif`."
    m = torch.zeros(n, L, dtype=torch.bool)
    for r in truth[truth.motif == motif].itertuples(): m[r.example_idx, r.start + offset:r.end + offset] = True
    return m


def _pearson(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def _compare(ism_obs, ism_hyp, approx, mask, X):
    "Pearson r at site positions: observed-character attributions, and hypothetical (all characters)."
    obs = {k: _pearson(v['obs'].sum(1)[mask], ism_obs.sum(1)[mask]) for k, v in approx.items()}
    hyp = {k: _pearson(v['hyp'].permute(0, 2, 1)[mask], ism_hyp.permute(0, 2, 1)[mask]) for k, v in approx.items()}
    return obs, hyp


def accuracy(n_seq, n_shuffles):
    "Pearson r of saliency / Taylor ISM and deep_lift_shap with exact ISM at planted motif sites, on the shipped models."
    out = []
    model = load_pretrained('beluga_mini')
    d = make_classifier_data(n_seq, length=1000, random_state=13)
    y0, y_hat = saturation_mutagenesis(model, d.X, raw_outputs=True, batch_size=64)
    names = task_names('beluga_mini')
    for t, motif in enumerate(names):
        if motif not in set(d.truth.motif): continue
        delta = y_hat[..., t] - y0[:, None, None, t]
        hyp = delta - delta.mean(1, keepdim=True)
        approx = {'saliency': dict(hyp=saliency(model, d.X, target=t, hypothetical=True))}
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            approx['deep_lift_shap'] = dict(hyp=deep_lift_shap(model, d.X, target=t, hypothetical=True, n_shuffles=n_shuffles, random_state=0))
        for v in approx.values(): v['obs'] = v['hyp'] * d.X
        mask = _site_mask(d.truth, motif, n_seq, 1000)
        obs, hyp = _compare(hyp * d.X, hyp, approx, mask, d.X)
        out.append(dict(model='beluga_mini', task=motif, sites=int((d.truth.motif == motif).sum()), positions=int(mask.sum()),
                        saliency_r=round(obs['saliency'], 3), taylor_ism_r=round(hyp['saliency'], 3),
                        deep_lift_shap_r=round(obs['deep_lift_shap'], 3), deep_lift_shap_hyp_r=round(hyp['deep_lift_shap'], 3)))
        print(json.dumps(out[-1]), flush=True)
    p = make_profile_data(n_seq, factor='GATA', random_state=23)
    model = CountWrapper(load_pretrained('bpnet_gata'))
    hyp = saturation_mutagenesis(model, p.X, args=(p.control,), start=457, end=1657, hypothetical=True, batch_size=64)
    X = p.X[:, :, 457:1657]
    approx = {'saliency': dict(hyp=saliency(model, p.X, args=(p.control,), hypothetical=True)[:, :, 457:1657])}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        approx['deep_lift_shap'] = dict(hyp=deep_lift_shap(model, p.X, args=(p.control,), hypothetical=True, n_shuffles=n_shuffles,
                                                           random_state=0)[:, :, 457:1657])
    for v in approx.values(): v['obs'] = v['hyp'] * X
    mask = _site_mask(p.truth, 'GATA', n_seq, 2114)[:, 457:1657]
    obs, hy = _compare(hyp * X, hyp, approx, mask, X)
    out.append(dict(model='bpnet_gata (counts)', task='GATA', sites=int(mask.any(1).sum()), positions=int(mask.sum()),
                    saliency_r=round(obs['saliency'], 3), taylor_ism_r=round(hy['saliency'], 3),
                    deep_lift_shap_r=round(obs['deep_lift_shap'], 3), deep_lift_shap_hyp_r=round(hy['deep_lift_shap'], 3)))
    print(json.dumps(out[-1]), flush=True)
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--part', choices=['speed', 'accuracy', 'all'], default='all')
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--width', type=int, default=32)
    ap.add_argument('--batch-size', type=int, default=64)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--n-seq', type=int, default=6)
    ap.add_argument('--n-shuffles', type=int, default=10)
    ap.add_argument('--out', default=None)
    ap.add_argument('--models', nargs='*', default=None, help='only these speed cases (names as printed)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    res = dict(date=datetime.datetime.utcnow().isoformat(timespec='minutes'), machine=platform.processor() or platform.machine(),
               torch=torch.__version__, threads=a.threads, device=a.device, batch_size=a.batch_size, width=a.width, repeats=a.repeats,
               tangermeme=getattr(__import__('tangermeme'), '__version__', None) if tm_ism else None)
    print(json.dumps(res), flush=True)
    if a.part in ('speed', 'all'):
        res['speed'] = speed(a.repeats, a.width, a.device, a.batch_size, a.models)
        res['saliency'] = saliency_speed(a.repeats, a.device)
    if a.part in ('accuracy', 'all'): res['accuracy'] = accuracy(a.n_seq, a.n_shuffles)
    if a.out: json.dump(res, open(a.out, 'w'), indent=1)
