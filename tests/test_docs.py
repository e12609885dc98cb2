"""The docs site: every exported symbol documented, the sidebar in reading order, and the pages rendered from
the processed notebooks (`nbdev_proc_nbs`, then nbconvert; Quarto itself is not installable here) showing
their figures — in headless Chromium too, where it is installed."""
import importlib, inspect, json, os, shutil, subprocess, sys
from pathlib import Path
import pytest, yaml
from fastcore.docments import docments
from conftest import ROOT
sys.path.insert(0, str(ROOT/'tools'))
from render_docs import PROC, broken_links, find_chromium, page_figures, page_names, page_summary

def _api():
    "Top-level public symbols exported by the notebooks, as (qualified name, object)"
    from petvit._modidx import d
    for mod, names in d['syms'].items():
        m = importlib.import_module(mod)
        for name in names:
            short = name[len(mod) + 1:]
            if '.' not in short and not short.startswith('_'): yield name, getattr(m, short)

def _undocumented(obj):
    "What `show_doc` would show empty for `obj`: its docstring, parameters without a comment"
    gaps = [] if inspect.getdoc(obj) else ['docstring']
    target = obj
    if inspect.isclass(obj) and not hasattr(obj, '__dataclass_fields__'):
        target = obj.__init__
        if not (getattr(target, '__module__', None) or '').startswith('petvit'): return gaps   # documented upstream
    try: sig = inspect.signature(target)
    except (TypeError, ValueError): return gaps
    docs = docments(obj if inspect.isclass(obj) else target)
    return gaps + [p for p, v in sig.parameters.items() if p not in ('self', 'return') and docs.get(p) is None
                   and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]

def test_every_exported_symbol_has_docstring_and_documented_parameters():
    api = dict(_api())
    assert len(api) > 100
    gaps = {name: g for name, obj in api.items() if (g := _undocumented(obj))}
    assert not gaps, f'document these (a docstring, a comment after each parameter): {gaps}'

def test_sidebar_lists_every_notebook_in_reading_order():
    side = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    assert side[0] == 'index.ipynb'
    single = [s['section'] for s in side[1:] if len(s['contents']) < 2]
    assert not single, f'sections of one page show as "Data › Data": group them by topic ({single})'
    listed = [nb for s in side[1:] for nb in s['contents']]
    numbered = sorted(p.name for p in (ROOT/'nbs').glob('[0-9][0-9]*_*.ipynb'))
    assert listed == numbered, 'sidebar.yml must list every numbered notebook once, in order'

def test_notebooks_open_with_title_and_summary():
    for p in sorted((ROOT/'nbs').glob('*.ipynb')):
        md = next(c for c in json.loads(p.read_text())['cells'] if c['cell_type'] == 'markdown')
        lines = ''.join(md['source']).strip().split('\n')
        assert lines[0].startswith('# ') and any(l.startswith('> ') for l in lines[1:]), p.name

