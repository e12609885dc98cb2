"""Kaggle's own GPUs (issue 31): precision from the hardware, every device used for inference, views
that do not depend on the batch, light blend members skipped, and the time plan. The GPUs are
simulated by answering in PyTorch's place (`torch.cuda.*`); the devices of a split are CPU stand-ins."""
import json, shutil
from unittest import mock
import pandas as pd
import pytest
import torch
from conftest import petvit

def t4s(n=2, cap=(7, 5), name='Tesla T4'):
    "PyTorch answering as a machine with `n` GPUs of compute capability `cap` called `name`"
    return mock.patch.multiple(torch.cuda, is_available=lambda: True, device_count=lambda: n,
                               get_device_capability=lambda d=None: cap, get_device_name=lambda d=None: name)

def test_predict_says_its_precision_and_devices_first_and_two_devices_give_the_same_bytes(cli, tiny_runs, small_data, tmp_path):
    one = cli('predict', '--run', tiny_runs/'blend', '--data', small_data, '--out', tmp_path/'one.csv', '--devices', 'cpu')
    two = cli('predict', '--run', tiny_runs/'blend', '--data', small_data, '--out', tmp_path/'two.csv', '--devices', 'cpu,cpu')
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-2000:]
    assert one.stdout.splitlines()[0] == 'petvit predict: fp32 on cpu (auto: cpu: float32 (no mixed precision worth having there))'
    assert two.stdout.splitlines()[0].startswith('petvit predict: fp32 on cpu, cpu (auto')
    assert (tmp_path/'one.csv').read_bytes() == (tmp_path/'two.csv').read_bytes()
    old = pd.read_csv(tiny_runs/'blend'/'submission.csv')
    assert (pd.read_csv(tmp_path/'two.csv').Pawpularity - old.Pawpularity).abs().max() < 1e-3

@pytest.mark.parametrize('cap, name, asked, says', [
    ((7, 5), 'Tesla T4', 'bf16', 'precision bf16 on Tesla T4 (compute capability 7.5) is emulated'),
    ((6, 0), 'Tesla P100-PCIE-16GB', 'bf16', 'P100-PCIE-16GB (compute capability 6.0) is emulated')])
def test_bf16_on_a_gpu_that_emulates_it_is_refused_in_one_line(cli, tiny_runs, small_data, tmp_path, cap, name, asked, says):
    with t4s(2, cap, name):
        r = cli('predict', '--run', tiny_runs/'a', '--data', small_data, '--out', tmp_path/'p.csv', '--precision', asked)
        t = cli('train', '--data', small_data, '--out', tmp_path/'run', '--precision', asked, '--device', 'cuda')
    for x in (r, t):
        assert x.returncode == 2 and x.stderr.count('\n') == 1 and says in x.stderr, x.stderr
    assert not (tmp_path/'p.csv').exists() and not (tmp_path/'run').exists()

def test_fp16_on_a_cpu_and_unknown_devices_are_one_line(cli, tiny_runs, small_data, tmp_path):
    r = cli('predict', '--run', tiny_runs/'a', '--data', small_data, '--out', tmp_path/'p.csv', '--precision', 'fp16', '--devices', 'cpu')
    assert r.returncode == 2 and 'precision fp16 needs a CUDA GPU' in r.stderr and r.stderr.count('\n') == 1
    r = cli('predict', '--run', tiny_runs/'a', '--data', small_data, '--out', tmp_path/'p.csv', '--devices', '3')
    assert r.returncode == 2 and 'this machine has 0 CUDA GPU(s)' in r.stderr, r.stderr
    r = cli('embed', '--run', tiny_runs/'a', '--devices', 'gpu7')
    assert r.returncode == 2 and "'gpu7' is not a device name" in r.stderr, r.stderr

def test_train_names_its_precision_on_its_first_line(cli, small_data, tmp_path):
    with t4s(1):
        r = cli('train', '--data', small_data, '--out', tmp_path/'run', '--device', 'cuda', '--lr', 'nan')
    assert r.returncode == 2 and "config lr='nan'" in r.stderr                  # refused before any CUDA work
    with t4s(1), mock.patch('petvit.cv.run_cv', side_effect=KeyboardInterrupt) as run_cv:  # stop at the run
        r = cli('train', '--data', small_data, '--out', tmp_path/'run', '--device', 'cuda', '--folds', 2)
    assert r.returncode == 130                                  # the line run_cv prints once its checks pass:
    assert run_cv.call_args.kwargs['start_line'].endswith('; fp16 on cuda (auto: Tesla T4 (compute capability 7.5): no native bfloat16, '
                                             'so float16 (loss-scaled in training))'), run_cv.call_args

