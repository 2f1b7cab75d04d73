"""One small interface for policies and reward models, with backends (Hugging Face, the lab's RMs).

Nothing above this layer knows which backend it holds. Importing this package does not import torch.
"""

from overopt.models.base import Policy, RewardModel, Samples, reward_function

__all__ = ["Policy", "RewardModel", "Samples", "reward_function"]
