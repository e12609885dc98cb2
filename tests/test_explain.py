"`petvit explain` end to end: a tiny ViT run, its maps and gallery page; Grad-CAM for other backbones; bad input in one line."
import re, shutil
import pandas as pd
import pytest
from conftest import petvit


@pytest.fixture
def vit_run(tiny_runs, tmp_path):
    "A folder holding `run`: a tiny conv-stem ViT run (the session's tiny_runs/b), outputs go beside it"
    (tmp_path/'run').symlink_to(tiny_runs/'b', target_is_directory=True)
    return tmp_path

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

def test_explain_chosen_ids_with_grad_method(cli, vit_run):
    ids = pd.read_csv(vit_run/'run'/'oof.csv', dtype={'Id': str}).Id[:2].tolist()
    r = cli('explain', '--run', vit_run/'run', '--ids', *ids, '--method', 'grad', '--out', vit_run/'grad')
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (vit_run/'grad').glob('*.png')) == sorted(f'chosen_{i}.png' for i in ids)

def test_explain_bad_input_one_line(cli, vit_run, tmp_path):
    half = tmp_path/'half'; half.mkdir()                      # a run folder not merged yet
    (half/'config.json').write_bytes((vit_run/'run'/'config.json').read_bytes())
    for args, msg in [(['--run', tmp_path], 'is not a petvit run folder'), (['--run', half], 'no oof.csv'),
                      (['--run', vit_run/'run', '--ids', 'nope'], 'no row for Id(s) nope')]:
        r = cli('explain', *args, '--out', tmp_path/'x')
        assert r.returncode == 2 and r.stderr.count('\n') == 1 and msg in r.stderr, r.stderr

def test_explain_any_backbone_with_gradcam(cli, tiny_runs, tmp_path):
    "A run of an attention-free backbone: 'auto' draws Grad-CAM maps; rollout is refused in one line naming it"
    shutil.copytree(tiny_runs/'a', tmp_path/'run')          # shiftvit_nano: no attention to roll out
    r = cli('explain', '--run', tmp_path/'run', '--worst', 2, '--best', 1)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path/'run'/'explain'/'index.html').read_text()
    assert 'Grad-CAM (Selvaraju et al. 2017)' in page and page.count('<figure>') == 3
    r = cli('explain', '--run', tmp_path/'run', '--method', 'rollout', '--out', tmp_path/'x')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and '--method gradcam' in r.stderr, r.stderr
    assert not (tmp_path/'x').exists()
