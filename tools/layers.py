"""petvit's modules, their sizes and who imports whom: each module's layer is one more than the
highest layer among the petvit modules it imports at the top (imports inside functions, made to keep
`petvit --help` free of torch, are listed apart). A cycle is an error.

    python tools/layers.py"""
import ast, sys
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent/'petvit'

def imports(py:Path)->tuple:
    "(petvit modules imported at module level, those imported inside functions) of `py`"
    top, inner = set(), set()
    tree = ast.parse(py.read_text())
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f)}
    for n in ast.walk(tree):
        names = []
        if isinstance(n, ast.ImportFrom):
            if n.level == 1 and n.module: names = [n.module.split('.')[0]]
            elif n.level == 1: names = [a.name for a in n.names]
            elif (n.module or '').startswith('petvit.'): names = [n.module.split('.')[1]]
            elif n.module == 'petvit': names = [a.name for a in n.names]
        elif isinstance(n, ast.Import):
            names = [a.name.split('.')[1] for a in n.names if a.name.startswith('petvit.')]
        names = [m for m in names if (LIB/f'{m}.py').is_file()]
        (inner if id(n) in nested else top).update(names)
    return top, inner - top

def layers()->dict:
    "{module: (layer, lines, top-level imports, function-level imports)}"
    mods = sorted(p.stem for p in LIB.glob('*.py') if p.stem not in ('__init__', '_modidx'))
    deps = {m: imports(LIB/f'{m}.py') for m in mods}
    layer = {}
    def visit(m, path=()):
        if m in path: sys.exit(f'import cycle: {" -> ".join(path + (m,))}')
        if m not in layer: layer[m] = 1 + max((visit(d, path + (m,)) for d in deps[m][0]), default=-1)
        return layer[m]
    for m in mods: visit(m)
    return {m: (layer[m], len((LIB/f'{m}.py').read_text().splitlines()), *deps[m]) for m in mods}

if __name__ == '__main__':
    rows = sorted(layers().items(), key=lambda kv: (kv[1][0], kv[0]))
    print(f"{'layer':>5}  {'module':<10} {'lines':>5}  imports (inside functions)")
    for m, (l, n, top, inner) in rows:
        print(f"{l:>5}  {m:<10} {n:>5}  {', '.join(sorted(top)) or '-'}"
              + (f"  ({', '.join(sorted(inner))})" if inner else ''))
    print(f"{'':>5}  {'total':<10} {sum(v[1] for v in dict(rows).values()):>5}")
