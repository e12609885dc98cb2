"""Hostile and careless input through the `petvit` command: one clear line, nothing lost, nothing half-done called done.
Through `main` in this process (`cli`); a finished run is a copy of the session's `tiny_runs/a`, trained with QUICK."""
import json, os, shutil, subprocess, sys
import pandas as pd
import pytest
import torch
from conftest import TINY

QUICK = ['--folds', 2, '--epochs', 1, *TINY, '--resize', 'squish']   # as tiny_runs/a was trained

@pytest.fixture
def quick_run(tiny_runs, tmp_path):
    "A private copy of a finished QUICK run of `small_data` (tiny_runs/a)"
    shutil.copytree(tiny_runs/'a', tmp_path/'run')
    return tmp_path/'run'

def _one_line(r):
    "The run failed with exactly one line on stderr, and no traceback"
    assert r.returncode == 2, (r.returncode, r.stdout[-1000:], r.stderr[-2000:])
    assert r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    return r.stderr

def test_failed_start_leaves_out_untouched_and_a_fixed_command_runs(cli, small_data, tmp_path):
    run = tmp_path/'run'
    err = _one_line(cli('train', '--data', small_data, '--out', run, *QUICK, '--arch', 'shiftvit_nan'))
    assert "unknown architecture 'shiftvit_nan'" in err and not run.exists()
    err = _one_line(cli('train', '--data', small_data, '--out', run, *QUICK, '--pretrained', tmp_path/'no.pth'))
    assert 'not found' in err and not run.exists()
    err = _one_line(cli('train', '--data', small_data, '--out', run, *QUICK, '--arch', 'convnext_atto', '--img-size', 16))
    assert 'cannot run on 16 px' in err and not run.exists()
    # a run that never completed a fold (killed while training fold 0) is taken over by a new config
    run.mkdir(); (run/'fold0').mkdir()
    (run/'config.json').write_text(json.dumps({'arch': 'shiftvit_nano', 'epochs': 7}))
    (run/'fold0'/'history.csv').write_text('epoch\n0\n')
    r = cli('train', '--data', small_data, '--out', run, *QUICK)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((run/'config.json').read_text())['epochs'] == 1

def test_out_that_is_not_a_petvit_run_is_refused_and_kept(cli, small_data, tmp_path):
    out = tmp_path/'mine'; (out/'fold0').mkdir(parents=True)
    (out/'fold0'/'important.txt').write_text('keep me')
    err = _one_line(cli('train', '--data', small_data, '--out', out, *QUICK))
    assert 'holds no petvit run' in err
    assert [p.name for p in out.rglob('*')] == ['fold0', 'important.txt']

def test_partial_config_file_refines_the_preset(cli, small_data, tmp_path):
    (tmp_path/'e.yaml').write_text('epochs: 1\nuse_meta: no\nn_folds: 2\nbs: 8\nwandb: disabled\n')
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', '--preset', 'demo', '--config', tmp_path/'e.yaml')
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert (cfg['arch'], cfg['img_size'], cfg['epochs'], cfg['n_folds'], cfg['use_meta']) == ('vit_convstem_nano', 32, 1, 2, False)
    assert r.stdout.splitlines()[0].startswith('petvit train: vit_convstem_nano at 32 px (from scratch), 2 folds x 1 epochs')
    assert f'(preset demo + {tmp_path/"e.yaml"})' in r.stdout.splitlines()[0]

@pytest.mark.parametrize('flags, says', [
    (['--lr', 'nan'], 'finite'), (['--lr', 'inf'], 'finite'), (['--lr', '-1'], 'lr=-1.0 must be in [0, 10]'), (['--seed', '-1'], 'seed'),
    (['--max-lighting', '1.5'], 'max_lighting'), (['--dropout-holes', '0'], 'dropout_holes'), (['--epochs', 'one'], 'whole number'),
    (['--epochs', '1.7'], 'whole number'), (['--use-meta', '--bs', '3.5'], 'whole number'), (['--folds', '60'], 'distinct images'),
    (['--wd', 'nan'], 'finite'), (['--bs', '64'], 'less than one batch')])
