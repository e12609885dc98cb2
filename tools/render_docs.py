"""Render the docs without Quarto: `nbdev_proc_nbs`, then each processed notebook to HTML with nbconvert.

Quarto (what `nbdev_docs` uses) cannot be installed everywhere; this renders the same processed notebooks
(`_proc/`, with nbdev's `show_doc` API reference added) so that the pages and their figures can be checked,
and, with `--screenshots`, takes a PNG of each page with headless Chromium (Debian package `chromium`).

    python tools/render_docs.py --out _site_preview --screenshots index 08_attention_rollout

Prints one line per page: its figures (images embedded or linked), tables and API entries.
"""
import argparse, base64, html, io, os, re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, PROC = ROOT/'nbs', ROOT/'_proc'

def proc_nbs():
    "Run `nbdev_proc_nbs`; without Quarto, a stand-in `quarto` on PATH stops nbdev from trying to install it (sudo)"
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as stub:
        if not shutil.which('quarto'):
            q = Path(stub)/'quarto'
            q.write_text('#!/bin/sh\necho "quarto is not installed (tools/render_docs.py stand-in)" >&2\nexit 1\n')
            q.chmod(0o755)
            env['PATH'] = stub + os.pathsep + env['PATH']
        exe = Path(sys.executable).parent/'nbdev_proc_nbs'
        shutil.rmtree(PROC, ignore_errors=True)   # a fresh _proc; not `--force`, which also rewrites our hand-written sidebar.yml
        r = subprocess.run([exe, '--n_workers', '1'], cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode: sys.exit(f'nbdev_proc_nbs failed:\n{r.stdout[-3000:]}{r.stderr[-3000:]}')

_DIRECTIVE = re.compile(r'^#\|\s*(.*)$')

def _quarto_like(nb):
    "What Quarto does with processed notebooks: front matter as title and summary; echo/output/include: false"
    import nbformat, yaml
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):   # front matter: Quarto shows title and description
            fm = yaml.safe_load(c.source.strip().strip('-')) or {}
            c = nbformat.v4.new_markdown_cell(f"# {fm.get('title', '')}\n\n> {fm.get('description', '')}")
        if c.cell_type == 'code':
            lines = c.source.split('\n')
            opts = {m.group(1).strip() for l in lines if (m := _DIRECTIVE.match(l))}
            if 'include: false' in opts: continue
            c.source = '\n'.join(l for l in lines if not _DIRECTIVE.match(l)).strip('\n')
            if 'output: false' in opts: c.outputs = []
            if 'echo: false' in opts: c.metadata.setdefault('tags', []).append('remove_input')
            if not c.source and not c.outputs: continue
            for o in c.outputs:    # Pandoc link attributes ({target=...}) are Quarto's; plain Markdown shows them
                md = o.get('data', {}).get('text/markdown')
                if md: o['data']['text/markdown'] = re.sub(r'\)\{[^}]*\}', ')', md)
        cells.append(c)
    nb.cells = cells
    return nb

def _processed(proc=PROC)->dict:
    "{notebook stem: the processed notebook}, each read once"
    import nbformat
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(Path(proc).glob('*.ipynb'))}

def _page_of(stem:str, nb)->str:
    "The page nbdev makes of a processed notebook: `output-file` in its front matter"
    import yaml
    raw = next((c.source for c in nb.cells if c.cell_type == 'raw' and c.source.startswith('---')),
               '---\n---')
    return (yaml.safe_load(raw.strip().strip('-')) or {}).get('output-file', f'{stem}.html')

def page_names(proc=PROC)->dict:
    "{notebook stem: its page}, as nbdev names the page (`output-file` in the processed front matter)"
    return {stem: _page_of(stem, nb) for stem, nb in _processed(proc).items()}

def pandoc_id(heading:str)->str:
    "The id Pandoc (and so Quarto) gives a heading: lowercase, spaces to hyphens, no leading punctuation"
    text = re.sub(r'`|\*|\[([^\]]*)\]\([^)]*\)', lambda m: m[1] or '', heading).strip().lower()
    text = re.sub(r'[^\w\s.-]', '', text, flags=re.A)
    return re.sub(r'^[^a-z]+', '', re.sub(r'\s+', '-', text))

def _markdown_of(nb)->list:
    "The Markdown a processed notebook shows: its Markdown cells and Markdown outputs (show_doc's)"
    texts = [c.source for c in nb.cells if c.cell_type == 'markdown']
    for c in nb.cells:
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md: texts.append(''.join(md))
    return texts

def page_anchors(nb)->set:
    "Ids of a processed notebook's headings, and explicit `{#id}`s"
    ids = set()
    for text in _markdown_of(nb):
        for line in re.findall(r'^#{1,6}\s+(.+)$', text, re.M):
            explicit = re.search(r'\{#([\w.-]+)[^}]*\}\s*$', line)
            ids.add(explicit[1] if explicit else pandoc_id(line))
    return ids

_LINK = re.compile(r'\]\(([^)\s]+)\)')

