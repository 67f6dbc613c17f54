"""Control-flow structuring for codegen: a block graph becomes nested `if`/`else`, `while True:` and `for`.

The reference is IRTools' `reloop`/`structure` and Ramsey's "Beyond Relooper" (ICFP 2022), cut down to what Python
can say: `if`/`else`, `while True:` with `break` and `continue` (innermost loop only), `return` and `raise`.

How it works, on the reachable blocks (see docs/codegen.md for a worked example):

- Jumps through blocks with no statements are threaded.  A cycle with two entries (irreducible: the adjoint of a
  loop left by `break` has them) is made reducible by copying the blocks one entry reaches first.
- Loops are found from back edges (an edge to a block that dominates its source).  Each loop header becomes a
  `while True:` whose body starts with the header's code.  Jumping to the header is `continue`; jumping to the
  loop's chosen exit (its *follow*) is `break`, and the follow's code comes after the loop.  A header that is just
  `v = next_or_stop(it)` and a test of `v is STOP` makes the loop `for v in it:` instead.
- A block ending in a conditional branch becomes `if c: ... else: ...`; both arms run until they reach the
  branch's *join*, its immediate post-dominator in the graph without back edges, whose code then follows the `if`.
- Any other jump emits the target's code right there.  A block with a single predecessor is emitted once; a merge
  block that is not a join (short-circuit `and`/`or` conditions) is emitted in each arm that reaches it, within a
  budget.  Inside a loop, a jump to a shared block outside the loop, or to an outer loop's header or follow, sets a
  per-loop variable and breaks; after the loop, an `if` on that variable makes the jump from there (a labelled
  break, which Python lacks).
- A graph whose splitting or copying would exceed its budget raises `Unstructured`, and codegen falls back to
  `dispatch`, a block-dispatch loop.

The output is a small statement tree (`Line`, `If`, `While`, `For`) whose leaves are lines codegen rendered; this module
never looks inside statements, only at the graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .ir import Br, CondBr, Raise, Return


class Unstructured(Exception):
    """Internal: this graph gets the block-dispatch fallback instead (never escapes codegen)."""


# ── The statement tree ───────────────────────────────────────────────────────────────────────────────────────────

@dataclass(eq=False)
class Line:
    """One line of Python; `jump` is 'break', 'continue' or 'exit' (return/raise) when control never falls past it."""

    text: str
    line: int | None = None
    jump: str | None = None


@dataclass(eq=False)
class If:
    cond: str
    then: list
    orelse: list
    line: int | None = None


@dataclass(eq=False)
class While:
    body: list = field(default_factory=list)


@dataclass(eq=False)
class For:
    """`for target in iterable: body else: orelse` (the exhausted iterator runs `orelse`, then what follows)."""

    target: str
    iterable: str
    body: list = field(default_factory=list)
    orelse: list = field(default_factory=list)
    line: int | None = None


def falls_through(seq: list) -> bool:
    """Can control run off the end of this statement list?"""
    if not seq:
        return True
    last = seq[-1]
    if isinstance(last, Line):
        return last.jump is None
    if isinstance(last, If):
        return falls_through(last.then) or falls_through(last.orelse)
    if isinstance(last, For):
        return falls_through(last.orelse) or _breaks(last.body)
    return _breaks(last.body)


def _breaks(seq: list) -> bool:
    """Does this loop body contain a `break` of its own loop (not of a nested one)?"""
    for s in seq:
        if isinstance(s, Line) and s.jump == "break":
            return True
        if isinstance(s, If) and (_breaks(s.then) or _breaks(s.orelse)):
            return True
    return False


def make_if(cond: str, then: list, orelse: list, line=None) -> list:
    """`if cond: then else: orelse`, with the arm that never falls through kept in the `if` and the other hoisted
    after it (less nesting: `if not c: break` then the loop body)."""
    then_ft, else_ft = falls_through(then), falls_through(orelse)
    if then and not then_ft and (else_ft or len(then) <= len(orelse)):
        return [If(cond, then, [], line)] + orelse
    if orelse and not else_ft:
        return [If(negate(cond), orelse, [], line)] + then
    if not then:
        return [If(negate(cond), orelse, [], line)] if orelse else []
    return [If(cond, then, orelse, line)]


def negate(cond: str) -> str:
    """`not cond`, parenthesized unless cond is a name."""
    if cond.startswith("not ") and cond[4:].isidentifier():
        return cond[4:]
    return f"not {cond}" if cond.isidentifier() else f"not ({cond})"


# ── Printing the statement tree ──────────────────────────────────────────────────────────────────────────────────

def render(seq: list, indent: str, out: list, comment) -> None:
    """Append the lines of a statement tree to `out`; `comment(line)` gives the trailing comment of a line."""
    for node in seq:
        if isinstance(node, Line):
            out.append(f"{indent}{node.text}{comment(node.line)}")
        elif isinstance(node, If):
            _render_if(node, indent, out, comment, "if")
        elif isinstance(node, For):
            out.append(f"{indent}for {node.target} in {node.iterable}:{comment(node.line)}")
            render(_strip_continue(node.body) or [Line("pass")], indent + "    ", out, comment)
            if node.orelse:
                out.append(f"{indent}else:")
                render(node.orelse, indent + "    ", out, comment)
        else:
            out.append(f"{indent}while True:")
            render(_strip_continue(node.body) or [Line("pass")], indent + "    ", out, comment)


def _render_if(node: If, indent: str, out: list, comment, word: str) -> None:
    out.append(f"{indent}{word} {node.cond}:{comment(node.line)}")
    render(node.then or [Line("pass")], indent + "    ", out, comment)
    if len(node.orelse) == 1 and isinstance(node.orelse[0], If):
        _render_if(node.orelse[0], indent, out, comment, "elif")
    elif node.orelse:
        out.append(f"{indent}else:")
        render(node.orelse, indent + "    ", out, comment)


def _strip_continue(seq: list) -> list:
    """A `continue` at the very end of a loop body is implicit: drop it (also at the ends of a final `if`)."""
    if not seq:
        return seq
    last = seq[-1]
    if isinstance(last, Line) and last.jump == "continue":
        return seq[:-1]
    if isinstance(last, If):
        then, orelse = _strip_continue(last.then), _strip_continue(last.orelse)
        if not then and orelse:
            return seq[:-1] + [If(negate(last.cond), orelse, [], last.line)]
        return seq[:-1] + [If(last.cond, then, orelse, last.line)]
    return seq


# ── The structurer ───────────────────────────────────────────────────────────────────────────────────────────────

_END = -1  # the virtual exit node of the post-dominator graph


@dataclass(eq=False)
class _Frame:
    """A loop being emitted: its header, its follow, and the deferred exits (target -> number) made from inside."""

    header: int
    follow: int | None
    flag: str = ""
    pending: dict = field(default_factory=dict)


class Hooks:
    """What the structurer asks codegen for.  Blocks are given by their `Block` object."""

    def block_code(self, block) -> list:  # the statements of a block, as tree nodes
        raise NotImplementedError

    def edge_code(self, target, args, line) -> list:  # block-argument assignments for a jump
        raise NotImplementedError

    def exit_code(self, block) -> list:  # `return v` / `raise v` for a Return or Raise terminator
        raise NotImplementedError

    def cond(self, operand) -> str:  # the text of a branch condition
        raise NotImplementedError

    def fresh(self, base: str) -> str:  # a new local name
        raise NotImplementedError

    def for_header(self, block, loop_blocks) -> tuple | None:
        """(target, iterable, index of the exit edge) when `block` is exactly `v = next_or_stop(it)` and a branch
        on `v is STOP`, with `v` read only inside `loop_blocks`; None otherwise."""
        return None


def structure(blocks: list, hooks: Hooks, budget: int | None = None) -> list:
    """The statement tree of the function whose entry is `blocks[0]`; raises `Unstructured` when it cannot."""
    return _Structurer(blocks, hooks, budget).run()


def dispatch(blocks: list, hooks: Hooks, number) -> list:
    """The fallback for any graph: `while True: if _b == 1: ... elif _b == 2: ...`, one arm per block, where
    `number(block)` is the block's number as the printer shows it."""
    var = hooks.fresh("_b")
    chain: list = []
    for b in reversed(blocks):
        arm = list(hooks.block_code(b))
        t = b.term
        if isinstance(t, (Return, Raise)):
            arm += hooks.exit_code(b)
        else:
            arms = [hooks.edge_code(target, args, t.line) + [Line(f"{var} = {number(target)}", t.line)]
                    for target, args in t.edges()]
            arm += arms[0] if isinstance(t, Br) else [If(hooks.cond(t.cond), arms[0], arms[1], t.line)]
        chain = [If(f"{var} == {number(b)}", arm, chain)]
    return [Line(f"{var} = {number(blocks[0])}"), While(chain)]


