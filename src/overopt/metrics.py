"""The one metric vocabulary (slash-separated) shared by monitor, store, report and logs.

Extend, never rename. KL values are per sequence and in nats unless the name says otherwise.
"""

from __future__ import annotations

KL = "overopt/kl"  # per-sequence KL(pi || pi_ref), nats
KL_SE = "overopt/kl_se"
KL_K3 = "overopt/kl_k3"  # per-sequence k3 estimate, nats
KL_K3_SE = "overopt/kl_k3_se"
KL_PER_TOKEN = "overopt/kl_per_token"  # k1 total over all response tokens / number of tokens, nats per token
SQRT_KL = "overopt/sqrt_kl"
PROXY = "overopt/proxy"
PROXY_SE = "overopt/proxy_se"
GOLD = "overopt/gold"  # gold or held-out score
GOLD_SE = "overopt/gold_se"
GAP = "overopt/gap"  # proxy minus gold, each relative to the reference policy
LEN = "overopt/len"  # mean response length in words
LEN_TOKENS = "overopt/len_tokens"
LEN_WORDS = "overopt/len_words"  # whitespace-split words; logged even when the detectors (overopt/len) are off
REFUSAL_RATE = "overopt/refusal_rate"
PARTIAL_REFUSAL_RATE = "overopt/partial_refusal_rate"  # declines the specifics, answers at a high level
SYCOPHANCY_RATE = "overopt/sycophancy_rate"
STOCK_PHRASE_RATE = "overopt/stock_phrase_rate"
HEDGE_RATE = "overopt/hedge_rate"
APOLOGY_RATE = "overopt/apology_rate"
REP_2 = "overopt/rep_2"
DISTINCT_2 = "overopt/distinct_2"
COMPRESSION_RATIO = "overopt/compression_ratio"  # UTF-8 bytes / raw-DEFLATE (zlib level 6) bytes
LEN_OVER_IDEAL = "overopt/len_over_ideal"  # n_words / the prompt's ideal length (verbosity suite)
RARE_TOKEN_RATE = "overopt/rare_token_rate"
ALARM = "overopt/alarm"  # 0 none, 1 watch, 2 warn, 3 alarm
PEAK_KL_FORECAST = "overopt/peak_kl_forecast"

ALL = tuple(v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str))
