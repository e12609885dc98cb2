"""The docs site: every exported symbol documented, the sidebar in reading order, and the pages rendered from
the processed notebooks (`nbdev_proc_nbs`, then nbconvert; Quarto itself is not installable here) showing
their figures — in headless Chromium too, where it is installed."""
import importlib, inspect, json, subprocess, sys
import pytest, yaml
from fastcore.docments import docments
from conftest import ROOT
sys.path.insert(0, str(ROOT/'tools'))
from render_docs import find_chromium, page_figures, page_summary

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
    "Each notebook's page has a `show_doc` entry (with its link to the source) for each symbol it exports"
    from petvit._modidx import d
    pages = {p.stem: page_summary(p) for p in site.glob('*.html')}
    assert set(pages) == {p.stem for p in (ROOT/'nbs').glob('*.ipynb')}
    exported = {}
    for mod, syms in d['syms'].items():
        for name, (url, _) in syms.items():
            if '.' not in name[len(mod) + 1:] and not name[len(mod) + 1:].startswith('_'):
                exported[url.split('.html')[0]] = exported.get(url.split('.html')[0], 0) + 1
    for stem, s in pages.items():
        want = exported.get(stem.split('_', 1)[1] if stem[:2].isdigit() else stem, 0)
        assert s['api'] >= want, f'{stem}: {s["api"]} API entries for {want} exported symbols' 

@pytest.mark.parametrize('page,min_figures', [('index', 2), ('01a_folds', 1), ('01b_images', 1), ('02_augment', 3), ('07_oof_tta', 1),
                                                 ('08_attention_rollout', 2)])
def test_main_pages_show_their_figures(site, page, min_figures):
    sizes = page_figures(site/f'{page}.html')
    assert len(sizes) >= min_figures and all(w >= 100 and h >= 100 for w, h in sizes), sizes

@pytest.mark.skipif(not find_chromium(), reason='headless screenshots need Chromium (Debian: apt-get install chromium)')
@pytest.mark.parametrize('page', ['index', '08_attention_rollout'])
def test_pages_in_chromium_are_not_blank(site, page):
    "The screenshot holds the page as drawn: text and figures, many colours, not a blank or error page"
    from PIL import Image, ImageStat
    im = Image.open(site/f'{page}.png').convert('RGB')
    assert im.size[0] >= 1000
    colours = len(im.getcolors(1 << 24))
    assert colours > 1000 and max(ImageStat.Stat(im).stddev) > 20, (colours, ImageStat.Stat(im).stddev)