class _Structurer:
    def __init__(self, blocks: list, hooks: Hooks, budget: int | None):
        self.hooks = hooks
        entry = blocks[0]
        hops = {}  # id(block) -> per edge, the blocks it passes through: [(block, args), ...]
        for b in blocks:
            hops[id(b)] = [_thread(target, args, entry) for target, args in b.term.edges()]
        order = _reverse_postorder(entry, lambda b: [h[-1][0] for h in hops[id(b)]])
        num = {id(b): i for i, b in enumerate(order)}
        # Nodes are numbers; a node is a block, and a block split out of an irreducible loop is several nodes.
        node_block = list(order)
        succ = [[num[id(h[-1][0])] for h in hops[id(b)]] for b in order]
        g, idom, self.back, dag = _split_irreducible(succ, node_block, limit=4 * len(order) + 16)
        # Renumber in reverse postorder of the final graph (ties in the choices below go to the earlier block).
        rpo = list(reversed(list(nx.dfs_postorder_nodes(g, 0))))
        new = {u: i for i, u in enumerate(rpo)}
        self.blocks = [node_block[u] for u in rpo]
        self.hops = [hops[id(node_block[u])] for u in rpo]
        self.succ = [[new[v] for v in succ[u]] for u in rpo]
        g = nx.relabel_nodes(g, new)
        dag = nx.relabel_nodes(dag, new)
        self.back = {(new[u], new[v]) for u, v in self.back}
        self.nin = [0] * len(rpo)  # in-edges, counting both arms of a CondBr to one block
        for ss in self.succ:
            for v in ss:
                self.nin[v] += 1
        self.loops = _natural_loops(g, self.back)
        # Post-dominators of the graph without back edges: exits and back edges lead to the virtual end.
        post = dag.reverse(copy=True)
        post.add_node(_END)
        for u in range(len(rpo)):
            if dag.out_degree(u) == 0 or any((u, v) in self.back for v in self.succ[u]):
                post.add_edge(_END, u)
        self.ipdom = nx.immediate_dominators(post, _END)
        stmts = sum(len(b.stmts) for b in order)
        self.budget = budget if budget is not None else 4 * (stmts + len(order)) + 200

    def run(self) -> list:
        out: list = []
        try:
            self.emit_from(0, None, (), out)
        except RecursionError:
            raise Unstructured("nesting too deep") from None
        return out

    # A jump from the current position to node t: fall through, continue, break, a deferred exit, or None when the
    # sequence ended; otherwise t itself, whose code the caller emits right here.
    def goto(self, t: int, follow, frames: tuple, out: list):
        if t == follow:
            return None
        if frames:
            fr = frames[-1]
            if t == fr.header:
                out.append(Line("continue", jump="continue"))
                return None
            if t == fr.follow:
                out.append(Line("break", jump="break"))
                return None
            outer = any(t in (f.header, f.follow) for f in frames)
            if (outer or (t not in self.loops[fr.header] and self.nin[t] > 1)) and not self.trivial(t):
                k = fr.pending.setdefault(t, len(fr.pending) + 1)
                out.append(Line(f"{fr.flag} = {k}"))
                out.append(Line("break", jump="break"))
                return None
        return t

    def for_loop(self, h: int, body_nodes: set, fr: _Frame, frames: tuple):
        """The loop as a Python `for` when its header is an iterator's `next` and exhaustion leaves to the
        loop's follow: `for v in it:` then the body (faster than `while True:` with `next(it, STOP)`)."""
        block = self.blocks[h]
        form = self.hooks.for_header(block, [self.blocks[n] for n in body_nodes])
        if form is None:
            return None
        target, iterable, k = form
        exit_node, body_node = self.succ[h][k], self.succ[h][1 - k]
        if body_node not in body_nodes or (exit_node != fr.follow and self.nin[exit_node] != 1):
            return None
        self.budget -= len(block.stmts) + 1
        loop = For(target, iterable, self.edge(h, 1 - k), self.edge(h, k), block.term.line)
        if exit_node != fr.follow:
            # Only exhaustion reaches this exit: its code is the `else:` clause, which runs outside the loop and
            # falls through to the loop's follow like a `break` does.
            t = self.goto(exit_node, fr.follow, frames, loop.orelse)
            if t is not None:
                self.emit_from(t, fr.follow, frames, loop.orelse)
        t = self.goto(body_node, None, frames + (fr,), loop.body)
        if t is not None:
            self.emit_from(t, None, frames + (fr,), loop.body)
        return loop

    def common_postdominator(self, nodes):
        """The nearest block every path from each of `nodes` reaches (None when only the exit is common)."""
        def chain(x):
            out = []
            while x != _END:
                out.append(x)
                x = self.ipdom.get(x, _END)
            return out
        common = None
        for x in nodes:
            c = chain(x)
            common = c if common is None else [y for y in c if y in set(common)]
        return common[0] if common else None

    def edge(self, n: int, k: int) -> list:
        """The block-argument moves of edge k of node n, hop by hop."""
        line = self.blocks[n].term.line
        return [x for target, args in self.hops[n][k] for x in self.hooks.edge_code(target, args, line)]

    def trivial(self, t: int) -> bool:
        """A block with no statements that only jumps on: copying it (its argument moves) beats a flag."""
        block = self.blocks[t]
        return not block.stmts and isinstance(block.term, Br)

    def emit_from(self, n, follow, frames: tuple, out: list, entered=None) -> None:
        """Emit the code of node n and what follows it, until the sequence jumps away or reaches `follow`."""
        while n is not None:
            if n in self.loops and n != entered and all(f.header != n for f in frames):
                n = self.emit_loop(n, follow, frames, out)
                continue
            entered = None
            block = self.blocks[n]
            self.budget -= len(block.stmts) + 1
            if self.budget < 0:
                raise Unstructured("too much duplicated code")
            out.extend(self.hooks.block_code(block))
            term = block.term
            if isinstance(term, (Return, Raise)):
                out.extend(self.hooks.exit_code(block))
                return
            if isinstance(term, Br):
                out.extend(self.edge(n, 0))
                n = self.goto(self.succ[n][0], follow, frames, out)
                continue
            assert isinstance(term, CondBr)
            join = self.ipdom.get(n, _END)
            inner = follow if join == _END else join
            arms = []
            for k in range(2):
                arm = self.edge(n, k)
                t = self.goto(self.succ[n][k], inner, frames, arm)
                if t is not None:
                    self.emit_from(t, inner, frames, arm)
                arms.append(arm)
            out.extend(make_if(self.hooks.cond(term.cond), arms[0], arms[1], term.line))
            if join == _END or not (falls_through(arms[0]) or falls_through(arms[1])):
                return
            n = self.goto(join, follow, frames, out)

    def emit_loop(self, h: int, follow, frames: tuple, out: list):
        """`while True:` for the loop headed by h; returns the node whose code comes after it (or None)."""
        body_nodes = self.loops[h]
        exits: dict = {}
        for u in body_nodes:
            for v in self.succ[u]:
                if v not in body_nodes:
                    exits[v] = exits.get(v, 0) + 1

        def rank(t):
            # A target the enclosing code already has a way to reach is the best follow; then a shared block
            # (a single-entry exit can be emitted inside the loop with no copy), then the most used.
            forced = t == follow or any(t in (f.header, f.follow) for f in frames)
            return (forced, self.nin[t] > 1, exits[t], -t)

        chosen = max(exits, key=rank) if exits else None
        if chosen is not None and not rank(chosen)[0]:
            # Exits that each have the loop as their only way in (`for ... else`, a `break` with its own code) are
            # best emitted inside the loop, each ending in `break` to where they meet again.
            meet = self.common_postdominator(exits)
            if meet is not None and meet not in body_nodes and all(t == meet or self.nin[t] == 1 for t in exits):
                chosen = meet
        fr = _Frame(h, chosen)
        fr.flag = self.hooks.fresh("_exit")
        loop = self.for_loop(h, body_nodes, fr, frames)
        if loop is None:
            loop = While()
            self.emit_from(h, None, frames + (fr,), loop.body, entered=h)
        if not fr.pending:
            out.append(loop)
            return self.goto(fr.follow, follow, frames, out) if fr.follow is not None else None
        # Deferred exits: reset the flag before the loop, dispatch on it after.
        out.append(Line(f"{fr.flag} = 0"))
        out.append(loop)
        chain: list = []
        if fr.follow is not None:
            t = self.goto(fr.follow, follow, frames, chain)
            if t is not None:
                self.emit_from(t, follow, frames, chain)
        for target, k in sorted(fr.pending.items(), key=lambda kv: -kv[1]):
            arm: list = []
            t = self.goto(target, follow, frames, arm)
            if t is not None:
                self.emit_from(t, follow, frames, arm)
            chain = [If(f"{fr.flag} == {k}", arm, chain)] if arm else [If(f"{fr.flag} != {k}", chain, [])]
        out.extend(chain)
        return None


