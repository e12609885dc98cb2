"End-to-end `petvit train` / `predict` on tiny demo data: outputs, resume, a killed run, bad input."
import json, os, shutil, signal, subprocess, sys, time
import pandas as pd
import pytest
import torch
from conftest import petvit, TINY

def _outputs(run):
    "The run folder's files, config.json but for out_dir (a copied run's differs) as parsed"
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    if 'config.json' in files: files['config.json'] = {**json.loads(files['config.json']), 'out_dir': None}
    return files

def test_train_writes_run_folder_and_resumes_identically(cli, tiny_runs, small_data, tmp_path):
    "tiny_runs/a is `petvit train` (a process of its own) of exactly these flags"
    run = tmp_path/'run'; shutil.copytree(tiny_runs/'a', run)
    assert {'config.json', 'folds.csv', 'oof.csv', 'submission.csv', 'cv.json', 'oof.png', 'learning_curves.png'} <= set(_outputs(run))
    oof = pd.read_csv(run/'oof.csv')
    assert list(oof.columns) == ['Id', 'fold', 'Pawpularity', 'pred'] and len(oof) == 60
    first = _outputs(run)
    r2 = cli('train', '--data', small_data, '--out', run, '--folds', 2, '--epochs', 1, *TINY, '--arch', 'shiftvit_nano',
             '--resize', 'squish')
    assert r2.returncode == 0 and 'resuming: folds 0, 1 done\n' in r2.stdout, r2.stdout
    assert _outputs(run) == first
    r3 = cli('predict', '--run', run, '--data', small_data, '--out', tmp_path/'pred.csv')
    assert r3.returncode == 0
    pred, sub = pd.read_csv(tmp_path/'pred.csv'), pd.read_csv(run/'submission.csv')
    assert (pred.Id == sub.Id).all() and (pred.Pawpularity - sub.Pawpularity).abs().max() < 1e-3

def _kill_during_fold1(args, run):
    "Start `petvit *args` and kill it (SIGKILL) once fold 1 has begun to train"
    exe = os.path.join(os.path.dirname(sys.executable), 'petvit')
    proc = subprocess.Popen([exe, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, 'WANDB_MODE': 'disabled'})
    deadline = time.time() + 300
    while not (run/'fold1'/'history.csv').exists() and time.time() < deadline and proc.poll() is None: time.sleep(0.05)
    assert proc.poll() is None, 'the run ended before it could be killed mid-fold'
    proc.send_signal(signal.SIGKILL); proc.wait()

def test_killed_run_resumes_to_complete_outputs(small_data, tmp_path):
    run = tmp_path/'run'
    args = ['train', '--data', small_data, '--out', run, '--folds', 3, '--epochs', 2, *TINY]
    _kill_during_fold1(args, run)
    assert (run/'fold0'/'fold.json').is_file() and not (run/'fold1'/'fold.json').exists()
    assert not (run/'submission.csv').exists()                   # nothing half-written that looks finished
    fold0_model = (run/'fold0'/'model.pth').stat().st_mtime
    r = petvit(*args)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'resuming: fold 0 done, folds 1, 2 to train\n' in r.stdout, r.stdout     # says so first
    assert (run/'fold0'/'model.pth').stat().st_mtime == fold0_model
    oof = pd.read_csv(run/'oof.csv')
    assert len(oof) == 60 and oof.pred.notna().all() and sorted(oof.fold.unique()) == [0, 1, 2]

def test_store_run_killed_and_resumed_is_byte_identical(small_data, tmp_path):
    "The image store's shuffle and fused augmentation are seeded per fold: a resumed run equals an uninterrupted one"
    common = ['--data', small_data, '--folds', 3, '--epochs', 2, *TINY, '--data-path', 'store']
    whole, resumed = tmp_path/'whole', tmp_path/'resumed'
    r = petvit('train', *common, '--out', whole)
    assert r.returncode == 0 and 'image store in host memory' in r.stdout, r.stderr[-2000:]
    _kill_during_fold1(['train', *common, '--out', resumed], resumed)
    r = petvit('train', *common, '--out', resumed)
    assert r.returncode == 0 and 'fold 0 done, folds 1, 2 to train' in r.stdout, r.stderr[-2000:]
    for name in ('oof.csv', 'submission.csv', 'folds.csv', *[f'fold{k}/model.pth' for k in range(3)],
                 *[f'fold{k}/oof.csv' for k in range(3)], *[f'fold{k}/test.csv' for k in range(3)]):
        assert (whole/name).read_bytes() == (resumed/name).read_bytes(), name

