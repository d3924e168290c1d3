"predict agrees with tangermeme.predict.predict (skipped when tangermeme is not installed)."
import pytest, torch

tm_predict = pytest.importorskip('tangermeme.predict', reason='tangermeme not installed').predict
from meme_nb.predict import predict
from meme_nb.utils import random_one_hot


class TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(4, 3, 7, padding=3)
    def forward(self, x, ctrl):
        p = self.conv(x) + ctrl[:, :1]
        return p, p.logsumexp(dim=-1)


def test_parity_single_output():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 7), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 44, 2))
    X = random_one_hot((37, 4, 50), random_state=0).float()
    torch.testing.assert_close(predict(model, X, batch_size=8), tm_predict(model, X, batch_size=8, device='cpu'))


def test_parity_multi_output_with_args():
    model, X = TwoHeads(), random_one_hot((19, 4, 30), random_state=1).float()
    ctrl = torch.rand(19, 2, 30)
    ours = predict(model, X, args=(ctrl,), batch_size=4)
    ref = tm_predict(model, X, args=(ctrl,), batch_size=4, device='cpu')
    assert len(ours) == len(ref) == 2
    for a, b in zip(ours, ref): torch.testing.assert_close(a, b)
