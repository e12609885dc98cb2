"`petvit explain` end to end: a tiny ViT run, its maps and gallery page; Grad-CAM for other backbones; bad input in one line."
import re
import pandas as pd
import pytest
from conftest import petvit

VIT = ['--arch', 'vit_convstem_nano', '--pretrained', 'false', '--img-size', 32, '--bs', 8, '--tta', 1, '--wandb', 'disabled']

@pytest.fixture(scope='module')
def vit_run(tmp_path_factory):
    d = tmp_path_factory.mktemp('explain')
    assert petvit('demo-data', d/'data', '--n', 60).returncode == 0
    r = petvit('train', '--data', d/'data', '--out', d/'run', '--folds', 2, '--epochs', 1, *VIT)
    assert r.returncode == 0, r.stderr[-2000:]
    return d

def test_explain_writes_pngs_and_gallery(vit_run):
    r = petvit('explain', '--run', vit_run/'run', '--worst', 3, '--best', 2, '--out', vit_run/'maps')
    assert r.returncode == 0, r.stderr[-2000:]
    pngs = sorted(p.name for p in (vit_run/'maps').glob('*.png'))
    assert len(pngs) == 5 and all((vit_run/'maps'/p).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' for p in pngs)
    page = (vit_run/'maps'/'index.html').read_text()
    assert sorted(re.findall(r'<img src="([^"]+)"', page)) == pngs
    oof = pd.read_csv(vit_run/'run'/'oof.csv', dtype={'Id': str})
    worst = oof.Id[(oof.pred - oof.Pawpularity).abs().idxmax()]
    assert f'worst_{worst}.png' in pngs

def test_explain_chosen_ids_with_grad_method(vit_run):
    ids = pd.read_csv(vit_run/'run'/'oof.csv', dtype={'Id': str}).Id[:2].tolist()
    r = petvit('explain', '--run', vit_run/'run', '--ids', *ids, '--method', 'grad', '--out', vit_run/'grad')
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (vit_run/'grad').glob('*.png')) == sorted(f'chosen_{i}.png' for i in ids)

def test_explain_bad_input_one_line(vit_run, tmp_path):
    half = tmp_path/'half'; half.mkdir()                      # a run folder not merged yet
    (half/'config.json').write_bytes((vit_run/'run'/'config.json').read_bytes())
    for args, msg in [(['--run', tmp_path], 'is not a petvit run folder'), (['--run', half], 'no oof.csv'),
                      (['--run', vit_run/'run', '--ids', 'nope'], 'no row for Id(s) nope')]:
        r = petvit('explain', *args, '--out', tmp_path/'x')
        assert r.returncode == 2 and r.stderr.count('\n') == 1 and msg in r.stderr, r.stderr

def test_explain_any_backbone_with_gradcam(tmp_path):
    "A run of an attention-free backbone: 'auto' draws Grad-CAM maps; rollout is refused in one line naming it"
    assert petvit('demo-data', tmp_path/'data', '--n', 40).returncode == 0
    tiny = ['--arch', 'shiftvit_nano', '--pretrained', 'false', '--img-size', 32, '--bs', 8, '--tta', 1, '--wandb', 'disabled']
    r = petvit('train', '--data', tmp_path/'data', '--out', tmp_path/'run', '--folds', 2, '--epochs', 1, *tiny)
    assert r.returncode == 0, r.stderr[-2000:]
    r = petvit('explain', '--run', tmp_path/'run', '--worst', 2, '--best', 1)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path/'run'/'explain'/'index.html').read_text()
    assert 'Grad-CAM (Selvaraju et al. 2017)' in page and page.count('<figure>') == 3
    r = petvit('explain', '--run', tmp_path/'run', '--method', 'rollout', '--out', tmp_path/'x')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and '--method gradcam' in r.stderr, r.stderr
    assert not (tmp_path/'x').exists()
