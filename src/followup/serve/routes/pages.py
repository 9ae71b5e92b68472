"""The follow-up page and the API docs, with their static files: served from the package (web/) and
the swagger-ui-bundle package, so neither needs a CDN."""

from __future__ import annotations

from importlib import resources

import swagger_ui_bundle
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

WEB = resources.files("followup") / "serve" / "web"

router = APIRouter()


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(str(WEB / "index.html"), media_type="text/html")


@router.get("/docs", include_in_schema=False)
async def docs() -> Response:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="followup API",
                               swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                               swagger_css_url="/docs-assets/swagger-ui.css",
                               swagger_favicon_url="/docs-assets/favicon-32x32.png")  # fmt: skip


def mount_static(app: FastAPI) -> None:
    """The page's files under /static, the docs' under /docs-assets."""
    app.mount("/static", StaticFiles(directory=str(WEB)), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")