def test_bad_input_stops_train_before_training(cli, small_data, tmp_path):
    import shutil
    bad = tmp_path/'bad'; shutil.copytree(small_data, bad)
    ids = pd.read_csv(bad/'train.csv', dtype={'Id': str}).Id
    (bad/'train'/f'{ids[0]}.jpg').write_bytes(b'garbage')
    (bad/'train'/f'{ids[1]}.jpg').unlink()
    r = cli('train', '--data', bad, '--out', tmp_path/'run', *TINY)
    assert r.returncode == 2
    assert f'train/{ids[0]}.jpg: cannot be decoded' in r.stderr and f'train/{ids[1]}.jpg: image listed' in r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path/'run').exists()

@pytest.mark.skipif(torch.cuda.is_available(), reason='this machine has CUDA')
def test_cuda_request_without_cuda_is_one_line(cli, small_data, tmp_path):
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', '--device', 'cuda')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'CUDA is not available' in r.stderr

def test_image_cache_is_built_once_and_no_cache_reads_originals(cli, small_data, tmp_path, monkeypatch):
    monkeypatch.setenv('PETVIT_CACHE', str(tmp_path/'cache'))
    args = ['train', '--data', small_data, '--folds', 2, '--epochs', 1, *TINY]
    assert cli(*args, '--out', tmp_path/'nocache', '--no-cache').returncode == 0
    assert not (tmp_path/'cache'/'images').exists()
    assert cli(*args, '--out', tmp_path/'run').returncode == 0
    copies = sorted((tmp_path/'cache'/'images').rglob('*.jpg'))
    n_images = len(list((small_data/'train').glob('*.jpg'))) + len(list((small_data/'test').glob('*.jpg')))
    assert len(copies) == n_images and {p.parent.name for p in copies} == {'short32'}
    stamps = [p.stat().st_mtime_ns for p in copies]
    assert cli(*args, '--out', tmp_path/'run2', '--seed', 1).returncode == 0        # another run: the copies are reused
    assert [p.stat().st_mtime_ns for p in sorted((tmp_path/'cache'/'images').rglob('*.jpg'))] == stamps

def test_training_levers_from_flags(cli, small_data, tmp_path):
    "--drop-path, --clip-grad, --grad-checkpointing, --layer-decay, --ema, --mixup and --cutmix reach the run; a backbone without one is refused in one line"
    run = tmp_path/'run'
    r = cli('train', '--data', small_data, '--out', run, '--folds', 2, '--epochs', 1, *TINY,
               '--drop-path', 0.1, '--clip-grad', 1.0, '--grad-checkpointing', '--layer-decay', 0.8, '--ema', 0.99,
               '--mixup', 0.5, '--cutmix', 1.0)
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.loads((run/'config.json').read_text())
    assert (cfg['drop_path'], cfg['clip_grad'], cfg['grad_checkpointing'], cfg['layer_decay'], cfg['ema'], cfg['mixup'], cfg['cutmix']) == (0.1, 1.0, True, 0.8, 0.99, 0.5, 1.0)
    r = cli('train', '--data', small_data, '--out', tmp_path/'x', '--arch', 'densenet121', '--pretrained', 'false',
               '--img-size', 32, '--drop-path', 0.1, '--wandb', 'disabled')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'no stochastic depth' in r.stderr, r.stderr
    assert not (tmp_path/'x').exists()
    r = cli('train', '--data', small_data, '--out', tmp_path/'y', '--clip-grad', -1, *TINY)
    assert r.returncode == 2 and 'clip_grad=-1.0 must be 0 (no clipping) or a positive gradient norm' in r.stderr, r.stderr