def _graph(succ: list):
    """The graph, its immediate dominators, back edges, and the graph without them."""
    g = nx.DiGraph()
    g.add_nodes_from(range(len(succ)))
    g.add_edges_from((u, v) for u, ss in enumerate(succ) for v in ss)
    reached = nx.descendants(g, 0) | {0}
    g.remove_nodes_from([u for u in range(len(succ)) if u not in reached])
    idom = nx.immediate_dominators(g, 0)
    back = {(u, v) for u, v in g.edges if _dominates(idom, v, u)}
    dag = g.copy()
    dag.remove_edges_from(back)
    return g, idom, back, dag


def _split_irreducible(succ: list, node_block: list, limit: int):
    """Make the graph reducible by node splitting (in place): while some cycle has two entries, the nodes one
    entry reaches before the cycle's first entry are copied for the jumps from outside into that entry.  The
    copies run the same blocks; the adjoint of a loop that `break` leaves needs this."""
    while True:
        g, idom, back, dag = _graph(succ)
        if nx.is_directed_acyclic_graph(dag):
            return g, idom, back, dag
        if len(succ) > limit:
            raise Unstructured("irreducible control flow")
        # A cycle left once back edges are gone has two entries (or holds the function's entry).
        scc = next(c for c in nx.strongly_connected_components(dag) if len(c) > 1)
        entries = sorted(v for v in scc if v == 0 or any(u not in scc for u in g.predecessors(v)))
        head = entries[0]  # the function's entry, when the cycle holds it
        for e in entries[1:]:
            region, stack = {e}, [e]
            while stack:
                for v in succ[stack.pop()]:
                    if v in scc and v != head and v not in region:
                        region.add(v)
                        stack.append(v)
            copy = {}
            for v in sorted(region):
                copy[v] = len(succ)
                succ.append(None)
                node_block.append(node_block[v])
            for v, c in copy.items():
                succ[c] = [copy.get(s, s) for s in succ[v]]
            for u in list(g.nodes):
                if u not in scc:
                    succ[u] = [copy[e] if s == e else s for s in succ[u]]


