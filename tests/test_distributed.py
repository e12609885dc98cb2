"""Data-parallel training of each fold on two CPU processes (gloo), launched as a user would on GPUs:
`accelerate launch --multi_gpu --num_processes 2 -m petvit.cli train ...`. Only rank 0 writes; the run folder has
the same files and formats as a single-process run, and sane figures."""
import json, os, shutil, subprocess, sys
import pandas as pd
import pytest
from conftest import petvit, TINY

pytestmark = pytest.mark.skipif(not shutil.which('accelerate', path=os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']),
                                reason='needs Hugging Face Accelerate (pip install accelerate; in the dev extras)')

def _files(run):
    return sorted(str(p.relative_to(run)) for p in run.rglob('*') if p.is_file())

def test_two_process_training_writes_what_one_process_writes(tiny_runs, small_data, tmp_path):
    "The one-process run is the session's tiny_runs/b: these flags, trained by `petvit train`"
    args = ['train', '--data', small_data, '--folds', 2, '--epochs', 1, *TINY, '--arch', 'vit_convstem_nano',
            '--resize', 'squish']
    (tmp_path/'single').symlink_to(tiny_runs/'b', target_is_directory=True)
    exe = os.path.join(os.path.dirname(sys.executable), 'accelerate')
    r = subprocess.run([exe, 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1', '--mixed_precision', 'no',
                        '--dynamo_backend', 'no', '-m', 'petvit.cli', *map(str, args), '--out', str(tmp_path/'ddp')],
                       capture_output=True, text=True, timeout=900, env={**os.environ, 'WANDB_MODE': 'disabled'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('OOF RMSE') == 1 and r.stdout.count('petvit train:') == 1      # rank 0 reports, once
    assert '\r' not in r.stdout + r.stderr                                               # plain lines in a log
    assert r.stdout.count('image store in host memory') == 2                            # the store, sharded by fastai
    assert _files(tmp_path/'ddp') == _files(tmp_path/'single')
    for name in ('oof.csv', 'submission.csv', 'folds.csv'):
        a, b = pd.read_csv(tmp_path/'ddp'/name), pd.read_csv(tmp_path/'single'/name)
        assert list(a.columns) == list(b.columns) and a.Id.tolist() == b.Id.tolist()
    assert (tmp_path/'ddp'/'folds.csv').read_bytes() == (tmp_path/'single'/'folds.csv').read_bytes()
    cv, one = json.loads((tmp_path/'ddp'/'cv.json').read_text()), json.loads((tmp_path/'single'/'cv.json').read_text())
    assert cv.keys() == one.keys() and cv['n_train'] == 60 and 5 < cv['oof_rmse'] < 50
    for f in cv['folds']:                                     # validation RMSE over the whole fold (gathered from both ranks)
        hist = pd.read_csv(tmp_path/'ddp'/f'fold{f["fold"]}'/'history.csv')
        assert len(hist) == 1 and abs(hist.rmse.min() - f['rmse_plain']) < 1e-3
    # 30 training images, bs 8: 3 batches in one process, 2 per process when two share them
    assert [f['train_batches'] for f in cv['folds']] == [2, 2] and [f['train_batches'] for f in one['folds']] == [3, 3]
