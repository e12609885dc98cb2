"Shared fixtures: the `petvit` command as a user runs it, and a demo dataset made by it."
import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# the user's petvit cache, as it is before `private_cache` points PETVIT_CACHE at a temporary folder
USER_CACHE = Path(os.environ.get('PETVIT_CACHE') or '~/.cache/petvit').expanduser()

def petvit(*args, cwd=None, timeout=600, env=None):
    "Run the installed `petvit` console script (W&B disabled unless `env` says); return the CompletedProcess (text)"
    exe = shutil.which('petvit', path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    assert exe, 'the petvit console script is not installed: pip install -e .'
    env = {k: v for k, v in {**os.environ, 'WANDB_MODE': 'disabled', **(env or {})}.items() if v is not None}  # None: unset
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)

@pytest.fixture(scope='session')
def demo_dir(tmp_path_factory):
    "A 300-image demo dataset written by `petvit demo-data` (shared, do not modify: copy it)"
    d = tmp_path_factory.mktemp('data')/'demo'
    r = petvit('demo-data', d, '--n', 300)
    assert r.returncode == 0, r.stderr
    return d

@pytest.fixture
def demo_copy(demo_dir, tmp_path):
    "A private copy of the demo dataset, free to break"
    d = tmp_path/'demo'
    shutil.copytree(demo_dir, d)
    return d

@pytest.fixture(scope='session')
def small_data(tmp_path_factory):
    "A 60-image demo dataset for short training runs (shared, do not modify)"
    d = tmp_path_factory.mktemp('small')/'data'
    assert petvit('demo-data', d, '--n', 60).returncode == 0
    return d

# Settings of a training run that takes seconds on a CPU
TINY = ['--arch', 'shiftvit_nano', '--pretrained', 'false', '--img-size', 32, '--bs', 8, '--tta', 2, '--wandb', 'disabled']

@pytest.fixture(autouse=True, scope='session')
def private_cache(tmp_path_factory):
    "Image caches and the demo dataset of the tests go to a temporary folder, not ~/.cache/petvit"
    old = os.environ.get('PETVIT_CACHE')
    os.environ['PETVIT_CACHE'] = str(tmp_path_factory.mktemp('petvit-cache'))
    yield
    if old is None: os.environ.pop('PETVIT_CACHE')
    else: os.environ['PETVIT_CACHE'] = old

@pytest.fixture
def cli(capsys, monkeypatch):
    "`petvit ARGS` in this process (no 4 s of imports per call), W&B disabled: exit status, stdout, stderr"
    from types import SimpleNamespace
    from petvit.cli import main
    monkeypatch.setenv('WANDB_MODE', os.environ.get('WANDB_MODE', 'disabled'))
    def run(*args):
        capsys.readouterr()
        saved = dict(os.environ)              # seeding sets PYTHONHASHSEED: keep it from later tests
        try: rc = main([str(a) for a in args])
        except SystemExit as e: rc = e.code                   # argparse's refusals
        finally: os.environ.clear(); os.environ.update(saved)
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=rc, stdout=out, stderr=err)
    return run

@pytest.fixture(scope='session')
def tiny_runs(small_data, tmp_path_factory):
    "Runs `a` (ShiftViT) and `b` (conv-stem ViT) on the same 2 folds of `small_data`, `a/boost`, and `blend` of a, a/boost, b (shared, do not modify: copy the folder)"
    root = tmp_path_factory.mktemp('tiny-runs')
    for name, arch in [('a', 'shiftvit_nano'), ('b', 'vit_convstem_nano')]:
        r = petvit('train', '--data', small_data, '--out', root/name, '--folds', 2, '--epochs', 1, *TINY, '--arch', arch)
        assert r.returncode == 0, r.stderr[-2000:]
    assert petvit('boost', '--run', root/'a').returncode == 0
    r = petvit('blend', root/'a', root/'a'/'boost', root/'b', '--out', root/'blend')
    assert r.returncode == 0, r.stderr[-2000:]
    return root

@pytest.fixture
def runs_copy(tiny_runs, tmp_path):
    "A private copy of `tiny_runs`, free to break"
    shutil.copytree(tiny_runs, tmp_path/'runs')
    return tmp_path/'runs'