def _thread(target, args, entry) -> list:
    """The hops of a jump: through blocks that have no statements and only jump on (their argument moves happen
    on the way), to the first block with code.  Threading keeps such blocks from making loops with two entries
    (the adjoint of a loop left by `break` enters the reversed loop at two places, one of them empty)."""
    hops, seen = [(target, args)], {id(target)}
    while (target is not entry and not target.stmts and isinstance(target.term, Br)
           and id(target.term.target) not in seen):
        target, args = target.term.target, target.term.args
        hops.append((target, args))
        seen.add(id(target))
    return hops


def _reverse_postorder(entry, successors) -> list:
    post, seen = [], {id(entry)}
    stack = [(entry, iter(successors(entry)))]
    while stack:
        b, it = stack[-1]
        for s in it:
            if id(s) not in seen:
                seen.add(id(s))
                stack.append((s, iter(successors(s))))
                break
        else:
            stack.pop()
            post.append(b)
    post.reverse()
    return post


def _dominates(idom: dict, a, b) -> bool:
    while True:
        if b == a:
            return True
        parent = idom.get(b, b)  # networkx 3.6 leaves the root out; older versions map it to itself
        if parent == b:
            return False
        b = parent


def _natural_loops(g: nx.DiGraph, back: set) -> dict:
    """Header -> set of nodes of its natural loop (all back edges to one header make one loop)."""
    loops: dict = {}
    for u, h in back:
        body = loops.setdefault(h, {h})
        stack = [u]
        while stack:
            x = stack.pop()
            if x not in body:
                body.add(x)
                stack.extend(g.predecessors(x))
    return loops
