"""`python app.py` starts the chipqa web UI and JSON API (host and port from CHIPQA_UI_HOST / CHIPQA_UI_PORT)."""

from chipqa.embedding import offline
from chipqa.service import ChipQA
from chipqa.settings import load_settings
from chipqa.ui import serve

if __name__ == "__main__":
    offline()
    serve(ChipQA(load_settings()))
