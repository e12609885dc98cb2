"End-to-end `petvit embed` / `boost` / `blend` / `check-submission` on tiny demo runs, and their bad input."
import json, shutil
import numpy as np
import pandas as pd
import pytest
import torch

def _one_error_line(r):
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr, r.stderr
    return r.stderr

@pytest.fixture
def two_runs(runs_copy):
    "Two tiny runs of two architectures on the same 2 folds of the 60-image demo data (a copy of the session's)"
    shutil.rmtree(runs_copy/'blend'); shutil.rmtree(runs_copy/'a'/'boost'); shutil.rmtree(runs_copy/'a'/'embeddings')
    return runs_copy

def test_boost_blend_and_predict_a_blend(cli, two_runs, small_data, tmp_path):
    "In this process: the session's tiny_runs ran `petvit boost` and `petvit blend` as processes of their own"
    for name in 'ab':
        r = cli('boost', '--run', two_runs/name, '--clip', 1, 85)
        assert r.returncode == 0, r.stderr[-2000:]
        cv = json.loads((two_runs/name/'boost'/'cv.json').read_text())
        oof = pd.read_csv(two_runs/name/'boost'/'oof.csv')
        assert {'oof_rmse', 'head_rmse', 'blend_rmse'} <= set(cv) and cv['clip'] == [1, 85]
        assert f"svr {cv['oof_rmse']:.3f}, head {cv['head_rmse']:.3f}" in r.stdout
        assert abs(cv['head_rmse'] - json.loads((two_runs/name/'cv.json').read_text())['oof_rmse']) < 1e-9
        assert len(oof) == 60 and oof.pred.between(0, 100).all()
    members = [two_runs/'a', two_runs/'a'/'boost', two_runs/'b', two_runs/'b'/'boost']
    r = cli('blend', *members, '--out', two_runs/'blend', '--data', small_data)
    assert r.returncode == 0, r.stderr[-2000:]
    b = json.loads((two_runs/'blend'/'blend.json').read_text())
    assert abs(sum(m['weight'] for m in b['members']) - 1) < 1e-9 and all(m['weight'] >= 0 for m in b['members'])
    assert b['oof_rmse_fitted'] <= min(m['oof_rmse'] for m in b['members']) + 1e-9   # the fit is at least its best member
    assert [m['path'] for m in b['members']] == ['../a', '../a/boost', '../b', '../b/boost']
    loses = b['oof_rmse'] > min(m['oof_rmse'] for m in b['members'])   # the honest estimate
    assert ("is worse than its best member's" in r.stdout) == loses, r.stdout     # said when it loses
    r = cli('blend', *members, '--out', two_runs/'hill', '--weights', 'hill', '--data', small_data)
    assert r.returncode == 0 and 'members climbed to on the other folds' in r.stdout, r.stderr[-2000:]
    h = json.loads((two_runs/'hill'/'blend.json').read_text())
    assert h['weighting'] == 'hill' and abs(sum(m['weight'] for m in h['members']) - 1) < 1e-9
    assert cli('check-submission', two_runs/'hill'/'submission.csv', '--data', small_data).returncode == 0
    r = cli('select', *members, '--out', two_runs/'select', '--data', small_data)    # the climb, shown
    assert r.returncode == 0, r.stderr[-2000:]
    rows = r.stdout.splitlines()
    assert rows[0].split() == ['step', 'added', 'OOF', 'RMSE', 'gain'] and 'OOF RMSE: honest' in r.stdout
    chosen = json.loads((two_runs/'select'/'blend.json').read_text())
    assert [m['weight'] for m in chosen['members']] == [m['weight'] for m in h['members']]   # = --weights hill
    assert _one_error_line(cli('select', two_runs/'a', '--out', tmp_path/'one')).count('at least two')
    assert cli('check-submission', two_runs/'blend'/'submission.csv', '--data', small_data).returncode == 0
    moved = tmp_path/'moved'; shutil.copytree(two_runs, moved)              # a runs folder moves as a whole
    r = cli('predict', '--run', moved/'blend', '--data', small_data, '--out', tmp_path/'pred.csv')
    assert r.returncode == 0, r.stderr[-2000:]
    new, old = pd.read_csv(tmp_path/'pred.csv'), pd.read_csv(two_runs/'blend'/'submission.csv')
    assert (new.Id == old.Id).all() and (new.Pawpularity - old.Pawpularity).abs().max() < 1e-3

