"""Preference likelihoods for reward-model training: Bradley-Terry, Plackett-Luce and Mallows (torch).

Only lab code imports this module (it needs the ``lab`` extra); the rest of ``overopt.core`` is numpy.
All functions take reward-model scores and return per-example *log-likelihoods*; the ``*_loss``
helpers return their negative mean, the usual training loss. Rankings are index tensors listing
responses best first: ``ranking[b, 0]`` is the preferred response of example b.

- Bradley-Terry (Bradley & Terry 1952; the RLHF reward-model loss of Stiennon 2020 / Ouyang 2022):
  P(chosen > rejected) = sigmoid((s_c - s_r - margin) / T). With margin = 0 the two orders sum to 1;
  a margin (Llama 2's "margin loss") makes it a loss, not a likelihood.
- Plackett-Luce (Plackett 1975; Luce 1959): P(pi) = prod_j exp(s_pi_j / T) / sum_{m >= j} exp(s_pi_m / T),
  choosing the best of the remaining responses at each step; k = 2 is Bradley-Terry.
- Mallows, in Mallows' (1957) phi-model form with Kendall's tau distance d_K (the number of
  discordant pairs) to a central ranking pi_0, and dispersion theta > 0:
        P(pi | pi_0, theta) = exp(-theta d_K(pi, pi_0)) / Z(theta),
        Z(theta) = prod_{j=1..k} (1 - e^{-theta j}) / (1 - e^{-theta})      (Fligner & Verducci 1986)
  The central ranking is the one the scores induce (descending; ties broken by index).
  Why this one: it is the Mallows model whose normalizer is exact and closed-form for every k
  (Kendall's distance decomposes into independent insertion counts), and it is the dispersion model
  MallowsPO (Chen et al. 2024) builds on: theta measures how tightly labelers agree with a ranking.
  Its score dependence is through the *order* only, so gradients reach theta (a learnable or
  per-prompt dispersion) but not the scores (zero almost everywhere). Use Bradley-Terry or
  Plackett-Luce to train scores; use Mallows to fit or condition on labeler dispersion.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from overopt.errors import InputError


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise InputError(f"temperature must be > 0, got {temperature}")


def bradley_terry_logprob(chosen: torch.Tensor, rejected: torch.Tensor, *, margin: float | torch.Tensor = 0.0,
                          temperature: float = 1.0) -> torch.Tensor:
    """log P(chosen > rejected) = log sigmoid((s_c - s_r - margin) / T); shapes broadcast, (B,) typical."""
    _check_temperature(temperature)
    return F.logsigmoid((chosen - rejected - margin) / temperature)


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor, *, margin: float | torch.Tensor = 0.0,
                       temperature: float = 1.0) -> torch.Tensor:
    """Mean negative Bradley-Terry log-likelihood (the standard reward-model loss)."""
    return -bradley_terry_logprob(chosen, rejected, margin=margin, temperature=temperature).mean()


def _check_ranking(scores: torch.Tensor, ranking: torch.Tensor) -> None:
    if scores.dim() != 2 or ranking.shape != scores.shape:
        raise InputError(f"scores and ranking must both be (B, k); got {tuple(scores.shape)} and "
                         f"{tuple(ranking.shape)}")
    k = scores.shape[1]
    expected = torch.arange(k, device=ranking.device)
    if not torch.equal(torch.sort(ranking, dim=1).values, expected.expand_as(ranking)):
        raise InputError("each ranking row must be a permutation of 0..k-1 (response indices, best first)")


def plackett_luce_logprob(scores: torch.Tensor, ranking: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
    """log P(ranking | scores) under Plackett-Luce. scores (B, k) float, ranking (B, k) long -> (B,)."""
    _check_temperature(temperature)
    _check_ranking(scores, ranking)
    ordered = torch.gather(scores, 1, ranking) / temperature  # (B, k) scores in ranked order
    # log sum_{m >= j} exp(ordered_m): a reversed cumulative logsumexp
    tail = torch.logcumsumexp(ordered.flip(1), dim=1).flip(1)  # (B, k)
    return (ordered - tail).sum(dim=1)


def plackett_luce_loss(scores: torch.Tensor, ranking: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
    """Mean negative Plackett-Luce log-likelihood."""
    return -plackett_luce_logprob(scores, ranking, temperature=temperature).mean()


def kendall_tau_distance(ranking: torch.Tensor, central: torch.Tensor) -> torch.Tensor:
    """Number of response pairs the two rankings order differently. (B, k), (B, k) -> (B,) long."""
    k = ranking.shape[1]
    # position of each response in each ranking: pos[b, item] = place (0 = best)
    places = torch.arange(k, device=ranking.device).expand_as(ranking)
    pos_r = torch.empty_like(ranking).scatter_(1, ranking, places)
    pos_c = torch.empty_like(central).scatter_(1, central, places)
    diff_r = pos_r.unsqueeze(2) - pos_r.unsqueeze(1)  # (B, k, k)
    diff_c = pos_c.unsqueeze(2) - pos_c.unsqueeze(1)
    return ((diff_r * diff_c) < 0).sum(dim=(1, 2)) // 2


def mallows_log_normalizer(theta: torch.Tensor, k: int) -> torch.Tensor:
    """log Z(theta) = sum_{j=1..k} [log(1 - e^{-theta j}) - log(1 - e^{-theta})] (Kendall phi-model)."""
    theta = torch.as_tensor(theta)
    if torch.any(theta <= 0):
        raise InputError("Mallows dispersion theta must be > 0 (theta -> 0 is the uniform distribution)")
    j = torch.arange(1, k + 1, dtype=theta.dtype, device=theta.device)
    # log(1 - e^{-x}) = log(-expm1(-x)), accurate for small and large x
    return (torch.log(-torch.expm1(-theta.unsqueeze(-1) * j)) - torch.log(-torch.expm1(-theta)).unsqueeze(-1)).sum(-1)


def mallows_logprob(scores: torch.Tensor, ranking: torch.Tensor, theta: float | torch.Tensor) -> torch.Tensor:
    """log P(ranking) under the Mallows phi-model centred on the ranking the scores induce -> (B,).

    ``theta`` > 0: a scalar or (B,) tensor (per-prompt dispersion); differentiable. See the module
    docstring for why scores get no gradient.
    """
    _check_ranking(scores, ranking)
    theta = torch.as_tensor(theta, dtype=scores.dtype, device=scores.device)
    central = torch.sort(scores.detach(), dim=1, descending=True, stable=True).indices
    distance = kendall_tau_distance(ranking, central).to(scores.dtype)
    return -theta * distance - mallows_log_normalizer(theta, scores.shape[1])


def mallows_loss(scores: torch.Tensor, ranking: torch.Tensor, theta: float | torch.Tensor) -> torch.Tensor:
    """Mean negative Mallows log-likelihood."""
    return -mallows_logprob(scores, ranking, theta).mean()

