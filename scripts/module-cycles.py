#!/usr/bin/env python3
"""Fails when modules of one crate refer to each other in a cycle (`crate::a` in b and
`crate::b` in a, or longer rings). A module is a file under src/ (`foo.rs`, `foo/mod.rs` and
`foo/*.rs` count as module `foo`); `lib.rs`/`main.rs` are the roots and do not count.
Run by `make lint`."""
import os, re, sys

def modules(src):
    mods = {}
    for d, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(d, f), src)
            top = rel.split(os.sep)[0].removesuffix(".rs")
            if top in ("lib", "main"):
                continue
            mods.setdefault(top, []).append(os.path.join(d, f))
    return mods

def strip_tests(text):
    # Test modules may use anything of their crate; comments (doc links) are not uses.
    i = text.find("#[cfg(test)]")
    text = text if i < 0 else text[:i]
    return "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("//"))

def edges(mods):
    g = {m: set() for m in mods}
    for m, files in mods.items():
        for f in files:
            text = strip_tests(open(f, encoding="utf-8").read())
            for other in re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text):
                if other in mods and other != m:
                    g[m].add(other)
            # `use crate::{a, b::c}` groups
            for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
                for other in re.findall(r"(?:^|[,\s{])([a-z_][a-z0-9_]*)", group):
                    if other in mods and other != m:
                        g[m].add(other)
    return g

def cycles(g):
    found, state, stack = [], {}, []
    def visit(n):
        state[n] = 1
        stack.append(n)
        for x in sorted(g[n]):
            if state.get(x) == 1:
                found.append(stack[stack.index(x):] + [x])
            elif x not in state:
                visit(x)
        stack.pop()
        state[n] = 2
    for n in sorted(g):
        if n not in state:
            visit(n)
    return found

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")
bad = 0
for crate in sorted(os.listdir(root)):
    src = os.path.join(root, crate, "src")
    if not os.path.isdir(src):
        continue
    for c in cycles(edges(modules(src))):
        print(f"crates/{crate}: module cycle " + " -> ".join(c))
        bad += 1
sys.exit(1 if bad else 0)