@pytest.fixture(scope='session')
def site(built_once):
    "All pages rendered by tools/render_docs.py (nbdev_proc_nbs + nbconvert), screenshots where Chromium is installed"
    def build(out):
        shots = ['--screenshots'] if find_chromium() else []
        r = subprocess.run([sys.executable, ROOT/'tools'/'render_docs.py', '--out', out, *shots], capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return built_once('site', build)

def test_every_page_renders_with_its_api_reference(site):
    "Each page, named as nbdev names it, has a `show_doc` entry for each symbol its notebook exports"
    from petvit._modidx import d
    pages = {p.name: page_summary(p) for p in site.glob('*.html')}
    assert set(pages) == set(page_names(PROC).values())
    exported = {}
    for mod, syms in d['syms'].items():
        for name, (url, _) in syms.items():
            if '.' not in name[len(mod) + 1:] and not name[len(mod) + 1:].startswith('_'):
                page = url.split('#')[0]
                exported[page] = exported.get(page, 0) + 1
    for page, s in pages.items():
        assert s['api'] >= exported.get(page, 0), f'{page}: {s["api"]} API entries for {exported[page]}'

@pytest.mark.parametrize('page,min_figures', [('index', 2), ('folds', 1), ('images', 1), ('augment', 3),
                                              ('cv', 1), ('attention_rollout', 2)])
def test_main_pages_show_their_figures(site, page, min_figures):
    sizes = page_figures(site/f'{page}.html')
    assert len(sizes) >= min_figures and all(w >= 100 and h >= 100 for w, h in sizes), sizes

def test_every_link_to_a_page_and_anchor_lands(site):
    "README's and the notebooks' links to the site, against the pages nbdev_proc_nbs names and their headings"
    assert page_names(PROC)['08_attention_rollout'] == 'attention_rollout.html'     # nbdev's names
    assert broken_links() == []

def test_the_link_check_finds_planted_broken_links(site, tmp_path):
    import nbformat
    proc = tmp_path/'_proc'
    shutil.copytree(PROC, proc, ignore=shutil.ignore_patterns('_docs', '*.png'))
    nb = nbformat.read(proc/'index.ipynb', as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        '[gone](09_nothing.ipynb), [anchor](https://petvit.github.io/petvit/core.html#no_such_thing), '
        '[fine](core.html#petconfig), [fine too](00_core.ipynb#petconfig)'))
    nbformat.write(nb, proc/'index.ipynb')
    readme = tmp_path/'README.md'
    readme.write_text((ROOT/'README.md').read_text() + '\n[plan](https://petvit.github.io/petvit/11a_plan.html)\n')
    broken = broken_links(proc, readme)
    assert len(broken) == 3, broken
    assert any('09_nothing.ipynb' in b for b in broken) and any('#no_such_thing' in b for b in broken)
    assert any(b.startswith('README.md: ') and 'no page 11a_plan.html' in b for b in broken)

STUB_QUARTO = """#!/bin/sh
# quarto as nbdev_docs calls it: `render NB -o README.md -t gfm` (nbdev's README step) or the site
mkdir -p _docs
case " $* " in
  *" -o README.md "*) echo "README rendered by quarto" > _docs/README.md ;;
  *) echo "<html></html>" > _docs/index.html ;;
esac
"""

def test_nbdev_docs_in_a_fresh_clone_changes_nothing_tracked(tmp_path):
    "nbdev_docs leaves README.md to tools/make_readme.py, and its build writes nothing outside _proc/_docs"
    repo, bin_, tmp = tmp_path/'repo', tmp_path/'bin', tmp_path/'tmp'
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split('\0')
    for f in filter(None, files):
        if (ROOT/f).is_file():
            (repo/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/f, repo/f)
    git = lambda *a: subprocess.run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', *a], cwd=repo,
                                    capture_output=True, text=True, check=True).stdout
    git('init', '-q'); git('add', '-A'); git('commit', '-qm', 'clone')
    os.utime(repo/'README.md', (0, 0))          # older than nbs/index.ipynb, as a clone may leave it
    bin_.mkdir(); tmp.mkdir()
    (bin_/'quarto').write_text(STUB_QUARTO); (bin_/'quarto').chmod(0o755)
    env = {**os.environ, 'PATH': f"{bin_}{os.pathsep}{os.environ['PATH']}", 'TMPDIR': str(tmp),
           'WANDB_MODE': 'disabled', 'MPLBACKEND': 'Agg'}
    r = subprocess.run([Path(sys.executable).parent/'nbdev_docs', '--n_workers', '1'], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert (repo/'_docs'/'index.html').is_file()                  # the stand-in rendered the site
    assert git('status', '--porcelain') == ''                      # README.md and every tracked file as cloned
    left = [p.name for p in tmp.iterdir() if not p.name.startswith('torchinductor_')]  # torch's own cache
    assert left == []                                              # no temp folder left by the build

@pytest.mark.skipif(not find_chromium(), reason='headless screenshots need Chromium (Debian: apt-get install chromium)')
@pytest.mark.parametrize('page', ['index', 'attention_rollout'])
def test_pages_in_chromium_are_not_blank(site, page):
    "The screenshot holds the page as drawn: text and figures, many colours, not a blank or error page"
    from PIL import Image, ImageStat
    im = Image.open(site/f'{page}.png').convert('RGB')
    assert im.size[0] >= 1000
    colours = len(im.getcolors(1 << 24))
    assert colours > 1000 and max(ImageStat.Stat(im).stddev) > 20, (colours, ImageStat.Stat(im).stddev)
