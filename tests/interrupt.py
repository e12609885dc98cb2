"""Break a `petvit` command at each of its file operations, as `kill -9` or a full disk would.

    python interrupt.py SPECS_JSON

SPECS: a list of {"root": folder whose file operations count, "pristine": a copy of it to start each point
from, "target": the output folder (below root), "args": the command line, "mode": "kill" (SIGKILL
before the N-th operation) or "enospc" (the N-th operation that takes space — a file opened for
writing, a folder made — fails: no space left on device)}.

The parent imports petvit once and runs no model itself; the fold models' features (the same at
every point) are computed by the first child and reused by the others. It first runs the command unbroken from
the pristine state to learn the new output. Then for N = 1, 2, ...: restore the pristine state; a
forked child runs `petvit.cli.main(args)` with operation N broken; the target must then hold the old
output or the new one, byte for byte, nothing else below root may have changed, and only petvit's
own leftovers (`.NAME.petvit-*`) may lie beside it (none after a full disk); then an unbroken rerun
must succeed, give the new output and leave no leftover. Stops at the first N the command does not
reach. Prints one JSON line per point and one with the totals per spec; exits 1 on a failed check."""
import builtins, errno, hashlib, io, json, os, shutil, signal, sys
from pathlib import Path

import petvit.cli, petvit.core, petvit.ensemble, petvit.folders   # imported once, before any fork

def snapshot(folder:Path, skip=())->dict:
    "Every file below `folder` (relative names, leftovers of `skip` folders left out): SHA-256"
    if not folder.is_dir(): return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*'))
            if p.is_file() and not any(p.is_relative_to(s) for s in skip)}

def break_at(n:int, root:str, mode:str):
    "Make the `n`-th file operation below `root` a SIGKILL or an ENOSPC error (in this process)"
    count = [0]
    def hit(*paths, dir_fd=None, creates=False):
        below = any(os.path.abspath(p).startswith(root) for p in paths
                    if isinstance(p, (str, os.PathLike)))
        if dir_fd is None and not below: return
        if mode == 'enospc' and not creates: return        # only what takes space can lack it
        count[0] += 1
        if count[0] != n: return
        if mode == 'kill': os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(errno.ENOSPC, 'No space left on device', str(paths[0]))
    def wrap(fn, n_paths, creates=False):
        def op(*a, **kw):
            hit(*a[:n_paths], dir_fd=kw.get('dir_fd', kw.get('src_dir_fd')), creates=creates)
            return fn(*a, **kw)
        return op
    for name, k in [('replace', 2), ('rename', 2), ('unlink', 1), ('remove', 1), ('rmdir', 1),
                    ('mkdir', 1), ('chmod', 1)]:
        setattr(os, name, wrap(getattr(os, name), k, creates=name == 'mkdir'))
    os_open, py_open = os.open, builtins.open
    def raw_open(path, flags, *a, **kw):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            hit(path, dir_fd=kw.get('dir_fd'), creates=True)
        return os_open(path, flags, *a, **kw)
    def file_open(file, mode='r', *a, **kw):
        if any(c in mode for c in 'wax+'): hit(file, creates=True)
        return py_open(file, mode, *a, **kw)
    os.open, builtins.open, io.open = raw_open, file_open, file_open
    if exchange := getattr(petvit.folders, "_exchange", None):      # the one-step swap of two folders
        petvit.folders._exchange = lambda a, b: (hit(a, b), exchange(a, b))[1]
    return count

def features_once(memo:Path):
    "The fold models' features are the same at every point: computed in the first run, then reused"
    import numpy as np
    compute = petvit.ensemble._run_features
    def cached(run, frames, n_views, device):
        if memo.is_file():
            with np.load(memo) as z: return [[z[f'{k}_{j}'] for j in range(len(frames))]
                                            for k in range(len(z.files) // len(frames))]
        feats = compute(run, frames, n_views, device)
        np.savez(memo, **{f'{k}_{j}': f for k, fs in enumerate(feats) for j, f in enumerate(fs)})
        return feats
    petvit.ensemble._run_features = cached

def run(args:list, n:int|None, root:str, mode:str, memo:Path)->tuple:
    "(exit status or -9, stderr, operations counted) of the command in a forked child"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        sys.stdout, sys.stderr = open(os.devnull, 'w'), os.fdopen(w, 'w')
        features_once(memo)
        count = break_at(n or 0, root, mode)           # n 0: counts, breaks nothing
        rc = petvit.cli.main(args)
        sys.stderr.write(f'\n@ops {count[0]}\n'); sys.stderr.flush()
        os._exit(rc)
    os.close(w)
    err = os.fdopen(r).read()
    status = os.waitpid(pid, 0)[1]
    rc = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    ops = int(err.rsplit('@ops ', 1)[1]) if '@ops ' in err else None
    return rc, err.split('\n@ops ')[0].strip(), ops

def restore(root:Path, pristine:Path):
    shutil.rmtree(root); shutil.copytree(pristine, root, symlinks=True)

def sweep(spec:dict)->bool:
    "Break the command of `spec` at each of its file operations; print the points; True if all passed"
    root, pristine, target = Path(spec['root']), Path(spec['pristine']), Path(spec['target'])
    args, mode = spec['args'], spec['mode']
    leftovers = lambda: sorted(p.name for p in target.parent.glob(f'.{target.name}.petvit-*'))
    restore(root, pristine)
    old, others = snapshot(target), snapshot(root, skip=[target])
    memo = pristine.parent/f'{pristine.name}-features.npz'
    rc, err, ops = run(args, None, str(root), mode, memo)
    assert rc == 0, err
    new = snapshot(target)
    assert new != old and not leftovers(), 'the unbroken command did not write a new output'
    failures, states = [], {'old': 0, 'new': 0}
    for n in range(1, ops + 1):
        restore(root, pristine)
        rc, err, _ = run(args, n, str(root), mode, memo)
        state = snapshot(target)
        problems = [p for p, bad in [
            ('the target is neither the old nor the new output', state not in (old, new)),
            ('something else below root changed', snapshot(root, skip=[target, *(
                target.parent/l for l in leftovers())]) != others),
            ('leftovers after a full disk', mode == 'enospc' and leftovers()),
            ('not one error line', mode == 'enospc' and rc != 0 and (
                err.count('\n') or 'Traceback' in err or 'no space left' not in err.lower())),
            ('a failed command exited 0', mode == 'enospc' and rc == 0 and state != new)] if bad]
        was = 'new' if state == new else 'old' if state == old else 'half'
        if was in states: states[was] += 1
        rc2, err2, _ = run(args, None, str(root), mode, memo)
        if rc2 != 0 or snapshot(target) != new or leftovers(): problems.append(
            f'the rerun failed or left leftovers (rc {rc2}: {err2[-300:]})')
        print(json.dumps(dict(n=n, rc=rc, left=was, stderr=err[-200:], problems=problems)),
              flush=True)
        if problems: failures.append(n)
    print(json.dumps(dict(what=spec['what'], points=ops, failures=failures, **states)), flush=True)
    return not failures

def main():
    ok = [sweep(spec) for spec in json.loads(sys.argv[1])]
    sys.exit(0 if all(ok) else 1)

if __name__ == '__main__': main()
