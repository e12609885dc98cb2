"""Packaging for petvit: every field comes from settings.ini (the nbdev 2 convention)."""
from configparser import ConfigParser
import setuptools

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

expected = ['version', 'description', 'keywords', 'author', 'author_email', 'branch', 'license',
            'min_python', 'status', 'audience', 'language', 'git_url', 'lib_path', 'lib_name']
missing = [o for o in expected if o not in cfg]
if missing: raise SystemExit(f'settings.ini is missing {missing}')

spdx_licenses = dict(apache2='Apache-2.0')   # PEP 639: an SPDX expression, not a classifier
statuses = {o[0]: o for o in ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta',
                               '5 - Production/Stable', '6 - Mature', '7 - Inactive']}
py_versions = '3.10 3.11 3.12 3.13'.split()
min_python = cfg['min_python']

requirements = cfg.get('requirements', '').split()
dev_requirements = cfg.get('dev_requirements', '').split()
console_scripts = cfg.get('console_scripts', '').split()

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    license_expression=spdx_licenses.get(cfg['license'].lower(), cfg['license']),
    license_files=['LICENSE'],
    classifiers=['Development Status :: ' + statuses[cfg['status']],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title(),
                 'Topic :: Scientific/Engineering :: Artificial Intelligence',
                 'Topic :: Scientific/Engineering :: Image Recognition'] +
                ['Programming Language :: Python :: ' + o
                 for o in py_versions[py_versions.index(min_python):]],
    url=cfg['git_url'],
    project_urls={'Documentation': cfg['doc_host'] + cfg['doc_baseurl'], 'Source': cfg['git_url'],
                  'Issues': cfg['git_url'] + '/issues'},
    packages=setuptools.find_packages(include=[cfg['lib_path'], cfg['lib_path'] + '.*']),
    include_package_data=True,
    install_requires=requirements,
    extras_require={'dev': dev_requirements},
    dependency_links=cfg.get('dep_links', '').split(),
    python_requires='>=' + min_python,
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': console_scripts, 'nbdev': [f'{cfg["lib_path"]}={cfg["lib_path"]}._modidx:d']},
    description=cfg['description'],
    keywords=cfg['keywords'],
    author=cfg['author'],
    author_email=cfg['author_email'],
)
