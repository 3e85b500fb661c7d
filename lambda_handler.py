"""AWS Lambda entry point: API Gateway (HTTP API v2 or REST v1 events) -> Mangum -> the ASGI app."""

from mangum import Mangum

from app.main import app

handler = Mangum(app, lifespan="off")
