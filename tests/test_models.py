"""The shipped example models: they load, they reach their held-out quality, and they learned the grammar of
meme_nb.datasets (the AP-1 task reads AP-1 sites, the spacing task prefers a helical turn, the composite task needs
GATA and E-box together, the profile model puts GATA reads on the right strands), and DeepLIFT can explain them.
The transformer (enformer_mini) is small, deterministic, capturable by torch.fx and torch.export, and as good as
beluga_mini on the single-motif tasks."""
import copy
import warnings

import pytest
import torch
from torch import nn

from meme_nb.datasets import background, make_classifier_data, make_profile_data, motif_pwms
from meme_nb.ersatz import multisubstitute, substitute
from meme_nb.models import (BelugaMini, BPNetMini, ControlWrapper, CountWrapper, EnformerMini, ProfileWrapper, TaskWrapper, _PRETRAINED,
                            _weights_path, auroc, evaluate_classifier, evaluate_profile, load_pretrained, task_names)
from meme_nb.predict import predict
from meme_nb.utils import MemeNbWarning, characters

SINGLE = ['AP-1', 'GATA', 'CTCF', 'SP1', 'NFY', 'E-box', 'ETS', 'CREB', 'YY1', 'REST']


@pytest.fixture(scope='module')
def beluga(): return load_pretrained('beluga_mini')


@pytest.fixture(scope='module')
def bpnet(): return load_pretrained('bpnet_gata')


@pytest.fixture(scope='module')
def enformer(): return load_pretrained('enformer_mini')


@pytest.fixture(scope='module', params=['beluga_mini', 'enformer_mini'])
def classifier(request):
    "Each shipped classifier in turn: the grammar tests hold for the CNN and for the transformer."
    return load_pretrained(request.param)


@pytest.fixture(scope='module')
def consensus(): return {k: characters(p, force=True) for k, p in motif_pwms().items()}


def _effect(model, X, X_edit, args=None):
    "Mean change of every output column when `X` becomes `X_edit`."
    return (predict(model, X_edit, args=args, batch_size=128) - predict(model, X, args=args, batch_size=128)).mean(0)


def test_shipped_files_are_small_and_load_without_pickled_code():
    total = 0
    for name in _PRETRAINED:
        path = _weights_path(name)
        total += path.stat().st_size
        obj = torch.load(path, weights_only=True)  # raises if the file holds anything but tensors and plain values
        assert obj['format'] == 'meme_nb.models/1'
    assert total < 3e6, f"shipped weights take {total} bytes"


def test_load_pretrained(beluga, bpnet):
    assert isinstance(beluga, BelugaMini) and isinstance(bpnet, BPNetMini)
    assert not beluga.training and not bpnet.training
    assert beluga.task_names == task_names('beluga_mini') and len(beluga.task_names) == 13
    assert beluga.task_names[:10] == SINGLE and beluga.task_names[10:] == ['accessibility', 'AP-1 spacing', 'GATA+E-box']
    assert task_names('bpnet_gata') == ['GATA']
    for m in (beluga, bpnet):
        assert {'data', 'training', 'history', 'test'} <= set(m.metadata)


def test_only_layers_deeplift_supports(beluga, bpnet):
    "Every leaf module is a type DeepLIFT handles, and no nonlinearity instance is used twice."
    ok = (nn.Conv1d, nn.BatchNorm1d, nn.ReLU, nn.MaxPool1d, nn.AdaptiveAvgPool1d, nn.Dropout, nn.Flatten, nn.Linear)
    for m in (beluga, bpnet):
        leaves = [x for x in m.modules() if next(x.children(), None) is None]
        assert all(isinstance(x, ok) for x in leaves), [type(x).__name__ for x in leaves if not isinstance(x, ok)]
        relus = [x for x in leaves if isinstance(x, nn.ReLU)]
        assert len(relus) == len({id(x) for x in relus})


def test_classifier_held_out_auroc(beluga):
    "Fresh held-out data (a seed never used in training): every single-motif task >= 0.95, the rest >= 0.85."
    d = make_classifier_data(3000, random_state=2024)
    q = evaluate_classifier(beluga, d.X, d.y).set_index('task').auROC
    assert (q[SINGLE] >= 0.95).all(), q[SINGLE]
    assert (q[['accessibility', 'AP-1 spacing', 'GATA+E-box']] >= 0.85).all(), q
    # and close to the oracle, the true logits the labels were drawn from
    oracle = auroc(d.y, d.logits).numpy()
    assert (oracle - q.values < 0.04).all()