def test_frozen_backbone_embeddings_boost_and_blend_with_a_run(cli, two_runs, small_data, tmp_path):
    from petvit.models import create_model                      # registers petvit's models in timm
    weights = tmp_path/'w.pth'
    torch.save(create_model('vit_convstem_nano', img_size=32).backbone.state_dict(), weights)
    r = cli('embed', '--arch', 'vit_convstem_nano', '--pretrained', weights, '--data', small_data,
               '--out', tmp_path/'frozen', '--img-size', 32, '--folds', 2, '--tta', 2, '--device', 'cpu')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'embeddings of 60 training and 8 test images (2 folds)' in r.stdout
    assert cli('boost', '--run', tmp_path/'frozen', '--model', 'ridge').returncode == 0
    assert 'head_rmse' not in json.loads((tmp_path/'frozen'/'boost'/'cv.json').read_text())
    r = cli('blend', two_runs/'a', tmp_path/'frozen'/'boost', '--out', tmp_path/'blend')   # same folds
    assert r.returncode == 0, r.stderr[-2000:]
    r = cli('predict', '--run', tmp_path/'blend', '--data', small_data, '--out', tmp_path/'p.csv')
    assert r.returncode == 0, r.stderr[-2000:]
    old = pd.read_csv(tmp_path/'blend'/'submission.csv')
    assert (pd.read_csv(tmp_path/'p.csv').Pawpularity - old.Pawpularity).abs().max() < 1e-3
    weights.write_bytes(b'changed')                              # the frozen weights are checked
    r = cli('predict', '--run', tmp_path/'blend', '--data', small_data, '--out', tmp_path/'p2.csv')
    assert 'is missing or changed' in _one_error_line(r) and not (tmp_path/'p2.csv').exists()

def test_a_bad_submission_lists_every_problem(cli, two_runs, small_data, tmp_path):
    sub = pd.read_csv(two_runs/'a'/'submission.csv', dtype={'Id': str})
    missing = sub.Id[0]
    sub = sub.iloc[1:].reset_index(drop=True)
    sub.loc[0, 'Pawpularity'], sub.loc[1, 'Pawpularity'] = float('nan'), 120
    sub.to_csv(tmp_path/'bad.csv', index=False)
    r = cli('check-submission', tmp_path/'bad.csv', '--data', small_data)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert len(lines) == 3, r.stdout
    assert f'1 test Id(s) missing: {missing}' in lines[0]
    assert 'Pawpularity is empty or NaN on line(s) 2' in lines[1] and 'Pawpularity is outside 0-100 on line(s) 3: 120' in lines[2]
    r = cli('check-submission', tmp_path/'none.csv', '--data', small_data)
    assert 'does not exist' in _one_error_line(r)

def test_bad_input_is_refused_in_one_line(cli, two_runs, small_data, tmp_path):
    other = tmp_path/'other'; shutil.copytree(two_runs/'b', other)     # as if made with another --seed
    oof = pd.read_csv(other/'oof.csv', dtype={'Id': str})
    oof.assign(fold=1 - oof.fold).to_csv(other/'oof.csv', index=False)
    r = cli('blend', two_runs/'a', other, '--out', tmp_path/'blend')
    assert 'have different folds' in _one_error_line(r) and not (tmp_path/'blend').exists()
    mine = tmp_path/'mine'; mine.mkdir(); (mine/'notes.txt').write_text('mine')
    r = cli('blend', two_runs/'a', two_runs/'b', '--out', mine)
    assert 'holds no petvit blend' in _one_error_line(r) and [p.name for p in mine.iterdir()] == ['notes.txt']
    assert 'is not a petvit run or embeddings folder' in _one_error_line(cli('boost', '--run', small_data))
    assert 'pass LOW HIGH' in _one_error_line(cli('boost', '--run', two_runs/'a', '--clip', 85, 1))
    r = cli('boost', '--run', two_runs/'a', '--model', 'lasso')
    assert r.returncode == 2 and 'invalid choice' in r.stderr
    assert 'is not a petvit run, boost or blend' in _one_error_line(
        cli('predict', '--run', small_data, '--data', small_data, '--out', tmp_path/'x.csv'))

