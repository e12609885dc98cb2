"""`pip install petvit` as a user gets it: `python -m build` makes an sdist and a wheel from it; the wheel,
installed into a fresh virtualenv (not editable, not this environment), imports, answers `petvit --help` and
trains on the demo data."""
import email, json, os, re, subprocess, sys, sysconfig, tarfile, venv, zipfile
from pathlib import Path
import pytest
from conftest import ROOT, TINY
from test_packaging import _settings

@pytest.fixture(scope='module')
def dists(tmp_path_factory):
    "The sdist and the wheel `python -m build` makes (the wheel is built from the sdist, as on PyPI)"
    out = tmp_path_factory.mktemp('dist')
    r = subprocess.run([sys.executable, '-m', 'build', '--outdir', out, ROOT], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (sdist,), (wheel,) = out.glob('*.tar.gz'), out.glob('*.whl')
    return sdist, wheel

def test_sdist_carries_what_the_wheel_build_needs(dists):
    names = {n.split('/', 1)[1] for n in tarfile.open(dists[0]).getnames() if '/' in n}
    assert {'settings.ini', 'setup.py', 'pyproject.toml', 'LICENSE', 'README.md', 'CHANGELOG.md'} <= names
    assert {f'petvit/{p.name}' for p in (ROOT/'petvit').glob('*.py')} <= names

def test_wheel_metadata_and_contents(dists):
    s, z = _settings(), zipfile.ZipFile(dists[1])
    assert {f'petvit/{p.name}' for p in (ROOT/'petvit').glob('*.py')} <= set(z.namelist())
    info = f"petvit-{s['version']}.dist-info"
    meta = email.message_from_bytes(z.read(f'{info}/METADATA'))
    assert meta['Version'] == s['version'] and meta['Summary'] == s['description']
    assert meta['License-Expression'] == 'Apache-2.0' and meta['Keywords'] == s['keywords']
    urls = dict(u.split(', ', 1) for u in meta.get_all('Project-URL'))
    assert urls['Source'] == s['git_url'] and urls['Documentation'].startswith(s['doc_host'])
    assert any(c.startswith('Development Status :: 3') for c in meta.get_all('Classifier'))
    assert set(s['requirements'].split()) <= {r.replace(' ', '') for r in meta.get_all('Requires-Dist')}
    assert 'petvit = petvit:cli_main' in z.read(f'{info}/entry_points.txt').decode()
    assert meta.get_payload(decode=True).decode() == (ROOT/'README.md').read_text()   # the README is the long description

def _fresh_venv(path, wheel, deps_from_this_env):
    "A new virtualenv holding the wheel; its dependencies from PyPI, or (quicker) seen from this environment"
    venv.create(path, with_pip=True)
    py = path/'bin'/'python'
    site = subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
                          capture_output=True, text=True).stdout.strip()
    if deps_from_this_env:
        # A path line in a .pth file adds the directory only: this environment's editable petvit (an import
        # hook started by its own .pth) stays out, so `import petvit` can only find the wheel's copy.
        Path(site, '_deps_from_dev_env.pth').write_text(sysconfig.get_path('purelib') + '\n')
    flags = ['--no-deps'] if deps_from_this_env else []
    r = subprocess.run([py, '-m', 'pip', 'install', '-q', *flags, wheel], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-2000:]
    return path/'bin', Path(site)

def _run(exe, *args, tmp_path, timeout=900):
    env = {**os.environ, 'WANDB_MODE': 'disabled', 'PETVIT_CACHE': str(tmp_path/'cache')}
    env.pop('PYTHONPATH', None)
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=timeout)

def _check_installed_wheel(bin_, site, tmp_path, *train_args):
    r = _run(bin_/'python', '-c', 'import petvit; print(petvit.__file__); print(petvit.__version__)', tmp_path=tmp_path)
    path, version = r.stdout.split()
    assert Path(path).is_relative_to(site), f'petvit imported from {path}, not from the wheel in {site}'
    assert version == _settings()['version']
    r = _run(bin_/'petvit', '--help', tmp_path=tmp_path)
    assert r.returncode == 0 and all(c in r.stdout for c in ('train', 'predict', 'explain', 'check')), r.stdout
    r = _run(bin_/'petvit', 'train', '--out', tmp_path/'run', *train_args, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r'^OOF RMSE [\d.]+ vs [\d.]+', r.stdout, re.M), r.stdout[-1500:]
    return json.loads((tmp_path/'run'/'cv.json').read_text())

def test_wheel_in_fresh_venv_trains_on_demo(dists, small_data, tmp_path):
    """The wheel alone in a new venv (dependencies seen from this one, to skip a 5 GB install): a short run on the
    session's 60-image demo data (`train --demo` itself: tests/test_demo.py, and from the wheel the slow test below)"""
    bin_, site = _fresh_venv(tmp_path/'venv', dists[1], deps_from_this_env=True)
    cv = _check_installed_wheel(bin_, site, tmp_path, '--data', small_data, '--folds', 2, '--epochs', 1, *TINY)
    assert 0 < cv['oof_rmse'] < 100

@pytest.mark.skipif(not os.environ.get('PETVIT_SLOW'), reason='installs torch & co from PyPI (~3 min) and runs the full demo (~4 min): set PETVIT_SLOW=1')
def test_wheel_with_its_dependencies_runs_the_demo(dists, tmp_path):
    "What `pip install petvit && petvit train --demo` does on a fresh machine, and that the demo learns"
    bin_, site = _fresh_venv(tmp_path/'venv', dists[1], deps_from_this_env=False)
    cv = _check_installed_wheel(bin_, site, tmp_path, '--demo')
    assert cv['oof_rmse'] <= 0.7 * cv['baseline_rmse'], cv