def test_bad_values_are_one_line(cli, small_data, tmp_path, flags, says):
    args = ['--epochs', 1, *TINY] if '--folds' in flags else QUICK
    err = _one_line(cli('train', '--data', small_data, '--out', tmp_path/'run', *args, *flags))
    assert says in err and not (tmp_path/'run').exists()

@pytest.mark.parametrize('text, says', [('use_meta: "perhaps"\n', 'true or false'), ('epochs: "one"\n', 'whole number'),
                                        ('cache: [1]\n', 'true or false'), ('lr_max: 1\n', "did you mean 'lr'")])
def test_bad_config_file_values_are_one_line(cli, small_data, tmp_path, text, says):
    (tmp_path/'c.yaml').write_text(text)
    assert says in _one_line(cli('train', '--data', small_data, '--out', tmp_path/'run', '--config', tmp_path/'c.yaml'))

def test_string_false_is_false(cli, small_data, tmp_path, monkeypatch):
    (tmp_path/'c.yaml').write_text('cache: "false"\n')                # text in a file: refused, never true
    assert "cache is 'false' (str): write true or false" in _one_line(
        cli('train', '--data', small_data, '--out', tmp_path/'run', '--config', tmp_path/'c.yaml', *QUICK))
    (tmp_path/'c.yaml').write_text('cache: false\nuse_meta: no\n')
    monkeypatch.setenv('PETVIT_CACHE', str(tmp_path/'cache'))
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', '--config', tmp_path/'c.yaml', *QUICK)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (tmp_path/'cache'/'images').exists()                      # "false" did not switch the cache on
    assert json.loads((tmp_path/'run'/'config.json').read_text())['use_meta'] is False

def test_diverged_run_fails_and_is_never_complete(cli, small_data, tmp_path, monkeypatch):
    import petvit.core                   # past the bounds of the lr knob, to overflow the weights for sure
    monkeypatch.setitem(petvit.core._RULES, 'lr', (lambda v: True, ''))
    run = tmp_path/'run'
    err = _one_line(cli('train', '--data', small_data, '--out', run, *QUICK, '--lr', '1e30'))
    assert 'fold 0 diverged' in err
    assert not (run/'submission.csv').exists() and not (run/'cv.json').exists() and not (run/'fold0'/'fold.json').exists()
    assert 'not complete' in _one_line(cli('predict', '--run', run, '--data', small_data, '--out', tmp_path/'p.csv'))
    assert not (tmp_path/'p.csv').exists()
    r = cli('train', '--data', small_data, '--out', run, *QUICK, '--lr', '2e-3')   # taken over: no fold was complete
    assert r.returncode == 0, r.stderr[-2000:]
    json.loads((run/'cv.json').read_text())                                           # strict JSON

def test_ids_that_are_paths_are_refused(cli, demo_copy, tmp_path):
    df = pd.read_csv(demo_copy/'train.csv', dtype={'Id': str})
    outside = tmp_path/'secret'; outside.mkdir(); shutil.copy(demo_copy/'train'/f'{df.Id[0]}.jpg', outside/'x.jpg')
    df.loc[0, 'Id'] = '../../secret/x'; df.loc[1, 'Id'] = str(outside/'x')
    df.to_csv(demo_copy/'train.csv', index=False)
    r = cli('check', demo_copy)
    assert r.returncode == 1 and 'column Id holds a path, not a file name, on line(s) 2, 3' in r.stdout
    r = cli('train', '--data', demo_copy, '--out', tmp_path/'run', *QUICK)
    assert r.returncode == 2 and 'holds a path' in r.stderr and 'Traceback' not in r.stderr and not (tmp_path/'run').exists()

def test_resume_notices_changed_labels(cli, quick_run, small_data, tmp_path):
    data = tmp_path/'data'; shutil.copytree(small_data, data)
    run = quick_run
    df = pd.read_csv(data/'train.csv', dtype={'Id': str}); df.loc[0, 'Pawpularity'] = 101 - df.Pawpularity[0]
    df.to_csv(data/'train.csv', index=False)
    assert 'other data' in _one_line(cli('train', '--data', data, '--out', run, *QUICK))

