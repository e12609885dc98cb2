"Fold-parallel CV: `petvit train --fold K` processes at the same time, then `petvit merge`, write what one sequential run writes."
import json, os, subprocess, sys
from conftest import petvit, TINY

TIMINGS = ('seconds', 'train_seconds', 'predict_seconds')

def _untimed(cv):
    "cv.json without wall-clock times (they differ between any two runs)"
    return {k: ([_untimed(f) for f in v] if k == 'folds' else v) for k, v in cv.items() if k not in TIMINGS}

def _run_files(run):
    cfg = json.loads((run/'config.json').read_text()); cfg.pop('out_dir')
    return dict(config=cfg, cv=_untimed(json.loads((run/'cv.json').read_text())),
                **{n: (run/n).read_bytes() for n in ('folds.csv', 'oof.csv', 'submission.csv')})

def test_folds_in_parallel_then_merge_equal_a_sequential_run(cli, small_data, tmp_path):
    args = ['--data', small_data, '--folds', 3, '--epochs', 1, *TINY]
    seq = cli('train', '--out', tmp_path/'seq', *args)                 # in this process; the folds below in their own
    assert seq.returncode == 0, seq.stderr[-2000:]
    exe = os.path.join(os.path.dirname(sys.executable), 'petvit')
    env = {**os.environ, 'WANDB_MODE': 'disabled'}
    procs = [subprocess.Popen([exe, 'train', '--out', tmp_path/'par', *map(str, args), '--fold', str(k)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outs]
    assert not (tmp_path/'par'/'cv.json').exists() and all('then `petvit merge' in o[0] for o in outs)
    r = cli('merge', tmp_path/'par')                          # fold 2 is missing: refused, nothing written
    assert r.returncode == 2 and 'fold 2 is not complete' in r.stderr and r.stderr.count('\n') == 1
    r = cli('train', '--out', tmp_path/'par', *args, '--fold', 2)
    assert r.returncode == 0 and 'OOF RMSE' in r.stdout     # the last fold merges by itself
    (tmp_path/'par'/'cv.json').unlink()
    r = petvit('merge', tmp_path/'par')                       # the entry point itself
    assert r.returncode == 0 and 'OOF RMSE' in r.stdout, r.stderr
    assert _run_files(tmp_path/'par') == _run_files(tmp_path/'seq')

def test_fold_out_of_range_is_refused(cli, small_data, tmp_path):
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', '--folds', 2, *TINY, '--fold', 5)
    assert r.returncode == 2 and 'fold(s) 5 do not exist' in r.stderr and not (tmp_path/'run').exists()
