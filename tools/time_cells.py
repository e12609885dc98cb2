"""Which notebook cells make `nbdev_test` slow: run notebooks as `nbdev_test` does (the cells it
skips skipped, in the notebooks' folder) and print the slowest cells with their first line.

    python tools/time_cells.py [NOTEBOOK ...] [--top 25] [--flags "slow"]

Run it from the repository root, in the development environment, on an otherwise idle machine."""
import argparse, sys, time
from pathlib import Path
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory
from nbdev.config import get_config
from nbdev.frontmatter import FrontmatterProc
from nbdev.process import NBProcessor

def time_notebook(fn:Path, skip:set)->tuple:
    "Seconds of the whole notebook and [(seconds, cell index, first line)] of its cells"
    nb = NBProcessor(fn, procs=FrontmatterProc, process=True).nb
    def skipped(cell):
        if cell.cell_type != 'code' or 'nbdev_export(' in cell.source: return True
        direc = getattr(cell, 'directives_', {}) or {}
        return direc.get('eval:', [''])[0].lower() == 'false' or bool(skip & direc.keys())
    shell, cells, start = CaptureShell(fn), [], time.perf_counter()
    with working_directory(fn.parent):
        for cell in nb.cells:
            if skipped(cell): continue
            t = time.perf_counter()
            shell.cell(cell)
            first = next((l for l in cell.source.splitlines() if not l.startswith('#|')), '')
            cells.append((time.perf_counter() - t, cell.idx_, first[:70]))
            if shell.exc: raise SystemExit(f'{fn.name} cell {cell.idx_} failed: {shell.exc!r}')
    return time.perf_counter() - start, cells

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', type=Path)
    p.add_argument('--top', type=int, default=25, help='cells listed')
    p.add_argument('--flags', default='', help='flags to run that nbdev_test skips (e.g. "slow")')
    a = p.parse_args()
    cfg = get_config()
    nbs = [n.resolve() for n in a.notebooks] or sorted(Path(cfg.nbs_path).glob('*.ipynb'))
    skip = set(cfg.tst_flags.split()) - set(a.flags.split())
    sys.path.insert(0, str(cfg.config_path))
    everything = []
    for fn in nbs:
        total, cells = time_notebook(fn, skip)
        print(f'{total:7.1f} s  {fn.name}', flush=True)
        everything += [(s, fn.name, i, line) for s, i, line in cells]
    print(f'\nslowest cells (of {len(everything)}):')
    for s, name, i, line in sorted(everything, reverse=True)[:a.top]:
        print(f'{s:7.1f} s  {name} cell {i}: {line}')

if __name__ == '__main__': main()
