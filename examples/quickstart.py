"""meme_nb quickstart: what does planting an AP-1 site do to a model's prediction?

A short, runnable end-to-end example (seconds on a laptop CPU, no network):
it reads the AP-1 (FOS::JUN) motif from the JASPAR collection that ships with
meme_nb, builds a one-filter "motif scanner" model from it, plants the motif's
consensus into random background sequences and into dinucleotide-shuffled
versions of them, and reports how much the prediction moves.

    python examples/quickstart.py [--n 200] [--length 500] [--seed 0]
"""
import argparse

import torch

from meme_nb.ersatz import dinucleotide_shuffle, substitute
from meme_nb.io import jaspar_path, read_meme
from meme_nb.predict import predict
from meme_nb.utils import characters, random_one_hot


def motif_scanner(pwm):
    "A model scoring each sequence by its best log-odds match to `pwm` (4, m), on either strand."
    logodds = torch.log2(pwm.clamp_min(1e-3) / 0.25)
    conv = torch.nn.Conv1d(4, 2, pwm.shape[1], bias=False)
    with torch.no_grad(): conv.weight.copy_(torch.stack([logodds, logodds.flip(0, 1)]))
    return torch.nn.Sequential(conv, torch.nn.AdaptiveMaxPool1d(1), torch.nn.Flatten(), torch.nn.Linear(2, 1))


def main(n=200, length=500, seed=0):
    motifs = read_meme(jaspar_path())
    name, pwm = next((k, v) for k, v in motifs.items() if k.endswith(' FOS::JUN'))
    consensus = characters(pwm, force=True)
    torch.manual_seed(seed)
    model = motif_scanner(pwm)
    with torch.no_grad(): model[-1].weight.fill_(0.5); model[-1].bias.zero_()

    X = random_one_hot((n, 4, length), random_state=seed)
    X_shuf = dinucleotide_shuffle(X, n=1, random_state=seed)[:, 0]
    rows = []
    for label, bg in (('random background', X), ('dinucleotide-shuffled', X_shuf)):
        before, after = predict(model, bg), predict(model, substitute(bg, consensus))
        rows.append((label, before.mean().item(), after.mean().item()))

    print(f"motif {name} from the shipped JASPAR collection ({len(motifs)} motifs); consensus {consensus}")
    print(f"{n} sequences of {length} bp; model = best log-odds match on either strand")
    print(f"{'background':<24}{'before':>10}{'after':>10}{'change':>10}")
    for label, b, a in rows: print(f"{label:<24}{b:>10.3f}{a:>10.3f}{a - b:>+10.3f}")


if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--n', type=int, default=200, help='number of background sequences')
    p.add_argument('--length', type=int, default=500, help='length of each sequence')
    p.add_argument('--seed', type=int, default=0, help='random seed')
    a = p.parse_args()
    main(a.n, a.length, a.seed)