def test_ap1_site_raises_ap1_task_far_more_than_gata(classifier, consensus):
    X = background(128, 1000, random_state=1)
    e = _effect(classifier, X, substitute(X, consensus['AP-1']))
    t = classifier.task_names
    assert e[t.index('AP-1')] > 2.0
    assert e[t.index('AP-1')] > 5 * e[t.index('GATA')].abs()
    # and a GATA site the other way round
    e = _effect(classifier, X, substitute(X, consensus['GATA']))
    assert e[t.index('GATA')] > 2.0 and e[t.index('GATA')] > 5 * e[t.index('AP-1')].abs()


def test_ap1_pair_prefers_a_helical_turn(classifier, consensus):
    "Two AP-1 sites with centres 10-11 bp apart raise the spacing task more than 15-16 bp apart (half a turn off)."
    X = background(128, 1000, random_state=2)
    ap1, k = consensus['AP-1'], classifier.task_names.index('AP-1 spacing')
    w = len(ap1)
    effect = {d: float(_effect(classifier, X, multisubstitute(X, [ap1, ap1], spacing=d - w))[k]) for d in (10, 11, 15, 16)}
    assert min(effect[10], effect[11]) > max(effect[15], effect[16]) + 1.0, effect


def test_gata_and_ebox_together_raise_the_composite_task(classifier, consensus):
    X = background(128, 1000, random_state=3)
    k = classifier.task_names.index('GATA+E-box')
    gata = float(_effect(classifier, X, substitute(X, consensus['GATA']))[k])
    ebox = float(_effect(classifier, X, substitute(X, consensus['E-box']))[k])
    both = float(_effect(classifier, X, multisubstitute(X, [consensus['GATA'], consensus['E-box']], spacing=6))[k])
    assert both > max(gata, ebox) + 2.0 and both > gata + ebox + 1.0, (gata, ebox, both)


@pytest.mark.parametrize('strand', ['+', '-'])
def test_profile_peaks_around_a_gata_site_on_the_right_strands(bpnet, consensus, strand):
    "Reads of + strand pile up just upstream of the site, reads of - strand just downstream, whatever the motif's strand."
    site = consensus['GATA'] if strand == '+' else characters(motif_pwms()['GATA'].flip(0, 1), force=True)
    X = background(32, 2114, random_state=4)
    start = 1300
    logits, counts = predict(ControlWrapper(bpnet), substitute(X, site, start=start))
    centre = start + len(site) / 2 - bpnet.start  # site centre in output coordinates
    prob = torch.softmax(logits.reshape(len(X), -1), -1).reshape(logits.shape).mean(0)
    plus, minus = int(prob[0].argmax()), int(prob[1].argmax())
    assert centre - 15 <= plus < centre <= minus <= centre + 15, (centre, plus, minus)
    assert minus - plus >= 4
    # the reads concentrate around the site: at least a third of the mass within 50 bp of it
    near = prob[:, int(centre) - 50:int(centre) + 50].sum()
    assert near > 1 / 3, float(near)
    _, counts0 = predict(ControlWrapper(bpnet), X)
    # log counts rise (with the all-zero control the count head is extrapolating, so the rise is modest)
    assert (counts - counts0).mean() > 0.15


def test_profile_held_out_quality(bpnet):
    d = make_profile_data(500, random_state=2025)
    q = evaluate_profile(bpnet, d.X, d.control, d.profile)
    assert q.count_pearson > 0.8, q[:3]
    assert q.median_jsd < q.median_jsd_flat - 0.1, q[:3]


def test_wrappers_on_shipped_models(beluga, bpnet):
    X = background(4, 2114, random_state=5)
    y = TaskWrapper(beluga, 'AP-1', length=1000)(X)
    assert torch.equal(y, beluga(X[:, :, 557:1557])[:, :1])
    c = CountWrapper(ControlWrapper(bpnet))(X)
    assert c.shape == (4, 1) and torch.equal(c, bpnet(X, torch.zeros(4, 2, 2114))[1])
    assert ProfileWrapper(ControlWrapper(bpnet))(X).shape == (4, 1)


