# syntax=docker/dockerfile:1
# One image for every part of Valueloop: `valueloop api` (the default), `valueloop worker`,
# `valueloop migrate`. Configured by environment (see settings.py and docker-compose.yml).

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY cli.py worker.py settings.py backup.py ./
COPY domain ./domain
COPY activities ./activities
COPY workflows ./workflows
COPY api ./api
# The project without its dev extras, into a virtualenv that the runtime stage copies whole.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM python:3.12-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/venv /opt/venv
# Pango and fonts for WeasyPrint (invoices, statements, quotations, purchase orders, delivery notes): DejaVu for
# Latin, Noto CJK for the Chinese a document printed in zh_Hans holds (Pango falls back to it glyph by glyph)
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fontconfig fonts-dejavu-core fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/valueloop valueloop
USER 10001:10001
WORKDIR /home/valueloop
# Where the API keeps attached files (ATTACHMENTS_DIR); compose mounts one volume there for every replica.
RUN mkdir -p /home/valueloop/attachments
# 8000: API and web UI; 9464: the worker's Temporal SDK metrics (METRICS_BIND_ADDRESS)
EXPOSE 8000 9464
ENTRYPOINT ["valueloop"]
CMD ["api"]
