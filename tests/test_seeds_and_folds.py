"""Folds apart from the seed: runs of one config with other `--seed`s share their folds and blend
into their seed average; `--folds-file` gives the folds, checked; a resumed run keeps its folds."""
import json
import numpy as np
import pandas as pd
import pytest
from conftest import TINY

RUN = ['--folds', 3, '--epochs', 1, *TINY]

@pytest.fixture(scope='module')
def fresh_data(tmp_path_factory):
    "Demo data no other test uses: another generator seed and size"
    from conftest import main_here
    d = tmp_path_factory.mktemp('fresh')/'data'
    rc, _, err = main_here('demo-data', d, '--n', 90, '--seed', 2027)
    assert rc == 0, err
    return d

def _rmse(a, b): return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))

def test_seeds_share_folds_and_blend_into_their_average(cli, fresh_data, tmp_path):
    for seed in (1, 2):
        r = cli('train', '--data', fresh_data, '--out', tmp_path/f's{seed}', '--seed', seed, *RUN)
        assert r.returncode == 0, r.stderr[-2000:]
    s1, s2 = tmp_path/'s1', tmp_path/'s2'
    assert (s1/'folds.csv').read_bytes() == (s2/'folds.csv').read_bytes()   # one fold assignment
    o1, o2 = pd.read_csv(s1/'oof.csv'), pd.read_csv(s2/'oof.csv')
    assert not np.allclose(o1.pred, o2.pred)                                # the seed changed the models
    for weights in ('equal', 'fitted'):
        r = cli('blend', s1, s2, '--out', tmp_path/weights, '--weights', weights)
        assert r.returncode == 0, r.stderr[-2000:]
    eq, fit = (json.loads((tmp_path/w/'blend.json').read_text()) for w in ('equal', 'fitted'))
    members = [m['oof_rmse'] for m in eq['members']]
    assert [m['weight'] for m in eq['members']] == [0.5, 0.5] and eq['weighting'] == 'equal'
    assert eq['oof_rmse'] == pytest.approx(_rmse((o1.pred + o2.pred) / 2, o1.Pawpularity), abs=1e-6)
    assert eq['oof_rmse'] <= np.mean(members) + 1e-9                       # a mean errs less on average
    assert fit['oof_rmse_fitted'] <= min(members) + 1e-6                    # (1, 0) was a choice
    assert 'equal weights, nothing fitted' in cli('blend', s1, s2, '--out', tmp_path/'equal',
                                                  '--weights', 'equal').stdout

def test_fold_seed_and_folds_file_decide_the_folds(cli, fresh_data, tmp_path):
    s1, other = tmp_path/'s1', tmp_path/'other'
    assert cli('train', '--data', fresh_data, '--out', s1, '--seed', 1, *RUN).returncode == 0
    r = cli('train', '--data', fresh_data, '--out', other, '--seed', 1, '--fold-seed', 5, *RUN)
    assert r.returncode == 0 and (other/'folds.csv').read_bytes() != (s1/'folds.csv').read_bytes()
    r = cli('blend', s1, other, '--out', tmp_path/'blend')
    assert r.returncode == 2 and 'have different folds' in r.stderr
    assert f'--folds-file {s1/"folds.csv"}' in r.stderr and not (tmp_path/'blend').exists()
    given = tmp_path/'given'
    r = cli('train', '--data', fresh_data, '--out', given, '--seed', 3, '--folds-file', other/'folds.csv', *RUN)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (given/'folds.csv').read_bytes() == (other/'folds.csv').read_bytes()
    assert cli('blend', other, given, '--out', tmp_path/'blend').returncode == 0
    # a finished run resumed with other folds is refused, as other labels are
    r = cli('train', '--data', fresh_data, '--out', s1, '--seed', 1, '--fold-seed', 5, *RUN)
    assert r.returncode == 2 and 'differs in fold_seed' in r.stderr
    r = cli('train', '--data', fresh_data, '--out', s1, '--seed', 1, '--folds-file', other/'folds.csv', *RUN)
    assert r.returncode == 2 and 'differs in folds_file' in r.stderr
    r = cli('train', '--data', fresh_data, '--out', tmp_path/'both', '--fold-seed', 5, '--folds-file',
            other/'folds.csv', *RUN)
    assert r.returncode == 2 and 'set one of them' in r.stderr and not (tmp_path/'both').exists()
    both = tmp_path/'both.yaml'                          # a config file: the same rule, the same line
    both.write_text(f"fold_seed: 5\nfolds_file: {other/'folds.csv'}\n")
    r = cli('train', '--data', fresh_data, '--out', tmp_path/'both', '--config', both, *RUN)
    assert r.returncode == 2 and 'both choose the folds: set one of them' in r.stderr
    assert not (tmp_path/'both').exists()

def test_a_malformed_folds_file_names_every_problem_and_writes_nothing(cli, small_data, tmp_path):
    ids = pd.read_csv(small_data/'train.csv', dtype={'Id': str}).Id
    table = pd.DataFrame({'Id': ids, 'fold': np.arange(len(ids)) % 3})
    table = pd.concat([table.iloc[1:], table.iloc[[5]]])          # Id 0 missing, Id 5 twice
    table.loc[table.fold == 2, 'fold'] = 1                         # fold 2 empty
    bad = tmp_path/'folds.csv'; table.to_csv(bad, index=False)
    expected = [f'1 training Id(s) missing: {ids[0]}', f'1 repeated Id(s), on line(s) 61: {ids[5]}',
                'fold(s) 2 hold no training image']
    r = cli('train', '--data', small_data, '--out', tmp_path/'run', '--folds-file', bad, *RUN)
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert '(3 problem(s)), nothing written' in lines[0] and len(lines) == 4
    for line, want in zip(lines[1:], expected): assert line.startswith('  - ') and want in line
    assert not (tmp_path/'run').exists()
    r = cli('check', small_data, '--folds', 3, '--folds-file', bad)
    assert r.returncode == 1 and 'problems: 3' in r.stdout
    assert all(want in r.stdout for want in expected)
    weights = tmp_path/'w.pth'
    import torch
    from petvit.models import create_model
    torch.save(create_model('vit_convstem_nano', pretrained=False, img_size=32).backbone.state_dict(), weights)
    r = cli('embed', '--arch', 'vit_convstem_nano', '--pretrained', weights, '--img-size', 32, '--data', small_data,
            '--out', tmp_path/'emb', '--folds', 3, '--folds-file', bad)
    assert r.returncode == 2 and all(want in r.stderr for want in expected) and not (tmp_path/'emb').exists()
