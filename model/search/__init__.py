"""The exhaustive engines behind `model.explore`, generic over `model.seam.Model`.

Layout: `result` (`Counterexample`, `ExploreResult`, `format_result`), `common` (what the
engines share: successors, limits, Ctrl-C, progress, fingerprinting, memory, replaying
candidate numbers), `pool` (BFS worker processes), `checkpoint` (the BFS search state and its
file), `bfs`, `depth_first` (dfs and iddfs) and `simulate`. The API is `model.explore.explore`.
"""