def test_a_frozen_boost_with_tta_predicts_its_own_submission_at_any_batch(cli, tiny_runs, small_data, tmp_path):
    from petvit.models import create_model
    weights = tmp_path/'w.pth'
    torch.save(create_model('vit_convstem_nano', img_size=32).backbone.state_dict(), weights)
    r = cli('embed', '--arch', 'vit_convstem_nano', '--pretrained', weights, '--data', small_data, '--out', tmp_path/'frozen',
            '--img-size', 32, '--folds', 2, '--tta', 3, '--bs', 32)
    assert r.returncode == 0, r.stderr[-2000:]
    assert cli('boost', '--run', tmp_path/'frozen').returncode == 0
    own = pd.read_csv(tmp_path/'frozen'/'boost'/'submission.csv')
    for bs in (8, 32):
        out = tmp_path/f'bs{bs}.csv'
        r = cli('predict', '--run', tmp_path/'frozen'/'boost', '--data', small_data, '--out', out, '--bs', bs)
        assert r.returncode == 0, r.stderr[-2000:]
        assert (pd.read_csv(out).Pawpularity - own.Pawpularity).abs().max() < 1e-4      # float32 rounding, not views
    r = cli('predict', '--run', tmp_path/'frozen'/'boost', '--data', small_data, '--out', tmp_path/'x.csv', '--tta', 2)
    assert r.returncode == 2 and '--tta applies to a run folder' in r.stderr

def test_a_member_too_light_to_matter_is_skipped_and_said(cli, runs_copy, small_data, tmp_path):
    manifest = json.loads((runs_copy/'blend'/'blend.json').read_text())
    a, a_boost, b = manifest['members']
    a_boost['weight'], b['weight'] = 1e-14, b['weight'] + a_boost['weight'] - 1e-14
    (runs_copy/'blend'/'blend.json').write_text(json.dumps(manifest))
    r = cli('predict', '--run', runs_copy/'blend', '--data', small_data, '--out', tmp_path/'p.csv')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'skipped ' in r.stdout and 'a/boost: weight 1.0e-14, below 0.0001' in r.stdout, r.stdout
    r = cli('predict', '--run', runs_copy/'blend', '--data', small_data, '--plan')
    assert r.returncode == 0 and 'a/boost: weight 1.0e-14' in r.stdout
    assert 'total: 4 model passes' in r.stdout, r.stdout                      # the boost's 2 are not counted

def test_the_plan_counts_before_any_work_and_writes_nothing(cli, tiny_runs, small_data, tmp_path):
    before = sorted(p.name for p in tmp_path.iterdir())
    r = cli('predict', '--run', tiny_runs/'blend', '--data', small_data, '--plan', '2xT4', '--plan-images', 6800)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].endswith('6,800 test images, on 2 x T4 (fp16, 65 TFLOP/s dense peak x 40% assumed)'), lines[0]
    # a: 2 folds x (2 views for the run + 1 for its boost's embeddings); b: 2 folds x 2 views
    assert lines[-1].startswith('total: 6 model passes over the images, 68,000 forward passes'), lines[-1]
    assert "of Kaggle's 9 hours" in lines[-1]
    here = cli('predict', '--run', tiny_runs/'blend', '--data', small_data, '--plan', '--devices', 'cpu')
    assert here.returncode == 0 and here.stdout.splitlines()[0].startswith('petvit predict: fp32 on cpu')
    assert 'on 1 x cpu (fp32, measured here)' in here.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before and not (tmp_path/'submission.csv').exists()
    bad = cli('predict', '--run', tiny_runs/'blend', '--data', small_data, '--plan', 'T5')
    assert bad.returncode == 2 and bad.stderr.count('\n') == 1 and 'name a GPU of the table (T4, P100' in bad.stderr

def test_the_installed_command_plans_and_predicts_on_two_stand_in_devices(tiny_runs, small_data, tmp_path):
    r = petvit('predict', '--run', tiny_runs/'blend', '--data', small_data, '--out', tmp_path/'p.csv', '--devices', 'cpu,cpu')
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == f'wrote 8 predictions to {tmp_path/"p.csv"}', r.stderr[-2000:]

def test_a_runs_embeddings_on_two_devices_are_the_same_arrays(cli, runs_copy):
    import numpy as np
    from petvit.folders import EmbeddingFolder
    arrays = []
    for devices in ('cpu', 'cpu,cpu'):
        r = cli('embed', '--run', runs_copy/'a', '--tta', 2, '--devices', devices)
        assert r.returncode == 0 and r.stdout.startswith(f'petvit embed: fp32 on {devices.replace(",", ", ")} (auto'), r.stdout
        emb = EmbeddingFolder(runs_copy/'a'/'embeddings')
        arrays.append([emb.arrays(k) for k in range(2)])
    for one, two in zip(*arrays):
        assert all(np.array_equal(one[name], two[name]) for name in ('train', 'test', 'train_ids', 'test_ids'))

def test_a_run_trained_in_fp16_on_a_gpu_embeds_and_predicts_on_a_cpu(cli, runs_copy, small_data, tmp_path):
    config = runs_copy/'a'/'config.json'
    for f in (config, *config.parent.glob('fold*/fold.json')):       # the run and its folds' records
        f.write_text(f.read_text().replace('"precision": "auto"', '"precision": "fp16"'))
    assert '"precision": "fp16"' in config.read_text()
    r = cli('embed', '--run', runs_copy/'a', '--devices', 'cpu')          # the command's precision, not the run's
    assert r.returncode == 0 and r.stdout.startswith('petvit embed: fp32 on cpu'), r.stderr[-2000:]
    r = cli('predict', '--run', runs_copy/'a', '--data', small_data, '--out', tmp_path/'p.csv', '--devices', 'cpu')
    assert r.returncode == 0, r.stderr[-2000:]
