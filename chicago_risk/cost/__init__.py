"""The cost layer and the pressure-test recommendations.

- `severity`: 311 history -> the severity-class mix of each type group and each cell's mix of groups.
- `compound`: the 7-day cost as a compound distribution (hurdle count x cost by severity class).
- `costs`: the `cost_layer` frame of a window of predictions.
- `clusters`: high-risk cells -> connected clusters on the H3 grid, split at a size cap, outlined.
- `pressure`: the night pressure step of each cluster and what it saves (FAVAD, fewer bursts).
- `rationale`: short reasons from the member cells' drivers.
- `schedule`: clusters -> the next nights under a crew capacity.
- `assets`: `cost_layer`, `recommendation_clusters`, `recommendation_schedule` and their checks.
"""