def test_deeplift_converges_on_shipped_models(beluga, bpnet, consensus):
    "DeepLIFT explains both models with summation-to-delta holding (no convergence warning)."
    attribution = pytest.importorskip('meme_nb.attribution')
    X = substitute(background(3, 2114, random_state=6), consensus['GATA'])
    for model in (TaskWrapper(beluga, 'GATA', length=1000), CountWrapper(ControlWrapper(bpnet))):
        with warnings.catch_warnings():
            warnings.simplefilter('error', MemeNbWarning)
            attr = attribution.deep_lift_shap(model, X, n_shuffles=4, random_state=0)
        assert attr.shape == X.shape
        # the planted site gets more attribution than any other window of its width
        s = attr.sum(1).unfold(-1, 7, 1).sum(-1)
        assert (s.argmax(-1) - (1057 - 3)).abs().max() <= 4


# --- the transformer ---------------------------------------------------------------------------------------------

def test_enformer_loads_with_the_tasks_of_beluga(enformer):
    assert isinstance(enformer, EnformerMini) and not enformer.training
    assert enformer.task_names == task_names('enformer_mini') == task_names('beluga_mini')
    assert {'data', 'training', 'history', 'test', 'test_auroc', 'minutes'} <= set(enformer.metadata)
    # the Enformer-style parts are there: >= 2 transformer blocks with LayerNorm, a GELU MLP, softmax attention pooling
    kinds = {type(m).__name__ for m in enformer.modules()}
    assert {'Conv1d', 'MaxPool1d', 'LayerNorm', 'GELU', 'Softmax', 'SelfAttention', 'AttentionPool'} <= kinds
    assert len(enformer.blocks) >= 2


def test_enformer_weights_file_is_under_2_mb():
    path = _weights_path('enformer_mini')
    assert path.stat().st_size < 2 * 2**20, path.stat().st_size
    assert torch.load(path, weights_only=True)['architecture'] == 'EnformerMini'


def test_enformer_output_shape_and_determinism(enformer):
    X = background(8, 1000, random_state=7)
    y = enformer(X)
    assert y.shape == (8, 13) and y.dtype == torch.float32 and torch.isfinite(y).all()
    assert torch.equal(enformer(X), y)                      # eval mode: no dropout
    assert torch.equal(load_pretrained('enformer_mini')(X), y)  # a fresh load gives the same numbers
    # each row depends on its own sequence only (batch norm in eval mode, no mixing across the batch)
    torch.testing.assert_close(torch.cat([enformer(X[i:i + 1]) for i in range(8)]), y, rtol=1e-5, atol=1e-5)
    y64 = copy.deepcopy(enformer).double()(X.double())
    torch.testing.assert_close(y64.float(), y, rtol=1e-4, atol=1e-4)


def test_enformer_is_captured_whole_by_fx_and_export(enformer):
    "No data-dependent Python control flow: torch.fx and torch.export capture the forward and reproduce it."
    X = background(4, 1000, random_state=8)
    g = torch.fx.symbolic_trace(enformer)
    assert torch.equal(g(X), enformer(X))
    targets = {str(n.target) for n in g.graph.nodes if n.op in ('call_function', 'call_method')}
    assert '<built-in function matmul>' in targets      # the attention products are visible as operations
    torch.testing.assert_close(torch.export.export(enformer, (X,)).module()(X), enformer(X))


def test_enformer_held_out_auroc(enformer):
    "Fresh held-out data (a seed never used in training): every single-motif task >= 0.95, the rest >= 0.85."
    d = make_classifier_data(1000, random_state=2026)
    q = evaluate_classifier(enformer, d.X, d.y).set_index('task').auROC
    assert (q[SINGLE] >= 0.95).all(), q[SINGLE]
    assert (q[['accessibility', 'AP-1 spacing', 'GATA+E-box']] >= 0.85).all(), q
    oracle = auroc(d.y, d.logits).numpy()
    assert (oracle - q.values < 0.05).all(), oracle - q.values

