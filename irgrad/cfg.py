"""Control-flow analysis of an `IR` with networkx: the graph, predecessors, dominators, natural loops,
reachability and orderings.

Nodes of the graph are the `Block` objects themselves (blocks compare by identity).  Everything here is read-only:
the passes in `passes.py` use these answers to rewrite the IR.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import networkx as nx

from .ir import IR, Block


def graph(ir: IR) -> nx.DiGraph:
    """The control-flow graph: one node per block (with its position as attribute `index`), one edge per
    (block, successor) pair.  Two edges of a `CondBr` to the same block make one graph edge."""
    g = nx.DiGraph()
    for i, b in enumerate(ir.blocks):
        g.add_node(b, index=i)
    for b in ir.blocks:
        for s in b.successors():
            g.add_edge(b, s)
    return g


def predecessors(ir: IR) -> dict:
    """Block -> list of predecessor blocks, in block order, without repeats."""
    preds: dict = {b: [] for b in ir.blocks}
    for b in ir.blocks:
        for s in b.successors():
            lst = preds.setdefault(s, [])
            if not lst or lst[-1] is not b:
                lst.append(b)
    return preds


def incoming(ir: IR) -> dict:
    """Block -> list of (predecessor, args) for every edge into it (a `CondBr` to one block twice gives two)."""
    inc: dict = {b: [] for b in ir.blocks}
    for b in ir.blocks:
        if b.term is None:
            continue
        for target, args in b.term.edges():
            inc.setdefault(target, []).append((b, args))
    return inc


def reachable(ir: IR) -> set:
    """The blocks reachable from the entry."""
    if not ir.blocks:
        return set()
    seen = {ir.blocks[0]}
    stack = [ir.blocks[0]]
    while stack:
        for s in stack.pop().successors():
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return seen


def _dfs(ir: IR):
    """Iterative depth-first search from the entry: (postorder, retreating edges).  Successors are visited in
    their order in the terminator (then before else)."""
    entry = ir.blocks[0]
    post, retreating = [], []
    on_stack, seen = {entry}, {entry}
    stack = [(entry, iter(entry.successors()))]
    while stack:
        b, it = stack[-1]
        for s in it:
            if s in on_stack:
                retreating.append((b, s))
            elif s not in seen:
                seen.add(s)
                on_stack.add(s)
                stack.append((s, iter(s.successors())))
                break
        else:
            stack.pop()
            on_stack.discard(b)
            post.append(b)
    return post, retreating


def reverse_postorder(ir: IR) -> list:
    """Reachable blocks in reverse post-order (every block after its dominators; a loop header before its body)."""
    if not ir.blocks:
        return []
    post, _ = _dfs(ir)
    return post[::-1]


def immediate_dominators(ir: IR) -> dict:
    """Block -> its immediate dominator, for the reachable blocks; the entry maps to itself."""
    if not ir.blocks:
        return {}
    g = graph(ir)
    idom = dict(nx.immediate_dominators(g.subgraph(reachable(ir)), ir.blocks[0]))
    idom[ir.blocks[0]] = ir.blocks[0]  # networkx >= 3.5 leaves the start out
    return idom


def dominator_tree(ir: IR) -> nx.DiGraph:
    """The dominator tree: an edge from each block's immediate dominator to it."""
    t = nx.DiGraph()
    for b, d in immediate_dominators(ir).items():
        t.add_node(b)
        if d is not b:
            t.add_edge(d, b)
    return t


class Dominance:
    """Answers `dominates(a, b)` in constant time from the dominator tree's DFS intervals."""

    def __init__(self, ir: IR):
        self.idom = immediate_dominators(ir)
        children: dict = {}
        for b, d in self.idom.items():
            if d is not b:
                children.setdefault(d, []).append(b)
        self.pre: dict = {}
        self.post: dict = {}
        if not ir.blocks or ir.blocks[0] not in self.idom:
            return
        n = 0
        stack = [(ir.blocks[0], False)]
        while stack:
            b, done = stack.pop()
            if done:
                self.post[b] = n
                n += 1
                continue
            self.pre[b] = n
            n += 1
            stack.append((b, True))
            stack.extend((c, False) for c in children.get(b, ()))

    def dominates(self, a: Block, b: Block) -> bool:
        """Does every path from the entry to `b` pass through `a`?  (A block dominates itself.)"""
        if a not in self.pre or b not in self.pre:
            return False
        return self.pre[a] <= self.pre[b] and self.post[b] <= self.post[a]


@dataclass
class Loop:
    """A natural loop: its header, the blocks of its body (header included) and the latches (sources of its back
    edges)."""

    header: Block
    body: frozenset
    latches: tuple


def back_edges(ir: IR) -> list:
    """Edges (latch, header) whose target dominates their source."""
    dom = Dominance(ir)
    return [(b, s) for b in ir.blocks if b in dom.pre for s in dict.fromkeys(b.successors()) if dom.dominates(s, b)]


def natural_loops(ir: IR) -> list:
    """The natural loops, one per header (back edges to the same header merged), outer loops first."""
    preds = predecessors(ir)
    by_header: dict = {}
    for latch, header in back_edges(ir):
        by_header.setdefault(header, []).append(latch)
    loops = []
    for header, latches in by_header.items():
        body = {header}
        stack = [l for l in latches if l is not header]
        body.update(stack)
        while stack:
            for p in preds.get(stack.pop(), ()):
                if p not in body:
                    body.add(p)
                    stack.append(p)
        loops.append(Loop(header, frozenset(body), tuple(latches)))
    loops.sort(key=lambda l: -len(l.body))
    return loops


def is_reducible(ir: IR) -> bool:
    """True when every retreating edge of a depth-first search is a back edge (no loop with two entries)."""
    if not ir.blocks:
        return True
    _, retreating = _dfs(ir)
    dom = Dominance(ir)
    return all(dom.dominates(h, l) for l, h in retreating)


def topological_order(ir: IR) -> list:
    """Reachable blocks ordered so that each comes after all its forward predecessors (retreating edges ignored),
    keeping the current order wherever the graph allows: the order `passes.order_blocks` gives the IR."""
    if not ir.blocks:
        return []
    post, retreating = _dfs(ir)
    live = set(post)
    skip = set(map(lambda e: (id(e[0]), id(e[1])), retreating))
    pos = {b: i for i, b in enumerate(ir.blocks)}
    indeg = {b: 0 for b in live}
    for b in live:
        for s in dict.fromkeys(b.successors()):
            if (id(b), id(s)) not in skip:
                indeg[s] += 1
    heap = [(pos[ir.blocks[0]], ir.blocks[0])]
    out = []
    while heap:
        _, b = heapq.heappop(heap)
        out.append(b)
        for s in dict.fromkeys(b.successors()):
            if (id(b), id(s)) in skip:
                continue
            indeg[s] -= 1
            if indeg[s] == 0:
                heapq.heappush(heap, (pos[s], s))
    return out
