"""chicago-risk: leak risk, cost and pressure-test recommendations per H3 cell for Chicago."""

import warnings

import dagster as dg

# Backfill policies and partition mappings that tolerate the data's first days are deliberate
# choices here; their beta notices would drown every run's log.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
