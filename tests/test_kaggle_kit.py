"""The offline Kaggle kit end to end: `petvit kaggle-kit` builds it, a fresh venv that sees this environment's
packages but the kit's (a stand-in for the Kaggle image) installs petvit from it with `--no-index` only, and runs
nbs/13_kaggle_inference.ipynb, which writes a valid submission.csv of a blend."""
import importlib.metadata, json, os, subprocess, sys, sysconfig
from pathlib import Path
import pandas as pd
import pytest
from conftest import petvit, TINY, ROOT

KIT_DISTS = ('petvit', 'grad-cam', 'ttach', 'opencv-python-headless')

def kaggle_like_site(dst:Path):
    "Links to this environment's packages, but not the kit's: the packages a Kaggle image has"
    skip = {f.parts[0] for name in KIT_DISTS for f in importlib.metadata.distribution(name).files or []}
    dst.mkdir()
    for entry in Path(sysconfig.get_paths()['purelib']).iterdir():
        if entry.name in skip or entry.suffix == '.pth' or entry.name.startswith('__editable__'): continue
        (dst/entry.name).symlink_to(entry)
    return dst

def test_kit_installs_offline_and_its_notebook_writes_a_valid_submission(small_data, tiny_runs, tmp_path):
    kit = tmp_path/'kit'
    r = petvit('kaggle-kit', kit, timeout=900)
    if r.returncode and 'failed' in r.stderr and ('index' in r.stderr or 'connection' in r.stderr.lower()):
        pytest.skip(f'cannot build the kit without the package index: {r.stderr.strip()}')
    assert r.returncode == 0, r.stderr
    manifest = json.loads((kit/'kit.json').read_text())
    assert set(manifest['pins']) == set(KIT_DISTS)
    assert all(manifest['pins'][n] == importlib.metadata.version(n) for n in KIT_DISTS)   # pinned to what was tested
    assert len(manifest['files']) == 4
    runs = tiny_runs                                        # the weights dataset: two runs, one boost, a blend

    venv = tmp_path/'venv'
    subprocess.run([sys._base_executable, '-m', 'venv', venv], check=True)
    py = venv/'bin'/'python'
    site = Path(subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site/'kaggle_image.pth').write_text(str(kaggle_like_site(tmp_path/'image')) + '\n')
    probe = subprocess.run([py, '-c', 'from importlib.util import find_spec as f\n'
                            'print([f(m) is not None for m in ("torch", "timm", "fastai", "petvit")])'],
                           capture_output=True, text=True, cwd=tmp_path)     # not from the clone's folder
    assert probe.stdout.strip() == '[True, True, True, False]', probe.stderr   # the image has the stack, not petvit
    work = tmp_path/'working'; work.mkdir()
    env = {**os.environ, 'PETVIT_KIT': str(kit), 'PETVIT_RUNS': str(runs), 'PETVIT_DATA': str(small_data),
           'PETVIT_MEMBER': 'blend', 'PETVIT_OUT': str(work), 'WANDB_MODE': 'disabled',
           'PIP_CONFIG_FILE': os.devnull, 'PIP_INDEX_URL': 'http://127.0.0.1:9/simple', 'PIP_NO_INDEX': '1',
           'VIRTUAL_ENV': str(venv), 'PATH': f"{venv/'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop('PYTHONPATH', None)
    r = subprocess.run([py, '-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--output', tmp_path/'ran.ipynb',
                        ROOT/'nbs'/'13_kaggle_inference.ipynb'], capture_output=True, text=True, env=env, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    where = subprocess.run([py, '-c', 'import petvit, pytorch_grad_cam; print(petvit.__file__); print(pytorch_grad_cam.__file__)'],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert all(line.startswith(str(venv)) for line in where.stdout.split()), where.stdout    # installed from the kit
    assert petvit('check-submission', work/'submission.csv', '--data', small_data).returncode == 0
    new, old = pd.read_csv(work/'submission.csv'), pd.read_csv(runs/'blend'/'submission.csv')
    assert (new.Id == old.Id).all() and (new.Pawpularity - old.Pawpularity).abs().max() < 1e-3