def broken_links(proc=PROC, readme=ROOT/'README.md')->list:
    "Links of the processed notebooks and the README to a page or anchor of the site that does not exist"
    import configparser
    ini = configparser.ConfigParser(delimiters=['=']); ini.read(ROOT/'settings.ini', encoding='utf-8')
    site = ini['DEFAULT']['doc_host'].rstrip('/') + ini['DEFAULT']['doc_baseurl'].rstrip('/') + '/'
    nbs = _processed(proc)
    names = {stem: _page_of(stem, nb) for stem, nb in nbs.items()}
    anchors = {names[stem]: page_anchors(nb) for stem, nb in nbs.items()}
    sources = {f'{stem}.ipynb': '\n'.join(_markdown_of(nb)) for stem, nb in nbs.items()}
    if readme: sources['README.md'] = Path(readme).read_text(encoding='utf-8')
    broken = []
    for source, text in sources.items():
        here = names.get(source[:-len('.ipynb')]) if source.endswith('.ipynb') else None
        for link in _LINK.findall(text):
            if link.startswith(site): target = link[len(site):]
            elif '://' in link or link.startswith('mailto:') or source == 'README.md': continue
            else: target = link
            page, _, anchor = target.partition('#')
            if page.endswith('.ipynb'): page = names.get(page[:-len('.ipynb')], f'missing notebook {page}')
            elif not page: page = here
            elif not page.endswith('.html'): continue          # images and other files
            if page not in anchors: broken.append(f'{source}: {link} (no page {page})')
            elif anchor and anchor not in anchors[page]:
                broken.append(f'{source}: {link} (no #{anchor} on {page})')
    return broken

def render(names, out):
    "HTML pages of the processed notebooks `names` in `out`; the images folder comes along for linked figures"
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    exporter = HTMLExporter(template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={'remove_input'}), enabled=True)
    out.mkdir(parents=True, exist_ok=True)
    if (PROC/'images').is_dir(): shutil.copytree(PROC/'images', out/'images', dirs_exist_ok=True)
    pages, page_of = {}, page_names(PROC)
    for name in names:
        nb = _quarto_like(nbformat.read(PROC/f'{name}.ipynb', as_version=4))
        body, _ = exporter.from_notebook_node(nb)
        page = out/page_of[name]                           # named as nbdev names it: 08_x -> x.html
        page.write_text(body, encoding='utf-8')
        pages[name] = page
    return pages

def page_figures(page:Path)->list:
    "Sizes (w, h) of the figures of an HTML page: embedded PNG/JPEG outputs, and linked images that exist"
    from PIL import Image
    sizes = []
    for src in re.findall(r'<img[^>]*\ssrc="([^"]+)"', page.read_text(encoding='utf-8')):
        src = html.unescape(src)
        if src.startswith('data:image/'): data = io.BytesIO(base64.b64decode(src.split(',', 1)[1]))
        elif (page.parent/src).is_file(): data = page.parent/src
        else: continue
        with Image.open(data) as im: sizes.append(im.size)
    return sizes

def page_summary(page:Path)->dict:
    "Counts of what a rendered page shows: figures, tables, API entries (show_doc's links to the source)"
    text = page.read_text(encoding='utf-8')
    return dict(figures=len(page_figures(page)), tables=text.count('<table'), api=text.count('>source</a>'))

def find_chromium():
    "Path of a Chromium-family browser (Debian's chromium, or google-chrome as on GitHub's runners), or None"
    return next((p for n in ('chromium', 'chromium-browser', 'google-chrome') if (p := shutil.which(n))), None)

def screenshot(page:Path, png:Path, width:int=1280, height:int=3000):
    "PNG of `page` as headless Chromium shows it"
    exe = find_chromium()
    if not exe: sys.exit('headless screenshots need Chromium (Debian: apt-get install chromium)')
    r = subprocess.run([exe, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
                        f'--screenshot={png}', f'--window-size={width},{height}', page.resolve().as_uri()],
                       capture_output=True, text=True, timeout=120)
    if r.returncode or not png.is_file(): sys.exit(f'chromium failed on {page}: {r.stderr[-1000:]}')
    return png

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('pages', nargs='*', help='notebook names without .ipynb (default: all)')
    p.add_argument('--out', default='_site_preview', help='folder for the HTML pages (and screenshots)')
    p.add_argument('--screenshots', action='store_true', help='also a PNG of each page, by headless Chromium')
    p.add_argument('--no-proc', action='store_true', help='reuse _proc/ from an earlier nbdev_proc_nbs')
    a = p.parse_args(argv)
    if not a.no_proc: proc_nbs()
    names = a.pages or sorted(q.stem for q in PROC.glob('*.ipynb'))
    pages = render(names, Path(a.out))
    for name, page in pages.items():
        s = page_summary(page)
        line = f"{name:28s} figures {s['figures']:3d}  tables {s['tables']:3d}  API {s['api']:3d}  -> {page}"
        if a.screenshots: line += f"  screenshot {screenshot(page, page.with_suffix('.png'))}"
        print(line)

if __name__ == '__main__': main()