def test_a_zoo_embeds_each_backbone_once_and_each_folder_boosts(cli, small_data, tmp_path):
    "`petvit embed --zoo`: three frozen backbones (random weights saved to files), one added later"
    from petvit.models import create_model, classifier_backbone
    for arch in ('vit_convstem_nano', 'shiftvit_nano'):
        torch.save(create_model(arch).backbone.state_dict(), tmp_path/f'{arch}.pth')
    torch.save(classifier_backbone('resnet10t', False).state_dict(), tmp_path/'resnet10t.pth')
    entry = lambda arch, weights=None, more='': (f'- arch: {arch}\n  pretrained: {weights or arch}.pth\n'
                                                 f'  img_size: 32\n{more}')
    zoo, out = tmp_path/'zoo.yaml', tmp_path/'zoo'
    zoo.write_text(entry('vit_convstem_nano') + entry('shiftvit_nano'))
    embed = lambda *more: cli('embed', '--zoo', zoo, '--data', small_data, '--out', out, '--folds', 3, *more)
    r = embed()
    assert r.returncode == 0 and r.stdout.count(' embedded ') == 2, r.stderr[-2000:]
    assert r.stdout.count(' img/s') == 2                           # each backbone's speed
    zoo.write_text(zoo.read_text() + entry('resnet10t', more='  features: both\n'))
    r = embed()                                                    # only the new backbone
    assert r.returncode == 0 and r.stdout.count('  cached ') == 2 and r.stdout.count(' embedded ') == 1
    assert r.stdout.splitlines()[-1].endswith('3 backbones, 1 embedded, 2 cached')
    assert np.load(out/'resnet10t'/'embeddings.npz')['train'].shape == (60, 512 + 1000)   # pooled, classes
    r = cli('boost', '--run', out/'resnet10t', '--C', 4)           # each folder is an embeddings folder
    assert r.returncode == 0 and (out/'resnet10t'/'boost'/'submission.csv').is_file(), r.stderr[-2000:]
    zoo.write_text(entry('vit_convstem_nano', 'shiftvit_nano'))    # weights of another model
    err = _one_error_line(cli('embed', '--zoo', zoo, '--data', small_data, '--out', tmp_path/'z2'))
    assert 'zoo backbone vit_convstem_nano' in err and not (tmp_path/'z2').exists()
    zoo.write_text('- arch: vit_convstem_nano\n  weights: x.pth\n')
    err = _one_error_line(cli('embed', '--zoo', zoo, '--data', small_data, '--out', tmp_path/'z2'))
    assert "entry 1: unknown key(s) 'weights'" in err
    zoo.write_text(entry('vit_convstem_nanoo'))                    # an unknown architecture
    err = _one_error_line(cli('embed', '--zoo', zoo, '--data', small_data, '--out', tmp_path/'z2'))
    assert "unknown architecture 'vit_convstem_nanoo'" in err and not (tmp_path/'z2').exists()
    zoo.write_text(entry('shiftvit_nano', more='  features: logits\n'))   # saved without a classifier
    err = _one_error_line(cli('embed', '--zoo', zoo, '--data', small_data, '--out', tmp_path/'z2'))
    assert 'zoo backbone shiftvit_nano' in err and not (tmp_path/'z2').exists()