def test_medal_recipe_flags_reach_the_run_and_predict(cli, small_data, tmp_path):
    "--resize, --vflip-p, --transpose-p, --aa, --reprob, --opt, --average-last and --head ordinal train, resume and predict"
    run = tmp_path/'run'
    flags = ['--resize', 'crop', '--vflip-p', 0.5, '--transpose-p', 0.5, '--aa', 'rand-m9-mstd0.5-inc1',
             '--reprob', 0.25, '--remode', 'rand', '--opt', 'lamb', '--opt-eps', 1e-6, '--average-last', 2,
             '--head', 'ordinal', '--ordinal-bins', 5]
    r = cli('train', '--data', small_data, '--out', run, '--folds', 2, '--epochs', 2, *TINY, *flags)
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.loads((run/'config.json').read_text())
    assert (cfg['resize'], cfg['aa'], cfg['opt'], cfg['average_last'], cfg['head'], cfg['ordinal_bins']) == (
        'crop', 'rand-m9-mstd0.5-inc1', 'lamb', 2, 'ordinal', 5)
    weights = torch.load(run/'fold0'/'model.pth', weights_only=True)
    assert weights['head.2.weight'].shape[0] == 5                                   # K outputs
    oof = pd.read_csv(run/'oof.csv')
    assert oof.pred.between(0, 100).all() and oof.pred.std() > 0
    r = cli('predict', '--run', run, '--data', small_data, '--out', tmp_path/'pred.csv')
    assert r.returncode == 0, r.stderr[-2000:]
    pred, sub = pd.read_csv(tmp_path/'pred.csv'), pd.read_csv(run/'submission.csv')
    assert (pred.Pawpularity - sub.Pawpularity).abs().max() < 1e-3

@pytest.mark.parametrize('flag, value, message', [
    ('--opt', 'nope', "opt='nope' is not a timm optimizer"),
    ('--average-last', 0, 'average_last=0 must be in [1, 100]'),
    ('--aa', 'garbage', "aa='garbage' is not an augmentation timm reads"),
    ('--aa', 'rand-m9-garbage', "aa='rand-m9-garbage' is not an augmentation timm reads"),
    ('--resize', 'stretch', "resize='stretch' is not one of squish|crop|pad"),
    ('--reprob', 1.5, 'reprob=1.5 must be in [0, 1]'),
    ('--remode', 'zeros', "remode='zeros' is not one of const|rand|pixel"),
    ('--head', 'softmax', "head='softmax' is not one of logit|ordinal"),
    ('--ordinal-bins', 1, 'ordinal_bins=1 must be in [2, 100]'),
    ('--momentum', 'fast', "momentum='fast' must be a number"),
    ('--opt-eps', -1, 'opt_eps=-1.0 must be 0'),
    ('--transpose-p', 'nan', "transpose_p='nan' must be a finite number"),
])
def test_medal_recipe_flags_refuse_bad_values_in_one_line(cli, small_data, tmp_path, flag, value, message):
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', *TINY, flag, value)
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and message in r.stderr, r.stderr
    assert not (tmp_path/'run').exists()

def test_an_optimizer_timm_cannot_build_is_refused_before_work(cli, small_data, tmp_path):
    "bnbadamw is in timm's registry but needs bitsandbytes: refused by name, before any fold trains"
    pytest.importorskip('timm')
    try: import bitsandbytes  # noqa: F401
    except ImportError: pass
    else: pytest.skip('bitsandbytes is installed here')
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', *TINY, '--opt', 'bnbadamw')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and "config opt='bnbadamw': timm cannot build it" in r.stderr, r.stderr
    assert not (tmp_path/'run'/'fold0').exists()

def test_square_crops_validate_on_the_pixels_that_predict(cli, small_data, tmp_path):
    "With --resize crop (the default) and the image store, the validation RMSE that picks the best epoch is the RMSE of the OOF predictions written after"
    run = tmp_path/'run'
    r = cli('train', '--data', small_data, '--out', run, '--folds', 2, '--epochs', 2, *TINY, '--data-path', 'store')
    assert r.returncode == 0 and 'for square crops of 32 px' in r.stdout, r.stderr[-2000:]
    cv = json.loads((run/'cv.json').read_text())
    for f in cv['folds']:
        hist = pd.read_csv(run/f'fold{f["fold"]}'/'history.csv')
        assert abs(hist.rmse.min() - f['rmse_plain']) < 1e-3, (hist.rmse.min(), f['rmse_plain'])
