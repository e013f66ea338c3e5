"""Question answering over Chinese articles: hybrid retrieval with cited, highlighted answers."""

__version__ = "0.1.0"

import warnings

# milvus-lite 2.5 needs setuptools < 81 (pkg_resources); jieba and zhconv then import it and warn on every command.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
