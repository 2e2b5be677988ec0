"""`python app.py` starts the chipqa web UI and JSON API (host and port from CHIPQA_UI_HOST / CHIPQA_UI_PORT)."""

from chipqa.app.service import ChipQA
from chipqa.app.web.server import serve
from chipqa.core.settings import load_settings
from chipqa.index.embedding import offline

if __name__ == "__main__":
    offline()
    serve(ChipQA(load_settings()))