def test_broken_fold_weights_are_one_line_and_retrained(cli, quick_run, small_data, tmp_path):
    run = quick_run
    good = (run/'fold1'/'model.pth').read_bytes()
    for broken in (b'', b'garbage' * 100, good[:-50] + bytes(50)):
        (run/'fold1'/'model.pth').write_bytes(broken)
        err = _one_line(cli('predict', '--run', run, '--data', small_data, '--out', tmp_path/'p.csv'))
        assert 'fold 1' in err and 'weights_only' not in err
    (run/'fold1'/'model.pth').unlink()
    r = cli('train', '--data', small_data, '--out', run, *QUICK)
    assert r.returncode == 0 and 'fold 1: training' in r.stdout and 'resuming: fold 0 done, fold 1 to train' in r.stdout
    assert (run/'fold1'/'model.pth').read_bytes() == good                   # same seed, same bytes

def test_merge_refuses_mismatched_sample_submission_and_missing_data(cli, quick_run, small_data, tmp_path):
    run = quick_run
    other = tmp_path/'other'; other.mkdir()
    s = pd.read_csv(small_data/'sample_submission.csv'); s.iloc[:-1].to_csv(other/'sample_submission.csv', index=False)
    before = (run/'submission.csv').read_bytes()
    assert 'does not list the run' in _one_line(cli('merge', run, '--data', other))
    assert 'is not a folder' in _one_line(cli('merge', run, '--data', tmp_path/'nonexistent'))
    assert (run/'submission.csv').read_bytes() == before

def test_demo_data_never_overwrites(cli, tmp_path):
    d = tmp_path/'d'
    r = cli('demo-data', d, '--n', 20)
    assert r.returncode == 0 and 'wrote a demo dataset' in r.stdout and ' 8 test images' in r.stdout
    before = (d/'train.csv').read_bytes()
    assert 'is not empty' in _one_line(cli('demo-data', d, '--n', 30, '--seed', 1))
    assert (d/'train.csv').read_bytes() == before
    (tmp_path/'f').write_text('x')
    assert 'is a file' in _one_line(cli('demo-data', tmp_path/'f'))

def test_unwritable_output_is_one_line(cli, tiny_runs, small_data):
    run = tiny_runs/'a'
    err = _one_line(cli('predict', '--run', run, '--data', small_data, '--out', '/proc/petvit-submission.csv'))
    assert 'petvit-submission' in err or '/proc' in err

@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_bench_gpu_without_cuda_is_refused_at_once(cli):
    assert 'measures a CUDA GPU' in _one_line(cli('bench', '--mode', 'gpu'))

def test_wandb_mode_in_environment_wins(cli, small_data, tmp_path, monkeypatch):
    monkeypatch.setenv('WANDB_MODE', 'disabled')
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', *[a for a in QUICK if a not in ('--wandb', 'disabled')],
            '--wandb', 'offline')
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (tmp_path/'run'/'wandb').exists()

def test_a_store_that_does_not_fit_is_refused_first_or_replaced_by_the_item_loader(cli, small_data, tmp_path):
    "The host memory is simulated as 10 kB free: `--data-path store` is refused before any work; `auto` falls back, saying so"
    from unittest import mock
    with mock.patch('petvit.store.free_memory', return_value=10_000):
        err = _one_line(cli('train', '--data', small_data, '--out', tmp_path/'store', *QUICK, '--data-path', 'store'))
        assert 'data_path=store: the image store (60 images at 32 px' in err and not (tmp_path/'store').exists()
        r = cli('train', '--data', small_data, '--out', tmp_path/'auto', *QUICK)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count('per-item loader: the image store (60 images at 32 px = 0.2 MB) needs more than half') == 2
    assert (tmp_path/'auto'/'submission.csv').is_file()
