"""Framework integrations: the TRL callback (``overopt.integrations.trl``, needs the lab extra) and
readers of TRL / OpenRLHF / veRL / W&B logs (``overopt.integrations.logs``) for ``overopt analyze``."""
