"""Preference likelihoods: normalized over all k! rankings (brute force) and exact gradients."""

from __future__ import annotations

import itertools
import math

import pytest

torch = pytest.importorskip("torch")

from overopt.core.preference import (  # noqa: E402
    bradley_terry_logprob,
    bradley_terry_loss,
    kendall_tau_distance,
    mallows_log_normalizer,
    mallows_logprob,
    plackett_luce_logprob,
    plackett_luce_loss,
)
from overopt.errors import InputError  # noqa: E402

torch.set_num_threads(1)


def _all_rankings(k, batch):
    perms = torch.tensor(list(itertools.permutations(range(k))))  # (k!, k)
    return perms.unsqueeze(0).expand(batch, -1, -1)  # (B, k!, k)


def _total_probability(logprob_fn, scores):
    b, k = scores.shape
    perms = _all_rankings(k, b)
    n = perms.shape[1]
    flat_scores = scores.repeat_interleave(n, dim=0)  # (B * k!, k)
    lp = logprob_fn(flat_scores, perms.reshape(-1, k)).reshape(b, n)
    return lp.exp().sum(dim=1)


def _scores(k, seed=0, b=3):
    return torch.randn(b, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2


def test_bradley_terry_is_a_pair_likelihood():
    a, b = _scores(1, b=8)[:, 0], _scores(1, seed=1, b=8)[:, 0]
    total = bradley_terry_logprob(a, b).exp() + bradley_terry_logprob(b, a).exp()
    torch.testing.assert_close(total, torch.ones(8, dtype=torch.float64), rtol=0, atol=1e-12)
    assert torch.allclose(bradley_terry_logprob(a, b, temperature=2.0), torch.log(torch.sigmoid((a - b) / 2)))
    # a margin demands a larger gap: lower log-likelihood, no longer normalized
    assert torch.all(bradley_terry_logprob(a, b, margin=1.0) < bradley_terry_logprob(a, b))
    assert bradley_terry_loss(a, b) == pytest.approx(-bradley_terry_logprob(a, b).mean().item())


@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_plackett_luce_sums_to_one_over_all_rankings(k, temperature):
    total = _total_probability(lambda s, r: plackett_luce_logprob(s, r, temperature=temperature), _scores(k))
    torch.testing.assert_close(total, torch.ones(3, dtype=torch.float64), rtol=0, atol=1e-6)


def test_plackett_luce_matches_sequential_choice_and_bradley_terry():
    scores = _scores(4, seed=2, b=1)
    ranking = torch.tensor([[2, 0, 3, 1]])
    remaining, expected = [0, 1, 2, 3], 0.0
    for item in ranking[0].tolist():  # choose the best of the remaining, one softmax at a time
        expected += math.log(torch.softmax(scores[0, remaining], 0)[remaining.index(item)].item())
        remaining.remove(item)
    assert plackett_luce_logprob(scores, ranking).item() == pytest.approx(expected, abs=1e-12)
    pair = _scores(2, seed=3)
    torch.testing.assert_close(plackett_luce_logprob(pair, torch.tensor([[0, 1]] * 3)),
                               bradley_terry_logprob(pair[:, 0], pair[:, 1]))
    assert plackett_luce_loss(pair, torch.tensor([[0, 1]] * 3)).item() > 0


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("theta", [1e-3, 0.7, 5.0])
def test_mallows_sums_to_one_and_normalizer_is_brute_force(k, theta):
    scores = _scores(k, seed=k)
    total = _total_probability(lambda s, r: mallows_logprob(s, r, theta), scores)
    torch.testing.assert_close(total, torch.ones(3, dtype=torch.float64), rtol=0, atol=1e-6)
    perms = _all_rankings(k, 1)[0]
    distances = kendall_tau_distance(perms, perms[:1].expand_as(perms)).double()
    brute = torch.logsumexp(-theta * distances, 0)
    assert mallows_log_normalizer(torch.tensor(theta, dtype=torch.float64), k).item() == pytest.approx(
        brute.item(), abs=1e-9)


def test_kendall_distance_counts_discordant_pairs():
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        a, b = torch.randperm(5, generator=gen), torch.randperm(5, generator=gen)
        pos_a, pos_b = {int(x): i for i, x in enumerate(a)}, {int(x): i for i, x in enumerate(b)}
        discordant = sum((pos_a[i] - pos_a[j]) * (pos_b[i] - pos_b[j]) < 0
                         for i, j in itertools.combinations(range(5), 2))
        assert kendall_tau_distance(a[None], b[None]).item() == discordant
    # the most likely ranking is the one the scores induce; reversing it is the least likely
    scores = torch.tensor([[0.1, 3.0, -1.0, 2.0]], dtype=torch.float64)
    best, worst = torch.tensor([[1, 3, 0, 2]]), torch.tensor([[2, 0, 3, 1]])
    gap = mallows_logprob(scores, best, 0.5) - mallows_logprob(scores, worst, 0.5)
    assert gap.item() == pytest.approx(0.5 * 6)


def test_gradients_match_finite_differences():
    gradcheck = torch.autograd.gradcheck
    s = _scores(4, seed=5).requires_grad_()
    ranking = torch.stack([torch.randperm(4, generator=torch.Generator().manual_seed(i)) for i in range(3)])
    assert gradcheck(lambda x: plackett_luce_logprob(x, ranking, temperature=0.7), (s,))
    a, b = _scores(1, seed=6)[:, 0].requires_grad_(), _scores(1, seed=7)[:, 0].requires_grad_()
    assert gradcheck(lambda x, y: bradley_terry_logprob(x, y, margin=0.3, temperature=1.5), (a, b))
    theta = torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t, x: mallows_logprob(x, ranking, t), (theta, s))


def test_bad_rankings_and_parameters_raise():
    s = _scores(3)
    with pytest.raises(InputError, match="permutation"):
        plackett_luce_logprob(s, torch.tensor([[0, 0, 1]] * 3))
    with pytest.raises(InputError, match=r"\(B, k\)"):
        plackett_luce_logprob(s, torch.tensor([[0, 1]] * 3))
    with pytest.raises(InputError, match="theta"):
        mallows_logprob(s, torch.tensor([[0, 1, 2]] * 3), 0.0)
    with pytest.raises(InputError, match="temperature"):
        bradley_terry_logprob(s[:, 0], s[:, 1], temperature=0.0)