def test_select_features_stacks_backbones_that_predict_as_their_submission(cli, small_data, tmp_path):
    "`petvit select --features`: the table, the honest figures, a boost folder that predicts and blends"
    from petvit.models import create_model
    torch.manual_seed(0)
    for arch in ('vit_convstem_nano', 'shiftvit_nano', 'resnet10t'):
        torch.save(create_model(arch, img_size=32).backbone.state_dict(), tmp_path/f'{arch}.pth')
    zoo, out = tmp_path/'zoo.yaml', tmp_path/'zoo'
    zoo.write_text(''.join(f'- {{arch: {a}, pretrained: {a}.pth, img_size: 32}}\n'
                           for a in ('vit_convstem_nano', 'shiftvit_nano', 'resnet10t')))
    assert cli('embed', '--zoo', zoo, '--data', small_data, '--out', out, '--folds', 3).returncode == 0
    r = cli('select', '--features', *sorted(out.iterdir()), '--out', tmp_path/'stack', '--clip', 1, 85,
            '--data', small_data)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = r.stdout.splitlines()
    assert rows[0].split() == ['step', 'added', 'OOF', 'RMSE', 'gain'] and rows[-1].startswith('wrote ')
    assert sum(l.lstrip().startswith('alone: ') for l in rows) == 3 and 'OOF RMSE: honest' in r.stdout
    cv = json.loads((tmp_path/'stack'/'cv.json').read_text())
    s = cv['selection']
    assert cv['clip'] == [1, 85] and abs(cv['oof_rmse'] - s['oof_rmse_in_sample']) < 1e-9
    assert sorted(s['chosen_by_fold']) == ['0', '1', '2'] and set(s['singles']) == set(s['candidates'])
    assert cli('check-submission', tmp_path/'stack'/'submission.csv', '--data', small_data).returncode == 0
    r = cli('select', '--features', *sorted(out.iterdir()), '--out', tmp_path/'stack_r', '--select-model', 'ridge')
    assert r.returncode == 0 and 'scored with ridge' in r.stdout, r.stderr[-2000:]    # the stack: an SVR
    assert json.loads((tmp_path/'stack_r'/'boost.json').read_text())['model'] == 'svr'
    own = pd.read_csv(tmp_path/'stack'/'submission.csv')
    for bs in (3, 16):                                             # predicts its own submission
        r = cli('predict', '--run', tmp_path/'stack', '--data', small_data, '--out', tmp_path/f'p{bs}.csv',
                '--bs', bs)
        assert r.returncode == 0, r.stderr[-2000:]
        new = pd.read_csv(tmp_path/f'p{bs}.csv')
        assert (new.Id == own.Id).all() and (new.Pawpularity - own.Pawpularity).abs().max() < 1e-3
    assert 'name the folder to write (--out)' in _one_error_line(
        cli('boost', '--run', out/'shiftvit_nano', out/'resnet10t'))          # several sources
    r = cli('boost', '--run', out/'shiftvit_nano', out/'resnet10t', '--out', tmp_path/'side')
    assert r.returncode == 0 and (tmp_path/'side'/'submission.csv').is_file(), r.stderr[-2000:]
    r = cli('blend', tmp_path/'stack', out/'resnet10t', '--out', tmp_path/'blend')
    assert 'is not a petvit run, boost or blend' in _one_error_line(r)          # embeddings: boost them first
    assert cli('boost', '--run', out/'resnet10t').returncode == 0
    r = cli('select', tmp_path/'stack', out/'resnet10t'/'boost', '--out', tmp_path/'members')
    assert r.returncode == 0 and 'OOF RMSE: honest' in r.stdout, r.stderr[-2000:]   # the stack as a member
    assert cli('embed', '--zoo', zoo, '--data', small_data, '--out', tmp_path/'zoo4', '--folds', 4).returncode == 0
    err = _one_error_line(cli('select', '--features', out/'shiftvit_nano', tmp_path/'zoo4'/'resnet10t',
                              '--out', tmp_path/'x'))
    assert 'holds other images or folds' in err and not (tmp_path/'x').exists()
    assert cli('boost', '--run', tmp_path/'zoo4'/'resnet10t').returncode == 0
    err = _one_error_line(cli('select', tmp_path/'stack', tmp_path/'zoo4'/'resnet10t'/'boost', '--out', tmp_path/'x'))
    assert 'have different folds' in err and not (tmp_path/'x').exists()       # a member on other folds
