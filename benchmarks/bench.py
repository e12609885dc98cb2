"""petvit's benchmark: `python benchmarks/bench.py [--mode small|full|gpu] [--device D] [--out FILE.json]`.

The same as `petvit bench`: reading photo-sized JPEGs vs the image cache, the fastai Learner vs a plain PyTorch loop,
inference with TTA, FLOPs/MFU on a GPU, and a whole K-fold CV. The code lives in nbs/10_benchmark.ipynb (petvit.bench).
"""
import sys
from petvit.cli import main

if __name__ == '__main__': sys.exit(main(['bench', *sys.argv[1:]]))
