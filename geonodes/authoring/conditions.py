"""Conditions in disjunctive normal form (the IR's `active_if`): a list of clauses, each a
tuple of (parameter name, value) atoms that must all hold."""
from __future__ import annotations


def _domain(param) -> list:
    if param.kind == "bool":
        return [False, True]
    if param.kind == "int":
        return list(range(int(param.min), int(param.max) + 1))
    return None


def _simplify(clauses) -> list:
    out = []
    for clause in clauses:
        atoms = {}
        ok = True
        for name, value in clause:
            if name in atoms and atoms[name] != value:
                ok = False  # contradictory: P = a and P = b
                break
            atoms[name] = value
        key = tuple(sorted(atoms.items(), key=lambda kv: kv[0]))
        if ok and key not in [tuple(sorted(c, key=lambda kv: kv[0])) for c in out]:
            out.append(tuple(atoms.items()))
    return out


def _dnf_and(a, b):
    return _simplify([ca + cb for ca in a for cb in b])


def _dnf_or(a, b):
    return _simplify(list(a) + list(b))


def _dnf_not(dnf, params):
    result = [()]  # true
    for clause in dnf:
        alternatives = []
        for name, value in clause:
            alternatives += [((name, other),) for other in _domain(params[name]) if other != value]
        result = _dnf_and(result, alternatives)
    return result


def _dnf_where(param, predicate):
    dom = _domain(param)
    if dom is None:
        return None
    return [((param.name, v),) for v in dom if predicate(v)]
