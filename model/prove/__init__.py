"""`raftcheck prove`: the suite's Raft world as a z3 transition relation, an inductive
invariant over it, and the checks (initiation, consecution, enabledness) that make a bounded
proof out of them. See docs/prove.md for the design and its limits.

Layout: `encoding` (state variables, the bounded network, one formula per action, the
selectable rules a broken core overrides), `invariant` (named lemmas with plain-words
statements), `checks` (the per-(action, lemma) proof obligations), `cti` (minimised
counterexamples to induction, printed like the other engines' traces), `faithful` (the
differential tests' machinery: projection of `World` states, z3 successor enumeration),
`helpers_equiv` (refactor equivalence of pure helpers). The command line, `raftcheck prove`,
is model/cli/prove.py.
"""
